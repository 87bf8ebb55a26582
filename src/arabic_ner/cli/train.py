"""Train an Arabic NER token classifier from Label Studio or CoNLL annotations.

    arabic-ner train --config configs/tiny.yaml
    arabic-ner train --config configs/camelbert-msa.yaml --train annotations/corpus.json --set num_train_epochs=5
    arabic-ner train --config configs/tiny.yaml --check       # validate the data, print counts, do not train
    arabic-ner train --config configs/tiny.yaml --cv 5        # 5-fold cross-validation by document
    arabic-ner train --config configs/tiny.yaml --resume      # continue a run that was interrupted
    accelerate launch --multi_gpu --num_processes 2 -m arabic_ner train --config ...   # DDP over GPUs (or gloo on CPUs)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..model.loading import quiet_transformers
from .common import add_training_options


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="arabic-ner train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="YAML config, e.g. configs/tiny.yaml")
    parser.add_argument("--train", nargs="+", metavar="PATH", help="annotation files (Label Studio .json or CoNLL); default: the config's `train`")
    parser.add_argument("--dev", metavar="PATH", help="dev annotations; default: split off dev_fraction of the training documents")
    parser.add_argument("--map", action="append", default=[], metavar="LABEL=TARGET",
                        help="label map for the --train/--dev files, e.g. --map PERS=null --map GPE=LOC (in a config: label_map)")
    parser.add_argument("--output-dir", metavar="DIR", help="where the model goes; default: the config's `output_dir`")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key, e.g. --set learning_rate=3e-5")
    parser.add_argument("--check", action="store_true", help="validate the data and its alignment with the tokenizer, print counts, exit")
    parser.add_argument("--cv", type=int, metavar="K", help="K-fold cross-validation by document; reports mean ± std F1")
    add_training_options(parser)
    return parser.parse_args(argv)


def overrides_of(args) -> list[str]:
    """The config overrides the command line gives: --set, and --train/--dev (with --map) and --output-dir."""
    from ..core.config import parse_label_map
    from ..core.problems import UserError

    label_map = parse_label_map(args.map)
    if label_map and not (args.train or args.dev):
        raise UserError("--map applies to the files given with --train or --dev; in a config, give each source a label_map")
    overrides = list(args.set)
    sources = {"train": [{"path": p, "label_map": label_map} for p in args.train or []],
               "dev": {"path": args.dev, "label_map": label_map} if args.dev else None}
    for key, value in (*sources.items(), ("output_dir", args.output_dir)):
        if value:
            overrides.append(f"{key}={json.dumps(value, ensure_ascii=False)}")
    return overrides


def main(argv=None):
    args = parse_args(argv)
    quiet_transformers(args.verbose)
    from ..core.config import load_config
    from ..core.problems import Problems, UserError
    from ..data.files import check_model_output, discard_interrupted_run
    from ..training.corpora import check_data, dev_split, load_documents, warn_dev_overlap
    from ..training.crossval import cross_validate
    from ..training.trainer import train_model

    config = load_config(args.config, overrides_of(args))
    paths = [s.path for s in config.train] + ([config.dev.path] if config.dev else [])
    if args.cv is not None and args.cv < 2:
        raise UserError(f"--cv {args.cv}: K-fold cross-validation needs K of 2 or more (5 is usual)")
    if not args.check:
        starts = [m for m in (config.model, config.init_from) if m and Path(m).is_dir()]  # the model it starts from is an input too
        check_model_output(config.output_dir, paths + starts, resume=args.resume, overwrite=args.overwrite, cv=args.cv is not None)
        if args.overwrite and args.cv is None:
            discard_interrupted_run(config.output_dir)

    problems = Problems()
    documents = load_documents(config.train, config.labels, problems)
    dev_documents = load_documents([config.dev], config.labels, problems) if config.dev else None
    if not documents:
        problems.error(" + ".join(paths[:len(config.train)]), "no annotated documents to train on (what was skipped is listed above)")
    for advice in config.advice():
        print(f"warning: config: {advice}", file=sys.stderr)
    if args.check:
        check = check_data(config, documents + (dev_documents or []), problems)
        problems.print()
        print("\n".join(check.lines(config.labels)))
        print(f"check: {len(problems.errors)} error(s), {len(problems.warnings)} warning(s)")
        return 1 if problems.errors else 0
    documents = usable_documents(config, documents, problems, paths)

    if args.cv is not None:
        from ..model.distributed import launched

        if args.resume:
            raise UserError("--resume continues one training run; it does not apply to --cv")
        if launched():
            raise UserError("--cv runs in a single process; run train.py --cv without accelerate launch")
        cv = cross_validate(config, documents, args.cv, config.output_dir, verbose=args.verbose)
        print(f"{args.cv}-fold CV span micro F1: {cv.mean_std.span_micro_f1} (report: {config.output_dir}/cv.md)")
        return 0
    if dev_documents is None:
        documents, dev_documents = dev_split(config, documents)
        print(f"dev split by document (seed {config.seed}): {[d.id for d in dev_documents]}", file=sys.stderr)
    else:
        warn_dev_overlap(documents, dev_documents, config.dev.path)
    metrics = train_model(config, documents, dev_documents, config.output_dir, resume=args.resume, verbose=args.verbose)
    if metrics is None:
        return 0  # another process of a multi-process run: the first one reports
    if metrics.dev:
        print(f"dev span micro P/R/F1: {metrics.dev.spans.micro.prf()}")
    print(f"model saved to {config.output_dir}")
    return 0


def usable_documents(config, documents: list, problems, paths: list) -> list:
    """The training documents once the problems found reading ``paths`` are printed (warnings) or
    raised (errors, each on its own line), cut to ``max_train_documents``; none is an error."""
    from ..core.problems import UserError

    problems.print(warnings_only=True)
    problems.raise_if_errors(" + ".join(map(str, paths)))
    if config.max_train_documents:
        documents = documents[: config.max_train_documents]
    if not documents:
        raise UserError(f"no annotated documents in {', '.join(map(str, paths[:len(config.train)]))}; nothing to train on")
    return documents
