"""The course package's own implementations that would answer exercises.

``attn/`` gives later chapters what they legitimately reuse (the encoder that takes a
learner's attention module, data loading, plotting), but some of its code computes what an
exercise asks for. Such an answer scores 0 with a one-line message:

- in the sandbox, each exercise's kernel sees a copy of ``attn/`` in which that exercise's
  entries are stubs that raise ``attn.grading.CourseCodeUsed`` (:func:`write_course_view`):
  the implementation is not there to import, copy or read, under any name;
- in the grader, :func:`course_code_named` reads the exercise cell's source for a name,
  attribute or import that resolves to one of the exercise's entries (the one defence
  left when grading runs without the sandbox).

The hidden checks of an exercise never use that exercise's entries (tests/test_chapters.py
grades every chapter's reference solutions, stubs in place, to full marks). Whenever ``attn/`` gains code
that answers an exercise, add it here; ``tests/test_security_answers.py`` tries the entries.
"""

from __future__ import annotations

import ast
import compileall
import shutil
from pathlib import Path

from autograder.notebooks import ContractError

# Full attention: any of these returns what the attention exercises compute.
_ATTENTION = ["01.soft_lookup", "03.attention", "03.batched_attention", "03.batched_single_query_attention",
              "05.self_attention_layer", "05.padded_cross_attention", "08.blockwise_attention", "08.triton_attention",
              "10.grouped_query_attention"]

ANSWERS: dict[str, list[str]] = {
    "attn.encoder.Attention": ["06.multi_head_attention", "06.repaired_attention"],
    "attn.encoder.EncoderLayer": ["07.encoder_block"],
    "attn.encoder.padding_mask": ["04.padding_mask"],
    "attn.flash.causal_allowed": ["04.decoder_mask"],
    "attn.flash.naive_attention": _ATTENTION,
    "attn.flash.merged_blockwise_attention": _ATTENTION,
    "attn.bert.convert_state_dict": ["09.load_pretrained"],
    "attn.bert.load_bert": ["09.load_pretrained"],
    "attn.ner_data.first_subtoken_labels": ["09.align_labels"],
    "attn.ner_evaluation.entity_spans": ["09.span_f1"],
    "attn.ner_evaluation.span_scores": ["09.span_f1"],
    "attn.ner_evaluation.evaluate": ["09.span_f1"],
    "attn.ner_training.tagging_loss": ["09.token_classification_loss", "09.fine_tuning_step"],
    "attn.ner_training.training_step": ["09.fine_tuning_step"],
    "attn.decoder.generate_by_recomputing": ["10.generate_with_cache"],
}


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


def write_course_view(package: Path, exercise_id: str, target: Path) -> Path:
    """Copy the course package ``package`` to ``target``, with :data:`ANSWERS` for ``exercise_id``
    replaced by stubs that raise; return ``target``.

    The package's compiled modules are copied too, but those of the stubbed modules, which hold
    the implementations, are deleted and compiled again from the stubs."""
    shutil.copytree(package, target)
    by_module: dict[str, list[str]] = {}
    for name, ids in ANSWERS.items():
        if exercise_id in ids:
            module, attribute = name.rsplit(".", 1)
            by_module.setdefault(module, []).append(attribute)
    for module, names in by_module.items():
        path = target / f"{module.split('.', 1)[1].replace('.', '/')}.py"
        path.write_text(_stubbed(path.read_text(encoding="utf-8"), module, names, exercise_id), encoding="utf-8")
        for compiled in (path.parent / "__pycache__").glob(f"{path.stem}.*.pyc"):
            compiled.unlink()
    compileall.compile_dir(target, quiet=1)  # the sandbox's view is read-only: compile what is missing here
    return target


def _stubbed(source: str, module: str, names: list[str], exercise_id: str) -> str:
    """``source`` with the top-level functions and classes ``names`` replaced by stubs."""
    lines = source.splitlines()
    nodes = [node for node in ast.parse(source).body
             if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in names]
    for node in sorted(nodes, key=lambda node: node.lineno, reverse=True):
        start = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
        message = f"{exercise_id} must be your own code, but it used the course's {module}.{node.name}"
        body = ["    from attn.grading import CourseCodeUsed", f"    raise CourseCodeUsed({message!r})"]
        if isinstance(node, ast.ClassDef):
            bases = ", ".join(ast.get_source_segment(source, base) for base in node.bases)
            stub = [f"class {node.name}({bases}):", "    def __init__(self, *args, **kwargs):",
                    *(f"    {line}" for line in body)]
        else:
            stub = [f"def {node.name}(*args, **kwargs):", *body]
        lines[start:node.end_lineno] = stub
    missing = set(names) - {node.name for node in nodes}
    if missing:
        raise ContractError(f"autograder/course_code.py names {module}.{sorted(missing)[0]}, which is not "
                            "a top-level function or class there")
    return "\n".join(lines) + "\n"
