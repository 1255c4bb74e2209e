"""Other answers to chapter 8's exercises, for tests/test_chapters.py.

EQUIVALENT answers compute the same thing another way and must keep full marks;
WRONG answers hold a realistic mistake and must lose the exercise's points.
"""

EQUIVALENT = {
    "08.online_softmax": '''
def online_softmax(s, block_size):
    # merge the log-sum-exp of each block instead of a running maximum and sum
    log_total = torch.full(s.shape[:-1], float("-inf"), dtype=s.dtype, device=s.device)
    for start in range(0, s.shape[-1], block_size):
        log_total = torch.logaddexp(log_total, torch.logsumexp(s[..., start:start + block_size], dim=-1))
    log_total = log_total.unsqueeze(-1)
    finite = torch.isfinite(log_total)
    shifted = s - torch.where(finite, log_total, torch.zeros_like(log_total))
    return torch.where(finite, torch.exp(shifted), torch.zeros_like(s))
''',
    "08.blockwise_attention": '''
def blockwise_attention(q, k, v, block_size, causal=False):
    # FlashAttention-1 style: keep the output normalised after every block
    n, m = q.shape[-2], k.shape[-2]
    out = torch.zeros(*q.shape[:-1], v.shape[-1], dtype=q.dtype)
    biggest = torch.full((*q.shape[:-1], 1), -float("inf"), dtype=q.dtype)
    total = torch.zeros_like(biggest)
    for j0 in range(0, m, block_size):
        j1 = min(j0 + block_size, m)
        s = torch.einsum("...id,...jd->...ij", q, k[..., j0:j1, :]) / q.shape[-1] ** 0.5
        if causal:
            s = s.masked_fill(torch.arange(j0, j1)[None, :] > torch.arange(n)[:, None], -float("inf"))
        new_biggest = torch.maximum(biggest, s.max(dim=-1, keepdim=True).values)
        p = torch.exp(s - new_biggest)
        old_part = total * torch.exp(biggest - new_biggest)
        new_total = old_part + p.sum(dim=-1, keepdim=True)
        out = (out * old_part + p @ v[..., j0:j1, :]) / new_total
        biggest, total = new_biggest, new_total
    return out
''',
    "08.blockwise_backward": '''
def blockwise_backward(q, k, v, out, lse, d_out, block_size, causal=False):
    # two passes, FlashAttention-1 style: D from the recomputed P and dP, then the gradients;
    # einsum throughout, and dQ written into a preallocated tensor block by block of queries too
    n, m = q.shape[-2], k.shape[-2]
    c = 1.0 / math.sqrt(q.shape[-1])

    def weights(j0, j1):
        p = torch.exp(torch.einsum("...id,...jd->...ij", q, k[..., j0:j1, :]) * c - lse[..., :, None])
        if causal:
            p = torch.where(torch.arange(j0, j1)[None, :] <= torch.arange(n)[:, None], p, torch.zeros_like(p))
        return p

    D = torch.zeros_like(lse)
    for j0 in range(0, m, block_size):
        j1 = min(j0 + block_size, m)
        dp = torch.einsum("...ic,...jc->...ij", d_out, v[..., j0:j1, :])
        D = D + (weights(j0, j1) * dp).sum(-1)
    dq, dk, dv = torch.zeros_like(q), torch.zeros_like(k), torch.zeros_like(v)
    for j0 in range(0, m, block_size):
        j1 = min(j0 + block_size, m)
        p = weights(j0, j1)
        dv[..., j0:j1, :] = torch.einsum("...ij,...ic->...jc", p, d_out)
        ds = p * (torch.einsum("...ic,...jc->...ij", d_out, v[..., j0:j1, :]) - D[..., :, None])
        dk[..., j0:j1, :] = torch.einsum("...ij,...id->...jd", ds, q) * c
        dq += torch.einsum("...ij,...jd->...id", ds, k[..., j0:j1, :]) * c
    return dq, dk, dv
''',
    "08.triton_attention": '''
def triton_attention(q, k, v, causal=False):
    @triton.jit
    def attention_kernel(Q, K, V, O, n, m, scale,
                         CAUSAL: tl.constexpr, D: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
        # exp2 with log2(e) folded into the scale, and K loaded already transposed
        pid = tl.program_id(0)
        bid = tl.program_id(1)
        offs_m = pid * BLOCK_M + tl.arange(0, BLOCK_M)
        offs_d = tl.arange(0, D)
        qk_scale = scale * 1.4426950408889634
        q_tile = tl.load(Q + bid * n * D + offs_m[:, None] * D + offs_d[None, :], mask=offs_m[:, None] < n, other=0.0)
        m_i = tl.zeros([BLOCK_M], tl.float32) - float("inf")
        l_i = tl.zeros([BLOCK_M], tl.float32)
        acc = tl.zeros([BLOCK_M, D], tl.float32)
        for j in range(0, m, BLOCK_N):
            offs_n = j + tl.arange(0, BLOCK_N)
            kt = tl.load(K + bid * m * D + offs_n[None, :] * D + offs_d[:, None], mask=offs_n[None, :] < m, other=0.0)
            vt = tl.load(V + bid * m * D + offs_n[:, None] * D + offs_d[None, :], mask=offs_n[:, None] < m, other=0.0)
            qk = tl.dot(q_tile, kt, input_precision="ieee") * qk_scale
            keep = offs_n[None, :] < m
            if CAUSAL:
                keep = keep & (offs_n[None, :] <= offs_m[:, None])
            qk = tl.where(keep, qk, -float("inf"))
            m_new = tl.maximum(m_i, tl.max(qk, 1))
            alpha = tl.exp2(m_i - m_new)
            p = tl.exp2(qk - m_new[:, None])
            l_i = l_i * alpha + tl.sum(p, 1)
            acc = acc * alpha[:, None] + tl.dot(p, vt, input_precision="ieee")
            m_i = m_new
        acc = acc / l_i[:, None]
        tl.store(O + bid * n * D + offs_m[:, None] * D + offs_d[None, :], acc, mask=offs_m[:, None] < n)

    batch, n, d = q.shape
    m = k.shape[1]
    out = torch.empty_like(q)
    grid = (triton.cdiv(n, 16), batch)
    attention_kernel[grid](q.contiguous(), k.contiguous(), v.contiguous(), out, n, m, 1.0 / math.sqrt(d),
                           CAUSAL=causal, D=d, BLOCK_M=16, BLOCK_N=16)
    return out
''',
}

