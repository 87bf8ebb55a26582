"""A learning curve on your own data: train on 25, 50, 75 and 100% of the documents (by document, each
step holding the ones before it), score each step on a fixed dev set or by K-fold cross-validation,
and say whether the last step still gained, i.e. whether more annotation will probably help.

    arabic-ner curve --config configs/tiny.yaml --cv 5       # each step: the mean over 5 folds by document
    arabic-ner curve --config configs/tiny.yaml              # against the config's dev set, or the dev_fraction split
    arabic-ner curve --config configs/camelbert-msa.yaml --train annotations/export.json --dev annotations/dev.json
    arabic-ner curve --config configs/tiny.yaml --cv 5 --steps 20,40,60,80,100

It writes curve.json, curve.md and curve.png to --output-dir; the steps' models are deleted once scored.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..model.loading import quiet_transformers
from .train import overrides_of, usable_documents


def steps(value: str) -> list[int]:
    """An argparse type: increasing whole percentages from 1 to 100, at least two, e.g. ``25,50,75,100``."""
    from ..training.curve import steps_problem

    try:
        percents = [int(p) for p in value.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a list of whole percentages, e.g. 25,50,75,100") from None
    if problem := steps_problem(percents):
        raise argparse.ArgumentTypeError(f"{value}: {problem}")
    return percents


def parse_args(argv):
    from ..training.curve import STEPS

    parser = argparse.ArgumentParser(prog="arabic-ner curve", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="YAML config, e.g. configs/tiny.yaml; each step trains as arabic-ner train does")
    parser.add_argument("--train", nargs="+", metavar="PATH", help="annotation files (Label Studio .json or CoNLL); default: the config's `train`")
    parser.add_argument("--dev", metavar="PATH", help="a fixed dev set to score every step on; default: the config's `dev`, "
                                                      "else dev_fraction of the documents split off")
    parser.add_argument("--cv", type=int, metavar="K", help="score each step by K-fold cross-validation by document (the mean over "
                                                            "the folds) instead of on a dev set")
    parser.add_argument("--steps", type=steps, default=list(STEPS), metavar="P,P,...",
                        help=f"percentages of the training documents to train on (default {','.join(map(str, STEPS))})")
    parser.add_argument("--map", action="append", default=[], metavar="LABEL=TARGET",
                        help="label map for the --train/--dev files, e.g. --map PERS=null --map GPE=LOC (in a config: label_map)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key, e.g. --set num_train_epochs=10")
    parser.add_argument("--output-dir", metavar="DIR", help="where curve.json, curve.md and curve.png go; default: reports/curve-<config name>")
    parser.add_argument("--overwrite", action="store_true", help="replace the curve files already in the output dir")
    parser.add_argument("--verbose", action="store_true", help="show transformers' progress bars and loss dicts, not one line per epoch")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    quiet_transformers(args.verbose)
    from ..core.config import load_config
    from ..core.problems import Problems, UserError
    from ..data.files import check_output_file
    from ..model.distributed import launched
    from ..training.corpora import load_documents, warn_dev_overlap
    from ..training.curve import CURVE_FILES, curve_rows, learning_curve, plan_curve

    if args.cv is not None and args.cv < 2:
        raise UserError(f"--cv {args.cv}: K-fold cross-validation needs K of 2 or more (5 is usual)")
    if args.cv is not None and args.dev:
        raise UserError(f"--dev {args.dev} and --cv {args.cv}: score the steps on a fixed dev set or by cross-validation; give one")
    if launched():
        raise UserError("arabic-ner curve runs in a single process; run it without accelerate launch")
    config = load_config(args.config, overrides_of(args))
    paths = [s.path for s in config.train] + ([config.dev.path] if config.dev else [])
    out = Path(args.output_dir or f"reports/curve-{Path(args.config).stem}")
    starts = [m for m in (config.model, config.init_from) if m and Path(m).is_dir()]  # the model it starts from is an input too
    for name in CURVE_FILES:
        check_output_file(out / name, args.overwrite, "--output-dir", paths + starts)

    problems = Problems()
    where = " + ".join(paths[:len(config.train)])
    documents = load_documents(config.train, config.labels, problems)
    dev_documents = load_documents([config.dev], config.labels, problems) if config.dev and args.cv is None else None
    for advice in config.advice():
        print(f"warning: config: {advice}", file=sys.stderr)
    documents = usable_documents(config, documents, problems, paths)
    if config.dev and args.cv is not None:
        print(f"note: --cv scores each step on its folds' held-out documents; the config's dev set {config.dev.path} is not used",
              file=sys.stderr)
    if dev_documents is not None:
        warn_dev_overlap(documents, dev_documents, config.dev.path)
    plan = plan_curve(config, documents, dev_documents, args.steps, args.cv, where)
    print(f"learning curve: steps {','.join(map(str, plan.percents))}% of the training documents, scored on {plan.scored_on}",
          file=sys.stderr)

    def report(point, gain):
        spread = f" ± {100 * point.f1_std:.1f}" if plan.k else ""
        change = "" if gain is None else f"  gain {100 * gain:+.1f}"
        documents = f"{point.documents:g} document{'' if point.documents == 1 else 's'}"
        print(f"{point.percent:>3}%  {documents}  span F1 {100 * point.f1:.1f}{spread}{change}", flush=True)

    curve = learning_curve(config, plan, out, on_point=report, verbose=args.verbose)
    print()
    print("\n".join(aligned(*curve_rows(curve))))
    print()
    print(curve.verdict())
    print(f"wrote {', '.join(str(out / name) for name in CURVE_FILES)}")
    return 0


def aligned(header: list[str], rows: list[list[str]]) -> list[str]:
    """A plain-text table: the first column left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
            for row in [header, *rows]]
