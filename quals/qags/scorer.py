"""``QagsScorer``: the QAGS baseline (Wang et al., ACL 2020) with the same interface as ``QualsScorer``.

Per summary: extract answer candidates (entities and noun chunks), generate one question per candidate,
answer each question against the summary and keep it only if that answer matches the candidate, answer
the kept questions against the source, and average the token F1 between the two answers. Three models
where QUALS needs one; ``benchmarks/speed.py --compare qags`` measures what that costs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch

from ..inputs import text_problem, validate_pairs
from ..scorer import progress_bar
from ..teacher_forcing import mean
from ..timing import Stopwatch
from .answer_f1 import answer_f1, normalize_answer
from .candidates import CandidateExtractor, make_extractor
from .question_answering import QuestionAnswerer
from .question_generation import QuestionGenerator
from .settings import QagsSettings

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


class QagsScorer:
    """Score summaries against their sources with QAGS; the three models load once per scorer.

    Each argument is a field of ``QagsSettings`` (checked by type and value before any model loads, and
    ``self.settings`` after) and a ``quals score --metric qags`` flag of the same name:
    """

    progress_callbacks = True  # score(progress=...) also takes a function told how many summaries are done

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
        self.settings = QagsSettings(**{k: v for k, v in locals().items() if k != "self"})  # checked, before any model loads
        self.extractor = make_extractor(extractor) if isinstance(extractor, str) else extractor
        self.generator = QuestionGenerator(qg_model, num_beams, max_new_tokens, device=device, dtype=dtype)
        self.answerer = QuestionAnswerer(qa_model, device, dtype, qa_max_length, qa_stride, max_answer_tokens)
        self.max_questions, self.match_f1, self.batch_size = max_questions, match_f1, batch_size
        self.timings = Stopwatch()
        self._signature = self.settings.signature(
            qg=self.generator.qagen.model_id, qa=self.answerer.model_id, extractor=self.extractor.name,
            dtype=str(self.answerer.dtype).replace("torch.", ""), device=self.answerer.device.type,
        )

    def signature(self) -> str:
        """A string naming both models (with hashes of their weights), the extractor and every setting."""
        return self._signature

    def row_problem(self, name: str, index: int, value: Any) -> str | None:
        """Why row ``index`` of ``name`` cannot be scored (not text, blank, or nothing the models' tokenizers
        read), or None; ``score`` and ``quals score`` check every row with it."""
        return text_problem(name, index, value, [self.generator.qagen.tokenizer, self.answerer.tokenizer])

    @torch.inference_mode()
    def score(self, sources: Sequence[str], summaries: Sequence[str], return_questions: bool = False,
              progress: bool | Callable[[int], Any] = False) -> list[QagsResult]:
        """QAGS for each (source, summary) pair, in input order; ``progress`` as for ``QualsScorer.score``
        (counted per batch here)."""
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


QagsScorer.__doc__ += QagsSettings.card_lines(indent="        ") + "\n"


def score_qags(sources: Sequence[str], summaries: Sequence[str], return_questions: bool = False,
               **settings: Any) -> list[QagsResult]:
    """One-call QAGS: build a ``QagsScorer`` with ``settings`` and score the pairs."""
    return QagsScorer(**settings).score(sources, summaries, return_questions=return_questions)
