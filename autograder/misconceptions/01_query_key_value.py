"""Misconceptions of chapter 1 (format: see autograder/diagnose.py)."""

from autograder.diagnose import Misconception

NUMPY = "The same in NumPy"
OVERFLOW = "Overflow, and the fix"

MISCONCEPTIONS = [
    Misconception(
        "01.scores", "multiplies-without-summing",
        "Your scores multiply the query into every key entry by entry but never add the products up, so you "
        "get one row per key instead of one number: a dot product sums the products (K @ q).",
        NUMPY, '''
def scores(q, K):
    return K * q
'''),
    Misconception(
        "01.scores", "sums-over-the-keys",
        "Your scores add up the products over the keys (axis 0) instead of over the features of each key, so "
        "you get one number per feature: sum along axis 1, or write K @ q.",
        NUMPY, '''
def scores(q, K):
    return (K * q).sum(axis=0)
'''),
    Misconception(
        "01.scores", "cosine-similarity",
        "Your scores divide by the lengths of the query and the keys (cosine similarity), but attention's "
        "score is the plain dot product, which also grows with the vectors' lengths.",
        NUMPY, '''
def scores(q, K):
    return (K @ q) / (np.linalg.norm(K, axis=1) * np.linalg.norm(q))
'''),
    Misconception(
        "01.scores", "python-floats-lose-dtype",
        "Your scores are right but built from Python floats, so float32 inputs come back as float64: keep the "
        "computation in NumPy (K @ q) and the dtype follows the inputs.",
        NUMPY, '''
def scores(q, K):
    return np.array([float(np.dot(k, q)) for k in K])
'''),
    Misconception(
        "01.attend", "weights-not-summed",
        "Your result scales every value by its weight but never adds the scaled values together, so you get "
        "one row per value: the output is their sum, p @ V.",
        NUMPY, '''
def attend(p, V):
    return p[:, None] * V
'''),
    Misconception(
        "01.attend", "divides-by-the-number-of-values",
        "Your result divides the weighted sum by the number of values, but the weights already sum to 1, so "
        "the weighted sum p @ V is already the average.",
        NUMPY, '''
def attend(p, V):
    return (p @ V) / V.shape[0]
'''),
    Misconception(
        "01.attend", "ignores-the-weights",
        "Your result averages the values with equal weights, ignoring the attention weights: each value must "
        "count as much as its weight says.",
        NUMPY, '''
def attend(p, V):
    return V.mean(axis=0)
'''),
    Misconception(
        "01.attend", "accumulates-in-float64",
        "Your weighted sum is right but accumulated in float64, so float32 inputs come back as float64: "
        "p @ V keeps the inputs' dtype.",
        NUMPY, '''
def attend(p, V):
    return np.sum(p[:, None] * V, axis=0, dtype=np.float64)
'''),
    Misconception(
        "01.softmax", "no-max-subtraction",
        "Your softmax takes exp of the raw scores, which overflows to infinity for large scores (inf / inf is "
        "NaN) and underflows to 0 for very negative ones: subtract the largest score first.",
        OVERFLOW, '''
def softmax(s):
    e = np.exp(s)
    return e / e.sum()
'''),
    Misconception(
        "01.softmax", "subtracts-the-minimum",
        "Your softmax subtracts the smallest score, which makes the largest shifted score huge, so exp still "
        "overflows when scores are far apart: subtract the largest score, so every shifted score is at most 0.",
        OVERFLOW, '''
def softmax(s):
    e = np.exp(s - np.min(s))
    return e / e.sum()
'''),
    Misconception(
        "01.softmax", "subtracts-the-mean",
        "Your softmax subtracts the mean score, which still leaves shifted scores far above 0 when scores are "
        "spread out, so exp overflows: subtract the largest score, so every shifted score is at most 0.",
        OVERFLOW, '''
def softmax(s):
    e = np.exp(s - np.mean(s))
    return e / e.sum()
'''),
    Misconception(
        "01.softmax", "normalises-without-exp",
        "Your softmax divides the scores by their sum without taking exp, so weights can be negative or "
        "infinite: exponentiate first, then normalise.",
        "Why the softmax?", '''
def softmax(s):
    return s / np.sum(s)
'''),
]
