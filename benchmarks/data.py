"""Benchmark data: QAGS-C, FRANK (validation split and its articles), and generic judged JSONL."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

SHARED_DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
DEFAULT_QAGS = os.path.join(SHARED_DATA, "qags", "mturk_cnndm.jsonl")
DEFAULT_FRANK = os.path.join(SHARED_DATA, "frank", "frank_valid.jsonl")
DEFAULT_FRANK_DOCS = os.path.join(SHARED_DATA, "summ", "frank_docs.jsonl")
FRANK_FIELDS = ("document", "summary", "label_score", "dataset", "model_name")


@dataclass
class Judged:
    """Documents, summaries and human scores; FRANK also gives each row's dataset and system."""

    docs: list[str]
    sums: list[str]
    human: list[float]
    datasets: list[str] | None = None
    systems: list[str] | None = None


def read_jsonl(path: str, fix: str, limit: int | None = None) -> list[dict]:
    """The first ``limit`` records of a JSONL file; a missing one is reported with ``fix`` (the flag to pass)."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} not found; {fix}.")
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()][:limit]


def qags_human_score(example: dict) -> float:
    """Fraction of summary sentences that at least 2 of 3 annotators judged supported by the article."""
    ok = [sum(r["response"] == "yes" for r in s["responses"]) >= 2 for s in example["summary_sentences"]]
    return sum(ok) / len(ok)


def load_qags(path: str = DEFAULT_QAGS, limit: int | None = None) -> tuple[list[str], list[str], list[float]]:
    """(articles, summaries, human scores) of QAGS-C; a summary is its sentences joined by spaces."""
    rows = read_jsonl(path, "pass --data with the QAGS-C mturk_cnndm.jsonl file", limit)
    docs = [r["article"] for r in rows]
    sums = [" ".join(s["sentence"] for s in r["summary_sentences"]) for r in rows]
    return docs, sums, [qags_human_score(r) for r in rows]


def load_judged_jsonl(path: str, doc_field: str, summary_field: str, score_field: str, limit: int | None = None):
    """(documents, summaries, human scores) from any JSONL with those three fields."""
    rows = read_jsonl(path, "pass --data with the judged JSONL", limit)
    return [r[doc_field] for r in rows], [r[summary_field] for r in rows], [float(r[score_field]) for r in rows]


def is_frank(path: str) -> bool:
    """Whether the first record of a JSONL file has FRANK's fields (so that --data alone selects FRANK)."""
    rows = read_jsonl(path, "pass --data with the judged JSONL", limit=1)
    return bool(rows) and all(field in rows[0] for field in FRANK_FIELDS)


def load_frank(path: str = DEFAULT_FRANK, limit: int | None = None) -> Judged:
    """FRANK rows in file order: document, summary, label_score, dataset (cnndm|bbc) and system (model_name)."""
    rows = read_jsonl(path, "pass --data with FRANK's frank_valid.jsonl", limit)
    missing = [field for field in FRANK_FIELDS if rows and field not in rows[0]]
    if missing:
        raise ValueError(f"{path} lacks FRANK's fields {missing}; drop --frank, "
                         "or give --doc-field/--summary-field/--score-field.")
    return Judged([r["document"] for r in rows], [r["summary"] for r in rows], [float(r["label_score"]) for r in rows],
                  [r["dataset"] for r in rows], [r["model_name"] for r in rows])


def load_pairs(path: str = DEFAULT_QAGS, limit: int | None = None) -> tuple[list[str], list[str]]:
    """(documents, summaries) of QAGS-C or of a FRANK-format file (told apart by its fields), for timings."""
    if is_frank(path):
        judged = load_frank(path, limit)
        return judged.docs, judged.sums
    docs, sums, _ = load_qags(path, limit)
    return docs, sums


def frank_article_id(row: dict) -> str:
    """The article of a FRANK row: its id is ``<article id>-<model_name>`` (a CNN/DM hash or a BBC id)."""
    suffix = "-" + row["model_name"]
    if not row["id"].endswith(suffix):
        raise ValueError(f"FRANK row {row['id']!r} does not end with -{row['model_name']}; is this FRANK's annotation file?")
    return row["id"][: -len(suffix)]
