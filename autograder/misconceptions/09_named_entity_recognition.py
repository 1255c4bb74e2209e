"""Misconceptions of chapter 9 (format: see autograder/diagnose.py)."""

from autograder.diagnose import Misconception, variant

ENCODER = "Checking the encoder against the reference"
SUBTOKENS = "Labels for sub-tokens"
HEAD = "The token-classification head"
SPANS = "Evaluation: entity spans, honestly"

MHA = '''
class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, num_heads, bias=True):
        super().__init__()
        self.d_model, self.num_heads, self.d_head = d_model, num_heads, d_model // num_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def heads(self, x):
        b, t, _ = x.shape
        return x.view(b, t, self.num_heads, self.d_head).transpose(1, 2)

    def forward(self, query, key, value, mask=None, need_weights=False):
        q, k, v = self.heads(self.q_proj(query)), self.heads(self.k_proj(key)), self.heads(self.v_proj(value))
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.d_head)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        if mask is not None:
            weights = torch.where(mask.any(dim=-1, keepdim=True), weights, 0.0)
        context = (weights @ v).transpose(1, 2).reshape(query.shape[0], query.shape[1], self.d_model)
        out = self.out_proj(context)
        return (out, weights) if need_weights else out
'''

LOSS = '''
def token_classification_loss(hidden, weight, bias, labels):
    logits = hidden @ weight.T + bias
    log_probs = torch.log_softmax(logits, dim=-1)
    keep = labels != -100
    picked = log_probs.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return logits, -(picked * keep).sum() / keep.sum()
'''

SPAN_F1 = '''
def span_f1(true_tags, pred_tags):
    def entities(sentences):
        found = set()
        for s, tags in enumerate(sentences):
            start, kind = None, None
            for i, tag in enumerate(list(tags) + ["O"]):
                continues = tag.startswith("I-") and kind == tag[2:]
                if start is not None and not continues:
                    found.add((s, kind, start, i - 1))
                    start, kind = None, None
                if tag != "O" and not continues:
                    start, kind = i, tag[2:]
        return found

    gold, pred = entities(true_tags), entities(pred_tags)
    correct = {correct}
    p = correct / len(pred) if pred else 0.0
    r = correct / len(gold) if gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)
'''

