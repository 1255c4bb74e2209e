"""Misconceptions of chapter 5 (format: see autograder/diagnose.py)."""

from autograder.diagnose import Misconception, variant

SELF = "Self-attention"
CROSS = "Cross-attention"
SINUSOIDS = "Sinusoidal positional encodings"

LAYER = '''
class SelfAttention(nn.Module):
    def __init__(self, d_model, d_k, d_v):
        super().__init__()
        self.q_proj = nn.Linear(d_model, d_k, bias=False)
        self.k_proj = nn.Linear(d_model, d_k, bias=False)
        self.v_proj = nn.Linear(d_model, d_v, bias=False)

    def forward(self, X):
        q, k, v = self.q_proj(X), self.k_proj(X), self.v_proj(X)
        logits = q @ k.transpose(-2, -1) / q.shape[-1] ** 0.5
        weights = torch.softmax(logits, dim=-1)
        return weights @ v, weights
'''

PADDED = '''
def cross_attention(X_target, X_source, source_mask, W_q, W_k, W_v):
    q, k, v = X_target @ W_q, X_source @ W_k, X_source @ W_v
    logits = q @ k.transpose(-2, -1) / W_k.shape[-1] ** 0.5
    logits = logits.masked_fill(~source_mask[:, None, :], float("-inf"))
    return torch.softmax(logits, dim=-1) @ v
'''

ENCODING = '''
def sinusoidal_encoding(n, d_model):
    if d_model % 2:
        raise ValueError("d_model must be even")
    positions = torch.arange(n, dtype=torch.float64)[:, None]
    rates = 10000.0 ** (-torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
    angles = positions * rates
    out = torch.zeros(n, d_model, dtype=torch.float64)
    out[:, 0::2] = torch.sin(angles)
    out[:, 1::2] = torch.cos(angles)
    return out.float()
'''

PADDING = "Padded batches of source sentences"

MISCONCEPTIONS = [
    Misconception(
        "05.self_attention_layer", "no-scaling",
        "Your self-attention leaves out the division by sqrt(d_k), so the scores grow with the projection "
        "width and the weights become too sharp.",
        SELF, variant(LAYER, (" / q.shape[-1] ** 0.5", ""))),
    Misconception(
        "05.self_attention_layer", "scales-by-the-value-width",
        "Your self-attention divides by sqrt(d_v), the width of the values, instead of sqrt(d_k), the width "
        "of the queries and keys that meet in the dot product.",
        SELF, variant(LAYER, ("q.shape[-1] ** 0.5", "v.shape[-1] ** 0.5"))),
    Misconception(
        "05.self_attention_layer", "scales-by-the-model-width",
        "Your self-attention divides by sqrt(d_model), the width of the tokens, instead of sqrt(d_k), the "
        "width of the projected queries and keys in the dot product.",
        SELF, variant(LAYER, ("q.shape[-1] ** 0.5", "X.shape[-1] ** 0.5"))),
    Misconception(
        "05.self_attention_layer", "softmax-over-the-queries",
        "Your self-attention normalises over the queries (dim -2) instead of the keys (dim -1), so each "
        "token's weights no longer sum to 1.",
        SELF, variant(LAYER, ("dim=-1", "dim=-2"))),
    Misconception(
        "05.padded_cross_attention", "mask-on-the-targets",
        "Your mask hides target rows instead of source columns: the key padding mask (B, n_source) must "
        "become (B, 1, n_source), so that it hides the same pad keys for every target position.",
        PADDING, variant(PADDED, ("source_mask[:, None, :]", "source_mask[:, :, None]"))),
    Misconception(
        "05.padded_cross_attention", "mask-inverted",
        "Your mask hides the real source tokens and keeps the padding: True in source_mask marks a real "
        "token, so fill the scores where the mask is False.",
        PADDING, variant(PADDED, ("~source_mask[:, None, :]", "source_mask[:, None, :]"))),
    Misconception(
        "05.padded_cross_attention", "mask-after-the-softmax",
        "Your attention zeroes the pad weights after the softmax, so the remaining weights no longer sum to "
        "1: mask the scores with -inf before the softmax.",
        PADDING, variant(PADDED, (
            '    logits = logits.masked_fill(~source_mask[:, None, :], float("-inf"))\n'
            '    return torch.softmax(logits, dim=-1) @ v',
            '    weights = torch.softmax(logits, dim=-1).masked_fill(~source_mask[:, None, :], 0.0)\n'
            '    return weights @ v'))),
    Misconception(
        "05.padded_cross_attention", "no-scaling",
        "Your cross-attention leaves out the division by sqrt(d_k), so the scores grow with the projection "
        "width and the weights become too sharp.",
        CROSS, variant(PADDED, (" / W_k.shape[-1] ** 0.5", ""))),
    Misconception(
        "05.sinusoidal_encoding", "sines-then-cosines",
        "Your encoding puts all the sines first and all the cosines after them; the sine and cosine of each "
        "frequency sit side by side, in columns 2i and 2i + 1.",
        SINUSOIDS, variant(ENCODING, (
            "out[:, 0::2] = torch.sin(angles)\n    out[:, 1::2] = torch.cos(angles)",
            "out = torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)"))),
    Misconception(
        "05.sinusoidal_encoding", "sines-and-cosines-swapped",
        "Your encoding puts cosines in the even columns and sines in the odd ones; the original Transformer puts the "
        "sine first (column 2i) and the cosine second (column 2i + 1).",
        SINUSOIDS, variant(ENCODING, ("0::2] = torch.sin", "0::2] = torch.cos"), ("1::2] = torch.cos", "1::2] = torch.sin"))),
    Misconception(
        "05.sinusoidal_encoding", "a-frequency-per-column",
        "Your encoding gives every column its own frequency, 10000 ** (j / d_model); the two columns of a "
        "pair share one frequency, 10000 ** (2i / d_model).",
        SINUSOIDS, variant(ENCODING, (
            "-torch.arange(0, d_model, 2, dtype=torch.float64) / d_model",
            "-torch.arange(0, d_model, dtype=torch.float64) / d_model"), (
            "angles = positions * rates", "angles = positions * rates[0::2], positions * rates[1::2]"), (
            "torch.sin(angles)", "torch.sin(angles[0])"), ("torch.cos(angles)", "torch.cos(angles[1])"))),
    Misconception(
        "05.sinusoidal_encoding", "float32-angles",
        "Your encoding computes the angles in float32, whose rounding error grows with the position until "
        "sin and cos of a large angle are off in the third digit: compute in float64, convert at the end.",
        SINUSOIDS, variant(ENCODING, ("dtype=torch.float64)[:, None]", "dtype=torch.float32)[:, None]"),
                                      ("2, dtype=torch.float64)", "2, dtype=torch.float32)"),
                                      ("d_model, dtype=torch.float64)", "d_model, dtype=torch.float32)"))),
]
