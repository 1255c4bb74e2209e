"""Chapter 4 corpus for measuring the diagnosis (see 01_query_key_value.py for the format)."""

CORRECT = {
    "04.padding_mask": ['''
def padding_mask(lengths, max_len):
    return torch.stack([torch.arange(max_len) < int(n) for n in lengths])
'''],
    "04.causal_mask": ['''
def causal_mask(n):
    return ~torch.ones(n, n, dtype=torch.bool).triu(1)
'''],
    "04.masked_softmax": ['''
def masked_softmax(scores, mask):
    m = np.broadcast_to(mask, scores.shape)
    s = np.where(m, scores, -np.inf)
    top = s.max(axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    e = np.where(m, np.exp(s - top), 0.0)
    z = e.sum(axis=-1, keepdims=True)
    return np.divide(e, z, out=np.zeros_like(e), where=z > 0)
'''],
    "04.masked_attention": ['''
def masked_attention(Q, K, V, mask):
    w = torch.softmax((Q @ K.mT / Q.shape[-1] ** 0.5).masked_fill(~mask, -torch.inf), dim=-1)
    return torch.nan_to_num(w) @ V
'''],
}

WRONG = [
    ("04.padding_mask", {"true-marks-padding"}, '''
def padding_mask(lengths, max_len):
    return ~(torch.arange(max_len).unsqueeze(0) < lengths.unsqueeze(1))
'''),
    ("04.padding_mask", {"numbers-not-booleans"}, '''
def padding_mask(lengths, max_len):
    out = torch.zeros(len(lengths), max_len)
    for b, n in enumerate(lengths):
        out[b, :n] = 1
    return out
'''),
    ("04.padding_mask", set(), '''
def padding_mask(lengths, max_len):
    return torch.arange(max_len)[None, :] < (lengths[:, None] - 1)
'''),
    ("04.causal_mask", {"diagonal-masked"}, '''
def causal_mask(n):
    i = torch.arange(n)
    return i[None, :] < i[:, None]
'''),
    ("04.causal_mask", {"true-marks-the-future"}, '''
def causal_mask(n):
    return torch.ones(n, n).triu(diagonal=1).bool()
'''),
    ("04.causal_mask", {"upper-triangle"}, '''
def causal_mask(n):
    i = torch.arange(n)
    return i[:, None] <= i[None, :]
'''),
    ("04.masked_softmax", {"large-finite-fill"}, '''
def masked_softmax(scores, mask):
    s = scores + np.where(mask, 0.0, -1e6)
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
'''),
    ("04.masked_softmax", {"mask-after-softmax"}, '''
def masked_softmax(scores, mask):
    e = np.exp(scores - np.max(scores, axis=-1, keepdims=True))
    return np.where(mask, e / np.sum(e, axis=-1, keepdims=True), 0.0)
'''),
    ("04.masked_softmax", {"nan-in-fully-masked-rows"}, '''
def masked_softmax(scores, mask):
    s = np.where(mask, scores, -np.inf)
    e = np.exp(s - np.max(s, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)
'''),
    ("04.masked_attention", {"large-finite-fill"}, '''
def masked_attention(Q, K, V, mask):
    s = torch.einsum("...nd,...md->...nm", Q, K) / Q.shape[-1] ** 0.5
    s = torch.where(mask, s, torch.tensor(-1e9, dtype=s.dtype))
    return torch.einsum("...nm,...mv->...nv", s.softmax(-1), V)
'''),
    ("04.masked_attention", {"mask-after-softmax"}, '''
def masked_attention(Q, K, V, mask):
    w = torch.softmax(Q @ K.transpose(-2, -1) / Q.shape[-1] ** 0.5, dim=-1)
    return (w * mask.to(w.dtype)) @ V
'''),
    ("04.masked_attention", {"mask-inverted"}, '''
def masked_attention(Q, K, V, mask):
    s = (Q @ K.transpose(-2, -1) / Q.shape[-1] ** 0.5).masked_fill(mask, float("-inf"))
    return torch.nan_to_num(torch.softmax(s, dim=-1)) @ V
'''),
    ("04.masked_attention", {"no-scaling", "nan-in-fully-masked-rows"}, '''
def masked_attention(Q, K, V, mask):
    s = (Q @ K.transpose(-2, -1)).masked_fill(~mask, float("-inf"))
    return torch.softmax(s, dim=-1) @ V
'''),
]

VARIANTS = {"04.padding_mask": {"off-by-one"}, "04.causal_mask": {"upper-triangle"},
            "04.masked_softmax": {"large-finite-fill"}, "04.masked_attention": {"nan-in-fully-masked-rows"}}
