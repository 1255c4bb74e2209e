"""Other answers to chapter 9's exercises, for tests/test_chapters.py.

EQUIVALENT answers compute the same thing another way and must keep full marks;
WRONG answers hold a realistic mistake and must lose the exercise's points.
"""

EQUIVALENT = {
    "09.multi_head_attention": '''
class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, num_heads, bias=True):
        super().__init__()
        self.d_model, self.num_heads, self.d_head = d_model, num_heads, d_model // num_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def forward(self, query, key, value, mask=None, need_weights=False):
        B, n, _ = query.shape
        m = key.shape[1]
        q = self.q_proj(query).view(B, n, self.num_heads, self.d_head)
        k = self.k_proj(key).view(B, m, self.num_heads, self.d_head)
        v = self.v_proj(value).view(B, m, self.num_heads, self.d_head)
        scores = torch.einsum("bnhd,bmhd->bhnm", q, k) / math.sqrt(self.d_head)
        if mask is not None:
            scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
        weights = torch.softmax(scores, dim=-1)
        if mask is not None:
            weights = weights * mask
        out = torch.einsum("bhnm,bmhd->bnhd", weights, v).reshape(B, n, self.d_model)
        out = self.out_proj(out)
        return (out, weights) if need_weights else out
''',
    "09.align_labels": '''
def align_labels(word_ids, word_labels):
    result = []
    previous = None
    for word in word_ids:
        if word is None:
            result.append(-100)
        elif word != previous:
            result.append(int(word_labels[word]))
        else:
            result.append(-100)
        previous = word
    return result
''',
    "09.token_classification_loss": '''
def token_classification_loss(hidden, weight, bias, labels):
    logits = torch.nn.functional.linear(hidden, weight, bias)
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1),
                                             ignore_index=-100)
    print("loss", loss.item())
    return logits, loss
''',
    "09.span_f1": '''
def span_f1(true_tags, pred_tags):
    from seqeval.metrics import f1_score, precision_score, recall_score
    return (precision_score(true_tags, pred_tags, zero_division=0),
            recall_score(true_tags, pred_tags, zero_division=0),
            f1_score(true_tags, pred_tags, zero_division=0))
''',
}

WRONG = {
    # scaled by sqrt(d_model) instead of sqrt(d_head)
    "09.multi_head_attention": '''
class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, num_heads, bias=True):
        super().__init__()
        self.d_model, self.num_heads, self.d_head = d_model, num_heads, d_model // num_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def forward(self, query, key, value, mask=None, need_weights=False):
        B, n, _ = query.shape
        m = key.shape[1]
        q = self.q_proj(query).view(B, n, self.num_heads, self.d_head).transpose(1, 2)
        k = self.k_proj(key).view(B, m, self.num_heads, self.d_head).transpose(1, 2)
        v = self.v_proj(value).view(B, m, self.num_heads, self.d_head).transpose(1, 2)
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.d_model)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.nan_to_num(torch.softmax(scores, dim=-1))
        out = self.out_proj((weights @ v).transpose(1, 2).reshape(B, n, self.d_model))
        return (out, weights) if need_weights else out
''',
    # labels every sub-token of a word
    "09.align_labels": '''
def align_labels(word_ids, word_labels):
    return [-100 if word is None else word_labels[word] for word in word_ids]
''',
    # averages over every position, the ignored ones included
    "09.token_classification_loss": '''
def token_classification_loss(hidden, weight, bias, labels):
    logits = hidden @ weight.T + bias
    keep = labels != -100
    log_probs = torch.log_softmax(logits, dim=-1)
    picked = log_probs.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return logits, -(picked * keep).sum() / labels.numel()
''',
    # strict IOB2: an entity can only start at B-, so I- after O is dropped
    "09.span_f1": '''
def span_f1(true_tags, pred_tags):
    def spans(sentences):
        found = set()
        for s, tags in enumerate(sentences):
            start = None
            for i, tag in enumerate(tags + ["O"]):
                if start is not None and not (tag.startswith("I-") and tag[2:] == tags[start][2:]):
                    found.add((s, tags[start][2:], start, i))
                    start = None
                if tag.startswith("B-"):
                    start = i
        return found
    gold, pred = spans(true_tags), spans(pred_tags)
    correct = len(gold & pred)
    p = correct / len(pred) if pred else 0.0
    r = correct / len(gold) if gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)
''',
}
