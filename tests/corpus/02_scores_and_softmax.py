"""Chapter 2 corpus for measuring the diagnosis (see 01_query_key_value.py for the format)."""

CORRECT = {
    "02.scaled_scores": ['''
def scaled_scores(q, K):
    return np.einsum("md,d->m", K, q) / np.sqrt(q.shape[0]).astype(q.dtype)
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
def scaled_scores(q, K):
    return np.array([k @ q for k in K], dtype=q.dtype)
'''),
    ("02.scaled_scores", {"divides-by-d"}, '''
def scaled_scores(q, K):
    d = len(q)
    return (K @ q) * (1 / d)
'''),
    ("02.scaled_scores", set(), '''
def scaled_scores(q, K):
    return (K @ q) / np.sqrt(np.abs(K @ q) + 1)
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

VARIANTS = {"02.scaled_scores": {"divides-by-d"}, "02.additive_scores": {"tanh-after-the-read-out"},
            "02.softmax_with_temperature": {"multiplies-by-t"}, "02.logsumexp": {"no-max-subtraction"}}
