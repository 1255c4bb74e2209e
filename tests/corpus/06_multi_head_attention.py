"""Chapter 6 corpus for measuring the diagnosis (see 01_query_key_value.py for the format)."""

# A multi-head attention written with einsum and a fused projection split, unlike the catalogue's.
MHA = '''
class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, num_heads, bias=True):
        super().__init__()
        self.h = num_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def forward(self, query, key, value, mask=None, need_weights=False):
        split = lambda t: torch.stack(t.chunk(self.h, dim=-1), dim=1)
        q, k, v = split(self.q_proj(query)), split(self.k_proj(key)), split(self.v_proj(value))
        s = torch.einsum("bhnd,bhmd->bhnm", q, k) / q.shape[-1] ** 0.5
        if mask is not None:
            s = torch.where(mask, s, -torch.inf)
        w = torch.softmax(s, dim=-1)
        w = torch.nan_to_num(w, nan=0.0)
        out = self.out_proj(torch.cat((w @ v).unbind(dim=1), dim=-1))
        return (out, w) if need_weights else out
'''

REPAIRED = '''
class RepairedMultiHeadAttention(nn.Module):
    def __init__(self, d_model, num_heads):
        super().__init__()
        self.d_model, self.num_heads = d_model, num_heads
        self.q_linear, self.k_linear = nn.Linear(d_model, d_model), nn.Linear(d_model, d_model)
        self.v_linear, self.fc = nn.Linear(d_model, d_model), nn.Linear(d_model, d_model)

    def forward(self, q, k, v, mask=None):
        B, n, d = q.shape
        heads = lambda t: t.reshape(B, t.shape[1], self.num_heads, d // self.num_heads).transpose(1, 2)
        q, k, v = heads(self.q_linear(q)), heads(self.k_linear(k)), heads(self.v_linear(v))
        s = torch.einsum("bhid,bhjd->bhij", q, k) * (d // self.num_heads) ** -0.5
        if mask is not None:
            s = torch.where(mask, s, float("-inf"))
        out = torch.einsum("bhij,bhjd->bhid", s.softmax(-1), v)
        return self.fc(out.transpose(1, 2).reshape(B, n, d))
'''

CORRECT = {
    "06.split_heads": ['''
def split_heads(x, num_heads):
    return torch.stack(torch.split(x, x.shape[-1] // num_heads, dim=-1), dim=1)
'''],
    "06.merge_heads": ['''
def merge_heads(x):
    return x.permute(0, 2, 1, 3).flatten(2)
'''],
    "06.multi_head_attention": [MHA],
    "06.copy_from_torch": ['''
def copy_from_torch(mha, torch_mha):
    w = torch_mha.in_proj_weight.detach().split(torch_mha.embed_dim)
    b = torch_mha.in_proj_bias.detach().split(torch_mha.embed_dim)
    for layer, weight, bias in zip([mha.q_proj, mha.k_proj, mha.v_proj], w, b):
        layer.weight.data = weight.clone()
        layer.bias.data = bias.clone()
    mha.out_proj.weight.data = torch_mha.out_proj.weight.detach().clone()
    mha.out_proj.bias.data = torch_mha.out_proj.bias.detach().clone()
'''],
    "06.repaired_attention": [REPAIRED],
}

