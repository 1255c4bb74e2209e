# Hidden checks for chapter 5. Each "# %% <exercise id> | <label>" block is one check cell,
# run in the learner's kernel after that exercise's cell; the label is what a learner sees.
# The inputs differ from the notebook's public self-checks on purpose.

# %% setup
import torch

# %% 05.self_attention | five tokens, d_model = 6, d_k = 4 != d_v = 3
g = torch.Generator().manual_seed(5001)
_check(self_attention, torch.randn(5, 6, generator=g), torch.randn(6, 4, generator=g),
       torch.randn(6, 4, generator=g), torch.randn(6, 3, generator=g))

# %% 05.self_attention | a single token (n = 1)
g = torch.Generator().manual_seed(5002)
_check(self_attention, torch.randn(1, 4, generator=g), torch.randn(4, 2, generator=g),
       torch.randn(4, 2, generator=g), torch.randn(4, 5, generator=g))

# %% 05.self_attention | a batch of 3 sequences, float64
g = torch.Generator().manual_seed(5003)
_check(self_attention, *(torch.randn(*shape, generator=g, dtype=torch.float64)
                         for shape in [(3, 4, 5), (5, 3), (5, 3), (5, 2)]))

# %% 05.self_attention | a longer sequence (n = 64), float32
g = torch.Generator().manual_seed(5004)
_check(self_attention, torch.randn(64, 8, generator=g), torch.randn(8, 8, generator=g),
       torch.randn(8, 8, generator=g), torch.randn(8, 4, generator=g))

# %% 05.self_attention | large projections (sharp weights)
g = torch.Generator().manual_seed(5005)
_check(self_attention, torch.randn(4, 3, generator=g), 20.0 * torch.randn(3, 6, generator=g),
       20.0 * torch.randn(3, 6, generator=g), torch.randn(3, 2, generator=g))

# %% 05.cross_attention | 2 target positions, 5 source tokens, d_k = 4 != d_v = 3
g = torch.Generator().manual_seed(5101)
_check(cross_attention, torch.randn(2, 6, generator=g), torch.randn(5, 6, generator=g),
       torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g), torch.randn(6, 3, generator=g))

# %% 05.cross_attention | target and source of different widths (d_target = 3, d_source = 7)
g = torch.Generator().manual_seed(5102)
_check(cross_attention, torch.randn(4, 3, generator=g), torch.randn(6, 7, generator=g),
       torch.randn(3, 5, generator=g), torch.randn(7, 5, generator=g), torch.randn(7, 2, generator=g))

# %% 05.cross_attention | more target positions than source tokens, float64
g = torch.Generator().manual_seed(5103)
_check(cross_attention, *(torch.randn(*shape, generator=g, dtype=torch.float64)
                          for shape in [(6, 4), (2, 5), (4, 3), (5, 3), (5, 4)]))

# %% 05.cross_attention | a batch of 2 pairs, one target position (n_target = 1)
g = torch.Generator().manual_seed(5104)
_check(cross_attention, torch.randn(2, 1, 4, generator=g), torch.randn(2, 3, 4, generator=g),
       torch.randn(4, 2, generator=g), torch.randn(4, 2, generator=g), torch.randn(4, 5, generator=g))

# %% 05.cross_attention | a long source (n_source = 64)
g = torch.Generator().manual_seed(5105)
_check(cross_attention, torch.randn(3, 8, generator=g), torch.randn(64, 8, generator=g),
       torch.randn(8, 4, generator=g), torch.randn(8, 4, generator=g), torch.randn(8, 6, generator=g))

# %% 05.sinusoidal_encoding | one position, d_model = 2
_check(sinusoidal_encoding, 1, 2)

# %% 05.sinusoidal_encoding | 7 positions, d_model = 10
_check(sinusoidal_encoding, 7, 10)

# %% 05.sinusoidal_encoding | 50 positions, d_model = 16
_check(sinusoidal_encoding, 50, 16)

# %% 05.sinusoidal_encoding | a long sequence (n = 1000): compute the angles in float64
_check(sinusoidal_encoding, 1000, 8)

# %% 05.sinusoidal_encoding | a wide encoding, d_model = 128
_check(sinusoidal_encoding, 3, 128)
