"""Misconceptions of chapter 8 (format: see autograder/diagnose.py). The Triton entries need
Triton to run at release time (on a machine without it, they cannot be told apart)."""

from autograder.diagnose import Misconception, variant

ONLINE = "The online softmax"
BLOCKWISE = "Blockwise attention"
TRITON = "A Triton kernel"
BACKWARD = "The backward pass"

ONLINE_SOFTMAX = '''
def online_softmax(s, block_size):
    m = torch.full_like(s[..., :1], float("-inf"))
    total = torch.zeros_like(m)
    for start in range(0, s.shape[-1], block_size):
        block = s[..., start:start + block_size]
        m_new = torch.maximum(m, block.amax(dim=-1, keepdim=True))
        safe = torch.where(torch.isinf(m_new), 0.0, m_new)
        total = total * torch.exp(m - safe) + torch.exp(block - safe).sum(dim=-1, keepdim=True)
        m = m_new
    safe = torch.where(torch.isinf(m), 0.0, m)
    return torch.exp(s - safe) / torch.where(total > 0, total, 1.0)
'''

BLOCKWISE_ATTENTION = '''
def blockwise_attention(q, k, v, block_size, causal=False):
    scale = q.shape[-1] ** -0.5
    m = torch.full_like(q[..., :1], float("-inf"))
    total = torch.zeros_like(m)
    acc = torch.zeros(*q.shape[:-1], v.shape[-1], dtype=q.dtype)
    rows = torch.arange(q.shape[-2])[:, None]
    for start in range(0, k.shape[-2], block_size):
        kb, vb = k[..., start:start + block_size, :], v[..., start:start + block_size, :]
        s = q @ kb.transpose(-2, -1) * scale
        if causal:
            cols = start + torch.arange(kb.shape[-2])
            s = s.masked_fill(cols > rows, float("-inf"))
        m_new = torch.maximum(m, s.amax(dim=-1, keepdim=True))
        p = torch.exp(s - m_new)
        total = total * torch.exp(m - m_new) + p.sum(dim=-1, keepdim=True)
        acc = acc * torch.exp(m - m_new) + p @ vb
        m = m_new
    return acc / total
'''

BLOCKWISE_BACKWARD = '''
def blockwise_backward(q, k, v, out, lse, d_out, block_size, causal=False):
    scale = q.shape[-1] ** -0.5
    D = (d_out * out).sum(dim=-1, keepdim=True)
    L = lse[..., None]
    rows = torch.arange(q.shape[-2])[:, None]
    dq = torch.zeros_like(q)
    dks, dvs = [], []
    for start in range(0, k.shape[-2], block_size):
        kb, vb = k[..., start:start + block_size, :], v[..., start:start + block_size, :]
        s = q @ kb.transpose(-2, -1) * scale
        p = torch.exp(s - L)
        if causal:
            cols = start + torch.arange(kb.shape[-2])
            p = p.masked_fill(cols > rows, 0.0)
        dvs.append(p.transpose(-2, -1) @ d_out)
        dp = d_out @ vb.transpose(-2, -1)
        ds = p * (dp - D)
        dq = dq + ds @ kb * scale
        dks.append(ds.transpose(-2, -1) @ q * scale)
    return dq, torch.cat(dks, dim=-2), torch.cat(dvs, dim=-2)
'''

