"""Benchmark data: QAGS-C (CNN/DM summaries with human consistency judgments) and generic JSONL."""

from __future__ import annotations

import json
import os

DEFAULT_QAGS = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "qags", "mturk_cnndm.jsonl")


def qags_human_score(example: dict) -> float:
    """Fraction of summary sentences that at least 2 of 3 annotators judged supported by the article."""
    ok = [sum(r["response"] == "yes" for r in s["responses"]) >= 2 for s in example["summary_sentences"]]
    return sum(ok) / len(ok)


def load_qags(path: str = DEFAULT_QAGS, limit: int | None = None) -> tuple[list[str], list[str], list[float]]:
    """(articles, summaries, human scores) of QAGS-C; a summary is its sentences joined by spaces."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} not found; pass --data with the QAGS-C mturk_cnndm.jsonl file.")
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()][:limit]
    docs = [r["article"] for r in rows]
    sums = [" ".join(s["sentence"] for s in r["summary_sentences"]) for r in rows]
    return docs, sums, [qags_human_score(r) for r in rows]


def load_judged_jsonl(path: str, doc_field: str, summary_field: str, score_field: str, limit: int | None = None):
    """(documents, summaries, human scores) from any JSONL with those three fields."""
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()][:limit]
    return [r[doc_field] for r in rows], [r[summary_field] for r in rows], [float(r[score_field]) for r in rows]
