"""Other answers to chapter 5's exercises, for tests/test_chapters.py.

EQUIVALENT answers compute the same thing another way and must keep full marks;
WRONG answers hold a realistic mistake and must lose the exercise's points.
"""

EQUIVALENT = {
    "05.self_attention_layer": '''
class SelfAttention(nn.Module):
    def __init__(self, d_model, d_k, d_v):
        super().__init__()
        self.q_proj, self.k_proj = (nn.Linear(d_model, d_k, bias=False) for _ in range(2))
        self.v_proj = nn.Linear(d_model, d_v, bias=False)

    def forward(self, X):
        Q = X @ self.q_proj.weight.T  # the matrices used directly
        K = X @ self.k_proj.weight.T
        V = X @ self.v_proj.weight.T
        s = torch.einsum("...id,...jd->...ij", Q, K) / torch.tensor(float(Q.shape[-1])).sqrt()
        s = s - s.amax(dim=-1, keepdim=True)  # a stable softmax written out
        w = s.exp() / s.exp().sum(dim=-1, keepdim=True)
        return torch.einsum("...ij,...jv->...iv", w, V), w
''',
    "05.padded_cross_attention": '''
def cross_attention(X_target, X_source, source_mask, W_q, W_k, W_v):
    import torch.nn.functional as F
    print("cross-attending")  # a print of its own must not matter
    return F.scaled_dot_product_attention(X_target @ W_q, X_source @ W_k, X_source @ W_v,
                                          attn_mask=source_mask.unsqueeze(1))
''',
    "05.sinusoidal_encoding": '''
def sinusoidal_encoding(n, d_model):
    import math
    if d_model % 2:
        raise ValueError("d_model must be even")
    rows = []
    for pos in range(n):  # plain Python loops in float64
        row = []
        for i in range(d_model // 2):
            angle = pos / 10000 ** (2 * i / d_model)
            row += [math.sin(angle), math.cos(angle)]
        rows.append(row)
    return torch.tensor(rows, dtype=torch.float32)
''',
}

WRONG = {
    "05.self_attention_layer": '''
class SelfAttention(nn.Module):
    def __init__(self, d_model, d_k, d_v):
        super().__init__()
        self.q_proj = nn.Linear(d_model, d_k, bias=False)
        self.k_proj = nn.Linear(d_model, d_k, bias=False)
        self.v_proj = nn.Linear(d_model, d_v, bias=False)

    def forward(self, X):
        Q, K, V = self.q_proj(X), self.k_proj(X), self.v_proj(X)
        w = torch.softmax(Q @ K.transpose(-2, -1) / V.shape[-1] ** 0.5, dim=-1)  # sqrt(d_v), not sqrt(d_k)
        return w @ V, w
''',
    "05.padded_cross_attention": '''
def cross_attention(X_target, X_source, source_mask, W_q, W_k, W_v):
    Q, K, V = X_target @ W_q, X_source @ W_k, X_source @ W_v
    w = torch.softmax(Q @ K.transpose(-2, -1) / Q.shape[-1] ** 0.5, dim=-1)
    w = w * source_mask[:, None, :]  # zeroed after the softmax, never renormalised
    return w @ V
''',
    "05.sinusoidal_encoding": '''
def sinusoidal_encoding(n, d_model):
    pe = torch.zeros(n, d_model, dtype=torch.float64)
    pos = torch.arange(n, dtype=torch.float64)[:, None]
    cols = torch.arange(0, d_model, 2, dtype=torch.float64)
    angle = pos / 10000 ** (2 * cols / d_model)  # cols already holds 2i: the exponent is doubled
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle)
    return pe.float()
''',
}
