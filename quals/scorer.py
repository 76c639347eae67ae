"""``QualsScorer``: load a QAGen once, then score (source, summary) pairs with QUALS.

Pipeline per summary, as in the paper: diverse beam search from the summary, filter the QA pairs, score
each kept pair's tokens given the source and given the summary (teacher-forced by default), and average
the per-token log-likelihood differences. Higher is more consistent; 0 means the source supports the
pairs as well as the summary does.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from .batching import BatchProgress, BatchSizer
from .calibration import Calibration
from .constraints import AnswerSpanConstraint
from .filtering import Candidate, filter_qa_pairs
from .generation import BeamConfig, diverse_beam_search
from .inputs import text_problem, validate_pairs
from .qagen import QAGen
from .quals_settings import AGGREGATIONS, QualsSettings
from .teacher_forcing import mean
from .timing import Stopwatch

logger = logging.getLogger(__name__)
WINDOWS_PER_ENCODE = 8  # source windows encoded at once: a batch of 8 sources that fit is one encode, as before
NO_PAIR = "no pair survived the filter"  # why a summary has no score (QualsResult.skipped)
NO_WORDS = "summary has no words the model knows"  # only punctuation, symbols or unknown tokens: nothing to ask about


@dataclass
class QAPairResult:
    """One kept QA pair and why it did or did not agree with the source."""

    question: str
    answer: str
    logprob_summary: float  # mean token log-prob given the summary
    logprob_source: float  # mean token log-prob given the source
    tokens: list[str]
    token_logprobs_summary: list[float]
    token_logprobs_source: list[float]

    @property
    def difference(self) -> float:
        return self.logprob_source - self.logprob_summary


@dataclass
class QualsResult:
    """QUALS of one summary: ``quals`` is None when no QA pair survived the filter, and ``skipped`` says why
    (``NO_PAIR`` or ``NO_WORDS``); it is None when the summary has a score."""

    quals: float | None
    num_qa_pairs: int
    signature: str
    qa_pairs: list[QAPairResult] | None = None
    skipped: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.qa_pairs is None:
            data.pop("qa_pairs")
        else:
            for pair, raw in zip(self.qa_pairs, data["qa_pairs"]):
                raw["difference"] = pair.difference
        return data


@dataclass
class _Work:
    """Per-summary intermediate state inside one batch."""

    kept: list = field(default_factory=list)
    summary_logprobs: list[list[float]] = field(default_factory=list)
    skipped: str | None = None  # set when the summary was not even filtered


class QualsScorer:
    """Score summaries against their sources with QUALS; the model loads once per scorer.

    Every argument has the paper's default; each is a field of ``QualsSettings`` (checked by type and value
    before the model loads, and ``self.settings`` after) and a ``quals score`` flag of the same name:
    """

    progress_callbacks = True  # score(progress=...) also takes a function told how many summaries are done

    def __init__(
        self,
        model: str | QAGen = "bundled",
        device: str | None = None,
        dtype: str | torch.dtype | None = None,
        num_beams: int = 60,
        num_beam_groups: int = 60,
        diversity_penalty: float = 0.5,
        min_new_tokens: int = 8,
        max_new_tokens: int = 60,
        length_penalty: float = 1.0,
        max_qa_pairs: int = 10,
        cap: str = "strict",
        ns_mode: str = "rescore",
        answer_constraint: str = "none",
        batch_size: int | str = "auto",
        max_source_length: int | None = None,
        long_source: str = "windows",
        aggregation: str = "pairs",
    ):
        self.settings = QualsSettings(**{k: v for k, v in locals().items() if k != "self"})  # checked, before the model loads
        self.beam = BeamConfig(num_beams, num_beam_groups, diversity_penalty, min_new_tokens, max_new_tokens, length_penalty)
        if isinstance(model, QAGen):
            if device is not None or dtype is not None:
                raise ValueError("device and dtype belong to QAGen.from_pretrained() when model is a loaded QAGen.")
            self.qagen = model
        else:
            self.qagen = QAGen.from_pretrained(model, device=device, dtype=dtype)
        self.qagen.check_task("qagen", "model", "QUALS needs a QAGen that writes questions and answers from text alone "
                              "(qa_format.json task='qagen'), e.g. 'bundled'.")
        self.qagen.check_new_tokens(max_new_tokens)
        limit = self.qagen.max_source_length
        if max_source_length is not None and not 8 <= max_source_length <= limit:
            raise ValueError(f"max_source_length={max_source_length} must be between 8 and this model's limit of {limit}.")
        self.max_source_length = max_source_length or limit
        self.truncations = 0
        self.max_qa_pairs = max_qa_pairs
        self.cap = cap
        self.ns_mode = ns_mode
        self.answer_constraint = answer_constraint
        self.long_source = long_source
        self.aggregation = aggregation
        self.timings = Stopwatch()  # seconds per stage, accumulated over calls (benchmarks read it)
        self._signature = self.settings.signature(
            model=self.qagen.model_id, arch=self.qagen.format.architecture, max_source_length=self.max_source_length,
            dtype=str(self.qagen.dtype).replace("torch.", ""), device=self.qagen.device.type,
        )
        # "auto" keeps the size it found per model, precision, device and decoding settings: the signature's
        # fields, with the device's index
        self.batching = BatchSizer(batch_size, self.qagen.device, key=(self._signature, str(self.qagen.device)))

    @property
    def batch_size(self) -> int:
        """Summaries in the next batch: the fixed size, or where ``"auto"`` stands now."""
        return self.batching.size

    def signature(self) -> str:
        """A string naming the model (with a hash of its weights), library versions and every setting."""
        return self._signature

    @property
    def calibration(self) -> Calibration | None:
        """The QAGen's calibration (``quals.calibration``) when it was measured with this scorer's weights and
        settings, else None: quantiles taken with other settings do not describe these scores."""
        stored = self.qagen.calibration
        return stored if stored is not None and stored.applies_to(self._signature) else None

    def row_problem(self, name: str, index: int, value: Any) -> str | None:
        """Why row ``index`` of ``name`` cannot be scored (not text, blank, or nothing the QAGen's tokenizer
        reads), or None; ``score`` and ``quals score`` check every row with it."""
        return text_problem(name, index, value, [self.qagen.tokenizer])

    @torch.inference_mode()
    def score(
        self,
        sources: Sequence[str],
        summaries: Sequence[str],
        return_qa_pairs: bool = False,
        progress: bool | Callable[[int], Any] = False,
    ) -> list[QualsResult]:
        """QUALS for each (source, summary) pair, in input order. ``progress``: True for a bar, or a function
        told the number of summaries that finished decoding (summaries of one batch finish at different steps;
        their scoring stage follows)."""
        validate_pairs(sources, summaries, problem=self.row_problem)
        self.truncations = 0
        bar = progress_bar(len(summaries), progress)
        counted = BatchProgress(bar.update)
        results = self.batching.run(
            lambda batch: self._score_chunk(
                [sources[i] for i in batch], [summaries[i] for i in batch], return_qa_pairs, counted.item
            ),
            [len(s) for s in summaries], progress=counted,
        )
        bar.close()
        if self.truncations:
            logger.warning(
                "%d input(s) longer than the limit of %d tokens were truncated in this call.",
                self.truncations,
                self.max_source_length,
            )
        return results

    def _score_chunk(self, sources: list[str], summaries: list[str], return_qa_pairs: bool,
                     on_decoded: Callable[[int], Any] | None = None) -> list[QualsResult]:
        qagen, ids = self.qagen, self.qagen.ids
        with self.timings.stage("generation"):
            summary_ids, summary_mask, truncated = qagen.encode_texts(summaries, self.max_source_length)
            self.truncations += sum(truncated)
            summary_context = qagen.network.encode(summary_ids, summary_mask)
            summary_tokens = [qagen.source_token_ids(summary_ids[i], summary_mask[i]) for i in range(len(summaries))]
            constraint = None
            if self.answer_constraint == "span":
                constraint = AnswerSpanConstraint(summary_tokens, self.beam.num_beams, ids.separator, ids.eos, qagen.device)
            hypotheses = diverse_beam_search(
                qagen.network, summary_ids, summary_mask, self.beam, ids.decoder_start, ids.eos, summary_context, constraint,
                on_finished=on_decoded,
            )
        with self.timings.stage("scoring"):
            return self._score_hypotheses(sources, summary_context, summary_tokens, hypotheses, return_qa_pairs)

    def _score_hypotheses(
        self, sources: list[str], summary_context: Any, summary_tokens: list[list[int]],
        hypotheses: list[list[Any]], return_qa_pairs: bool,
    ) -> list[QualsResult]:
        """Filter each summary's hypotheses, then teacher-force the kept pairs on summary and source."""
        qagen, ids = self.qagen, self.qagen.ids
        work = []
        for i, hyps in enumerate(hypotheses):
            item = _Work(skipped=None if self._has_words(summary_tokens[i]) else NO_WORDS)
            if item.skipped is None:
                item.kept = filter_qa_pairs(
                    [Candidate(h.tokens, h.token_scores) for h in hyps],
                    qagen.decode(summary_tokens[i]),
                    qagen.decode,
                    ids.separator,
                    ids.eos,
                    self.max_qa_pairs,
                    self.cap,
                )
            if self.ns_mode == "rescore":
                one = summary_context.select(torch.tensor([i], device=qagen.device))
                item.summary_logprobs = qagen.token_logprobs(one, [p.tokens for p in item.kept])
            else:
                item.summary_logprobs = [hyps[p.index].token_scores for p in item.kept]
            work.append(item)
        source_logprobs = self._score_on_sources(sources, [w.kept for w in work])
        return [
            self._result(item, src_lp, return_qa_pairs) for item, src_lp in zip(work, source_logprobs)
        ]

    def _has_words(self, token_ids: list[int]) -> bool:
        """Whether a summary's tokens hold a word: a token with a letter or digit that is no special or unknown
        token. Without one, any pair would ask about punctuation or an [UNK] answer."""
        special = set(self.qagen.tokenizer.all_special_ids)
        # decoded, not raw token strings: byte-level BPE writes a space as "Ġ", which counts as a letter
        return any(i not in special and any(ch.isalnum() for ch in self.qagen.decode([i])) for i in token_ids)

    def _score_on_sources(self, sources: list[str], kept: list[list]) -> list[list[list[float]]]:
        """Teacher-force each summary's kept pairs on its source; identical sources are encoded once. A
        source read in several windows gives each pair the token log-probabilities of its best window."""
        unique = list(dict.fromkeys(s for s, pairs in zip(sources, kept) if pairs))
        out: list[list[list[float]]] = [[] for _ in sources]
        if not unique:
            return out
        if self.long_source == "windows":
            source_ids, source_mask, owners = self.qagen.encode_windows(unique, self.max_source_length)
        else:
            source_ids, source_mask, truncated = self.qagen.encode_texts(unique, self.max_source_length)
            owners = list(range(len(unique)))
            cut = {text for text, was_cut in zip(unique, truncated) if was_cut}
            self.truncations += sum(1 for s, pairs in zip(sources, kept) if pairs and s in cut)
        members = [[i for i, s in enumerate(sources) if s == text and kept[i]] for text in unique]
        sequences = [[p.tokens for i in group for p in kept[i]] for group in members]
        best: list[list[list[float]] | None] = [None] * len(unique)  # per source: each pair's best window so far
        for start in range(0, len(owners), WINDOWS_PER_ENCODE):  # bounded memory for very long sources
            context = self.qagen.network.encode(
                source_ids[start : start + WINDOWS_PER_ENCODE], source_mask[start : start + WINDOWS_PER_ENCODE]
            )
            for w, u in enumerate(owners[start : start + WINDOWS_PER_ENCODE]):
                scores = self.qagen.token_logprobs(context.select(torch.tensor([w], device=source_ids.device)), sequences[u])
                best[u] = scores if best[u] is None else [max(a, b, key=mean) for a, b in zip(best[u], scores)]
        for group, scores in zip(members, best):
            for i in group:
                out[i], scores = scores[: len(kept[i])], scores[len(kept[i]) :]
        return out

    def _result(self, item: _Work, source_logprobs: list[list[float]], return_qa_pairs: bool) -> QualsResult:
        if not item.kept:
            return QualsResult(None, 0, self._signature, [] if return_qa_pairs else None, item.skipped or NO_PAIR)
        quals = combine_pairs(source_logprobs, item.summary_logprobs, self.aggregation)
        if not math.isfinite(quals):
            raise RuntimeError("QUALS is not finite: the model produced -inf log-probabilities; check its dtype.")
        pairs = None
        if return_qa_pairs:
            pairs = [
                QAPairResult(
                    question=p.question,
                    answer=p.answer,
                    logprob_summary=mean(summ),
                    logprob_source=mean(src),
                    tokens=self.qagen.token_strings(p.tokens),
                    token_logprobs_summary=summ,
                    token_logprobs_source=src,
                )
                for p, src, summ in zip(item.kept, source_logprobs, item.summary_logprobs)
            ]
        return QualsResult(quals, len(item.kept), self._signature, pairs)


