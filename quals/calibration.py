"""Calibrated readings of QUALS: where a score falls among faithful and altered summaries scored by the same model.

A raw QUALS score (nats per token) means little on its own: its range depends on the QAGen. Each QAGen may
ship a ``calibration.json`` beside its weights: the quantiles (0%, 1%, ..., 100%) of the QUALS of faithful
summaries and of twins with one fact changed, and of the per-pair differences of their QA pairs, all measured
with one set of settings (``benchmarks/calibrate.py`` writes it). A reading then says "lower than 93% of
faithful summaries scored by this model" instead of applying fixed cut-offs.
"""

from __future__ import annotations

import bisect
import json
import logging
import math
import os
from dataclasses import asdict, dataclass
from typing import Any

from .io_utils import atomic_write_text

logger = logging.getLogger(__name__)
FILENAME = "calibration.json"
# The quantile fields, in card order, with what each describes.
GRIDS = {"faithful": "QUALS of faithful summaries", "altered": "QUALS of altered twins",
         "faithful_pairs": "difference of the QA pairs of faithful summaries",
         "altered_pairs": "difference of the pairs whose answer holds a changed word"}
# Signature fields a calibration does not depend on: the device and the library versions. The rest must match:
# the weights hash, every decoding and scoring setting, and the dtype (float16 storage alone moved scores by
# up to 0.09, BENCHMARKS.md, half the spread between the faithful quartiles).
UNCALIBRATED_FIELDS = {"device", "quals", "torch", "transformers"}
# A QA pair is "unsupported" when its difference is below this percentile of the pairs of faithful summaries,
# "weak" below the second: named cut-offs, not fitted to any set.
UNSUPPORTED_BELOW, WEAK_BELOW = 5.0, 20.0
NO_SCORE = "no question-answer pair could be formed from this summary, so it has no score."  # reading of None
# A summary "reads like an altered one" below this percentile of faithful summaries.
LOW_BELOW, FAIR_BELOW = 10.0, 25.0


def quantiles(values: list[float], name: str = "values") -> list[float]:
    """The 0%, 1%, ..., 100% quantiles of ``values`` (linear interpolation between order statistics)."""
    if not values:
        raise ValueError(f"no {name} to calibrate on: use a larger calibration set (or no --limit).")
    ordered = sorted(values)
    return [_interpolated(ordered, k / 100 * (len(ordered) - 1)) for k in range(101)]


def _interpolated(ordered: list[float], position: float) -> float:
    """The value at a fractional index of an ascending list, linear between its neighbours."""
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def percentile(value: float, grid: list[float]) -> float:
    """Share (0 to 100) of the calibration values below ``value``, read off their 101 quantiles."""
    low, high = bisect.bisect_left(grid, value), bisect.bisect_right(grid, value)
    if low != high:  # value equals one quantile or a run of them: the middle of the run
        return (low + high - 1) / 2
    if low == 0:
        return 0.0
    if low == len(grid):
        return 100.0
    below, above = grid[low - 1], grid[low]
    return low - 1 + (value - below) / (above - below)


def signature_key(signature: str) -> str:
    """The part of a QUALS signature a calibration depends on: the weights hash and every scoring setting."""
    metric, *fields = signature.split("|")
    kept = []
    for field in fields:
        name, _, value = field.partition(":")
        if name == "model":
            value = value.rpartition("#")[2]  # the weights, however the model was named (bundled, a path, a Hub id)
        if name not in UNCALIBRATED_FIELDS:
            kept.append(f"{name}:{value}")
    return "|".join([metric, *kept])


