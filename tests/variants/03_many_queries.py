"""Other answers to chapter 3's exercises, for tests/test_chapters.py.

EQUIVALENT answers compute the same thing another way and must keep full marks;
WRONG answers hold a realistic mistake and must lose the exercise's points.
"""

EQUIVALENT = {
    "03.attention": '''
def attention(Q, K, V):
    out = []
    for q in Q:  # one query at a time, as in chapter 1
        s = K @ q / np.sqrt(len(q)).astype(Q.dtype)
        p = np.exp(s - np.logaddexp.reduce(s))
        out.append(p @ V)
    return np.stack(out)
''',
    "03.batched_attention": '''
def batched_attention(Q, K, V):
    scores = torch.einsum("...nd,...md->...nm", Q / Q.shape[-1] ** 0.5, K)
    return torch.einsum("...nm,...mv->...nv", scores.softmax(dim=-1), V)
''',
    "03.batched_single_query_attention": '''
import math

def batched_single_query_attention(q, K, V):
    scores = torch.einsum("bd,bmd->bm", q, K) / math.sqrt(q.shape[-1])  # (B, m)
    weights = scores.softmax(dim=-1)
    return torch.einsum("bm,bmv->bv", weights, V)
''',
}

WRONG = {
    "03.attention": '''
def attention(Q, K, V):
    s = Q @ K.T / np.sqrt(Q.shape[1])
    e = np.exp(s - s.max(axis=0, keepdims=True))
    return (e / e.sum(axis=0, keepdims=True)) @ V  # normalises over the queries, not the keys
''',
    "03.batched_attention": '''
def batched_attention(Q, K, V):
    weights = torch.softmax(Q @ K.transpose(-2, -1), dim=-1)  # forgets to divide by sqrt(d_k)
    return weights @ V
''',
    "03.batched_single_query_attention": '''
import math

def batched_single_query_attention(q, K, V):  # the buggy snippet: scores every batch's keys
    d = q.shape[-1]
    scores = q @ K.transpose(-2, -1) / math.sqrt(d)
    weights = scores.softmax(dim=-1)
    return weights @ V
''',
}
