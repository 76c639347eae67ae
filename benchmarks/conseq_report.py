"""Table of summarizer evaluations (``quals-train evaluate`` reports), seeds grouped: mean ± sd per metric.

    python benchmarks/conseq_report.py RUN/eval/*/report.json [--paired-with mle]

A report folder named ``<system>-seed<N>`` is one seed of ``<system>``; any other folder is its own row.
``--paired-with`` adds, for QUALS and QAGS, each system's mean per-document difference from that system
(seeds averaged per document; documents, matched by index, that both scored) with a 95% bootstrap
interval over documents.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
from collections import defaultdict

# (report key, header, scale, decimals): ROUGE and coverage in percent.
COLUMNS = [("rouge1", "R-1", 100, 2), ("rouge2", "R-2", 100, 2), ("rougeL", "R-L", 100, 2), ("quals", "QUALS", 1, 3),
           ("quals_coverage", "QUALS cov. %", 100, 1), ("qags", "QAGS", 1, 3), ("qags_coverage", "QAGS cov. %", 100, 1),
           ("source_bigram_share", "src bigrams %", 100, 1), ("summary_words", "words", 1, 1)]


def system_name(report_path: str) -> str:
    return re.sub(r"-seed\d+$", "", os.path.basename(os.path.dirname(os.path.abspath(report_path))))


def cell(values: list[float | None], scale: float, decimals: int) -> str:
    """``mean ± sd`` over seeds (plain mean for one seed); n/a when a metric was not computed."""
    present = [v * scale for v in values if v is not None]
    if not present:
        return "n/a"
    mean = f"{statistics.fmean(present):.{decimals}f}"
    return f"{mean} ± {statistics.stdev(present):.{decimals}f}" if len(present) > 1 else mean


def table(paths: list[str]) -> str:
    groups: dict[str, list[dict]] = defaultdict(list)
    for path in paths:
        with open(path, encoding="utf-8") as f:
            groups[system_name(path)].append(json.load(f))
    lines = ["| system | seeds | " + " | ".join(c[1] for c in COLUMNS) + " |", "|---" * (len(COLUMNS) + 2) + "|"]
    for name, reports in groups.items():
        cells = [cell([r.get(key) for r in reports], scale, decimals) for key, _, scale, decimals in COLUMNS]
        lines.append(f"| {name} | {len(reports)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def per_document(report_paths: list[str], metric: str) -> dict[int, float] | None:
    """Document index -> the metric averaged over the seeds that scored it; None if a run lacks the metric."""
    values: dict[int, list[float]] = defaultdict(list)
    for path in report_paths:
        scores = os.path.join(os.path.dirname(path), f"{metric}.jsonl")
        if not os.path.exists(scores):
            return None
        with open(scores, encoding="utf-8") as f:
            for record in map(json.loads, f):
                if record[metric] is not None:
                    values[record["index"]].append(record[metric])
    return {i: statistics.fmean(v) for i, v in values.items()}


def paired(paths: list[str], baseline: str, n_boot: int = 1000, seed: int = 0) -> str:
    """Mean per-document QUALS and QAGS differences from ``baseline`` with 95% bootstrap intervals."""
    groups: dict[str, list[str]] = defaultdict(list)
    for path in paths:
        groups[system_name(path)].append(path)
    if baseline not in groups:
        raise SystemExit(f"--paired-with {baseline}: no such system among {sorted(groups)}")
    lines = [f"| system − {baseline} | Δ QUALS [95% CI] | docs | Δ QAGS [95% CI] | docs |", "|---|---|---|---|---|"]
    for name, system_paths in groups.items():
        if name == baseline:
            continue
        cells = []
        for metric in ("quals", "qags"):
            base, other = per_document(groups[baseline], metric), per_document(system_paths, metric)
            shared = sorted(set(base or {}) & set(other or {}))
            if not shared:
                cells += ["n/a", "0"]
                continue
            diffs = [other[i] - base[i] for i in shared]
            rng = random.Random(f"{seed}/{name}/{metric}")  # intervals do not depend on the other systems listed
            boots = sorted(statistics.fmean(rng.choices(diffs, k=len(diffs))) for _ in range(n_boot))
            low, high = boots[int(0.025 * n_boot)], boots[int(0.975 * n_boot) - 1]
            cells += [f"{statistics.fmean(diffs):+.3f} [{low:+.3f}, {high:+.3f}]", str(len(diffs))]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", help="report.json files written by `quals-train evaluate`")
    parser.add_argument("--paired-with", help="system to compare every other system with, document by document")
    args = parser.parse_args(argv)
    missing = [p for p in args.reports if not os.path.exists(p)]
    if missing:
        sys.exit(f"no such report: {missing}")
    print(table(args.reports))
    if args.paired_with:
        print()
        print(paired(args.reports, args.paired_with))


if __name__ == "__main__":
    main()
