"""QUALS with one module of an older git revision against this checkout, side by side in one process.

For speed work on the scorer's internals: the module's source at ``--rev`` is loaded as a twin, and the
same summaries are scored alternately with the twin's functions patched in and with the current ones
(model loaded once, warm-up not timed). Reports seconds per summary for both (in all and by stage), the
speed-up, the hypothesis rows the network decoded per summary, and whether the two give the same QA
pairs and scores.

  python benchmarks/ab_revision.py --rev 78af0e3 --module quals.generation --n 16
  python benchmarks/ab_revision.py --rev HEAD --module quals.generation --module quals.prefix_lm --n 16
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import subprocess
import sys
import time
import types
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from data import DEFAULT_QAGS, load_pairs  # noqa: E402
from machine import cpu_bf16_support, describe  # noqa: E402


def load_twin(module_name: str, rev: str) -> types.ModuleType:
    """The module as it was at ``rev``, beside the current one (its relative imports resolve to today's package)."""
    is_package = os.path.isdir(os.path.join(ROOT, *module_name.split(".")))
    path = module_name.replace(".", "/") + ("/__init__.py" if is_package else ".py")
    try:
        git = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=ROOT, capture_output=True, text=True)
    except FileNotFoundError:
        raise SystemExit("ab_revision needs git on the PATH (it reads the older module with git show)") from None
    if git.returncode:
        raise SystemExit(f"--rev {rev} --module {module_name}: {git.stderr.strip()}")
    source = git.stdout
    twin = types.ModuleType(f"twin@{rev}.{module_name}")
    twin.__package__ = module_name if is_package else module_name.rpartition(".")[0]
    sys.modules[twin.__name__] = twin  # dataclasses look their module up there
    exec(compile(source, f"{path}@{rev}", "exec"), twin.__dict__)
    return twin


@contextmanager
def patched(current: types.ModuleType, twin: types.ModuleType) -> Iterator[int]:
    """Rebind, in every loaded ``quals`` module, each function defined in ``current`` to the twin's function of
    that name, and give each class defined in ``current`` the twin class's methods (today's class object stays,
    so loaded models switch too)."""
    swaps: list[tuple[object, str, object]] = []  # (owner, name, today's value or None when the twin adds it)
    for name, new in inspect.getmembers(current, inspect.isfunction):
        old = getattr(twin, name, None)
        if new.__module__ != current.__name__ or not inspect.isfunction(old):
            continue
        for module in [m for n, m in sys.modules.items() if n.split(".")[0] == "quals"]:
            if getattr(module, name, None) is new:
                swaps.append((module, name, new))
                setattr(module, name, old)
    for name, cls in inspect.getmembers(current, inspect.isclass):
        old_cls = getattr(twin, name, None)
        if cls.__module__ != current.__name__ or not inspect.isclass(old_cls):
            continue
        for attr, old in vars(old_cls).items():
            if inspect.isfunction(old) and not attr.startswith("__"):
                swaps.append((cls, attr, vars(cls).get(attr)))
                setattr(cls, attr, old)
    try:
        yield len(swaps)
    finally:
        for owner, name, new in reversed(swaps):
            if new is None:
                delattr(owner, name)
            else:
                setattr(owner, name, new)


class StepRows:
    """Wraps a QAGen network and counts the hypothesis rows of its one-token decoding steps (generation)."""

    def __init__(self, network) -> None:
        self.network, self.rows = network, 0

    def encode(self, *args, **kwargs):
        return self.network.encode(*args, **kwargs)

    def decode(self, context, target_ids, cache=None, group_size=1):
        if target_ids.shape[1] == 1:
            self.rows += target_ids.shape[0]
        return self.network.decode(context, target_ids, cache, group_size)


def _outcome(results: list) -> list:
    return [(r.quals, [(p.question, p.answer) for p in r.qa_pairs]) for r in results]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rev", required=True, help="git revision of the baseline module")
    parser.add_argument("--module", action="append", help="dotted module name inside this repository; repeat for "
                        "several (default: quals.generation)")
    parser.add_argument("--data", default=DEFAULT_QAGS)
    parser.add_argument("--n", type=int, default=16, help="number of QAGS-C summaries")
    parser.add_argument("--repeats", type=int, default=2, help="alternating rounds")
    parser.add_argument("--settings", default="{}", help="JSON object of QualsScorer settings for both")
    args = parser.parse_args(argv)

    import torch

    import quals

    modules = args.module or ["quals.generation"]
    pairs = [(importlib.import_module(m), load_twin(m, args.rev)) for m in modules]
    docs, sums = load_pairs(args.data, args.n)
    scorer = quals.QualsScorer(**json.loads(args.settings))
    scorer.score(docs[:1], sums[:1], return_qa_pairs=True)  # warm-up, not timed
    counter = scorer.qagen.network = StepRows(scorer.qagen.network)
    seconds = {"baseline": 0.0, "current": 0.0}
    stages: dict[str, Counter] = {arm: Counter() for arm in seconds}
    step_rows = {arm: 0 for arm in seconds}
    outcomes: dict[str, list] = {}
    for _ in range(args.repeats):
        for arm in seconds:
            with ExitStack() as stack:
                if arm == "baseline":
                    for (current, twin), name in zip(pairs, modules):
                        if stack.enter_context(patched(current, twin)) == 0:
                            raise SystemExit(f"no function or method of {name} is used by name in quals; nothing to compare")
                scorer.timings.reset()
                counter.rows = 0
                started = time.perf_counter()
                results = scorer.score(docs, sums, return_qa_pairs=True)
                seconds[arm] += time.perf_counter() - started
                stages[arm].update(scorer.timings.as_dict())
                step_rows[arm] = counter.rows
            outcomes[arm] = _outcome(results)
    base, cur = outcomes["baseline"], outcomes["current"]
    diffs = [abs(a[0] - b[0]) for a, b in zip(base, cur) if a[0] is not None and b[0] is not None]
    total = args.n * args.repeats
    report = {
        "machine": describe(torch.get_num_threads()),
        **cpu_bf16_support(),
        "modules": modules,
        "baseline_rev": args.rev,
        "summaries": args.n,
        "repeats": args.repeats,
        "seconds_per_summary": {arm: round(s / total, 3) for arm, s in seconds.items()},
        "speedup": round(seconds["baseline"] / seconds["current"], 3),
        "seconds_per_summary_by_stage": {
            arm: {stage: round(t / total, 3) for stage, t in by_stage.items()} for arm, by_stage in stages.items()
        },
        "decoding_rows_per_summary": {arm: round(rows / args.n) for arm, rows in step_rows.items()},
        "same_qa_pairs": sum(a[1] == b[1] for a, b in zip(base, cur)),
        "identical_scores": sum(a[0] == b[0] for a, b in zip(base, cur)),
        "max_abs_score_diff": float(f"{max(diffs):.3g}") if diffs else None,
        "signature": scorer.signature(),
    }
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
