"""Misconceptions of chapter 10 (format: see autograder/diagnose.py)."""

from autograder.diagnose import Misconception, variant

MASK = "Which keys may the new queries see?"
CACHE = "The key/value cache"
ROPE = "Rotary position embeddings"
GQA = "Multi-query and grouped-query attention"

CAUSAL = '''
def causal_mask(n, m):
    return torch.ones(n, m, dtype=torch.bool).tril(diagonal=m - n)
'''

GENERATE = '''
@torch.no_grad()
def generate_with_cache(model, prompt, num_new):
    x = model.embed(prompt, 0)
    cache = []
    for block in model.blocks:
        q, k, v = block.qkv(x)
        cache.append([k, v])
        x = block.finish(x, F.scaled_dot_product_attention(q, k, v, is_causal=True))
    step = model.logits(x[:, -1])
    tokens, logits = [], []
    position = prompt.shape[1]
    for i in range(num_new):
        token = step.argmax(dim=-1)
        tokens.append(token)
        logits.append(step)
        if i == num_new - 1:
            break
        x = model.embed(token[:, None], position)
        position += 1
        for block, kv in zip(model.blocks, cache):
            q, k, v = block.qkv(x)
            kv[0] = torch.cat([kv[0], k], dim=2)
            kv[1] = torch.cat([kv[1], v], dim=2)
            x = block.finish(x, F.scaled_dot_product_attention(q, kv[0], kv[1]))
        step = model.logits(x[:, -1])
    return torch.stack(tokens, dim=1), torch.stack(logits, dim=1)
'''

RECOMPUTE = '''
@torch.no_grad()
def generate_with_cache(model, prompt, num_new):
    sequence, tokens, logits = prompt, [], []
    for _ in range(num_new):
        step = model(sequence)[:, -1]
        tokens.append(step.argmax(dim=-1))
        logits.append(step)
        sequence = torch.cat([sequence, tokens[-1][:, None]], dim=1)
    return torch.stack(tokens, dim=1), torch.stack(logits, dim=1)
'''

ROTATE = '''
def rope(x, offset=0):
    n, d = x.shape[-2:]
    theta = 10000.0 ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    angle = torch.arange(offset, offset + n, dtype=torch.float64)[:, None] * theta
    cos, sin = angle.cos().to(x.dtype), angle.sin().to(x.dtype)
    first, second = x[..., 0::2], x[..., 1::2]
    turned = torch.stack([first * cos - second * sin, first * sin + second * cos], dim=-1)
    return turned.flatten(-2)
'''

GROUPED = '''
def grouped_query_attention(q, k, v, causal=False):
    group = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(group, dim=1)
    v = v.repeat_interleave(group, dim=1)
    n, m = q.shape[2], k.shape[2]
    mask = torch.ones(n, m, dtype=torch.bool).tril(m - n) if causal else None
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
'''

