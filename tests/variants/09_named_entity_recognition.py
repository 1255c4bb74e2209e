"""Other answers to chapter 9's exercises, for tests/test_chapters.py.

EQUIVALENT answers compute the same thing another way and must keep full marks;
WRONG answers hold a realistic mistake and must lose the exercise's points.
"""

EQUIVALENT = {
    "09.load_pretrained": r'''
import re

def load_pretrained(model, weights):
    parameters = dict(model.named_parameters())
    patterns = [
        (r"embeddings\.word_embeddings\.(\w+)", r"embeddings.word.\1"),
        (r"embeddings\.position_embeddings\.(\w+)", r"embeddings.position.\1"),
        (r"embeddings\.token_type_embeddings\.(\w+)", r"embeddings.token_type.\1"),
        (r"embeddings\.LayerNorm\.(\w+)", r"embeddings.norm.\1"),
        (r"encoder\.layer\.(\d+)\.attention\.self\.query\.(\w+)", r"encoder.layers.\1.attention.q_proj.\2"),
        (r"encoder\.layer\.(\d+)\.attention\.self\.key\.(\w+)", r"encoder.layers.\1.attention.k_proj.\2"),
        (r"encoder\.layer\.(\d+)\.attention\.self\.value\.(\w+)", r"encoder.layers.\1.attention.v_proj.\2"),
        (r"encoder\.layer\.(\d+)\.attention\.output\.dense\.(\w+)", r"encoder.layers.\1.attention.out_proj.\2"),
        (r"encoder\.layer\.(\d+)\.attention\.output\.LayerNorm\.(\w+)", r"encoder.layers.\1.attention_norm.\2"),
        (r"encoder\.layer\.(\d+)\.intermediate\.dense\.(\w+)", r"encoder.layers.\1.intermediate.\2"),
        (r"encoder\.layer\.(\d+)\.output\.dense\.(\w+)", r"encoder.layers.\1.output.\2"),
        (r"encoder\.layer\.(\d+)\.output\.LayerNorm\.(\w+)", r"encoder.layers.\1.ffn_norm.\2"),
    ]
    filled = set()
    for name, tensor in weights.items():
        name = re.sub(r"^bert\.", "", name)
        name = re.sub(r"\.gamma$", ".weight", re.sub(r"\.beta$", ".bias", name))
        for pattern, target in patterns:
            if re.fullmatch(pattern, name):
                ours = re.sub(pattern, target, name)
                with torch.no_grad():
                    parameters[ours].copy_(tensor)
                filled.add(ours)
    missing = set(parameters) - filled
    if missing:
        raise KeyError(f"no tensor for {sorted(missing)[:3]}")
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
    "09.fine_tuning_step": '''
def fine_tuning_step(model, batch, optimizer, scheduler, clip_norm):
    for parameter in model.parameters():
        parameter.grad = None
    logits = model(batch["input_ids"], batch["attention_mask"], batch["casing_ids"])
    labels = batch["labels"]
    keep = labels != -100
    log_probs = torch.log_softmax(logits[keep], dim=-1)
    loss = -log_probs.gather(1, labels[keep][:, None]).mean()
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    norm = torch.sqrt(sum((g ** 2).sum() for g in grads))
    if norm > clip_norm:
        for g in grads:
            g.mul_(clip_norm / (norm + 1e-6))
    optimizer.step()
    scheduler.step()
    return float(loss)
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
    # transposes the square weight matrices, as if nn.Linear stored them (in, out)
    "09.load_pretrained": '''
def load_pretrained(model, weights):
    names = {"word_embeddings": "word", "position_embeddings": "position", "token_type_embeddings": "token_type",
             "LayerNorm": "norm", "attention.self.query": "attention.q_proj", "attention.self.key": "attention.k_proj",
             "attention.self.value": "attention.v_proj", "attention.output.dense": "attention.out_proj",
             "attention.output.LayerNorm": "attention_norm", "intermediate.dense": "intermediate",
             "output.dense": "output", "output.LayerNorm": "ffn_norm"}
    state = {}
    for name, tensor in weights.items():
        name = name.removeprefix("bert.").replace("LayerNorm.gamma", "LayerNorm.weight")
        name = name.replace("LayerNorm.beta", "LayerNorm.bias")
        head, kind = name.rsplit(".", 1)
        if head.startswith("embeddings.") and head[11:] in names:
            state[f"embeddings.{names[head[11:]]}.{kind}"] = tensor
        elif head.startswith("encoder.layer."):
            index, part = head[14:].split(".", 1)
            square = tensor.ndim == 2 and tensor.shape[0] == tensor.shape[1]
            state[f"encoder.layers.{index}.{names[part]}.{kind}"] = tensor.T if square else tensor
    model.load_state_dict(state)
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
    # zeroes the gradients after backward: the optimizer steps with no gradient at all
    "09.fine_tuning_step": '''
def fine_tuning_step(model, batch, optimizer, scheduler, clip_norm):
    logits = model(batch["input_ids"], batch["attention_mask"], batch["casing_ids"])
    loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch["labels"].reshape(-1))
    loss.backward()
    optimizer.zero_grad()
    nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
    optimizer.step()
    scheduler.step()
    return loss.item()
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
