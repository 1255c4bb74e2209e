"""Other answers to chapter 7's exercises, for tests/test_chapters.py.

EQUIVALENT answers compute the same thing another way and must keep full marks;
WRONG answers hold a realistic mistake and must lose the exercise's points.
"""

EQUIVALENT = {
    "07.layer_norm": '''
def layer_norm(x, weight, bias, eps):
    variance, mean = torch.var_mean(x, dim=-1, unbiased=False, keepdim=True)
    return (x - mean) * torch.rsqrt(variance + eps) * weight + bias
''',
    "07.feed_forward": '''
def feed_forward(x, w1, b1, w2, b2):
    hidden = torch.nn.functional.gelu(torch.nn.functional.linear(x, w1, b1))
    return torch.nn.functional.linear(hidden, w2, b2)
''',
    "07.encoder_block": '''
class EncoderBlock(nn.Module):
    def __init__(self, d_model, d_ff, attention, dropout=0.1, norm_first=False):
        super().__init__()
        self.norm_first = norm_first
        self.self_attn = attention
        self.linear1 = nn.Linear(d_model, d_ff)
        self.linear2 = nn.Linear(d_ff, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)

    def _sa(self, h, mask):
        return self.dropout1(self.self_attn(query=h, key=h, value=h, mask=mask))

    def _ff(self, h):
        return self.dropout2(self.linear2(self.dropout(torch.nn.functional.gelu(self.linear1(h)))))

    def forward(self, x, mask=None):
        if self.norm_first:
            h = x + self._sa(self.norm1(x), mask)
            return h + self._ff(self.norm2(h))
        h = self.norm1(x + self._sa(x, mask))
        return self.norm2(h + self._ff(h))
''',
}

WRONG = {
    "07.layer_norm": '''
def layer_norm(x, weight, bias, eps):
    mean = x.mean(dim=-1, keepdim=True)
    variance = x.var(dim=-1, keepdim=True)  # unbiased (divides by d - 1)
    return (x - mean) / torch.sqrt(variance + eps) * weight + bias
''',
    "07.feed_forward": '''
def feed_forward(x, w1, b1, w2, b2):
    hidden = torch.relu(x @ w1.T + b1)  # ReLU instead of GELU
    return hidden @ w2.T + b2
''',
    "07.encoder_block": '''
class EncoderBlock(nn.Module):
    def __init__(self, d_model, d_ff, attention, dropout=0.1, norm_first=False):
        super().__init__()
        self.norm_first = norm_first
        self.self_attn = attention
        self.linear1 = nn.Linear(d_model, d_ff)
        self.linear2 = nn.Linear(d_ff, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)

    def forward(self, x, mask=None):
        def ff(h):
            return self.linear2(nn.functional.gelu(self.linear1(h)))
        if self.norm_first:
            # pre-norm written with the residual added to the normalised input
            h = self.norm1(x)
            h = h + self.self_attn(h, h, h, mask=mask)
            g = self.norm2(h)
            return g + ff(g)
        h = self.norm1(x + self.self_attn(x, x, x, mask=mask))
        return self.norm2(h + ff(h))
''',
}
