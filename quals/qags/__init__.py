"""QAGS (Wang et al., ACL 2020), the three-model baseline that QUALS replaces: extract answers, generate
questions, answer them on the summary and on the source, compare the answers."""

from .answer_f1 import answer_f1, normalize_answer
from .candidates import RuleCandidates, SpacyCandidates, make_extractor
from .question_answering import QuestionAnswerer
from .question_generation import QuestionGenerator
from .scorer import QagsQuestion, QagsResult, QagsScorer, score_qags

__all__ = [
    "QagsQuestion", "QagsResult", "QagsScorer", "QuestionAnswerer", "QuestionGenerator", "RuleCandidates",
    "SpacyCandidates", "answer_f1", "make_extractor", "normalize_answer", "score_qags",
]
