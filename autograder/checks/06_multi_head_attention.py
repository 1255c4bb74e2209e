# Hidden checks for chapter 6. Each "# %% <exercise id> | <label>" block is one check cell,
# run in the learner's kernel after that exercise's cell; the label is what a learner sees.
# The inputs differ from the notebook's public self-checks on purpose. Modules are built,
# given known weights by parameter name, and run by the helpers below; the helpers use
# attn.encoder (never an earlier exercise), so every exercise is graded on its own.
# A half-copied module is of no use, so the copy earns its points only when every check passes:
# all-or-nothing: 06.copy_from_torch

# %% setup
import torch
from torch import nn

from attn.encoder import Attention


def _randn(seed, *shape, dtype=torch.float32):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _state(seed, names_and_shapes, dtype=torch.float32):
    """Known weights, scaled like nn.Linear's initialisation."""
    return {name: _randn(seed + i, *shape, dtype=dtype) / shape[-1] ** 0.5
            for i, (name, shape) in enumerate(names_and_shapes)}


def _attention_state(seed, d_model, bias=True):
    shapes = []
    for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
        shapes.append((f"{name}.weight", (d_model, d_model)))
        if bias:
            shapes.append((f"{name}.bias", (d_model,)))
    return _state(seed, shapes)


def _run_mha(module_class, seed, num_heads, query, key, value, mask=None, need_weights=False, bias=True):
    """Build the class, load known weights by name, run it once."""
    d_model = query.shape[-1]
    module = module_class(d_model, num_heads, bias=bias)
    module.load_state_dict(_attention_state(seed, d_model, bias))
    module.to(query.dtype).eval()
    with torch.no_grad():
        return module(query, key, value, mask=mask, need_weights=need_weights)


def _copy_then_run(copy_function, seed, num_heads, query, key, value, mask=None):
    """Copy a seeded nn.MultiheadAttention into attn.encoder.Attention, return its output and weights."""
    d_model = query.shape[-1]
    torch.manual_seed(seed)
    theirs = nn.MultiheadAttention(d_model, num_heads, batch_first=True, dtype=query.dtype)
    with torch.no_grad():
        theirs.in_proj_bias.normal_()
        theirs.out_proj.bias.normal_()
    ours = Attention(d_model, num_heads).to(query.dtype).eval()
    copy_function(ours, theirs)
    with torch.no_grad():
        return ours(query, key, value, mask=mask, need_weights=True)


def _run_repaired(module_class, seed, num_heads, query, key, value, mask=None):
    d_model = query.shape[-1]
    module = module_class(d_model, num_heads)
    names = [(f"{layer}.{kind}", (d_model, d_model) if kind == "weight" else (d_model,))
             for layer in ("q_linear", "k_linear", "v_linear", "fc") for kind in ("weight", "bias")]
    module.load_state_dict(_state(seed, names))
    module.to(query.dtype).eval()
    with torch.no_grad():
        return module(query, key, value, mask=mask)


# %% 06.split_heads | batch 2, 5 tokens, d_model 12 into 3 heads
_check(split_heads, _randn(601, 2, 5, 12), 3)

# %% 06.split_heads | float64, 4 heads of 2 features
_check(split_heads, _randn(602, 3, 2, 8, dtype=torch.float64), 4)

# %% 06.split_heads | a single token and a single head
_check(split_heads, _randn(603, 1, 1, 5), 1)

# %% 06.split_heads | as many heads as features
_check(split_heads, _randn(604, 2, 3, 4), 4)

# %% 06.merge_heads | batch 2, 3 heads, 5 tokens, d_head 4
_check(merge_heads, _randn(611, 2, 3, 5, 4))

# %% 06.merge_heads | float64, 8 heads of 1 feature
_check(merge_heads, _randn(612, 1, 8, 3, 1, dtype=torch.float64))

# %% 06.merge_heads | a non-contiguous input (heads already transposed)
_check(merge_heads, _randn(613, 2, 6, 4, 3).transpose(1, 2))

