"""QUALS speed on QAGS-C summaries: seconds per summary, summaries per second, peak memory.

Variants given with --variant (JSON objects of QualsScorer settings) run in the same process, on the same
summaries, alternating, so their ratio is fair; the model is loaded once and not timed.

  python benchmarks/speed.py --n 16
  python benchmarks/speed.py --n 16 --variant '{"batch_size": 1}' --variant '{"batch_size": 8}'
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import DEFAULT_QAGS, load_qags  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=DEFAULT_QAGS)
    parser.add_argument("--n", type=int, default=16, help="number of summaries")
    parser.add_argument("--model", default="bundled")
    parser.add_argument("--device")
    parser.add_argument("--dtype")
    parser.add_argument("--repeats", type=int, default=1, help="alternating rounds over the variants")
    parser.add_argument("--variant", action="append", default=[], help="JSON object of QualsScorer settings")
    args = parser.parse_args(argv)

    import torch

    import quals

    docs, sums, _ = load_qags(args.data, args.n)
    qagen = quals.QAGen.from_pretrained(args.model, device=args.device, dtype=args.dtype)
    variants = [json.loads(v) for v in args.variant] or [{}]
    scorers = [quals.QualsScorer(qagen, **v) for v in variants]
    scorers[0].score(docs[:1], sums[:1])  # warm-up, not timed
    seconds = [0.0] * len(scorers)
    for _ in range(args.repeats):
        for k, scorer in enumerate(scorers):
            started = time.perf_counter()
            results = scorer.score(docs, sums)
            seconds[k] += time.perf_counter() - started
    total = args.n * args.repeats
    report = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus, torch threads {torch.get_num_threads()}",
        "device": str(qagen.device),
        "summaries": args.n,
        "repeats": args.repeats,
        "variants": [
            {
                "settings": v,
                "seconds_per_summary": round(s / total, 3),
                "summaries_per_second": round(total / s, 3),
                "ratio_to_first": round(seconds[0] / s, 3),
            }
            for v, s in zip(variants, seconds)
        ],
        "coverage_last_variant": sum(r.quals is not None for r in results) / len(results),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "signature": scorers[0].signature(),
    }
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
