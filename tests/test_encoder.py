"""attn.encoder agrees with PyTorch's own modules, and a chapter-6 module plugs into it."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from attn.encoder import Attention, Encoder, EncoderLayer, padding_mask
from autograder.notebooks import solution_sources

D_MODEL, HEADS, D_FF = 16, 4, 24


def copy_torch_attention(ours: Attention, theirs: nn.MultiheadAttention) -> None:
    """Copy nn.MultiheadAttention's packed projections into an Attention."""
    with torch.no_grad():
        for name, weight, bias in zip(("q_proj", "k_proj", "v_proj"), theirs.in_proj_weight.chunk(3),
                                      theirs.in_proj_bias.chunk(3)):
            getattr(ours, name).weight.copy_(weight)
            getattr(ours, name).bias.copy_(bias)
        ours.out_proj.load_state_dict(theirs.out_proj.state_dict())


def copy_torch_layer(ours: EncoderLayer, theirs: nn.TransformerEncoderLayer) -> None:
    """Copy nn.TransformerEncoderLayer's weights into an EncoderLayer."""
    copy_torch_attention(ours.attention, theirs.self_attn)
    for mine, its in [("attention_norm", "norm1"), ("ffn_norm", "norm2"),
                      ("intermediate", "linear1"), ("output", "linear2")]:
        getattr(ours, mine).load_state_dict(getattr(theirs, its).state_dict())


def attention_pair(seed: int = 0) -> tuple[Attention, nn.MultiheadAttention]:
    torch.manual_seed(seed)
    theirs = nn.MultiheadAttention(D_MODEL, HEADS, batch_first=True).eval()
    nn.init.normal_(theirs.in_proj_bias)  # torch starts them at zero: make the copy matter
    ours = Attention(D_MODEL, HEADS).eval()
    copy_torch_attention(ours, theirs)
    return ours, theirs


def inputs(batch: int, n: int, m: int, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    query = torch.randn(batch, n, D_MODEL, generator=generator)
    memory = torch.randn(batch, m, D_MODEL, generator=generator)
    return query, memory


def test_self_attention_matches_torch_without_mask():
    ours, theirs = attention_pair()
    x, _ = inputs(2, 5, 5)
    output, weights = ours(x, x, x, need_weights=True)
    expected, expected_weights = theirs(x, x, x, need_weights=True)
    assert weights.shape == (2, HEADS, 5, 5)
    torch.testing.assert_close(output, expected)
    torch.testing.assert_close(weights.mean(dim=1), expected_weights)
    torch.testing.assert_close(ours(x, x, x), expected)


def test_cross_attention_matches_torch_with_a_causal_like_mask():
    ours, theirs = attention_pair(1)
    query, memory = inputs(3, 4, 6)
    mask = torch.ones(4, 6, dtype=torch.bool).tril(diagonal=2)  # (n, m), True = may attend
    output, weights = ours(query, memory, memory, mask=mask, need_weights=True)
    expected, expected_weights = theirs(query, memory, memory, attn_mask=~mask, need_weights=True)
    torch.testing.assert_close(output, expected)
    torch.testing.assert_close(weights.mean(dim=1), expected_weights)
    assert torch.all(weights[..., ~mask] == 0)


def test_padding_mask_matches_torch_key_padding_mask():
    ours, theirs = attention_pair(2)
    query, memory = inputs(2, 3, 5)
    lengths = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    mask = padding_mask(lengths)  # (B, 1, 1, m)
    assert mask.shape == (2, 1, 1, 5) and mask.dtype == torch.bool
    output = ours(query, memory, memory, mask=mask)
    expected, _ = theirs(query, memory, memory, key_padding_mask=lengths == 0)
    torch.testing.assert_close(output, expected)


def test_per_head_mask_and_fully_masked_row_gives_zeros():
    ours, _ = attention_pair(3)
    query, memory = inputs(2, 3, 4)
    mask = torch.ones(2, HEADS, 3, 4, dtype=torch.bool)
    mask[0, 1, 2] = False  # batch 0, head 1, query 2 may attend to nothing
    output, weights = ours(query, memory, memory, mask=mask, need_weights=True)
    assert not torch.isnan(output).any() and not torch.isnan(weights).any()
    assert torch.all(weights[0, 1, 2] == 0)
    torch.testing.assert_close(weights[0, 1, :2].sum(dim=-1), torch.ones(2))
    # with every query fully masked, the output is the output projection's bias alone
    everything_masked = torch.zeros(3, 4, dtype=torch.bool)
    output = ours(query, memory, memory, mask=everything_masked)
    torch.testing.assert_close(output, ours.out_proj.bias.expand(2, 3, D_MODEL))


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_matches_torch_in_eval_mode(norm_first):
    torch.manual_seed(4)
    theirs = nn.TransformerEncoderLayer(D_MODEL, HEADS, D_FF, dropout=0.1, activation="gelu",
                                        batch_first=True, norm_first=norm_first).eval()
    nn.init.normal_(theirs.self_attn.in_proj_bias)
    nn.init.normal_(theirs.norm1.weight)
    nn.init.normal_(theirs.norm2.bias)
    ours = EncoderLayer(D_MODEL, HEADS, D_FF, dropout=0.1, norm_first=norm_first).eval()
    copy_torch_layer(ours, theirs)
    x, _ = inputs(2, 6, 6, seed=5)
    mask = torch.ones(6, 6, dtype=torch.bool).tril()  # causal
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x))
        torch.testing.assert_close(ours(x, mask=mask), theirs(x, src_mask=~mask))
        output, weights = ours(x, mask=mask, need_weights=True)
    assert weights.shape == (2, HEADS, 6, 6)
    torch.testing.assert_close(output, theirs(x, src_mask=~mask))