def token_differences(source_logprobs: list[list[float]], summary_logprobs: list[list[float]]) -> list[float]:
    """Every token of every kept pair: its log-probability given the source minus given the summary."""
    return [s - m for src, summ in zip(source_logprobs, summary_logprobs) for s, m in zip(src, summ)]


def combine_pairs(source_logprobs: list[list[float]], summary_logprobs: list[list[float]], aggregation: str) -> float:
    """QUALS of one summary from its kept pairs' token log-probabilities given the source and given the summary:
    the mean of the pairs' mean differences ("pairs", the paper), or the mean over all their tokens ("tokens")."""
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"aggregation={aggregation!r}: use one of {AGGREGATIONS}.")
    if aggregation == "pairs":
        return mean([mean(src) - mean(summ) for src, summ in zip(source_logprobs, summary_logprobs)])
    return mean(token_differences(source_logprobs, summary_logprobs))


QualsScorer.__doc__ += QualsSettings.card_lines(indent="        ") + "\n"


class _Forward:
    """Progress counts handed to a caller's function (the corpus runner's bar) instead of a bar of our own."""

    def __init__(self, report: Callable[[int], Any]):
        self.update = report

    def close(self) -> None:
        pass


def progress_bar(total: int, progress: bool | Callable[[int], Any]):
    """A bar over ``total`` summaries when ``progress`` is True (none when False); a function receives the counts."""
    if callable(progress):
        return _Forward(progress)
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="summary", disable=not progress)


def score(
    sources: Sequence[str],
    summaries: Sequence[str],
    model: str = "bundled",
    return_qa_pairs: bool = False,
    **settings: Any,
) -> list[QualsResult]:
    """One-call QUALS: build a ``QualsScorer`` with ``settings`` and score the pairs."""
    return QualsScorer(model=model, **settings).score(sources, summaries, return_qa_pairs=return_qa_pairs)


def corpus_summary(results: Sequence[Any], metric: str = "quals") -> dict[str, Any]:
    """Mean score over scored summaries, with how many had none (skipped, never averaged as -1e5).

    ``metric`` is the result attribute: ``"quals"`` for ``QualsResult``, ``"qags"`` for ``QagsResult``.
    """
    scored = [getattr(r, metric) for r in results if getattr(r, metric) is not None]
    return {
        f"mean_{metric}": mean(scored) if scored else None,
        "coverage": len(scored) / len(results) if results else 0.0,
        "num_scored": len(scored),
        "num_skipped": len(results) - len(scored),
    }
