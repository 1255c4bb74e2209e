"""Other answers to chapter 4's exercises, for tests/test_chapters.py.

EQUIVALENT answers compute the same thing another way and must keep full marks;
WRONG answers hold a realistic mistake and must lose the exercise's points.
"""

EQUIVALENT = {
    "04.padding_mask": '''
def padding_mask(lengths, max_len):
    mask = torch.zeros(len(lengths), max_len, dtype=torch.bool)
    for b, length in enumerate(lengths.tolist()):
        mask[b, :length] = True  # a loop instead of broadcasting
    return mask
''',
    "04.decoder_mask": '''
def decoder_mask(lengths, max_len, padding_side="right"):
    mask = torch.zeros(len(lengths), max_len, max_len, dtype=torch.bool)
    for b, length in enumerate(lengths.tolist()):  # one sequence at a time
        first = 0 if padding_side == "right" else max_len - length
        for i in range(max_len):
            for j in range(first, min(first + length, i + 1)):
                mask[b, i, j] = True
    return mask
''',
    "04.masked_softmax": '''
def masked_softmax(scores, mask):
    mask = np.broadcast_to(mask, scores.shape)
    out = np.zeros_like(scores)
    for index in np.ndindex(scores.shape[:-1]):  # one row at a time
        keep = mask[index]
        if keep.any():
            row = scores[index][keep]
            e = np.exp(row - row.max())
            out[index][keep] = e / e.sum()
    return out
''',
    "04.masked_attention": '''
def masked_attention(Q, K, V, mask):
    print("attending")  # a print of its own must not matter
    additive = torch.zeros(mask.shape, dtype=Q.dtype).masked_fill(~mask, float("-inf"))
    s = torch.einsum("...nd,...md->...nm", Q, K) / Q.shape[-1] ** 0.5 + additive
    w = torch.nan_to_num(torch.softmax(s, dim=-1), nan=0.0)
    return torch.einsum("...nm,...mv->...nv", w, V)
''',
}

WRONG = {
    "04.padding_mask": '''
def padding_mask(lengths, max_len):
    return torch.arange(max_len)[None, :] <= lengths[:, None]  # off by one
''',
    "04.decoder_mask": '''
def decoder_mask(lengths, max_len, padding_side="right"):
    real = torch.arange(max_len)[None, :] < lengths[:, None]  # right padding, whatever the side
    causal = torch.tril(torch.ones(max_len, max_len, dtype=torch.bool))
    return causal & real[:, None, :]
''',
    "04.masked_softmax": '''
def masked_softmax(scores, mask):
    filled = np.where(mask, scores, -1e9)  # a large negative number instead of a safe definition
    e = np.exp(filled - filled.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
''',
    "04.masked_attention": '''
def masked_attention(Q, K, V, mask):
    s = Q @ K.transpose(-2, -1) / Q.shape[-1] ** 0.5
    s = s.masked_fill(~mask, float("-inf"))
    return torch.softmax(s, dim=-1) @ V  # nan in fully masked rows
''',
}