WRONG = {
    "08.online_softmax": '''
def online_softmax(s, block_size):
    running_max = torch.full((*s.shape[:-1], 1), float("-inf"), dtype=s.dtype)
    running_sum = torch.zeros_like(running_max)
    for start in range(0, s.shape[-1], block_size):
        block = s[..., start:start + block_size]
        running_max = torch.maximum(running_max, block.amax(dim=-1, keepdim=True))
        shift = torch.where(torch.isinf(running_max), torch.zeros_like(running_max), running_max)
        running_sum = running_sum + torch.exp(block - shift).sum(dim=-1, keepdim=True)  # forgets e^(m - m')
    shift = torch.where(torch.isinf(running_max), torch.zeros_like(running_max), running_max)
    return torch.exp(s - shift) / torch.where(running_sum > 0, running_sum, torch.ones_like(running_sum))
''',
    "08.blockwise_attention": '''
def blockwise_attention(q, k, v, block_size, causal=False):
    n = q.shape[-2]
    row_max = torch.full((*q.shape[:-1], 1), float("-inf"), dtype=q.dtype)
    row_sum = torch.zeros_like(row_max)
    acc = torch.zeros((*q.shape[:-1], v.shape[-1]), dtype=q.dtype)
    for start in range(0, k.shape[-2], block_size):
        k_block = k[..., start:start + block_size, :]
        v_block = v[..., start:start + block_size, :]
        s = q @ k_block.transpose(-2, -1) / math.sqrt(q.shape[-1])
        if causal:
            local = torch.arange(k_block.shape[-2])  # positions inside the block, not in the sequence
            s = s.masked_fill(local[None, :] > torch.arange(n)[:, None], float("-inf"))
        new_max = torch.maximum(row_max, s.amax(dim=-1, keepdim=True))
        rescale = torch.exp(row_max - new_max)
        p = torch.exp(s - new_max)
        row_sum = row_sum * rescale + p.sum(dim=-1, keepdim=True)
        acc = acc * rescale + p @ v_block
        row_max = new_max
    return acc / row_sum
''',
    "08.blockwise_backward": '''
def blockwise_backward(q, k, v, out, lse, d_out, block_size, causal=False):
    scale = 1.0 / math.sqrt(q.shape[-1])
    delta = (d_out * out).sum(dim=-1, keepdim=True)
    rows = torch.arange(q.shape[-2])[:, None]
    d_q = torch.zeros_like(q)
    d_k, d_v = [], []
    for start in range(0, k.shape[-2], block_size):
        k_block, v_block = k[..., start:start + block_size, :], v[..., start:start + block_size, :]
        p = torch.exp(q @ k_block.transpose(-2, -1) * scale - lse.unsqueeze(-1))
        if causal:
            p = p.masked_fill(torch.arange(k_block.shape[-2])[None, :] > rows, 0.0)  # forgets the block's start
        d_v.append(p.transpose(-2, -1) @ d_out)
        d_s = p * (d_out @ v_block.transpose(-2, -1) - delta)
        d_q = d_q + d_s @ k_block * scale
        d_k.append(d_s.transpose(-2, -1) @ q * scale)
    return d_q, torch.cat(d_k, dim=-2), torch.cat(d_v, dim=-2)
''',
    "08.triton_attention": '''
def triton_attention(q, k, v, causal=False):
    @triton.jit
    def attention_kernel(Q, K, V, O, n, m, scale,
                         CAUSAL: tl.constexpr, D: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
        rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
        dims = tl.arange(0, D)
        base_q = tl.program_id(1) * n * D
        base_k = tl.program_id(1) * m * D
        q_rows = tl.load(Q + base_q + rows[:, None] * D + dims[None, :], mask=rows[:, None] < n, other=0.0)
        row_max = tl.full([BLOCK_M], float("-inf"), tl.float32)
        row_sum = tl.zeros([BLOCK_M], tl.float32)
        acc = tl.zeros([BLOCK_M, D], tl.float32)
        for start in range(0, m, BLOCK_N):
            cols = start + tl.arange(0, BLOCK_N)
            k_cols = tl.load(K + base_k + cols[:, None] * D + dims[None, :], mask=cols[:, None] < m, other=0.0)
            v_cols = tl.load(V + base_k + cols[:, None] * D + dims[None, :], mask=cols[:, None] < m, other=0.0)
            s = tl.dot(q_rows, tl.trans(k_cols), input_precision="ieee") * scale
            allowed = cols[None, :] < m
            if CAUSAL:
                allowed = allowed & (cols[None, :] <= rows[:, None])
            s = tl.where(allowed, s, float("-inf"))
            new_max = tl.maximum(row_max, tl.max(s, axis=1))
            p = tl.exp(s - new_max[:, None])
            row_sum = row_sum * tl.exp(row_max - new_max) + tl.sum(p, axis=1)
            acc = acc + tl.dot(p, v_cols, input_precision="ieee")  # forgets to rescale the output
            row_max = new_max
        tl.store(O + base_q + rows[:, None] * D + dims[None, :], acc / row_sum[:, None], mask=rows[:, None] < n)

    batch, n, d = q.shape
    m = k.shape[1]
    out = torch.empty_like(q)
    grid = (triton.cdiv(n, 16), batch)
    attention_kernel[grid](q.contiguous(), k.contiguous(), v.contiguous(), out, n, m, 1.0 / math.sqrt(d),
                           CAUSAL=causal, D=d, BLOCK_M=16, BLOCK_N=16)
    return out
''',
}