MISCONCEPTIONS = [
    Misconception(
        "10.causal_mask", "top-left-aligned",
        "Your mask is aligned to the top left, like `is_causal=True`: it treats the new queries as "
        "the first positions of the sequence, but they are the last, so query i may see keys up to "
        "m - n + i.",
        MASK, variant(CAUSAL, ("tril(diagonal=m - n)", "tril()"))),
    Misconception(
        "10.causal_mask", "query-cannot-see-itself",
        "Your mask hides the key at the query's own position: a position may attend to itself, so "
        "the comparison is j <= m - n + i, not j < m - n + i.",
        MASK, variant(CAUSAL, ("tril(diagonal=m - n)", "tril(diagonal=m - n - 1)"))),
    Misconception(
        "10.causal_mask", "true-means-masked",
        "Your mask is True where a query may NOT attend (the convention of nn.MultiheadAttention); "
        "the course's masks are True where a query may attend.",
        MASK, variant(CAUSAL, ("return torch.ones", "return ~torch.ones"))),
    Misconception(
        "10.causal_mask", "shift-the-wrong-way",
        "Your mask shifts the diagonal the wrong way (n - m instead of m - n): the new queries come "
        "after the m - n cached positions, so each may see m - n more keys than in a square mask, "
        "not fewer.",
        MASK, variant(CAUSAL, ("tril(diagonal=m - n)", "tril(diagonal=n - m)"))),
    Misconception(
        "10.generate_with_cache", "causal-flag-on-the-new-token",
        "Your decoding steps pass is_causal=True with one query against all cached keys, and "
        "aligned to the top left that lets the new token see only key 0, while a single new "
        "query is the last position and needs no mask.",
        CACHE, variant(GENERATE, ("F.scaled_dot_product_attention(q, kv[0], kv[1])",
                                  "F.scaled_dot_product_attention(q, kv[0], kv[1], is_causal=True)"))),
    Misconception(
        "10.generate_with_cache", "new-tokens-at-position-zero",
        "Your new tokens are embedded at position 0: a token appended after t tokens sits at "
        "position t, so pass it to model.embed(tokens, start) as the start.",
        CACHE, variant(GENERATE, ("model.embed(token[:, None], position)", "model.embed(token[:, None], 0)"))),
    Misconception(
        "10.generate_with_cache", "cache-never-grows",
        "Your steps attend to the cached keys and values and the new token's own, but never store "
        "the new ones, so each later token misses the tokens generated before it; append every "
        "new key and value to its block's cache.",
        CACHE, variant(GENERATE, (
            "            kv[0] = torch.cat([kv[0], k], dim=2)\n"
            "            kv[1] = torch.cat([kv[1], v], dim=2)\n"
            "            x = block.finish(x, F.scaled_dot_product_attention(q, kv[0], kv[1]))",
            "            keys, values = torch.cat([kv[0], k], dim=2), torch.cat([kv[1], v], dim=2)\n"
            "            x = block.finish(x, F.scaled_dot_product_attention(q, keys, values))"))),
    Misconception(
        "10.generate_with_cache", "prompt-not-cached",
        "Your prefill runs the prompt but does not keep its keys and values, so the generated "
        "tokens never attend to the prompt; the cache must start with the prompt's keys and values.",
        CACHE, variant(GENERATE, ("cache.append([k, v])", "cache.append([k[:, :, :0], v[:, :, :0]])"))),
    Misconception(
        "10.generate_with_cache", "recomputes-the-prefix",
        "Your generation runs the whole sequence through the model at every step, which gives the "
        "right tokens but is the work the cache exists to avoid; keep each block's keys and values "
        "and pass only the new token through the blocks.",
        CACHE, RECOMPUTE),
    Misconception(
        "10.rope", "rotates-halves",
        "Your rotation pairs feature i with feature i + d/2 (the 'rotate half' layout of some "
        "libraries); this chapter's RoPE rotates adjacent pairs (x_2i, x_2i+1), as in RoFormer.",
        ROPE, variant(ROTATE, (
            "first, second = x[..., 0::2], x[..., 1::2]\n"
            "    turned = torch.stack([first * cos - second * sin, first * sin + second * cos], dim=-1)\n"
            "    return turned.flatten(-2)",
            "first, second = x[..., : d // 2], x[..., d // 2:]\n"
            "    return torch.cat([first * cos - second * sin, first * sin + second * cos], dim=-1)"))),
    Misconception(
        "10.rope", "ignores-the-offset",
        "Your rotation starts every call at position 0; the rows are at positions offset, "
        "offset + 1, ..., which is what lets a new token be rotated at its place in a cached "
        "sequence.",
        ROPE, variant(ROTATE, ("torch.arange(offset, offset + n,", "torch.arange(0, n,"))),
    Misconception(
        "10.rope", "frequency-exponent-i-over-d",
        "Your frequencies are 10000 ** (-i / d) for pair i; the exponent is -2i / d, so the "
        "slowest pair turns about 10000 times more slowly than the first.",
        ROPE, variant(ROTATE, ("torch.arange(0, d, 2, dtype=torch.float64) / d",
                               "torch.arange(d // 2, dtype=torch.float64) / d"))),
    Misconception(
        "10.rope", "rotates-backwards",
        "Your rotation turns each pair by minus the angle (the signs of the sine terms are "
        "swapped): x'_2i = x_2i cos - x_2i+1 sin and x'_2i+1 = x_2i sin + x_2i+1 cos.",
        ROPE, variant(ROTATE, ("[first * cos - second * sin, first * sin + second * cos]",
                               "[first * cos + second * sin, second * cos - first * sin]"))),
    Misconception(
        "10.grouped_query_attention", "tiles-instead-of-grouping",
        "Your key/value heads are tiled (repeat), so query head i gets key/value head i % h_kv; "
        "each key/value head serves a group of consecutive query heads, head i // g, which "
        "repeat_interleave gives.",
        GQA, variant(GROUPED, ("k.repeat_interleave(group, dim=1)", "k.repeat(1, group, 1, 1)"),
                     ("v.repeat_interleave(group, dim=1)", "v.repeat(1, group, 1, 1)"))),
    Misconception(
        "10.grouped_query_attention", "top-left-causal",
        "Your causal mask is aligned to the top left (is_causal=True), which is right only when "
        "n = m; the n queries are the last n of the m positions, so query i may see keys up to "
        "m - n + i.",
        GQA, variant(GROUPED, ("return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)",
                               "return F.scaled_dot_product_attention(q, k, v, is_causal=causal)"))),
    Misconception(
        "10.grouped_query_attention", "unscaled-scores",
        "Your scores are not divided by sqrt(d), the width of a head, so the softmax is too sharp.",
        GQA, variant(GROUPED, ("attn_mask=mask)", "attn_mask=mask, scale=1.0)"))),
]
