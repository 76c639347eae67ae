"""``QualsSettings``: every setting of a QUALS score, with the paper's defaults (torch-free; see ``quals.settings``)."""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Any, Literal

from .settings import (
    Settings, device_setting, dtype_setting, format_signature, int_or_auto, integer, integer_or_auto, model_argument, number,
    setting,
)

Cap = Literal["strict", "reference"]
NsMode = Literal["rescore", "beam"]
AnswerConstraint = Literal["none", "span"]
LongSource = Literal["windows", "truncate"]
Aggregation = Literal["pairs", "tokens"]
CAP_MODES, AGGREGATIONS = typing.get_args(Cap), typing.get_args(Aggregation)  # for public functions that check them


@dataclass(frozen=True)
class QualsSettings(Settings):
    """The settings of ``QualsScorer`` (its keyword arguments, with the same names and defaults)."""

    metric = "QUALS"
    scorer_name = "QualsScorer"

    model: Any = setting(
        "bundled", 'QAGen folder, Hub id or "bundled" (shipped with the package); in Python also a loaded quals.QAGen.',
        model_argument("a QAGen folder, a Hub id, 'bundled' or a loaded quals.QAGen", "quals.qagen:QAGen"), cli_type=str,
    )
    device: str | None = device_setting()
    dtype: Any = dtype_setting()
    num_beams: int = setting(60, "beams of the diverse beam search, a multiple of num_beam_groups.", integer(1))
    num_beam_groups: int = setting(60, "groups of the diverse beam search.", integer(1))
    diversity_penalty: float = setting(0.5, "penalty per use of a token by an earlier group at the same step.", number(0.0))
    min_new_tokens: int = setting(8, "tokens generated before the end of a pair is allowed.", integer(0))
    max_new_tokens: int = setting(
        60, "most tokens per generated pair, at most the QA format's max_target_length - 1.", integer(1)
    )
    length_penalty: float = setting(1.0, "beam score = sum of token log-probabilities / length ** length_penalty.", number())
    max_qa_pairs: int = setting(10, "most pairs kept per summary, diverse answers first.", integer(1))
    cap: Cap = setting(
        "strict", '"strict" keeps at most max_qa_pairs; "reference" finishes the round that reaches it, as the paper\'s code does.'
    )
    ns_mode: NsMode = setting(
        "rescore", 'the summary side of each pair: "rescore" teacher-forces the pair on the summary; "beam" takes it '
        'from the beam scores (diversity penalty included), as the paper\'s code does.',
    )
    answer_constraint: AnswerConstraint = setting(
        "none", '"none", or "span": every answer copies a span of the summary while decoding.'
    )
    batch_size: int | str = setting(
        "auto", 'summaries decoded together, longest first (results in input order). "auto": on CUDA the largest '
        "batch that fits, found once per process (from 8, doubled while it fits); on CPU 8. A fixed size is halved "
        "for a batch that runs out of memory.", integer_or_auto(1), cli_type=int_or_auto,
    )
    max_source_length: int | None = setting(
        None, "tokens the model reads of each source and summary at once, from 8 to the model's limit; by default the "
        "model's limit. Longer summaries are truncated with a counted warning.", integer(8, optional=True),
    )
    long_source: LongSource = setting(
        "windows", '"windows" reads a source longer than max_source_length in overlapping windows (half a window apart) '
        "and gives each pair its best window's log-likelihood, so facts after the cut count; \"truncate\" keeps the first "
        "max_source_length tokens (counted warning), as the paper's code does.",
    )
    aggregation: Aggregation = setting(
        "pairs", '"pairs" averages the kept pairs\' differences, each the mean over its tokens (the paper); "tokens" '
        "averages the token differences of all kept pairs at once, so a longer pair weighs more (slightly better on "
        "the dev sets, BENCHMARKS.md; not yet checked on held-out sets).",
    )

    def signature(self, *, model: str, arch: str, max_source_length: int, dtype: str, device: str) -> str:  # type: ignore[override]
        """QUALS's signature: the model as loaded (name#weights hash, architecture, dtype, device, source
        limit) and every setting that can change a score, in short field names."""
        fields = [
            ("model", model), ("arch", arch), ("beams", self.num_beams), ("groups", self.num_beam_groups),
            ("div", self.diversity_penalty), ("new", f"{self.min_new_tokens}-{self.max_new_tokens}"),
            ("lenpen", self.length_penalty), ("pairs", self.max_qa_pairs), ("cap", self.cap), ("ns", self.ns_mode),
            ("answer", self.answer_constraint), ("src", max_source_length), ("long", self.long_source),
            ("agg", self.aggregation),
            ("dtype", dtype), ("device", device),
        ]
        return format_signature(self.metric, fields)
