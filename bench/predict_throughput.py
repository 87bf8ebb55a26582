"""Batch-tagging speed of arabic_ner's engine against transformers' token-classification pipeline.

    .venv/bin/python -m bench.predict_throughput                 # the full run: about 15 minutes on 2 cores
    .venv/bin/python -m bench.predict_throughput --docs 12 --skip-rss --skip-int8 --skip-startup
    .venv/bin/python -m bench.predict_throughput --rss-only --rss-documents 10000,100000 --rss-formats jsonl,conll
    .venv/bin/python -m bench.predict_throughput --rss-only --rss-export      # the model exported: bf16 on OpenVINO

Everything is built here, offline: a WordPiece tokenizer learnt from data/raw and a randomly
initialised BERT-base-size token classifier (12 layers, hidden 768), saved to a model folder as
train saves one. The contenders tag the same documents in the same process, one after the other,
on two workloads: *articles* (paragraphs of data/raw recombined into articles of 30 to 1,500
tokens; a third of them longer than one 512-token window) and *paragraphs* (the same text, each
paragraph a document):

- baseline: ``pipeline("token-classification", aggregation_strategy="simple", stride=...)``,
  one document at a time, as a user would call it;
- arabic_ner: ``Tagger`` (length-sorted, token-budget batches across documents, windows of long
  documents batched with everything else, ``inference_mode``), in fp32, in bf16 (where the CPU
  computes it natively), in int8 on torch (``--dtype int8 --engine torch``), and on ONNX Runtime
  in int8 (``--dtype int8``) and in fp32 (``--dtype fp32`` where the export is there), and on
  OpenVINO in bf16 (``--dtype bf16`` where the export is there), all from the export
  ``arabic-ner export`` writes, made once before the runs.
  For each, the bare forward passes are timed on the very batches the engine ran (same engine,
  same shapes): the ceiling the engine can reach.

optimum's ONNX Runtime pipeline, the second peer issue 30 names, is not measured: its one release
(optimum-onnx 0.1.0) requires transformers<4.58, and this project runs transformers 5.

Both feed the model whole words. arabic_ner also strips diacritics, tatweel and invisible marks
(text.split_words), so its token count can differ slightly from the pipeline's; both counts are
printed. The tokenizer's vocabulary is learnt from the paragraphs' words. Speed is tokens of the
documents (the pipeline's count on the raw text, the same number for both) per second of wall
time, so the ratio is the ratio of the two wall times on the same documents. Spans are compared
where the two tokenise a document the same way and it fits in one window, so the comparison is
like for like. The bf16 and int8 agreement with fp32 is measured on a *trained* model (the tiny
config, trained here on the bundled annotations), since a random model's near-uniform outputs say
nothing about rounding or quantisation error.

Start-up: a fresh process tagging one paragraph, launch to exit, the pipeline against
``arabic-ner predict`` at each dtype. Peak RSS of predict for 1,000, 10,000 and 100,000 documents
(``--rss-documents``; each a paragraph of data/raw, cycled, with its own id) is measured in fresh
processes, per output format (``--rss-formats``), with a 2-layer model of the same tokenizer
(``--rss-export``: with its ONNX export, so predict runs on the engine the export gives it). The
run ends with the goals of issues 16 and 30, each with its measured value; ``--rss-only`` measures
the memory alone.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def paragraphs() -> list[str]:
    out = []
    for path in sorted((ROOT / "data" / "raw").glob("*.txt")):
        out += [p.strip() for p in path.read_text(encoding="utf-8").split("\n") if len(p.strip()) > 20]
    return out


def make_documents(n: int, tokenizer, seed: int = 0) -> list[str]:
    """Articles of varied length: a third short (1-2 paragraphs), a third medium, a third long
    (longer than one 512-token window)."""
    rng = random.Random(seed)
    paras = paragraphs()
    docs = []
    for i in range(n):
        target = [40, 300, 1100][i % 3] * rng.uniform(0.7, 1.3)
        text, length = [], 0
        while length < target:
            p = rng.choice(paras)
            text.append(p)
            length += len(tokenizer(p, add_special_tokens=False)["input_ids"])
        docs.append("\n".join(text))
    rng.shuffle(docs)
    return docs


def base_model(tokenizer, layers: int = 12, hidden: int = 768, heads: int = 12, intermediate: int = 3072):
    import torch
    from transformers import BertConfig, BertForTokenClassification

    from arabic_ner.core.config import Config
    from arabic_ner.core.labels import SCHEME
    from arabic_ner.model.building import META_KEY

    labels = Config().model_labels
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
        intermediate_size=intermediate, max_position_embeddings=512, id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    model = BertForTokenClassification(config).eval()
    setattr(model.config, META_KEY, {"scheme": SCHEME, "stride": 128})
    return model


def bench_tokenizer():
    from arabic_ner.core.config import Config, ScratchModel
    from arabic_ner.core.words import split_words
    from arabic_ner.model.vocabulary import train_wordpiece

    config = Config(model="scratch", scratch=ScratchModel(vocab_size=30000))
    words = [[w.form for w in split_words(p)] for p in paragraphs()] + [p.split() for p in paragraphs()]
    tokenizer = train_wordpiece(words, config)  # the raw words too, as the pipeline reads them
    tokenizer.model_max_length = 512
    return tokenizer


def time_pipeline(model, tokenizer, docs: list[str], stride: int) -> tuple[float, list]:
    from transformers import pipeline

    pipe = pipeline("token-classification", model=model, tokenizer=tokenizer, aggregation_strategy="simple", stride=stride, device=-1)
    pipe(docs[0])  # warm-up
    start = time.perf_counter()
    outputs = [pipe(doc) for doc in docs]
    return time.perf_counter() - start, outputs


def time_engine(model, tokenizer, docs: list[str], contender: str = "fp32", batches: list | None = None,
                model_dir: Path | None = None, **kwargs) -> tuple[float, list]:
    """Wall time of the Tagger on ``docs`` and its documents. ``contender`` is a dtype (on torch), or
    a dtype and an engine: ``int8 torch``, ``int8 onnxruntime``, ``fp32 onnxruntime``, ``bf16 openvino``
    (the last three run the ONNX export in ``model_dir``, the folder ``model`` was saved to). The
    inputs of every forward pass are appended to ``batches`` when it is given (for :func:`time_bare`)."""
    from arabic_ner.core.document import Document
    from arabic_ner.model.inference import Tagger

    dtype, _, engine = contender.partition(" ")
    tagger = Tagger(model, tokenizer, device="cpu", dtype=dtype, engine=engine or "torch", model_dir=model_dir, **kwargs)
    assert tagger.engine == (engine or "torch"), f"{contender} ran on {tagger.engine}"
    list(tagger.tag([Document("warm-up", docs[0])]))
    if batches is not None:  # the forward pass is the one step that differs between engines (Tagger._logits)
        forward = tagger._logits

        def recording(ids, mask):
            batches.append((tagger, ids, mask))
            return forward(ids, mask)

        tagger._logits = recording
    start = time.perf_counter()
    tagged = [t.document for t in tagger.tag(Document(str(i), d) for i, d in enumerate(docs))]
    seconds = time.perf_counter() - start
    if batches is not None:
        tagger._logits = forward  # time_bare runs the same passes: they must not record themselves
    return seconds, tagged


def time_bare(batches: list) -> float:
    """Wall time of the bare forward passes alone, on the very inputs (same engine and dtype, same
    batch shapes) the engine ran: the ceiling the engine can reach."""
    import torch

    start = time.perf_counter()
    with torch.inference_mode():
        for tagger, ids, mask in batches:
            with tagger._autocast():
                tagger._logits(ids, mask)
    return time.perf_counter() - start


def engine_tokens(tokenizer, docs: list[str], stride: int) -> int:
    """Tokens arabic_ner feeds the model for ``docs``, window overlaps not counted."""
    from arabic_ner.core.encoding import Encoder
    from arabic_ner.core.words import split_words

    encoder = Encoder(tokenizer, tokenizer.model_max_length, stride)
    return sum(len(enc.word_ids) for enc in encoder.encode([split_words(d) for d in docs]))


def comparable_texts(docs: list[str]) -> list[str]:
    """The documents' paragraphs kept to the words that both contenders see the same way (no
    diacritic or tatweel, no punctuation), so that the pipeline and arabic_ner feed the model the
    very same token ids."""
    from arabic_ner.core.words import split_words

    out = []
    for doc in docs:
        for paragraph in doc.split("\n"):
            kept = [t for t in paragraph.split() if [w.form for w in split_words(t)] == [t] and t.isalnum()]
            if len(kept) >= 5:
                out.append(" ".join(kept))
    return out


def comparable_agreement(model, tokenizer, texts: list[str]) -> tuple[int, int]:
    """On texts that tokenise identically and fit in one window: do the pipeline's spans (its raw
    token labels read as arabic_ner reads them: the first piece of each word) equal arabic_ner's?"""
    from transformers import pipeline

    from arabic_ner.core.alignment import tags_to_spans
    from arabic_ner.core.document import Document
    from arabic_ner.core.words import split_words
    from arabic_ner.model.inference import Tagger

    raw = pipeline("token-classification", model=model, tokenizer=tokenizer, aggregation_strategy="none", device=-1)
    tagger = Tagger(model, tokenizer, device="cpu")
    compared = agreed = 0
    for text, ours in zip(texts, tagger.tag(Document(str(i), t) for i, t in enumerate(texts))):
        words = split_words(text)
        split = tokenizer([w.form for w in words], is_split_into_words=True, add_special_tokens=False)
        assert split["input_ids"] == tokenizer(text, add_special_tokens=False)["input_ids"]
        if len(split["input_ids"]) > 510:
            continue
        first_piece = {}
        for k, w in enumerate(split.word_ids()):
            first_piece.setdefault(w, k)
        label_of = {tok["index"] - 1: tok["entity"] for tok in raw(text, ignore_labels=[])}
        tags = [label_of.get(first_piece[i], "O") for i in range(len(words))]
        compared += 1
        agreed += tags_to_spans(words, tags) == ours.document.spans
    return compared, agreed


