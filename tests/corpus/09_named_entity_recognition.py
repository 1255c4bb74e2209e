"""Chapter 9 corpus for measuring the diagnosis (see 01_query_key_value.py for the format)."""

LOADER = '''
def load_pretrained(model, weights):
    table = {
        "embeddings.word_embeddings": "embeddings.word",
        "embeddings.position_embeddings": "embeddings.position",
        "embeddings.token_type_embeddings": "embeddings.token_type",
        "embeddings.LayerNorm": "embeddings.norm",
    }
    inner = {"attention.self.query": "attention.q_proj", "attention.self.key": "attention.k_proj",
             "attention.self.value": "attention.v_proj", "attention.output.dense": "attention.out_proj",
             "attention.output.LayerNorm": "attention_norm", "intermediate.dense": "intermediate",
             "output.dense": "output", "output.LayerNorm": "ffn_norm"}
    for i in range(len(model.encoder.layers)):
        for theirs, ours in inner.items():
            table[f"encoder.layer.{i}.{theirs}"] = f"encoder.layers.{i}.{ours}"
    suffix = {"weight": "weight", "bias": "bias", "gamma": "weight", "beta": "bias"}
    state = {}
    for name, tensor in weights.items():
        if name.startswith("bert."):
            name = name[len("bert."):]
        stem, _, last = name.rpartition(".")
        if stem in table and last in suffix:
            state[table[stem] + "." + suffix[last]] = tensor
    model.load_state_dict(state)
'''

STEP = '''
def fine_tuning_step(model, batch, optimizer, scheduler, clip_norm):
    optimizer.zero_grad(set_to_none=True)
    out = model(batch["input_ids"], batch["attention_mask"], batch["casing_ids"])
    loss = torch.nn.functional.cross_entropy(out.transpose(1, 2), batch["labels"], ignore_index=-100)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(list(model.parameters()), max_norm=clip_norm)
    optimizer.step()
    scheduler.step()
    return loss.detach().item()
'''

CORRECT = {
    "09.load_pretrained": [LOADER],
    "09.fine_tuning_step": [STEP],
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
    ("09.load_pretrained", {"layer-norms-swapped"}, LOADER.replace(
        '"attention.output.LayerNorm": "attention_norm"', '"attention.output.LayerNorm": "ffn_norm"').replace(
        '"output.LayerNorm": "ffn_norm"}', '"output.LayerNorm": "attention_norm"}')),
    ("09.load_pretrained", {"prefix-kept"}, LOADER.replace(
        'if name.startswith("bert."):', 'if name.startswith("bert.") and False:').replace(
        "model.load_state_dict(state)", "model.load_state_dict(state, strict=False)")),
    ("09.load_pretrained", {"token-type-left-out"}, LOADER.replace(
        '        "embeddings.token_type_embeddings": "embeddings.token_type",\n', "").replace(
        "model.load_state_dict(state)", "model.load_state_dict(state, strict=False)")),
    ("09.load_pretrained", {"old-layer-norm-names-ignored"}, LOADER.replace(
        ', "gamma": "weight", "beta": "bias"', "").replace(
        "model.load_state_dict(state)", "model.load_state_dict(state, strict=False)")),
    # query and key swapped: a bug the catalogue does not know
    ("09.load_pretrained", set(), LOADER.replace(
        '"attention.self.query": "attention.q_proj", "attention.self.key": "attention.k_proj"',
        '"attention.self.query": "attention.k_proj", "attention.self.key": "attention.q_proj"')),
    ("09.fine_tuning_step", {"gradients-not-zeroed"}, STEP.replace("    optimizer.zero_grad(set_to_none=True)\n", "")),
    ("09.fine_tuning_step", {"scheduler-not-stepped"}, STEP.replace("    scheduler.step()\n", "    pass\n")),
    ("09.fine_tuning_step", {"clipped-after-the-step"}, STEP.replace(
        "    torch.nn.utils.clip_grad_norm_(list(model.parameters()), max_norm=clip_norm)\n    optimizer.step()\n",
        "    optimizer.step()\n    torch.nn.utils.clip_grad_norm_(list(model.parameters()), max_norm=clip_norm)\n")),
    ("09.fine_tuning_step", {"ignored-positions-counted"}, STEP.replace(
        'batch["labels"], ignore_index=-100)', 'torch.where(batch["labels"] < 0, 0, batch["labels"]))')),
    # the scheduler stepped twice per update: unknown to the catalogue
    ("09.fine_tuning_step", set(), STEP.replace("    scheduler.step()\n", "    scheduler.step()\n    scheduler.step()\n")),
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

VARIANTS = {"09.load_pretrained": set(), "09.fine_tuning_step": set(), "09.align_labels": {"every-sub-token-labelled"},
            # its comment says "averages over every position", but its code sums the labelled ones only
            # and divides by every position
            "09.token_classification_loss": {"divides-by-every-position"}, "09.span_f1": {"i-after-o-ignored"}}
