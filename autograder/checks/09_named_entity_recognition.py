# Hidden checks for chapter 9. Each "# %% <exercise id> | <label>" block is one check cell,
# run in the learner's kernel after that exercise's cell; the label is what a learner sees.
# The inputs differ from the notebook's public self-checks on purpose. Nothing here needs
# CoNLL-2003: the tag sequences are written out, and the encoder checks use the MiniLM
# checkpoint bundled with the course on made-up token ids. The encoder runs in float64, so
# that a correct attention matches to every digit the tolerance asks for.

# %% setup
import torch
from torch import nn

from attn.bert import load_bert


def _randn(seed, *shape, dtype=torch.float32):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _token_ids(seed, lengths):
    """[CLS] random word pieces [SEP], padded with 0: ids and attention mask, both (B, n)."""
    generator = torch.Generator().manual_seed(seed)
    n = max(lengths)
    ids = torch.zeros(len(lengths), n, dtype=torch.long)
    mask = torch.zeros(len(lengths), n, dtype=torch.long)
    for row, length in enumerate(lengths):
        ids[row, :length] = torch.randint(1996, 29000, (length,), generator=generator)
        ids[row, 0], ids[row, length - 1] = 101, 102
        mask[row, :length] = 1
    return ids, mask


def _pretrained(attention_class, ids, mask, need_weights=False):
    """MiniLM in float64 with attention_class(384, 12) in every layer: the last hidden states."""
    model = load_bert(attention_factory=lambda: attention_class(384, 12)).double()
    with torch.no_grad():
        return model(ids, mask, need_weights=need_weights)


def _module_alone(attention_class, seed, query, key, mask=None):
    """attention_class(d_model, 2) with known weights, cross-attention, output and weights."""
    d_model = query.shape[-1]
    module = attention_class(d_model, 2).to(query.dtype)
    state = {}
    for index, name in enumerate(("q_proj", "k_proj", "v_proj", "out_proj")):
        state[f"{name}.weight"] = _randn(seed + index, d_model, d_model, dtype=query.dtype) / d_model ** 0.5
        state[f"{name}.bias"] = _randn(seed + 10 + index, d_model, dtype=query.dtype)
    module.load_state_dict(state)
    with torch.no_grad():
        return module(query, key, key, mask=mask, need_weights=True)


# %% 09.multi_head_attention | pretrained MiniLM, float64, a padded batch of 3 inputs
_check(_pretrained, MultiHeadAttention, *_token_ids(901, [9, 4, 7]))

# %% 09.multi_head_attention | pretrained MiniLM, float64, one input of 12 tokens, every layer's weights
_check(_pretrained, MultiHeadAttention, *_token_ids(902, [12]), need_weights=True)

# %% 09.multi_head_attention | module alone: cross-attention, n=3 queries, m=5 keys, float64
_check(_module_alone, MultiHeadAttention, 903, _randn(904, 2, 3, 8, dtype=torch.float64),
       _randn(905, 2, 5, 8, dtype=torch.float64))

# %% 09.multi_head_attention | module alone: a mask with a fully masked query row
_check(_module_alone, MultiHeadAttention, 906, _randn(907, 1, 3, 8, dtype=torch.float64),
       _randn(908, 1, 4, 8, dtype=torch.float64),
       torch.tensor([[True, False, True, False], [False, False, False, False], [True, True, True, True]]))

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
