"""Chapter 2 corpus for measuring the diagnosis (see 01_query_key_value.py for the format)."""

CORRECT = {
    "02.scaled_scores": ['''
def scaled_scores(q, K, scale=None):
    factor = 1 / np.sqrt(K.shape[1]) if scale is None else scale
    if q.ndim == 1:
        return (K @ q * factor).astype(q.dtype)
    return np.stack([K @ row for row in q]).astype(q.dtype) * q.dtype.type(factor)
''', '''
def scaled_scores(q, K, scale=None):
    d_k = q.shape[-1]
    return np.tensordot(q, K, axes=([-1], [1])) * (d_k ** -0.5 if scale is None else scale)
'''],
    "02.additive_scores": ['''
def additive_scores(q, K, W_q, W_k, w_v):
    return np.einsum("h,mh->m", w_v, np.tanh((W_q @ q)[None, :] + np.einsum("hk,mk->mh", W_k, K)))
'''],
    "02.softmax_with_temperature": ['''
def softmax_with_temperature(s, T):
    x = s / T
    x = x - np.max(x)
    return np.exp(x) / np.sum(np.exp(x))
'''],
    "02.logsumexp": ['''
def logsumexp(s):
    top = np.max(s)
    return float(top + np.log(np.exp(s - top).sum()))
'''],
}

WRONG = [
    ("02.scaled_scores", {"no-scaling"}, '''
def scaled_scores(q, K, scale=None):
    return np.einsum("...d,md->...m", q, K)
'''),
    ("02.scaled_scores", {"divides-by-d"}, '''
def scaled_scores(q, K, scale=None):
    d = q.shape[-1]
    return (q @ K.T) * (1 / d if scale is None else scale)
'''),
    ("02.scaled_scores", {"zero-scale-taken-as-default"}, '''
def scaled_scores(q, K, scale=None):
    if not scale:
        scale = 1.0 / np.sqrt(q.shape[-1]).item()
    return np.matmul(q, K.T) * scale
'''),
    ("02.scaled_scores", {"scales-by-the-number-of-queries"}, '''
def scaled_scores(q, K, scale=None):
    s = q @ K.T
    return s * scale if scale is not None else s / np.sqrt(len(q)).astype(q.dtype)
'''),
    ("02.scaled_scores", set(), '''
def scaled_scores(q, K, scale=None):
    if scale is None:
        scale = q.shape[-1] ** -0.5
    return (K @ q.T) * scale
'''),
    ("02.additive_scores", {"no-tanh"}, '''
def additive_scores(q, K, W_q, W_k, w_v):
    hidden = np.stack([W_q @ q + W_k @ k for k in K])
    return hidden @ w_v
'''),
    ("02.additive_scores", {"relu-instead-of-tanh"}, '''
def additive_scores(q, K, W_q, W_k, w_v):
    h = K @ W_k.T + W_q @ q
    h[h < 0] = 0
    return h @ w_v
'''),
    ("02.additive_scores", set(), '''
def additive_scores(q, K, W_q, W_k, w_v):
    return np.tanh(K @ W_k.T) @ w_v + np.tanh(W_q @ q) @ w_v
'''),
    ("02.softmax_with_temperature", {"no-max-subtraction"}, '''
def softmax_with_temperature(s, T):
    weights = np.exp(np.asarray(s) / T)
    return weights / weights.sum()
'''),
    ("02.softmax_with_temperature", {"multiplies-by-t"}, '''
def softmax_with_temperature(s, T):
    z = T * s
    return np.exp(z - z.max()) / np.exp(z - z.max()).sum()
'''),
    ("02.softmax_with_temperature", {"subtracts-the-minimum"}, '''
def softmax_with_temperature(s, T):
    z = (s - s.min()) / T
    return np.exp(z) / np.sum(np.exp(z))
'''),
    ("02.logsumexp", {"max-not-added-back"}, '''
def logsumexp(s):
    return float(np.log(np.exp(s - np.max(s)).sum()))
'''),
    ("02.logsumexp", {"no-max-subtraction"}, '''
def logsumexp(s):
    total = 0.0
    for x in s:
        total += np.exp(x)
    return np.log(total)
'''),
    ("02.logsumexp", set(), '''
def logsumexp(s):
    return s.max() + np.log(len(s))
'''),
]

VARIANTS = {"02.scaled_scores": {"zero-scale-taken-as-default"}, "02.additive_scores": {"tanh-after-the-read-out"},
            "02.softmax_with_temperature": {"multiplies-by-t"}, "02.logsumexp": {"no-max-subtraction"}}