def test_encoder_stack_matches_torch_with_final_norm():
    torch.manual_seed(6)
    layer = nn.TransformerEncoderLayer(D_MODEL, HEADS, D_FF, activation="gelu", batch_first=True, norm_first=True)
    theirs = nn.TransformerEncoder(layer, num_layers=2, norm=nn.LayerNorm(D_MODEL),
                                   enable_nested_tensor=False).eval()
    ours = Encoder(2, D_MODEL, HEADS, D_FF, norm_first=True).eval()
    for mine, its in zip(ours.layers, theirs.layers):
        copy_torch_layer(mine, its)
    ours.final_norm.load_state_dict(theirs.norm.state_dict())
    x, _ = inputs(2, 5, 5, seed=7)
    with torch.no_grad():
        output, weights = ours(x, need_weights=True)
        torch.testing.assert_close(output, theirs(x))
    assert len(weights) == 2 and weights[0].shape == (2, HEADS, 5, 5)


def test_encoder_follows_dtype_and_has_bert_friendly_names():
    layer = EncoderLayer(8, 2, 12).double()
    names = set(dict(layer.named_parameters()))
    assert {"attention.q_proj.weight", "attention.out_proj.bias", "attention_norm.weight",
            "intermediate.weight", "output.bias", "ffn_norm.weight"} <= names
    x = torch.randn(1, 3, 8, dtype=torch.float64)
    assert layer.eval()(x).dtype == torch.float64


def reference_multi_head_attention() -> type:
    """The chapter-6 reference solution's MultiHeadAttention class."""
    namespace: dict = {}
    exec("import math\nimport torch\nfrom torch import nn\n", namespace)
    exec(solution_sources("06_multi_head_attention")["06.multi_head_attention"], namespace)
    return namespace["MultiHeadAttention"]


@pytest.mark.parametrize("norm_first", [False, True])
def test_chapter_6_reference_is_a_drop_in_attention(norm_first):
    MultiHeadAttention = reference_multi_head_attention()
    torch.manual_seed(8)
    shared = EncoderLayer(D_MODEL, HEADS, D_FF, norm_first=norm_first).eval()
    plugged = EncoderLayer(D_MODEL, HEADS, D_FF, norm_first=norm_first,
                           attention=MultiHeadAttention(D_MODEL, HEADS)).eval()
    assert set(dict(plugged.named_parameters())) == set(dict(shared.named_parameters()))
    plugged.load_state_dict(shared.state_dict())
    x, _ = inputs(2, 5, 5, seed=9)
    mask = torch.ones(2, 1, 1, 5, dtype=torch.bool)
    mask[0, ..., 3:] = False  # the first sequence is padded after 3 tokens
    with torch.no_grad():
        torch.testing.assert_close(plugged(x, mask=mask), shared(x, mask=mask))
        got, got_weights = plugged(x, mask=mask, need_weights=True)
        want, want_weights = shared(x, mask=mask, need_weights=True)
    torch.testing.assert_close(got, want)
    torch.testing.assert_close(got_weights, want_weights)
    query, memory = inputs(2, 3, 4, seed=10)
    cross_mask = torch.ones(3, 4, dtype=torch.bool)
    cross_mask[1] = False  # query 1 may attend to nothing: zeros, not NaN
    with torch.no_grad():
        got = plugged.attention(query, memory, memory, mask=cross_mask, need_weights=True)
        want = shared.attention(query, memory, memory, mask=cross_mask, need_weights=True)
    torch.testing.assert_close(got, want)


def test_layer_factory_makes_each_layer_around_its_own_attention():
    made = []

    def make_layer(attention):
        made.append(attention)
        return EncoderLayer(D_MODEL, HEADS, D_FF, norm_first=True, attention=attention)

    torch.manual_seed(11)
    plugged = Encoder(3, D_MODEL, HEADS, D_FF, norm_first=True, layer_factory=make_layer).eval()
    torch.manual_seed(11)
    default = Encoder(3, D_MODEL, HEADS, D_FF, norm_first=True).eval()
    assert [layer.attention for layer in plugged.layers] == made
    assert len({id(attention) for attention in made}) == 3
    x, _ = inputs(2, 5, 5, seed=12)
    with torch.no_grad():
        torch.testing.assert_close(plugged(x), default(x))  # the same weights, the final norm kept
