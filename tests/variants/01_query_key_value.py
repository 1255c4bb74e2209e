"""Other answers to chapter 1's exercises, for tests/test_chapters.py.

EQUIVALENT answers compute the same thing another way and must keep full marks;
WRONG answers hold a realistic mistake and must lose the exercise's points.
"""

EQUIVALENT = {
    "01.scores": '''
def scores(q, K):
    return np.einsum("md,d->m", K, q)
''',
    "01.attend": '''
def attend(p, V):
    print("mixing", len(p), "values")  # a print of its own must not matter
    return (p[:, None] * V).sum(axis=0)
''',
    "01.softmax": '''
def softmax(s):
    log_total = np.logaddexp.reduce(s)  # log-sum-exp, computed stably
    return np.exp(s - log_total)
''',
}

WRONG = {
    "01.scores": '''
def scores(q, K):
    return K.sum(axis=1) * q.sum()  # sums before multiplying
''',
    "01.attend": '''
def attend(p, V):
    return p @ V / len(p)  # divides the weighted sum again
''',
    "01.softmax": '''
def softmax(s):
    e = np.exp(s)  # not stable: overflows for large scores
    return e / e.sum()
''',
}
