"""Misconceptions of chapter 3 (format: see autograder/diagnose.py)."""

from autograder.diagnose import Misconception

MANY = "From one query to a matrix of queries"
BATCHES = "How `@` treats extra axes"
BUG = "Find the bug"

MISCONCEPTIONS = [
    Misconception(
        "03.attention", "softmax-over-the-queries",
        "Your attention takes the softmax over the queries (axis 0) instead of over the keys, so each "
        "query's weights no longer sum to 1: normalise every row of Q K^T, axis -1.",
        MANY, '''
def attention(Q, K, V):
    logits = (Q @ K.T) / Q.shape[-1] ** 0.5
    e = np.exp(logits - logits.max(axis=0, keepdims=True))
    return (e / e.sum(axis=0, keepdims=True)) @ V
'''),
    Misconception(
        "03.attention", "no-scaling",
        "Your attention leaves out the division by sqrt(d_k), so the scores grow with the key dimension "
        "and the weights become too sharp.",
        MANY, '''
def attention(Q, K, V):
    logits = Q @ K.T
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)) @ V
'''),
    Misconception(
        "03.attention", "no-max-subtraction",
        "Your attention takes exp of the raw scores, which overflows for large scores (inf / inf is NaN): "
        "subtract each row's largest score before the exp.",
        MANY, '''
def attention(Q, K, V):
    e = np.exp((Q @ K.T) / Q.shape[-1] ** 0.5)
    return (e / e.sum(axis=-1, keepdims=True)) @ V
'''),
    Misconception(
        "03.attention", "scales-by-the-value-dimension",
        "Your attention divides the scores by sqrt(d_v), the value dimension, instead of sqrt(d_k), the "
        "dimension of the vectors in the dot product.",
        MANY, '''
def attention(Q, K, V):
    logits = (Q @ K.T) / V.shape[-1] ** 0.5
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)) @ V
'''),
    Misconception(
        "03.batched_attention", "softmax-over-the-queries",
        "Your attention takes the softmax over the queries (dim -2) instead of over the keys (dim -1), so "
        "each query's weights no longer sum to 1.",
        BATCHES, '''
def batched_attention(Q, K, V):
    logits = Q @ K.transpose(-2, -1) / Q.shape[-1] ** 0.5
    return torch.softmax(logits, dim=-2) @ V
'''),
    Misconception(
        "03.batched_attention", "softmax-over-a-fixed-axis",
        "Your attention takes the softmax over dim=1, which is the keys only when there is no batch axis: "
        "count from the end (dim=-1) so the keys' axis is found whatever the leading axes.",
        BATCHES, '''
def batched_attention(Q, K, V):
    logits = Q @ K.transpose(-2, -1) / Q.shape[-1] ** 0.5
    return torch.softmax(logits, dim=1) @ V
'''),
    Misconception(
        "03.batched_attention", "no-scaling",
        "Your attention leaves out the division by sqrt(d_k), so the scores grow with the key dimension "
        "and the weights become too sharp.",
        BATCHES, '''
def batched_attention(Q, K, V):
    return torch.softmax(Q @ K.transpose(-2, -1), dim=-1) @ V
'''),
    Misconception(
        "03.batched_attention", "scales-by-the-number-of-keys",
        "Your attention divides the scores by the square root of the number of keys (K's axis -2) "
        "instead of the key dimension d_k (axis -1).",
        BATCHES, '''
def batched_attention(Q, K, V):
    logits = Q @ K.transpose(-2, -1) / K.shape[-2] ** 0.5
    return torch.softmax(logits, dim=-1) @ V
'''),
    Misconception(
        "03.batched_single_query_attention", "query-broadcast-against-the-batch",
        "Your code multiplies the (B, d) queries with the (B, m, d) keys directly, so `@` broadcasts the "
        "whole batch of queries against every sequence and the result has shape (B, B, d_v): give each "
        "query its own axis first, q.unsqueeze(-2).",
        BUG, '''
def batched_single_query_attention(q, K, V):
    logits = q @ K.transpose(-2, -1) / q.shape[-1] ** 0.5
    return torch.softmax(logits, dim=-1) @ V
'''),
    Misconception(
        "03.batched_single_query_attention", "softmax-over-the-batch",
        "Your weights are normalised over the batch (dim 0) instead of over each sequence's keys, so one "
        "sequence's weights depend on the others.",
        BUG, '''
def batched_single_query_attention(q, K, V):
    logits = (K @ q.unsqueeze(-1)).squeeze(-1) / q.shape[-1] ** 0.5
    weights = torch.softmax(logits, dim=0)
    return (weights.unsqueeze(-1) * V).sum(dim=1)
'''),
    Misconception(
        "03.batched_single_query_attention", "no-scaling",
        "Your attention leaves out the division by sqrt(d), so the scores grow with the dimension and the "
        "weights become too sharp.",
        BUG, '''
def batched_single_query_attention(q, K, V):
    weights = torch.softmax(q.unsqueeze(-2) @ K.transpose(-2, -1), dim=-1)
    return (weights @ V).squeeze(-2)
'''),
    Misconception(
        "03.batched_single_query_attention", "squeezes-every-axis",
        "Your result calls squeeze() without an axis, which also removes the batch axis when B = 1: "
        "squeeze only the query axis, squeeze(-2).",
        BUG, '''
def batched_single_query_attention(q, K, V):
    weights = torch.softmax(q.unsqueeze(-2) @ K.transpose(-2, -1) / q.shape[-1] ** 0.5, dim=-1)
    return (weights @ V).squeeze()
'''),
]
