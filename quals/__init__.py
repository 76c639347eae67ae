"""QUALS: factual consistency of summaries from one question-and-answer generation model (Nan et al., 2021)."""

from __future__ import annotations

import os

__version__ = "0.2.0"

from .inputs import InputError  # noqa: E402
from .qa_format import PRESETS, QAFormat, QAFormatError  # noqa: E402
from .qagen import QAGen  # noqa: E402
from .scorer import QAPairResult, QualsResult, QualsScorer, corpus_summary, score  # noqa: E402
from .qags import QagsResult, QagsScorer, score_qags  # noqa: E402


def metric_path() -> str:
    """Path of the ``evaluate`` metric script, for ``evaluate.load(quals.metric_path())``."""
    import importlib.util

    spec = importlib.util.find_spec("quals_metric")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("quals_metric.py is not installed; pip install the quals package.")
    return os.path.abspath(spec.origin)


__all__ = [
    "InputError",
    "PRESETS",
    "QAFormat",
    "QAFormatError",
    "QAGen",
    "QAPairResult",
    "QagsResult",
    "QagsScorer",
    "QualsResult",
    "QualsScorer",
    "corpus_summary",
    "metric_path",
    "score",
    "score_qags",
]