@dataclass(frozen=True)
class Calibration:
    """Quantiles of QUALS on a calibration set, measured under ``signature``."""

    signature: str
    description: str
    command: str
    faithful: list[float]  # QUALS of faithful summaries, 101 quantiles
    altered: list[float]  # QUALS of the same summaries with one fact changed
    faithful_pairs: list[float]  # differences of the QA pairs kept from faithful summaries
    altered_pairs: list[float]  # differences of the pairs whose answer holds the changed words
    counts: dict[str, int]

    def __post_init__(self) -> None:
        for name in GRIDS:
            grid = getattr(self, name)
            if len(grid) != 101 or not all(map(math.isfinite, grid)) or any(a > b for a, b in zip(grid, grid[1:])):
                raise ValueError(f"calibration field {name!r} must hold 101 ascending finite quantiles (0%, 1%, ..., 100%).")
        if set(self.counts) != set(GRIDS):
            raise ValueError(f"calibration field 'counts' must count each of {list(GRIDS)}.")

    @classmethod
    def from_scores(cls, signature: str, description: str, command: str, faithful: list[float], altered: list[float],
                    faithful_pairs: list[float], altered_pairs: list[float]) -> "Calibration":
        """The calibration of raw scores (unscored summaries already left out)."""
        counts = {"faithful": len(faithful), "altered": len(altered), "faithful_pairs": len(faithful_pairs),
                  "altered_pairs": len(altered_pairs)}
        return cls(signature, description, command, quantiles(faithful, "faithful summaries scored"),
                   quantiles(altered, "altered summaries scored"), quantiles(faithful_pairs, "QA pairs of faithful summaries"),
                   quantiles(altered_pairs, "QA pairs whose answer holds a changed word"), counts)

    @classmethod
    def load(cls, path: str) -> "Calibration":
        """A calibration file; a ValueError names the file when it is not one."""
        try:
            with open(path, encoding="utf-8") as f:
                return cls(**json.load(f))
        except (TypeError, ValueError) as e:  # JSONDecodeError is a ValueError
            raise ValueError(f"{path} is not a QUALS calibration ({e}); rebuild it with benchmarks/calibrate.py.") from None

    def save(self, folder: str) -> str:
        """Write ``calibration.json`` into a model folder (atomically); returns its path."""
        path = os.path.join(folder, FILENAME)
        atomic_write_text(path, json.dumps(asdict(self), indent=1) + "\n")
        return path

    def applies_to(self, signature: str) -> bool:
        """Whether scores under ``signature`` are comparable with this calibration's."""
        return signature_key(signature) == signature_key(self.signature)

    def faithful_percentile(self, score: float) -> float:
        """Share of faithful calibration summaries that score below ``score`` (0 to 100)."""
        return percentile(score, self.faithful)

    def altered_percentile(self, score: float) -> float:
        """Share of altered calibration summaries that score below ``score`` (0 to 100)."""
        return percentile(score, self.altered)

    def reading(self, score: float | None) -> str:
        """A plain-language reading of a QUALS score, relative to the faithful and altered calibration summaries."""
        if score is None:
            return NO_SCORE
        p, a = self.faithful_percentile(score), self.altered_percentile(score)
        # shares rounded down, so that each stated share is at most what the quantiles say
        higher, lower, among = math.floor(100 - p), math.floor(p), f"{math.floor(a)}% of summaries with one changed fact score lower"
        if p < LOW_BELOW:
            return f"lower than {higher}% of faithful summaries scored by this model ({among}): check its facts."
        if p < FAIR_BELOW:
            return f"lower than most faithful summaries ({higher}% score higher; {among}): some facts may be unsupported."
        return f"in the range of faithful summaries: {lower}% of them score lower ({among})."

    def pair_support(self, difference: float) -> str:
        """"supported", "weak" or "unsupported": a QA pair's difference against the pairs of faithful summaries."""
        p = percentile(difference, self.faithful_pairs)
        if p < UNSUPPORTED_BELOW:
            return "unsupported"
        return "weak" if p < WEAK_BELOW else "supported"

    def legend(self) -> str:
        """What readings and pair labels are relative to, in one sentence for a report."""
        return (f"Readings are relative to this model's calibration set: {self.description}. An answer is unsupported "
                f"when its QA pair scores below {100 - UNSUPPORTED_BELOW:.0f}% of the pairs of those faithful summaries, "
                f"weak below {100 - WEAK_BELOW:.0f}%.")

    def card_lines(self) -> list[str]:
        """Markdown table rows for a model card: the quantiles that readings use, and how the two sets separate."""
        rows = [f"| quantile | {' | '.join(f'{q}%' for q in (5, 10, 25, 50, 75, 90, 95))} |", "| --- |" + " --- |" * 7]
        for name, label in GRIDS.items():
            grid = getattr(self, name)
            rows.append(f"| {label} ({self.counts[name]:,}) | "
                        + " | ".join(f"{grid[q]:.3f}" for q in (5, 10, 25, 50, 75, 90, 95)) + " |")
        return rows


def load_calibration(folder: str) -> Calibration | None:
    """The calibration shipped in a model folder, or None when it has none. A broken file is optional metadata
    and blocks no scoring: it is reported and read as none."""
    path = os.path.join(folder, FILENAME)
    if not os.path.isfile(path):
        return None
    try:
        return Calibration.load(path)
    except ValueError as e:
        logger.warning("%s Scores of this model get no calibrated reading.", e)
        return None


def summary_of(calibration: Calibration) -> dict[str, Any]:
    """How well the calibration set separates: shares of altered summaries and pairs below each cut-off."""
    def share_below(grid: list[float], cut: float) -> float:
        return round(percentile(cut, grid), 1)

    f, fp = calibration.faithful, calibration.faithful_pairs
    return {
        "altered summaries below the faithful 10th percentile (%)": share_below(calibration.altered, quantile_at(f, LOW_BELOW)),
        "altered summaries below the faithful median (%)": share_below(calibration.altered, quantile_at(f, 50.0)),
        "altered-answer pairs read unsupported (%)": share_below(calibration.altered_pairs, quantile_at(fp, UNSUPPORTED_BELOW)),
        "altered-answer pairs read weak or unsupported (%)": share_below(calibration.altered_pairs, quantile_at(fp, WEAK_BELOW)),
    }


def quantile_at(grid: list[float], share: float) -> float:
    """The value below which ``share`` percent of the calibration values lie (the 101 quantiles: index = share)."""
    return _interpolated(grid, share)
