"""Misconceptions of chapter 7 (format: see autograder/diagnose.py)."""

from autograder.diagnose import Misconception, variant

NORM = "Layer normalisation"
FFN = "The position-wise feed-forward network"
PLACEMENT = "Post-norm or pre-norm?"
MATCHED = "The encoder block, matched against PyTorch"

LAYER_NORM = '''
def layer_norm(x, weight, bias, eps):
    mean = x.mean(dim=-1, keepdim=True)
    variance = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(variance + eps) * weight + bias
'''

FEED_FORWARD = '''
def feed_forward(x, w1, b1, w2, b2):
    hidden = nn.functional.gelu(x @ w1.T + b1)
    return hidden @ w2.T + b2
'''

BLOCK = '''
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

    def attend(self, h, mask):
        return self.dropout1(self.self_attn(h, h, h, mask=mask))

    def feed(self, h):
        return self.dropout2(self.linear2(self.dropout(nn.functional.gelu(self.linear1(h)))))

    def forward(self, x, mask=None):
        if self.norm_first:
            x = x + self.attend(self.norm1(x), mask)
            x = x + self.feed(self.norm2(x))
        else:
            x = self.norm1(x + self.attend(x, mask))
            x = self.norm2(x + self.feed(x))
        return x
'''

MISCONCEPTIONS = [
    Misconception(
        "07.layer_norm", "unbiased-variance",
        "Your layer norm uses the unbiased variance (dividing by d - 1); layer normalisation, like "
        "nn.LayerNorm, divides by d, the biased variance.",
        NORM, variant(LAYER_NORM, ("((x - mean) ** 2).mean(dim=-1, keepdim=True)",
                                   "x.var(dim=-1, keepdim=True, unbiased=True)"))),
    Misconception(
        "07.layer_norm", "eps-added-to-the-std",
        "Your layer norm adds eps to the standard deviation instead of to the variance under the square "
        "root: divide by sqrt(variance + eps).",
        NORM, variant(LAYER_NORM, ("torch.sqrt(variance + eps)", "(torch.sqrt(variance) + eps)"))),
    Misconception(
        "07.layer_norm", "unbiased-std-plus-eps",
        "Your layer norm divides by the unbiased standard deviation plus eps (as some tutorials do), but "
        "layer normalisation divides by sqrt(biased variance + eps).",
        NORM, '''
def layer_norm(x, weight, bias, eps):
    mean = x.mean(dim=-1, keepdim=True)
    return weight * (x - mean) / (x.std(dim=-1, keepdim=True) + eps) + bias
'''),
    Misconception(
        "07.layer_norm", "wrong-axis",
        "Your layer norm normalises over the first axis (across the vectors) instead of over the features of "
        "each vector, the last axis.",
        NORM, variant(LAYER_NORM, ("x.mean(dim=-1, keepdim=True)", "x.mean(dim=0, keepdim=True)"),
                      ("2).mean(dim=-1, keepdim=True)", "2).mean(dim=0, keepdim=True)"))),
    Misconception(
        "07.layer_norm", "no-scale-and-shift",
        "Your layer norm normalises but forgets the learned scale and shift: multiply by weight, then add "
        "bias.",
        NORM, variant(LAYER_NORM, (" * weight + bias", ""))),
    Misconception(
        "07.feed_forward", "relu-instead-of-gelu",
        "Your feed-forward network uses ReLU, which cuts negative pre-activations to 0; this exercise asks "
        "for the GELU, z / 2 * (1 + erf(z / sqrt(2))), which lets small negative values through.",
        FFN, variant(FEED_FORWARD, ("nn.functional.gelu(", "torch.relu("))),
    Misconception(
        "07.feed_forward", "tanh-approximation",
        "Your GELU is the tanh approximation, which differs from the exact erf form in the third or fourth "
        "digit: use erf, or nn.functional.gelu without approximate='tanh'.",
        FFN, variant(FEED_FORWARD, ("gelu(x @ w1.T + b1)", "gelu(x @ w1.T + b1, approximate='tanh')"))),
    Misconception(
        "07.feed_forward", "no-activation",
        "Your feed-forward network has no activation between its two layers, so it is one linear map: "
        "put a GELU on the hidden layer.",
        FFN, variant(FEED_FORWARD, ("nn.functional.gelu(x @ w1.T + b1)", "x @ w1.T + b1"))),
    Misconception(
        "07.feed_forward", "activation-on-the-output",
        "Your feed-forward network also applies the GELU to its output; the activation goes on the hidden "
        "layer only.",
        FFN, variant(FEED_FORWARD, ("return hidden @ w2.T + b2", "return nn.functional.gelu(hidden @ w2.T + b2)"))),
    Misconception(
        "07.encoder_block", "always-post-norm",
        "Your block normalises after each residual sum whatever norm_first says: with norm_first=True "
        "(pre-norm) the input of each sublayer is normalised and the residual path is left alone.",
        PLACEMENT, variant(BLOCK, ("if self.norm_first:", "if False:"))),
    Misconception(
        "07.encoder_block", "always-pre-norm",
        "Your block normalises each sublayer's input whatever norm_first says: with norm_first=False "
        "(post-norm, the original Transformer) the norm comes after each residual sum.",
        PLACEMENT, variant(BLOCK, ("if self.norm_first:", "if True:"))),
    Misconception(
        "07.encoder_block", "relu-activation",
        "Your block's feed-forward network uses ReLU where this block uses GELU (activation='gelu' in the "
        "PyTorch layer it must match).",
        MATCHED, variant(BLOCK, ("nn.functional.gelu(", "torch.relu("))),
    Misconception(
        "07.encoder_block", "mask-inverted",
        "Your block inverts the mask, as nn.MultiheadAttention's attn_mask would need, but the attention module "
        "it is given follows the course's convention (True = may attend): pass the mask unchanged.",
        MATCHED, variant(BLOCK, ("self.self_attn(h, h, h, mask=mask)",
                                 "self.self_attn(h, h, h, mask=None if mask is None else ~mask)"))),
    Misconception(
        "07.encoder_block", "normalised-residual",
        "Your pre-norm block adds the sublayer's output to the normalised input instead of to the input "
        "itself, so the residual path is normalised too: x = x + sublayer(norm(x)).",
        PLACEMENT, variant(BLOCK, ("x = x + self.attend(self.norm1(x), mask)",
                                   "x = self.norm1(x)\n            x = x + self.attend(x, mask)"),
                           ("x = x + self.feed(self.norm2(x))", "x = self.norm2(x)\n            x = x + self.feed(x)"))),
]
