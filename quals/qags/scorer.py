"""``QagsScorer``: the QAGS baseline (Wang et al., ACL 2020) with the same interface as ``QualsScorer``.

Per summary: extract answer candidates (entities and noun chunks), generate one question per candidate,
answer each question against the summary and keep it only if that answer matches the candidate, answer
the kept questions against the source, and average the token F1 between the two answers. Three models
where QUALS needs one; ``benchmarks/speed.py --compare qags`` measures what that costs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch

from ..inputs import text_problem, validate_pairs
from ..qagen import QAGen
from ..scorer import progress_bar
from ..scoring import mean
from ..settings_check import CheckedSettings, integer, model_argument, number
from ..signature import format_signature
from ..timing import Stopwatch
from .answer_f1 import answer_f1, normalize_answer
from .candidates import CandidateExtractor, make_extractor
from .question_answering import QuestionAnswerer
from .question_generation import QuestionGenerator

logger = logging.getLogger(__name__)
NO_CANDIDATE = "no answer candidate in the summary"  # why a summary has no score (QagsResult.skipped)
NO_QUESTION = "no question survived the filter"


@dataclass
class QagsQuestion:
    """One kept question: the candidate it was asked about and the answers found in summary and source."""

    question: str
    candidate: str
    summary_answer: str
    source_answer: str
    f1: float


@dataclass
class QagsResult:
    """QAGS of one summary in [0, 1]; ``qags`` is None when no question survived the filter, and ``skipped``
    says why (``NO_CANDIDATE`` or ``NO_QUESTION``); it is None when the summary has a score."""

    qags: float | None
    num_questions: int
    signature: str
    questions: list[QagsQuestion] | None = None
    skipped: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.questions is None:
            data.pop("questions")
        return data


def extractor_rule(name: str, value: Any) -> None:
    """``extractor``: a name ("rules", a spaCy pipeline or folder) or an object with a name and a __call__."""
    if not (isinstance(value, str) and value.strip()) and not (callable(value) and hasattr(value, "name")):
        raise TypeError(f"{name}={value!r}: use 'rules', a spaCy pipeline name or folder, or an object with a name "
                        "and a __call__(texts) -> list[list[str]].")


class QagsScorer(CheckedSettings):
    """Score summaries against their sources with QAGS; the three models load once per scorer.

    Each argument is also a ``quals score --metric qags`` flag, whose help is read from the lines below.

    Args:
        qg_model: answer-conditioned question generator: a folder, Hub id or "bundled-qg".
        qa_model: extractive question answerer with a fast tokenizer: a folder, Hub id or "bundled-qa".
        extractor: answer candidates: "rules" (no dependency), a spaCy pipeline name or folder
            ("en_core_web_sm", as QAGS), or any object with a name and a __call__(texts) -> list[list[str]].
        device: "cpu", "cuda" or "cuda:N"; by default CUDA when available, else the CPU.
        dtype: "float32", "bfloat16" or "float16"; by default float32 on CPU, bfloat16 (or float16) on CUDA.
        num_beams: beams of the question generator's beam search.
        max_new_tokens: most tokens per generated question.
        max_questions: most questions kept per summary, in the order of their candidates.
        match_f1: how closely the answer on the summary must match the candidate to keep a question (1.0:
            the same normalized words).
        qa_max_length: tokens per question-answering window (question and context).
        qa_stride: tokens shared by consecutive windows of a long source.
        max_answer_tokens: longest answer span considered.
        batch_size: summaries per step (the models' own batches are fixed: 16 questions, 32 answer windows).
    """

    metric_name, count_name = "qags", "num_questions"  # result keys, as QualsScorer's
    SETTING_RULES = {
        "qg_model": model_argument("a question generator's folder, a Hub id, 'bundled-qg' or a loaded quals.QAGen",
                                   (QAGen,)),
        "qa_model": model_argument("a question-answering folder, a Hub id or 'bundled-qa'"),
        "extractor": extractor_rule, "num_beams": integer(1), "max_new_tokens": integer(1),
        "max_questions": integer(1), "match_f1": number(0.0, 1.0, low_open=True), "qa_max_length": integer(1),
        "qa_stride": integer(0), "max_answer_tokens": integer(1), "batch_size": integer(1),
    }

    def __init__(
        self,
        qg_model: str = "bundled-qg",
        qa_model: str = "bundled-qa",
        extractor: str | CandidateExtractor = "en_core_web_sm",
        device: str | None = None,
        dtype: str | None = None,
        num_beams: int = 10,
        max_new_tokens: int = 40,
        max_questions: int = 20,
        match_f1: float = 1.0,
        qa_max_length: int = 384,
        qa_stride: int = 128,
        max_answer_tokens: int = 30,
        batch_size: int = 8,
    ):
        self.check_settings(locals())  # types and values, named, before any model loads
        self.extractor = make_extractor(extractor) if isinstance(extractor, str) else extractor
        self.generator = QuestionGenerator(qg_model, num_beams, max_new_tokens, device=device, dtype=dtype)
        self.answerer = QuestionAnswerer(qa_model, device, dtype, qa_max_length, qa_stride, max_answer_tokens)
        self.max_questions, self.match_f1, self.batch_size = max_questions, match_f1, batch_size
        self.timings = Stopwatch()
        fields = [*self.generator.describe().items(), *self.answerer.describe().items()]
        fields += [("extractor", self.extractor.name), ("questions", max_questions), ("match", match_f1),
                   ("dtype", str(self.answerer.dtype).replace("torch.", "")), ("device", self.answerer.device.type)]
        self._signature = format_signature("QAGS", fields)

    def signature(self) -> str:
        """A string naming both models (with hashes of their weights), the extractor and every setting."""
        return self._signature

    def row_problem(self, name: str, index: int, value: Any) -> str | None:
        """Why row ``index`` of ``name`` cannot be scored (not text, blank, or nothing the models' tokenizers
        read), or None; ``score`` and ``quals score`` check every row with it."""
        return text_problem(name, index, value, [self.generator.qagen.tokenizer, self.answerer.tokenizer])

    @torch.inference_mode()
    def score(self, sources: Sequence[str], summaries: Sequence[str], return_questions: bool = False,
              progress: bool = False) -> list[QagsResult]:
        """QAGS for each (source, summary) pair, in input order."""
        validate_pairs(sources, summaries, problem=self.row_problem)
        self.generator.truncations = self.answerer.truncations = 0
        results: list[QagsResult] = []
        bar = progress_bar(len(summaries), progress)
        for start in range(0, len(summaries), self.batch_size):
            end = start + self.batch_size
            results += self._score_batch(list(sources[start:end]), list(summaries[start:end]), return_questions)
            bar.update(min(end, len(summaries)) - start)
        bar.close()
        if self.generator.truncations or self.answerer.truncations:
            logger.warning("%d summaries and %d questions were truncated to fit the models in this call.",
                           self.generator.truncations, self.answerer.truncations)
        return results

    def _score_batch(self, sources: list[str], summaries: list[str], return_questions: bool) -> list[QagsResult]:
        with self.timings.stage("extraction"):
            candidates = self.extractor(summaries)
        owner = [i for i, spans in enumerate(candidates) for _ in spans]
        flat = [span for spans in candidates for span in spans]
        with self.timings.stage("question generation"):
            questions = self.generator.generate([summaries[i] for i in owner], flat)
        with self.timings.stage("QA on summaries"):
            summary_answers = self.answerer.answer(questions, [summaries[i] for i in owner])
        kept: list[list[int]] = [[] for _ in summaries]
        seen: list[set[str]] = [set() for _ in summaries]
        for k, (i, question) in enumerate(zip(owner, questions)):
            key = normalize_answer(question)
            if (len(kept[i]) < self.max_questions and key and key not in seen[i]
                    and answer_f1(summary_answers[k], flat[k]) >= self.match_f1):
                seen[i].add(key)
                kept[i].append(k)
        asked = [k for ks in kept for k in ks]
        with self.timings.stage("QA on sources"):
            source_answers = dict(zip(asked, self.answerer.answer([questions[k] for k in asked],
                                                                   [sources[owner[k]] for k in asked])))
        results = []
        for spans, ks in zip(candidates, kept):
            items = [QagsQuestion(questions[k], flat[k], summary_answers[k], source_answers[k],
                                  answer_f1(source_answers[k], summary_answers[k])) for k in ks]
            value = mean([q.f1 for q in items]) if items else None
            skipped = None if items else NO_QUESTION if spans else NO_CANDIDATE
            results.append(QagsResult(value, len(items), self._signature, items if return_questions else None, skipped))
        return results


def score_qags(sources: Sequence[str], summaries: Sequence[str], return_questions: bool = False,
               **settings: Any) -> list[QagsResult]:
    """One-call QAGS: build a ``QagsScorer`` with ``settings`` and score the pairs."""
    return QagsScorer(**settings).score(sources, summaries, return_questions=return_questions)
