"""The meta-evaluation's pieces on known values: human score, lexical baseline, correlations."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
from data import qags_human_score  # noqa: E402
from meta_eval import bigram_overlap, correlations  # noqa: E402


def test_qags_human_score_is_majority_vote_fraction():
    votes = lambda *r: {"responses": [{"response": x} for x in r]}  # noqa: E731
    example = {"summary_sentences": [votes("yes", "yes", "no"), votes("no", "no", "yes"), votes("yes", "yes", "yes")]}
    assert qags_human_score(example) == pytest.approx(2 / 3)


def test_bigram_overlap():
    assert bigram_overlap("Alice was born in Paris.", "alice was born in Rome") == pytest.approx(3 / 4)
    assert bigram_overlap("anything", "one") == 0.0


def test_correlations_match_known_values():
    x, y = [1, 2, 3, 4, 5], [1, 3, 2, 5, 4]
    out = correlations(x, y, n_boot=200)
    assert out["pearson"]["r"] == pytest.approx(np.corrcoef(x, y)[0, 1], abs=1e-4)
    assert out["spearman"]["r"] == pytest.approx(0.8, abs=1e-4)  # 1 - 6*4/(5*24)
    assert out["kendall"]["r"] == pytest.approx(0.6, abs=1e-4)  # (8 concordant - 2 discordant) / 10
    for name in ("pearson", "spearman", "kendall"):
        low, high = out[name]["ci95"]
        assert -1.0 <= low <= out[name]["r"] <= high <= 1.0