# %% 06.merge_heads | one head, one token
_check(merge_heads, _randn(614, 3, 1, 1, 7))

# %% 06.multi_head_attention | self-attention, 4 heads, with weights
x = _randn(621, 2, 6, 16)
_check(_run_mha, MultiHeadAttention, 622, 4, x, x, x, need_weights=True)

# %% 06.multi_head_attention | cross-attention n=3, m=7, a (B, 1, 1, m) padding mask
q, kv = _randn(623, 2, 3, 12), _randn(624, 2, 7, 12)
pad = torch.tensor([[1, 1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1, 1]], dtype=torch.bool)[:, None, None, :]
_check(_run_mha, MultiHeadAttention, 625, 3, q, kv, kv, mask=pad, need_weights=True)

# %% 06.multi_head_attention | a causal (n, n) mask, output only, float64
x = _randn(626, 3, 5, 8, dtype=torch.float64)
_check(_run_mha, MultiHeadAttention, 627, 2, x, x, x, mask=torch.ones(5, 5, dtype=torch.bool).tril())

# %% 06.multi_head_attention | a per-head (B, h, n, m) mask with fully masked rows
q, kv = _randn(628, 2, 4, 12), _randn(629, 2, 3, 12)
per_head = _randn(630, 2, 3, 4, 3) > 0.0
per_head[0, 1, 2] = False
per_head[1, :, 0] = False
_check(_run_mha, MultiHeadAttention, 631, 3, q, kv, kv, mask=per_head, need_weights=True)

# %% 06.multi_head_attention | no biases, one head, large inputs
x = 30.0 * _randn(632, 1, 4, 6)
_check(_run_mha, MultiHeadAttention, 633, 1, x, x, x, need_weights=True, bias=False)

# %% 06.copy_from_torch | self-attention, 4 heads
x = _randn(641, 2, 5, 16)
_check(_copy_then_run, copy_from_torch, 642, 4, x, x, x)

# %% 06.copy_from_torch | cross-attention n=2, m=6, float64
q, kv = _randn(643, 3, 2, 12, dtype=torch.float64), _randn(644, 3, 6, 12, dtype=torch.float64)
_check(_copy_then_run, copy_from_torch, 645, 3, q, kv, kv)

# %% 06.copy_from_torch | self-attention with a causal mask, one head
x = _randn(646, 2, 4, 6)
_check(_copy_then_run, copy_from_torch, 647, 1, x, x, x, mask=torch.ones(4, 4, dtype=torch.bool).tril())

# %% 06.repaired_attention | batch 3, 7 tokens, d_model 24, 3 heads
x = _randn(652, 3, 7, 24)
_check(_run_repaired, RepairedMultiHeadAttention, 651, 3, x, x, x)

# %% 06.repaired_attention | a causal (n, n) mask, float64
x = _randn(654, 2, 6, 8, dtype=torch.float64)
_check(_run_repaired, RepairedMultiHeadAttention, 653, 2, x, x, x, torch.ones(6, 6, dtype=torch.bool).tril())

# %% 06.repaired_attention | cross-attention n=3, m=5, a (B, 1, 1, m) padding mask, one head
q, kv = _randn(656, 2, 3, 10), _randn(659, 2, 5, 10)
pad = torch.tensor([[1, 1, 0, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)[:, None, None, :]
_check(_run_repaired, RepairedMultiHeadAttention, 655, 1, q, kv, kv, pad)

# %% 06.repaired_attention | n = d_head = 4 with 4 heads (where the article's code runs)
x = _randn(660, 1, 4, 16)
_check(_run_repaired, RepairedMultiHeadAttention, 661, 4, x, x, x)

# %% 06.repaired_attention | a single token
x = _randn(658, 2, 1, 16)
_check(_run_repaired, RepairedMultiHeadAttention, 657, 4, x, x, x)
