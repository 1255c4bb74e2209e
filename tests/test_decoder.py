"""attn.decoder: the tiny decoder is a causal pre-norm Transformer, its parts compose into its
forward pass, generation by recomputing is greedy, and the reversal task is well formed."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from attn.decoder import (BOS, SEP, VOCAB_SIZE, DecoderBlock, TinyDecoder, generate_by_recomputing,
                          reversal_batch, split_prompt)
from autograder.notebooks import solution_sources


def seeded_decoder(seed: int = 0, **sizes) -> TinyDecoder:
    torch.manual_seed(seed)
    defaults = dict(d_model=16, num_layers=2, num_heads=4, d_ff=32, max_len=20)
    return TinyDecoder(**{**defaults, **sizes}).eval()


def test_block_matches_torch_pre_norm_layer_with_a_causal_mask():
    torch.manual_seed(1)
    ours = DecoderBlock(d_model=16, num_heads=4, d_ff=24).eval()
    theirs = nn.TransformerEncoderLayer(16, 4, 24, dropout=0.0, activation="gelu", batch_first=True,
                                        norm_first=True).eval()
    with torch.no_grad():
        theirs.self_attn.in_proj_weight.copy_(torch.cat([ours.q_proj.weight, ours.k_proj.weight,
                                                         ours.v_proj.weight]))
        theirs.self_attn.in_proj_bias.copy_(torch.cat([ours.q_proj.bias, ours.k_proj.bias, ours.v_proj.bias]))
        theirs.self_attn.out_proj.load_state_dict(ours.out_proj.state_dict())
        for mine, its in [("attention_norm", "norm1"), ("ffn_norm", "norm2"),
                          ("intermediate", "linear1"), ("output", "linear2")]:
            getattr(theirs, its).load_state_dict(getattr(ours, mine).state_dict())
        x = torch.randn(3, 7, 16)
        future = torch.ones(7, 7, dtype=torch.bool).triu(1)  # torch's convention: True = masked
        expected = theirs(x, src_mask=future)
        torch.testing.assert_close(ours(x), expected, rtol=1e-5, atol=1e-5)


def test_qkv_and_finish_compose_into_the_block():
    torch.manual_seed(2)
    block = DecoderBlock(d_model=12, num_heads=3, d_ff=20).eval()
    x = torch.randn(2, 5, 12)
    with torch.no_grad():
        q, k, v = block.qkv(x)
        assert q.shape == k.shape == v.shape == (2, 3, 5, 4)
        composed = block.finish(x, F.scaled_dot_product_attention(q, k, v, is_causal=True))
        torch.testing.assert_close(composed, block(x), rtol=1e-5, atol=1e-6)


def test_weights_are_causal_and_sum_to_one():
    model = seeded_decoder(3)
    tokens = torch.randint(0, VOCAB_SIZE, (2, 9))
    with torch.no_grad():
        logits, weights = model(tokens, need_weights=True)
    assert logits.shape == (2, 9, VOCAB_SIZE) and len(weights) == 2
    for block_weights in weights:
        assert block_weights.shape == (2, 4, 9, 9)
        assert torch.all(block_weights.triu(1) == 0)
        torch.testing.assert_close(block_weights.sum(-1), torch.ones(2, 4, 9))


def test_a_position_does_not_see_later_tokens():
    model = seeded_decoder(4)
    tokens = torch.randint(0, VOCAB_SIZE, (1, 10), generator=torch.Generator().manual_seed(5))
    changed = tokens.clone()
    changed[0, 6:] = (changed[0, 6:] + 1) % VOCAB_SIZE
    with torch.no_grad():
        before, after = model(tokens), model(changed)
    torch.testing.assert_close(before[:, :6], after[:, :6])
    assert not torch.allclose(before[:, 6:], after[:, 6:])


def test_embed_places_tokens_at_their_positions_and_refuses_beyond_max_len():
    model = seeded_decoder(6, max_len=8)
    tokens = torch.randint(0, VOCAB_SIZE, (2, 8))
    with torch.no_grad():
        whole = model.embed(tokens)
        torch.testing.assert_close(model.embed(tokens[:, 5:], start=5), whole[:, 5:])
    with pytest.raises(ValueError, match="max_len"):
        model.embed(tokens[:, :2], start=7)


def test_generation_by_recomputing_is_greedy_and_takes_a_mask():
    model = seeded_decoder(7)
    prompt = torch.randint(0, VOCAB_SIZE, (3, 4), generator=torch.Generator().manual_seed(8))
    tokens, logits = generate_by_recomputing(model, prompt, 5)
    assert tokens.shape == (3, 5) and tokens.dtype == torch.int64 and logits.shape == (3, 5, VOCAB_SIZE)
    assert torch.equal(tokens, logits.argmax(-1))
    with torch.no_grad():
        whole = model(torch.cat([prompt, tokens[:, :-1]], dim=1))  # (3, 8, vocab)
    torch.testing.assert_close(logits, whole[:, 3:], rtol=1e-5, atol=1e-5)
    causal = torch.ones(20, 20, dtype=torch.bool).tril()
    same_tokens, same_logits = generate_by_recomputing(model, prompt, 5, mask=causal)
    assert torch.equal(same_tokens, tokens) and torch.allclose(same_logits, logits)
    diagonal = torch.eye(20, dtype=torch.bool)  # each position sees only itself
    _, blind_logits = generate_by_recomputing(model, prompt, 5, mask=diagonal)
    assert not torch.allclose(blind_logits, logits)


def test_reversal_sequences_and_prompts():
    sequences = reversal_batch(5, 4, torch.Generator().manual_seed(9))
    assert sequences.shape == (5, 10) and sequences.dtype == torch.int64
    assert torch.all(sequences[:, 0] == BOS) and torch.all(sequences[:, 5] == SEP)
    assert torch.equal(sequences[:, 6:], sequences[:, 1:5].flip(1))
    assert sequences[:, 1:5].max() < 10
    prompts, answers = split_prompt(sequences)
    assert torch.equal(prompts, sequences[:, :6]) and torch.equal(answers, sequences[:, 6:])


def test_the_chapter_10_reference_cache_reproduces_recomputation():
    namespace = {"torch": torch, "F": F}
    exec(solution_sources("10_decoders_and_the_kv_cache")["10.generate_with_cache"], namespace)
    model = seeded_decoder(10, num_layers=3, max_len=16)
    prompt = torch.randint(0, VOCAB_SIZE, (2, 3), generator=torch.Generator().manual_seed(11))
    cached_tokens, cached_logits = namespace["generate_with_cache"](model, prompt, 9)
    tokens, logits = generate_by_recomputing(model, prompt, 9)
    assert torch.equal(cached_tokens, tokens)
    torch.testing.assert_close(cached_logits, logits, rtol=1e-5, atol=1e-5)
