# Hidden checks for chapter 7. Each "# %% <exercise id> | <label>" block is one check cell,
# run in the learner's kernel after that exercise's cell; the label is what a learner sees.
# The inputs differ from the notebook's public self-checks on purpose. Nothing here trains. The encoder
# block is given the course's attn.encoder.Attention, so its grade does not depend on chapter 6.

# %% setup
import torch
from torch import nn

from attn.encoder import Attention


def _randn(seed, *shape, dtype=torch.float32):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _run_block(block_class, seed, norm_first, x, mask=None, d_model=8, num_heads=2, d_ff=12, dropout=0.1):
    """Copy a seeded nn.TransformerEncoderLayer's weights into block_class(...) built around the course's
    attention module, and run it in eval mode."""
    torch.manual_seed(seed)
    theirs = nn.TransformerEncoderLayer(d_model, num_heads, d_ff, dropout=dropout, activation="gelu",
                                        batch_first=True, norm_first=norm_first)
    with torch.no_grad():
        for parameter in theirs.parameters():
            parameter.add_(0.2 * torch.randn_like(parameter))  # no parameter keeps its default value
    state = dict(theirs.state_dict())
    weights, biases = state.pop("self_attn.in_proj_weight").chunk(3), state.pop("self_attn.in_proj_bias").chunk(3)
    for name, weight, bias in zip(("q_proj", "k_proj", "v_proj"), weights, biases):
        state[f"self_attn.{name}.weight"], state[f"self_attn.{name}.bias"] = weight, bias
    ours = block_class(d_model, d_ff, Attention(d_model, num_heads, dropout=dropout), dropout=dropout,
                       norm_first=norm_first)
    ours.load_state_dict(state)
    ours.to(x.dtype).eval()
    with torch.no_grad():
        return ours(x, mask=mask)


# %% 07.layer_norm | batch 2, 3 tokens, 5 features, random scale and shift
_check(layer_norm, _randn(701, 2, 3, 5), _randn(702, 5), _randn(703, 5), 1e-5)

# %% 07.layer_norm | float64 with eps 1e-12, as in BERT
_check(layer_norm, _randn(704, 4, 6, dtype=torch.float64), _randn(705, 6, dtype=torch.float64),
       _randn(706, 6, dtype=torch.float64), 1e-12)

# %% 07.layer_norm | two features only (biased variance matters)
_check(layer_norm, torch.tensor([[1.0, 3.0], [-2.0, 2.0]]), torch.tensor([1.0, 2.0]), torch.zeros(2), 1e-5)

# %% 07.layer_norm | equal features, a large eps
_check(layer_norm, torch.full((3, 4), -2.5), torch.ones(4), torch.arange(4.0), 0.1)

# %% 07.layer_norm | a small spread and a large eps (where eps goes matters)
_check(layer_norm, torch.tensor([[0.1, -0.1, 0.3, -0.3], [1.0, 0.5, -0.5, -1.0]], dtype=torch.float64),
       torch.ones(4, dtype=torch.float64), torch.zeros(4, dtype=torch.float64), 0.5)

# %% 07.layer_norm | a large offset, float32
_check(layer_norm, 1000.0 + _randn(707, 2, 8), torch.ones(8), torch.zeros(8), 1e-5)

# %% 07.feed_forward | batch 2, 4 tokens, d_model 6, d_ff 10
_check(feed_forward, _randn(711, 2, 4, 6), _randn(712, 10, 6), _randn(713, 10), _randn(714, 6, 10), _randn(715, 6))

# %% 07.feed_forward | float64, a single token vector
_check(feed_forward, _randn(716, 3, dtype=torch.float64), _randn(717, 5, 3, dtype=torch.float64),
       _randn(718, 5, dtype=torch.float64), _randn(719, 3, 5, dtype=torch.float64), _randn(720, 3, dtype=torch.float64))

# %% 07.feed_forward | negative pre-activations, where GELU and ReLU differ
_check(feed_forward, torch.tensor([[-0.5, -1.5, -3.0]]), torch.eye(3), torch.zeros(3), torch.eye(3), torch.zeros(3))

# %% 07.feed_forward | d_ff smaller than d_model
_check(feed_forward, _randn(721, 5, 8), _randn(722, 2, 8), _randn(723, 2), _randn(724, 8, 2), _randn(725, 8))

# %% 07.encoder_block | post-norm, batch 3, 4 tokens, float64
_check(_run_block, EncoderBlock, 731, False, _randn(732, 3, 4, 8, dtype=torch.float64))

# %% 07.encoder_block | pre-norm, batch 2, 6 tokens, float64
_check(_run_block, EncoderBlock, 733, True, _randn(734, 2, 6, 8, dtype=torch.float64))

# %% 07.encoder_block | pre-norm with a causal mask, float64
_check(_run_block, EncoderBlock, 735, True, _randn(736, 2, 5, 8, dtype=torch.float64),
       torch.ones(5, 5, dtype=torch.bool).tril())

# %% 07.encoder_block | post-norm with a banded mask, 4 heads, float64
band = (torch.arange(6)[:, None] - torch.arange(6)[None, :]).abs() <= 1
_check(_run_block, EncoderBlock, 737, False, _randn(738, 1, 6, 8, dtype=torch.float64), band, num_heads=4)

# %% 07.encoder_block | float32, dropout 0.5 but eval mode
_check(_run_block, EncoderBlock, 739, False, _randn(740, 2, 3, 8), dropout=0.5)
