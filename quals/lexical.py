"""Lexical overlap with the source: a strong, model-free baseline for factual consistency.

On mostly extractive summaries (QAGS-C) the share of summary bigrams found in the source correlates with
human judgments about as well as any model (BENCHMARKS.md), so reports show it beside QUALS and QAGS.
"""

from __future__ import annotations

import re


def words(text: str) -> list[str]:
    """Lower-cased word tokens (runs of letters, digits and underscores)."""
    return re.findall(r"\w+", text.lower())


def bigram_overlap(source: str, summary: str) -> float:
    """Share of the summary's word bigrams that also occur in the source (0 for a summary of one word)."""
    summ_words = words(summary)
    summ = list(zip(summ_words, summ_words[1:]))
    if not summ:
        return 0.0
    src_words = words(source)
    src = set(zip(src_words, src_words[1:]))
    return sum(b in src for b in summ) / len(summ)
