"""Misconceptions of chapter 9 (format: see autograder/diagnose.py)."""

from autograder.diagnose import Misconception, variant

LOADING = "Loading the checkpoint yourself"
FINE_TUNING = "Fine-tuning"
SUBTOKENS = "Labels for sub-tokens"
HEAD = "The token-classification head"
SPANS = "Evaluation: entity spans, honestly"

LOAD = '''
def load_pretrained(model, weights):
    embeddings = {"word_embeddings": "word", "position_embeddings": "position",
                  "token_type_embeddings": "token_type", "LayerNorm": "norm"}
    layers = {"attention.self.query": "attention.q_proj", "attention.self.key": "attention.k_proj",
              "attention.self.value": "attention.v_proj", "attention.output.dense": "attention.out_proj",
              "attention.output.LayerNorm": "attention_norm", "intermediate.dense": "intermediate",
              "output.dense": "output", "output.LayerNorm": "ffn_norm"}
    state = {}
    for name, tensor in weights.items():
        name = name.removeprefix("bert.")
        name = name.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias")
        parts = name.split(".")
        if parts[0] == "embeddings" and parts[1] in embeddings:
            state["embeddings." + embeddings[parts[1]] + "." + parts[-1]] = tensor
        elif parts[:2] == ["encoder", "layer"]:
            state["encoder.layers." + parts[2] + "." + layers[".".join(parts[3:-1])] + "." + parts[-1]] = tensor
    model.load_state_dict(state, strict=True)
'''

STEP = '''
def fine_tuning_step(model, batch, optimizer, scheduler, clip_norm):
    logits = model(batch["input_ids"], batch["attention_mask"], batch["casing_ids"])
    loss = nn.functional.cross_entropy(logits.flatten(0, 1), batch["labels"].flatten(), ignore_index=-100)
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
    optimizer.step()
    scheduler.step()
    return loss.item()
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
        "09.load_pretrained", "layer-norms-swapped",
        "Your loader puts attention.output.LayerNorm into ffn_norm and output.LayerNorm into attention_norm: "
        "in BERT's names, attention.output.* belongs to the attention sub-layer and output.* to the "
        "feed-forward one.",
        LOADING, variant(LOAD, ('"attention.output.LayerNorm": "attention_norm"', '"attention.output.LayerNorm": "ffn_norm"'),
                         ('"output.LayerNorm": "ffn_norm"', '"output.LayerNorm": "attention_norm"'))),
    Misconception(
        "09.load_pretrained", "not-strict-hides-wrong-names",
        "Your loader keeps the checkpoint's encoder.layer.{i} where the model says encoder.layers.{i}, and "
        "loading with strict=False skipped every layer without a word: the layers kept their random weights.",
        LOADING, variant(LOAD, ('state["encoder.layers." + parts[2]', 'state["encoder.layer." + parts[2]'),
                         ("strict=True", "strict=False"))),
    Misconception(
        "09.load_pretrained", "prefix-kept",
        "Your loader does not strip the 'bert.' prefix, so (loading with strict=False) nothing of a checkpoint "
        "saved with a task head reached the model.",
        LOADING, variant(LOAD, ('        name = name.removeprefix("bert.")\n', ""), ("strict=True", "strict=False"))),
    Misconception(
        "09.load_pretrained", "old-layer-norm-names-ignored",
        "Your loader does not rename the LayerNorm parameters gamma and beta of older checkpoints to weight and "
        "bias, so (loading with strict=False) those LayerNorms kept their initial values.",
        LOADING, variant(LOAD, ('.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", '
                                '"LayerNorm.bias")', ""), ("strict=True", "strict=False"))),
    Misconception(
        "09.load_pretrained", "token-type-left-out",
        "Your loader leaves out the token-type (segment) embeddings: BERT adds the embedding of segment 0 to "
        "every token even when there is one segment, so it must be loaded too.",
        LOADING, variant(LOAD, (' "token_type_embeddings": "token_type",', ""), ("strict=True", "strict=False"))),
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
        "09.fine_tuning_step", "gradients-not-zeroed",
        "Your step never sets the gradients to zero, so each backward pass adds to the gradients of the "
        "steps before: call optimizer.zero_grad() before loss.backward().",
        FINE_TUNING, variant(STEP, ("    optimizer.zero_grad()\n", ""))),
    Misconception(
        "09.fine_tuning_step", "clipped-after-the-step",
        "Your step clips the gradient after optimizer.step(), when the update has already used the unclipped "
        "gradient: clip between backward() and step().",
        FINE_TUNING, variant(STEP, ("    nn.utils.clip_grad_norm_(model.parameters(), clip_norm)\n    optimizer.step()\n",
                                    "    optimizer.step()\n    nn.utils.clip_grad_norm_(model.parameters(), clip_norm)\n"))),
    Misconception(
        "09.fine_tuning_step", "clipped-by-value",
        "Your step clips every gradient entry to [-clip_norm, clip_norm] (clip_grad_value_); the recipe scales "
        "the whole gradient down when its global norm exceeds clip_norm (clip_grad_norm_), keeping its direction.",
        FINE_TUNING, variant(STEP, ("clip_grad_norm_", "clip_grad_value_"))),
    Misconception(
        "09.fine_tuning_step", "scheduler-not-stepped",
        "Your step never calls scheduler.step(), so the learning rate stays at its first value: no warm-up "
        "and no decay.",
        FINE_TUNING, variant(STEP, ("    scheduler.step()\n", ""))),
    Misconception(
        "09.fine_tuning_step", "ignored-positions-counted",
        "Your loss counts the positions labelled -100 (special tokens, later sub-tokens, padding) as if they "
        "were label 0: pass ignore_index=-100 so that only the labelled positions count.",
        FINE_TUNING, variant(STEP, ('batch["labels"].flatten(), ignore_index=-100)',
                                    'batch["labels"].flatten().clamp(min=0))'))),
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
