# Hidden checks for chapter 9. Each "# %% <exercise id> | <label>" block is one check cell,
# run in the learner's kernel after that exercise's cell; the label is what a learner sees.
# The inputs differ from the notebook's public self-checks on purpose. Nothing here needs
# CoNLL-2003: the tag sequences are written out, the loader checks use the MiniLM checkpoint
# bundled with the course on made-up token ids (and a tiny random checkpoint), and the
# fine-tuning checks run a tiny model for a few steps. Encoders run in float64, so that a
# correct answer matches to every digit the tolerance asks for.

# %% setup
import torch
from torch import nn

from attn.bert import BertConfig, BertEncoder, default_checkpoint, read_weights
from attn.ner_model import TokenClassifier
from attn.ner_training import make_optimizer, TrainConfig, warmup_then_decay


def _randn(seed, *shape, dtype=torch.float32):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _token_ids(seed, lengths, vocab=(1996, 29000), cls=101, sep=102):
    """[CLS] random word pieces [SEP], padded with 0: ids and attention mask, both (B, n)."""
    generator = torch.Generator().manual_seed(seed)
    n = max(lengths)
    ids = torch.zeros(len(lengths), n, dtype=torch.long)
    mask = torch.zeros(len(lengths), n, dtype=torch.long)
    for row, length in enumerate(lengths):
        ids[row, :length] = torch.randint(*vocab, (length,), generator=generator)
        ids[row, 0], ids[row, length - 1] = cls, sep
        mask[row, :length] = 1
    return ids, mask


_MINILM = BertConfig.from_dir(default_checkpoint())
_TINY_BERT = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=32, max_position_embeddings=24, hidden_dropout_prob=0.0)


def _minilm_weights(prefix=""):
    return {prefix + name: tensor for name, tensor in read_weights(default_checkpoint()).items()}


def _tiny_checkpoint(seed):
    """A random 2-layer BERT checkpoint in an old format: LayerNorm gamma/beta, a pooler,
    position_ids and a masked-language-model head that the encoder does not use."""
    generator = torch.Generator().manual_seed(seed)
    c = _TINY_BERT
    shapes = {"embeddings.word_embeddings.weight": (c.vocab_size, c.hidden_size),
              "embeddings.position_embeddings.weight": (c.max_position_embeddings, c.hidden_size),
              "embeddings.token_type_embeddings.weight": (c.type_vocab_size, c.hidden_size),
              "embeddings.LayerNorm.gamma": (c.hidden_size,), "embeddings.LayerNorm.beta": (c.hidden_size,),
              "pooler.dense.weight": (c.hidden_size, c.hidden_size), "pooler.dense.bias": (c.hidden_size,),
              "cls.predictions.bias": (c.vocab_size,)}
    for i in range(c.num_hidden_layers):
        for part, (rows, columns) in {"attention.self.query": (c.hidden_size, c.hidden_size),
                                      "attention.self.key": (c.hidden_size, c.hidden_size),
                                      "attention.self.value": (c.hidden_size, c.hidden_size),
                                      "attention.output.dense": (c.hidden_size, c.hidden_size),
                                      "intermediate.dense": (c.intermediate_size, c.hidden_size),
                                      "output.dense": (c.hidden_size, c.intermediate_size)}.items():
            shapes[f"encoder.layer.{i}.{part}.weight"] = (rows, columns)
            shapes[f"encoder.layer.{i}.{part}.bias"] = (rows,)
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            shapes[f"encoder.layer.{i}.{norm}.gamma"] = (c.hidden_size,)
            shapes[f"encoder.layer.{i}.{norm}.beta"] = (c.hidden_size,)
    weights = {name: torch.randn(shape, generator=generator) / 2 for name, shape in shapes.items()}
    for name in weights:
        if name.endswith(".gamma"):
            weights[name] = 1 + weights[name] / 4
    weights["embeddings.position_ids"] = torch.arange(c.max_position_embeddings)[None]
    return weights


def _loaded(load_pretrained, config, weights, ids, mask):
    """The last hidden states (B, n, d) in float64 of a fresh BertEncoder after load_pretrained."""
    torch.manual_seed(0)  # the initial weights that a missed tensor would keep
    model = BertEncoder(config)
    load_pretrained(model, weights)
    model = model.double().eval()
    with torch.no_grad():
        return model(ids, mask)


_TINY_TAGGER = BertConfig(vocab_size=30, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                          intermediate_size=12, max_position_embeddings=12, hidden_dropout_prob=0.0)


def _labelled_batch(seed, lengths, ignored_rows=()):
    """Random sub-tokens, casing ids and labels; -100 on [CLS], [SEP], the padding and on every
    position but one of the rows in ignored_rows."""
    generator = torch.Generator().manual_seed(seed)
    ids, mask = _token_ids(seed, lengths, vocab=(3, 30), cls=1, sep=2)
    casing = torch.randint(1, 7, ids.shape, generator=generator) * mask
    labels = torch.randint(0, 9, ids.shape, generator=generator)
    labels[mask == 0] = -100
    labels[:, 0] = -100
    for row, length in enumerate(lengths):
        labels[row, length - 1] = -100
        if row in ignored_rows:
            labels[row, 2:] = -100
    return {"input_ids": ids, "attention_mask": mask, "casing_ids": casing, "labels": labels}


