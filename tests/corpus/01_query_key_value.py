"""Chapter 1 corpus for measuring the diagnosis (see measure.py): implementations written
independently of autograder/misconceptions/. WRONG entries name the misconceptions a correct
diagnosis may give (an empty set: a bug the catalogue does not know; no diagnosis is right)."""

CORRECT = {
    "01.soft_lookup": ['''
def soft_lookup(q, K, V):
    scores = np.array([k @ q for k in K], dtype=q.dtype)
    weights = np.exp(scores - scores.max())
    weights = weights / weights.sum()
    output = np.zeros(V.shape[1], dtype=V.dtype)
    for weight, value in zip(weights, V):
        output += weight * value
    return weights, output
''', '''
def soft_lookup(q, K, V):
    s = np.dot(K, q)
    p = np.exp(s - np.max(s))
    p /= p.sum()
    return (p, np.einsum("m,mv->v", p, V))
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
    ("01.soft_lookup", {"query-times-keys"}, '''
def soft_lookup(q, K, V):
    s = np.einsum("d,dm->m", q, K)
    w = np.exp(s - s.max())
    w = w / w.sum()
    return w, w @ V
'''),
    ("01.soft_lookup", {"values-times-weights"}, '''
def soft_lookup(q, K, V):
    s = K @ q
    w = np.exp(s - np.max(s)) / np.sum(np.exp(s - np.max(s)))
    return w, np.dot(V, w)
'''),
    ("01.soft_lookup", {"no-max-subtraction"}, '''
def soft_lookup(q, K, V):
    weights = np.exp(np.dot(K, q))
    weights /= np.sum(weights)
    return weights, weights @ V
'''),
    ("01.soft_lookup", set(), '''
def soft_lookup(q, K, V):
    s = K @ q
    p = np.exp(s - s.max())
    p = p / p.sum()
    return p, p @ V / len(V)
'''),
    ("01.soft_lookup", {"normalises-without-exp"}, '''
def soft_lookup(q, K, V):
    scores = np.array([np.dot(k, q) for k in K], dtype=q.dtype)
    weights = scores / np.sum(scores)
    return weights, np.einsum("m,mv->v", weights, V)
'''),
    ("01.soft_lookup", set(), '''
def soft_lookup(q, K, V):
    s = K @ q
    p = np.exp(s - s.max())
    return p / p.sum()
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
VARIANTS = {"01.soft_lookup": {"no-max-subtraction"}, "01.softmax": {"no-max-subtraction"}}