def span_agreement(a: list, b: list) -> float:
    keys_a = {(i, s.start, s.end, s.label) for i, d in enumerate(a) for s in d.spans}
    keys_b = {(i, s.start, s.end, s.label) for i, d in enumerate(b) for s in d.spans}
    both = len(keys_a & keys_b)
    return 2 * both / (len(keys_a) + len(keys_b)) if keys_a or keys_b else 1.0


def trained_tiny_model(work: Path) -> Path:
    out = work / "tiny"
    subprocess.run(
        [sys.executable, "train.py", "--config", "configs/tiny.yaml", "--output-dir", str(out)],
        cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    return out


def peak_rss(model_dir: Path, n_docs: int, work: Path, fmt: str = "jsonl") -> float:
    """Peak resident memory (MiB) of a fresh ``arabic-ner predict`` over ``n_docs`` short documents,
    written in ``fmt``.

    Read from VmHWM in /proc/self/status at the end of the run: unlike getrusage's ru_maxrss,
    which Linux carries over fork and exec (so a child of this big process would report this
    process's memory), VmHWM belongs to the new program alone.
    """
    source = work / f"docs-{n_docs}.jsonl"
    if not source.exists():
        paras = paragraphs()
        with open(source, "w", encoding="utf-8") as f:
            for i in range(n_docs):
                f.write(json.dumps({"id": str(i), "text": paras[i % len(paras)]}, ensure_ascii=False) + "\n")
    output = work / f"out-{n_docs}.{fmt}"
    code = (
        "import sys\n"
        "from arabic_ner.cli import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "print(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "predict", "--model", str(model_dir), "--input", str(source),
         "--output", str(output), "--format", fmt, "--overwrite"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )
    output.unlink()
    return int(result.stdout.strip().splitlines()[-1]) / 1024


def print_rss(tokenizer, work: Path, counts: list[int], formats: list[str], exported: bool = False) -> dict:
    """Peak RSS of predict per output format and number of documents, each against the first count.
    ``exported``: the model has its ONNX export, so predict runs on the engine that gives it (on a CPU
    with native bf16, OpenVINO at the default dtype)."""
    from arabic_ner.model.building import save_model

    small = work / "rss-model"
    model = base_model(tokenizer, layers=2, hidden=256, heads=4, intermediate=1024)
    save_model(model, tokenizer, small)
    if exported:
        from arabic_ner.model.onnx_engine import export

        export(small, model)
    print(f"\narabic-ner predict peak RSS (VmHWM), a fresh process per run, a 2-layer model{' with its ONNX export' if exported else ''}:")
    rss = {}
    for fmt in formats:
        for n in counts:
            start = time.perf_counter()
            rss[fmt, n] = peak_rss(small, n, work, fmt)
            print(f"  {fmt:<6} {n:>9,} documents: {rss[fmt, n]:6.0f} MiB ({100 * (rss[fmt, n] / rss[fmt, counts[0]] - 1):+.1f}% "
                  f"against {counts[0]:,}; {time.perf_counter() - start:.0f} s)", flush=True)
    return rss


PIPELINE_STARTUP = """
import sys
from transformers import pipeline
pipe = pipeline("token-classification", model=sys.argv[1], aggregation_strategy="simple", device=-1)
pipe(sys.argv[2])
"""


def time_process(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start


def startup(model_dir: Path, work: Path, dtypes: list[str], rounds: int) -> dict:
    """Seconds from launch to exit of a fresh process that tags one short paragraph: the pipeline
    (import, ``pipeline(model=DIR)``, one call) against ``arabic-ner predict --model DIR`` at each
    dtype (imports, loading, the weights' hash, an int8 engine made ready, the one document,
    written). Best of ``rounds`` alternating rounds. The onnxruntime export exists already (it was
    made once, before), as on every run after a model's first, and the onnxruntime and openvino runs
    find it by default (no ``--engine``); the torch engine runs from a copy of the folder without it,
    so its runs hash the weights, as they do for a user who never exports."""
    plain = work / "base-without-export"
    plain.mkdir(exist_ok=True)
    for path in model_dir.iterdir():
        if path.is_file() and not (plain / path.name).exists():
            os.link(path, plain / path.name)
    text = paragraphs()[0]
    source = work / "one.jsonl"
    source.write_text(json.dumps({"id": "1", "text": text}, ensure_ascii=False) + "\n", encoding="utf-8")
    runs = {"pipeline": [sys.executable, "-c", PIPELINE_STARTUP, str(model_dir), text]}
    for contender in dtypes:
        dtype, _, engine = contender.partition(" ")
        folder = model_dir if engine not in ("", "torch") else plain
        runs[contender] = [sys.executable, "-m", "arabic_ner", "predict", "--model", str(folder), "--input", str(source),
                           "--output", str(work / "one-out.jsonl"), "--overwrite", "--dtype", dtype] + (["--engine", engine] if engine == "torch" else [])
    seconds: dict = {key: [] for key in runs}
    for _ in range(rounds):
        for key, command in runs.items():
            seconds[key].append(time_process(command))
    median = {key: statistics.median(values) for key, values in seconds.items()}
    print(f"\nstart-up: a fresh process tagging one paragraph, launch to exit ({rounds} alternating rounds; median, best):")
    for key in runs:
        versus = "" if key == "pipeline" else f"   median {median[key] - median['pipeline']:+.2f} s against the pipeline"
        print(f"  {'transformers pipeline' if key == 'pipeline' else 'arabic-ner predict ' + key:<40} {median[key]:5.2f} s, "
              f"{min(seconds[key]):5.2f} s{versus}")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=30, help="articles to tag (default 30, about 14k tokens)")
    parser.add_argument("--stride", type=int, default=128, help="window overlap for both contenders (default 128)")
    parser.add_argument("--skip-rss", action="store_true", help="skip the memory runs")
    parser.add_argument("--rss-only", action="store_true", help="only the memory runs")
    parser.add_argument("--rss-documents", type=lambda s: [int(n) for n in s.split(",")], default=[1000, 10000, 100000],
                        help="documents per memory run, comma-separated (default 1000,10000,100000)")
    parser.add_argument("--rss-export", action="store_true", help="the memory runs' model has its ONNX export (bf16: OpenVINO)")
    parser.add_argument("--rss-formats", type=lambda s: s.split(","), default=["jsonl"],
                        help="output formats of the memory runs, comma-separated (default jsonl)")
    parser.add_argument("--skip-int8", action="store_true")
    parser.add_argument("--skip-startup", action="store_true", help="skip the start-up runs")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of each contender; the best counts (default 2)")
    args = parser.parse_args()

    # predict's process settings (its oneDNN and ideep cache bounds) are read at the first matmul of
    # a process, so they are set here, before the pipeline's: else the whole bench would run with
    # torch's defaults and measure another engine than predict's (bf16 ran x1.9 faster with them)
    import torch

    import arabic_ner.model.inference  # noqa: F401

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    tokenizer = bench_tokenizer()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.rss_only:
            print_rss(tokenizer, work, args.rss_documents, args.rss_formats, args.rss_export)
            return
        run(args, tokenizer, work)


def run(args, tokenizer, work: Path) -> None:
    """The speed, agreement and start-up runs (and the memory runs unless ``--skip-rss``)."""
    from arabic_ner.model.building import save_model
    from arabic_ner.model.precision import cpu_has_native_bf16

    model = base_model(tokenizer)
    articles = make_documents(args.docs, tokenizer)
    workloads = {"articles": articles, "paragraphs": [p for a in articles for p in a.split("\n")]}
    print(f"BERT-base size ({sum(p.numel() for p in model.parameters()) / 1e6:.0f}M parameters), random weights, fp32 unless said")
    print(peer_line())
    contenders = ["fp32"] + (["bf16"] if cpu_has_native_bf16() else [])
    if "bf16" not in contenders:
        print("this CPU has no native bf16: bf16 is not measured (it would run slower than fp32)")
    model_dir = work / "base"
    save_model(model, tokenizer, model_dir)
    if not args.skip_int8:
        contenders.append("int8 torch")
        if importlib.util.find_spec("onnxruntime"):
            from arabic_ner.model.onnx_engine import export

            start = time.perf_counter()
            export(model_dir, model)
            print(f"ONNX export (arabic-ner export, once per model): {time.perf_counter() - start:.1f} s")
            contenders += ["int8 onnxruntime", "fp32 onnxruntime"]
            if "bf16" in contenders and importlib.util.find_spec("openvino"):
                contenders.append("bf16 openvino")
        else:
            print("onnxruntime is not installed: onnxruntime (int8, fp32) and openvino (bf16) are not measured")
    ratios, efficiency = {}, {}
    for name, docs in workloads.items():
        tokens = sum(len(tokenizer(d, add_special_tokens=False)["input_ids"]) for d in docs)
        fed = engine_tokens(tokenizer, docs, args.stride)
        print(f"\n{name}: {len(docs)} documents, {tokens} tokens as the pipeline tokenises them, {fed} as arabic_ner does "
              f"(best of {args.rounds} alternating rounds)")
        runs = {"pipeline": lambda: time_pipeline(model, tokenizer, docs, args.stride)[0]}
        for contender in contenders:
            runs[contender] = lambda c=contender: time_engine(model, tokenizer, docs, c, model_dir=model_dir, stride=args.stride)[0]
        best = {key: run() for key, run in runs.items()}
        for _ in range(args.rounds - 1):  # a shared CPU is noisy: alternate and keep each one's best
            for key, run in runs.items():
                best[key] = min(best[key], run())
        print(f"  pipeline fp32 (aggregation simple, stride {args.stride}): {tokens / best['pipeline']:9.0f} tokens/s")
        for contender in contenders:
            ratios[name, contender] = best["pipeline"] / best[contender]
            batches: list = []
            engine = min(best[contender], time_engine(model, tokenizer, docs, contender, batches=batches, model_dir=model_dir,
                                                      stride=args.stride)[0])
            bare = min(time_bare(batches) for _ in range(args.rounds))
            efficiency[name, contender] = bare / engine  # best against best
            print(f"  arabic_ner {contender:<16}: {tokens / best[contender]:24.0f} tokens/s   x{ratios[name, contender]:.2f}   "
                  f"(bare forward passes on the same batches: {tokens / bare:.0f} tokens/s; the engine reaches "
                  f"{100 * efficiency[name, contender]:.0f}% of them)")
    compared, agreed = comparable_agreement(model, tokenizer, comparable_texts(articles))
    print(f"\nspans equal to the pipeline's on {agreed} of {compared} texts that both tokenise the same way")

    agreement = {}
    if len(contenders) > 1:
        from arabic_ner.core.document import Document
        from arabic_ner.data.inputs import iter_input
        from arabic_ner.model.inference import Tagger

        tiny = trained_tiny_model(work)
        texts = [d.text for d in iter_input(ROOT / "data" / "raw")] + articles
        tagged = {}
        for contender in contenders:
            dtype, _, engine = contender.partition(" ")
            tagger = Tagger.load(str(tiny), dtype=dtype, engine=engine or "torch")
            tagged[contender] = [t.document for t in tagger.tag(Document(str(i), t) for i, t in enumerate(texts))]
        for contender in contenders[1:]:
            agreement[contender] = span_agreement(tagged["fp32"], tagged[contender])
            print(f"{contender} against fp32 on a trained model (tiny config, {len(texts)} articles): "
                  f"{100 * agreement[contender]:.2f}% of spans agree")
    seconds = {} if args.skip_startup else startup(model_dir, work, contenders, 7)
    print_goals(ratios, efficiency, agreement, contenders, seconds)
    if not args.skip_rss:
        print_rss(tokenizer, work, args.rss_documents, args.rss_formats, args.rss_export)


def peer_line() -> str:
    """Why optimum's ONNX Runtime pipeline, the second peer issue 30 names, is not measured."""
    return ("optimum's ONNX Runtime pipeline is not measured: optimum-onnx (0.1.0, the only release) requires "
            "transformers<4.58, and installing it would take this project's transformers 5 back to 4.57")


def print_goals(ratios: dict, efficiency: dict, agreement: dict, contenders: list[str], startup: dict) -> None:
    """The speed goals (issues 16 and 30), each with the best measured path and whether it is met."""
    rows = []
    for name, goal in (("paragraphs", 5.0), ("articles", 2.5)):
        best = max(contenders, key=lambda c: ratios[name, c])
        rows.append((f"{name}: x{goal:g} the pipeline", f"x{ratios[name, best]:.2f} ({best})", ratios[name, best] >= goal))
    if "int8 onnxruntime" in contenders:
        for name in ("paragraphs", "articles"):
            gain = ratios[name, "int8 onnxruntime"] / ratios[name, "int8 torch"]
            rows.append((f"{name}: int8 onnxruntime x1.25 int8 torch", f"x{gain:.2f}", gain >= 1.25))
    for contender in contenders[1:]:
        if contender in agreement:
            rows.append((f"{contender} spans agree with fp32 >= 99%", f"{100 * agreement[contender]:.2f}%", agreement[contender] >= 0.99))
    for (name, contender), value in sorted(efficiency.items()):
        rows.append((f"{name} {contender}: engine >= 90% of bare forward", f"{100 * value:.0f}%", value >= 0.9))
    # start-up at each dtype as predict runs it by default on a model that has its export (int8's is
    # made on first use; fp32's and bf16's by arabic-ner export): the engine that export gives it
    exported = {"int8": "int8 onnxruntime", "fp32": "fp32 onnxruntime", "bf16": "bf16 openvino"}
    for dtype, contender in exported.items():
        if contender in startup:
            rows.append((f"start-up {dtype} ({contender.split()[1]}) <= the pipeline's (median)",
                         f"{startup[contender]:.2f} s vs {startup['pipeline']:.2f} s", startup[contender] <= startup["pipeline"]))
    print("\ngoals:")
    for goal, measured, met in rows:
        print(f"  {goal:<48} {measured:>20}   {'met' if met else 'NOT met'}")
    torch_only = [c for c in contenders if c in startup and c not in exported.values()]
    if torch_only:
        print("  start-up on torch, from a folder without an export (both sides import transformers' modelling code): "
              + ", ".join(f"{c} {startup[c] - startup['pipeline']:+.2f} s" for c in torch_only) + " against the pipeline")


if __name__ == "__main__":
    main()
