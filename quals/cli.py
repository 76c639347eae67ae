"""``quals``: score corpora (``quals score``) or see QUALS at work on bundled examples (``quals demo``).

Every field of a metric's settings (``quals.QualsSettings``) is a flag of the same name (``--num-beams``,
``--ns-mode``...), with its type, choices and help, so the CLI and the API cannot drift apart; ``quals score
--metric qags`` swaps in ``QagsSettings`` and its flags (``quals score --metric qags --help`` lists them).
Torch loads only once a command runs, so ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .distributed import Processes, processes
from .distributed import close_processes
from .errors import user_error
from .registry import METRICS, MetricSpec, get_metric

if TYPE_CHECKING:
    from .corpus import CorpusStats

def chosen_metric(argv: list[str] | None) -> MetricSpec:
    """The ``--metric`` of a command line (default quals), read before the full parser is built."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--metric", choices=list(METRICS), default="quals")
    return get_metric(pre.parse_known_args(argv)[0].metric)


def _score(args: argparse.Namespace) -> int:
    """Check and claim the output (before any slow work: reading, loading the model), then score into it."""
    from .io_utils import check_output

    check_output(args.output, [p for p in (args.input, args.sources, args.summaries) if p], resume=not args.overwrite)
    procs = processes()
    try:
        with run_lock(args.output, procs):
            stats, signature = _score_claimed(args, procs)
    finally:
        close_processes()
    if procs.is_main:
        print(stats.line(signature), file=sys.stderr)
    return 0


@contextlib.contextmanager
def run_lock(output: str, procs: Processes) -> Iterator[None]:
    """One lock per run: rank 0 takes ``<output>.lock`` and tells every rank whether it got it, so that all
    of them fail with its message (none is left waiting at a barrier) or all go on, after it holds the lock."""
    from .io_utils import acquire_lock, release_lock

    lock, refusal = None, None
    if procs.is_main:
        try:
            lock = acquire_lock(output)
        except ValueError as e:
            refusal = str(e)
    refusal = procs.broadcast(refusal)
    if refusal:
        raise ValueError(refusal)
    try:
        yield
    finally:
        if lock:
            release_lock(lock)


def _score_claimed(args: argparse.Namespace, procs: Processes) -> tuple[CorpusStats, str]:
    """Read the rows, load the scorer and score this rank's shard; (corpus stats, scorer signature)."""
    from .corpus import score_corpus
    from .readers import read_rows

    rows = read_rows(args.input, args.sources, args.summaries, args.source_column, args.summary_column, args.keep_columns)
    spec = get_metric(args.metric)
    settings = spec.settings.from_cli(args)
    if procs.device and not settings.device:
        settings = dataclasses.replace(settings, device=procs.device)
    scorer = spec.build(settings)
    stats = score_corpus(
        scorer, rows, args.output, with_pairs=args.qa_pairs, overwrite=args.overwrite, progress=not args.quiet,
        processes=procs,
    )
    return stats, scorer.signature()


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(get_metric("quals").settings.from_cli(args).to_dict(), limit=args.limit)
    return 0


SCORE_EXAMPLES = """examples:
  quals score --input rows.jsonl --output scores.jsonl                  # columns source, summary (+ any others)
  quals score --input rows.csv --source-column article --summary-column summary --output scores.jsonl
  quals score --sources docs.txt --summaries sums.txt --output scores.jsonl --num-beams 20 --num-beam-groups 20
  quals score --input rows.jsonl --output qags.jsonl --metric qags      # the QAGS baseline
  torchrun --nproc-per-node 2 -m quals.cli score --input rows.jsonl --output scores.jsonl
"""


def main(argv: list[str] | None = None) -> int:
    metric = chosen_metric(argv)  # --metric decides which settings' flags exist
    parser = argparse.ArgumentParser(prog="quals", description="QUALS factual-consistency scores for summaries.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "score", help="score a corpus into JSONL (resumable; shards under torchrun/accelerate)",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=SCORE_EXAMPLES,
    )
    p.add_argument("--input", help="JSONL or CSV with one (source, summary) row per line")
    p.add_argument("--sources", help="plain-text file, one source document per line")
    p.add_argument("--summaries", help="plain-text file, one summary per line (aligned with --sources)")
    p.add_argument("--source-column", default="source",
                   help="the --input column holding the source documents (default: source)")
    p.add_argument("--summary-column", default="summary",
                   help="the --input column holding the summaries (default: summary)")
    p.add_argument("--keep-columns", default="all",
                   help="input columns copied into each record, so results join back to your data: "
                        "all (default), none, or e.g. id,system")
    p.add_argument("--output", required=True, help="JSONL results; re-running continues where it stopped")
    p.add_argument("--metric", choices=list(METRICS), default="quals", help="quals (default), or qags for the QAGS baseline")
    p.add_argument("--qa-pairs", action="store_true", help="include the kept QA pairs (QAGS: questions and answers)")
    p.add_argument("--overwrite", action="store_true", help="start over instead of resuming")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    metric.settings.add_cli_flags(p)
    p.set_defaults(func=_score)

    p = sub.add_parser("demo", help="score the bundled examples (faithful vs altered summaries) and explain")
    p.add_argument("--limit", type=int, default=None, help="only the first N examples")
    get_metric("quals").settings.add_cli_flags(p)
    p.set_defaults(func=_demo)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except (ValueError, OSError) as e:  # bad input or settings; files that cannot be read or written
        return user_error("quals", args.command, e)
    except KeyboardInterrupt as e:  # Ctrl-C: one line (how far it got, when known), not a traceback
        print(f"quals {args.command}: {e.args[0] if e.args else 'interrupted.'}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
