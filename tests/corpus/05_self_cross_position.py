"""Chapter 5 corpus for measuring the diagnosis (see 01_query_key_value.py for the format)."""

CORRECT = {
    "05.self_attention": ['''
def self_attention(X, W_q, W_k, W_v):
    return torch.nn.functional.scaled_dot_product_attention(X @ W_q, X @ W_k, X @ W_v)
'''],
    "05.cross_attention": ['''
def cross_attention(X_target, X_source, W_q, W_k, W_v):
    q = torch.einsum("...td,dk->...tk", X_target, W_q)
    k = torch.einsum("...sd,dk->...sk", X_source, W_k)
    w = torch.softmax(torch.einsum("...tk,...sk->...ts", q, k) / W_q.shape[1] ** 0.5, dim=-1)
    return w @ (X_source @ W_v)
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
    ("05.self_attention", {"no-scaling"}, '''
def self_attention(X, W_q, W_k, W_v):
    scores = torch.einsum("...id,...jd->...ij", X @ W_q, X @ W_k)
    return scores.softmax(dim=-1) @ (X @ W_v)
'''),
    ("05.self_attention", {"scales-by-the-model-width"}, '''
def self_attention(X, W_q, W_k, W_v):
    d = X.shape[-1]
    s = (X @ W_q) @ (X @ W_k).transpose(-1, -2) / d ** 0.5
    return torch.softmax(s, -1) @ (X @ W_v)
'''),
    ("05.self_attention", {"softmax-over-the-queries"}, '''
def self_attention(X, W_q, W_k, W_v):
    s = (X @ W_q) @ (X @ W_k).mT / W_k.shape[-1] ** 0.5
    return torch.softmax(s, dim=len(s.shape) - 2) @ (X @ W_v)
'''),
    ("05.cross_attention", {"roles-swapped"}, '''
def cross_attention(X_target, X_source, W_q, W_k, W_v):
    q, k, v = X_source @ W_q, X_target @ W_k, X_target @ W_v
    return torch.softmax(q @ k.mT / q.shape[-1] ** 0.5, dim=-1) @ v
'''),
    ("05.cross_attention", {"no-scaling"}, '''
def cross_attention(X_target, X_source, W_q, W_k, W_v):
    return torch.softmax((X_target @ W_q) @ (X_source @ W_k).mT, dim=-1) @ (X_source @ W_v)
'''),
    ("05.cross_attention", set(), '''
def cross_attention(X_target, X_source, W_q, W_k, W_v):
    s = (X_target @ W_q) @ (X_source @ W_k).mT / W_q.shape[-1]
    return torch.softmax(s, dim=-1) @ X_source @ W_v
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

VARIANTS = {"05.self_attention": {"softmax-over-the-queries"}, "05.cross_attention": set(),
            "05.sinusoidal_encoding": set()}
