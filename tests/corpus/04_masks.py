"""Chapter 4 corpus for measuring the diagnosis (see 01_query_key_value.py for the format)."""

CORRECT = {
    "04.padding_mask": ['''
def padding_mask(lengths, max_len):
    return torch.stack([torch.arange(max_len) < int(n) for n in lengths])
'''],
    "04.decoder_mask": ['''
def decoder_mask(lengths, max_len, padding_side="right"):
    causal = torch.tril(torch.ones(max_len, max_len, dtype=torch.bool))
    keys = torch.arange(max_len).expand(len(lengths), max_len)
    if padding_side == "left":
        keys = keys.flip(-1)  # count positions from the end
    real = keys < lengths.unsqueeze(1)
    return causal.unsqueeze(0) & real.unsqueeze(1)
''', '''
def decoder_mask(lengths, max_len, padding_side="right"):
    rows = []
    for n in lengths.tolist():
        pad = [False] * (max_len - n)
        real = [True] * n + pad if padding_side == "right" else pad + [True] * n
        rows.append(torch.tensor(real, dtype=torch.bool))
    causal = ~torch.ones(max_len, max_len, dtype=torch.bool).triu(1)
    return causal & torch.stack(rows)[:, None, :]
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
    ("04.decoder_mask", {"left-padding-ignored"}, '''
def decoder_mask(lengths, max_len, padding_side="right"):
    mask = torch.tril(torch.ones(len(lengths), max_len, max_len)).bool()
    for b, n in enumerate(lengths.tolist()):
        mask[b, :, n:] = False
    return mask
'''),
    ("04.decoder_mask", {"future-allowed"}, '''
def decoder_mask(lengths, max_len, padding_side="right"):
    j = torch.arange(max_len)
    if padding_side == "left":
        real = j[None, :] >= max_len - lengths[:, None]
    else:
        real = j[None, :] < lengths[:, None]
    return torch.triu(torch.ones(max_len, max_len, dtype=torch.bool)) & real[:, None, :]
'''),
    ("04.decoder_mask", {"padding-on-the-query-axis"}, '''
def decoder_mask(lengths, max_len, padding_side="right"):
    j = torch.arange(max_len)
    real = (j >= max_len - lengths[:, None]) if padding_side == "left" else (j < lengths[:, None])
    return torch.tril(torch.ones(max_len, max_len)).bool() & real.unsqueeze(-1)
'''),
    ("04.decoder_mask", {"or-instead-of-and"}, '''
def decoder_mask(lengths, max_len, padding_side="right"):
    j = torch.arange(max_len)
    real = (j >= max_len - lengths[:, None]) if padding_side == "left" else (j < lengths[:, None])
    return torch.logical_or(torch.tril(torch.ones(max_len, max_len, dtype=torch.bool)), real[:, None, :])
'''),
    ("04.decoder_mask", set(), '''
def decoder_mask(lengths, max_len, padding_side="right"):
    j = torch.arange(max_len)
    real = (j > max_len - lengths[:, None]) if padding_side == "left" else (j < lengths[:, None])
    return torch.tril(torch.ones(max_len, max_len, dtype=torch.bool)) & real[:, None, :]
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

VARIANTS = {"04.padding_mask": {"off-by-one"}, "04.decoder_mask": {"left-padding-ignored"},
            "04.masked_softmax": {"large-finite-fill"}, "04.masked_attention": {"nan-in-fully-masked-rows"}}
