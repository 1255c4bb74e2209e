"""attn.bert loads the bundled MiniLM into the course's encoder and matches transformers' BertModel."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

from attn.bert import BertConfig, BertEncoder, convert_state_dict, default_checkpoint, load_bert, load_tokenizer
from attn.encoder import Attention
from autograder.notebooks import solution_sources


@pytest.fixture(scope="module")
def bundled():
    return load_bert(), load_tokenizer()


def padded_batch(tokenizer, texts):
    encodings = [tokenizer.encode(text) for text in texts]
    n = max(len(e.ids) for e in encodings)
    ids = torch.tensor([e.ids + [0] * (n - len(e.ids)) for e in encodings])
    mask = torch.tensor([[1] * len(e.ids) + [0] * (n - len(e.ids)) for e in encodings])
    return ids, mask


def test_bundled_checkpoint_has_the_expected_shape(bundled):
    model, tokenizer = bundled
    config = model.config
    assert (config.num_hidden_layers, config.hidden_size, config.num_attention_heads,
            config.intermediate_size, config.vocab_size) == (6, 384, 12, 1536, 30522)
    assert tokenizer.get_vocab_size() == 30522
    assert not model.training


def test_tokenizer_is_uncased_and_keeps_word_ids(bundled):
    _, tokenizer = bundled
    encoding = tokenizer.encode(["Angela", "Merkel"], is_pretokenized=True)
    assert encoding.tokens[0] == "[CLS]" and encoding.tokens[-1] == "[SEP]"
    assert encoding.tokens[1] == "angela"
    assert encoding.word_ids[0] is None and encoding.word_ids[1] == 0 and encoding.word_ids[-2] == 1


def test_last_hidden_states_match_transformers_bert_model(bundled):
    transformers = pytest.importorskip("transformers")
    model, tokenizer = bundled
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        transformers.logging.set_verbosity_error()
        reference = transformers.BertModel.from_pretrained(str(default_checkpoint()), add_pooling_layer=False).eval()
    ids, mask = padded_batch(tokenizer, ["Angela Merkel visited Paris on Monday.",
                                         "The EU rejected the call.", "Hi"])
    with torch.no_grad():
        ours = model(ids, mask)
        theirs = reference(input_ids=ids, attention_mask=mask).last_hidden_state
    real = mask.bool()
    assert ours.shape == theirs.shape == (3, ids.shape[1], 384)
    assert (ours - theirs)[real].abs().max() < 1e-4


def test_padding_does_not_change_real_tokens(bundled):
    model, tokenizer = bundled
    ids, mask = padded_batch(tokenizer, ["Short one.", "A somewhat longer sentence about Oslo and Bergen."])
    with torch.no_grad():
        batched = model(ids, mask)
        alone = model(ids[:1, : int(mask[0].sum())])
    torch.testing.assert_close(batched[0, : int(mask[0].sum())], alone[0], atol=1e-5, rtol=1e-4)


def test_another_attention_module_gets_the_same_weights(bundled):
    model, tokenizer = bundled

    class Recording(Attention):
        calls = 0

        def forward(self, *args, **kwargs):
            Recording.calls += 1
            return super().forward(*args, **kwargs)

    plugged = load_bert(attention_factory=lambda: Recording(384, 12))
    ids, mask = padded_batch(tokenizer, ["Paris in the spring."])
    with torch.no_grad():
        torch.testing.assert_close(plugged(ids, mask), model(ids, mask))
    assert Recording.calls == 6


def reference_encoder_block() -> type:
    """The chapter-7 reference solution's EncoderBlock, named like nn.TransformerEncoderLayer."""
    namespace: dict = {}
    exec("import math\nimport torch\nfrom torch import nn\n", namespace)
    exec(solution_sources("07_encoder_block")["07.encoder_block"], namespace)
    return namespace["EncoderBlock"]


