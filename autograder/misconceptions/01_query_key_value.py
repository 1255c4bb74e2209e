"""Misconceptions of chapter 1 (format: see autograder/diagnose.py)."""

from autograder.diagnose import Misconception

LOOKUP = "One soft look-up, start to finish"
OVERFLOW = "Overflow, and the fix"

MISCONCEPTIONS = [
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
    Misconception(
        "01.soft_lookup", "query-times-keys",
        "Your scores are q @ K, which pairs the query with the columns of K, not its rows: it fails when m "
        "differs from d and gives wrong scores when they are equal, so write K @ q, one dot product per key.",
        LOOKUP, '''
def soft_lookup(q, K, V):
    s = q @ K
    e = np.exp(s - s.max())
    p = e / e.sum()
    return p, p @ V
'''),
    Misconception(
        "01.soft_lookup", "values-times-weights",
        "Your output is V @ p, which mixes the columns of V instead of its rows: it fails when d_v differs "
        "from m and gives a wrong output when they are equal, so write p @ V, each value scaled by its weight.",
        LOOKUP, '''
def soft_lookup(q, K, V):
    s = K @ q
    e = np.exp(s - s.max())
    p = e / e.sum()
    return p, V @ p
'''),
    Misconception(
        "01.soft_lookup", "no-max-subtraction",
        "Your weights take exp of the raw scores, which overflows to infinity for large scores (inf / inf is "
        "NaN): subtract the largest score first, as in your softmax.",
        OVERFLOW, '''
def soft_lookup(q, K, V):
    e = np.exp(K @ q)
    p = e / e.sum()
    return p, p @ V
'''),
    Misconception(
        "01.soft_lookup", "scores-as-weights",
        "Your weights are the raw scores, without the softmax, so they can be negative and need not sum to 1: "
        "turn the scores into weights with a stable softmax before mixing the values.",
        "Why the softmax?", '''
def soft_lookup(q, K, V):
    s = K @ q
    return s, s @ V
'''),
    Misconception(
        "01.soft_lookup", "normalises-without-exp",
        "Your weights divide the scores by their sum without taking exp, so weights can be negative or "
        "infinite: exponentiate the shifted scores first, then normalise.",
        "Why the softmax?", '''
def soft_lookup(q, K, V):
    s = K @ q
    p = s / s.sum()
    return p, p @ V
'''),
]
