r"""Correlation of QUALS or QAGS (and a lexical baseline) with human consistency judgments.

Prints JSON: Pearson, Spearman and Kendall correlations with 95% bootstrap intervals, coverage, and the
same for the share of summary bigrams found in the source (a strong baseline on extractive summaries).
Scores are written to --scores (JSONL) through the resumable corpus runner, so a killed run continues
where it stopped. ``--metric qags`` evaluates the QAGS baseline (flags of QagsScorer) instead.

  python benchmarks/meta_eval.py --scores runs/qags_quals.jsonl             # QAGS-C, bundled model
  python benchmarks/meta_eval.py --metric qags --scores runs/qags_qags.jsonl
  python benchmarks/meta_eval.py --data judged.jsonl --doc-field document --summary-field summary \
      --score-field human --scores runs/mine.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import DEFAULT_QAGS, load_judged_jsonl, load_qags  # noqa: E402

from quals.lexical import bigram_overlap  # noqa: E402


def correlations(x: list[float], y: list[float], n_boot: int = 1000, seed: int = 0) -> dict:
    """Pearson, Spearman, Kendall with percentile bootstrap 95% intervals (resampling items)."""
    from scipy import stats

    x_arr, y_arr = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    funcs = {"pearson": stats.pearsonr, "spearman": stats.spearmanr, "kendall": stats.kendalltau}
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x_arr), size=(n_boot, len(x_arr)))
    out = {"n": len(x_arr)}
    warnings.filterwarnings("ignore", message=".*constant.*")  # a resample may hold one value only
    for name, fn in funcs.items():
        value = float(fn(x_arr, y_arr)[0])
        boots = [float(fn(x_arr[i], y_arr[i])[0]) for i in idx]
        boots = [b for b in boots if np.isfinite(b)]
        out[name] = {"r": round(value, 4), "ci95": [round(float(np.percentile(boots, 2.5)), 4), round(float(np.percentile(boots, 97.5)), 4)]}
    return out


def paired_difference(a: list[float | None], b: list[float | None], human: list[float], n_boot: int = 1000, seed: int = 0) -> dict:
    """Pearson(a) - Pearson(b) on the items both scored, with a paired percentile bootstrap 95% interval."""
    from scipy import stats

    both = [i for i in range(len(human)) if a[i] is not None and b[i] is not None]
    x, y, h = (np.asarray([v[i] for i in both], dtype=float) for v in (a, b, human))
    rng = np.random.default_rng(seed)
    boots = []
    for idx in rng.integers(0, len(both), size=(n_boot, len(both))):
        boots.append(stats.pearsonr(x[idx], h[idx])[0] - stats.pearsonr(y[idx], h[idx])[0])
    boots = [v for v in boots if np.isfinite(v)]
    value = float(stats.pearsonr(x, h)[0] - stats.pearsonr(y, h)[0])
    return {"n": len(both), "pearson_difference": round(value, 4),
            "ci95": [round(float(np.percentile(boots, 2.5)), 4), round(float(np.percentile(boots, 97.5)), 4)]}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=DEFAULT_QAGS, help="QAGS-C jsonl (default) or a judged JSONL with --*-field")
    parser.add_argument("--doc-field")
    parser.add_argument("--summary-field")
    parser.add_argument("--score-field")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--scores", required=True, help="JSONL of scores (resumed if present)")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--paired-with", help="another scores JSONL on the same data: Pearson difference, paired bootstrap")
    from quals.cli import METRICS, add_scorer_flags, chosen_metric, scorer_class, scorer_kwargs

    parser.add_argument("--metric", choices=METRICS, default="quals")
    cls = scorer_class(chosen_metric(argv))
    add_scorer_flags(parser, cls)
    args = parser.parse_args(argv)
    if args.score_field:
        docs, sums, human = load_judged_jsonl(args.data, args.doc_field, args.summary_field, args.score_field, args.limit)
    else:
        docs, sums, human = load_qags(args.data, args.limit)

    from quals.corpus import score_corpus
    from quals.readers import Rows

    scorer = cls(**scorer_kwargs(args, cls))
    stats = score_corpus(scorer, Rows(docs, sums, args.data), args.scores, progress=True)
    with open(args.scores, encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    key, count = scorer.metric_name, scorer.count_name
    kept = [i for i, r in enumerate(records) if r[key] is not None]
    baseline = [bigram_overlap(d, s) for d, s in zip(docs, sums)]
    report = {
        "data": os.path.basename(args.data),
        "summaries": len(records),
        "signature": scorer.signature(),
        key: {
            "coverage": round(len(kept) / len(records), 4),
            f"mean_{count}": round(sum(r[count] for r in records) / len(records), 2),
            **correlations([records[i][key] for i in kept], [human[i] for i in kept], args.bootstrap),
        },
        "bigram_overlap": correlations(baseline, human, args.bootstrap),
        f"bigram_overlap_on_{key}_items": correlations([baseline[i] for i in kept], [human[i] for i in kept], args.bootstrap),
        "seconds_per_summary_this_run": round(stats.seconds / stats.newly_scored, 3) if stats.newly_scored else None,
    }
    if args.paired_with:
        with open(args.paired_with, encoding="utf-8") as f:
            other = [json.loads(line) for line in f]
        other_key = next(k for k in ("quals", "qags") if k in other[0])
        report["paired_with"] = {
            "file": args.paired_with, "this_minus_other": paired_difference(
                [r[key] for r in records], [r[other_key] for r in other], human, args.bootstrap),
        }
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
