"""What chapters 5-7 claim about code they define, checked on that code: the source article's
multi-head attention and its loose copy fail as chapter 6 says, chapter 7's block runs around
chapter 6's reference MultiHeadAttention and matches PyTorch, and its CNN has no attention."""

from __future__ import annotations

import math
from collections import Counter

import pytest
import torch
from torch import nn

from attn.encoder import Attention, Encoder
from attn.errors import show_error
from autograder.notebooks import SOLUTIONS, read_notebook


def namespace_of(chapter: str, *starts: str) -> dict:
    """Run the code cells of solutions/<chapter>.ipynb that begin with one of ``starts``."""
    namespace = {"torch": torch, "nn": nn, "math": math, "Attention": Attention, "Encoder": Encoder,
                 "Counter": Counter, "show_error": show_error}
    cells = [cell.source for cell in read_notebook(SOLUTIONS / f"{chapter}.ipynb").cells
             if cell.cell_type == "code"]
    for start in starts:
        found = [source for source in cells if source.lstrip().startswith(start)]
        assert len(found) == 1, start
        exec(compile(found[0], f"{chapter}: {start}", "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def chapter_6():
    return namespace_of("06_multi_head_attention", "class ArticleMultiHeadAttention",
                        "class LooseCopy", "class MultiHeadAttention")


def run_article(chapter_6, batch, heads, n, d_head, mask=None):
    torch.manual_seed(0)
    module = chapter_6["ArticleMultiHeadAttention"](heads * d_head, heads)
    x = torch.randn(batch, n, heads * d_head)
    with torch.no_grad():
        return module(x, x, x, mask=mask)


def test_the_article_class_crashes_in_attn_times_v_unless_n_equals_d_head(chapter_6):
    for batch, heads, n, d_head in [(2, 8, 10, 8), (1, 2, 5, 4), (2, 8, 8, 8)]:
        with pytest.raises(RuntimeError, match="must match the size"):
            run_article(chapter_6, batch, heads, n, d_head)
    assert run_article(chapter_6, 1, 8, 8, 8).shape == (1, 1, 64)  # runs: one row for 8 tokens
    assert run_article(chapter_6, 2, 1, 16, 16).shape == (2, 2, 16)


def test_the_article_class_ignores_the_mask(chapter_6):
    causal = torch.ones(16, 16, dtype=torch.bool).tril()
    assert torch.equal(run_article(chapter_6, 2, 1, 16, 16, causal), run_article(chapter_6, 2, 1, 16, 16))


def test_the_loose_copy_crashes_at_its_merge_for_h_above_1_and_runs_wrong_for_h_1(chapter_6):
    loose = chapter_6["LooseCopy"]
    torch.manual_seed(1)
    with pytest.raises(RuntimeError, match="invalid for input of size"):
        loose(64, num_heads=8)(torch.randn(2, 8, 64))  # n = d_head = 8
    one_head, x = loose(8, num_heads=1), torch.randn(2, 8, 8)
    with torch.no_grad():
        q, k, v = one_head.qkv(x).chunk(3, dim=-1)
        right = one_head.out_proj(nn.functional.scaled_dot_product_attention(q, k, v))
        assert not torch.allclose(one_head(x), right, atol=1e-3)


@pytest.mark.parametrize("norm_first", [False, True])
def test_chapter_7_block_around_chapter_6_attention_matches_pytorch(chapter_6, norm_first):
    chapter_7 = namespace_of("07_encoder_block", "def seeded_torch_layer", "class EncoderBlock")
    theirs = chapter_7["seeded_torch_layer"](norm_first, torch.float64)
    block = chapter_7["EncoderBlock"](8, 16, chapter_6["MultiHeadAttention"](8, 2), norm_first=norm_first)
    block.load_state_dict(chapter_7["block_state"](theirs))
    block.to(torch.float64).eval()
    x = torch.randn(2, 5, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    causal = torch.ones(5, 5, dtype=torch.bool).tril()
    with torch.no_grad():
        torch.testing.assert_close(block(x), theirs(x))
        torch.testing.assert_close(block(x, mask=causal), theirs(x, src_mask=~causal))


def test_the_cnn_of_chapter_7_has_no_attention_and_the_encoder_has_one_per_block():
    counting = namespace_of("07_encoder_block", "class ResidualConvBlock", "def layer_types")
    cnn = counting["small_cnn"]
    assert counting["attention_layers"](cnn) == []
    assert counting["layer_types"](cnn)["Conv2d"] == 8
    assert len(counting["attention_layers"](Encoder(3, 16, 2, 32))) == 3
