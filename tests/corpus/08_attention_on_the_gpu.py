"""Chapter 8 corpus for measuring the diagnosis (see 01_query_key_value.py for the format).
The Triton entries are made from the equivalent kernel of tests/variants/08_attention_on_the_gpu.py
(another author's), with one mistake each."""

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("variants08", Path(__file__).parents[1] / "variants" / Path(__file__).name)
_variants = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_variants)
KERNEL = _variants.EQUIVALENT["08.triton_attention"]

ONLINE = '''
def online_softmax(s, block_size):
    best = torch.full(s.shape[:-1] + (1,), -torch.inf, dtype=s.dtype)
    denom = torch.zeros_like(best)
    for j in range(0, s.shape[-1], block_size):
        chunk = s[..., j:j + block_size]
        new_best = torch.max(best, chunk.max(dim=-1, keepdim=True).values)
        ref = new_best.nan_to_num(neginf=0.0)
        denom = denom * (best - ref).exp() + (chunk - ref).exp().sum(-1, keepdim=True)
        best = new_best
    ref = best.nan_to_num(neginf=0.0)
    return (s - ref).exp() / denom.clamp(min=torch.finfo(s.dtype).tiny)
'''

BLOCKWISE = '''
def blockwise_attention(q, k, v, block_size, causal=False):
    n = q.shape[-2]
    hi = torch.full(q.shape[:-1] + (1,), -torch.inf, dtype=q.dtype)
    z = torch.zeros_like(hi)
    o = torch.zeros(q.shape[:-1] + (v.shape[-1],), dtype=q.dtype)
    for j in range(0, k.shape[-2], block_size):
        s = torch.einsum("...nd,...bd->...nb", q, k[..., j:j + block_size, :]) / math.sqrt(q.shape[-1])
        if causal:
            future = torch.arange(j, j + s.shape[-1])[None, :] > torch.arange(n)[:, None]
            s = s.masked_fill(future, -torch.inf)
        new_hi = torch.maximum(hi, s.amax(-1, keepdim=True))
        p = (s - new_hi).exp()
        fix = (hi - new_hi).exp()
        z = z * fix + p.sum(-1, keepdim=True)
        o = o * fix + p @ v[..., j:j + block_size, :]
        hi = new_hi
    return o / z
'''

BACKWARD = '''
def blockwise_backward(q, k, v, out, lse, d_out, block_size, causal=False):
    inv = q.shape[-1] ** -0.5
    n, m = q.shape[-2], k.shape[-2]
    rowterm = torch.einsum("...nc,...nc->...n", d_out, out)[..., None]
    grads_q = torch.zeros_like(q)
    grads_k, grads_v = torch.empty_like(k), torch.empty_like(v)
    for j in range(0, m, block_size):
        kj, vj = k[..., j:j + block_size, :], v[..., j:j + block_size, :]
        prob = (torch.matmul(q, kj.mT) * inv - lse[..., None]).exp()
        if causal:
            keep = torch.arange(j, j + kj.shape[-2])[None, :] <= torch.arange(n)[:, None]
            prob = prob * keep
        grads_v[..., j:j + block_size, :] = prob.mT @ d_out
        dscore = prob * (d_out @ vj.mT - rowterm)
        grads_k[..., j:j + block_size, :] = dscore.mT @ q * inv
        grads_q += dscore @ kj * inv
    return grads_q, grads_k, grads_v
'''

CORRECT = {
    "08.online_softmax": [ONLINE],
    "08.blockwise_attention": [BLOCKWISE],
    "08.blockwise_backward": [BACKWARD],
}

WRONG = [
    ("08.online_softmax", {"running-sum-not-rescaled"}, ONLINE.replace("denom * (best - ref).exp() +", "denom +")),
    ("08.online_softmax", {"nan-for-masked-blocks"}, ONLINE.replace(
        "ref = new_best.nan_to_num(neginf=0.0)", "ref = new_best").replace("ref = best.nan_to_num(neginf=0.0)", "ref = best")),
    ("08.online_softmax", {"each-block-normalised-alone"}, '''
def online_softmax(s, block_size):
    out = torch.zeros_like(s)
    for j in range(0, s.shape[-1], block_size):
        chunk = s[..., j:j + block_size]
        m = chunk.amax(-1, keepdim=True).nan_to_num(neginf=0.0)
        e = (chunk - m).exp()
        out[..., j:j + block_size] = e / e.sum(-1, keepdim=True).clamp(min=1e-30)
    return out
'''),
    ("08.blockwise_attention", {"output-not-rescaled"}, BLOCKWISE.replace("o = o * fix + p", "o = o + p")),
    ("08.blockwise_attention", {"causal-positions-within-the-block"}, BLOCKWISE.replace(
        "torch.arange(j, j + s.shape[-1])", "torch.arange(s.shape[-1])")),
    ("08.blockwise_attention", {"causal-diagonal-masked"}, BLOCKWISE.replace(
        "[None, :] > torch.arange(n)", "[None, :] >= torch.arange(n)")),
    ("08.blockwise_attention", set(), BLOCKWISE.replace("/ math.sqrt(q.shape[-1])", "/ q.shape[-1]")),
    ("08.blockwise_backward", {"softmax-derivative-without-d"}, BACKWARD.replace("(d_out @ vj.mT - rowterm)", "(d_out @ vj.mT)")),
    ("08.blockwise_backward", {"weights-normalised-per-block"}, BACKWARD.replace(
        "(torch.matmul(q, kj.mT) * inv - lse[..., None]).exp()", "torch.softmax(torch.matmul(q, kj.mT) * inv, dim=-1)")),
    ("08.blockwise_backward", {"causal-mask-forgotten"}, BACKWARD.replace("prob = prob * keep", "pass")),
    ("08.blockwise_backward", set(), BACKWARD.replace("grads_v[..., j:j + block_size, :] = prob.mT @ d_out",
                                                      "grads_v[..., j:j + block_size, :] = prob.mT @ out")),
    ("08.blockwise_backward", set(), BACKWARD.replace("dscore.mT @ q * inv", "dscore.mT @ q")),
    ("08.blockwise_backward", {"builds-the-full-matrix"}, '''
def blockwise_backward(q, k, v, out, lse, d_out, block_size, causal=False):
    p = torch.exp(torch.einsum("...id,...jd->...ij", q, k) / math.sqrt(q.shape[-1]) - lse[..., None])
    if causal:
        p = p.tril()
    ds = p * (torch.einsum("...ic,...jc->...ij", d_out, v) - (d_out * out).sum(-1, keepdim=True))
    scale = 1 / math.sqrt(q.shape[-1])
    return ds @ k * scale, ds.mT @ q * scale, p.mT @ d_out
'''),
    ("08.triton_attention", {"output-not-rescaled"}, KERNEL.replace("acc = acc * alpha[:, None] +", "acc = acc +")),
    ("08.triton_attention", {"causal-diagonal-masked"}, KERNEL.replace(
        "(offs_n[None, :] <= offs_m[:, None])", "(offs_n[None, :] < offs_m[:, None])")),
]

VARIANTS = {"08.online_softmax": {"running-sum-not-rescaled"}, "08.blockwise_attention": {"causal-positions-within-the-block"},
            "08.blockwise_backward": set(), "08.triton_attention": {"output-not-rescaled"}}
