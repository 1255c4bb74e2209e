"""Chapter 1 corpus for measuring the diagnosis (see measure.py): implementations written
independently of autograder/misconceptions/. WRONG entries name the misconceptions a correct
diagnosis may give (an empty set: a bug the catalogue does not know; no diagnosis is right)."""

CORRECT = {
    "01.scores": ['''
def scores(q, K):
    return np.array([sum(qi * ki for qi, ki in zip(q, k)) for k in K], dtype=q.dtype)
''', '''
def scores(q, K):
    return np.dot(K, q)
'''],
    "01.attend": ['''
def attend(p, V):
    return np.einsum("m,mv->v", p, V)
'''],
    "01.softmax": ['''
def softmax(s):
    z = s - s.max()
    return np.exp(z) / np.exp(z).sum()
''', '''
def softmax(s):
    out = np.exp(s - np.max(s))
    out /= out.sum()
    return out
'''],
}

WRONG = [
    ("01.scores", {"multiplies-without-summing"}, '''
def scores(q, K):
    return np.multiply(K, q[None, :])
'''),
    ("01.scores", {"sums-over-the-keys"}, '''
def scores(q, K):
    return np.einsum("md,d->d", K, q)
'''),
    ("01.scores", set(), '''
def scores(q, K):
    return K @ q + 1.0
'''),
    ("01.attend", {"weights-not-summed"}, '''
def attend(p, V):
    return V * p.reshape(-1, 1)
'''),
    ("01.attend", {"divides-by-the-number-of-values"}, '''
def attend(p, V):
    total = np.zeros(V.shape[1], dtype=V.dtype)
    for weight, value in zip(p, V):
        total += weight * value
    return total / len(V)
'''),
    ("01.attend", {"ignores-the-weights"}, '''
def attend(p, V):
    return np.sum(V, axis=0) / V.shape[0]
'''),
    ("01.softmax", {"no-max-subtraction"}, '''
def softmax(s):
    return np.exp(s) / np.sum(np.exp(s))
'''),
    ("01.softmax", {"subtracts-the-minimum"}, '''
def softmax(s):
    shifted = s - s.min()
    return np.exp(shifted) / np.exp(shifted).sum()
'''),
    ("01.softmax", {"no-max-subtraction"}, '''
def softmax(s):
    e = [np.exp(x) if x < 700 else np.inf for x in s]
    e = np.array(e, dtype=s.dtype)
    return e / e.sum()
'''),
    ("01.softmax", set(), '''
def softmax(s):
    e = np.exp(s - s.max())
    return e / e.max()
'''),
]

# Labels for the WRONG answers of tests/variants/01_query_key_value.py (written by another author).
VARIANTS = {"01.scores": set(), "01.attend": {"divides-by-the-number-of-values"}, "01.softmax": {"no-max-subtraction"}}
