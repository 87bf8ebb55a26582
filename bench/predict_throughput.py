"""Batch-tagging speed of arabic_ner's engine against transformers' token-classification pipeline.

    .venv/bin/python -m bench.predict_throughput                 # the full run: about 6 minutes on 2 cores
    .venv/bin/python -m bench.predict_throughput --docs 12 --skip-rss --skip-int8

Everything is built here, offline: a WordPiece tokenizer learnt from data/raw and a randomly
initialised BERT-base-size token classifier (12 layers, hidden 768). Both contenders tag the
same documents in the same process, one after the other, on two workloads: *articles*
(paragraphs of data/raw recombined into articles of 30 to 1,500 tokens; a third of them longer
than one 512-token window) and *paragraphs* (the same text, each paragraph a document):

- baseline: ``pipeline("token-classification", aggregation_strategy="simple", stride=...)``,
  one document at a time, as a user would call it;
- arabic_ner: ``Tagger`` (length-sorted, token-budget batches across documents, windows of long
  documents batched with everything else, ``inference_mode``), in fp32, in bf16 (where the CPU
  computes it natively) and in int8 (``--dtype``). For each, the bare forward passes are timed on
  the very batches the engine ran (same dtype, same shapes): the ceiling the engine can reach.

Both feed the model whole words. arabic_ner also strips diacritics, tatweel and invisible marks
(text.split_words), so its token count can differ slightly from the pipeline's; both counts are
printed. The tokenizer's vocabulary is learnt from the paragraphs' words. Speed is tokens of the
documents (the pipeline's count on the raw text, the same number for both) per second of wall
time, so the ratio is the ratio of the two wall times on the same documents. Spans are compared
where the two tokenise a document the same way and it fits in one window, so the comparison is
like for like. The bf16 and int8 agreement with fp32 is measured on a *trained* model (the tiny
config, trained here on the bundled annotations), since a random model's near-uniform outputs say
nothing about rounding or quantisation error.
Peak RSS of predict.py for 1,000 and 10,000 documents is measured in fresh processes. The run
ends with the goals of issue 16, each with its measured value.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
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


def time_engine(model, tokenizer, docs: list[str], dtype: str = "fp32", batches: list | None = None, **kwargs) -> tuple[float, list]:
    """Wall time of the Tagger on ``docs`` and its documents; the model inputs of every batch are
    appended to ``batches`` when it is given (for :func:`time_bare`)."""
    from arabic_ner.core.document import Document
    from arabic_ner.model.inference import Tagger

    tagger = Tagger(model, tokenizer, device="cpu", dtype=dtype, **kwargs)
    list(tagger.tag([Document("warm-up", docs[0])]))
    hook = None
    if batches is not None:
        hook = tagger.model.register_forward_pre_hook(
            lambda m, a, kw: batches.append((m, kw["input_ids"], kw["attention_mask"])), with_kwargs=True)
    start = time.perf_counter()
    tagged = [t.document for t in tagger.tag(Document(str(i), d) for i, d in enumerate(docs))]
    seconds = time.perf_counter() - start
    if hook is not None:
        hook.remove()  # time_bare runs the same module: it must not record its own passes
    return seconds, tagged


def time_bare(batches: list) -> float:
    """Wall time of the bare forward passes alone, on the very inputs (same dtype, same batch shapes)
    the engine ran: the ceiling the engine can reach."""
    import torch

    start = time.perf_counter()
    with torch.inference_mode():
        for model, ids, mask in batches:
            model(input_ids=ids, attention_mask=mask)
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


def peak_rss(model_dir: Path, n_docs: int, work: Path) -> float:
    """Peak resident memory (MiB) of a fresh predict.py run over ``n_docs`` short documents.

    Read from VmHWM in /proc/self/status at the end of the run: unlike getrusage's ru_maxrss,
    which Linux carries over fork and exec (so a child of this big process would report this
    process's memory), VmHWM belongs to the new program alone.
    """
    source = work / f"docs-{n_docs}.jsonl"
    paras = paragraphs()
    with open(source, "w", encoding="utf-8") as f:
        for i in range(n_docs):
            f.write(json.dumps({"id": str(i), "text": paras[i % len(paras)]}, ensure_ascii=False) + "\n")
    code = (
        "import runpy, sys\n"
        "sys.argv = sys.argv[1:]\n"
        "try:\n    runpy.run_path('predict.py', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "print(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "predict.py", "--model", str(model_dir), "--input", str(source),
         "--output", str(work / f"out-{n_docs}.jsonl"), "--overwrite"],
        cwd=ROOT, check=True, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    return int(result.stdout.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=30, help="articles to tag (default 30, about 14k tokens)")
    parser.add_argument("--stride", type=int, default=128, help="window overlap for both contenders (default 128)")
    parser.add_argument("--skip-rss", action="store_true", help="skip the 1k/10k-document memory runs")
    parser.add_argument("--skip-int8", action="store_true")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of each contender; the best counts (default 2)")
    args = parser.parse_args()

    import torch

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    tokenizer = bench_tokenizer()
    model = base_model(tokenizer)
    articles = make_documents(args.docs, tokenizer)
    workloads = {"articles": articles, "paragraphs": [p for a in articles for p in a.split("\n")]}
    print(f"BERT-base size ({sum(p.numel() for p in model.parameters()) / 1e6:.0f}M parameters), random weights, fp32 unless said")
    from arabic_ner.model.precision import cpu_has_native_bf16

    dtypes = ["fp32"] + (["bf16"] if cpu_has_native_bf16() else []) + ([] if args.skip_int8 else ["int8"])
    if "bf16" not in dtypes:
        print("this CPU has no native bf16: bf16 is not measured (it would run slower than fp32)")
    ratios, efficiency = {}, {}
    for name, docs in workloads.items():
        tokens = sum(len(tokenizer(d, add_special_tokens=False)["input_ids"]) for d in docs)
        fed = engine_tokens(tokenizer, docs, args.stride)
        print(f"\n{name}: {len(docs)} documents, {tokens} tokens as the pipeline tokenises them, {fed} as arabic_ner does "
              f"(best of {args.rounds} alternating rounds)")
        runs = {"pipeline": lambda: time_pipeline(model, tokenizer, docs, args.stride)[0]}
        for dtype in dtypes:
            runs[dtype] = lambda dtype=dtype: time_engine(model, tokenizer, docs, dtype=dtype, stride=args.stride)[0]
        best = {key: run() for key, run in runs.items()}
        for _ in range(args.rounds - 1):  # a shared CPU is noisy: alternate and keep each one's best
            for key, run in runs.items():
                best[key] = min(best[key], run())
        print(f"  pipeline fp32 (aggregation simple, stride {args.stride}): {tokens / best['pipeline']:6.0f} tokens/s")
        for dtype in dtypes:
            ratios[name, dtype] = best["pipeline"] / best[dtype]
            batches: list = []
            engine = min(best[dtype], time_engine(model, tokenizer, docs, dtype=dtype, batches=batches, stride=args.stride)[0])
            bare = min(time_bare(batches) for _ in range(args.rounds))
            efficiency[name, dtype] = bare / engine  # best against best
            print(f"  arabic_ner {dtype}: {tokens / best[dtype]:26.0f} tokens/s   x{ratios[name, dtype]:.2f}   "
                  f"(bare forward passes on the same batches: {tokens / bare:.0f} tokens/s; the engine reaches "
                  f"{100 * efficiency[name, dtype]:.0f}% of them)")
    compared, agreed = comparable_agreement(model, tokenizer, comparable_texts(articles))
    print(f"\nspans equal to the pipeline's on {agreed} of {compared} texts that both tokenise the same way")

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        agreement = {}
        if len(dtypes) > 1:
            from arabic_ner.core.document import Document
            from arabic_ner.data.inputs import iter_input
            from arabic_ner.model.inference import Tagger

            tiny = trained_tiny_model(work)
            texts = [d.text for d in iter_input(ROOT / "data" / "raw")] + articles
            tagged = {dtype: [t.document for t in Tagger.load(str(tiny), dtype=dtype).tag(Document(str(i), t) for i, t in enumerate(texts))]
                      for dtype in dtypes}
            for dtype in dtypes[1:]:
                agreement[dtype] = span_agreement(tagged["fp32"], tagged[dtype])
                print(f"{dtype} against fp32 on a trained model (tiny config, {len(texts)} articles): "
                      f"{100 * agreement[dtype]:.2f}% of spans agree")
        print_goals(ratios, efficiency, agreement, dtypes)
        if not args.skip_rss:
            small = work / "rss-model"
            from arabic_ner.model.building import save_model

            save_model(base_model(tokenizer, layers=2, hidden=256, heads=4, intermediate=1024), tokenizer, small)
            rss = {n: peak_rss(small, n, work) for n in (1000, 10000)}
            print(f"predict.py peak RSS: {rss[1000]:.0f} MiB for 1,000 documents, {rss[10000]:.0f} MiB for 10,000 "
                  f"({100 * (rss[10000] / rss[1000] - 1):+.1f}%)")


def print_goals(ratios: dict, efficiency: dict, agreement: dict, dtypes: list[str]) -> None:
    """The speed goals (issue 16), each with the best measured path and whether it is met."""
    fast = [d for d in dtypes if d != "fp32"]
    rows = []
    for name, goal in (("paragraphs", 5.0), ("articles", 2.5)):
        best = max(dtypes, key=lambda d: ratios[name, d])
        rows.append((f"{name}: x{goal:g} the pipeline", f"x{ratios[name, best]:.2f} ({best})", ratios[name, best] >= goal))
    for dtype in fast:
        if dtype in agreement:
            rows.append((f"{dtype} spans agree with fp32 >= 99%", f"{100 * agreement[dtype]:.2f}%", agreement[dtype] >= 0.99))
    for (name, dtype), value in sorted(efficiency.items()):
        rows.append((f"{name} {dtype}: engine >= 90% of bare forward", f"{100 * value:.0f}%", value >= 0.9))
    print("\ngoals:")
    for goal, measured, met in rows:
        print(f"  {goal:<45} {measured:>16}   {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
