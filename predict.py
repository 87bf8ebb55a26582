"""Tag Arabic articles with a trained model; offsets are code points into the original text.

    python predict.py --model models/tiny --input data/raw --output outputs/tagged.jsonl
    python predict.py --model models/tiny --input tasks.json --output review.json --format labelstudio
    python predict.py --model models/tiny --input big.jsonl --output tagged.jsonl --resume   # after an interruption
    python predict.py --model models/tiny --input data/raw --output outputs/pages --format html  # a page per article

Input: a .txt file, a folder of .txt files, a JSONL of {"id", "text"}, or a Label Studio tasks JSON.
Every input document gets one output record, in input order; one that cannot be read gets an
"error" field and the run goes on. Exit status: 0, or 1 if any document failed, 130 if interrupted.
"""

from __future__ import annotations

import argparse
import sys

from arabic_ner.cli import run

SUFFIX_FORMATS = {".jsonl": "jsonl", ".conll": "conll", ".json": "labelstudio"}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, metavar="DIR", help="trained model directory")
    parser.add_argument("--input", required=True, metavar="PATH", help=".txt, folder of .txt, .jsonl or Label Studio .json")
    parser.add_argument("--output", required=True, metavar="PATH")
    parser.add_argument("--format", choices=["jsonl", "conll", "labelstudio", "html"],
                        help="default: from the output suffix (.jsonl, .conll, .json), else jsonl; html writes a folder of pages")
    parser.add_argument("--batch-size", type=int, default=32, help="most windows per batch (default 32)")
    parser.add_argument("--max-batch-tokens", type=int, default=16384, help="most padded tokens per batch (default 16384)")
    parser.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda if available")
    again = parser.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", help="continue an interrupted run: keep the complete records already in --output")
    again.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    parser.add_argument("--allow-pickle", action="store_true", help="load a model that has only pickle (.bin) weights; only for models you trust")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from collections import Counter
    from pathlib import Path

    from tqdm import tqdm

    from arabic_ner.cli import StopOnInterrupt
    from arabic_ner.inference import Tagger
    from arabic_ner.modeling import model_version
    from arabic_ner.streams import PredictionWriter, iter_input, skip_done

    fmt = args.format or SUFFIX_FORMATS.get(Path(args.output).suffix, "jsonl")
    tagger = Tagger.load(
        args.model, device=args.device, batch_size=args.batch_size, max_batch_tokens=args.max_batch_tokens,
        allow_pickle=args.allow_pickle,
    )
    version = model_version(args.model) if fmt == "labelstudio" else ""
    from arabic_ner.modeling import entity_types

    labels = tuple(entity_types(tagger.id2label))
    writer = PredictionWriter(args.output, fmt, version, resume=args.resume, overwrite=args.overwrite, labels=labels)
    documents = iter_input(args.input)
    if writer.done_ids:
        print(f"resuming after {len(writer.done_ids)} documents already in {args.output}", file=sys.stderr)
        documents = skip_done(documents, writer.done_ids, Path(args.output))
    counts = Counter()
    with writer, StopOnInterrupt() as interrupt:
        progress = tqdm(tagger.tag(documents, stop=interrupt.requested), desc="tagging", unit="doc", initial=len(writer.done_ids))
        for tagged in progress:
            doc = tagged.document
            writer.write(doc, tagged.score)
            counts["failed" if doc.error else "empty" if not doc.text.strip() else "tagged"] += 1
            counts["entities"] += len(doc.spans)
            if doc.error:
                tqdm.write(f"error: {doc.error}", file=sys.stderr)
    print(
        f"{counts['tagged']} tagged, {counts['empty']} empty, {counts['failed']} failed; "
        f"{counts['entities']} entities -> {args.output} ({fmt})",
        file=sys.stderr,
    )
    if interrupt.requested():
        print(f"interrupted: {writer.count} documents are in {args.output}; run again with --resume to continue", file=sys.stderr)
        return 130
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    run(main)
