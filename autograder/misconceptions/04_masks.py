"""Misconceptions of chapter 4 (format: see autograder/diagnose.py)."""

from autograder.diagnose import Misconception

TRUE_MEANS = "A boolean mask: what does `True` mean?"
CAUSAL = "A causal mask"
FULLY_MASKED = "The fully masked row"
AFTER = "Why not mask after the softmax?"
TRAP = "The trap: `True` means opposite things"
TOGETHER = "Padding and causal together"

DECODER = '''
def decoder_mask(lengths, max_len, padding_side="right"):
    positions = torch.arange(max_len)
    if padding_side == "right":
        real = positions[None, :] < lengths[:, None]
    else:
        real = positions[None, :] >= (max_len - lengths)[:, None]
    causal = {causal}
    return causal[None, :, :] & real[:, None, :]
'''

SOFTMAX_THEN_MASK = '''
def masked_softmax(scores, mask):
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    probs = e / e.sum(axis=-1, keepdims=True)
    return {finish}
'''

ATTENTION = '''
def masked_attention(Q, K, V, mask):
    logits = (Q @ K.transpose(-2, -1)) {scale}
    {masking}
    return probs @ V
'''

MISCONCEPTIONS = [
    Misconception(
        "04.padding_mask", "true-marks-padding",
        "Your mask is True at the padding, the opposite of this course's convention: True means a real "
        "position that may be attended to.",
        TRUE_MEANS, '''
def padding_mask(lengths, max_len):
    return torch.arange(max_len)[None, :] >= lengths[:, None]
'''),
    Misconception(
        "04.padding_mask", "off-by-one",
        "Your mask lets position lengths[b] through as well: positions count from 0, so the real positions "
        "are j < lengths[b], not j <= lengths[b].",
        TRUE_MEANS, '''
def padding_mask(lengths, max_len):
    return torch.arange(max_len)[None, :] <= lengths[:, None]
'''),
    Misconception(
        "04.padding_mask", "numbers-not-booleans",
        "Your mask holds 0s and 1s instead of booleans: masked_fill, where and ~ need a bool tensor, so "
        "compare (j < lengths[b]) and keep the result as it is.",
        TRUE_MEANS, '''
def padding_mask(lengths, max_len):
    return (torch.arange(max_len)[None, :] < lengths[:, None]).long()
'''),
    Misconception(
        "04.padding_mask", "positions-first",
        "Your mask has the positions on the first axis and the sequences on the second: broadcast the "
        "lengths down a column, lengths[:, None], to get (batch, max_len).",
        TRUE_MEANS, '''
def padding_mask(lengths, max_len):
    return torch.arange(max_len)[:, None] < lengths[None, :]
'''),
    Misconception(
        "04.decoder_mask", "future-allowed",
        "Your causal part keeps the upper triangle, which lets each query see the future and not the past: "
        "query i may attend to keys j <= i, the lower triangle.",
        CAUSAL, DECODER.format(causal="positions[None, :] >= positions[:, None]")),
    Misconception(
        "04.decoder_mask", "diagonal-masked",
        "Your causal part also hides the diagonal, so a token cannot attend to itself (and the first token to "
        "nothing): keep j <= i, tril with diagonal=0.",
        CAUSAL, DECODER.format(causal="positions[None, :] < positions[:, None]")),
    Misconception(
        "04.decoder_mask", "left-padding-ignored",
        "Your mask always takes the first lengths[b] positions as the real ones, but with padding_side=\"left\" "
        "the padding comes first and the real tokens are the last lengths[b] positions.",
        TOGETHER, '''
def decoder_mask(lengths, max_len, padding_side="right"):
    positions = torch.arange(max_len)
    real = positions[None, :] < lengths[:, None]
    causal = positions[None, :] <= positions[:, None]
    return causal[None, :, :] & real[:, None, :]
'''),
    Misconception(
        "04.decoder_mask", "padding-on-the-query-axis",
        "Your mask hides the rows of the pad queries instead of the columns of the pad keys, so real queries "
        "still attend to padding: a key mask varies along the last axis, real[:, None, :].",
        TOGETHER, '''
def decoder_mask(lengths, max_len, padding_side="right"):
    positions = torch.arange(max_len)
    if padding_side == "right":
        real = positions[None, :] < lengths[:, None]
    else:
        real = positions[None, :] >= (max_len - lengths)[:, None]
    causal = positions[None, :] <= positions[:, None]
    return causal[None, :, :] & real[:, :, None]
'''),
    Misconception(
        "04.decoder_mask", "or-instead-of-and",
        "Your mask combines the causal and the padding masks with | (allowed by either), so queries see the "
        "future and the padding: a pair is allowed only when both masks allow it, &.",
        TOGETHER, DECODER.format(causal="positions[None, :] <= positions[:, None]").replace(
            "causal[None, :, :] & real", "causal[None, :, :] | real")),
    Misconception(
        "04.masked_softmax", "large-finite-fill",
        "Your softmax fills masked scores with a large finite negative number, so a row with no allowed key "
        "comes out uniform instead of all zeros: use -inf, and give fully masked rows zeros explicitly.",
        FULLY_MASKED, '''
def masked_softmax(scores, mask):
    filled = np.where(mask, scores, -1e9)
    e = np.exp(filled - filled.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
'''),
    Misconception(
        "04.masked_softmax", "nan-in-fully-masked-rows",
        "Your softmax fills masked scores with -inf but does not handle a row with no allowed key, where "
        "the sum is 0 and 0 / 0 gives NaN: give such rows zeros.",
        FULLY_MASKED, '''
def masked_softmax(scores, mask):
    filled = np.where(mask, scores, -np.inf)
    e = np.exp(filled - filled.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
'''),
    Misconception(
        "04.masked_softmax", "mask-after-softmax",
        "Your softmax zeroes the masked weights after normalising, so the remaining weights no longer sum "
        "to 1: mask the scores before the softmax.",
        AFTER, SOFTMAX_THEN_MASK.format(finish="probs * mask")),
    Misconception(
        "04.masked_softmax", "mask-after-softmax-renormalised",
        "Your softmax normalises over all keys and renormalises after masking, which is the same on paper "
        "but not in floating point: a large masked score makes the allowed weights underflow to 0 (and 0 / 0 "
        "is NaN); mask the scores before the softmax.",
        AFTER, SOFTMAX_THEN_MASK.format(
            finish="(probs * mask) / (probs * mask).sum(axis=-1, keepdims=True)")),
    Misconception(
        "04.masked_softmax", "mask-inverted",
        "Your softmax keeps the keys where the mask is False and hides those where it is True: in this "
        "course True means may attend.",
        TRAP, '''
def masked_softmax(scores, mask):
    hidden = np.broadcast_to(mask, scores.shape)
    filled = np.where(hidden, -np.inf, scores)
    row_max = np.max(filled, axis=-1, keepdims=True)
    e = np.exp(filled - np.where(np.isfinite(row_max), row_max, 0))
    totals = e.sum(axis=-1, keepdims=True)
    return e / np.where(totals > 0, totals, 1)
'''),
    Misconception(
        "04.masked_attention", "large-finite-fill",
        "Your attention fills masked scores with a large finite negative number, so a query with no "
        "allowed key gets uniform weights (the mean of the values) instead of zeros: use -inf and zero "
        "such rows.",
        FULLY_MASKED, ATTENTION.format(
            scale="/ Q.shape[-1] ** 0.5",
            masking="probs = torch.softmax(logits.masked_fill(~mask, -1e9), dim=-1)")),
    Misconception(
        "04.masked_attention", "nan-in-fully-masked-rows",
        "Your attention fills masked scores with -inf but does not handle a query with no allowed key, "
        "whose softmax is 0 / 0 = NaN: replace such rows with zeros.",
        FULLY_MASKED, ATTENTION.format(
            scale="/ Q.shape[-1] ** 0.5",
            masking="probs = torch.softmax(logits.masked_fill(~mask, float('-inf')), dim=-1)")),
    Misconception(
        "04.masked_attention", "mask-after-softmax",
        "Your attention zeroes the masked weights after the softmax, so the remaining weights no longer sum "
        "to 1: mask the scores before the softmax.",
        AFTER, ATTENTION.format(
            scale="/ Q.shape[-1] ** 0.5",
            masking="probs = torch.softmax(logits, dim=-1) * mask")),
    Misconception(
        "04.masked_attention", "no-scaling",
        "Your attention leaves out the division by sqrt(d_k), so the scores grow with the key dimension "
        "and the weights become too sharp.",
        "Applying a mask: $-\\infty$ before the softmax", ATTENTION.format(
            scale="",
            masking="probs = torch.softmax(logits.masked_fill(~mask, float('-inf')), dim=-1)\n"
                    "    probs = torch.where(mask.any(dim=-1, keepdim=True), probs, 0.0)")),
    Misconception(
        "04.masked_attention", "mask-inverted",
        "Your attention hides the keys where the mask is True and keeps those where it is False: in this "
        "course True means may attend (nn.MultiheadAttention's attn_mask means the opposite).",
        TRAP, ATTENTION.format(
            scale="/ Q.shape[-1] ** 0.5",
            masking="probs = torch.softmax(logits.masked_fill(mask, float('-inf')), dim=-1)\n"
                    "    probs = torch.where((~mask).any(dim=-1, keepdim=True), probs, 0.0)")),
]
