"""``QagsSettings``: every setting of a QAGS score (torch-free; see ``quals.settings``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..settings import Settings, device_setting, dtype_setting, format_signature, integer, model_argument, number, setting


def extractor_rule(name: str, value: Any) -> None:
    """``extractor``: a name ("rules", a spaCy pipeline or folder) or an object with a name and a __call__."""
    if not (isinstance(value, str) and value.strip()) and not (callable(value) and hasattr(value, "name")):
        raise TypeError(f"{name}={value!r}: use 'rules', a spaCy pipeline name or folder, or an object with a name "
                        "and a __call__(texts) -> list[list[str]].")


@dataclass(frozen=True)
class QagsSettings(Settings):
    """The settings of ``QagsScorer`` (its keyword arguments, with the same names and defaults)."""

    metric = "QAGS"
    scorer_name = "QagsScorer"

    qg_model: Any = setting(
        "bundled-qg", 'answer-conditioned question generator: a folder, Hub id or "bundled-qg".',
        model_argument("a question generator's folder, a Hub id, 'bundled-qg' or a loaded quals.QAGen",
                       "quals.qagen:QAGen"), cli_type=str,
    )
    qa_model: str = setting(
        "bundled-qa", 'extractive question answerer with a fast tokenizer: a folder, Hub id or "bundled-qa".',
        model_argument("a question-answering folder, a Hub id or 'bundled-qa'"),
    )
    extractor: Any = setting(
        "en_core_web_sm", 'answer candidates: "rules" (no dependency) or a spaCy pipeline name or folder ("en_core_web_sm", '
        "as QAGS); in Python also any object with a name and a __call__(texts) -> list[list[str]].",
        extractor_rule, cli_type=str,
    )
    device: str | None = device_setting()
    dtype: Any = dtype_setting()
    num_beams: int = setting(10, "beams of the question generator's beam search.", integer(1))
    max_new_tokens: int = setting(40, "most tokens per generated question.", integer(1))
    max_questions: int = setting(20, "most questions kept per summary, in the order of their candidates.", integer(1))
    match_f1: float = setting(
        1.0, "how closely the answer on the summary must match the candidate to keep a question (1.0: the same "
        "normalized words).", number(0.0, 1.0, low_open=True),
    )
    qa_max_length: int = setting(384, "tokens per question-answering window (question and context).", integer(1))
    qa_stride: int = setting(128, "tokens shared by consecutive windows of a long source.", integer(0))
    max_answer_tokens: int = setting(30, "longest answer span considered.", integer(1))
    batch_size: int = setting(
        8, "summaries per step (the models' own batches are fixed: 16 questions, 32 answer windows).", integer(1)
    )

    def signature(self, *, qg: str, qa: str, extractor: str, dtype: str, device: str) -> str:  # type: ignore[override]
        """QAGS's signature: both models as loaded (name#weights hash), the extractor, dtype, device and every
        setting that can change a score."""
        fields = [
            ("qg", qg), ("qg_beams", self.num_beams), ("qg_new", self.max_new_tokens), ("qa", qa),
            ("qa_len", f"{self.qa_max_length}-{self.qa_stride}"), ("qa_span", self.max_answer_tokens),
            ("extractor", extractor), ("questions", self.max_questions), ("match", self.match_f1),
            ("dtype", dtype), ("device", device),
        ]
        return format_signature(self.metric, fields)
