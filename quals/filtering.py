"""Which generated QA sequences QUALS keeps, following the paper's reference code.

A pure function over token ids: split at the separator id, require exactly two non-empty parts and an
answer that occurs in the summary, then the reference's order (summed score, best first), grouping by
answer, round-robin over answers and per-answer question dedup, under a cap of ``max_pairs``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .quals_settings import CAP_MODES



@dataclass
class Candidate:
    """One generated sequence: ids without decoder start (EOS included) and its per-token beam scores."""

    tokens: list[int]
    token_scores: list[float]


@dataclass
class KeptPair:
    """A QA pair that passed the filter, with the index of the candidate it came from."""

    index: int
    question: str
    answer: str
    tokens: list[int]
    question_ids: list[int]
    answer_ids: list[int]


def split_qa(tokens: Sequence[int], separator_id: int, eos_id: int) -> tuple[list[int], list[int]] | None:
    """``(question_ids, answer_ids)`` when the sequence has exactly one separator and both parts are non-empty."""
    body = list(tokens[:-1]) if tokens and tokens[-1] == eos_id else list(tokens)
    if body.count(separator_id) != 1:
        return None
    cut = body.index(separator_id)
    question, answer = body[:cut], body[cut + 1 :]
    if not question or not answer:
        return None
    return question, answer


def filter_qa_pairs(
    candidates: Sequence[Candidate],
    summary_text: str,
    decode: Callable[[list[int]], str],
    separator_id: int,
    eos_id: int,
    max_pairs: int = 10,
    cap: str = "strict",
) -> list[KeptPair]:
    """Keep at most ``max_pairs`` diverse QA pairs whose answer is a substring of the summary.

    ``summary_text`` and ``decode(ids)`` must live in the same text space (the scorer passes the
    summary decoded from its own tokens, so tokenizer normalization cannot cause false misses); both are
    compared lower-cased. ``cap="reference"`` finishes the round that reaches the cap, as the reference
    code does, so it may keep more than ``max_pairs``.
    """
    if cap not in CAP_MODES:
        raise ValueError(f"cap={cap!r}: use one of {CAP_MODES}.")
    if max_pairs < 1:
        raise ValueError(f"max_pairs={max_pairs} must be >= 1.")
    summary_lower = summary_text.lower()
    survivors = []
    for index, cand in enumerate(candidates):
        parts = split_qa(cand.tokens, separator_id, eos_id)
        if parts is None:
            continue
        question_ids, answer_ids = parts
        question, answer = decode(question_ids).strip(), decode(answer_ids).strip()
        if not question or not answer or answer.lower() not in summary_lower:
            continue
        survivors.append((sum(cand.token_scores), KeptPair(index, question, answer, list(cand.tokens), question_ids, answer_ids)))
    survivors.sort(key=lambda item: -item[0])  # stable: equal scores keep generation order

    by_answer: OrderedDict[str, list[KeptPair]] = OrderedDict()
    for _, pair in survivors:
        by_answer.setdefault(pair.answer.lower(), []).append(pair)

    kept: list[KeptPair] = []
    questions_seen: dict[str, set[str]] = {}
    added = True
    while added and len(kept) < max_pairs:
        added = False
        for answer, queue in by_answer.items():
            if not queue:
                continue
            pair = queue.pop(0)
            seen = questions_seen.setdefault(answer, set())
            if pair.question.lower() in seen:
                continue
            seen.add(pair.question.lower())
            kept.append(pair)
            added = True
            if cap == "strict" and len(kept) == max_pairs:
                return kept
    return kept
