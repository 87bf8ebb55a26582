"""Tag Arabic articles with a trained model; offsets are code points into the original text.

    arabic-ner predict --model models/tiny --input data/raw --output outputs/tagged.jsonl
    arabic-ner predict --model models/tiny --input tasks.json --output review.json --format labelstudio
    arabic-ner predict --model models/tiny --input big.jsonl --output tagged.jsonl --resume   # after an interruption
    arabic-ner predict --model models/tiny --input data/raw --output outputs/pages --format html  # a page per article
    accelerate launch --multi_gpu --num_processes 2 -m arabic_ner predict --model ...   # shard over processes (GPUs, or gloo on CPUs)

Input: a .txt file, a folder of .txt files, a JSONL of {"id", "text"}, or a Label Studio tasks JSON.
Every input document gets one output record, in input order; one that cannot be read gets an
"error" field and the run goes on. Exit status: 0, or 1 if any document failed, 130 if interrupted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..data.writers import FORMATS
from .common import positive


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="arabic-ner predict", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, metavar="DIR", help="trained model directory")
    parser.add_argument("--input", required=True, metavar="PATH", help=".txt, folder of .txt, .jsonl or Label Studio .json")
    parser.add_argument("--output", required=True, metavar="PATH")
    parser.add_argument("--format", choices=FORMATS,
                        help="default: from the output suffix (.jsonl, .conll, .json), else jsonl; html writes a folder of pages")
    parser.add_argument("--batch-size", type=positive, default=256, help="most windows per batch (default 256; --max-batch-tokens usually binds first)")
    parser.add_argument("--max-batch-tokens", type=positive, default=16384, help="most padded tokens per batch (default 16384)")
    parser.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda if available")
    parser.add_argument("--dtype", choices=["auto", "fp32", "bf16", "int8"], default="auto",
                        help="auto (default): bf16 on a GPU or on a CPU that computes it natively, else fp32; "
                             "int8: quantised Linear layers (CPU). bench/predict_throughput.py measures speed and agreement")
    parser.add_argument("--engine", choices=["torch", "onnxruntime", "openvino"],
                        help="default: onnxruntime for --dtype int8 on a CPU (exported into the model's onnx/ folder on first use, "
                             "see arabic-ner export); where that export is current, onnxruntime for fp32 and openvino for bf16 "
                             "on a CPU; torch otherwise; GPUs run torch")
    again = parser.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", help="continue an interrupted run: keep the complete records already in --output")
    again.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    parser.add_argument("--allow-pickle", action="store_true", help="load a model that has only pickle (.bin) weights; only for models you trust")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from tqdm import tqdm

    from ..core.labels import entity_types
    from ..core.problems import UserError
    from ..data.inputs import iter_input
    from ..data.writers import PredictionWriter, check_output, format_for, skip_done, summary, write_tagged
    from ..model.distributed import launched, predict_in_processes, process_state
    from ..model.inference import Tagger
    from ..model.loading import model_version_later
    from ..model.precision import check_device
    from .common import StopOnInterrupt

    fmt = format_for(args.output, args.format)
    check_output(args.output, fmt, args.resume, args.overwrite, inputs=[args.input, args.model])  # in every process, before any work
    if launched() and args.resume:
        raise UserError("--resume works in a single process; run predict.py without accelerate launch to resume")
    check_device(args.device)
    documents = iter_input(args.input)  # checks the input as a whole before the model loads

    # the weights' hash names the model in every record; it runs while torch and the model load
    version = model_version_later(args.model) if Path(args.model).is_dir() else lambda: args.model

    def make_writer():
        return PredictionWriter(args.output, fmt, version(), resume=args.resume, overwrite=args.overwrite)

    state = process_state() if launched() else None
    writer = make_writer() if args.resume else None  # a resumed output is checked before the model loads
    named = format_for(args.output, None)
    if named != fmt and Path(args.output).suffix.lower() in (".jsonl", ".conll", ".json"):
        print(f"warning: {args.output}: the name says {named}, but --format {fmt} is written into it", file=sys.stderr)
    if writer is not None and writer.done.count:
        documents = skip_done(documents, writer)  # ids and texts, before anything is written
        print(f"resuming after {writer.done.count} documents already in {args.output}", file=sys.stderr)
    device = args.device or (str(state.device) if state and state.device.type == "cuda" else None)
    tagger = Tagger.load(args.model, device=device, batch_size=args.batch_size, max_batch_tokens=args.max_batch_tokens,
                         allow_pickle=args.allow_pickle, dtype=args.dtype, engine=args.engine)
    print(tagger.precision.line(), file=sys.stderr)
    labels = tuple(entity_types(tagger.id2label))  # the legend order of html pages
    if writer is None and state is None:
        writer = make_writer()

    if state is not None:
        def make_labelled_writer():
            writer = make_writer()
            writer.labels = labels
            return writer

        result = predict_in_processes(state, tagger, documents, Path(args.output), make_labelled_writer)
        if result is None:
            return 0  # not the first process: the first one reports
        counts, writer = result
        print(summary(counts, writer), file=sys.stderr)
        return 1 if counts["failed"] else 0

    writer.labels = labels
    with writer, StopOnInterrupt() as interrupt:
        progress = tqdm(tagger.tag(documents, stop=interrupt.requested), desc="tagging", unit="doc", initial=writer.done.count)
        try:
            counts = write_tagged(writer, ((t.document, t.score) for t in progress))
        finally:
            progress.close()  # ends the bar's line, so that a message after it starts a line of its own
    print(summary(counts, writer), file=sys.stderr)
    if writer.count == 0:
        print(f"warning: {args.input} holds no documents, so {args.output} holds no records", file=sys.stderr)
    if interrupt.requested():
        print(f"interrupted: {writer.count} documents are in {args.output}; run again with --resume to continue", file=sys.stderr)
        return 130
    return 1 if counts["failed"] else 0

