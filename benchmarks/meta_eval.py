r"""Correlation of QUALS or QAGS (and a lexical baseline) with human consistency judgments.

Prints JSON: Pearson, Spearman and Kendall correlations with 95% bootstrap intervals, coverage, and the
same for the share of summary bigrams found in the source (a strong baseline on extractive summaries).
Scores are written to --scores (JSONL) through the resumable corpus runner, so a killed run continues
where it stopped. ``--metric qags`` evaluates the QAGS baseline (flags of QagsScorer) instead.

FRANK's validation split (``--frank``, or a --data file with FRANK's fields) adds a ``frank`` section:
Pearson and Spearman over all rows, per dataset (cnndm, bbc), and FRANK's partial correlation controlling
for the system (each system's mean removed from metric and label), for the metric and the baseline.

  python benchmarks/meta_eval.py --scores runs/qags_quals.jsonl             # QAGS-C, bundled model
  python benchmarks/meta_eval.py --metric qags --scores runs/qags_qags.jsonl
  python benchmarks/meta_eval.py --frank --scores runs/frank_quals.jsonl    # FRANK validation split
  python benchmarks/meta_eval.py --data judged.jsonl --doc-field document --summary-field summary \
      --score-field human --scores runs/mine.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import DEFAULT_FRANK, DEFAULT_QAGS, Judged, is_frank, load_frank, load_judged_jsonl, load_qags  # noqa: E402

from quals.lexical import bigram_overlap  # noqa: E402
from quals.registry import metric_of  # noqa: E402

METHODS = ("pearson", "spearman", "kendall")
FRANK_METHODS = ("pearson", "spearman")


def demean_by(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Values minus the mean of their group: FRANK's control for the system that wrote each summary."""
    _, which = np.unique(groups, return_inverse=True)
    means = np.bincount(which, weights=values) / np.bincount(which)
    return values - means[which]


def correlation(name: str, x: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None) -> float:
    """One correlation (pearson, spearman or kendall) of x and y; with ``groups``, of their within-group residuals."""
    from scipy import stats

    if groups is not None:
        x, y = demean_by(x, groups), demean_by(y, groups)
    fn = {"pearson": stats.pearsonr, "spearman": stats.spearmanr, "kendall": stats.kendalltau}[name]
    return float(fn(x, y)[0])


def resamples(n: int, n_boot: int, seed: int) -> np.ndarray:
    """Bootstrap resamples of n items (rows of item indices), shared by every statistic of one report."""
    warnings.filterwarnings("ignore", message=".*constant.*")  # a resample may hold one value only
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def with_interval(statistic: Callable[[np.ndarray | slice], float], idx: np.ndarray, key: str = "r") -> dict:
    """A statistic of all items and its percentile bootstrap 95% interval over the resamples ``idx``; None where
    undefined (e.g. a constant input, as in a --limit run with one summary per system)."""
    value = statistic(slice(None))
    boots = [b for b in (statistic(i) for i in idx) if np.isfinite(b)]
    return {key: round(value, 4) if np.isfinite(value) else None,
            "ci95": [round(float(np.percentile(boots, 2.5)), 4), round(float(np.percentile(boots, 97.5)), 4)] if boots else None}


def _correlation_at(i: np.ndarray | slice, name: str, x: np.ndarray, y: np.ndarray, groups: np.ndarray | None) -> float:
    """``correlation`` on the items ``i`` (one bootstrap resample, or all of them)."""
    return correlation(name, x[i], y[i], None if groups is None else groups[i])


def correlations(x: Sequence[float], y: Sequence[float], n_boot: int = 1000, seed: int = 0,
                 methods: Sequence[str] = METHODS, groups: Sequence[str] | None = None) -> dict:
    """Correlations with percentile bootstrap 95% intervals (resampling items); with ``groups``, FRANK's partial
    correlation: of what is left once each group's mean is removed from x and y (means recomputed per resample)."""
    x_arr, y_arr = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    g = None if groups is None else np.asarray(groups)
    idx = resamples(len(x_arr), n_boot, seed)
    out: dict = {"n": len(x_arr)}
    for name in methods:
        out[name] = with_interval(partial(_correlation_at, name=name, x=x_arr, y=y_arr, groups=g), idx)
    return out


def paired_difference(a: list[float | None], b: list[float | None], human: list[float], n_boot: int = 1000, seed: int = 0,
                      groups: Sequence[str] | None = None) -> dict:
    """Pearson(a) - Pearson(b) on the items both scored, with a paired percentile bootstrap 95% interval;
    with ``groups``, the difference of FRANK's partial (within-group) Pearson correlations."""
    both = [i for i in range(len(human)) if a[i] is not None and b[i] is not None]
    x, y, h = (np.asarray([v[i] for i in both], dtype=float) for v in (a, b, human))
    g = None if groups is None else np.asarray([groups[i] for i in both])

    def difference(i: np.ndarray | slice) -> float:
        gi = None if g is None else g[i]
        return correlation("pearson", x[i], h[i], gi) - correlation("pearson", y[i], h[i], gi)

    key = "pearson_difference" if groups is None else "partial_pearson_difference"
    return {"n": len(both), **with_interval(difference, resamples(len(both), n_boot, seed), key)}


