r"""Both development sets side by side: QAGS-C and FRANK's validation split, one compact table.

Scores (or resumes) each set into its own JSONL through meta_eval.py with one scorer, then prints the
Pearson and Spearman correlations (95% bootstrap intervals) of the metric and of the bigram-overlap
baseline on the same items: QAGS-C; FRANK over all rows, per dataset (cnndm, bbc), and FRANK's partial
correlation controlling for the system. Any other flag (--metric, --limit, --bootstrap and the scorer
settings such as --model or --num-beams) goes to meta_eval.py; see its --help.

  python benchmarks/dev_sets.py --qags-scores runs/qagsc_quals.jsonl --frank-scores runs/frank_quals.jsonl
  python benchmarks/dev_sets.py --metric qags --qags-scores runs/qagsc_qags.jsonl --frank-scores runs/frank_qags.jsonl
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import DEFAULT_FRANK, DEFAULT_QAGS  # noqa: E402
from meta_eval import evaluate, load_data, parse_args  # noqa: E402

from quals.registry import metric_of  # noqa: E402

# meta_eval flags that choose one set's data or scores: dev_sets sets them itself, per set.
PER_SET_FLAGS = ("--data", "--frank", "--scores", "--paired-with", "--doc-field", "--summary-field", "--score-field")


def cell(figure: dict) -> str:
    """One correlation as 'r [low, high]' ('n/a' where undefined)."""
    if figure["r"] is None or figure["ci95"] is None:
        return "n/a"
    low, high = figure["ci95"]
    return f"{figure['r']:.3f} [{low:.3f}, {high:.3f}]"


def table(qags: dict, frank: dict, key: str) -> str:
    """A Markdown table: per set (QAGS-C; FRANK all, per dataset, partial), metric and baseline Pearson/Spearman."""
    baseline = f"bigram_overlap_on_{key}_items"
    rows = [("QAGS-C", qags[key], qags[baseline])]
    ours, theirs = frank["frank"][key], frank["frank"][baseline]
    rows += [(f"FRANK {part}", ours[part], theirs[part]) for part in ours]
    rows.append(("FRANK partial (system)", ours["all"]["partial"], theirs["all"]["partial"]))
    name = key.upper()
    lines = [f"| set | n | {name} Pearson | {name} Spearman | bigram Pearson | bigram Spearman |", "|---|---|---|---|---|---|"]
    for label, metric, bigram in rows:
        figures = [cell(f[m]) for f in (metric, bigram) for m in ("pearson", "spearman")]
        lines.append(f"| {label} | {metric['n']} | " + " | ".join(figures) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     allow_abbrev=False)
    parser.add_argument("--qags-scores", required=True, help="scores JSONL for QAGS-C (resumed if present)")
    parser.add_argument("--frank-scores", required=True, help="scores JSONL for FRANK validation (resumed if present)")
    parser.add_argument("--qags-data", default=DEFAULT_QAGS, help="QAGS-C mturk_cnndm.jsonl")
    parser.add_argument("--frank-data", default=DEFAULT_FRANK, help="FRANK's frank_valid.jsonl")
    own, rest = parser.parse_known_args(argv)
    clash = [a for a in rest if a.split("=")[0] in PER_SET_FLAGS]
    if clash:
        parser.error(f"{clash[0]} is set per set here: use --qags-data/--frank-data and --qags-scores/--frank-scores.")
    qags_args, spec = parse_args([*rest, "--data", own.qags_data, "--scores", own.qags_scores])
    frank_args, _ = parse_args([*rest, "--frank", "--data", own.frank_data, "--scores", own.frank_scores])
    sets = [(qags_args, load_data(qags_args)), (frank_args, load_data(frank_args))]  # data errors before the model loads
    scorer = spec.build(spec.settings.from_cli(qags_args))
    qags, frank = (evaluate(args, data, scorer) for args, data in sets)
    print(table(qags, frank, metric_of(scorer).name))
    return {"qags": qags, "frank": frank}


if __name__ == "__main__":
    main()
