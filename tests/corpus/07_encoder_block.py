"""Chapter 7 corpus for measuring the diagnosis (see 01_query_key_value.py for the format)."""

BLOCK = '''
class EncoderBlock(nn.Module):
    def __init__(self, d_model, d_ff, attention, dropout=0.1, norm_first=False):
        super().__init__()
        self.norm_first = norm_first
        self.self_attn = attention
        self.linear1, self.linear2 = nn.Linear(d_model, d_ff), nn.Linear(d_ff, d_model)
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.dropout, self.dropout1, self.dropout2 = nn.Dropout(dropout), nn.Dropout(dropout), nn.Dropout(dropout)

    def forward(self, x, mask=None):
        allowed = mask
        sa = lambda h: self.dropout1(self.self_attn(h, h, h, mask=allowed))
        ff = lambda h: self.dropout2(self.linear2(self.dropout(torch.nn.functional.gelu(self.linear1(h)))))
        if self.norm_first:
            h = x + sa(self.norm1(x))
            return h + ff(self.norm2(h))
        h = self.norm1(x + sa(x))
        return self.norm2(h + ff(h))
'''

CORRECT = {
    "07.layer_norm": ['''
def layer_norm(x, weight, bias, eps):
    return torch.nn.functional.layer_norm(x, x.shape[-1:], weight, bias, eps)
'''],
    "07.feed_forward": ['''
def feed_forward(x, w1, b1, w2, b2):
    z = torch.addmm(b1, x.reshape(-1, x.shape[-1]), w1.T)
    z = z * 0.5 * (1 + torch.erf(z * 2 ** -0.5))
    return torch.addmm(b2, z, w2.T).reshape(*x.shape[:-1], -1)
'''],
    "07.encoder_block": [BLOCK],
}

WRONG = [
    ("07.layer_norm", {"unbiased-variance"}, '''
def layer_norm(x, weight, bias, eps):
    d = x.shape[-1]
    mu = x.sum(-1, keepdim=True) / d
    var = ((x - mu) ** 2).sum(-1, keepdim=True) / (d - 1)
    return weight * (x - mu) / (var + eps).sqrt() + bias
'''),
    ("07.layer_norm", {"unbiased-std-plus-eps"}, '''
def layer_norm(x, weight, bias, eps):
    centred = x - x.mean(-1, keepdim=True)
    return centred / (torch.std(x, dim=-1, keepdim=True) + eps) * weight + bias
'''),
    ("07.layer_norm", {"eps-added-to-the-std"}, '''
def layer_norm(x, weight, bias, eps):
    std = x.std(dim=-1, unbiased=False, keepdim=True)
    return (x - x.mean(dim=-1, keepdim=True)) / (std + eps) * weight + bias
'''),
    ("07.layer_norm", {"no-scale-and-shift"}, '''
def layer_norm(x, weight, bias, eps):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), eps=eps)
'''),
    ("07.feed_forward", {"relu-instead-of-gelu"}, '''
def feed_forward(x, w1, b1, w2, b2):
    h = torch.nn.functional.linear(x, w1, b1).clamp(min=0)
    return torch.nn.functional.linear(h, w2, b2)
'''),
    ("07.feed_forward", {"tanh-approximation"}, '''
def feed_forward(x, w1, b1, w2, b2):
    z = x @ w1.T + b1
    g = 0.5 * z * (1 + torch.tanh(math.sqrt(2 / math.pi) * (z + 0.044715 * z ** 3)))
    return g @ w2.T + b2
'''),
    ("07.feed_forward", set(), '''
def feed_forward(x, w1, b1, w2, b2):
    z = x @ w1.T + b1
    return (z * torch.sigmoid(z)) @ w2.T + b2
'''),
    ("07.encoder_block", {"always-post-norm"}, BLOCK.replace("if self.norm_first:", "if self.norm_first and False:")),
    ("07.encoder_block", {"relu-activation"}, BLOCK.replace("torch.nn.functional.gelu(", "torch.nn.functional.relu(")),
    ("07.encoder_block", {"mask-inverted"}, BLOCK.replace("allowed = mask", "allowed = None if mask is None else mask.logical_not()")),
    ("07.encoder_block", set(), BLOCK.replace("h = self.norm1(x + sa(x))", "h = self.norm1(x) + sa(x)")),
    ("07.encoder_block", {"normalised-residual"}, BLOCK.replace(
        "h = x + sa(self.norm1(x))\n            return h + ff(self.norm2(h))",
        "x = self.norm1(x)\n            h = x + sa(x)\n            h = self.norm2(h)\n            return h + ff(h)")),
]

VARIANTS = {"07.layer_norm": {"unbiased-variance"}, "07.feed_forward": {"relu-instead-of-gelu"},
            "07.encoder_block": {"normalised-residual"}}
