"""Masked-language-model pretraining on unlabeled Arabic articles, before train.py.

    arabic-ner pretrain --config configs/tiny-mlm.yaml                         # the offline model, from scratch
    arabic-ner pretrain --config configs/camelbert-msa-mlm.yaml --texts articles/   # adapt CAMeLBERT to your news
    arabic-ner pretrain --config configs/tiny-mlm.yaml --resume                # continue an interrupted run
    arabic-ner train --config configs/tiny.yaml --set model=models/tiny-mlm    # then fine-tune it for NER

Texts are read as predict.py reads its input: a folder of .txt articles, a .txt, a .jsonl
({"id", "text"} per line) or a Label Studio .json task list. The output directory is a standard
Hugging Face masked-LM directory, with the config it was pretrained with and metrics.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..model.loading import quiet_transformers
from .common import add_training_options


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="arabic-ner pretrain", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="YAML pretraining config, e.g. configs/tiny-mlm.yaml")
    parser.add_argument("--texts", nargs="+", metavar="PATH", help="unlabeled texts (folder, .txt, .jsonl, .json); default: the config's `texts`")
    parser.add_argument("--output-dir", metavar="DIR", help="where the model goes; default: the config's `output_dir`")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key, e.g. --set num_train_epochs=3")
    add_training_options(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    quiet_transformers(args.verbose)
    from ..core.config import PretrainConfig, load_config
    from ..core.problems import Problems, UserError
    from ..data.files import check_model_output, discard_interrupted_run
    from ..training.pretraining import PretrainResult, pretrain, read_texts

    overrides = list(args.set)
    for key, value in (("texts", args.texts), ("output_dir", args.output_dir)):
        if value:
            overrides.append(f"{key}={json.dumps(value, ensure_ascii=False)}")
    config = load_config(args.config, overrides, cls=PretrainConfig)
    starts = [config.model] if Path(config.model).is_dir() else []  # a pretrained model it adapts is an input too
    check_model_output(config.output_dir, [*config.texts, *starts], resume=args.resume, overwrite=args.overwrite)
    if args.overwrite:
        discard_interrupted_run(config.output_dir)
    for advice in config.advice():
        print(f"warning: config: {advice}", file=sys.stderr)
    problems = Problems()
    documents = read_texts(config.texts, problems)
    problems.print()
    if not documents:
        raise UserError(f"no text to pretrain on in {', '.join(config.texts)}; give a folder of .txt articles, a .jsonl or a .json")
    result = pretrain(config, documents, config.output_dir, resume=args.resume, verbose=args.verbose)
    if result is None:
        return 0  # another process of a multi-process run: the first one reports
    if result.dev_loss_before is not None:
        print(f"held-out masked-word loss: {result.dev_loss_before:.3f} -> {result.dev_loss_after:.3f} "
              f"(perplexity {PretrainResult.perplexity(result.dev_loss_before):,.1f} -> {PretrainResult.perplexity(result.dev_loss_after):,.1f})")
    print(f"model saved to {config.output_dir}; fine-tune it with train.py and `model: {config.output_dir}`")
    return 0

