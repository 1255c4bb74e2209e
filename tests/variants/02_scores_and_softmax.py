"""Other answers to chapter 2's exercises, for tests/test_chapters.py.

EQUIVALENT answers compute the same thing another way and must keep full marks;
WRONG answers hold a realistic mistake and must lose the exercise's points.
"""

EQUIVALENT = {
    "02.scaled_scores": '''
def scaled_scores(q, K, scale=None):
    if scale is None:
        scale = 1 / np.sqrt(q.shape[-1])  # a NumPy float64 scalar
    scores = np.einsum("...d,md->...m", q, K)
    return (scores * scale).astype(q.dtype)  # back to the inputs' dtype
''',
    "02.additive_scores": '''
def additive_scores(q, K, W_q, W_k, w_v):
    out = np.empty(len(K), dtype=q.dtype)
    for i, k in enumerate(K):  # one key at a time, as in the formula
        out[i] = w_v @ np.tanh(W_q @ q + W_k @ k)
    return out
''',
    "02.softmax_with_temperature": '''
def softmax_with_temperature(s, T):
    x = s / T
    return np.exp(x - np.logaddexp.reduce(x))  # p_i = exp(x_i - LSE(x))
''',
    "02.logsumexp": '''
def logsumexp(s):
    print("scores:", s)  # a print of its own must not matter
    return float(np.logaddexp.reduce(s))
''',
}

WRONG = {
    "02.scaled_scores": '''
def scaled_scores(q, K, scale=None):
    scale = scale or q.shape[-1] ** -0.5  # a scale of 0.0 becomes the default
    return q @ K.T * scale
''',
    "02.additive_scores": '''
def additive_scores(q, K, W_q, W_k, w_v):
    return np.tanh((K @ W_k.T + W_q @ q) @ w_v)  # tanh after the read-out, not before
''',
    "02.softmax_with_temperature": '''
def softmax_with_temperature(s, T):
    x = s * T  # multiplies by the temperature instead of dividing
    e = np.exp(x - x.max())
    return e / e.sum()
''',
    "02.logsumexp": '''
def logsumexp(s):
    return np.log(np.sum(np.exp(s)))  # not stable: overflows for large scores
''',
}
