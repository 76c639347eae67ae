"""Input checks shared by the API, the metric and the CLI: clear errors that name the row and the fix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class InputError(ValueError):
    """Bad user input; the message names the argument, the row and how to fix it."""


def row_problem(name: str, index: int, value: Any) -> str | None:
    """Why ``value`` (row ``index`` of argument ``name``) cannot be scored, or None when it can."""
    if not isinstance(value, str):
        return f"{name}[{index}] is {type(value).__name__}, not str; pass text (convert or drop the row)."
    if not value.strip():
        return f"{name}[{index}] is empty or whitespace-only; QUALS needs text on both sides (drop the row)."
    return None


def validate_pairs(sources: Sequence[Any], summaries: Sequence[Any], names: tuple[str, str] = ("sources", "summaries")) -> None:
    """Raise InputError unless ``sources`` and ``summaries`` are equally long lists of non-empty strings.

    ``names`` are the caller's argument names, used in the messages (the metric calls summaries
    ``predictions``).
    """
    source_name, summary_name = names
    for name, value in ((source_name, sources), (summary_name, summaries)):
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            raise InputError(f"{name} must be a list of strings, got {type(value).__name__}; wrap a single text in a list.")
    if len(sources) != len(summaries):
        raise InputError(
            f"{source_name} has {len(sources)} rows but {summary_name} has {len(summaries)}; pass one source per "
            "summary (repeat a document for each of its summaries)."
        )
    problems = [
        p for name, rows in ((source_name, sources), (summary_name, summaries)) for i, v in enumerate(rows) if (p := row_problem(name, i, v))
    ]
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise InputError("; ".join(problems[:5]) + more)
