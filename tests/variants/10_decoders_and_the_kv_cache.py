"""Other answers to chapter 10's exercises, for tests/test_chapters.py.

EQUIVALENT answers compute the same thing another way and must keep full marks;
WRONG answers hold a realistic mistake and must lose the exercise's points.
"""

EQUIVALENT = {
    "10.causal_mask": '''
def causal_mask(n, m):
    print("mask for", n, "queries and", m, "keys")   # a print of its own must not matter
    return torch.ones(n, m, dtype=torch.bool).tril(diagonal=m - n)
''',
    "10.generate_with_cache": '''
@torch.no_grad()
def generate_with_cache(model, prompt, num_new):
    # Preallocated caches, the prompt fed one token at a time, attention written out.
    batch, p = prompt.shape
    total = p + num_new - 1
    first = model.blocks[0]
    dtype = model.lm_head.weight.dtype
    keys = [torch.zeros(batch, b.num_heads, total, b.d_head, dtype=dtype) for b in model.blocks]
    values = [torch.zeros_like(k) for k in keys]
    tokens, logits = [], []
    current = prompt[:, 0]
    for position in range(total):
        x = model.embed(current[:, None], start=position)
        for block, k_cache, v_cache in zip(model.blocks, keys, values):
            q, k, v = block.qkv(x)
            k_cache[:, :, position] = k[:, :, 0]
            v_cache[:, :, position] = v[:, :, 0]
            seen_k, seen_v = k_cache[:, :, :position + 1], v_cache[:, :, :position + 1]
            w = torch.softmax(q @ seen_k.transpose(-2, -1) * block.d_head ** -0.5, dim=-1)
            x = block.finish(x, w @ seen_v)
        if position + 1 < p:
            current = prompt[:, position + 1]
            continue
        step = model.logits(x)[:, 0]
        current = step.argmax(dim=-1)
        tokens.append(current)
        logits.append(step)
    return torch.stack(tokens, dim=1), torch.stack(logits, dim=1)
''',
    "10.rope": '''
def rope(x, offset=0):
    # Complex numbers: each pair is one complex number, multiplied by e^(i p theta).
    n, d = x.shape[-2:]
    theta = torch.exp(-math.log(10000.0) * torch.arange(d // 2, dtype=torch.float64) * 2 / d)
    angle = torch.outer(torch.arange(n, dtype=torch.float64) + offset, theta)
    turn = torch.polar(torch.ones_like(angle), angle)
    pairs = torch.view_as_complex(x.double().reshape(*x.shape[:-1], d // 2, 2).contiguous())
    return torch.view_as_real(pairs * turn).reshape(x.shape).to(x.dtype)
''',
    "10.grouped_query_attention": '''
def grouped_query_attention(q, k, v, causal=False):
    group = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(group, dim=1)            # (B, h, m, d)
    v = v.repeat_interleave(group, dim=1)
    mask = None
    if causal:
        n, m = q.shape[2], k.shape[2]
        mask = torch.ones(n, m, dtype=torch.bool).tril(m - n)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
''',
}

WRONG = {
    "10.causal_mask": '''
def causal_mask(n, m):
    rows = torch.arange(m - n, m)[:, None]
    return torch.arange(m)[None, :] < rows   # a query may not see itself: off by one
''',
    "10.generate_with_cache": '''
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
    for i in range(num_new):
        token = step.argmax(dim=-1)
        tokens.append(token)
        logits.append(step)
        x = model.embed(token[:, None], 0)   # every new token embedded at position 0
        for block, kv in zip(model.blocks, cache):
            q, k, v = block.qkv(x)
            kv[0] = torch.cat([kv[0], k], dim=2)
            kv[1] = torch.cat([kv[1], v], dim=2)
            x = block.finish(x, F.scaled_dot_product_attention(q, kv[0], kv[1]))
        step = model.logits(x[:, -1])
    return torch.stack(tokens, dim=1), torch.stack(logits, dim=1)
''',
    "10.rope": '''
def rope(x, offset=0):
    # Rotates the halves (x_i, x_{i + d/2}) instead of the adjacent pairs (x_2i, x_2i+1).
    n, d = x.shape[-2:]
    theta = 10000.0 ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    angle = (torch.arange(offset, offset + n, dtype=torch.float64)[:, None] * theta)
    cos, sin = angle.cos().to(x.dtype), angle.sin().to(x.dtype)
    first, second = x[..., : d // 2], x[..., d // 2:]
    return torch.cat([first * cos - second * sin, first * sin + second * cos], dim=-1)
''',
    "10.grouped_query_attention": '''
def grouped_query_attention(q, k, v, causal=False):
    group = q.shape[1] // k.shape[1]
    k = k.repeat(1, group, 1, 1)      # tiles the heads: query head i gets kv head i % h_kv
    v = v.repeat(1, group, 1, 1)
    n, m = q.shape[2], k.shape[2]
    mask = torch.ones(n, m, dtype=torch.bool).tril(m - n) if causal else None
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
''',
}
