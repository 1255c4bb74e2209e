"""Attacks that look for the answers, or forge the verdict: the grader's report, its files,
its memory, the Gradescope zip, and the course package's own code (issue 12).

Each test grades a real submission and asserts the exact outcome (see ``attacks.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import pytest

from autograder.gradescope import build_zip
from autograder.notebooks import solution_sources
from conftest import CHAPTER, POINTS
from conftest import points_of as points_of_chapter
from attacks import (FULL, MASKS, MASK_POINTS, OWN_CODE, REAL_KEYS, SOLVED, TOKEN, TOOLS,
                     assert_clean, assert_unchanged, feedback_of, file_hashes, golden_attack, grade,
                     points_of, processes_with, rewarded_if, solution_attack, stubs_of)
from attacks import end_attack_processes  # noqa: F401 (autouse: ends what each attack left)


# --------------------------------------------------------------------------- forged verdicts

FORGER = r'''
import json, os, signal, sys, time
pytest_pid, report = int(sys.argv[1]), sys.argv[2]
deadline = time.time() + 60
while time.time() < deadline:
    if os.path.exists(report) and os.path.getsize(report) > 0:
        os.kill(pytest_pid, signal.SIGSTOP)  # hold the grading run while the report is rewritten
        try:
            records = json.load(open(report))
        except ValueError:  # caught half-written
            os.kill(pytest_pid, signal.SIGCONT)
            continue
        for record in records:
            record["outcome"], record["reason"] = "passed", None
        json.dump(records, open(report, "w"))
        os.kill(pytest_pid, signal.SIGCONT)
        break
    time.sleep(0.001)
'''

FORGE_REPORT = TOOLS + f'''
import subprocess
_FORGER = {FORGER!r}
for _pid in _ancestors():
    for _arg in _argv(_pid):
        if _arg.startswith("--grader-report="):
            subprocess.Popen([sys.executable, "-c", _FORGER, str(_pid), _arg.split("=", 1)[1], {TOKEN!r}],
                             start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
''' + stubs_of(CHAPTER)["01.softmax"]


def test_a_process_that_rewrites_the_report_found_in_the_parents_cmdline_earns_nothing(make_submission):
    results = grade(make_submission({**stubs_of(CHAPTER), "01.softmax": FORGE_REPORT}))
    assert points_of(results) == {"01.softmax": 0, "01.soft_lookup": 0}
    assert results["score"] == 0 and results["max_score"] == FULL
    assert processes_with(TOKEN) == []


# --------------------------------------------------------------------------- answers on disk

@pytest.mark.parametrize("way, exercise, attack", [
    ("environ", "01.softmax", golden_attack),    # /proc/<parent>/environ: PYTHONPATH -> autograder/golden
    ("cwd", "01.soft_lookup", golden_attack),    # /proc/<ancestor>/cwd: the repository -> golden and checks
    ("package", "01.softmax", solution_attack),  # attn.__file__ -> the repository -> solutions/
])
def test_answers_read_from_the_graders_files_earn_nothing(make_submission, way, exercise, attack):
    results = grade(make_submission({**SOLVED, exercise: attack(exercise, way)}))
    assert points_of(results) == {**POINTS, exercise: 0}, feedback_of(results, exercise)


MEMORY_SCAN = TOOLS + r'''
def _find_in_memory(needle):
    """Search the writable memory of every process of the grader for ``needle``."""
    for pid in _ancestors():
        try:
            maps = open(f"/proc/{pid}/maps").read().splitlines()
            memory = open(f"/proc/{pid}/mem", "rb", buffering=0)
        except OSError:
            continue
        with memory:
            for line in maps:
                span, perms = line.split()[:2]
                start, stop = (int(part, 16) for part in span.split("-"))
                if not perms.startswith("rw") or stop - start > 512 * 2**20:
                    continue
                try:
                    memory.seek(start)
                    if needle in memory.read(stop - start):
                        return True
                except OSError:
                    continue
    return False
''' + rewarded_if('_find_in_memory(b"_check(soft_lookup, np.array([-1.5, 2.0, 0.5])")')  # the other exercise's check


def test_the_grading_notebook_cannot_be_read_from_the_graders_memory(make_submission):
    results = grade(make_submission({**SOLVED, "01.softmax": MEMORY_SCAN}))
    assert points_of(results) == {**POINTS, "01.softmax": 0}, feedback_of(results, "01.softmax")


def test_answers_from_the_unpacked_gradescope_zip_earn_nothing(make_submission, tmp_path):
    root = tmp_path / "autograder"
    source = root / "source"
    build_zip(tmp_path / "autograder.zip")
    with zipfile.ZipFile(tmp_path / "autograder.zip") as archive:
        archive.extractall(source)
    (root / "submission").mkdir()
    sources = {**SOLVED, "01.softmax": golden_attack("01.softmax", "cwd"),
               "01.soft_lookup": golden_attack("01.soft_lookup", "environ")}
    make_submission(sources).rename(root / "submission" / "ch1.ipynb")
    before = file_hashes(source)
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "PYTHON": sys.executable}
    finished = subprocess.run(["bash", str(source / "run_autograder")], env=env, capture_output=True, text=True,
                              timeout=300)
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    results = json.loads((root / "results" / "results.json").read_text())
    assert_clean(results)
    assert points_of(results) == {**POINTS, "01.softmax": 0, "01.soft_lookup": 0}
    assert_unchanged(before, source)


# --------------------------------------------------------------------------- course code answers exercises



def test_the_course_packages_attention_cannot_answer_multi_head_attention(make_submission):
    chapter = "06_multi_head_attention"
    sources = {**solution_sources(chapter),
               "06.multi_head_attention": "from attn.encoder import Attention as MultiHeadAttention\n"}
    results = grade(make_submission(sources, chapter))
    assert points_of(results) == {"06.split_heads": 2, "06.merge_heads": 2, "06.multi_head_attention": 0,
                                  "06.copy_from_torch": 3, "06.repaired_attention": 4}
    assert OWN_CODE in feedback_of(results, "06.multi_head_attention")


GUARD_OFF = '''
import sys
import attn.flash

def blockwise_attention(q, k, v, block_size, causal=False):
    for module in [m for name, m in list(sys.modules.items()) if name.startswith("attn")]:
        for name in [n for n in vars(module) if "exercise" in n.lower() and not callable(vars(module)[n])]:
            setattr(module, name, None)  # whatever tells the course code which exercise is graded
    return attn.flash.merged_blockwise_attention(q, k, v, block_size, causal)
'''


def test_course_code_called_with_the_guard_switched_off_earns_nothing(make_submission):
    chapter = "08_attention_on_the_gpu"
    results = grade(make_submission({**solution_sources(chapter), "08.blockwise_attention": GUARD_OFF}, chapter))
    assert points_of(results) == {**points_of_chapter(chapter), "08.blockwise_attention": 0}
    assert OWN_CODE in feedback_of(results, "08.blockwise_attention")


ORIGINAL = '''
def _original(function):
    """The function a wrapper (a guard, a decorator) holds in its closure, else the function."""
    for cell in getattr(function, "__closure__", None) or ():
        inner = cell.cell_contents
        if callable(inner) and getattr(inner, "__name__", None) == function.__name__ and inner is not function:
            return _original(inner)
    return function
'''


def test_the_course_packages_ner_helpers_cannot_answer_chapter_9(make_submission):
    chapter = "09_named_entity_recognition"
    unwrapped = ORIGINAL + '''
from attn import ner_data

_labels = _original(ner_data.first_subtoken_labels)

def align_labels(word_ids, word_labels):
    return _labels(word_ids, word_labels)
'''
    copied_source = ORIGINAL + '''
import inspect, textwrap
from attn import ner_evaluation

for _function in (ner_evaluation.entity_spans, ner_evaluation.span_scores):  # the same code, compiled in this cell
    exec(textwrap.dedent(inspect.getsource(_original(_function))), globals())

def span_f1(true_tags, pred_tags):
    scores = span_scores(true_tags, pred_tags)
    return scores["precision"], scores["recall"], scores["f1"]
'''
    sources = {**solution_sources(chapter), "09.align_labels": unwrapped, "09.span_f1": copied_source}
    results = grade(make_submission(sources, chapter))
    assert points_of(results) == {**points_of_chapter(chapter), "09.align_labels": 0, "09.span_f1": 0}
    assert OWN_CODE in feedback_of(results, "09.align_labels")
    assert OWN_CODE in feedback_of(results, "09.span_f1")


HIDDEN_NAME = '''
import importlib, sys

_course = importlib.import_module("attn." + "fl" + "ash")  # no name of the course code in the source
_found = getattr(_course, "causal" + "_allowed")
'''

HIDDEN_CALLS = {
    "taken out of its wrapper": ORIGINAL + HIDDEN_NAME + REAL_KEYS + '''
_allowed = _original(_found)

def decoder_mask(lengths, max_len, padding_side="right"):
    return _allowed(max_len, max_len)[None, :, :] & _real_keys(lengths, max_len, padding_side)[:, None, :]
''',
    "called with the guard switched off": HIDDEN_NAME + REAL_KEYS + '''
def decoder_mask(lengths, max_len, padding_side="right"):
    for module in [m for name, m in list(sys.modules.items()) if name.startswith("attn")]:
        for name in [n for n in vars(module) if "exercise" in n.lower() and not callable(vars(module)[n])]:
            setattr(module, name, None)  # whatever tells the course code which exercise is graded
    return _found(max_len, max_len)[None, :, :] & _real_keys(lengths, max_len, padding_side)[:, None, :]
''',
}


@pytest.mark.parametrize("way", list(HIDDEN_CALLS))
def test_course_code_found_without_its_name_earns_nothing(make_submission, way):
    results = grade(make_submission({**solution_sources(MASKS), "04.decoder_mask": HIDDEN_CALLS[way]}, MASKS))
    assert points_of(results) == {**MASK_POINTS, "04.decoder_mask": 0}
    assert OWN_CODE in feedback_of(results, "04.decoder_mask")


def test_the_course_packages_decoder_cannot_answer_chapter_10(make_submission):
    """attn.decoder generates greedily (what 10.generate_with_cache must return), and attn.flash
    computes attention (the core of 10.grouped_query_attention)."""
    chapter = "10_decoders_and_the_kv_cache"
    recompute = "from attn.decoder import generate_by_recomputing as generate_with_cache\n"
    repeat_heads = '''
from attn.flash import naive_attention

def grouped_query_attention(q, k, v, causal=False):
    group = q.shape[1] // k.shape[1]
    return naive_attention(q, k.repeat_interleave(group, 1), v.repeat_interleave(group, 1), causal)
'''
    sources = {**solution_sources(chapter), "10.generate_with_cache": recompute,
               "10.grouped_query_attention": repeat_heads}
    results = grade(make_submission(sources, chapter))
    assert points_of(results) == {**points_of_chapter(chapter), "10.generate_with_cache": 0,
                                  "10.grouped_query_attention": 0}
    assert OWN_CODE in feedback_of(results, "10.generate_with_cache")
    assert OWN_CODE in feedback_of(results, "10.grouped_query_attention")
