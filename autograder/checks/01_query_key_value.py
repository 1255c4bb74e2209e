# Hidden checks for chapter 1. Each "# %% <exercise id> | <label>" block is one check cell,
# run in the learner's kernel after that exercise's cell; the label is what a learner sees.
# The inputs differ from the notebook's public self-checks on purpose.

# %% setup
import numpy as np

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

# %% 01.soft_lookup | m = 5 keys of dimension d = 3, values of dimension 2
rng = np.random.default_rng(1011)
_check(soft_lookup, rng.normal(size=3), rng.normal(size=(5, 3)), rng.normal(size=(5, 2)))

# %% 01.soft_lookup | a square case, m = d = d_v = 4, where a product in the wrong order also runs
rng = np.random.default_rng(1012)
_check(soft_lookup, rng.normal(size=4), rng.normal(size=(4, 4)), rng.normal(size=(4, 4)))

# %% 01.soft_lookup | scores large enough to overflow exp
rng = np.random.default_rng(1013)
_check(soft_lookup, np.array([30.0, -20.0]), 20.0 * rng.normal(size=(6, 2)), rng.normal(size=(6, 3)))

# %% 01.soft_lookup | a single key-value pair, d_v = 4
_check(soft_lookup, np.array([-1.5, 2.0, 0.5]), np.array([[2.0, 1.0, -3.0]]), np.array([[0.5, -1.0, 2.0, 4.0]]))

# %% 01.soft_lookup | a query orthogonal to every key weighs the values equally
_check(soft_lookup, np.array([0.0, 3.0]), np.array([[1.0, 0.0], [-2.0, 0.0], [5.0, 0.0]]),
       np.array([[3.0, 0.0], [0.0, 6.0], [-3.0, 3.0]]))

# %% 01.soft_lookup | float32 inputs stay float32, m = 7, d = 5, d_v = 3
rng = np.random.default_rng(1014)
_check(soft_lookup, rng.normal(size=5).astype(np.float32), rng.normal(size=(7, 5)).astype(np.float32),
       rng.normal(size=(7, 3)).astype(np.float32))
