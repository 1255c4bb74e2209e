"""Misconceptions of chapter 6 (format: see autograder/diagnose.py)."""

from autograder.diagnose import Misconception, variant

SPLIT = "All heads at once: one projection, then a split"
OWN = "Your own `MultiHeadAttention`"
MASKS = "Masks broadcast over heads"
PARITY = "Parity with `torch.nn.MultiheadAttention`"
DEBUG = "Debugging a broken implementation"

MHA = '''
class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, num_heads, bias=True):
        super().__init__()
        self.d_model, self.num_heads, self.d_head = d_model, num_heads, d_model // num_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def split(self, x):
        b, t, _ = x.shape
        return x.view(b, t, self.num_heads, self.d_head).transpose(1, 2)

    def merge(self, x):
        b, _, t, _ = x.shape
        return x.transpose(1, 2).reshape(b, t, self.d_model)

    def forward(self, query, key, value, mask=None, need_weights=False):
        q, k, v = self.split(self.q_proj(query)), self.split(self.k_proj(key)), self.split(self.v_proj(value))
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.d_head)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        if mask is not None:
            weights = torch.where(mask.any(dim=-1, keepdim=True), weights, 0.0)
        out = self.out_proj(self.merge(weights @ v))
        return (out, weights) if need_weights else out
'''

COPY = '''
def copy_from_torch(mha, torch_mha):
    d = torch_mha.embed_dim
    w, b = torch_mha.in_proj_weight, torch_mha.in_proj_bias
    with torch.no_grad():
        mha.q_proj.weight.copy_(w[:d]); mha.q_proj.bias.copy_(b[:d])
        mha.k_proj.weight.copy_(w[d:2 * d]); mha.k_proj.bias.copy_(b[d:2 * d])
        mha.v_proj.weight.copy_(w[2 * d:]); mha.v_proj.bias.copy_(b[2 * d:])
        mha.out_proj.weight.copy_(torch_mha.out_proj.weight); mha.out_proj.bias.copy_(torch_mha.out_proj.bias)
'''

REPAIRED = '''
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
        scores = q @ k.transpose(-2, -1) / math.sqrt(d_head)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        out = scores.softmax(dim=-1) @ v
        out = out.permute(0, 2, 1, 3).reshape(b, -1, self.d_model)
        return self.fc(out)
'''

