"""Misconceptions of chapter 2 (format: see autograder/diagnose.py)."""

from autograder.diagnose import Misconception

SCORES = "Four ways to score a key"
TEMPERATURE = "Temperature"
FIX = "The fix, again"
WHY = "Why divide by $\\sqrt{d_k}$?"

MISCONCEPTIONS = [
    Misconception(
        "02.scaled_scores", "no-scaling",
        "Your scores are plain dot products without the scale, so they grow with the key dimension and push "
        "the softmax towards a hard maximum: multiply by the scale given, or by 1/sqrt(d_k) when it is None.",
        WHY, '''
def scaled_scores(q, K, scale=None):
    return q @ K.T
'''),
    Misconception(
        "02.scaled_scores", "divides-by-d",
        "Your default scale divides by d_k instead of sqrt(d_k): the dot product of random vectors has a "
        "standard deviation of sqrt(d_k), so that is the right scale.",
        WHY, '''
def scaled_scores(q, K, scale=None):
    if scale is None:
        scale = 1 / q.shape[-1]
    return (q @ K.T) * scale
'''),
    Misconception(
        "02.scaled_scores", "divides-by-the-scale",
        "Your scores divide by the scale given instead of multiplying by it: like the scale argument of "
        "scaled_dot_product_attention, scale is the factor that multiplies the dot products.",
        SCORES, '''
def scaled_scores(q, K, scale=None):
    if scale is None:
        return (q @ K.T) / q.shape[-1] ** 0.5
    return (q @ K.T) / scale
'''),
    Misconception(
        "02.scaled_scores", "zero-scale-taken-as-default",
        "Your code treats scale=0.0 like None (\"scale or default\" picks the default whenever scale is 0), so a scale "
        "of 0 divides by sqrt(d_k) instead of making every score 0: test whether scale is None.",
        SCORES, '''
def scaled_scores(q, K, scale=None):
    scale = scale or 1 / q.shape[-1] ** 0.5
    return (q @ K.T) * scale
'''),
    Misconception(
        "02.scaled_scores", "scales-by-the-number-of-queries",
        "Your default scale uses len(q), which is d_k for one query but the number of queries n for a stack: "
        "the key dimension is the last axis, q.shape[-1].",
        SCORES, '''
def scaled_scores(q, K, scale=None):
    if scale is None:
        scale = 1 / len(q) ** 0.5
    return (q @ K.T) * scale
'''),
    Misconception(
        "02.additive_scores", "no-tanh",
        "Your additive scores leave out the tanh, so the score is linear in the query and key and the model "
        "reduces to a plain sum of two projections.",
        SCORES, '''
def additive_scores(q, K, W_q, W_k, w_v):
    return (K @ W_k.T + W_q @ q) @ w_v
'''),
    Misconception(
        "02.additive_scores", "tanh-after-the-read-out",
        "Your additive scores apply tanh after the read-out vector w_v instead of to the hidden layer "
        "W_q q + W_k k_i, so every score is squeezed into (-1, 1).",
        SCORES, '''
def additive_scores(q, K, W_q, W_k, w_v):
    return np.tanh((K @ W_k.T + W_q @ q) @ w_v)
'''),
    Misconception(
        "02.additive_scores", "relu-instead-of-tanh",
        "Your additive scores use a ReLU where Bahdanau's score uses tanh, which cuts every negative hidden "
        "unit to 0 instead of squashing it.",
        SCORES, '''
def additive_scores(q, K, W_q, W_k, w_v):
    return np.maximum(K @ W_k.T + W_q @ q, 0.0) @ w_v
'''),
    Misconception(
        "02.additive_scores", "multiplies-the-projections",
        "Your additive scores multiply the projected query and key instead of adding them: the additive "
        "score is w_v · tanh(W_q q + W_k k_i).",
        SCORES, '''
def additive_scores(q, K, W_q, W_k, w_v):
    return np.tanh((K @ W_k.T) * (W_q @ q)) @ w_v
'''),
    Misconception(
        "02.softmax_with_temperature", "multiplies-by-t",
        "Your softmax multiplies the scores by the temperature instead of dividing by it, so a high "
        "temperature sharpens the weights instead of flattening them.",
        TEMPERATURE, '''
def softmax_with_temperature(s, T):
    tempered = s * T
    e = np.exp(tempered - tempered.max())
    return e / e.sum()
'''),
    Misconception(
        "02.softmax_with_temperature", "no-max-subtraction",
        "Your softmax takes exp of s / T without subtracting the largest value first, so a small temperature "
        "makes exp overflow (inf / inf is NaN).",
        TEMPERATURE, '''
def softmax_with_temperature(s, T):
    e = np.exp(s / T)
    return e / e.sum()
'''),
    Misconception(
        "02.softmax_with_temperature", "subtracts-the-minimum",
        "Your softmax subtracts the smallest of s / T, which leaves the largest shifted value huge, so exp "
        "overflows when a small temperature spreads the scores: subtract the largest instead.",
        TEMPERATURE, '''
def softmax_with_temperature(s, T):
    tempered = s / T
    e = np.exp(tempered - tempered.min())
    return e / e.sum()
'''),
    Misconception(
        "02.softmax_with_temperature", "divides-the-weights-by-t",
        "Your softmax divides the weights by T after normalising, so they no longer sum to 1: the "
        "temperature divides the scores, before the exp.",
        TEMPERATURE, '''
def softmax_with_temperature(s, T):
    e = np.exp(s - s.max())
    return e / e.sum() / T
'''),
    Misconception(
        "02.logsumexp", "no-max-subtraction",
        "Your log-sum-exp takes exp of the raw scores, which overflows to infinity for large scores and "
        "underflows to log(0) for very negative ones: factor out the largest score.",
        FIX, '''
def logsumexp(s):
    return np.log(np.sum(np.exp(s)))
'''),
    Misconception(
        "02.logsumexp", "max-not-added-back",
        "Your log-sum-exp subtracts the largest score inside the exp but does not add it back outside the "
        "log: log sum exp(s) = max + log sum exp(s - max).",
        FIX, '''
def logsumexp(s):
    return np.log(np.sum(np.exp(s - s.max())))
'''),
    Misconception(
        "02.logsumexp", "maximum-only",
        "Your log-sum-exp returns only the largest score, which is a lower bound: the other scores add "
        "log sum exp(s - max) on top of it.",
        FIX, '''
def logsumexp(s):
    return s.max()
'''),
    Misconception(
        "02.logsumexp", "subtracts-the-minimum",
        "Your log-sum-exp factors out the smallest score, which leaves the largest shifted score huge, so exp "
        "overflows when scores are far apart: factor out the largest score.",
        FIX, '''
def logsumexp(s):
    smallest = s.min()
    return smallest + np.log(np.sum(np.exp(s - smallest)))
'''),
]
