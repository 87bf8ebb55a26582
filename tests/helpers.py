"""What the tests share besides fixtures: marked-up Arabic texts, Label Studio files written on the fly,
tiny configs, and running the arabic-ner command as a user does.

Texts are written with inline marks, ``⟦ORG|داعش⟧``, which :func:`marked` turns into a clean
text and its spans, so every test states its gold spans where a reader can see them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from arabic_ner.core.document import Document, Span

ROOT = Path(__file__).resolve().parents[1]  # the repository


MARK = re.compile(r"⟦([A-Z]+)\|(.*?)⟧", re.S)


def marked(source: str, doc_id: str = "doc") -> Document:
    """``"قصف ل⟦ORG|داعش⟧"`` -> Document(text="قصف لداعش", spans=[Span(5, 9, "ORG")])."""
    text, spans, pos = [], [], 0
    length = 0
    for m in MARK.finditer(source):
        before = source[pos : m.start()]
        text.append(before)
        length += len(before)
        spans.append(Span(length, length + len(m.group(2)), m.group(1)))
        text.append(m.group(2))
        length += len(m.group(2))
        pos = m.end()
    text.append(source[pos:])
    return Document(doc_id, "".join(text), spans)


def ls_task(doc: Document, task_id: int = 1, with_text: bool = True, **annotation) -> dict:
    """A Label Studio export task holding ``doc``'s spans as one annotation."""
    result = []
    for i, s in enumerate(doc.spans):
        value = {"start": s.start, "end": s.end, "labels": [s.label]}
        if with_text:
            value["text"] = doc.text[s.start : s.end]
        result.append({"id": f"r{i}", "from_name": "label", "to_name": "text", "type": "labels", "value": value})
    entry = {"id": task_id * 10, "was_cancelled": False, "ground_truth": False, "created_at": "2026-01-01T00:00:00Z", "result": result}
    entry.update(annotation)
    return {"id": task_id, "data": {"text": doc.text, "doc_id": doc.id}, "annotations": [entry]}


