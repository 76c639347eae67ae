"""Read (source, summary) rows from JSONL, CSV or two plain-text files, one row per line."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)


@dataclass
class Rows:
    """Aligned sources and summaries; ``columns`` holds each row's other input columns that the output keeps
    (so that results join back to the user's data), or None."""

    sources: list[Any]
    summaries: list[Any]
    origin: str
    columns: list[dict[str, Any]] | None = None


# Fields of the output records (QUALS and QAGS): an input column of that name is never copied over one.
RECORD_FIELDS = frozenset({"index", "error", "skipped", "qa_pairs", "questions",
                           "quals", "num_qa_pairs", "qags", "num_questions"})


def kept_columns(record: dict[str, Any], keep: str, skip: tuple[str, str], where: str) -> dict[str, Any]:
    """The columns of ``record`` that ``keep`` names: "all" (every column but ``skip`` and the record's own
    field names), "none", or a comma-separated list, each of which the record must have."""
    if keep == "all":
        return {k: v for k, v in record.items() if k not in skip and k not in RECORD_FIELDS}
    if keep == "none":
        return {}
    names = [name.strip() for name in keep.split(",") if name.strip()]
    missing = [name for name in names if name not in record]
    if missing:
        raise ValueError(f"{where}: no column {missing} to keep (columns: {sorted(map(str, record))}); fix --keep-columns.")
    clash = sorted(set(names) & RECORD_FIELDS)
    if clash:
        raise ValueError(f"{where}: --keep-columns names {clash}, which the results use; rename the column(s) in your data.")
    return {name: record[name] for name in names}


def table_rows(
    sources: list[Any], summaries: list[Any], path: str, columns: list[dict[str, Any]], names: set[str]
) -> Rows:
    """``Rows`` of a JSONL or CSV file whose records had the columns ``names``; says which of them were left
    out for carrying a result field's name (under --keep-columns all), so none goes missing without a word."""
    left_out = sorted(names & RECORD_FIELDS)
    if left_out:
        logger.warning("%s: column(s) %s not copied into the results, which use those names; rename them to keep them.",
                       path, left_out)
    return Rows(sources, summaries, path, columns if any(columns) else None)


def _column(record: Any, column: str, where: str) -> Any:
    if not isinstance(record, dict):
        raise ValueError(f"{where}: expected a JSON object with {column!r}, got {type(record).__name__}; fix or remove the line.")
    if column not in record:
        raise ValueError(f"{where}: no column {column!r} (columns: {sorted(record)}); choose one with --source-column/--summary-column.")
    return record[column]


def read_text(path: str) -> str:
    """The text of a UTF-8 file, a leading byte-order mark dropped (as spreadsheets and Windows editors write
    one); other bytes are an error naming the file, the line and the fix, not a bare codec message."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise ValueError(
            f"{path}:{line}: byte 0x{data[e.start]:02x} is not UTF-8 (the file has another encoding, such as Latin-1); "
            f"save it as UTF-8, e.g. iconv -f latin1 -t utf-8 {path} > utf8-{os.path.basename(path)}"
        ) from e
    return text.removeprefix("\ufeff")


def read_lines(path: str) -> list[str]:
    """Lines of a text file as ``wc -l`` counts them: only "\\n" ends a line, so U+2028, form feeds and the
    other separators of ``str.splitlines`` stay inside their line and cannot shift the rows; a trailing "\\r"
    (CRLF files) is dropped, and a last line without "\\n" counts too."""
    lines = read_text(path).split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def _read_jsonl(path: str, source_column: str, summary_column: str, keep: str) -> Rows:
    """Rows of a JSON Lines file (lines as ``read_lines`` splits them); blank lines are skipped and counted."""
    lines = read_lines(path)
    if next((line for line in lines if line.strip()), "").lstrip().startswith("["):
        raise ValueError(f"{path} holds a JSON array; --input takes JSON Lines, one object per line: convert it "
                         f"(jq -c '.[]' {path} > rows.jsonl), or use CSV.")
    sources, summaries, columns, names, blank = [], [], [], set(), 0
    for n, line in enumerate(lines, 1):
        if not line.strip():
            blank += 1
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{n}: not valid JSON ({e}); fix or remove the line.") from e
        sources.append(_column(record, source_column, f"{path}:{n}"))
        summaries.append(_column(record, summary_column, f"{path}:{n}"))
        columns.append(kept_columns(record, keep, (source_column, summary_column), f"{path}:{n}"))
        names.update(record)
    if blank:
        logger.warning("%s: %d blank line(s) skipped; output rows follow the non-blank lines.", path, blank)
    return table_rows(sources, summaries, path, columns, names if keep == "all" else set())


def _read_csv(path: str, source_column: str, summary_column: str, keep: str) -> Rows:
    """Rows of a CSV file with a header; a row with fewer fields than the header is an error naming its line."""
    reader = csv.DictReader(io.StringIO(read_text(path), newline=""))
    header = reader.fieldnames or []
    for column in (source_column, summary_column):
        if column not in header:
            raise ValueError(f"{path}: the header has no column {column!r} (columns: {header}); "
                             "choose one with --source-column/--summary-column.")
    sources, summaries, columns = [], [], []
    for record in reader:
        if None in record:  # what DictReader gives a row with more fields than the header
            raise ValueError(f"{path}:{reader.line_num}: the row has more fields than the header {header} (an unquoted "
                             "comma in a text?); quote the field or fix the line.")
        for column in (source_column, summary_column):
            if record[column] is None:  # what DictReader gives a row that ends before the column
                raise ValueError(f"{path}:{reader.line_num}: the row is missing the column {column!r} (it has fewer "
                                 f"fields than the header {header}); add the field or remove the line.")
        sources.append(record[source_column])
        summaries.append(record[summary_column])
        columns.append(kept_columns(record, keep, (source_column, summary_column), f"{path}:{reader.line_num}"))
    return table_rows(sources, summaries, path, columns, set(header) if keep == "all" else set())


def read_rows(
    input_path: str | None = None,
    sources_path: str | None = None,
    summaries_path: str | None = None,
    source_column: str = "source",
    summary_column: str = "summary",
    keep_columns: str = "all",
) -> Rows:
    """Rows from ``input_path`` (.jsonl or .csv) or from the line-aligned pair ``sources_path``/``summaries_path``
    (lines as ``read_lines`` splits them); every file is UTF-8, with or without a byte-order mark. A table's
    other columns are kept per ``keep_columns`` ("all", "none" or a comma-separated list)."""
    if input_path and (sources_path or summaries_path):
        raise ValueError("give either --input or --sources with --summaries, not both.")
    if input_path:
        ext = os.path.splitext(input_path)[1].lower()
        if ext in (".jsonl", ".json"):
            return _read_jsonl(input_path, source_column, summary_column, keep_columns)
        if ext == ".csv":
            return _read_csv(input_path, source_column, summary_column, keep_columns)
        raise ValueError(f"--input {input_path!r}: use a .jsonl or .csv file, or --sources/--summaries text files.")
    if not (sources_path and summaries_path):
        raise ValueError("give --input FILE, or both --sources and --summaries (plain text, one per line).")
    sources, summaries = read_lines(sources_path), read_lines(summaries_path)
    if len(sources) != len(summaries):
        raise ValueError(
            f"{sources_path} has {len(sources)} lines but {summaries_path} has {len(summaries)}; they must be line-aligned."
        )
    return Rows(sources, summaries, f"{sources_path}+{summaries_path}")
