"""ROUGE-1/2/L F1 from ``rouge_score`` (Google's re-implementation of ROUGE-1.5.5, the one papers report):
its tokenizer lower-cases and keeps ASCII letters and digits only, and Porter stemming is a setting that
every report records (``use_stemmer``; on by default, as ROUGE-1.5.5's ``-m`` in summarization papers)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


@lru_cache(maxsize=2)
def _scorer(use_stemmer: bool) -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=use_stemmer)


def rouge_scores(prediction: str, reference: str, use_stemmer: bool = True) -> dict[str, float]:
    """F1 of ROUGE-1, ROUGE-2 and ROUGE-L (0-1) of ``prediction`` against ``reference``."""
    scores = _scorer(use_stemmer).score(reference, prediction)  # rouge_score takes (target, prediction)
    return {name: scores[name].fmeasure for name in ROUGE_TYPES}


def rouge_ensemble(prediction: str, reference: str, use_stemmer: bool = True) -> float:
    """Mean of ROUGE-1, ROUGE-2 and ROUGE-L F1: the selection score of the paper's ROUGE baseline."""
    return sum(rouge_scores(prediction, reference, use_stemmer).values()) / len(ROUGE_TYPES)