MISCONCEPTIONS = [
    Misconception(
        "09.multi_head_attention", "no-scaling",
        "Your attention leaves out the division by sqrt(d_head), so the pretrained weights see scores far "
        "larger than those they were trained with.",
        ENCODER, variant(MHA, (" / math.sqrt(self.d_head)", ""))),
    Misconception(
        "09.multi_head_attention", "interleaved-heads",
        "Your heads take every h-th feature (interleaved) instead of a contiguous block of d_head features, "
        "which is not how BERT's weights are laid out: view as (B, n, h, d_head), then transpose.",
        ENCODER, variant(MHA, (
            "x.view(b, t, self.num_heads, self.d_head).transpose(1, 2)",
            "x.view(b, t, self.d_head, self.num_heads).permute(0, 3, 1, 2)"), (
            "(weights @ v).transpose(1, 2).reshape(", "(weights @ v).permute(0, 2, 3, 1).reshape("))),
    Misconception(
        "09.multi_head_attention", "nan-in-fully-masked-rows",
        "Your attention fills masked scores with -inf but leaves a query with no allowed key at 0 / 0 = NaN: "
        "give such rows all-zero weights.",
        ENCODER, variant(MHA, ("weights = torch.where(mask.any(dim=-1, keepdim=True), weights, 0.0)", "pass"))),
    Misconception(
        "09.multi_head_attention", "large-finite-fill",
        "Your attention fills masked scores with a large finite negative number, so a query with no allowed "
        "key gets uniform weights instead of zeros.",
        ENCODER, variant(MHA, ('float("-inf")', "-1e9"), (
            "weights = torch.where(mask.any(dim=-1, keepdim=True), weights, 0.0)", "pass"))),
    Misconception(
        "09.multi_head_attention", "mask-inverted",
        "Your attention hides the keys where the mask is True, so the model attends to the padding: in this "
        "course True means may attend.",
        ENCODER, variant(MHA, ("scores.masked_fill(~mask,", "scores.masked_fill(mask,"), (
            "mask.any(dim=-1, keepdim=True)", "(~mask).any(dim=-1, keepdim=True)"))),
    Misconception(
        "09.align_labels", "every-sub-token-labelled",
        "Your alignment gives a word's label to every one of its sub-tokens; only the first sub-token carries "
        "it, the others get -100 so the loss and the evaluation count each word once.",
        SUBTOKENS, '''
def align_labels(word_ids, word_labels):
    return [-100 if word is None else word_labels[word] for word in word_ids]
'''),
    Misconception(
        "09.align_labels", "last-sub-token-labelled",
        "Your alignment puts each word's label on its last sub-token; the convention here is the first "
        "sub-token, with -100 on the rest.",
        SUBTOKENS, '''
def align_labels(word_ids, word_labels):
    out = []
    for i, word in enumerate(word_ids):
        last = word is not None and (i + 1 == len(word_ids) or word_ids[i + 1] != word)
        out.append(word_labels[word] if last else -100)
    return out
'''),
    Misconception(
        "09.align_labels", "special-tokens-labelled-0",
        "Your alignment gives the special tokens ([CLS], [SEP]) label 0, which is a real label: positions that "
        "must not count get -100, the index the loss ignores.",
        SUBTOKENS, '''
def align_labels(word_ids, word_labels):
    out, previous = [], None
    for word in word_ids:
        if word is None:
            out.append(0)
        else:
            out.append(word_labels[word] if word != previous else -100)
        previous = word
    return out
'''),
    Misconception(
        "09.align_labels", "labels-by-position",
        "Your alignment takes the label of the sub-token's position instead of its word, word_labels[word_ids[i]]: "
        "look the label up by the word index.",
        SUBTOKENS, '''
def align_labels(word_ids, word_labels):
    out, previous = [], None
    for i, word in enumerate(word_ids):
        first = word is not None and word != previous
        out.append(word_labels[min(i, len(word_labels) - 1)] if first else -100)
        previous = word
    return out
'''),
    Misconception(
        "09.token_classification_loss", "padding-not-ignored",
        "Your loss averages over every position, counting the -100 positions (padding, special tokens, later "
        "sub-tokens) as if they had label 0: average over the labelled positions only.",
        HEAD, variant(LOSS, ("(picked * keep).sum() / keep.sum()", "picked.mean()"))),
    Misconception(
        "09.token_classification_loss", "divides-by-every-position",
        "Your loss sums over the labelled positions but divides by the number of all positions: divide by "
        "the number of labelled ones.",
        HEAD, variant(LOSS, ("/ keep.sum()", "/ keep.numel()"))),
    Misconception(
        "09.token_classification_loss", "sum-not-mean",
        "Your loss is the sum over the labelled positions; cross-entropy here is their mean, so the loss does "
        "not grow with the batch.",
        HEAD, variant(LOSS, (" / keep.sum()", ""))),
    Misconception(
        "09.token_classification_loss", "log-of-softmax",
        "Your loss takes log(softmax(logits)), which is log(0) = -inf when a probability underflows for "
        "large scores: use log_softmax, which computes it stably.",
        HEAD, variant(LOSS, ("torch.log_softmax(logits, dim=-1)", "torch.log(torch.softmax(logits, dim=-1))"))),
    Misconception(
        "09.token_classification_loss", "bias-left-out",
        "Your logits leave out the bias: the head computes hidden @ weight.T + bias.",
        HEAD, variant(LOSS, ("logits = hidden @ weight.T + bias", "logits = hidden @ weight.T"))),
    Misconception(
        "09.span_f1", "token-level-scores",
        "Your scores count tagged tokens, not entities: a prediction is right only when the whole entity (type, "
        "first and last word) matches, so one wrong token loses the entity.",
        SPANS, '''
def span_f1(true_tags, pred_tags):
    pairs = [(t, p) for ts, ps in zip(true_tags, pred_tags) for t, p in zip(ts, ps)]
    correct = sum(t == p != "O" for t, p in pairs)
    predicted = sum(p != "O" for _, p in pairs)
    gold = sum(t != "O" for t, _ in pairs)
    precision = correct / predicted if predicted else 0.0
    recall = correct / gold if gold else 0.0
    return precision, recall, (2 * precision * recall / (precision + recall) if precision + recall else 0.0)
'''),
    Misconception(
        "09.span_f1", "partial-overlap-counts",
        "Your scores count a predicted entity as correct when it merely overlaps a gold entity of the same "
        "type; conlleval and seqeval count only exact matches of the whole span.",
        SPANS, SPAN_F1.format(correct="sum(any(g[0] == e[0] and g[1] == e[1] and g[2] <= e[3] and e[2] <= g[3] "
                                      "for g in gold) for e in pred)")),
    Misconception(
        "09.span_f1", "type-ignored",
        "Your scores count an entity with the right span but the wrong type as correct: the type is part of "
        "the entity.",
        SPANS, SPAN_F1.format(correct="len({(e[0], e[2], e[3]) for e in gold} & {(e[0], e[2], e[3]) for e in pred})")),
    Misconception(
        "09.span_f1", "i-after-o-ignored",
        "Your spans start only at B- tags, but with seqeval's rules an I-X after O (or after another type) "
        "starts an entity too.",
        SPANS, variant(SPAN_F1.format(correct="len(gold & pred)"),
                       ('if tag != "O" and not continues:', 'if tag.startswith("B-"):'))),
]
