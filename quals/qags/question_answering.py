"""Extractive question answering for QAGS: the best span of a text for each question.

Any ``AutoModelForQuestionAnswering`` checkpoint with a fast tokenizer works (the bundled MiniLM, or a
SQuAD model from the Hub). Texts longer than the model's window are read in overlapping windows and the
best span over all windows wins, so long source documents are never truncated. Questions are not allowed
to be unanswerable: SQuAD v1.1 models always return a span.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..inputs import split_specials
from ..oom import with_oom_backoff
from ..qagen import BUNDLED, resolve_device, resolve_dtype, resolve_model_path, weights_hash


@dataclass
class _Window:
    """One (question, context window) model input and where its context tokens lie."""

    sample: int
    input_ids: list[int]
    token_type_ids: list[int] | None
    first: int  # first and last context token
    last: int
    offsets: list[tuple[int, int]]


class QuestionAnswerer:
    """Answers questions against texts with an extractive QA model; loads once."""

    def __init__(self, model: str = "bundled-qa", device: str | None = None, dtype: str | torch.dtype | None = None,
                 max_length: int = 384, stride: int = 128, max_answer_tokens: int = 30, max_question_tokens: int | None = None,
                 batch_size: int = 32):
        from transformers import AutoModelForQuestionAnswering, AutoTokenizer

        if max_question_tokens is None:
            max_question_tokens = min(64, max_length // 3)
        if not 0 <= stride < max_length - max_question_tokens - 3:
            raise ValueError(
                f"qa_stride={stride} must be >= 0 and leave room in qa_max_length={max_length} for a question of "
                f"{max_question_tokens} tokens; lower the stride or raise the length."
            )
        if batch_size < 1 or max_answer_tokens < 1:
            raise ValueError("qa_batch_size and max_answer_tokens must be >= 1.")
        path = resolve_model_path(model, "qa_model")
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        if not self.tokenizer.is_fast:
            raise ValueError(f"qa_model={model!r} has no fast tokenizer; QAGS needs character offsets to return answers.")
        target = resolve_device(device)
        self.model = AutoModelForQuestionAnswering.from_pretrained(
            path, use_safetensors=True, dtype=resolve_dtype(dtype, target)
        ).to(target).eval()
        self.device, self.dtype = target, next(self.model.parameters()).dtype
        self.name = f"bundled:{BUNDLED[model]}" if model in BUNDLED else model
        self.max_length, self.stride = max_length, stride
        self.max_answer_tokens, self.max_question_tokens = max_answer_tokens, max_question_tokens
        self.batch_size = batch_size
        self.truncations = 0
        self._hash: str | None = None

    @property
    def weights_sha256(self) -> str:
        if self._hash is None:
            self._hash = weights_hash(self.model)
        return self._hash

    @property
    def model_id(self) -> str:
        """``name#`` and the first 12 hex digits of the weights' SHA-256, as signatures name a model."""
        return f"{self.name}#{self.weights_sha256[:12]}"

    def _clip_questions(self, questions: list[str]) -> list[str]:
        """Questions cut to ``max_question_tokens`` (counted in ``truncations``)."""
        enc = self.tokenizer(
            list(questions), add_special_tokens=False, return_offsets_mapping=True, **split_specials(self.tokenizer)
        )
        out = []
        for question, offsets in zip(questions, enc["offset_mapping"]):
            if len(offsets) > self.max_question_tokens:
                self.truncations += 1
                question = question[: offsets[self.max_question_tokens - 1][1]]
            out.append(question)
        return out

    @torch.inference_mode()
    def answer(self, questions: list[str], contexts: list[str]) -> list[str]:
        """The best answer span of ``contexts[i]`` for ``questions[i]``, in input order."""
        if not questions:
            return []
        enc = self.tokenizer(
            self._clip_questions(questions), list(contexts), truncation="only_second", max_length=self.max_length,
            stride=self.stride, return_overflowing_tokens=True, return_offsets_mapping=True,
            **split_specials(self.tokenizer),  # a literal "[SEP]" in a text is text
        )
        types = enc.get("token_type_ids")
        windows = []
        for f, sample in enumerate(enc["overflow_to_sample_mapping"]):
            in_context = [i for i, s in enumerate(enc.sequence_ids(f)) if s == 1]
            if in_context:
                windows.append(_Window(sample, enc["input_ids"][f], types[f] if types else None, in_context[0],
                                       in_context[-1], enc["offset_mapping"][f]))
        windows.sort(key=lambda w: len(w.input_ids))  # similar lengths together: less padding
        best: dict[int, tuple[float, int, int]] = {}
        for start in range(0, len(windows), self.batch_size):
            batch = windows[start : start + self.batch_size]
            spans = with_oom_backoff(lambda chunk: self._best_spans(batch[chunk]), len(batch), self.device)
            for window, span in zip(batch, spans):
                if window.sample not in best or span[0] > best[window.sample][0]:
                    best[window.sample] = span
        return [contexts[i][best[i][1] : best[i][2]].strip() if i in best else "" for i in range(len(questions))]

    def _best_spans(self, windows: list[_Window]) -> list[tuple[float, int, int]]:
        """(score, first char, end char) of the best span inside the context part of each window."""
        width = max(len(w.input_ids) for w in windows)
        input_ids = torch.full((len(windows), width), self.tokenizer.pad_token_id, dtype=torch.long)
        token_types = torch.zeros_like(input_ids)
        mask = torch.zeros_like(input_ids)
        for row, w in enumerate(windows):
            input_ids[row, : len(w.input_ids)] = torch.tensor(w.input_ids)
            mask[row, : len(w.input_ids)] = 1
            if w.token_type_ids is not None:
                token_types[row, : len(w.input_ids)] = torch.tensor(w.token_type_ids)
        kwargs: dict[str, Any] = {"input_ids": input_ids.to(self.device), "attention_mask": mask.to(self.device)}
        if windows[0].token_type_ids is not None:
            kwargs["token_type_ids"] = token_types.to(self.device)
        out = self.model(**kwargs)
        starts, ends = out.start_logits.float().cpu(), out.end_logits.float().cpu()
        spans = []
        for row, w in enumerate(windows):
            s, e = starts[row, w.first : w.last + 1], ends[row, w.first : w.last + 1]
            n = s.shape[0]
            ones = torch.ones(n, n, dtype=torch.bool)
            allowed = ones.triu() & ~ones.triu(self.max_answer_tokens)  # end >= start, at most N tokens
            scores = (s[:, None] + e[None, :]).masked_fill(~allowed, float("-inf"))
            flat = int(scores.argmax())
            i, j = divmod(flat, n)
            spans.append((float(scores.view(-1)[flat]), w.offsets[w.first + i][0], w.offsets[w.first + j][1]))
        return spans
