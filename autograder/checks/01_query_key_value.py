# Hidden checks for chapter 1. Each "# %% <exercise id> | <label>" block is one check cell,
# run in the learner's kernel after that exercise's cell; the label is what a learner sees.
# The inputs differ from the notebook's public self-checks on purpose.

# %% setup
import numpy as np

# %% 01.scores | five keys of dimension 4
rng = np.random.default_rng(1001)
_check(scores, rng.normal(size=4), rng.normal(size=(5, 4)))

# %% 01.scores | a single key
_check(scores, np.array([0.5, -2.0, 3.0]), np.array([[4.0, 1.0, -1.0]]))

# %% 01.scores | float32 inputs stay float32
rng = np.random.default_rng(1002)
_check(scores, rng.normal(size=6).astype(np.float32), rng.normal(size=(3, 6)).astype(np.float32))

# %% 01.scores | a query orthogonal to every key
_check(scores, np.array([0.0, 0.0, 1.0]), np.array([[1.0, 2.0, 0.0], [-3.0, 5.0, 0.0]]))

# %% 01.softmax | random scores
rng = np.random.default_rng(1003)
_check(softmax, rng.normal(scale=3.0, size=8))

# %% 01.softmax | ties: equal scores give equal weights
_check(softmax, np.array([2.5, 2.5, 2.5, 2.5]))

# %% 01.softmax | scores large enough to overflow exp
_check(softmax, np.array([710.0, 712.0, 709.0]))

# %% 01.softmax | very negative scores that underflow exp
_check(softmax, np.array([-1200.0, -1201.0, -1203.0]))

# %% 01.softmax | two scores 1000 apart (shift by the right score)
_check(softmax, np.array([0.0, 1000.0]))

# %% 01.softmax | scores spread from -1000 to 1000
_check(softmax, np.array([-1000.0, 0.0, 1000.0, 999.0]))

# %% 01.softmax | a single score
_check(softmax, np.array([-7.0]))

# %% 01.softmax | float32 scores stay float32
_check(softmax, np.array([90.0, 88.0, 91.0, 85.0], dtype=np.float32))

# %% 01.attend | three values of dimension 5
rng = np.random.default_rng(1004)
_check(attend, np.array([0.2, 0.5, 0.3]), rng.normal(size=(3, 5)))

# %% 01.attend | one-hot weights pick one value (a hard look-up)
_check(attend, np.array([0.0, 1.0, 0.0, 0.0]), np.arange(8.0).reshape(4, 2))

# %% 01.attend | a single value of dimension 1
_check(attend, np.array([1.0]), np.array([[-4.5]]))

# %% 01.attend | float32 inputs stay float32
rng = np.random.default_rng(1005)
weights = rng.dirichlet(np.ones(6)).astype(np.float32)
_check(attend, weights, rng.normal(size=(6, 3)).astype(np.float32))
