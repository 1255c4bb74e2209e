"""Misconceptions of chapter 5 (format: see autograder/diagnose.py)."""

from autograder.diagnose import Misconception, variant

SELF = "Self-attention"
CROSS = "Cross-attention"
SINUSOIDS = "Sinusoidal positional encodings"

SELF_ATTENTION = '''
def self_attention(X, W_q, W_k, W_v):
    q, k, v = X @ W_q, X @ W_k, X @ W_v
    logits = q @ k.transpose(-2, -1) / W_q.shape[-1] ** 0.5
    return torch.softmax(logits, dim=-1) @ v
'''

CROSS_ATTENTION = '''
def cross_attention(X_target, X_source, W_q, W_k, W_v):
    q, k, v = X_target @ W_q, X_source @ W_k, X_source @ W_v
    logits = q @ k.transpose(-2, -1) / W_k.shape[-1] ** 0.5
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

MISCONCEPTIONS = [
    Misconception(
        "05.self_attention", "no-scaling",
        "Your self-attention leaves out the division by sqrt(d_k), so the scores grow with the projection "
        "width and the weights become too sharp.",
        SELF, variant(SELF_ATTENTION, (" / W_q.shape[-1] ** 0.5", ""))),
    Misconception(
        "05.self_attention", "scales-by-the-model-width",
        "Your self-attention divides by sqrt(d_model), the width of the tokens, instead of sqrt(d_k), the "
        "width of the projected queries and keys in the dot product.",
        SELF, variant(SELF_ATTENTION, ("W_q.shape[-1]", "X.shape[-1]"))),
    Misconception(
        "05.self_attention", "softmax-over-the-queries",
        "Your self-attention normalises over the queries (dim -2) instead of the keys (dim -1), so each "
        "token's weights no longer sum to 1.",
        SELF, variant(SELF_ATTENTION, ("dim=-1", "dim=-2"))),
    Misconception(
        "05.self_attention", "values-not-projected",
        "Your self-attention mixes the tokens X themselves instead of their values X W_v, so the output has "
        "the tokens' width instead of d_v.",
        SELF, variant(SELF_ATTENTION, ("@ v\n", "@ X\n"))),
    Misconception(
        "05.cross_attention", "no-scaling",
        "Your cross-attention leaves out the division by sqrt(d_k), so the scores grow with the projection "
        "width and the weights become too sharp.",
        CROSS, variant(CROSS_ATTENTION, (" / W_k.shape[-1] ** 0.5", ""))),
    Misconception(
        "05.cross_attention", "softmax-over-the-targets",
        "Your cross-attention normalises over the target positions (dim -2) instead of the source tokens "
        "(dim -1), so each target's weights no longer sum to 1.",
        CROSS, variant(CROSS_ATTENTION, ("dim=-1", "dim=-2"))),
    Misconception(
        "05.cross_attention", "roles-swapped",
        "Your cross-attention takes the queries from the source and the keys and values from the target: "
        "the target asks (queries), the source answers (keys and values).",
        CROSS, variant(CROSS_ATTENTION, (
            "X_target @ W_q, X_source @ W_k, X_source @ W_v", "X_source @ W_q, X_target @ W_k, X_target @ W_v"))),
    Misconception(
        "05.cross_attention", "scales-by-the-source-width",
        "Your cross-attention divides by the square root of the source tokens' width instead of sqrt(d_k), "
        "the width of the projected queries and keys.",
        CROSS, variant(CROSS_ATTENTION, ("W_k.shape[-1]", "X_source.shape[-1]"))),
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
