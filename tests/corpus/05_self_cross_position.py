"""Chapter 5 corpus for measuring the diagnosis (see 01_query_key_value.py for the format)."""

CORRECT = {
    "05.self_attention_layer": ['''
class SelfAttention(nn.Module):
    def __init__(self, d_model, d_k, d_v):
        super().__init__()
        self.q_proj = nn.Linear(d_model, d_k, bias=False)
        self.k_proj = nn.Linear(d_model, d_k, bias=False)
        self.v_proj = nn.Linear(d_model, d_v, bias=False)

    def forward(self, X):
        q, k = self.q_proj(X), self.k_proj(X)
        w = torch.softmax(q @ k.mT * q.shape[-1] ** -0.5, dim=-1)
        return torch.nn.functional.scaled_dot_product_attention(q, k, self.v_proj(X)), w
'''],
    "05.padded_cross_attention": ['''
def cross_attention(X_target, X_source, source_mask, W_q, W_k, W_v):
    q = torch.einsum("btd,dk->btk", X_target, W_q)
    k = torch.einsum("bsd,dk->bsk", X_source, W_k)
    s = torch.einsum("btk,bsk->bts", q, k) / W_q.shape[1] ** 0.5
    s = torch.where(source_mask.unsqueeze(-2), s, torch.tensor(float("-inf"), dtype=s.dtype))
    return torch.softmax(s, dim=-1) @ (X_source @ W_v)
'''],
    "05.sinusoidal_encoding": ['''
def sinusoidal_encoding(n, d_model):
    if d_model % 2 == 1:
        raise ValueError("odd d_model")
    pos = torch.arange(n, dtype=torch.float64).unsqueeze(1)
    div = torch.pow(10000.0, torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
    pe = torch.stack([torch.sin(pos / div), torch.cos(pos / div)], dim=-1)
    return pe.reshape(n, d_model).to(torch.float32)
'''],
}

WRONG = [
    ("05.self_attention_layer", {"no-scaling"}, '''
class SelfAttention(nn.Module):
    def __init__(self, d_model, d_k, d_v):
        super().__init__()
        self.q_proj = nn.Linear(d_model, d_k, bias=False)
        self.k_proj = nn.Linear(d_model, d_k, bias=False)
        self.v_proj = nn.Linear(d_model, d_v, bias=False)

    def forward(self, X):
        scores = torch.einsum("...id,...jd->...ij", self.q_proj(X), self.k_proj(X))
        w = scores.softmax(dim=-1)
        return w @ self.v_proj(X), w
'''),
    ("05.self_attention_layer", {"scales-by-the-model-width"}, '''
class SelfAttention(nn.Module):
    def __init__(self, d_model, d_k, d_v):
        super().__init__()
        self.q_proj = nn.Linear(d_model, d_k, bias=False)
        self.k_proj = nn.Linear(d_model, d_k, bias=False)
        self.v_proj = nn.Linear(d_model, d_v, bias=False)

    def forward(self, X):
        d = X.shape[-1]
        w = torch.softmax(self.q_proj(X) @ self.k_proj(X).transpose(-1, -2) / d ** 0.5, -1)
        return w @ self.v_proj(X), w
'''),
    ("05.self_attention_layer", {"scales-by-the-value-width"}, '''
class SelfAttention(nn.Module):
    def __init__(self, d_model, d_k, d_v):
        super().__init__()
        self.q_proj = nn.Linear(d_model, d_k, bias=False)
        self.k_proj = nn.Linear(d_model, d_k, bias=False)
        self.v_proj = nn.Linear(d_model, d_v, bias=False)

    def forward(self, X):
        v = self.v_proj(X)
        w = torch.softmax(self.q_proj(X) @ self.k_proj(X).mT / math.sqrt(v.size(-1)), dim=-1)
        return w @ v, w
'''),
    ("05.self_attention_layer", set(), '''
class SelfAttention(nn.Module):
    def __init__(self, d_model, d_k, d_v):
        super().__init__()
        self.q_proj = nn.Linear(d_model, d_k, bias=False)
        self.k_proj = nn.Linear(d_model, d_k, bias=False)
        self.v_proj = nn.Linear(d_model, d_v, bias=False)

    def forward(self, X):
        q, k, v = self.q_proj(X), self.k_proj(X), self.v_proj(X)
        w = torch.softmax(q @ k.mT / q.shape[-1] ** 0.5, dim=-1)
        return w @ v, w.mT  # the weights returned as (keys, queries)
'''),
    ("05.padded_cross_attention", {"mask-inverted"}, '''
def cross_attention(X_target, X_source, source_mask, W_q, W_k, W_v):
    s = (X_target @ W_q) @ (X_source @ W_k).mT / W_k.shape[1] ** 0.5
    s[source_mask.unsqueeze(1).expand_as(s)] = float("-inf")
    return torch.softmax(s, dim=-1) @ (X_source @ W_v)
'''),
    ("05.padded_cross_attention", {"mask-after-the-softmax"}, '''
def cross_attention(X_target, X_source, source_mask, W_q, W_k, W_v):
    s = (X_target @ W_q) @ (X_source @ W_k).mT / W_k.shape[1] ** 0.5
    w = s.softmax(-1) * source_mask.unsqueeze(1).to(s.dtype)
    return w @ (X_source @ W_v)
'''),
    ("05.padded_cross_attention", {"no-scaling"}, '''
def cross_attention(X_target, X_source, source_mask, W_q, W_k, W_v):
    s = (X_target @ W_q) @ (X_source @ W_k).mT
    s = s.masked_fill(source_mask[:, None] == 0, -float("inf"))
    return torch.softmax(s, dim=-1) @ (X_source @ W_v)
'''),
    ("05.padded_cross_attention", set(), '''
def cross_attention(X_target, X_source, source_mask, W_q, W_k, W_v):
    s = (X_target @ W_q) @ (X_source @ W_k).mT / W_k.shape[1] ** 0.5
    s = s.masked_fill(~source_mask[:, None, :], -1.0)  # -1 is not small enough to hide a key
    return torch.softmax(s, dim=-1) @ (X_source @ W_v)
'''),
    ("05.sinusoidal_encoding", {"sines-then-cosines"}, '''
def sinusoidal_encoding(n, d_model):
    pos = torch.arange(n, dtype=torch.float64)[:, None]
    i = torch.arange(d_model // 2, dtype=torch.float64)
    angle = pos / 10000 ** (2 * i / d_model)
    return torch.hstack([angle.sin(), angle.cos()]).float()
'''),
    ("05.sinusoidal_encoding", {"sines-and-cosines-swapped"}, '''
def sinusoidal_encoding(n, d_model):
    out = torch.zeros(n, d_model, dtype=torch.float64)
    for pos in range(n):
        for i in range(0, d_model, 2):
            angle = torch.tensor(pos / 10000 ** (i / d_model), dtype=torch.float64)
            out[pos, i], out[pos, i + 1] = torch.cos(angle), torch.sin(angle)
    return out.float()
'''),
    ("05.sinusoidal_encoding", {"float32-angles"}, '''
def sinusoidal_encoding(n, d_model):
    pos = torch.arange(n).float()[:, None]
    freq = torch.exp(-torch.arange(0, d_model, 2).float() * (torch.log(torch.tensor(10000.0)) / d_model))
    pe = torch.zeros(n, d_model)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)
    return pe
'''),
]

VARIANTS = {"05.self_attention_layer": {"scales-by-the-value-width"},
            "05.padded_cross_attention": {"mask-after-the-softmax"},
            "05.sinusoidal_encoding": set()}
