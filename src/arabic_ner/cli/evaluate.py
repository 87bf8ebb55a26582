"""Score a model on gold annotations, or score a conlleval-style file, and write JSON + Markdown reports.

    arabic-ner evaluate --model models/tiny --data annotations/corpus.json
    arabic-ner evaluate --conll predictions.conll        # lines of: token GOLD PRED
    arabic-ner evaluate --conll predictions.conll --map PERS=null --map GPE=LOC

seqeval is called directly: `evaluate.load("seqeval")` downloads its script from the Hub, so it fails offline.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import positive


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="arabic-ner evaluate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", metavar="DIR", help="trained model directory (use with --data)")
    source.add_argument("--conll", metavar="FILE", help="conlleval-style file with token, gold and predicted tag")
    parser.add_argument("--data", metavar="PATH", help="gold annotations: a Label Studio export or a CoNLL-style file (any name)")
    parser.add_argument("--map", action="append", default=[], metavar="LABEL=TARGET",
                        help="read the gold labels of --data, or both the gold and predicted tags of --conll, through a map, "
                             "e.g. --map PERS=null (drops PERS) --map GPE=LOC (renames GPE)")
    parser.add_argument("--output-dir", metavar="DIR", help="default: reports/<model>__<data> or reports/<conll file>")
    parser.add_argument("--batch-size", type=positive, default=32, help="most windows per batch (default 32)")
    parser.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda if available")
    parser.add_argument("--dtype", choices=["auto", "fp32", "bf16", "int8"], default="auto",
                        help="auto (default): bf16 on a GPU or on a CPU that computes it natively, else fp32")
    parser.add_argument("--allow-pickle", action="store_true", help="load a model that has only pickle (.bin) weights; only for models you trust")
    args = parser.parse_args(argv)
    if args.model and not args.data:
        parser.error("--model needs --data")
    return args


def main(argv=None):
    args = parse_args(argv)
    from ..core.config import parse_label_map
    from ..core.problems import Problems, UserError
    from ..core.results import pct
    from ..data.files import check_report_output
    from ..evaluation.scoring import score_conll, score_documents, seen_in_training, write_report

    problems = Problems()
    label_map = parse_label_map(args.map)  # a bad --map is refused before any work
    if args.conll:
        out = args.output_dir or f"reports/{Path(args.conll).stem}"
        check_report_output(out, [args.conll])
        report = score_conll(Path(args.conll), problems, label_map)
        problems.print(warnings_only=True)
        paths = write_report(report, None, out, f"Evaluation of {args.conll}", plots=True)
    else:
        from ..core.labels import entity_types
        from ..model.inference import Tagger
        from ..model.precision import check_device
        from ..training.corpora import load_documents

        out = args.output_dir or f"reports/{Path(args.model).name}__{Path(args.data).stem}"
        check_report_output(out, [args.data, args.model])
        check_device(args.device)
        # int8 and fp32 run on the model's ONNX export if it has a current one; evaluate never makes one in it
        tagger = Tagger.load(args.model, device=args.device, batch_size=args.batch_size, allow_pickle=args.allow_pickle,
                             dtype=args.dtype, export=False)
        print(tagger.precision.line(), file=sys.stderr)
        from ..core.config import Source

        labels = entity_types(tagger.id2label)
        gold = load_documents([Source(args.data, label_map=label_map)], labels, problems)
        problems.print(warnings_only=True)
        problems.raise_if_errors(args.data, hint="")
        if not gold:
            raise UserError(f"{args.data}: no annotated documents to score (tasks need a completed annotation and a text)")
        predicted = [t.document for t in tagger.tag(gold)]
        report, errors = score_documents(gold, predicted, labels)
        report.model, report.data = args.model, args.data
        seen = seen_in_training(args.model, gold)
        if seen:
            report.documents_seen_in_training = seen
            print(f"warning: {seen} of the {len(gold)} documents in {args.data} were in {args.model}'s training data; "
                  "their scores say how well it learnt them, not how well it generalises (score held-out documents, "
                  "or run train.py --cv)", file=sys.stderr)
        paths = write_report(report, errors, out, f"Evaluation of {args.model} on {args.data}", plots=True)
    line = f"seqeval strict micro F1 {pct(report.seqeval.strict.micro.f1)}"
    if report.spans is not None:
        line += f", character-span micro F1 {pct(report.spans.micro.f1)}"
    print(line)
    print("wrote " + ", ".join(str(p) for p in paths if p.suffix != ".png"))
    print("plots: " + ", ".join(str(p) for p in paths if p.suffix == ".png"))
    return 0

