# Hidden checks for chapter 10. Each "# %% <exercise id> | <label>" block is one check cell,
# run in the learner's kernel after that exercise's cell; the label is what a learner sees.
# The inputs differ from the notebook's public self-checks on purpose. The decoders are
# untrained attn.decoder.TinyDecoder models with seeded weights; the property checks use
# only the learner's own function, so every exercise is graded on its own.
# Generation must give exactly the tokens of recomputing, and the offset property holds for
# any rotation (in either direction, any pairing), so those two earn points only whole:
# all-or-nothing: 10.generate_with_cache, 10.rope

# %% setup
import torch

from attn.decoder import TinyDecoder


def _randn(seed, *shape, dtype=torch.float32):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _decoder(seed, dtype=torch.float32, **sizes):
    """An untrained TinyDecoder with seeded weights, in eval mode."""
    torch.manual_seed(seed)
    return TinyDecoder(**sizes).to(dtype).eval()


def _prompt(seed, batch, length, vocab=12):
    return torch.randint(0, vocab, (batch, length), generator=torch.Generator().manual_seed(seed))


def _tokens(generate, *args):
    """The tokens of generate(*args); anything but a pair is returned whole, to be reported."""
    result = generate(*args)
    return result[0] if isinstance(result, (tuple, list)) and len(result) == 2 else result


def _logits(generate, *args):
    """The logits of generate(*args); anything but a pair is returned whole, to be reported."""
    result = generate(*args)
    return result[1] if isinstance(result, (tuple, list)) and len(result) == 2 else result


def _no_position_twice(generate, model, prompt, num_new):
    """True when, while ``generate`` runs, at most p + num_new positions per sequence pass
    through each block's key projection: the prefill, then one new position per step."""
    seen = []
    hooks = [block.k_proj.register_forward_hook(
        lambda module, args, output: seen.append(args[0].numel() / args[0].shape[-1]))
        for block in model.blocks]
    try:
        generate(model, prompt, num_new)
    finally:
        for hook in hooks:
            hook.remove()
    per_block = sum(seen) / (len(model.blocks) * prompt.shape[0])
    return 0 < per_block <= prompt.shape[1] + num_new


def _offset_invariant(rope, seed, n, d, shifts, dtype=torch.float64):
    """True when the scores rope(q, a) rope(k, a)^T are the same for every shift a,
    and differ from the unrotated scores (so that doing nothing does not pass)."""
    q, k = _randn(seed, n, d, dtype=dtype), _randn(seed + 1, n, d, dtype=dtype)
    scores = [rope(q, shift) @ rope(k, shift).transpose(-2, -1) for shift in shifts]
    same = all(torch.allclose(s, scores[0], rtol=1e-6, atol=1e-8) for s in scores)
    rotated = not torch.allclose(scores[0], q @ k.transpose(-2, -1), rtol=1e-3, atol=1e-3)
    return same and rotated


# %% 10.causal_mask | 3 new queries against 7 keys
_check(causal_mask, 3, 7)

# %% 10.causal_mask | n = m = 6: the square causal mask
_check(causal_mask, 6, 6)

# %% 10.causal_mask | one new query against 9 keys
_check(causal_mask, 1, 9)

# %% 10.causal_mask | a single token (n = m = 1)
_check(causal_mask, 1, 1)

# %% 10.causal_mask | 5 new queries against 13 keys
_check(causal_mask, 5, 13)

# %% 10.generate_with_cache | 2 blocks of 4 heads, batch 2, prompts of 5, 7 new tokens: the tokens
_model = _decoder(1001, d_model=32, num_layers=2, num_heads=4, d_ff=64, max_len=16)
_check(_tokens, generate_with_cache, _model, _prompt(1002, 2, 5), 7)

# %% 10.generate_with_cache | 2 blocks of 4 heads, batch 2, prompts of 5, 7 new tokens: the logits
_model = _decoder(1001, d_model=32, num_layers=2, num_heads=4, d_ff=64, max_len=16)
_check(_logits, generate_with_cache, _model, _prompt(1002, 2, 5), 7)

# %% 10.generate_with_cache | a one-token prompt, 10 new tokens, float64 model: the tokens
_model = _decoder(1003, torch.float64, d_model=24, num_layers=3, num_heads=3, d_ff=48, max_len=12)
_check(_tokens, generate_with_cache, _model, _prompt(1004, 3, 1), 10)

