"""Input checks shared by the API, the metric and the CLI: clear errors that name the row and the fix."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

Problem = Callable[[str, int, Any], str | None]  # (argument name, row, value) -> why it cannot be scored, or None


class InputError(ValueError):
    """Bad user input; the message names the argument, the row and how to fix it."""


def row_problem(name: str, index: int, value: Any) -> str | None:
    """Why ``value`` (row ``index`` of argument ``name``) cannot be scored, or None when it can."""
    if not isinstance(value, str):
        return f"{name}[{index}] is {type(value).__name__}, not str; pass text (convert or drop the row)."
    if not value.strip():
        return f"{name}[{index}] is empty or whitespace-only; QUALS needs text on both sides (drop the row)."
    return None


def split_specials(tokenizer: Any) -> dict[str, bool]:
    """The tokenizer keyword that reads a literal "[SEP]" or "</s>" in a text as text rather than as a control
    token (``split_special_tokens=True``), where the tokenizer has it."""
    return {"split_special_tokens": True} if hasattr(tokenizer, "split_special_tokens") else {}


def token_problem(name: str, index: int, text: str, tokenizer: Any) -> str | None:
    """Why ``text`` gives ``tokenizer`` nothing to read (no token at all, or unknown tokens only), or None:
    such a text would be scored as an empty one, or from unknown-token answers."""
    ids = tokenizer(text, add_special_tokens=False, **split_specials(tokenizer))["input_ids"]
    if not ids:
        return (f"{name}[{index}] has no text the model reads (only control, zero-width or combining characters); "
                "QUALS needs text on both sides (drop the row).")
    if set(ids) == {tokenizer.unk_token_id}:
        return (f"{name}[{index}] has no character the model knows (it reads as {tokenizer.unk_token} only); pass "
                "text in a script the model reads, or drop the row.")
    return None


def text_problem(name: str, index: int, value: Any, tokenizers: Sequence[Any]) -> str | None:
    """``row_problem``, then ``token_problem`` under each tokenizer of a scorer's models."""
    problem = row_problem(name, index, value)
    for tokenizer in tokenizers:
        problem = problem or token_problem(name, index, value, tokenizer)
    return problem


def validate_pairs(
    sources: Sequence[Any], summaries: Sequence[Any], names: tuple[str, str] = ("sources", "summaries"),
    problem: Problem = row_problem,
) -> None:
    """Raise InputError unless ``sources`` and ``summaries`` are equally long lists of rows without a ``problem``
    (by default: non-empty strings; a scorer's ``row_problem`` also asks its tokenizer).

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
        p for name, rows in ((source_name, sources), (summary_name, summaries)) for i, v in enumerate(rows) if (p := problem(name, i, v))
    ]
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise InputError("; ".join(problems[:5]) + more)
