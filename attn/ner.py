"""Named-entity recognition on CoNLL-2003 with a pretrained BERT-family encoder (chapter 9): the command line.

Command line (``python -m attn.ner --help``)::

    python -m attn.ner train --quick            # documents of 1,000 sentences, 1 epoch: a first look
    python -m attn.ner train --full             # 2 models of 6 epochs on the full training set, and their
                                                # ensemble; writes book/results/ner_full_*
    python -m attn.ner compare                  # the ablations over seeds; writes ner_settings.json
    python -m attn.ner compare --resume         # the same, keeping the experiments already in the file
    python -m attn.ner tag "Angela Merkel visited Paris on Monday."
    python -m attn.ner tag --file article.txt   # a whole document: its sentences are each other's context

The data comes from ``--data DIR`` or ``CONLL2003_DIR`` (see ``attn.conll``). The fine-tuned
model is saved in ``--model-dir``, by default ``~/.cache/attn-course/ner/`` (or
``$ATTN_NER_MODEL_DIR``), and never overwritten unless ``--overwrite`` is given.

The code lives in modules by job: ``attn.ner_data`` (words to model inputs),
``attn.ner_context`` (windows of document context), ``attn.ner_model`` (the token
classifier and ensembles of them, saving and loading), ``attn.ner_training`` (the
fine-tuning step and loop), ``attn.ner_evaluation`` (entity scores and errors),
``attn.ner_prediction`` (tagging sentences and raw text), ``attn.ner_results`` (the runs
whose numbers the course keeps) and ``attn.ner_comparison`` (the settings compared).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from attn.bench import RESULTS_DIR
from attn.conll import DataNotFoundError, load_conll2003
from attn.ner_model import ModelNotFoundError, check_can_save, default_model_dir, load_model
from attn.ner_prediction import tag_text
from attn.ner_comparison import SETTINGS_FILE, compare_settings, compared_settings
from attn.ner_results import run_training
from attn.ner_training import FULL, FULL_MEMBERS, QUICK


class BadInputError(ValueError):
    """Input the tagger cannot read; the message says what to give instead."""


def read_text(path: Path) -> str:
    """The contents of a UTF-8 text file, or BadInputError saying what is wrong with it."""
    if not path.is_file():
        raise BadInputError(f"no file {path}: give the path of a text file, or the text itself")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise BadInputError(f"cannot read {path} ({error.strerror}): give a file you can read") from error
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is None or "\x00" in text:
        raise BadInputError(f"{path} is not a UTF-8 text file: give a plain-text file (.txt)")
    return text


def read_record(path: Path) -> dict:
    """An earlier record of ``compare``, or BadInputError saying how to start afresh."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise BadInputError(f"cannot read {path} to resume from it: pass --overwrite to start afresh") from error


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m attn.ner", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    train_parser = commands.add_parser("train", help="fine-tune on CoNLL-2003 and save the model")
    mode = train_parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="documents of 1,000 sentences, 1 epoch, batches of 16 "
                      "(the default)")
    mode.add_argument("--full", action="store_true", help=f"the full training set: {FULL_MEMBERS} models of "
                      f"{FULL.epochs} epochs from different seeds, and their ensemble; writes the results")
    train_parser.add_argument("--data", help="the CoNLL-2003 directory (default: $CONLL2003_DIR)")
    train_parser.add_argument("--model-dir", type=Path, default=None, help="where to save the model")
    train_parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="where --full writes results")
    train_parser.add_argument("--overwrite", action="store_true", help="replace an existing model and results")
    train_parser.add_argument("--epochs", type=int, help="override the number of epochs")
    train_parser.add_argument("--lr", type=float, help="override the peak learning rate")
    train_parser.add_argument("--sentences", type=int, help="train on a random subset of this many sentences")
    train_parser.add_argument("--no-casing", action="store_true", help="leave out the casing embedding")
    train_parser.add_argument("--context", type=int, help="the window length in sub-tokens (0: sentences alone)")
    train_parser.add_argument("--members", type=int, help=f"how many models to fine-tune and ensemble (default: "
                              f"{FULL_MEMBERS} with --full, else 1)")
    train_parser.add_argument("--threads", type=int, default=2, help="CPU threads for PyTorch (default 2)")
    compare_parser = commands.add_parser("compare", help="fine-tune several settings over seeds; write the F1 of each")
    compare_parser.add_argument("--data", help="the CoNLL-2003 directory (default: $CONLL2003_DIR)")
    compare_parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help=f"where to write {SETTINGS_FILE}")
    keep = compare_parser.add_mutually_exclusive_group()
    keep.add_argument("--overwrite", action="store_true", help=f"replace an existing {SETTINGS_FILE}")
    keep.add_argument("--resume", action="store_true", help=f"keep the experiments of an existing {SETTINGS_FILE} "
                      "that were run the same way, run the rest")
    compare_parser.add_argument("--threads", type=int, default=2, help="CPU threads for PyTorch (default 2)")
    tag_parser = commands.add_parser("tag", help="print the entities of a text or of a text file")
    source = tag_parser.add_mutually_exclusive_group(required=True)
    source.add_argument("text", nargs="?", help="the text to tag: a sentence or a whole document")
    source.add_argument("--file", type=Path, help="a UTF-8 text file to tag as one document")
    tag_parser.add_argument("--model-dir", type=Path, default=None, help="the fine-tuned model's directory")
    args = parser.parse_args(argv)

    try:
        if args.command == "tag":
            text = read_text(args.file) if args.file is not None else args.text
            if not text.strip():
                raise BadInputError("nothing to tag: the text is empty; give a sentence, or --file PATH")
            model, tokenizer = load_model(args.model_dir)
            entities = tag_text(model, tokenizer, text)
            if not entities:
                print("no entities found")
            for entity in entities:
                print(f"{entity.type:<5} {entity.start:>4} {entity.end:>4}  {entity.text}")
            return 0
        if args.command == "compare":
            path = args.results_dir / SETTINGS_FILE
            if path.exists() and not (args.overwrite or args.resume):
                raise FileExistsError(f"{path} exists: pass --resume to keep its experiments, --overwrite to "
                                      "replace it, or --results-dir")
            previous = read_record(path) if args.resume and path.exists() else None
            compare_settings(load_conll2003(args.data), compared_settings(), args.threads, path, previous)
            print(f"wrote {path}")
            return 0
        members = args.members if args.members is not None else (FULL_MEMBERS if args.full else 1)
        if members < 1:
            raise BadInputError(f"--members {members}: give the number of models to fine-tune, 1 or more")
        overrides = {"epochs": args.epochs, "lr": args.lr, "max_sentences": args.sentences, "context": args.context}
        config = replace(FULL if args.full else QUICK, casing=not args.no_casing,
                         **{key: value for key, value in overrides.items() if value is not None})
        model_dir = (args.model_dir or default_model_dir()).expanduser()
        check_can_save(model_dir, args.overwrite)  # fail before training, not after it
        if args.full and (args.results_dir / "ner_full_run.json").exists() and not args.overwrite:
            raise FileExistsError(f"{args.results_dir}/ner_full_run.json exists: pass --overwrite to replace it, "
                                  "or --results-dir to write elsewhere")
        splits = load_conll2003(args.data)  # fail fast, before loading the model
        run_training(config, splits, model_dir, args.overwrite, args.full, args.results_dir, args.threads, members)
        return 0
    except (DataNotFoundError, ModelNotFoundError, FileExistsError, BadInputError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
