"""ROUGE-1/2/L F1 on lower-cased word tokens (no stemming), for the ROUGE-selection baseline and reports.

A small local implementation: the Hub-hosted ``evaluate`` ROUGE needs a download and another package.
"""

from __future__ import annotations

from collections import Counter

from quals.lexical import words


def _f1(overlap: int, n_pred: int, n_ref: int) -> float:
    if overlap == 0 or n_pred == 0 or n_ref == 0:
        return 0.0
    precision, recall = overlap / n_pred, overlap / n_ref
    return 2 * precision * recall / (precision + recall)


def rouge_n(prediction: list[str], reference: list[str], n: int) -> float:
    pred = Counter(tuple(prediction[i : i + n]) for i in range(len(prediction) - n + 1))
    ref = Counter(tuple(reference[i : i + n]) for i in range(len(reference) - n + 1))
    return _f1(sum((pred & ref).values()), sum(pred.values()), sum(ref.values()))


def rouge_l(prediction: list[str], reference: list[str]) -> float:
    """F1 of the longest common subsequence."""
    previous = [0] * (len(reference) + 1)
    for p in prediction:
        current = [0]
        for j, r in enumerate(reference):
            current.append(previous[j] + 1 if p == r else max(previous[j + 1], current[j]))
        previous = current
    return _f1(previous[-1], len(prediction), len(reference))


def rouge_scores(prediction: str, reference: str) -> dict[str, float]:
    pred, ref = words(prediction), words(reference)
    return {"rouge1": rouge_n(pred, ref, 1), "rouge2": rouge_n(pred, ref, 2), "rougeL": rouge_l(pred, ref)}


def rouge_ensemble(prediction: str, reference: str) -> float:
    """Mean of ROUGE-1, ROUGE-2 and ROUGE-L F1: the selection score of the paper's ROUGE baseline."""
    scores = rouge_scores(prediction, reference)
    return sum(scores.values()) / 3