def test_the_chapter_7_block_gets_the_same_weights(bundled):
    model, tokenizer = bundled
    EncoderBlock = reference_encoder_block()

    def make_layer(attention):
        block = EncoderBlock(384, 1536, attention)
        block.norm1.eps = block.norm2.eps = 1e-12
        return block

    plugged = load_bert(attention_factory=lambda: Attention(384, 12), layer_factory=make_layer)
    assert isinstance(plugged.encoder.layers[5], EncoderBlock)
    ids, mask = padded_batch(tokenizer, ["Paris in the spring.", "Oslo"])
    with torch.no_grad():
        torch.testing.assert_close(plugged(ids, mask), model(ids, mask))


def test_a_layer_norm_eps_that_differs_from_the_checkpoint_is_refused():
    EncoderBlock = reference_encoder_block()  # nn.LayerNorm's default eps, 1e-5
    with pytest.raises(ValueError, match=r"^layer 0's norm1 has eps 1e-05, but the checkpoint's layer_norm_eps "
                                         r"is 1e-12: make the layers with that eps$"):
        load_bert(layer_factory=lambda attention: EncoderBlock(384, 1536, attention))


def test_a_layer_with_other_names_is_refused_with_the_names():
    EncoderBlock = reference_encoder_block()

    def renamed(attention):
        block = EncoderBlock(384, 1536, attention)
        block.first_norm = nn.LayerNorm(384, eps=1e-12)
        del block.norm1
        block.norm2.eps = 1e-12
        return block

    with pytest.raises(ValueError) as raised:
        load_bert(layer_factory=renamed)
    message = str(raised.value)
    assert "\n" not in message
    assert "missing ['encoder.layers.0.first_norm.bias'" in message
    assert "unexpected ['encoder.layers.0.norm1.bias'" in message
    assert "(12 in all)" in message  # weight and bias of norm1 in each of the 6 layers


def test_attention_weights_come_back_per_layer(bundled):
    model, tokenizer = bundled
    ids, mask = padded_batch(tokenizer, ["Paris in the spring.", "Oslo"])
    with torch.no_grad():
        hidden, weights = model(ids, mask, need_weights=True)
    assert len(weights) == 6 and weights[0].shape == (2, 12, ids.shape[1], ids.shape[1])
    torch.testing.assert_close(weights[3].sum(-1), torch.ones(2, 12, ids.shape[1]))
    assert torch.all(weights[0][1, :, :, int(mask[1].sum()):] == 0)  # no attention to padding


def test_state_dict_conversion_accepts_prefixed_and_old_names():
    config = BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=12, max_position_embeddings=16)
    torch.manual_seed(0)
    source = BertEncoder(config)
    state = {}
    for name, tensor in source.state_dict().items():  # rename back to Hugging Face names
        name = (name.replace("embeddings.word.", "embeddings.word_embeddings.")
                .replace("embeddings.position.", "embeddings.position_embeddings.")
                .replace("embeddings.token_type.", "embeddings.token_type_embeddings.")
                .replace("embeddings.norm.weight", "embeddings.LayerNorm.gamma")
                .replace("embeddings.norm.bias", "embeddings.LayerNorm.beta")
                .replace("encoder.layers.", "encoder.layer.")
                .replace("attention.q_proj", "attention.self.query").replace("attention.k_proj", "attention.self.key")
                .replace("attention.v_proj", "attention.self.value")
                .replace("attention.out_proj", "attention.output.dense")
                .replace("attention_norm", "attention.output.LayerNorm").replace("intermediate", "intermediate.dense")
                .replace("ffn_norm", "output.LayerNorm"))
        name = name.replace(".output.weight", ".output.dense.weight").replace(".output.bias", ".output.dense.bias")
        state["bert." + name] = tensor
    state["bert.pooler.dense.weight"] = torch.zeros(8, 8)
    target = BertEncoder(config)
    target.load_state_dict(convert_state_dict(state), strict=True)
    for (name, mine), theirs in zip(target.state_dict().items(), source.state_dict().values()):
        assert torch.equal(mine, theirs), name


def test_a_directory_without_config_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        load_bert(tmp_path)
