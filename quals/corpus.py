"""Score a whole corpus into JSONL: kill-safe, resumable, and sharded over processes.

Each process (``torchrun``/``accelerate launch`` set RANK and WORLD_SIZE) scores a contiguous shard into
its own part file; rank 0 merges the parts in input order. Records are appended batch by batch and
fsynced; on restart a torn last line is cut off and scoring continues after the last complete record,
so an interrupted run ends byte-identical to an uninterrupted one. Starting over (``overwrite``) renames a
new empty file into place, and an output holding more records than the input has rows is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .distributed import Processes
from .io_utils import atomic_write_text, naming, replace_with_empty
from .readers import Rows
from .registry import MetricSpec, metric_of


@dataclass
class CorpusStats:
    metric: str  # the registered metric's name: the record key that holds the score
    count_label: str  # what its scorer asks, in words ("QA pairs")
    rows: int
    scored: int
    unscored: int  # nothing to ask survived the filter (no QA pair, no question)
    errors: int
    mean: float | None
    seconds: float
    newly_scored: int

    def line(self, signature: str) -> str:
        mean = "n/a" if self.mean is None else f"{self.mean:.4f}"
        coverage = self.scored / self.rows if self.rows else 0.0
        speed = f"{self.seconds / self.newly_scored:.2f} s/summary" if self.newly_scored else "nothing new to score"
        return (
            f"mean {self.metric.upper()} {mean} | coverage {coverage:.3f} ({self.scored}/{self.rows} scored, "
            f"{self.unscored} without {self.count_label}, {self.errors} errors) | {speed}\n{signature}"
        )


def count_complete_lines(path: str, truncate: bool = True) -> int:
    """Number of complete JSONL records in ``path``; with ``truncate``, cut off a torn (unterminated or
    invalid) tail so that appending continues cleanly."""
    if not os.path.exists(path):
        return 0
    with open(path, "rb") as f:
        data = f.read()
    good_end, count = 0, 0
    for line in data.split(b"\n")[:-1]:
        try:
            json.loads(line)
        except ValueError:
            break
        good_end += len(line) + 1
        count += 1
    if truncate and good_end != len(data):
        with open(path, "r+b") as f:
            f.truncate(good_end)
    return count


def keep_first_lines(path: str, n: int) -> None:
    """Truncate ``path`` after its first ``n`` lines (nothing to do when it does not exist)."""
    if not os.path.exists(path):
        return
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    with open(path, "r+b") as f:
        f.truncate(sum(len(line) + 1 for line in lines[:n]))


def append_jsonl(path: str, records: list[dict[str, Any]]) -> None:
    """Append records as JSON lines and fsync, so a completed call survives a kill; a failed write (a full
    disk) names ``path``."""
    with naming(path), open(path, "a", encoding="utf-8") as f:
        f.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
        f.flush()
        os.fsync(f.fileno())


def texts_sha256(texts: Sequence[str]) -> str:
    """Digest of a list of texts, order included: what a resumed run checks its inputs against."""
    return hashlib.sha256(json.dumps(list(texts), ensure_ascii=False).encode()).hexdigest()


def _fingerprint(rows: Rows) -> str:
    """Digest of the rows (and the columns kept beside them, when there are any), for the resume check."""
    digest = hashlib.sha256()
    for i, (source, summary) in enumerate(zip(rows.sources, rows.summaries)):
        row = [source, summary] + ([rows.columns[i]] if rows.columns else [])
        digest.update(json.dumps(row, ensure_ascii=False).encode())
    return digest.hexdigest()


def output_signature(output: str) -> str:
    """The signature of the scores in ``output``: kept once, in ``output.meta.json``, not in every record."""
    with open(output + ".meta.json", encoding="utf-8") as f:
        return json.load(f)["signature"]


def check_meta(output: str, meta: dict[str, Any], overwrite: bool, write: bool) -> None:
    """Refuse to resume ``output`` under other inputs or settings (kept in ``output.meta.json``)."""
    path = output + ".meta.json"
    if not overwrite:
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                previous = json.load(f)
            if previous != meta:
                raise ValueError(
                    f"{output} was started with other inputs or settings ({path} differs); "
                    "pass --overwrite to start over, or choose another --output."
                )
        elif os.path.exists(output):
            raise ValueError(f"{output} exists but was not written by this tool (no {path}); pass --overwrite or choose another --output.")
    if write:
        atomic_write_text(path, json.dumps(meta, indent=2) + "\n")


def refuse_extra_records(path: str, rows: int) -> None:
    """Refuse to resume ``path`` when it holds more records than ``rows``: two runs wrote it at once, and
    counting it as complete would report rows twice."""
    records = count_complete_lines(path, truncate=False)
    if records > rows:
        raise ValueError(f"{path} holds {records} records but the input has {rows} rows (two runs wrote it at once?); "
                         "pass --overwrite to start over, or choose another --output.")


def _score_rows(scorer: Any, spec: MetricSpec, rows: Rows, indices: list[int], with_pairs: bool,
                report: Callable[[int], Any]) -> list[dict[str, Any]]:
    """Records for ``indices``; a bad row (as the scorer's ``row_problem`` finds them, its tokenizer included)
    gets an error record and never costs the others their scores. ``report`` is told of summaries as the
    scorer finishes them (a batch rescored row by row may tell some twice: the caller settles the count)."""
    records: dict[int, dict[str, Any]] = {}

    def kept(i: int) -> dict[str, Any]:
        return rows.columns[i] if rows.columns else {}

    def failed(i: int, error: str) -> dict[str, Any]:
        return {"index": i, **kept(i), spec.name: None, spec.count_key: 0, "skipped": None, "error": error}

    good = []
    for i in indices:
        problem = scorer.row_problem("sources", i, rows.sources[i]) or scorer.row_problem("summaries", i, rows.summaries[i])
        if problem:
            records[i] = failed(i, problem)
        else:
            good.append(i)

    def run(batch: list[int]) -> None:
        told = report if getattr(scorer, "progress_callbacks", False) else False  # other metrics: bool progress
        results = scorer.score([rows.sources[i] for i in batch], [rows.summaries[i] for i in batch], with_pairs,
                               progress=told)
        for i, result in zip(batch, results):  # the signature is written once, in the output's .meta.json
            fields = {k: v for k, v in result.to_dict().items() if k != "signature"}
            records[i] = {"index": i, **kept(i), **fields, "error": None}

    if good:
        try:
            run(good)
        except Exception:  # noqa: BLE001 - isolate the failing row, keep the rest
            for i in good:
                try:
                    run([i])
                except Exception as e:  # noqa: BLE001
                    records[i] = failed(i, f"{type(e).__name__}: {e}")
    return [records[i] for i in indices]


def score_corpus(
    scorer: Any,
    rows: Rows,
    output: str,
    with_pairs: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    processes: Processes = Processes(),
) -> CorpusStats:
    """Score ``rows`` into ``output`` (JSONL, one record per row, input order), resuming if it exists.

    Under several ``processes`` each scores its share into a part file, and rank 0 merges them into the
    same ``output`` one process writes."""
    rank, world_size = processes.rank, processes.world_size
    spec = metric_of(scorer)
    n = len(rows.sources)
    if n == 0:
        raise ValueError(f"{rows.origin}: no rows to score; is the input empty?")
    if len(rows.summaries) != n:
        raise ValueError(f"{len(rows.sources)} sources but {len(rows.summaries)} summaries.")
    requested = getattr(scorer.settings, "batch_size", scorer.batch_size)  # "auto", or the fixed size
    meta = {
        "signature": scorer.signature(), "input_sha256": _fingerprint(rows), "rows": n,
        "with_qa_pairs": with_pairs, "processes": world_size, "batch_size": requested,
    }
    check_meta(output, meta, overwrite, write=rank == 0)
    parts = [output] if world_size == 1 else [f"{output}.part{r}of{world_size}" for r in range(world_size)]
    share = processes.share(n)
    lo, hi = share.start, share.stop
    if overwrite:
        for path in {parts[rank], output} if rank == 0 else {parts[rank]}:
            if os.path.exists(path):
                replace_with_empty(path)
    else:
        for path, rows_expected in {output: n, parts[rank]: hi - lo}.items():
            refuse_extra_records(path, rows_expected)
    processes.barrier()
    merged = world_size > 1 and count_complete_lines(output, truncate=False) == n
    # A fixed batch size resumes at a whole batch, so batches never regroup; "auto" regroups by design.
    unit = 1 if requested == "auto" else scorer.batch_size
    done = hi - lo if merged else resume_point(parts[rank], unit, hi - lo)
    processes.barrier()  # every process has settled its own part before anyone writes or counts
    initially_done = n if merged else sum(count_complete_lines(p, truncate=False) for p in parts)

    from tqdm.auto import tqdm

    if progress and 0 < done < hi - lo:
        print(f"{output}: resuming after {lo + done} of {n} rows" + (f" (rank {rank})" if world_size > 1 else ""), file=sys.stderr)
    bar = tqdm(total=hi - lo, initial=done, unit="summary", disable=not progress, position=rank,
               desc=f"rank {rank}" if world_size > 1 else None)
    started = time.time()
    start = lo + done
    while start < hi:
        indices = list(range(start, min(start + scorer.batch_size, hi)))  # "auto" may grow between batches
        try:
            end = start + len(indices) - lo  # the bar never passes this batch's end, whatever a retry tells again
            told = lambda k, end=end: bar.update(max(0, min(k, end - bar.n)))  # noqa: E731
            append_jsonl(parts[rank], _score_rows(scorer, spec, rows, indices, with_pairs, told))
        except KeyboardInterrupt:  # the records written so far are complete: say so, and how to go on
            bar.close()
            raise KeyboardInterrupt(f"interrupted after {start} of {n} rows; run the same command to resume.") from None
        start += len(indices)
        bar.n = start - lo  # the rows written, whatever the scorer told on the way (per summary, or per batch)
        bar.refresh()
    bar.close()
    processes.barrier()
    if world_size > 1 and rank == 0 and not merged:
        merge_parts(output, parts)
    processes.barrier()
    return read_stats(output, spec, time.time() - started, n - initially_done)


def merge_parts(output: str, parts: list[str]) -> None:
    """Concatenate per-process part files into ``output`` in rank order (atomically), then remove them."""
    atomic_write_text(output, "".join(open(p, encoding="utf-8").read() for p in parts))
    for p in parts:
        os.unlink(p)


def resume_point(part: str, batch_size: int, shard_rows: int) -> int:
    """Rows already done in a part file, rounded down to a whole batch so that batches never regroup."""
    done = count_complete_lines(part)
    if done < shard_rows and done % batch_size:
        done -= done % batch_size
        keep_first_lines(part, done)
    return done


def read_stats(path: str, spec: MetricSpec, seconds: float, newly_scored: int) -> CorpusStats:
    """The corpus statistics of a finished output file."""
    with open(path, encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    scored = [r[spec.name] for r in records if r[spec.name] is not None]
    errors = sum(1 for r in records if r.get("error"))
    return CorpusStats(
        metric=spec.name,
        count_label=spec.count_label,
        rows=len(records),
        scored=len(scored),
        unscored=len(records) - len(scored) - errors,
        errors=errors,
        mean=sum(scored) / len(scored) if scored else None,
        seconds=seconds,
        newly_scored=newly_scored,
    )
