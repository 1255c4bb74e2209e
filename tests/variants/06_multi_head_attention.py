"""Other answers to chapter 6's exercises, for tests/test_chapters.py.

EQUIVALENT answers compute the same thing another way and must keep full marks;
WRONG answers hold a realistic mistake and must lose the exercise's points.
"""

EQUIVALENT = {
    "06.split_heads": '''
def split_heads(x, num_heads):
    chunks = x.chunk(num_heads, dim=-1)       # h tensors of (batch, n, d_head)
    return torch.stack(chunks, dim=1)         # (batch, h, n, d_head)
''',
    "06.merge_heads": '''
def merge_heads(x):
    print("merging", x.shape[1], "heads")     # a print of its own must not matter
    return torch.cat(x.unbind(dim=1), dim=-1)
''',
    "06.multi_head_attention": '''
class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, num_heads, bias=True):
        super().__init__()
        self.d_model = d_model
        self.num_heads = num_heads
        self.d_head = d_model // num_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def _heads(self, t):
        return t.reshape(t.shape[0], t.shape[1], self.num_heads, self.d_head).permute(0, 2, 1, 3)

    def forward(self, query, key, value, mask=None, need_weights=False):
        q = self._heads(self.q_proj(query))
        k = self._heads(self.k_proj(key))
        v = self._heads(self.v_proj(value))
        s = torch.einsum("bhnd,bhmd->bhnm", q, k) * self.d_head ** -0.5
        if mask is not None:
            s = torch.where(mask, s, float("-inf"))
        w = torch.softmax(s, dim=-1).nan_to_num(0.0)   # fully masked rows: nan -> 0
        out = torch.einsum("bhnm,bhmd->bnhd", w, v).flatten(2)
        out = self.out_proj(out)
        return (out, w) if need_weights else out
''',
    "06.copy_from_torch": '''
def copy_from_torch(mha, torch_mha):
    d = torch_mha.embed_dim
    with torch.no_grad():
        for i, name in enumerate(["q_proj", "k_proj", "v_proj"]):
            getattr(mha, name).weight[:] = torch_mha.in_proj_weight[i * d:(i + 1) * d]
            getattr(mha, name).bias[:] = torch_mha.in_proj_bias[i * d:(i + 1) * d]
    mha.out_proj.load_state_dict(torch_mha.out_proj.state_dict())
''',
    "06.repaired_attention": '''
class RepairedMultiHeadAttention(nn.Module):
    def __init__(self, d_model, num_heads):
        super().__init__()
        self.d_model = d_model
        self.num_heads = num_heads
        self.q_linear = nn.Linear(d_model, d_model)
        self.k_linear = nn.Linear(d_model, d_model)
        self.v_linear = nn.Linear(d_model, d_model)
        self.fc = nn.Linear(d_model, d_model)

    def forward(self, q, k, v, mask=None):
        h = self.num_heads
        q = self.q_linear(q).unflatten(-1, (h, -1)).transpose(1, 2)
        k = self.k_linear(k).unflatten(-1, (h, -1)).transpose(1, 2)
        v = self.v_linear(v).unflatten(-1, (h, -1)).transpose(1, 2)
        out = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.fc(out.transpose(1, 2).flatten(-2))
''',
}

WRONG = {
    "06.split_heads": '''
def split_heads(x, num_heads):
    batch, n, d_model = x.shape
    return x.reshape(batch, num_heads, n, d_model // num_heads)  # no transpose: mixes tokens and heads
''',
    "06.merge_heads": '''
def merge_heads(x):
    batch, h, n, d_head = x.shape
    return x.reshape(batch, n, h * d_head)  # forgets to move the heads behind the tokens
''',
    "06.multi_head_attention": '''
class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, num_heads, bias=True):
        super().__init__()
        self.d_model = d_model
        self.num_heads = num_heads
        self.d_head = d_model // num_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def forward(self, query, key, value, mask=None, need_weights=False):
        b, n, _ = query.shape
        m = key.shape[1]
        q = self.q_proj(query).view(b, n, self.num_heads, self.d_head).transpose(1, 2)
        k = self.k_proj(key).view(b, m, self.num_heads, self.d_head).transpose(1, 2)
        v = self.v_proj(value).view(b, m, self.num_heads, self.d_head).transpose(1, 2)
        s = q @ k.transpose(-2, -1) / math.sqrt(self.d_model)  # scales by d_model, not d_head
        if mask is not None:
            s = s.masked_fill(~mask, torch.finfo(s.dtype).min)
        w = torch.softmax(s, dim=-1)
        if mask is not None:
            w = w.masked_fill(~mask, 0.0)
        out = self.out_proj((w @ v).transpose(1, 2).reshape(b, n, self.d_model))
        return (out, w) if need_weights else out
''',
    "06.copy_from_torch": '''
def copy_from_torch(mha, torch_mha):
    w_k, w_q, w_v = torch_mha.in_proj_weight.chunk(3)  # keys are not first: q and k swapped
    b_k, b_q, b_v = torch_mha.in_proj_bias.chunk(3)
    with torch.no_grad():
        for layer, w, b in [(mha.q_proj, w_q, b_q), (mha.k_proj, w_k, b_k), (mha.v_proj, w_v, b_v),
                            (mha.out_proj, torch_mha.out_proj.weight, torch_mha.out_proj.bias)]:
            layer.weight.copy_(w)
            layer.bias.copy_(b)
''',
    "06.repaired_attention": '''
class RepairedMultiHeadAttention(nn.Module):
    def __init__(self, d_model, num_heads):
        super().__init__()
        self.d_model = d_model
        self.num_heads = num_heads
        self.q_linear = nn.Linear(d_model, d_model)
        self.k_linear = nn.Linear(d_model, d_model)
        self.v_linear = nn.Linear(d_model, d_model)
        self.fc = nn.Linear(d_model, d_model)

    def forward(self, q, k, v, mask=None):
        b, d_head = q.size(0), self.d_model // self.num_heads
        q = self.q_linear(q).view(b, -1, self.num_heads, d_head).permute(0, 2, 1, 3)
        k = self.k_linear(k).view(b, -1, self.num_heads, d_head).permute(0, 2, 1, 3)
        v = self.v_linear(v).view(b, -1, self.num_heads, d_head).permute(0, 2, 1, 3)
        attn = (q @ k.transpose(-2, -1) / math.sqrt(d_head)).softmax(dim=-1)  # the mask still ignored
        out = (attn @ v).permute(0, 2, 1, 3).reshape(b, -1, self.d_model)
        return self.fc(out)
''',
}
