"""Teacher-forced loss of QAGen folders on one SQuAD dev set, in nats per target token.

Training logs report a loss on each run's own dev examples (its own context windows), so models trained
with different windows cannot be compared from their logs. This builds the dev examples once, from one
recipe's windows, and scores every model given on exactly those examples: by default every question of
the dev file (SQuAD dev: 10,570 questions from 48 articles), or a seeded sample of ``--dev-examples``.

  python benchmarks/qagen_dev_loss.py --config trainer_ext/configs/qagen_minilm_cpu.json bundled /path/to/qagen
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from quals.qagen import QAGen  # noqa: E402
from trainer_ext.collators import QAGenCollator  # noqa: E402
from trainer_ext.qagen_data import build_examples  # noqa: E402
from trainer_ext.qagen_recipe import QAGenRecipe  # noqa: E402


@torch.inference_mode()
def example_losses(qagen: QAGen, columns: dict[str, list], batch_size: int = 64) -> tuple[list[float], list[int]]:
    """Summed cross-entropy (nats) and number of target tokens of each example."""
    collate = QAGenCollator(pad_token_id=qagen.ids.pad)
    rows = [dict(zip(columns, values)) for values in zip(*columns.values())]
    sums, counts = [], []
    for start in range(0, len(rows), batch_size):
        batch = {k: v.to(qagen.device) for k, v in collate(rows[start : start + batch_size]).items()}
        labels = batch.pop("labels")
        logits = qagen.model(**batch).logits.float()
        nll = F.cross_entropy(logits.transpose(1, 2), labels, ignore_index=-100, reduction="none")
        sums += nll.sum(1).tolist()
        counts += (labels != -100).sum(1).tolist()
    return sums, counts


def by_article(rows: list[dict], example_rows: list[int], sums: list[float], counts: list[int]) -> dict[str, float]:
    """Loss per article (SQuAD's ``title``), token-weighted within each, ordered from lowest to highest."""
    totals: dict[str, list[float]] = {}
    for row, nll, n in zip(example_rows, sums, counts):
        entry = totals.setdefault(rows[row].get("title") or "(no title)", [0.0, 0])
        entry[0] += nll
        entry[1] += n
    losses = {title: total / n for title, (total, n) in totals.items()}
    return {title: round(loss, 4) for title, loss in sorted(losses.items(), key=lambda item: item[1])}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", help="QAGen folders, Hub ids or 'bundled'")
    parser.add_argument("--config", required=True, help="the recipe whose dev_file and windows to use")
    parser.add_argument("--dev-file", help="override the recipe's dev_file")
    parser.add_argument("--dev-examples", type=int, help="a seeded sample of this many questions (default: all)")
    parser.add_argument("--by-article", action="store_true", help="also report every article's loss")
    parser.add_argument("--device", help="default: CUDA when available, else the CPU")
    parser.add_argument("--dtype", default="float32", help="float32 (default), bfloat16 or float16")
    args = parser.parse_args(argv)
    recipe = QAGenRecipe.from_json(args.config)
    dev_file = args.dev_file or recipe.dev_file
    if not dev_file:
        parser.error(f"{args.config} names no dev_file; pass --dev-file.")
    rows = recipe.rows([dev_file], args.dev_examples)
    report: dict = {"config": args.config, "dev_file": os.path.basename(dev_file), "questions": len(rows), "models": {}}
    for name in args.models:
        qagen = QAGen.from_pretrained(name, device=args.device, dtype=args.dtype)
        # The recipe's dev seed (seed + 1): with --dev-examples equal to the recipe's dev_examples, these
        # are the examples a training run of that recipe evaluates on.
        columns = build_examples(rows, qagen.tokenizer, qagen.format, recipe.min_window, recipe.max_window, recipe.seed + 1)
        columns.pop("length"), columns.pop("skipped")
        example_rows = columns.pop("row")
        if not example_rows:
            parser.error(f"no dev example fits the windows of {args.config} (every answer lies outside them).")
        sums, counts = example_losses(qagen, columns)
        articles = by_article(rows, example_rows, sums, counts)
        titles = list(articles)
        report["models"][name] = {
            "weights": qagen.weights_sha256[:12],
            "examples": len(counts),
            "target_tokens": sum(counts),
            "loss_nats_per_token": round(sum(sums) / sum(counts), 4),  # over all tokens, not a mean of means
            "articles": len(articles),
            "lowest_article": [titles[0], articles[titles[0]]],
            "median_article": round(statistics.median(articles.values()), 4),
            "highest_article": [titles[-1], articles[titles[-1]]],
            **({"by_article": articles} if args.by_article else {}),
        }
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
