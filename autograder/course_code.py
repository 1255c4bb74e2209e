"""The course package's own implementations that would answer exercises.

``attn/`` gives later chapters what they legitimately reuse (the encoder that takes a
learner's attention module, data loading, plotting), but some of its code computes what an
exercise asks for. While one of those exercises is graded, that code refuses to run
(``attn.grading.guard_course_code``), so an exercise answered by importing, aliasing,
subclassing or calling it scores 0 with a one-line message. Whenever ``attn/`` gains code
that answers an exercise, add it here; ``tests/test_security.py`` tries each entry.
"""

from __future__ import annotations

# Full attention: any of these returns what the attention exercises compute.
_ATTENTION = ["03.attention", "03.batched_attention", "03.batched_single_query_attention",
              "05.self_attention", "05.cross_attention", "08.blockwise_attention", "08.triton_attention"]

ANSWERS: dict[str, list[str]] = {
    "attn.encoder.Attention": ["06.multi_head_attention", "06.repaired_attention", "09.multi_head_attention"],
    "attn.encoder.EncoderLayer": ["07.encoder_block"],
    "attn.encoder.padding_mask": ["04.padding_mask"],
    "attn.flash.causal_allowed": ["04.causal_mask"],
    "attn.flash.naive_attention": _ATTENTION,
    "attn.flash.merged_blockwise_attention": _ATTENTION,
    "attn.ner.first_subtoken_labels": ["09.align_labels"],
    "attn.ner.entity_spans": ["09.span_f1"],
    "attn.ner.span_scores": ["09.span_f1"],
    "attn.ner.evaluate": ["09.span_f1"],
    "attn.ner.TokenClassifier": ["09.token_classification_loss"],
}


def answers_for(exercise_ids: list[str]) -> dict[str, list[str]]:
    """The entries of :data:`ANSWERS` that answer one of ``exercise_ids`` (only those are guarded,
    so a chapter that does not use PyTorch does not import it)."""
    wanted = set(exercise_ids)
    return {name: sorted(wanted & set(ids)) for name, ids in ANSWERS.items() if wanted & set(ids)}