TRITON_ATTENTION = '''
def triton_attention(q, k, v, causal=False):
    @triton.jit
    def _kernel(Q, K, V, O, n, m, scale, CAUSAL: tl.constexpr, D: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr):
        rows = tl.program_id(0) * BM + tl.arange(0, BM)
        dims = tl.arange(0, D)
        base = tl.program_id(1)
        q = tl.load(Q + base * n * D + rows[:, None] * D + dims[None, :], mask=rows[:, None] < n, other=0.0)
        m_i = tl.full([BM], float("-inf"), tl.float32)
        l_i = tl.zeros([BM], tl.float32)
        acc = tl.zeros([BM, D], tl.float32)
        for start in range(0, m, BN):
            cols = start + tl.arange(0, BN)
            offsets = base * m * D + cols[:, None] * D + dims[None, :]
            k = tl.load(K + offsets, mask=cols[:, None] < m, other=0.0)
            v = tl.load(V + offsets, mask=cols[:, None] < m, other=0.0)
            s = tl.dot(q, tl.trans(k), input_precision="ieee") * scale
            keep = cols[None, :] < m
            if CAUSAL:
                keep = keep & (cols[None, :] <= rows[:, None])
            s = tl.where(keep, s, float("-inf"))
            m_new = tl.maximum(m_i, tl.max(s, axis=1))
            alpha = tl.exp(m_i - m_new)
            p = tl.exp(s - m_new[:, None])
            l_i = l_i * alpha + tl.sum(p, axis=1)
            acc = acc * alpha[:, None] + tl.dot(p, v, input_precision="ieee")
            m_i = m_new
        tl.store(O + base * n * D + rows[:, None] * D + dims[None, :], acc / l_i[:, None], mask=rows[:, None] < n)

    batch, n, d = q.shape
    out = torch.empty_like(q)
    _kernel[(triton.cdiv(n, 16), batch)](q.contiguous(), k.contiguous(), v.contiguous(), out, n, k.shape[1],
                                         1.0 / math.sqrt(d), CAUSAL=causal, D=d, BM=16, BN=16)
    return out
'''

