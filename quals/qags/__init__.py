"""QAGS (Wang et al., ACL 2020), the three-model baseline that QUALS replaces: extract answers, generate
questions, answer them on the summary and on the source, compare the answers. Names import on first use, so
that ``quals.qags.settings`` needs no torch."""

from __future__ import annotations

from ..lazy_exports import lazy_exports
from .answer_f1 import answer_f1, normalize_answer  # torch-free; a name that is also its module's is imported here

_EXPORTS = {
    "RuleCandidates": "candidates", "SpacyCandidates": "candidates", "make_extractor": "candidates",
    "QuestionAnswerer": "question_answering", "QuestionGenerator": "question_generation",
    "QagsQuestion": "scorer", "QagsResult": "scorer", "QagsScorer": "scorer", "score_qags": "scorer",
    "QagsSettings": "settings",
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = ["answer_f1", "normalize_answer", *_EXPORTS]
