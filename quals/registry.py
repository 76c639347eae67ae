"""The metrics QUALS ships, in one table: the CLI (``quals score --metric``), the corpus runner, the
``evaluate`` module and the CONSEQ evaluation all choose a metric here, by name.

A metric is a frozen settings dataclass (``quals.settings.Settings``) and a scorer that takes those settings as
keyword arguments and offers ``signature()``, ``row_problem(name, index, value)`` and
``score(sources, summaries, details=False, progress=False)`` (a scorer class with ``progress_callbacks = True``
also takes, as ``progress``, a function told how many summaries it has finished decoding, for the corpus
runner's bar); its results carry the score under the metric's
name, a count, ``skipped`` and ``to_dict()``. Adding one is a module and a ``register`` line.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from .qags.settings import QagsSettings
from .quals_settings import QualsSettings
from .settings import Settings, import_object


@dataclass(frozen=True)
class MetricSpec:
    """One metric: ``name`` is the ``--metric`` choice and the result key that holds the score; ``scorer`` the
    class or its "module:Class" path (imported on first use, so that help and checks need no torch)."""

    name: str
    settings: type[Settings]
    scorer: type | str
    count_key: str  # the result field counting what was asked: "num_qa_pairs"
    count_label: str  # that count in words, for the corpus summary line: "QA pairs"
    details_key: str  # the result field holding the details with score(..., details=True): "qa_pairs"
    model_setting: str | None = None  # the setting the evaluate module's config name fills ("model"), if any

    def scorer_class(self) -> type:
        return import_object(self.scorer) if isinstance(self.scorer, str) else self.scorer

    def build(self, settings: Settings | dict[str, Any]) -> Any:
        """A scorer with ``settings`` (checked first, before any model loads)."""
        if not isinstance(settings, Settings):
            settings = self.settings.from_mapping(settings)
        return self.scorer_class()(**settings.to_dict())


METRICS: dict[str, MetricSpec] = {}


def register(spec: MetricSpec) -> MetricSpec:
    """Add a metric (or replace the one of the same name)."""
    METRICS[spec.name] = spec
    return spec


def get_metric(name: str) -> MetricSpec:
    """The registered metric ``name``; a ValueError lists the names there are."""
    if name not in METRICS:
        raise ValueError(f"metric={name!r}: use one of {tuple(METRICS)}.")
    return METRICS[name]


def metric_of(scorer: Any) -> MetricSpec:
    """The registered metric whose scorer class ``scorer`` is an instance of."""
    for spec in METRICS.values():  # a class not imported yet cannot be the scorer's: no import here
        module = spec.scorer.partition(":")[0] if isinstance(spec.scorer, str) else None
        if (module is None or module in sys.modules) and isinstance(scorer, spec.scorer_class()):
            return spec
    raise ValueError(f"{type(scorer).__name__} is no registered metric's scorer; register it in quals.registry.")


register(MetricSpec("quals", QualsSettings, "quals.scorer:QualsScorer", "num_qa_pairs", "QA pairs", "qa_pairs", "model"))
register(MetricSpec("qags", QagsSettings, "quals.qags.scorer:QagsScorer", "num_questions", "questions", "questions"))
