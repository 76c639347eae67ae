"""Answer-conditioned question generation for QAGS: one question per (text, answer) by beam search.

The generator is a QAGen-style checkpoint whose ``qa_format.json`` says ``task="question-generation"``:
its source is ``answer [separator] text`` and its target the question alone, so the same networks,
loading code and beam search serve QUALS's QAGen and QAGS's question generator.
"""

from __future__ import annotations

import torch

from ..generation import BeamConfig, diverse_beam_search
from ..qagen import QAGen, resolve_model_path


class QuestionGenerator:
    """Writes the highest-scoring beam-search question for each (text, answer) pair."""

    def __init__(self, model: str | QAGen = "bundled-qg", num_beams: int = 10, max_new_tokens: int = 40,
                 batch_size: int = 16, device: str | None = None, dtype: str | torch.dtype | None = None):
        if not isinstance(model, QAGen):
            resolve_model_path(model, "qg_model")  # a missing folder named as the argument the user gave
        qagen = model if isinstance(model, QAGen) else QAGen.from_pretrained(model, device=device, dtype=dtype)
        qagen.check_task("question-generation", "qg_model", "QAGS needs an answer-conditioned question generator "
                         "(qa_format.json task='question-generation'), e.g. 'bundled-qg'.")
        if batch_size < 1:
            raise ValueError(f"qg_batch_size={batch_size} must be >= 1.")
        qagen.check_new_tokens(max_new_tokens)
        self.qagen = qagen
        self.beam = BeamConfig(num_beams, 1, 0.0, 1, max_new_tokens, 1.0)
        self.batch_size = batch_size
        self.truncations = 0

    def source_rows(self, texts: list[str], answers: list[str]) -> list[list[int]]:
        """``answer [sep] text`` token rows, the text truncated (and counted) to fit the source length."""
        room = self.qagen.source_room(self.qagen.max_source_length)
        answer_rows, text_rows = self.qagen.tokenize(answers), self.qagen.tokenize(texts)
        rows = []
        for answer, text in zip(answer_rows, text_rows):
            answer = answer[: room // 4]
            text_room = room - len(answer) - 1
            self.truncations += len(text) > text_room
            rows.append(answer + [self.qagen.ids.separator] + text[:text_room])
        return rows

    @torch.inference_mode()
    def generate(self, texts: list[str], answers: list[str]) -> list[str]:
        """One question per pair, in input order."""
        if not texts:
            return []
        rows = self.source_rows(texts, answers)
        questions: list[str] = []
        for start in range(0, len(rows), self.batch_size):
            batch = rows[start : start + self.batch_size]
            questions += self.qagen.with_oom_backoff(lambda chunk: self._generate(batch[chunk]), len(batch))
        return questions

    def _generate(self, rows: list[list[int]]) -> list[str]:
        ids = self.qagen.ids
        input_ids, mask = self.qagen.pad_sources(rows)
        hypotheses = diverse_beam_search(self.qagen.network, input_ids, mask, self.beam, ids.decoder_start, ids.eos)
        return [self.qagen.decode(hyps[0].tokens[:-1]).strip() for hyps in hypotheses]
