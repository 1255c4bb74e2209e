"""Chapter 9 corpus for measuring the diagnosis (see 01_query_key_value.py for the format)."""

MHA = '''
class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, num_heads, bias=True):
        super().__init__()
        self.h, self.d = num_heads, d_model // num_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def forward(self, query, key, value, mask=None, need_weights=False):
        q = self.q_proj(query).unflatten(-1, (self.h, self.d)).transpose(1, 2)
        k = self.k_proj(key).unflatten(-1, (self.h, self.d)).transpose(1, 2)
        v = self.v_proj(value).unflatten(-1, (self.h, self.d)).transpose(1, 2)
        s = torch.einsum("bhid,bhjd->bhij", q, k) * self.d ** -0.5
        if mask is not None:
            s = s.masked_fill(mask.logical_not(), -torch.inf)
        w = s.softmax(-1)
        if mask is not None:
            w = w.masked_fill(mask.logical_not().all(-1, keepdim=True), 0.0)
        out = self.out_proj(torch.einsum("bhij,bhjd->bihd", w, v).flatten(2))
        return (out, w) if need_weights else out
'''

CORRECT = {
    "09.multi_head_attention": [MHA],
    "09.align_labels": ['''
def align_labels(word_ids, word_labels):
    return [word_labels[w] if w is not None and (i == 0 or word_ids[i - 1] != w) else -100
            for i, w in enumerate(word_ids)]
'''],
    "09.token_classification_loss": ['''
def token_classification_loss(hidden, weight, bias, labels):
    logits = torch.nn.functional.linear(hidden, weight, bias)
    return logits, torch.nn.functional.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100)
'''],
    "09.span_f1": ['''
def span_f1(true_tags, pred_tags):
    from seqeval.metrics import f1_score, precision_score, recall_score
    return (float(precision_score(true_tags, pred_tags)), float(recall_score(true_tags, pred_tags)),
            float(f1_score(true_tags, pred_tags)))
'''],
}

SPANS = '''
def span_f1(true_tags, pred_tags):
    def chunks(tags, s):
        out, begin = [], None
        for i, tag in enumerate(tags + ["O"]):
            if begin is not None and not (tag[:2] == "I-" and tag[2:] == tags[begin][2:]):
                out.append((s, tags[begin][2:], begin, i - 1))
                begin = None
            if tag != "O" and begin is None:
                begin = i
        return out
    gold = {c for s, tags in enumerate(true_tags) for c in chunks(list(tags), s)}
    pred = {c for s, tags in enumerate(pred_tags) for c in chunks(list(tags), s)}
    hit = MATCH
    p = hit / len(pred) if pred else 0.0
    r = hit / len(gold) if gold else 0.0
    return p, r, 2 * p * r / (p + r) if p + r else 0.0
'''

WRONG = [
    ("09.multi_head_attention", {"no-scaling"}, MHA.replace(" * self.d ** -0.5", "")),
    ("09.multi_head_attention", {"nan-in-fully-masked-rows"}, MHA.replace(
        "w = w.masked_fill(mask.logical_not().all(-1, keepdim=True), 0.0)", "pass")),
    ("09.multi_head_attention", {"interleaved-heads"}, MHA.replace(
        ".unflatten(-1, (self.h, self.d)).transpose(1, 2)", ".unflatten(-1, (self.d, self.h)).permute(0, 3, 1, 2)").replace(
        'torch.einsum("bhij,bhjd->bihd", w, v).flatten(2)', 'torch.einsum("bhij,bhjd->bidh", w, v).flatten(2)')),
    ("09.multi_head_attention", {"large-finite-fill"}, MHA.replace("-torch.inf", "-1e4").replace(
        "w = w.masked_fill(mask.logical_not().all(-1, keepdim=True), 0.0)", "pass")),
    ("09.align_labels", {"every-sub-token-labelled"}, '''
def align_labels(word_ids, word_labels):
    out = []
    for w in word_ids:
        out.append(-100 if w is None else word_labels[w])
    return out
'''),
    ("09.align_labels", {"special-tokens-labelled-0"}, '''
def align_labels(word_ids, word_labels):
    seen = set()
    out = []
    for w in word_ids:
        if w is None:
            out.append(0)
        elif w in seen:
            out.append(-100)
        else:
            seen.add(w)
            out.append(word_labels[w])
    return out
'''),
    ("09.align_labels", {"last-sub-token-labelled"}, '''
def align_labels(word_ids, word_labels):
    out = [-100] * len(word_ids)
    last = {w: i for i, w in enumerate(word_ids) if w is not None}
    for w, i in last.items():
        out[i] = word_labels[w]
    return out
'''),
    ("09.token_classification_loss", {"padding-not-ignored"}, '''
def token_classification_loss(hidden, weight, bias, labels):
    logits = hidden @ weight.T + bias
    safe = torch.where(labels < 0, torch.zeros_like(labels), labels)
    return logits, torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), safe.reshape(-1))
'''),
    ("09.token_classification_loss", {"sum-not-mean"}, '''
def token_classification_loss(hidden, weight, bias, labels):
    logits = torch.einsum("bnd,cd->bnc", hidden, weight) + bias
    return logits, torch.nn.functional.cross_entropy(logits.flatten(0, 1), labels.flatten(), reduction="sum")
'''),
    ("09.token_classification_loss", {"log-of-softmax"}, '''
def token_classification_loss(hidden, weight, bias, labels):
    logits = hidden @ weight.T + bias
    probs = logits.softmax(-1)
    keep = labels != -100
    chosen = probs[keep].gather(-1, labels[keep][:, None]).squeeze(-1)
    return logits, -chosen.log().mean()
'''),
    ("09.span_f1", {"partial-overlap-counts"}, SPANS.replace(
        "MATCH", "sum(1 for e in pred if any(g[:2] == e[:2] and not (g[3] < e[2] or e[3] < g[2]) for g in gold))")),
    ("09.span_f1", {"type-ignored"}, SPANS.replace(
        "MATCH", "len({(c[0], c[2], c[3]) for c in gold} & {(c[0], c[2], c[3]) for c in pred})")),
    ("09.span_f1", {"token-level-scores"}, '''
def span_f1(true_tags, pred_tags):
    hit = sum(1 for ts, ps in zip(true_tags, pred_tags) for t, p in zip(ts, ps) if p != "O" and p == t)
    n_pred = sum(p != "O" for ps in pred_tags for p in ps)
    n_gold = sum(t != "O" for ts in true_tags for t in ts)
    p = hit / n_pred if n_pred else 0.0
    r = hit / n_gold if n_gold else 0.0
    return p, r, 2 * p * r / (p + r) if p + r else 0.0
'''),
    ("09.span_f1", set(), SPANS.replace("MATCH", "len(gold & pred)").replace("return p, r, 2 * p * r / (p + r)", "return r, p, 2 * p * r / (p + r)")),
]

VARIANTS = {"09.multi_head_attention": set(), "09.align_labels": {"every-sub-token-labelled"},
            # its comment says "averages over every position", but its code sums the labelled ones only
            # and divides by every position
            "09.token_classification_loss": {"divides-by-every-position"}, "09.span_f1": {"i-after-o-ignored"}}