def write_ls(path: Path, tasks: list) -> Path:
    path.write_text(json.dumps(tasks, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


# The installed command, as a user types it: make install puts it beside the virtualenv's python.
ARABIC_NER = Path(sys.executable).with_name("arabic-ner")


def run_command(*args: str, cwd: Path = ROOT, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run ``arabic-ner ARGS...`` the way a user does."""
    assert ARABIC_NER.is_file(), f"{ARABIC_NER}: the arabic-ner command is not installed (make install)"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([str(ARABIC_NER), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def run_script(*args: str, cwd: Path = ROOT, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run ``python ARGS...`` from the checkout, as the old ways do (``python train.py``, ``python -m arabic_ner.serve``)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def killed_at_first_checkpoint(args: list[str], output: Path, timeout: float = 300) -> None:
    """Start ``arabic-ner ARGS...`` as ``run_command`` would and kill it, as a power cut would, once its
    first checkpoint under ``output/checkpoints`` is complete."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen([str(ARABIC_NER), *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while not list((output / "checkpoints").glob("checkpoint-*/trainer_state.json")):
        assert process.poll() is None and time.monotonic() < deadline, "the run ended before it could be killed"
        time.sleep(0.05)
    process.kill()
    process.wait()


def predicted_records(model_dir: Path, input_file: Path, out: Path, *options: str) -> list[dict]:
    """Run arabic-ner predict on ``input_file`` as a user does (with ``options``); its JSONL records."""
    result = run_command("predict", "--model", str(model_dir), "--input", str(input_file), "--output", str(out), *options)
    assert result.returncode == 0, result.stderr[-3000:]
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def assert_spans_given_back_exactly(gold: list[Document], records: list[dict]) -> None:
    """Every record holds exactly its gold document's spans, and each entity's text is its slice."""
    assert [r["id"] for r in records] == [d.id for d in gold]
    for doc, record in zip(gold, records):
        predicted = [(e["start"], e["end"], e["label"]) for e in record["entities"]]
        assert predicted == [(s.start, s.end, s.label) for s in sorted(doc.spans)], doc.id
        assert all(doc.text[e["start"] : e["end"]] == e["text"] for e in record["entities"])


# Every case of the core issue's point 2, with its gold spans marked.
HARD_CASES = [
    "قصف التحالف مواقع ل⟦ORG|داعش⟧ في ⟦LOC|العراق⟧ و⟦LOC|سوريا⟧، وسيطر على ⟦LOC|بغداد⟧.",
    "بدأت العملية و⟦DATE|٦ نيسان⟧ ثم و⟦DATE|7 نيسان⟧ في و⟦LOC|الموصل⟧ وب⟦LOC|الرقة⟧ ول⟦ORG|لتحالف⟧ دور.",
    "أَعْلَنَ ⟦ORG|التَّحَالُفُ الدَّوْلِيُّ⟧ أنّ ⟦ORG|داعـــش⟧ خسر مواقع في ⟦LOC|الـموصل⟧.",
    "قال \u200f⟦LOC|سن\u200cجار⟧\u200f إن\u00a0⟦COUNT|19\u00a0ألف⟧\u00a0ضربة نفذت.\r\nوقال ⟦ORG|البنتاغون⟧\r\n",
    "🇮🇶 صور من ⟦LOC|كركوك⟧🔥 تظهر ⟦COUNT|٢٥⟧ خزينة و⟦WEAPON|F-16⟧ فوق ⟦LOC|دير    الزور⟧  👍🏽.",
    "دمرت طائرة من طراز ⟦WEAPON|F-16⟧ تابعة ل⟦ORG|سلاح الجو العراقي⟧ ⟦COUNT|تسع⟧ ⟦WEAPON|منصات صواريخ⟧ في ⟦DATE|2014⟧على الحدود.",
]


def long_document(words: int = 700) -> str:
    """A ~700-word article whose entities sit at the start, the middle and the very end."""
    filler = "وأضاف المتحدث أن الضربات استهدفت مواقع متفرقة خلال الفترة الماضية بحسب البيان الرسمي الصادر".split()
    body = [filler[i % len(filler)] for i in range(words)]
    body[0] = "⟦ORG|البنتاغون⟧"
    body[words // 2] = "⟦LOC|الأنبار⟧"
    return " ".join(body) + " في ⟦LOC|كركوك⟧."


def sets(*overrides: str) -> list[str]:
    """``--set`` arguments for a script: ``sets("a=1", "b=2") -> ["--set", "a=1", "--set", "b=2"]``."""
    return [arg for o in overrides for arg in ("--set", o)]


def tiny_overrides(**extra) -> list[str]:
    """``--set`` values for a very small, fast scratch model (the tests' default)."""
    values = {
        "scratch.num_hidden_layers": 2,
        "scratch.hidden_size": 64,
        "scratch.num_attention_heads": 2,
        "scratch.intermediate_size": 128,
        "max_length": 64,
        "stride": 16,
        "logging_steps": 50,
        **extra,
    }
    return [f"{k}={v}" for k, v in values.items()]


def one_line_errors(stderr: str) -> list[str]:
    """The ``error: ...`` lines a script printed."""
    return [line for line in stderr.splitlines() if line.startswith("error: ")]


def dediacritised(text: str) -> str:
    """``text`` without Arabic diacritics and tatweel: what a pretrained Arabic BERT's own preprocessing
    gives its tokenizer (the forms of arabic_ner.core.words, which also make Arabic-Indic digits ASCII)."""
    return re.sub("[\u064b-\u065f\u0670\u0640]", "", text)


def article_paragraphs() -> list[str]:
    """The non-empty lines of the five articles in data/raw."""
    out = []
    for path in sorted((ROOT / "data" / "raw").glob("*.txt")):
        out += [line for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]
    return out


def anercorp_sentences() -> list[str]:
    """ANERcorp's training text, unsegmented (its tokens keep their proclitics), 40 tokens a line."""
    lines = (ROOT / "data" / "anercorp" / "train.txt").read_text(encoding="utf-8").splitlines()
    tokens = [line.split()[0] for line in lines if line.strip()]
    return [" ".join(tokens[i : i + 40]) for i in range(0, len(tokens), 40)]


def build_pretrained(directory: Path, vocab_size: int = 6000) -> Path:
    """A "pretrained" BERT as an offline CAMeLBERT user has one, in a local directory: a WordPiece
    vocabulary learnt from whole, unsegmented words (ANERcorp's training text, not the five
    articles) by the tokenizers library's own trainer, random weights, ``save_pretrained``."""
    import torch
    from transformers import BertConfig, BertForMaskedLM

    from arabic_ner.model.vocabulary import learn_wordpiece

    tokenizer = learn_wordpiece(anercorp_sentences(), vocab_size)
    torch.manual_seed(0)
    model = BertForMaskedLM(BertConfig(
        vocab_size=len(tokenizer), hidden_size=256, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=1024, max_position_embeddings=512, pad_token_id=tokenizer.pad_token_id,
    ))
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def random_model(directory: Path, texts: list[str], layers: int = 1) -> Path:
    """A small token classifier with random weights and a vocabulary learnt from ``texts``, saved into
    ``directory`` as train saves one."""
    from arabic_ner.core.config import Config, ScratchModel
    from arabic_ner.model.building import build_for_training, save_model

    config = Config(model="scratch", max_length=64, stride=16, scratch=ScratchModel(
        num_hidden_layers=layers, hidden_size=32, num_attention_heads=2, intermediate_size=64, vocab_size=300))
    tokenizer, model = build_for_training(config, [text.split() for text in texts])
    save_model(model, tokenizer, directory)
    return directory