# %% 10.generate_with_cache | a one-token prompt, 10 new tokens, float64 model: the logits
_model = _decoder(1003, torch.float64, d_model=24, num_layers=3, num_heads=3, d_ff=48, max_len=12)
_check(_logits, generate_with_cache, _model, _prompt(1004, 3, 1), 10)

# %% 10.generate_with_cache | num_new = 1 (the prefill alone): the tokens
_model = _decoder(1005, d_model=16, num_layers=2, num_heads=2, d_ff=32, max_len=10)
_check(_tokens, generate_with_cache, _model, _prompt(1006, 4, 6), 1)

# %% 10.generate_with_cache | num_new = 1 (the prefill alone): the logits
_model = _decoder(1005, d_model=16, num_layers=2, num_heads=2, d_ff=32, max_len=10)
_check(_logits, generate_with_cache, _model, _prompt(1006, 4, 6), 1)

# %% 10.generate_with_cache | one block, one head, up to max_len: the tokens
_model = _decoder(1007, d_model=16, num_layers=1, num_heads=1, d_ff=32, max_len=12)
_check(_tokens, generate_with_cache, _model, _prompt(1008, 2, 3), 9)

# %% 10.generate_with_cache | one block, one head, up to max_len: the logits
_model = _decoder(1007, d_model=16, num_layers=1, num_heads=1, d_ff=32, max_len=12)
_check(_logits, generate_with_cache, _model, _prompt(1008, 2, 3), 9)

# %% 10.generate_with_cache | no position passes through a block twice (prompt of 5, 6 new tokens)
_model = _decoder(1009, d_model=16, num_layers=2, num_heads=2, d_ff=32, max_len=12)
_check(_no_position_twice, generate_with_cache, _model, _prompt(1010, 2, 5), 6)

# %% 10.rope | batch 2, 3 heads, 5 positions, d = 8
_check(rope, _randn(1011, 2, 3, 5, 8))

# %% 10.rope | float64, d = 6, offset 7
_check(rope, _randn(1012, 4, 6, dtype=torch.float64), 7)

# %% 10.rope | one new token at position 100 (cached decoding), d = 16
_check(rope, _randn(1013, 2, 1, 16), 100)

# %% 10.rope | d = 2, a single pair, offset 3
_check(rope, _randn(1014, 1, 9, 2), 3)

# %% 10.rope | the score depends only on the offset (d = 12, shifts 0, 5, 17)
_check(_offset_invariant, rope, 1015, 6, 12, [0, 5, 17])

# %% 10.rope | the score depends only on the offset (d = 64, shifts 0, 1, 250)
_check(_offset_invariant, rope, 1016, 4, 64, [0, 1, 250])

# %% 10.grouped_query_attention | 6 query heads, 2 key/value heads, no mask
_check(grouped_query_attention, _randn(1021, 2, 6, 5, 8), _randn(1022, 2, 2, 5, 8),
       _randn(1023, 2, 2, 5, 8))

# %% 10.grouped_query_attention | groups = heads (multi-head), causal, float64
_check(grouped_query_attention, _randn(1024, 1, 4, 6, 4, dtype=torch.float64),
       _randn(1025, 1, 4, 6, 4, dtype=torch.float64),
       _randn(1026, 1, 4, 6, 4, dtype=torch.float64), True)

# %% 10.grouped_query_attention | one key/value head (multi-query), 3 queries, 7 keys
_check(grouped_query_attention, _randn(1027, 2, 4, 3, 8), _randn(1028, 2, 1, 7, 8),
       _randn(1029, 2, 1, 7, 8))

# %% 10.grouped_query_attention | causal with 2 new queries against 6 keys (bottom right)
_check(grouped_query_attention, _randn(1030, 2, 6, 2, 4), _randn(1031, 2, 3, 6, 4),
       _randn(1032, 2, 3, 6, 4), True)

# %% 10.grouped_query_attention | causal, 8 query heads in groups of 4, n = m = 5
_check(grouped_query_attention, _randn(1033, 1, 8, 5, 16), _randn(1034, 1, 2, 5, 16),
       _randn(1035, 1, 2, 5, 16), causal=True)

# %% 10.grouped_query_attention | large scores, groups of 3, one query
_check(grouped_query_attention, 20.0 * _randn(1036, 3, 3, 1, 4), _randn(1037, 3, 1, 4, 4),
       _randn(1038, 3, 1, 4, 4))
