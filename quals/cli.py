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
import datetime
import logging
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .registry import METRICS, MetricSpec, get_metric

if TYPE_CHECKING:
    from .corpus import CorpusStats

def chosen_metric(argv: list[str] | None) -> MetricSpec:
    """The ``--metric`` of a command line (default quals), read before the full parser is built."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--metric", choices=list(METRICS), default="quals")
    return get_metric(pre.parse_known_args(argv)[0].metric)


_OWN_GROUP = False  # whether distributed_context created the process group (so close_distributed may end it)


def distributed_context() -> tuple[int, int, Any, str | None]:
    """(rank, world size, barrier, device) from torchrun/accelerate's environment; gloo for the barrier."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1, None, None
    import torch
    import torch.distributed as dist

    global _OWN_GROUP
    if not dist.is_initialized():  # long timeout: ranks wait at barriers while the slowest shard finishes
        dist.init_process_group("gloo", timeout=datetime.timedelta(hours=48))
        _OWN_GROUP = True
    device = None
    if torch.cuda.is_available():
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    return dist.get_rank(), dist.get_world_size(), dist.barrier, device


def close_distributed() -> None:
    """Destroy the process group ``distributed_context`` made (not one the caller made): left to
    interpreter teardown, a rank can abort."""
    global _OWN_GROUP
    if _OWN_GROUP:
        import torch.distributed as dist

        dist.destroy_process_group()
        _OWN_GROUP = False


def _score(args: argparse.Namespace) -> int:
    """Check and claim the output (before any slow work: reading, loading the model), then score into it."""
    from .io_utils import check_output

    check_output(args.output, [p for p in (args.input, args.sources, args.summaries) if p], resume=not args.overwrite)
    rank, world, barrier, device = distributed_context()
    try:
        with run_lock(args.output, rank, world):
            stats, signature = _score_claimed(args, rank, world, barrier, device)
    finally:
        close_distributed()
    if rank == 0:
        print(stats.line(signature), file=sys.stderr)
    return 0


@contextlib.contextmanager
def run_lock(output: str, rank: int, world: int) -> Iterator[None]:
    """One lock per run: rank 0 takes ``<output>.lock`` and tells every rank whether it got it, so that all
    of them fail with its message (none is left waiting at a barrier) or all go on, after it holds the lock."""
    from .io_utils import acquire_lock, release_lock

    lock, refusal = None, None
    if rank == 0:
        try:
            lock = acquire_lock(output)
        except ValueError as e:
            refusal = str(e)
    if world > 1:
        import torch.distributed as dist

        shared = [refusal]
        dist.broadcast_object_list(shared, src=0)
        refusal = shared[0]
    if refusal:
        raise ValueError(refusal)
    try:
        yield
    finally:
        if lock:
            release_lock(lock)


def _score_claimed(
    args: argparse.Namespace, rank: int, world: int, barrier: Any, device: str | None
) -> tuple[CorpusStats, str]:
    """Read the rows, load the scorer and score this rank's shard; (corpus stats, scorer signature)."""
    from .corpus import score_corpus
    from .readers import read_rows

    rows = read_rows(args.input, args.sources, args.summaries, args.source_column, args.summary_column, args.keep_columns)
    spec = get_metric(args.metric)
    settings = spec.settings.from_cli(args)
    if device and not settings.device:
        settings = dataclasses.replace(settings, device=device)
    scorer = spec.build(settings)
    stats = score_corpus(
        scorer, rows, args.output, with_pairs=args.qa_pairs, rank=rank, world_size=world,
        overwrite=args.overwrite, progress=not args.quiet, barrier=barrier,
    )
    return stats, scorer.signature()


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(get_metric("quals").settings.from_cli(args).to_dict(), limit=args.limit)
    return 0


def error_line(error: Exception) -> str:
    """The message of ``error`` as one line; an OSError with a file (unwritable, missing, a full disk) names
    the file first and what to check."""
    if isinstance(error, OSError) and error.filename and error.strerror:
        return f"{error.filename}: {error.strerror}; check the path, its permissions and the free disk space."
    return " ".join(str(error).split())


def user_error(prog: str, command: str, error: Exception) -> int:
    """Print a bad-input or file error as one line and return exit status 2; QUALS_TRACEBACK=1 re-raises it instead."""
    if os.environ.get("QUALS_TRACEBACK"):
        raise error
    print(f"{prog} {command}: error: {error_line(error)}", file=sys.stderr)
    return 2


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
