"""Unsupported question-answer pairs for QAGen training: what QUALS must learn to find unlikely.

QAGen trained on SQuAD only ever sees contexts that support their pair; QUALS reads how much less likely a
pair is given the source than given the summary. Negatives teach that contrast, by three kinds:

- ``swap_answer``: the same window and question, the answer replaced by another span of the same kind
  (number, name, other) from the same context, which the window may well mention (the hard case: a
  summary that puts one of the document's entities in the wrong place);
- ``foreign_answer``: the answer replaced by a same-kind answer from another context;
- ``swap_context``: the same pair, on the window with the answer span replaced by a same-kind answer
  from another context (a source that no longer supports the pair).

A negative's target is the usual ``question [sep] answer [eos]``, with every label but the answer's tokens
masked, so the CONSEQ unlikelihood term (``ConSeqTrainer``) pushes down only the unsupported answer.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

NEGATIVE_KINDS = ("swap_answer", "foreign_answer", "swap_context")
_NAME = re.compile(r"[A-Z][\w'&.-]*(?:\s+(?:of\s+|the\s+|de\s+)?[A-Z][\w'&.-]*)*")
_NUMBER = re.compile(r"\d[\d,.]*(?:\s+(?:million|billion|thousand|percent|%))?")


@dataclass
class NegativeConfig:
    """Recipe settings: which kinds, the share of examples that get a negative, and its loss weight."""

    kinds: list[str] = field(default_factory=lambda: list(NEGATIVE_KINDS))
    ratio: float = 0.5
    weight: float = 1.0

    def __post_init__(self):
        unknown = sorted(set(self.kinds) - set(NEGATIVE_KINDS))
        if unknown or not self.kinds:
            raise ValueError(f"negatives.kinds={self.kinds!r}: give one or more of {list(NEGATIVE_KINDS)}.")
        if not 0.0 < self.ratio <= 1.0:
            raise ValueError(f"negatives.ratio={self.ratio}: give a share of examples in (0, 1].")
        if not self.weight > 0:
            raise ValueError(f"negatives.weight={self.weight}: give a positive unlikelihood weight.")


def answer_kind(text: str) -> str:
    """``number`` (has a digit), ``name`` (every word capitalised) or ``other``: swaps keep the kind."""
    if any(ch.isdigit() for ch in text):
        return "number"
    words = [w for w in text.split() if w.lower() not in {"of", "the", "de", "and"}]
    return "name" if words and all(w[0].isupper() for w in words) else "other"


def normalise(text: str) -> str:
    """Lower-cased words only, to tell whether one answer contains another."""
    return " ".join(re.findall(r"\w+", text.lower()))


def overlaps(a: str, b: str) -> bool:
    """True when either answer contains the other (such a swap would still be supported)."""
    na, nb = normalise(a), normalise(b)
    return not na or not nb or na in nb or nb in na


def context_spans(context: str, answers: set[str]) -> dict[str, list[str]]:
    """Same-kind replacement candidates found in one context: its SQuAD answers, names and numbers."""
    found = set(answers)
    found.update(m.group(0).rstrip(".,") for m in _NUMBER.finditer(context))
    for m in _NAME.finditer(context):
        start = m.start()
        sentence_start = start == 0 or context[:start].rstrip()[-1:] in {".", "!", "?", '"'}
        if " " in m.group(0) or not sentence_start:  # one capitalised word opening a sentence is no name
            found.add(m.group(0).rstrip(".,"))
    by_kind: dict[str, list[str]] = defaultdict(list)
    for span in sorted(found):
        if span.strip():
            by_kind[answer_kind(span)].append(span)
    return by_kind


class NegativeBuilder:
    """Draws negatives for the examples of a set of SQuAD-format rows (seeded, deterministic)."""

    def __init__(self, rows: list[dict[str, Any]], config: NegativeConfig, seed: int = 0):
        self.config = config
        self.rng = random.Random(seed)
        answers: dict[str, set[str]] = defaultdict(set)
        for row in rows:
            answers[row["context"]].update(t.strip() for t in row["answers"]["text"] if t.strip())
        self._answers = answers
        self._spans: dict[str, dict[str, list[str]]] = {}
        self._pool: dict[str, list[tuple[str, str]]] = defaultdict(list)  # kind -> (answer, its context)
        for context, texts in answers.items():
            for text in sorted(texts):
                self._pool[answer_kind(text)].append((text, context))

    def wants_negative(self) -> bool:
        """Whether the next example gets a negative (``ratio`` of them do)."""
        return self.rng.random() < self.config.ratio

    def kinds(self) -> list[str]:
        """The configured kinds in a random order: the first one that applies is used."""
        return self.rng.sample(self.config.kinds, len(self.config.kinds))

    def same_context(self, context: str, answer: str) -> str | None:
        """Another span of ``answer``'s kind from the same context, or None."""
        if context not in self._spans:
            self._spans[context] = context_spans(context, self._answers.get(context, set()))
        options = [s for s in self._spans[context].get(answer_kind(answer), []) if not overlaps(s, answer)]
        return self.rng.choice(options) if options else None

    def foreign(self, context: str, answer: str) -> str | None:
        """A same-kind answer of another context (a few draws; None when none fits)."""
        pool = self._pool.get(answer_kind(answer), [])
        for _ in range(8 if pool else 0):
            text, other = self.rng.choice(pool)
            if other != context and not overlaps(text, answer) and normalise(text) not in normalise(context):
                return text
        return None


def answer_only_labels(labels: list[int], separator: int, ignore_index: int = -100) -> list[int]:
    """A target with everything but the answer (between the separator and the end token) masked."""
    cut = labels.index(separator) + 1
    return [ignore_index] * cut + labels[cut:-1] + [ignore_index]


def contains(tokens: list[int], part: list[int]) -> bool:
    """Whether ``part`` occurs as a contiguous run in ``tokens``."""
    n = len(part)
    return n > 0 and any(tokens[i : i + n] == part for i in range(len(tokens) - n + 1))
