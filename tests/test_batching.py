"""Batch sizes: "auto" grows until memory runs out and keeps what fitted; results always in input order."""

from __future__ import annotations

import pytest
import torch

import quals
from quals import batching
from quals.batching import AUTO_START, BatchSizer

CPU = torch.device("cpu")


def fake_memory(limit: int, seen: list[int]):
    """A scoring function that records each batch's size and runs out of memory above ``limit`` items."""

    def fn(batch: list[int]) -> list[str]:
        seen.append(len(batch))
        if len(batch) > limit:
            raise torch.OutOfMemoryError("fake: batch too large")
        return [f"result {i}" for i in batch]

    return fn


@pytest.fixture(autouse=True)
def fresh_process(monkeypatch):
    monkeypatch.setattr(batching, "_FOUND", {})


def test_auto_grows_then_backs_off_keeps_the_size_and_returns_input_order():
    lengths = [(7 * i) % 23 for i in range(100)]  # unsorted lengths
    seen: list[int] = []
    sizer = BatchSizer("auto", CPU, key="k", grow=True)
    out = sizer.run(fake_memory(20, seen), lengths)
    assert out == [f"result {i}" for i in range(100)]
    # 8 fits, 16 fits, 32 runs out: 16 from then on (8 + 16 + 16 * 4 + 12 = 100 items)
    assert seen == [AUTO_START, 16, 32, 16, 16, 16, 16, 12] and sizer.settled and sizer.size == 16
    again: list[int] = []
    later = BatchSizer("auto", CPU, key="k", grow=True)  # same process, same key: found once, kept
    assert later.size == 16 and later.settled
    later.run(fake_memory(20, again), lengths[:40])
    assert again == [16, 16, 8]
    other = BatchSizer("auto", CPU, key="other settings", grow=True)
    assert other.size == AUTO_START and not other.settled


def test_auto_keeps_growing_across_calls_until_memory_runs_out():
    seen: list[int] = []
    BatchSizer("auto", CPU, key="k", grow=True).run(fake_memory(1000, seen), [1] * 24)
    assert seen == [8, 16]
    grown = BatchSizer("auto", CPU, key="k", grow=True)
    assert grown.size == 32 and not grown.settled


def test_items_go_longest_first():
    order: list[list[int]] = []
    BatchSizer(2, CPU, key="k").run(lambda batch: order.append(batch) or batch, [3, 9, 1, 5])
    assert order == [[1, 3], [0, 2]]


def test_a_fixed_size_is_halved_for_a_batch_that_runs_out_of_memory_and_stays():
    seen: list[int] = []
    sizer = BatchSizer(8, CPU, key="k", grow=True)
    assert sizer.run(fake_memory(3, seen), [1] * 10) == [f"result {i}" for i in range(10)]
    assert seen == [8, 4, 2, 2, 4, 2, 2, 2] and sizer.size == 8  # halves of the 8, then the last 2 as they are


def test_auto_is_a_fixed_eight_on_cpu_and_one_item_out_of_memory_is_raised():
    sizer = BatchSizer("auto", CPU, key="k")
    assert sizer.settled and sizer.size == AUTO_START
    with pytest.raises(torch.OutOfMemoryError):
        BatchSizer("auto", CPU, key="k2", grow=True).run(fake_memory(0, []), [1])


def test_batch_1_8_and_auto_give_the_same_pairs_and_scores_in_input_order(trained_qagen_dir):
    from facts import CITIES, NAMES, fact

    summaries = [fact(n, c) if i % 3 else f"{fact(n, c)} {fact(NAMES[(i + 1) % 6], c)}"
                 for i, (n, c) in enumerate(zip(NAMES * 2, CITIES * 3))]
    sources = [f"{fact(NAMES[i % 6], CITIES[i % 5])} {fact(NAMES[(i + 2) % 6], CITIES[(i + 1) % 5])}" for i in range(len(summaries))]
    settings = dict(num_beams=6, num_beam_groups=6, min_new_tokens=3, max_new_tokens=12)
    qagen = quals.QualsScorer(trained_qagen_dir, batch_size=1, **settings).qagen
    runs = {b: quals.QualsScorer(qagen, batch_size=b, **settings).score(sources, summaries, return_qa_pairs=True) for b in (1, 8, "auto")}
    assert len({len(s) for s in summaries}) > 2  # lengths differ, so batches are reordered
    one = runs[1]
    for b in (8, "auto"):
        assert [[(p.question, p.answer) for p in r.qa_pairs] for r in runs[b]] == [[(p.question, p.answer) for p in r.qa_pairs] for r in one]
        # Not bitwise: padding to a batch's longest text changes the reduction lengths of the matmuls (float rounding).
        assert [r.quals for r in runs[b]] == pytest.approx([r.quals for r in one], abs=1e-6, rel=0)
    alone = quals.QualsScorer(qagen, batch_size=1, **settings).score(sources[5:6], summaries[5:6])[0]
    assert alone.quals == runs[1][5].quals and alone.quals == pytest.approx(runs["auto"][5].quals, abs=1e-6)  # row 5 in its place


def test_batch_progress_counts_each_item_once_even_when_a_batch_is_retried():
    told: list[int] = []
    progress = batching.BatchProgress(told.append)
    progress.begin(4)
    progress.item(1)
    progress.item(9)  # never more than the batch holds
    assert told == [1, 3]
    progress.end()
    progress.begin(2)
    progress.end()
    assert told == [1, 3, 2]

    def reporting(limit: int, seen: list[int], tell):
        """Like fake_memory, but every item is told finished before an out-of-memory (as decoding ends before scoring)."""
        def fn(batch: list[int]) -> list[str]:
            tell(len(batch))
            return fake_memory(limit, seen)(batch)
        return fn

    seen: list[int] = []
    reports: list[int] = []
    counted = batching.BatchProgress(reports.append)
    BatchSizer("auto", CPU, key="k", grow=True).run(reporting(20, seen, counted.item), [1] * 50, progress=counted)
    assert seen == [8, 16, 26, 13, 13]  # the batch of 26 ran out of memory after telling its items
    assert sum(reports) == 50  # told once each, not 63
    fixed: list[int] = []
    counted = batching.BatchProgress(fixed.append)
    BatchSizer(8, CPU, key="k").run(reporting(3, [], counted.item), [1] * 10, progress=counted)  # halved inside a batch
    assert sum(fixed) == 10


def test_summaries_are_reported_as_each_finishes_decoding_inside_a_batch(trained_qagen_dir):
    from facts import CITIES, NAMES, fact

    # one summary with two facts decodes longer than the one-fact ones of the same batch
    summaries = [fact(NAMES[i], CITIES[i % 5]) if i else f"{fact('alice', 'paris')} {fact('bob', 'rome')} and more"
                 for i in range(6)]
    sources = [" ".join(summaries)] * len(summaries)
    scorer = quals.QualsScorer(trained_qagen_dir, batch_size=8, num_beams=4, num_beam_groups=4, min_new_tokens=3,
                               max_new_tokens=12)
    told: list[int] = []
    results = scorer.score(sources, summaries, progress=told.append)
    assert sum(told) == len(summaries) and all(r.quals is not None for r in results)
    assert len(told) > 1  # one batch, yet several reports: summaries finish decoding at different steps
