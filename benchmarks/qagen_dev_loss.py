"""Teacher-forced loss of QAGen folders on one SQuAD dev set, in nats per target token.

Training logs report a loss on each run's own dev examples (its own context windows), so models trained
with different windows cannot be compared from their logs. This builds the dev examples once, from one
recipe, and scores every model given on exactly those examples.

  python benchmarks/qagen_dev_loss.py --config trainer_ext/configs/qagen_minilm_cpu.json bundled /path/to/qagen
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from quals.qagen import QAGen  # noqa: E402
from trainer_ext.collators import QAGenCollator  # noqa: E402
from trainer_ext.qagen_data import build_examples  # noqa: E402
from trainer_ext.qagen_recipe import QAGenRecipe  # noqa: E402


@torch.inference_mode()
def dev_loss(qagen: QAGen, columns: dict[str, list], batch_size: int = 64) -> float:
    """Summed cross-entropy over all label tokens divided by their number (not a mean of batch means)."""
    collate = QAGenCollator(pad_token_id=qagen.ids.pad)
    rows = [dict(zip(columns, values)) for values in zip(*columns.values())]
    total, tokens = 0.0, 0
    for start in range(0, len(rows), batch_size):
        batch = {k: v.to(qagen.device) for k, v in collate(rows[start : start + batch_size]).items()}
        n = int((batch["labels"] != -100).sum())
        total += float(qagen.model(**batch).loss) * n
        tokens += n
    return total / tokens


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", help="QAGen folders, Hub ids or 'bundled'")
    parser.add_argument("--config", required=True, help="the recipe whose dev_file, dev_examples and windows to use")
    parser.add_argument("--dev-file", help="override the recipe's dev_file")
    parser.add_argument("--device", help="default: CUDA when available, else the CPU")
    parser.add_argument("--dtype", default="float32", help="float32 (default), bfloat16 or float16")
    args = parser.parse_args(argv)
    recipe = QAGenRecipe.from_json(args.config)
    dev_file = args.dev_file or recipe.dev_file
    if not dev_file:
        parser.error(f"{args.config} names no dev_file; pass --dev-file.")
    rows = recipe.rows([dev_file], recipe.dev_examples)
    report: dict = {"config": args.config, "dev_file": os.path.basename(dev_file), "questions": len(rows), "models": {}}
    for name in args.models:
        qagen = QAGen.from_pretrained(name, device=args.device, dtype=args.dtype)
        # Same seed as the recipe's own dev split (seed + 1), so the windows match a training run's log.
        columns = build_examples(rows, qagen.tokenizer, qagen.format, recipe.min_window, recipe.max_window, recipe.seed + 1)
        columns.pop("length"), columns.pop("skipped")
        report["examples"] = len(columns["labels"])
        report["models"][name] = {"weights": qagen.weights_sha256[:12], "loss_nats_per_token": round(dev_loss(qagen, columns), 4)}
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
