"""Chapter 3 corpus for measuring the diagnosis (see 01_query_key_value.py for the format)."""

CORRECT = {
    "03.attention": ['''
def attention(Q, K, V):
    s = np.einsum("nd,md->nm", Q, K) / np.sqrt(Q.shape[1]).astype(Q.dtype)
    s = s - s.max(axis=1, keepdims=True)
    w = np.exp(s)
    w /= w.sum(axis=1, keepdims=True)
    return np.einsum("nm,mv->nv", w, V)
'''],
    "03.batched_attention": ['''
def batched_attention(Q, K, V):
    return torch.nn.functional.scaled_dot_product_attention(Q, K, V)
'''],
    "03.batched_single_query_attention": ['''
def batched_single_query_attention(q, K, V):
    s = (K * q[:, None, :]).sum(-1) / q.shape[-1] ** 0.5
    return (torch.softmax(s, dim=-1)[..., None] * V).sum(dim=1)
'''],
}

WRONG = [
    ("03.attention", {"softmax-over-the-queries"}, '''
def attention(Q, K, V):
    s = (Q @ K.T) / np.sqrt(K.shape[1])
    s = s - s.max(axis=-2, keepdims=True)
    w = np.exp(s) / np.exp(s).sum(axis=-2, keepdims=True)
    return w @ V
'''),
    ("03.attention", {"no-scaling"}, '''
def attention(Q, K, V):
    out = []
    for q in Q:
        s = K @ q
        e = np.exp(s - s.max())
        out.append((e / e.sum()) @ V)
    return np.array(out, dtype=Q.dtype)
'''),
    ("03.attention", {"no-max-subtraction", "no-scaling"}, '''
def attention(Q, K, V):
    e = np.exp(Q @ K.T)
    return e / e.sum(axis=1, keepdims=True) @ V
'''),
    ("03.attention", set(), '''
def attention(Q, K, V):
    s = Q @ K.T / np.sqrt(Q.shape[1])
    w = np.exp(s - s.max(axis=-1, keepdims=True))
    return (w @ V) / len(K)
'''),
    ("03.batched_attention", {"softmax-over-the-queries"}, '''
def batched_attention(Q, K, V):
    s = torch.einsum("...nd,...md->...nm", Q, K) / Q.shape[-1] ** 0.5
    return torch.einsum("...nm,...mv->...nv", s.softmax(-2), V)
'''),
    ("03.batched_attention", {"no-scaling"}, '''
def batched_attention(Q, K, V):
    return (Q @ K.mT).softmax(dim=-1) @ V
'''),
    ("03.batched_attention", {"softmax-over-a-fixed-axis"}, '''
def batched_attention(Q, K, V):
    s = torch.matmul(Q, K.transpose(-1, -2)) / Q.size(-1) ** 0.5
    return torch.nn.functional.softmax(s, 1) @ V
'''),
    ("03.batched_single_query_attention", {"query-broadcast-against-the-batch"}, '''
def batched_single_query_attention(q, K, V):
    weights = torch.softmax(torch.matmul(q, K.mT) / q.shape[-1] ** 0.5, dim=-1)
    return torch.matmul(weights, V)
'''),
    ("03.batched_single_query_attention", {"no-scaling"}, '''
def batched_single_query_attention(q, K, V):
    s = torch.einsum("bd,bmd->bm", q, K)
    return torch.einsum("bm,bmv->bv", s.softmax(-1), V)
'''),
    ("03.batched_single_query_attention", {"squeezes-every-axis"}, '''
def batched_single_query_attention(q, K, V):
    s = q[:, None, :] @ K.transpose(1, 2) / q.shape[-1] ** 0.5
    return torch.squeeze(s.softmax(dim=-1) @ V)
'''),
]

VARIANTS = {"03.attention": {"softmax-over-the-queries"}, "03.batched_attention": {"no-scaling"},
            "03.batched_single_query_attention": {"query-broadcast-against-the-batch"}}
