"""QUALS speed on QAGS-C (or, with --data, FRANK) summaries: seconds per summary, summaries per second, peak memory.

Variants given with --variant (JSON objects of QualsScorer settings) run in the same process, on the same
summaries, alternating, so their ratio is fair; the model is loaded once and not timed. ``--compare qags``
adds the QAGS baseline (settings from --qags, JSON) as the last variant, and every variant reports where
its time goes (QUALS: generation, scoring; QAGS: extraction, question generation, QA on summaries and on
sources).

  python benchmarks/speed.py --n 16
  python benchmarks/speed.py --n 16 --variant '{"batch_size": 1}' --variant '{"batch_size": 8}'
  python benchmarks/speed.py --n 16 --compare qags
  python benchmarks/speed.py --n 16 --variant '{"dtype": "float32"}' --variant '{"dtype": "bfloat16"}'
  python benchmarks/speed.py --n 16 --variant '{}' --variant '{"int8_linear": true}'   # int8 linear layers (CPU)

A variant may also name a ``device`` or ``dtype``: the model is then loaded once per (device, dtype), and
each variant reports how far its scores move from the first variant's (``max_abs_diff_vs_first``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import DEFAULT_QAGS, load_pairs  # noqa: E402
from machine import cpu_bf16_support, describe  # noqa: E402

from quals.registry import metric_of  # noqa: E402


def int8_linear_layers(qagen) -> None:
    """Benchmark only: every linear layer of the QAGen (the LM head included) as int8 with dynamic activation
    quantization (``torch.ao.quantization.quantize_dynamic``, CPU), in place of its float network."""
    import warnings

    import torch
    from torch.ao.quantization import quantize_dynamic

    from quals.network import as_network

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's notice that it is moving to torchao
        qagen.network = as_network(quantize_dynamic(qagen.model, {torch.nn.Linear}, dtype=torch.qint8))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=DEFAULT_QAGS)
    parser.add_argument("--n", type=int, default=16, help="number of summaries")
    parser.add_argument("--model", default="bundled")
    parser.add_argument("--device")
    parser.add_argument("--dtype")
    parser.add_argument("--repeats", type=int, default=1, help="alternating rounds over the variants")
    parser.add_argument("--variant", action="append", default=[], help="JSON object of QualsScorer settings")
    parser.add_argument("--compare", choices=["qags"], help="also time the QAGS baseline on the same summaries")
    parser.add_argument("--qags", default="{}", help="JSON object of QagsScorer settings for --compare qags")
    args = parser.parse_args(argv)

    import torch

    import quals

    docs, sums = load_pairs(args.data, args.n)
    variants = [json.loads(v) for v in args.variant] or [{}]
    loaded: dict[tuple, quals.QAGen] = {}

    def scorer_for(variant: dict) -> quals.QualsScorer:
        """A scorer for the variant's settings, sharing one loaded model per (device, dtype, quantization)."""
        settings = dict(variant)
        quantize = settings.pop("int8_linear", False)
        where = (settings.pop("device", args.device), settings.pop("dtype", args.dtype), quantize)
        if where not in loaded:
            loaded[where] = quals.QAGen.from_pretrained(args.model, device=where[0], dtype=where[1])
        scorer = quals.QualsScorer(loaded[where], **settings)  # the signature hashes the float weights
        if quantize:
            int8_linear_layers(scorer.qagen)
        return scorer

    scorers = [scorer_for(v) for v in variants]
    if args.compare == "qags":
        qags_settings = {"device": args.device, "dtype": args.dtype, **json.loads(args.qags)}
        scorers.append(quals.QagsScorer(**qags_settings))
        variants.append({"metric": "qags", **json.loads(args.qags)})
    for scorer in scorers:
        scorer.score(docs[:1], sums[:1])  # warm-up, not timed
        scorer.timings.reset()
    seconds = [0.0] * len(scorers)
    results = [[] for _ in scorers]
    for _ in range(args.repeats):
        for k, scorer in enumerate(scorers):
            started = time.perf_counter()
            results[k] = scorer.score(docs, sums)
            seconds[k] += time.perf_counter() - started
    total = args.n * args.repeats

    def max_abs_diff(rs: list) -> float | None:
        """Largest score change against the first variant, over summaries both scored (None: none shared)."""
        key = metric_of(scorers[0]).name
        pairs = [(getattr(a, key), getattr(b, key)) for a, b in zip(results[0], rs)]
        diffs = [abs(a - b) for a, b in pairs if a is not None and b is not None]
        return round(max(diffs), 6) if diffs else None

    report = {
        "machine": describe(torch.get_num_threads()),
        **cpu_bf16_support(),
        "summaries": args.n,
        "repeats": args.repeats,
        "variants": [
            {
                "settings": v,
                "seconds_per_summary": round(s / total, 3),
                "summaries_per_second": round(total / s, 3),
                "speed_vs_first": round(seconds[0] / s, 3),
                "coverage": sum(getattr(r, metric_of(scorer).name) is not None for r in rs) / len(rs),
                **({"device": str(scorer.qagen.device), "max_abs_diff_vs_first": max_abs_diff(rs),
                    "batch_size_reached": scorer.batch_size} if isinstance(scorer, quals.QualsScorer) else {}),
                "seconds_per_summary_by_stage": {
                    stage: round(t / total, 3) for stage, t in scorer.timings.as_dict().items()
                },
                "signature": scorer.signature(),
            }
            for v, s, scorer, rs in zip(variants, seconds, scorers, results)
        ],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if torch.cuda.is_available() and torch.cuda.max_memory_allocated():
        report["peak_cuda_memory_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    if args.compare:
        report["qags_time_over_quals_time"] = round(seconds[-1] / seconds[0], 2)
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