def frank_figures(x: Sequence[float], human: Sequence[float], datasets: Sequence[str], systems: Sequence[str],
                  n_boot: int = 1000) -> dict:
    """Pearson and Spearman with the label, and FRANK's partial ones (system controlled): all rows, then per dataset."""
    def block(rows: list[int]) -> dict:
        xs, hs, gs = [x[i] for i in rows], [human[i] for i in rows], [systems[i] for i in rows]
        return {**correlations(xs, hs, n_boot, methods=FRANK_METHODS),
                "partial": correlations(xs, hs, n_boot, methods=FRANK_METHODS, groups=gs)}

    out = {"all": block(list(range(len(x))))}
    for name in dict.fromkeys(datasets):
        out[name] = block([i for i, d in enumerate(datasets) if d == name])
    return out


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, Any]:
    """meta_eval's command line (data, scores, settings flags), with --data defaulted, and the registered
    metric of --metric."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="QAGS-C jsonl (the default), FRANK's frank_valid.jsonl (found by its fields), "
                                       "or a judged JSONL with --*-field")
    parser.add_argument("--frank", action="store_true", help=f"FRANK's validation split (--data defaults to {DEFAULT_FRANK})")
    parser.add_argument("--doc-field")
    parser.add_argument("--summary-field")
    parser.add_argument("--score-field")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--scores", required=True, help="JSONL of scores (resumed if present)")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--paired-with", help="another scores JSONL on the same data: Pearson difference (and, on FRANK, "
                                              "partial Pearson difference), paired bootstrap")
    from quals.cli import chosen_metric
    from quals.registry import METRICS

    parser.add_argument("--metric", choices=list(METRICS), default="quals")
    spec = chosen_metric(argv)
    spec.settings.add_cli_flags(parser)
    args = parser.parse_args(argv)
    args.data = args.data or (DEFAULT_FRANK if args.frank else DEFAULT_QAGS)
    return args, spec


def load_data(args: argparse.Namespace) -> Judged:
    """The rows to score: generic fields when given, else FRANK (--frank or a file with its fields), else QAGS-C."""
    generic = (args.doc_field, args.summary_field, args.score_field)
    if any(generic):
        if args.frank:
            raise ValueError("--frank reads FRANK's own fields; drop --doc-field/--summary-field/--score-field.")
        if not all(generic):
            raise ValueError("a judged JSONL needs all three of --doc-field, --summary-field and --score-field.")
        return Judged(*load_judged_jsonl(args.data, *generic, args.limit))
    if args.frank or is_frank(args.data):
        return load_frank(args.data, args.limit)
    return Judged(*load_qags(args.data, args.limit))


def read_records(path: str, flag: str, rows: int) -> list[dict]:
    """Score records of a scores JSONL, checked to cover the same ``rows`` items as this data."""
    with open(path, encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    if len(records) != rows:
        raise ValueError(f"{flag} {path} has {len(records)} records but the data has {rows} rows; "
                         "score the same data (and --limit).")
    return records


def evaluate(args: argparse.Namespace, data: Judged, scorer) -> dict:
    """Score the data into --scores (resuming it) and report correlations with the human scores."""
    from quals.corpus import score_corpus
    from quals.readers import Rows

    stats = score_corpus(scorer, Rows(data.docs, data.sums, args.data), args.scores, progress=True)
    records = read_records(args.scores, "--scores", len(data.docs))
    key, count, human = metric_of(scorer).name, metric_of(scorer).count_key, data.human
    kept = [i for i, r in enumerate(records) if r[key] is not None]
    baseline = [bigram_overlap(d, s) for d, s in zip(data.docs, data.sums)]
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
    if data.systems is not None:
        judged = [[v[i] for i in kept] for v in (human, data.datasets, data.systems)]
        report["frank"] = {key: frank_figures([records[i][key] for i in kept], *judged, args.bootstrap),
                           f"bigram_overlap_on_{key}_items": frank_figures([baseline[i] for i in kept], *judged, args.bootstrap)}
    if args.paired_with:
        other = read_records(args.paired_with, "--paired-with", len(records))
        other_key = next(k for k in ("quals", "qags") if k in other[0])
        ours, theirs = [r[key] for r in records], [r[other_key] for r in other]
        report["paired_with"] = {"file": args.paired_with,
                                 "this_minus_other": paired_difference(ours, theirs, human, args.bootstrap)}
        if data.systems is not None:
            report["paired_with"]["partial_this_minus_other"] = paired_difference(ours, theirs, human, args.bootstrap,
                                                                                  groups=data.systems)
    return report


def main(argv: list[str] | None = None) -> dict:
    args, spec = parse_args(argv)
    data = load_data(args)  # a missing or malformed data file is reported before any model loads
    report = evaluate(args, data, spec.build(spec.settings.from_cli(args)))
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
