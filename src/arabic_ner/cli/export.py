"""Export a trained model to ONNX, fp32 and int8, into its own folder, for predict on onnxruntime and OpenVINO.

    arabic-ner export --model models/tiny
    arabic-ner export --model models/tiny --overwrite     # make it again, even though it is current

The graphs go to DIR/onnx/: model.onnx (input_ids and attention_mask, any batch size and length, to
logits), model-int8.onnx (its dynamic int8 quantisation) and export.json (the sha256 of the weights
it was made from, the versions that made it, and how it compared with torch on a few batches). The
folder stays a model directory that Hugging Face and the pipeline load as before. On a CPU, predict
then runs int8 on onnxruntime's int8 graph, fp32 on onnxruntime's fp32 graph and bf16 on OpenVINO
(from the fp32 graph), each starting seconds sooner than torch. predict --dtype int8 makes the
export on first use when the folder can be written; every use checks that it belongs to the weights
there: after a retraining it is made again (int8), or torch runs (fp32, bf16), never a stale graph.
"""

from __future__ import annotations

import argparse
import sys


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="arabic-ner export", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, metavar="DIR", help="trained model directory; the export goes into DIR/onnx/")
    parser.add_argument("--overwrite", action="store_true", help="make the export again even when it belongs to these weights")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    import time
    from pathlib import Path

    from ..core.problems import UserError
    from ..model.loading import quiet_transformers
    from ..model.onnx_engine import GRAPHS, RECORD, Verification, check_exportable, export, export_folder, export_state, writable

    check_exportable(args.model)
    quiet_transformers(False)  # no "Loading weights" bar
    folder = export_folder(args.model)
    why, _ = export_state(args.model)
    if why is None and not args.overwrite:
        print(f"{folder}: already the export of these weights; nothing to do (--overwrite makes it again)", file=sys.stderr)
        return 0
    if not writable(Path(args.model)):
        raise UserError(f"{args.model}: cannot be written, and the export goes into it ({folder}); "
                        "copy the model to a folder you can write to, and export it there")
    if why is not None and folder.exists():
        print(f"note: {why}: exporting it again", file=sys.stderr)
    start = time.perf_counter()
    record = export(args.model)
    for name in (*GRAPHS.values(), RECORD):
        print(f"wrote {folder / name} ({(folder / name).stat().st_size / 1e6:,.1f} MB)", file=sys.stderr)
    print(Verification(**record["verification"]).line(), file=sys.stderr)
    print(f"exported in {time.perf_counter() - start:.1f} s; predict on a CPU runs int8 and fp32 on onnxruntime, bf16 on openvino", file=sys.stderr)
    return 0
