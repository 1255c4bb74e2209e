# Hidden checks for chapter 3. Each "# %% <exercise id> | <label>" block is one check cell,
# run in the learner's kernel after that exercise's cell; the label is what a learner sees.
# The inputs differ from the notebook's public self-checks on purpose.

# %% setup
import numpy as np
import torch

# %% 03.attention | n = 4 queries, m = 6 keys, d_k = 3, d_v = 5
rng = np.random.default_rng(3001)
_check(attention, rng.normal(size=(4, 3)), rng.normal(size=(6, 3)), rng.normal(size=(6, 5)))

# %% 03.attention | a single query against five keys
rng = np.random.default_rng(3002)
_check(attention, rng.normal(size=(1, 2)), rng.normal(size=(5, 2)), rng.normal(size=(5, 3)))

# %% 03.attention | more queries than keys, d_v = 1
rng = np.random.default_rng(3003)
_check(attention, rng.normal(size=(7, 4)), rng.normal(size=(2, 4)), rng.normal(size=(2, 1)))

# %% 03.attention | scores large enough to overflow a naive softmax
rng = np.random.default_rng(3004)
_check(attention, 40.0 * rng.normal(size=(3, 4)), 40.0 * rng.normal(size=(5, 4)), rng.normal(size=(5, 2)))

# %% 03.attention | float32 inputs stay float32
rng = np.random.default_rng(3005)
_check(attention, rng.normal(size=(3, 8)).astype(np.float32), rng.normal(size=(4, 8)).astype(np.float32),
       rng.normal(size=(4, 6)).astype(np.float32))

# %% 03.batched_attention | one batch axis: (3, n=2, d_k=4) against (3, m=5, ...), d_v = 6
g = torch.Generator().manual_seed(3101)
_check(batched_attention, torch.randn(3, 2, 4, generator=g), torch.randn(3, 5, 4, generator=g),
       torch.randn(3, 5, 6, generator=g))

# %% 03.batched_attention | batch and head axes: (2, 3, n, d)
g = torch.Generator().manual_seed(3102)
_check(batched_attention, torch.randn(2, 3, 4, 5, generator=g), torch.randn(2, 3, 6, 5, generator=g),
       torch.randn(2, 3, 6, 2, generator=g))

# %% 03.batched_attention | no batch axis, n = 5, m = 3
g = torch.Generator().manual_seed(3103)
_check(batched_attention, torch.randn(5, 2, generator=g), torch.randn(3, 2, generator=g),
       torch.randn(3, 4, generator=g))

# %% 03.batched_attention | a batch of one sequence with one query, float64
g = torch.Generator().manual_seed(3104)
_check(batched_attention, torch.randn(1, 1, 3, generator=g, dtype=torch.float64),
       torch.randn(1, 4, 3, generator=g, dtype=torch.float64), torch.randn(1, 4, 2, generator=g, dtype=torch.float64))

# %% 03.batched_attention | large scores, float64
g = torch.Generator().manual_seed(3105)
_check(batched_attention, 30.0 * torch.randn(2, 3, 4, generator=g, dtype=torch.float64),
       30.0 * torch.randn(2, 5, 4, generator=g, dtype=torch.float64), torch.randn(2, 5, 3, generator=g, dtype=torch.float64))

# %% 03.batched_single_query_attention | B = 3 sequences, m = 5 keys, d = 4, d_v = 2
g = torch.Generator().manual_seed(3201)
_check(batched_single_query_attention, torch.randn(3, 4, generator=g), torch.randn(3, 5, 4, generator=g),
       torch.randn(3, 5, 2, generator=g))

# %% 03.batched_single_query_attention | a batch of one, B = 1
g = torch.Generator().manual_seed(3202)
_check(batched_single_query_attention, torch.randn(1, 6, generator=g), torch.randn(1, 4, 6, generator=g),
       torch.randn(1, 4, 3, generator=g))

# %% 03.batched_single_query_attention | B = m = 4, d = 3, d_v = 5
g = torch.Generator().manual_seed(3203)
_check(batched_single_query_attention, torch.randn(4, 3, generator=g), torch.randn(4, 4, 3, generator=g),
       torch.randn(4, 4, 5, generator=g))

# %% 03.batched_single_query_attention | B = 6, a single key each, float64
g = torch.Generator().manual_seed(3204)
_check(batched_single_query_attention, torch.randn(6, 2, generator=g, dtype=torch.float64),
       torch.randn(6, 1, 2, generator=g, dtype=torch.float64), torch.randn(6, 1, 7, generator=g, dtype=torch.float64))

# %% 03.batched_single_query_attention | large scores, B = 2, m = 7, float64
g = torch.Generator().manual_seed(3205)
_check(batched_single_query_attention, 25.0 * torch.randn(2, 5, generator=g, dtype=torch.float64),
       25.0 * torch.randn(2, 7, 5, generator=g, dtype=torch.float64), torch.randn(2, 7, 3, generator=g, dtype=torch.float64))
