"""The course package's own implementations that would answer exercises.

``attn/`` gives later chapters what they legitimately reuse (the encoder that takes a
learner's attention module, data loading, plotting), but some of its code computes what an
exercise asks for. Such an answer scores 0 with a one-line message, caught twice:

- in the grader, :func:`course_code_named` reads the exercise cell's source: a name,
  attribute or import that resolves to one of the exercise's entries (copying its code
  object or its source text needs that name too);
- in the kernel, while one of those exercises is graded, the code refuses to run
  (``attn.grading.guard_course_code``), whatever name reached it.

Whenever ``attn/`` gains code that answers an exercise, add it here; ``tests/test_security.py``
tries the entries.
"""

from __future__ import annotations

import ast

# Full attention: any of these returns what the attention exercises compute.
_ATTENTION = ["03.attention", "03.batched_attention", "03.batched_single_query_attention",
              "05.self_attention", "05.cross_attention", "08.blockwise_attention", "08.triton_attention",
              "10.grouped_query_attention"]

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
    "attn.decoder.generate_by_recomputing": ["10.generate_with_cache"],
}


def answers_for(exercise_ids: list[str]) -> dict[str, list[str]]:
    """The entries of :data:`ANSWERS` that answer one of ``exercise_ids`` (only those are guarded,
    so a chapter that does not use PyTorch does not import it)."""
    wanted = set(exercise_ids)
    return {name: sorted(wanted & set(ids)) for name, ids in ANSWERS.items() if wanted & set(ids)}


def course_code_named(exercise_id: str, source: str) -> str | None:
    """The entry of :data:`ANSWERS` for ``exercise_id`` that ``source`` names, or ``None``.

    Names are resolved through the cell's imports (``import attn.flash as f``, ``from attn
    import ner``, ``importlib.import_module("attn.ner")``), attribute chains and ``getattr``
    with a constant name.
    """
    wanted = [name for name, ids in ANSWERS.items() if exercise_id in ids]
    if not wanted:
        return None
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None  # it fails in the kernel anyway
    aliases = _course_aliases(tree)
    for node in ast.walk(tree):
        for dotted in _dotted_names(node, aliases):
            hit = next((name for name in wanted if dotted == name or dotted.startswith(name + ".")), None)
            if hit:
                return hit
    return None


def _course_aliases(tree: ast.AST) -> dict[str, str]:
    """Local name -> dotted course name, from the imports and import_module calls of ``tree``."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    aliases[alias.name.split(".")[0]] = alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            module = _imported_module(node.value)
            if module:
                aliases[node.targets[0].id] = module
    return {name: dotted for name, dotted in aliases.items() if dotted.split(".")[0] == "attn"}


def _imported_module(node: ast.AST) -> str | None:
    """The constant module name of ``importlib.import_module("...")`` or ``__import__("...")``."""
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        function = node.func
        name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
        if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
            return node.args[0].value
    return None


def _dotted_names(node: ast.AST, aliases: dict[str, str]) -> list[str]:
    """The dotted course names ``node`` stands for (an imported name, an attribute chain, getattr)."""
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        return [f"{node.module}.{alias.name}" for alias in node.names]
    if isinstance(node, ast.Name) and node.id in aliases:
        return [aliases[node.id]]
    if isinstance(node, ast.Attribute):
        chain = []
        while isinstance(node, ast.Attribute):
            chain.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name) and node.id in aliases:
            return [".".join([aliases[node.id], *reversed(chain)])]
        module = _imported_module(node)
        return [".".join([module, *reversed(chain)])] if module else []
    if (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "getattr" and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
        inner = _dotted_names(node.args[0], aliases)
        return [f"{inner[0]}.{node.args[1].value}"] if inner else []
    return []