WRONG = [
    ("06.split_heads", {"no-transpose"}, '''
def split_heads(x, num_heads):
    return x.unflatten(-1, (num_heads, -1))
'''),
    ("06.split_heads", {"interleaved-heads"}, '''
def split_heads(x, num_heads):
    return torch.stack([x[..., i::num_heads] for i in range(num_heads)], dim=1)
'''),
    ("06.split_heads", {"view-instead-of-transpose"}, '''
def split_heads(x, num_heads):
    b, n, d = x.shape
    return x.contiguous().view(b, num_heads, n, d // num_heads)
'''),
    ("06.merge_heads", {"no-transpose"}, '''
def merge_heads(x):
    return x.flatten(1, 3).reshape(x.shape[0], x.shape[2], -1)
'''),
    ("06.merge_heads", {"interleaved-heads"}, '''
def merge_heads(x):
    return torch.stack(x.unbind(1), dim=-1).flatten(2)
'''),
    ("06.merge_heads", {"sums-the-heads"}, '''
def merge_heads(x):
    out = x[:, 0]
    for i in range(1, x.shape[1]):
        out = out + x[:, i]
    return out
'''),
    ("06.multi_head_attention", {"scales-by-the-model-width"},
     MHA.replace("/ q.shape[-1] ** 0.5", "/ (q.shape[-1] * self.h) ** 0.5")),
    ("06.multi_head_attention", {"interleaved-heads"},
     MHA.replace("torch.stack(t.chunk(self.h, dim=-1), dim=1)",
                 "torch.stack([t[..., i::self.h] for i in range(self.h)], dim=1)").replace(
         "torch.cat((w @ v).unbind(dim=1), dim=-1)", "torch.stack((w @ v).unbind(dim=1), dim=-1).flatten(2)")),
    ("06.multi_head_attention", {"large-finite-fill"},
     MHA.replace("-torch.inf", "-1e9")),
    ("06.multi_head_attention", set(),
     MHA.replace("w = torch.nan_to_num(w, nan=0.0)", "w = torch.nan_to_num(w, nan=0.0) * 1.01")),
    ("06.copy_from_torch", {"query-and-key-swapped"}, '''
def copy_from_torch(mha, torch_mha):
    state = {"out_proj.weight": torch_mha.out_proj.weight, "out_proj.bias": torch_mha.out_proj.bias}
    for name, w, b in zip(["k_proj", "q_proj", "v_proj"], torch_mha.in_proj_weight.chunk(3), torch_mha.in_proj_bias.chunk(3)):
        state[f"{name}.weight"], state[f"{name}.bias"] = w, b
    mha.load_state_dict(state)
'''),
    ("06.copy_from_torch", {"biases-not-copied"}, '''
def copy_from_torch(mha, torch_mha):
    with torch.no_grad():
        for layer, w in zip([mha.q_proj, mha.k_proj, mha.v_proj], torch_mha.in_proj_weight.chunk(3)):
            layer.weight.copy_(w)
        mha.out_proj.weight.copy_(torch_mha.out_proj.weight)
'''),
    ("06.copy_from_torch", {"weights-transposed"}, '''
def copy_from_torch(mha, torch_mha):
    with torch.no_grad():
        for i, layer in enumerate([mha.q_proj, mha.k_proj, mha.v_proj]):
            d = torch_mha.embed_dim
            layer.weight.copy_(torch_mha.in_proj_weight[i * d:(i + 1) * d].t())
            layer.bias.copy_(torch_mha.in_proj_bias[i * d:(i + 1) * d])
        mha.out_proj.weight.copy_(torch_mha.out_proj.weight.t())
        mha.out_proj.bias.copy_(torch_mha.out_proj.bias)
'''),
    ("06.repaired_attention", {"no-scaling"}, REPAIRED.replace(" * (d // self.num_heads) ** -0.5", "")),
    ("06.repaired_attention", {"merge-without-transpose"}, REPAIRED.replace(
        "out.transpose(1, 2).reshape(B, n, d)", "out.reshape(B, n, d)")),
    ("06.repaired_attention", {"mask-still-ignored"}, REPAIRED.replace(
        "s = torch.where(mask, s, float(\"-inf\"))", "pass")),
    ("06.repaired_attention", {"mask-inverted"}, REPAIRED.replace(
        "torch.where(mask, s, float(\"-inf\"))", "torch.where(mask, float(\"-inf\"), s)")),
    ("06.repaired_attention", set(), REPAIRED.replace(
        "s.softmax(-1), v)", "s.softmax(-1), v * 0.5)")),
]

VARIANTS = {"06.split_heads": {"view-instead-of-transpose"}, "06.merge_heads": {"no-transpose"},
            "06.multi_head_attention": {"scales-by-the-model-width"}, "06.copy_from_torch": {"query-and-key-swapped"},
            "06.repaired_attention": {"mask-still-ignored"}}
