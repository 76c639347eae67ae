"""Read (source, summary) rows from JSONL, CSV or two plain-text files, one row per line."""

from __future__ import annotations

import csv
import json
import logging
import os
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)


@dataclass
class Rows:
    sources: list[Any]
    summaries: list[Any]
    origin: str


def _column(record: Any, column: str, where: str) -> Any:
    if not isinstance(record, dict):
        raise ValueError(f"{where}: expected a JSON object with {column!r}, got {type(record).__name__}; fix or remove the line.")
    if column not in record:
        raise ValueError(f"{where}: no column {column!r} (columns: {sorted(record)}); choose one with --source-column/--summary-column.")
    return record[column]


def read_lines(path: str) -> list[str]:
    """Lines of a text file as ``wc -l`` counts them: only "\\n" ends a line, so U+2028, form feeds and the
    other separators of ``str.splitlines`` stay inside their line and cannot shift the rows; a trailing "\\r"
    (CRLF files) is dropped, and a last line without "\\n" counts too."""
    with open(path, encoding="utf-8", newline="") as f:  # newline="": a lone "\r" does not end a line
        lines = f.read().split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def read_rows(
    input_path: str | None = None,
    sources_path: str | None = None,
    summaries_path: str | None = None,
    source_column: str = "source",
    summary_column: str = "summary",
) -> Rows:
    """Rows from ``input_path`` (.jsonl or .csv) or from the line-aligned pair ``sources_path``/``summaries_path``
    (lines as ``read_lines`` splits them)."""
    if input_path and (sources_path or summaries_path):
        raise ValueError("give either --input or --sources with --summaries, not both.")
    if input_path:
        ext = os.path.splitext(input_path)[1].lower()
        if ext in (".jsonl", ".json"):
            sources, summaries, blank = [], [], 0
            with open(input_path, encoding="utf-8") as f:
                for n, line in enumerate(f, 1):
                    if not line.strip():
                        blank += 1
                        continue
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError as e:
                        raise ValueError(f"{input_path}:{n}: not valid JSON ({e}); fix or remove the line.") from e
                    sources.append(_column(record, source_column, f"{input_path}:{n}"))
                    summaries.append(_column(record, summary_column, f"{input_path}:{n}"))
            if blank:
                logger.warning("%s: %d blank line(s) skipped; output rows follow the non-blank lines.", input_path, blank)
            return Rows(sources, summaries, input_path)
        if ext == ".csv":
            with open(input_path, encoding="utf-8-sig", newline="") as f:  # tolerate a byte-order mark
                reader = csv.DictReader(f)
                header = reader.fieldnames or []
                for column in (source_column, summary_column):
                    if column not in header:
                        raise ValueError(f"{input_path}: the header has no column {column!r} (columns: {header}); "
                                         "choose one with --source-column/--summary-column.")
                records = list(reader)
            sources = [_column(r, source_column, f"{input_path}:{i + 2}") for i, r in enumerate(records)]
            summaries = [_column(r, summary_column, f"{input_path}:{i + 2}") for i, r in enumerate(records)]
            return Rows(sources, summaries, input_path)
        raise ValueError(f"--input {input_path!r}: use a .jsonl or .csv file, or --sources/--summaries text files.")
    if not (sources_path and summaries_path):
        raise ValueError("give --input FILE, or both --sources and --summaries (plain text, one per line).")
    sources, summaries = read_lines(sources_path), read_lines(summaries_path)
    if len(sources) != len(summaries):
        raise ValueError(
            f"{sources_path} has {len(sources)} lines but {summaries_path} has {len(summaries)}; they must be line-aligned."
        )
    return Rows(sources, summaries, f"{sources_path}+{summaries_path}")
