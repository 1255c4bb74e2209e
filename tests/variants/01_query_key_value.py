"""Other answers to chapter 1's exercises, for tests/test_chapters.py.

EQUIVALENT answers compute the same thing another way and must keep full marks;
WRONG answers hold a realistic mistake and must lose the exercise's points.
"""

EQUIVALENT = {
    "01.soft_lookup": '''
def soft_lookup(q, K, V):
    print("looking up", len(K), "keys")  # a print of its own must not matter
    s = np.einsum("md,d->m", K, q)
    p = np.exp(s - np.logaddexp.reduce(s))  # p_i = exp(s_i - LSE(s))
    return p, (p[:, None] * V).sum(axis=0)
''',
    "01.softmax": '''
def softmax(s):
    log_total = np.logaddexp.reduce(s)  # log-sum-exp, computed stably
    return np.exp(s - log_total)
''',
}

WRONG = {
    "01.soft_lookup": '''
def soft_lookup(q, K, V):
    s = K @ q
    p = np.exp(s) / np.exp(s).sum()  # not stable: overflows for large scores
    return p, p @ V
''',
    "01.softmax": '''
def softmax(s):
    e = np.exp(s)  # not stable: overflows for large scores
    return e / e.sum()
''',
}
