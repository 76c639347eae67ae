"""Wall-clock time per pipeline stage, so benchmarks can say where a scorer spends its time."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager


class Stopwatch:
    """Accumulates seconds per named stage across calls; ``reset()`` starts over."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - started

    def reset(self) -> None:
        self.seconds.clear()

    def as_dict(self) -> dict[str, float]:
        return dict(self.seconds)
