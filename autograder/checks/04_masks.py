# Hidden checks for chapter 4. Each "# %% <exercise id> | <label>" block is one check cell,
# run in the learner's kernel after that exercise's cell; the label is what a learner sees.
# The inputs differ from the notebook's public self-checks on purpose.

# %% setup
import numpy as np
import torch

# %% 04.padding_mask | five sequences, one of them empty
_check(padding_mask, torch.tensor([3, 0, 5, 1, 4]), 6)

# %% 04.padding_mask | every sequence full length (an all-true mask)
_check(padding_mask, torch.tensor([4, 4, 4]), 4)

# %% 04.padding_mask | max_len much longer than every sequence
_check(padding_mask, torch.tensor([2, 7]), 10)

# %% 04.padding_mask | one sequence of length 1
_check(padding_mask, torch.tensor([1]), 1)

# %% 04.decoder_mask | right padding, lengths 3, 5 and 1 padded to 5
_check(decoder_mask, torch.tensor([3, 5, 1]), 5)

# %% 04.decoder_mask | left padding, lengths 2, 4 and 1 padded to 4
_check(decoder_mask, torch.tensor([2, 4, 1]), 4, "left")

# %% 04.decoder_mask | left padding with an empty and a full sequence of 6
_check(decoder_mask, torch.tensor([0, 6]), 6, "left")

# %% 04.decoder_mask | right padding with an empty sequence, padded to 3
_check(decoder_mask, torch.tensor([0, 2]), 3, "right")

# %% 04.decoder_mask | one full sequence of 7: the plain causal mask
_check(decoder_mask, torch.tensor([7]), 7)

# %% 04.decoder_mask | left padding, lengths 5 and 3 padded to 8
_check(decoder_mask, torch.tensor([5, 3]), 8, "left")

# %% 04.masked_softmax | batch (2, 3, 5) with a key-padding mask (2, 1, 5) that broadcasts
rng = np.random.default_rng(4001)
_check(masked_softmax, rng.normal(size=(2, 3, 5)),
       np.array([[[True, True, True, False, False]], [[True, True, True, True, True]]]))

# %% 04.masked_softmax | fully masked rows among normal rows, 3 queries and 4 keys
rng = np.random.default_rng(4002)
_check(masked_softmax, rng.normal(size=(3, 4)),
       np.array([[False, False, False, False], [True, False, True, False], [False, False, False, False]]))

# %% 04.masked_softmax | an all-true mask gives the plain softmax
rng = np.random.default_rng(4003)
_check(masked_softmax, rng.normal(scale=2.0, size=(4, 6)), np.ones((4, 6), dtype=bool))

# %% 04.masked_softmax | float32 scores with a causal mask stay float32
rng = np.random.default_rng(4004)
_check(masked_softmax, rng.normal(size=(5, 5)).astype(np.float32), np.tril(np.ones((5, 5), dtype=bool)))

# %% 04.masked_softmax | large scores (around 1e4), a masked key holding the largest score
_check(masked_softmax, np.array([[9000.0, 9001.5, 20000.0, 8999.0], [-9000.0, -9002.0, 30000.0, -9001.0]]),
       np.array([True, True, False, True]))

# %% 04.masked_softmax | float32 large scores in a batch, one sequence fully masked
rng = np.random.default_rng(4005)
_check(masked_softmax, (500.0 * rng.normal(size=(2, 2, 3))).astype(np.float32),
       np.array([[[True, False, True]], [[False, False, False]]]))

# %% 04.masked_attention | key-padding mask (batch, 1, m), n != m and d_k != d_v
g = torch.Generator().manual_seed(4101)
Q, K, V = torch.randn(2, 3, 4, generator=g), torch.randn(2, 5, 4, generator=g), torch.randn(2, 5, 6, generator=g)
_check(masked_attention, Q, K, V, torch.tensor([[[True, True, True, False, False]], [[True] * 5]]))

# %% 04.masked_attention | a causal (n, n) mask broadcast over a batch, float64
g = torch.Generator().manual_seed(4102)
Q, K, V = (torch.randn(3, 5, 4, generator=g, dtype=torch.float64) for _ in range(3))
_check(masked_attention, Q, K, V, torch.ones(5, 5, dtype=torch.bool).tril())

# %% 04.masked_attention | query-and-key padding mask with fully masked rows
g = torch.Generator().manual_seed(4103)
Q, K, V = torch.randn(2, 4, 3, generator=g), torch.randn(2, 4, 3, generator=g), torch.randn(2, 4, 2, generator=g)
real = torch.tensor([[True, True, True, False], [True, False, False, False]])
_check(masked_attention, Q, K, V, real[:, :, None] & real[:, None, :])

# %% 04.masked_attention | an all-true mask gives plain attention
g = torch.Generator().manual_seed(4104)
Q, K, V = torch.randn(4, 3, generator=g), torch.randn(6, 3, generator=g), torch.randn(6, 5, generator=g)
_check(masked_attention, Q, K, V, torch.ones(4, 6, dtype=torch.bool))

# %% 04.masked_attention | batch and heads (2, 3, n, d) with a mask of shape (2, 1, 1, m)
g = torch.Generator().manual_seed(4105)
Q, K, V = torch.randn(2, 3, 4, 8, generator=g), torch.randn(2, 3, 5, 8, generator=g), torch.randn(2, 3, 5, 4, generator=g)
_check(masked_attention, Q, K, V, torch.tensor([[True, True, False, True, False], [False] * 5]).reshape(2, 1, 1, 5))

# %% 04.masked_attention | large scores (queries times 100), float32
g = torch.Generator().manual_seed(4106)
Q, K, V = 100.0 * torch.randn(3, 4, generator=g), torch.randn(5, 4, generator=g), torch.randn(5, 3, generator=g)
_check(masked_attention, Q, K, V, torch.tensor([[True, False, True, True, False]] * 2 + [[False] * 5]))