MISCONCEPTIONS = [
    Misconception(
        "08.online_softmax", "running-sum-not-rescaled",
        "Your online softmax adds each block's exponentials to the running sum without first multiplying the "
        "old sum by exp(old max - new max), so blocks read before a larger score count too much.",
        ONLINE, variant(ONLINE_SOFTMAX, ("total * torch.exp(m - safe) +", "total +"))),
    Misconception(
        "08.online_softmax", "each-block-normalised-alone",
        "Your online softmax normalises every block by its own sum, so the weights sum to 1 within each block "
        "instead of over the whole row: keep a running maximum and sum across blocks.",
        ONLINE, '''
def online_softmax(s, block_size):
    blocks = [torch.softmax(s[..., i:i + block_size], dim=-1) for i in range(0, s.shape[-1], block_size)]
    return torch.nan_to_num(torch.cat(blocks, dim=-1), nan=0.0)
'''),
    Misconception(
        "08.online_softmax", "no-running-maximum",
        "Your online softmax sums exp of the raw scores, which overflows for large scores: track the running "
        "maximum and subtract it, rescaling the sum whenever it grows.",
        ONLINE, '''
def online_softmax(s, block_size):
    total = torch.zeros_like(s[..., :1])
    for start in range(0, s.shape[-1], block_size):
        total = total + torch.exp(s[..., start:start + block_size]).sum(dim=-1, keepdim=True)
    return torch.exp(s) / torch.where(total > 0, total, 1.0)
'''),
    Misconception(
        "08.online_softmax", "nan-for-masked-blocks",
        "Your online softmax computes exp(-inf - (-inf)) = exp(nan) when a block (or a whole row) is fully "
        "masked: while the running maximum is still -inf, shift by 0 instead.",
        ONLINE, variant(ONLINE_SOFTMAX, ("safe = torch.where(torch.isinf(m_new), 0.0, m_new)", "safe = m_new"),
                        ("safe = torch.where(torch.isinf(m), 0.0, m)", "safe = m"))),
    Misconception(
        "08.blockwise_attention", "output-not-rescaled",
        "Your blockwise attention rescales the running sum but not the running output when the maximum grows, "
        "so values from earlier blocks keep weights computed against an old maximum.",
        BLOCKWISE, variant(BLOCKWISE_ATTENTION, ("acc = acc * torch.exp(m - m_new) + p @ vb", "acc = acc + p @ vb"))),
    Misconception(
        "08.blockwise_attention", "running-sum-not-rescaled",
        "Your blockwise attention rescales the running output but not the running sum when the maximum grows, "
        "so the final division uses a sum of exponentials taken against different maxima.",
        BLOCKWISE, variant(BLOCKWISE_ATTENTION, ("total * torch.exp(m - m_new) +", "total +"))),
    Misconception(
        "08.blockwise_attention", "causal-positions-within-the-block",
        "Your causal mask numbers the keys from 0 in every block, but a key's position is its index in the "
        "whole sequence: add the block's start.",
        BLOCKWISE, variant(BLOCKWISE_ATTENTION, ("cols = start + torch.arange", "cols = torch.arange"))),
    Misconception(
        "08.blockwise_attention", "causal-diagonal-masked",
        "Your causal mask is off by one: it also hides the key at the query's own position (j = i), so the "
        "first query sees no key at all; mask only j > i.",
        BLOCKWISE, variant(BLOCKWISE_ATTENTION, ("cols > rows", "cols >= rows"))),
    Misconception(
        "08.blockwise_attention", "no-scaling",
        "Your blockwise attention leaves out the factor 1 / sqrt(d_k) on the scores.",
        BLOCKWISE, variant(BLOCKWISE_ATTENTION, (" * scale\n", "\n"))),
    Misconception(
        "08.blockwise_backward", "softmax-derivative-without-d",
        "Your backward pass takes dS = P * dP and leaves out the row term D = rowsum(dO * O), the part of "
        "the softmax's derivative that comes from the weights summing to 1.",
        BACKWARD, variant(BLOCKWISE_BACKWARD, ("ds = p * (dp - D)", "ds = p * dp"))),
    Misconception(
        "08.blockwise_backward", "weights-normalised-per-block",
        "Your backward pass recomputes each block's weights with a softmax over that block alone, so they "
        "sum to 1 within the block: recompute them from the saved log-sum-exp of the whole row, exp(S - L).",
        BACKWARD, variant(BLOCKWISE_BACKWARD, ("p = torch.exp(s - L)", "p = torch.softmax(s, dim=-1)"))),
    Misconception(
        "08.blockwise_backward", "no-scaling-in-dq-dk",
        "Your dQ and dK leave out the factor 1 / sqrt(d_k) that the scores carry, so both are sqrt(d_k) "
        "times too large (dV is right).",
        BACKWARD, variant(BLOCKWISE_BACKWARD, ("dq = dq + ds @ kb * scale", "dq = dq + ds @ kb"),
                          ("dks.append(ds.transpose(-2, -1) @ q * scale)", "dks.append(ds.transpose(-2, -1) @ q)"))),
    Misconception(
        "08.blockwise_backward", "causal-mask-forgotten",
        "Your backward pass recomputes the weights without the causal mask, so keys after the query get "
        "gradients: set P to 0 where j > i, as the forward pass did.",
        BACKWARD, variant(BLOCKWISE_BACKWARD, ("        if causal:\n            cols = start + torch.arange(kb.shape[-2])\n"
                                               "            p = p.masked_fill(cols > rows, 0.0)\n", ""))),
    Misconception(
        "08.blockwise_backward", "builds-the-full-matrix",
        "Your backward pass builds the whole (n, m) matrix of scores or weights (autograd through the formula "
        "does): recompute them one block of keys at a time.",
        BACKWARD, '''
def blockwise_backward(q, k, v, out, lse, d_out, block_size, causal=False):
    qq, kk, vv = [t.detach().clone().requires_grad_() for t in (q, k, v)]
    with torch.enable_grad():
        s = qq @ kk.transpose(-2, -1) / math.sqrt(q.shape[-1])
        if causal:
            s = s.masked_fill(~torch.ones(s.shape[-2:], dtype=torch.bool).tril(), float("-inf"))
        o = torch.softmax(s, dim=-1) @ vv
        return torch.autograd.grad(o, (qq, kk, vv), grad_outputs=d_out)
'''),
    Misconception(
        "08.triton_attention", "output-not-rescaled",
        "Your kernel rescales the running sum but not the accumulator when the maximum grows, so earlier "
        "blocks' values keep weights computed against an old maximum.",
        TRITON, variant(TRITON_ATTENTION, ("acc = acc * alpha[:, None] +", "acc = acc +"))),
    Misconception(
        "08.triton_attention", "causal-diagonal-masked",
        "Your kernel's causal mask is off by one: it hides the key at the query's own position, so the first "
        "query sees no key; keep cols <= rows.",
        TRITON, variant(TRITON_ATTENTION, ("(cols[None, :] <= rows[:, None])", "(cols[None, :] < rows[:, None])"))),
    Misconception(
        "08.triton_attention", "no-scaling",
        "Your kernel leaves out the factor 1 / sqrt(D) on the scores.",
        TRITON, variant(TRITON_ATTENTION, (' input_precision="ieee") * scale', ' input_precision="ieee")'))),
]
