"""Seconds per QAGen training step (MiniLM prefix-LM, AdamW), float32 against bfloat16 autocast, side by side.

  python benchmarks/train_step.py --batch 32 --source-len 128 --target-len 24 --steps 3
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine import cpu_bf16_support  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--source-len", type=int, default=128)
    parser.add_argument("--target-len", type=int, default=24)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--variants", default="float32,bfloat16")
    args = parser.parse_args(argv)

    from quals.prefix_lm import PrefixLMForQAGen
    from quals.qagen import resolve_model_path

    model = PrefixLMForQAGen.from_pretrained(resolve_model_path("minilm"))
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(1000, 20000, (args.batch, args.source_len), generator=g)
    target = torch.randint(1000, 20000, (args.batch, args.target_len), generator=g)
    mask = torch.ones_like(ids)

    def step(dtype: str) -> float:
        started = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == "bfloat16"):
            loss = model(input_ids=ids, attention_mask=mask, decoder_input_ids=target, labels=target).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return time.perf_counter() - started

    variants = args.variants.split(",")
    times: dict[str, list[float]] = {v: [] for v in variants}
    for v in variants:
        step(v)  # warm-up
    for _ in range(args.steps):
        for v in variants:  # alternate, so drift hits every variant alike
            times[v].append(step(v))
    report = {
        "shape": {"batch": args.batch, "source_len": args.source_len, "target_len": args.target_len},
        "torch_threads": torch.get_num_threads(),
        **cpu_bf16_support(),
        "median_seconds_per_step": {v: round(sorted(t)[len(t) // 2], 3) for v, t in times.items()},
    }
    first = variants[0]
    report["ratio_to_" + first] = {v: round(report["median_seconds_per_step"][v] / report["median_seconds_per_step"][first], 2) for v in variants}
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
