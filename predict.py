"""Tag Arabic articles with a trained model; offsets are code points into the original text.

    python predict.py --model models/tiny --input data/raw --output outputs/tagged.jsonl
    python predict.py --model models/tiny --input tasks.json --output review.json --format labelstudio

Input: a .txt file, a folder of .txt files, a JSONL of {"id", "text"}, or a Label Studio tasks JSON.
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
    parser.add_argument("--format", choices=["jsonl", "conll", "labelstudio"], help="default: from the output suffix (.jsonl, .conll, .json), else jsonl")
    parser.add_argument("--batch-size", type=int, default=32, help="most windows per batch (default 32)")
    parser.add_argument("--max-batch-tokens", type=int, default=16384, help="most padded tokens per batch (default 16384)")
    parser.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda if available")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from pathlib import Path

    from tqdm import tqdm

    from arabic_ner.inference import Tagger
    from arabic_ner.modeling import model_version
    from arabic_ner.streams import PredictionWriter, iter_input

    fmt = args.format or SUFFIX_FORMATS.get(Path(args.output).suffix, "jsonl")
    tagger = Tagger.load(args.model, device=args.device, batch_size=args.batch_size, max_batch_tokens=args.max_batch_tokens)
    version = model_version(args.model) if fmt == "labelstudio" else ""
    spans = empty = 0
    with PredictionWriter(args.output, fmt, version) as writer:
        for tagged in tqdm(tagger.tag(iter_input(args.input)), desc="tagging", unit="doc"):
            writer.write(tagged.document, tagged.score)
            spans += len(tagged.document.spans)
            empty += not tagged.document.text.strip()
    print(f"tagged {writer.count} documents ({empty} empty), {spans} entities -> {args.output} ({fmt})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    run(main)
