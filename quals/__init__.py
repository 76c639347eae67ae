"""QUALS: factual consistency of summaries from one question-and-answer generation model (Nan et al., 2021).

The names below import on first use (PEP 562), so that ``import quals`` (and ``quals --help``) does not load
torch until a scorer or model is asked for.
"""

from __future__ import annotations

import os

from .lazy_exports import lazy_exports

__version__ = "0.3.1"

_EXPORTS = {
    "Calibration": "calibration", "InputError": "inputs",
    "PRESETS": "qa_format", "QAFormat": "qa_format", "QAFormatError": "qa_format",
    "QAGen": "qagen",
    "QAPairResult": "scorer", "QualsResult": "scorer", "QualsScorer": "scorer", "corpus_summary": "scorer", "score": "scorer",
    "QagsResult": "qags.scorer", "QagsScorer": "qags.scorer", "score_qags": "qags.scorer",
    "QualsSettings": "quals_settings", "QagsSettings": "qags.settings",
    "MetricSpec": "registry", "get_metric": "registry", "register": "registry",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


def metric_path() -> str:
    """Path of the ``evaluate`` metric script, for ``evaluate.load(quals.metric_path())``."""
    import importlib.util

    spec = importlib.util.find_spec("quals_metric")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("quals_metric.py is not installed; pip install the quals package.")
    return os.path.abspath(spec.origin)


__all__ = [*_EXPORTS, "metric_path"]
