"""``quals demo``: score the bundled examples (a faithful summary and an altered twin per document)."""

from __future__ import annotations

import json
import os
import sys
import textwrap
import time
from typing import Any

EXAMPLES_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "examples", "demo.jsonl")


def load_examples(path: str = EXAMPLES_PATH) -> list[dict[str, str]]:
    """The demo examples: ``id``, ``document``, ``faithful``, ``altered`` and what ``change`` was made."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def worst_pair(result: Any) -> Any:
    """The kept QA pair the source supports least (most negative source - summary difference)."""
    return min(result.qa_pairs, key=lambda p: p.difference) if result.qa_pairs else None


def format_table(examples: list[dict[str, str]], results: list[Any]) -> str:
    """A plain-text table: one line per summary, then the pair that disagrees most in the lower-scored one."""
    lines = [f"{'example':<10} {'summary':<9} {'QUALS':>8} {'pairs':>5}  change", "-" * 72]
    wins = 0
    for k, ex in enumerate(examples):
        faithful, altered = results[2 * k], results[2 * k + 1]
        for label, res in (("faithful", faithful), ("altered", altered)):
            value = "n/a" if res.quals is None else f"{res.quals:8.3f}"
            change = ex["change"] if label == "altered" else ""
            lines.append(f"{ex['id']:<10} {label:<9} {value:>8} {res.num_qa_pairs:>5}  {change}")
        if faithful.quals is not None and altered.quals is not None and faithful.quals > altered.quals:
            wins += 1
        low_label, low = min((("faithful", faithful), ("altered", altered)),
                             key=lambda item: float("inf") if item[1].quals is None else item[1].quals)
        pair = worst_pair(low)
        if pair is not None:
            question = textwrap.shorten(pair.question, 46, placeholder="...")
            lines.append(f"    least supported pair of the {low_label} summary (the lower score):")
            lines.append(f"    Q: {question}  A: {textwrap.shorten(pair.answer, 24, placeholder='...')}")
            lines.append(
                f"    log-prob given summary {pair.logprob_summary:.2f}, given source {pair.logprob_source:.2f}"
            )
    lines.append("-" * 72)
    lines.append(f"faithful summary scored higher than its altered twin in {wins} of {len(examples)} examples")
    return "\n".join(lines)


def run_demo(settings: dict[str, Any], limit: int | None = None) -> str:
    """Score the examples with a ``QualsScorer(**settings)``, print the table and return it."""
    from .scorer import QualsScorer

    if limit is not None and limit < 1:
        raise ValueError(f"limit={limit}: give at least 1 example (or leave it out for all).")
    examples = load_examples()[:limit]
    started = time.time()
    scorer = QualsScorer(**settings)
    sources = [ex["document"] for ex in examples for _ in (0, 1)]
    summaries = [s for ex in examples for s in (ex["faithful"], ex["altered"])]
    documents = f"{len(examples)} document" + ("s" if len(examples) != 1 else "")
    print(f"model loaded in {time.time() - started:.1f} s; scoring {len(summaries)} summaries of {documents} "
          "(a faithful and an altered summary each)", file=sys.stderr, flush=True)
    results = scorer.score(sources, summaries, return_qa_pairs=True, progress=True)
    table = format_table(examples, results)
    print(table)
    print(f"{len(summaries)} summaries in {time.time() - started:.1f} s (model load included)")
    print(scorer.signature())
    return table