MISCONCEPTIONS = [
    Misconception(
        "06.split_heads", "no-transpose",
        "Your split reshapes the features into heads but leaves the head axis after the tokens, (batch, n, h, "
        "d_head): transpose axes 1 and 2 so that each head holds a whole sequence.",
        SPLIT, '''
def split_heads(x, num_heads):
    batch, n, width = x.shape
    return x.view(batch, n, num_heads, width // num_heads)
'''),
    Misconception(
        "06.split_heads", "view-instead-of-transpose",
        "Your split views the tensor as (batch, h, n, d_head) directly, which cuts the flat memory in the wrong "
        "places and mixes tokens into heads: view as (batch, n, h, d_head) first, then transpose(1, 2).",
        SPLIT, '''
def split_heads(x, num_heads):
    batch, n, width = x.shape
    return x.reshape(batch, num_heads, n, width // num_heads)
'''),
    Misconception(
        "06.split_heads", "interleaved-heads",
        "Your split deals the features out to the heads in turn (feature j to head j % h), but head i holds "
        "the contiguous block of features i * d_head to (i + 1) * d_head - 1.",
        SPLIT, '''
def split_heads(x, num_heads):
    batch, n, width = x.shape
    return x.view(batch, n, width // num_heads, num_heads).permute(0, 3, 1, 2)
'''),
    Misconception(
        "06.split_heads", "transpose-before-view",
        "Your split transposes tokens and features first and then reshapes, which cuts the heads out of the "
        "transposed memory and mixes tokens into features: view as (batch, n, h, d_head), then transpose.",
        SPLIT, '''
def split_heads(x, num_heads):
    batch, n, width = x.shape
    return x.transpose(1, 2).reshape(batch, num_heads, n, width // num_heads)
'''),
    Misconception(
        "06.merge_heads", "no-transpose",
        "Your merge reshapes (batch, h, n, d_head) to (batch, n, h * d_head) without moving the head axis "
        "back behind the tokens, so tokens get mixed: transpose(1, 2) first, then reshape.",
        SPLIT, '''
def merge_heads(x):
    batch, num_heads, n, d_head = x.shape
    return x.reshape(batch, n, num_heads * d_head)
'''),
    Misconception(
        "06.merge_heads", "interleaved-heads",
        "Your merge interleaves the heads' features (feature j of every head side by side) instead of "
        "concatenating each head's block of d_head features.",
        SPLIT, '''
def merge_heads(x):
    batch, num_heads, n, d_head = x.shape
    return x.permute(0, 2, 3, 1).reshape(batch, n, num_heads * d_head)
'''),
    Misconception(
        "06.merge_heads", "sums-the-heads",
        "Your merge adds the heads together, which loses what each head found and gives d_head features "
        "instead of h * d_head: concatenate them.",
        SPLIT, '''
def merge_heads(x):
    return x.sum(dim=1)
'''),
    Misconception(
        "06.multi_head_attention", "scales-by-the-model-width",
        "Your attention divides by sqrt(d_model) instead of sqrt(d_head): each head's dot product runs over "
        "d_head features only.",
        OWN, variant(MHA, ("math.sqrt(self.d_head)", "math.sqrt(self.d_model)"))),
    Misconception(
        "06.multi_head_attention", "interleaved-heads",
        "Your heads take every h-th feature (interleaved) instead of a contiguous block of d_head features: "
        "view as (B, n, h, d_head), then transpose.",
        SPLIT, variant(MHA, (
            "x.view(b, t, self.num_heads, self.d_head).transpose(1, 2)",
            "x.view(b, t, self.d_head, self.num_heads).permute(0, 3, 1, 2)"), (
            "x.transpose(1, 2).reshape(b, t, self.d_model)", "x.permute(0, 2, 3, 1).reshape(b, t, self.d_model)"))),
    Misconception(
        "06.multi_head_attention", "large-finite-fill",
        "Your attention fills masked scores with a large finite negative number and keeps the softmax as it "
        "is, so a query with no allowed key gets uniform weights instead of zeros.",
        MASKS, variant(MHA, ('float("-inf")', "torch.finfo(scores.dtype).min"), (
            "weights = torch.where(mask.any(dim=-1, keepdim=True), weights, 0.0)", "pass"))),
    Misconception(
        "06.multi_head_attention", "elementwise-scores",
        "Your scores multiply queries and keys elementwise and sum, (q * k).sum(-1), which pairs query i "
        "only with key i: the scores of every query with every key are the matrix product q @ k^T.",
        OWN, variant(MHA, (
            "scores = q @ k.transpose(-2, -1) / math.sqrt(self.d_head)",
            "scores = (q * k).sum(-1, keepdim=True) / math.sqrt(self.d_head)"), (
            "weights @ v", "weights * v"))),
    Misconception(
        "06.multi_head_attention", "mask-inverted",
        "Your attention hides the keys where the mask is True: in this course True means may attend.",
        MASKS, variant(MHA, ("scores.masked_fill(~mask,", "scores.masked_fill(mask,"), (
            "mask.any(dim=-1, keepdim=True)", "(~mask).any(dim=-1, keepdim=True)"))),
    Misconception(
        "06.copy_from_torch", "query-and-key-swapped",
        "Your copy takes the key projection from the first block of in_proj_weight, but PyTorch stacks the "
        "query, key and value weights in that order.",
        PARITY, variant(COPY, ("mha.q_proj.weight.copy_(w[:d]); mha.q_proj.bias.copy_(b[:d])",
                               "mha.k_proj.weight.copy_(w[:d]); mha.k_proj.bias.copy_(b[:d])"),
                        ("mha.k_proj.weight.copy_(w[d:2 * d]); mha.k_proj.bias.copy_(b[d:2 * d])",
                         "mha.q_proj.weight.copy_(w[d:2 * d]); mha.q_proj.bias.copy_(b[d:2 * d])"))),
    Misconception(
        "06.copy_from_torch", "weights-transposed",
        "Your copy transposes the weight matrices, but nn.Linear and nn.MultiheadAttention both store a "
        "weight as (out_features, in_features): copy them as they are.",
        PARITY, variant(COPY, ("copy_(w[:d])", "copy_(w[:d].T)"), ("copy_(w[d:2 * d])", "copy_(w[d:2 * d].T)"),
                        ("copy_(w[2 * d:])", "copy_(w[2 * d:].T)"),
                        ("copy_(torch_mha.out_proj.weight)", "copy_(torch_mha.out_proj.weight.T)"))),
    Misconception(
        "06.copy_from_torch", "biases-not-copied",
        "Your copy moves the weight matrices but not the biases, so the projections keep their own random "
        "biases: in_proj_bias and out_proj.bias must be copied too.",
        PARITY, variant(COPY, ("; mha.q_proj.bias.copy_(b[:d])", ""), ("; mha.k_proj.bias.copy_(b[d:2 * d])", ""),
                        ("; mha.v_proj.bias.copy_(b[2 * d:])", ""), ("; mha.out_proj.bias.copy_(torch_mha.out_proj.bias)", ""))),
    Misconception(
        "06.copy_from_torch", "output-projection-not-copied",
        "Your copy moves the packed input projection but forgets the output projection, out_proj.",
        PARITY, variant(COPY, (
            "        mha.out_proj.weight.copy_(torch_mha.out_proj.weight); mha.out_proj.bias.copy_(torch_mha.out_proj.bias)\n",
            ""))),
    Misconception(
        "06.repaired_attention", "merge-without-transpose",
        "Your output keeps the article's final view: it reads (B, h, n, d_head) as (B, n, d_model) without moving "
        "the head axis back behind the tokens, so tokens and heads get mixed: permute(0, 2, 1, 3) first.",
        DEBUG, variant(REPAIRED, ("out.permute(0, 2, 1, 3).reshape(b, -1, self.d_model)",
                                  "out.reshape(b, -1, self.d_model)"))),
    Misconception(
        "06.repaired_attention", "no-scaling",
        "Your attention keeps the article's missing division by sqrt(d_head), so the scores grow with the head "
        "width and the weights become too sharp.",
        DEBUG, variant(REPAIRED, (" / math.sqrt(d_head)", ""))),
    Misconception(
        "06.repaired_attention", "mask-still-ignored",
        "Your attention still ignores the mask, as the article's does: fill the scores of the keys a query may "
        "not see with -inf before the softmax.",
        DEBUG, variant(REPAIRED, ("        if mask is not None:\n            scores = scores.masked_fill(~mask, "
                                  "float(\"-inf\"))\n", ""))),
    Misconception(
        "06.repaired_attention", "mask-inverted",
        "Your attention hides the keys where the mask is True: in this course True means may attend.",
        MASKS, variant(REPAIRED, ("masked_fill(~mask,", "masked_fill(mask,"))),
    Misconception(
        "06.repaired_attention", "softmax-over-the-queries",
        "Your softmax runs over the queries (dim -2) instead of the keys (dim -1), so a query's weights no "
        "longer sum to 1.",
        DEBUG, variant(REPAIRED, ("scores.softmax(dim=-1)", "scores.softmax(dim=-2)"))),
]
