# Hidden checks for chapter 2. Each "# %% <exercise id> | <label>" block is one check cell,
# run in the learner's kernel after that exercise's cell; the label is what a learner sees.
# The inputs differ from the notebook's public self-checks on purpose.

# %% setup
import numpy as np

# %% 02.scaled_scores | one query, six random keys of dimension 16
rng = np.random.default_rng(2001)
_check(scaled_scores, rng.normal(size=16), rng.normal(size=(6, 16)))

# %% 02.scaled_scores | a stack of n = 3 queries against m = 6 keys of dimension 5
rng = np.random.default_rng(2011)
_check(scaled_scores, rng.normal(size=(3, 5)), rng.normal(size=(6, 5)))

# %% 02.scaled_scores | n = m = d_k = 3, where a transposed result has the right shape
rng = np.random.default_rng(2012)
_check(scaled_scores, rng.normal(size=(3, 3)), rng.normal(size=(3, 3)))

# %% 02.scaled_scores | scale=0.25 given, two queries against five keys
rng = np.random.default_rng(2013)
_check(scaled_scores, rng.normal(size=(2, 4)), rng.normal(size=(5, 4)), 0.25)

# %% 02.scaled_scores | scale=0.0 is a scale, not the default
_check(scaled_scores, np.array([1.5, -2.0]), np.array([[4.0, 1.0], [-1.0, 3.0], [0.5, 0.5]]), 0.0)

# %% 02.scaled_scores | d_k = 1, where the default scaling changes nothing
_check(scaled_scores, np.array([-2.0]), np.array([[3.0], [0.5], [-1.0]]))

# %% 02.scaled_scores | float32 stack of 4 queries of dimension 64 stays float32
rng = np.random.default_rng(2002)
_check(scaled_scores, rng.normal(size=(4, 64)).astype(np.float32), rng.normal(size=(5, 64)).astype(np.float32))

# %% 02.scaled_scores | float32 query with scale=0.5 stays float32
rng = np.random.default_rng(2014)
_check(scaled_scores, rng.normal(size=8).astype(np.float32), rng.normal(size=(3, 8)).astype(np.float32), 0.5)

# %% 02.additive_scores | random parameters, d_q = 3, d_k = 5, h = 4, seven keys
rng = np.random.default_rng(2003)
_check(additive_scores, rng.normal(size=3), rng.normal(size=(7, 5)),
       rng.normal(size=(4, 3)), rng.normal(size=(4, 5)), rng.normal(size=4))

# %% 02.additive_scores | a single key and a single hidden unit
_check(additive_scores, np.array([0.3, -0.7]), np.array([[1.5, 0.5, -2.0]]),
       np.array([[1.0, 2.0]]), np.array([[0.5, -1.0, 0.25]]), np.array([-3.0]))

# %% 02.additive_scores | long vectors saturate tanh
rng = np.random.default_rng(2004)
_check(additive_scores, 50.0 * rng.normal(size=4), 50.0 * rng.normal(size=(5, 4)),
       rng.normal(size=(6, 4)), rng.normal(size=(6, 4)), rng.normal(size=6))

# %% 02.additive_scores | float32 inputs stay float32
rng = np.random.default_rng(2005)
_check(additive_scores, rng.normal(size=2).astype(np.float32), rng.normal(size=(4, 3)).astype(np.float32),
       rng.normal(size=(5, 2)).astype(np.float32), rng.normal(size=(5, 3)).astype(np.float32),
       rng.normal(size=5).astype(np.float32))

# %% 02.softmax_with_temperature | random scores at T = 0.7
rng = np.random.default_rng(2006)
_check(softmax_with_temperature, rng.normal(scale=2.0, size=6), 0.7)

# %% 02.softmax_with_temperature | a high temperature flattens the weights
_check(softmax_with_temperature, np.array([5.0, -3.0, 1.0, 0.0]), 50.0)

# %% 02.softmax_with_temperature | a tiny temperature makes the divided scores overflow exp
_check(softmax_with_temperature, np.array([2.0, 1.5, 1.9]), 0.002)

# %% 02.softmax_with_temperature | scores far apart once divided by a small temperature
_check(softmax_with_temperature, np.array([0.0, 5.0, -4.0]), 0.005)

# %% 02.softmax_with_temperature | ties at a low temperature split the weight
_check(softmax_with_temperature, np.array([3.0, -1.0, 3.0, 2.0]), 0.01)

# %% 02.softmax_with_temperature | float32 scores stay float32
_check(softmax_with_temperature, np.array([9.0, 8.5, 7.0], dtype=np.float32), 0.1)

# %% 02.logsumexp | random scores
rng = np.random.default_rng(2007)
_check(logsumexp, rng.normal(scale=3.0, size=10))

# %% 02.logsumexp | scores large enough to overflow exp
_check(logsumexp, np.array([800.0, 799.0, 795.0]))

# %% 02.logsumexp | very negative scores that underflow exp
_check(logsumexp, np.array([-900.0, -902.0, -901.5, -950.0]))

# %% 02.logsumexp | scores about 1000 apart
_check(logsumexp, np.array([-5.0, 1000.0, 998.0]))

# %% 02.logsumexp | one score far above the others
_check(logsumexp, np.array([0.0, 60.0, -5.0]))

# %% 02.logsumexp | float32 scores that overflow a float32 exp
_check(logsumexp, np.array([95.0, 94.0, 90.0], dtype=np.float32))