def _fine_tune(fine_tuning_step, seed, batches, optimizer, lr, clip_norm, steps, warmup):
    """A tiny float64 tagger trained with steps calls of fine_tuning_step (the batches in turn):
    the losses it returned, the logits on every batch afterwards and the last learning rate."""
    torch.manual_seed(seed)
    model = TokenClassifier(BertEncoder(_TINY_TAGGER), dropout=0.0).double().train()
    if optimizer == "adamw":
        chosen = make_optimizer(model, TrainConfig(lr=lr))
    else:
        chosen = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.5)
    scheduler = warmup_then_decay(chosen, steps, warmup)
    losses = [float(fine_tuning_step(model, batches[i % len(batches)], chosen, scheduler, clip_norm))
              for i in range(steps)]
    with torch.no_grad():
        logits = [model(b["input_ids"], b["attention_mask"], b["casing_ids"]) for b in batches]
    return torch.tensor(losses, dtype=torch.float64), logits, chosen.param_groups[0]["lr"]


# %% 09.load_pretrained | MiniLM, float64, a padded batch of 3 inputs
_check(_loaded, load_pretrained, _MINILM, _minilm_weights(), *_token_ids(901, [9, 4, 7]))

# %% 09.load_pretrained | MiniLM with every name prefixed 'bert.', one input of 12 tokens
_check(_loaded, load_pretrained, _MINILM, _minilm_weights("bert."), *_token_ids(902, [12]))

# %% 09.load_pretrained | a tiny 2-layer checkpoint: LayerNorm gamma/beta, a pooler, position_ids, a head
_check(_loaded, load_pretrained, _TINY_BERT, _tiny_checkpoint(903), *_token_ids(904, [6, 9], (3, 50), 1, 2))

# %% 09.align_labels | the first word split in three, the last in two
_check(align_labels, [None, 0, 0, 0, 1, 2, 2, None], [3, 0, 7])

# %% 09.align_labels | every word a single piece
_check(align_labels, [None, 0, 1, 2, 3, None], [1, 2, 0, 5])

# %% 09.align_labels | a truncated sentence: the last words have no sub-token
_check(align_labels, [None, 0, 1, 1, None], [4, 0, 6, 6, 0])

# %% 09.align_labels | one word and no special tokens
_check(align_labels, [0, 0], [8])

# %% 09.token_classification_loss | batch 2, 4 positions, 3 ignored, 5 labels
_check(token_classification_loss, _randn(911, 2, 4, 6), _randn(912, 5, 6), _randn(913, 5),
       torch.tensor([[0, -100, 4, 2], [-100, 1, -100, 3]]))

# %% 09.token_classification_loss | float64, nothing ignored, 9 labels
_check(token_classification_loss, _randn(914, 3, 2, 4, dtype=torch.float64), _randn(915, 9, 4, dtype=torch.float64),
       _randn(916, 9, dtype=torch.float64), torch.tensor([[8, 0], [3, 3], [1, 7]]))

# %% 09.token_classification_loss | scores in the thousands (a naive softmax overflows)
_check(token_classification_loss, 500 * _randn(917, 1, 3, 4), _randn(918, 3, 4), torch.zeros(3),
       torch.tensor([[2, 0, -100]]))

# %% 09.token_classification_loss | a single labelled position among many ignored ones
_check(token_classification_loss, _randn(919, 2, 5, 3), _randn(920, 4, 3), _randn(921, 4),
       torch.tensor([[-100, -100, -100, -100, -100], [-100, -100, 3, -100, -100]]))

# %% 09.fine_tuning_step | AdamW (decay on matrices only), 5 steps over two batches, clip norm 0.5
_check(_fine_tune, fine_tuning_step, 911, [_labelled_batch(912, [7, 4]), _labelled_batch(913, [5, 6, 3])],
       "adamw", 3e-3, 0.5, 5, 0.4)

# %% 09.fine_tuning_step | SGD with momentum, 3 steps, a clip norm that bites (0.02)
_check(_fine_tune, fine_tuning_step, 914, [_labelled_batch(915, [8, 5])], "sgd", 0.3, 0.02, 3, 0.0)

# %% 09.fine_tuning_step | SGD, 4 steps, no clipping in effect, warm-up over half the steps
_check(_fine_tune, fine_tuning_step, 916, [_labelled_batch(917, [6, 6]), _labelled_batch(918, [4])],
       "sgd", 0.2, 1e6, 4, 0.5)

# %% 09.fine_tuning_step | two of three rows with a single labelled position, 3 AdamW steps
_check(_fine_tune, fine_tuning_step, 919, [_labelled_batch(920, [9, 7, 5], ignored_rows=(1, 2))],
       "adamw", 1e-2, 1.0, 3, 0.3)

# %% 09.span_f1 | several sentences, every type, some entities found
_check(span_f1,
       [["B-PER", "I-PER", "O", "B-ORG"], ["B-LOC", "O", "B-MISC", "I-MISC", "I-MISC"], ["O", "O"]],
       [["B-PER", "I-PER", "O", "B-LOC"], ["B-LOC", "O", "B-MISC", "I-MISC", "O"], ["B-ORG", "O"]])

# %% 09.span_f1 | I- after O starts an entity, in the gold and the predictions
_check(span_f1, [["I-LOC", "I-LOC", "O", "I-PER"]], [["B-LOC", "I-LOC", "O", "B-PER"]])

# %% 09.span_f1 | a change of type inside a span splits it
_check(span_f1, [["B-ORG", "I-ORG", "I-LOC", "O"]], [["B-ORG", "I-ORG", "B-LOC", "O"]])

# %% 09.span_f1 | adjacent entities of the same type, and an entity at the end of a sentence
_check(span_f1, [["B-PER", "B-PER", "I-PER"], ["O", "B-MISC"]], [["B-PER", "I-PER", "I-PER"], ["B-MISC", "I-MISC"]])

# %% 09.span_f1 | no entity predicted at all
_check(span_f1, [["B-PER", "O"], ["O"]], [["O", "O"], ["O"]])

# %% 09.span_f1 | no gold entity, one predicted
_check(span_f1, [["O", "O", "O"]], [["O", "I-ORG", "O"]])
