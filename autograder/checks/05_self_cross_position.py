# Hidden checks for chapter 5. Each "# %% <exercise id> | <label>" block is one check cell,
# run in the learner's kernel after that exercise's cell; the label is what a learner sees.
# The inputs differ from the notebook's public self-checks on purpose.

# %% setup
import torch


def _randn(seed, *shape, dtype=torch.float32):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _run_layer(layer_class, seed, d_model, d_k, d_v, X, scale=1.0):
    """Build layer_class(d_model, d_k, d_v), load known weights by parameter name, run it on X."""
    state = {"q_proj.weight": scale * _randn(seed, d_k, d_model, dtype=X.dtype),
             "k_proj.weight": scale * _randn(seed + 100, d_k, d_model, dtype=X.dtype),
             "v_proj.weight": _randn(seed + 200, d_v, d_model, dtype=X.dtype)}
    layer = layer_class(d_model, d_k, d_v).to(X.dtype)
    layer.load_state_dict(state)
    layer.eval()
    with torch.no_grad():
        return layer(X)

# %% 05.self_attention_layer | five tokens, d_model = 6, d_k = 4, d_v = 3
_check(_run_layer, SelfAttention, 5001, 6, 4, 3, _randn(5011, 5, 6))

# %% 05.self_attention_layer | a single token (n = 1), d_v wider than d_model
_check(_run_layer, SelfAttention, 5002, 4, 2, 5, _randn(5012, 1, 4))

# %% 05.self_attention_layer | a batch of 3 sequences, float64
_check(_run_layer, SelfAttention, 5003, 5, 3, 2, _randn(5013, 3, 4, 5, dtype=torch.float64))

# %% 05.self_attention_layer | a longer sequence (n = 64), d_k = 8 = d_model
_check(_run_layer, SelfAttention, 5004, 8, 8, 4, _randn(5014, 64, 8))

# %% 05.self_attention_layer | large projections (sharp weights)
_check(_run_layer, SelfAttention, 5005, 3, 6, 2, _randn(5015, 4, 3), scale=20.0)

# %% 05.padded_cross_attention | 2 targets, 5 source slots, the second pair padded after 2
mask = torch.tensor([[True] * 5, [True, True, False, False, False]])
_check(cross_attention, _randn(5101, 2, 2, 6), _randn(5102, 2, 5, 6), mask,
       _randn(5103, 6, 4), _randn(5104, 6, 4), _randn(5105, 6, 3))

# %% 05.padded_cross_attention | different widths (d_target = 3, d_source = 7), huge junk in the pads
source = _randn(5111, 3, 6, 7)
mask = torch.tensor([[True] * 4 + [False] * 2, [True] * 6, [True] + [False] * 5])
source[~mask] = 1e4
_check(cross_attention, _randn(5112, 3, 4, 3), source, mask,
       _randn(5113, 3, 5), _randn(5114, 7, 5), _randn(5115, 7, 2))

# %% 05.padded_cross_attention | as many targets as source slots (n_t = n_s = 4), float64
mask = torch.tensor([[True, True, True, False], [True, False, False, False]])
_check(cross_attention, *(_randn(5121 + i, *shape, dtype=torch.float64)
                          for i, shape in enumerate([(2, 4, 5), (2, 4, 5)])),
       mask, *(_randn(5131 + i, *shape, dtype=torch.float64) for i, shape in enumerate([(5, 3), (5, 3), (5, 4)])))

# %% 05.padded_cross_attention | no padding at all, one target position
_check(cross_attention, _randn(5141, 2, 1, 4), _randn(5142, 2, 3, 4), torch.ones(2, 3, dtype=torch.bool),
       _randn(5143, 4, 2), _randn(5144, 4, 2), _randn(5145, 4, 5))

# %% 05.padded_cross_attention | a long padded source (n_s = 64, 40 real tokens)
mask = torch.arange(64)[None, :] < torch.tensor([[40], [64]])
_check(cross_attention, _randn(5151, 2, 3, 8), _randn(5152, 2, 64, 8), mask,
       _randn(5153, 8, 4), _randn(5154, 8, 4), _randn(5155, 8, 6))

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
