"""How many summaries decode together: a fixed batch size, or ``"auto"``, which on CUDA grows until memory
runs out and keeps the largest size that fitted for the rest of the process.

Summaries are taken longest first (similar lengths pad little, and the batch that needs the most memory
comes first), and results come back in input order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import torch

from .oom import with_oom_backoff

logger = logging.getLogger(__name__)

AUTO_START = 8  # the first "auto" batch, and the size on CPU, where larger batches are not faster per summary
AUTO_LIMIT = 1024
# Per process and (device, model, settings): the size reached so far, and whether an out-of-memory settled it.
_FOUND: dict[Hashable, tuple[int, bool]] = {}


class BatchProgress:
    """Progress in items for a caller's ``report(k)``: ``item(k)`` as items of the running batch finish, and at
    each batch's end whatever the batches so far did not report. Counted cumulatively, so items told by a batch
    that ran out of memory and was retried are not told again: the total never passes the items run."""

    def __init__(self, report: Callable[[int], Any]):
        self.report = report
        self.closed = self.room = self.reported = 0  # items of ended batches, of the running one, told so far

    def begin(self, size: int) -> None:
        """A batch of ``size`` items starts (or, after an out-of-memory, starts again smaller)."""
        self.room = size

    def item(self, k: int = 1) -> None:
        self._tell(min(k, self.closed + self.room - self.reported))

    def end(self) -> None:
        self.closed, self.room = self.closed + self.room, 0
        self._tell(self.closed - self.reported)

    def _tell(self, k: int) -> None:
        if k > 0:
            self.reported += k
            self.report(k)


class BatchSizer:
    """Runs a function over items in batches of a fixed size, or of a size found at run time (``"auto"``).

    ``grow`` (CUDA) doubles an ``"auto"`` batch after each full batch that fits, up to ``AUTO_LIMIT``; the
    first out-of-memory halves it and settles it for every later call with the same ``key``. A fixed size
    that runs out of memory is retried in halves (``quals.oom``) and stays as given.
    """

    def __init__(self, batch_size: int | str, device: torch.device, key: Hashable, grow: bool | None = None):
        self.fixed = None if batch_size == "auto" else int(batch_size)
        self.device, self.key = device, key
        self.grow = (device.type == "cuda" if grow is None else grow) and self.fixed is None
        self._size, self._settled = self.fixed or AUTO_START, not self.grow
        if self.fixed is None and key in _FOUND:
            self._size, oom_seen = _FOUND[key]
            self._settled = self._settled or oom_seen

    @property
    def size(self) -> int:
        """The batch size the next batch will use."""
        return self._size

    @property
    def settled(self) -> bool:
        """Whether the size stays as it is (fixed, CPU, or an out-of-memory already seen)."""
        return self._settled

    def run(self, fn: Callable[[list[int]], list], lengths: Sequence[int], progress: BatchProgress | None = None) -> list:
        """``fn(indices)`` over all items, longest first (by ``lengths``); results in input order. ``progress``
        is told where each batch begins and ends (``fn`` may report items in between)."""
        order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
        out: list[Any] = [None] * len(order)
        start = 0
        while start < len(order):
            batch = order[start : start + self._size]
            if progress is not None:
                progress.begin(len(batch))
            results = self._run_batch(fn, batch)
            if results is None:  # out of memory while growing: the size is settled smaller, try again
                continue
            for i, result in zip(batch, results):
                out[i] = result
            start += len(batch)
            if progress is not None:
                progress.end()
            if not self._settled and len(batch) == self._size and self._size < AUTO_LIMIT:
                self._size = min(2 * self._size, AUTO_LIMIT)
        if self.fixed is None:
            _FOUND[self.key] = (self._size, self._settled)
        return out

    def _run_batch(self, fn: Callable[[list[int]], list], batch: list[int]) -> list | None:
        if self._settled:
            return with_oom_backoff(lambda part: fn(batch[part]), len(batch), self.device)
        try:
            return fn(batch)
        except torch.OutOfMemoryError:
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
            if len(batch) == 1:
                raise
            self._size, self._settled = max(1, len(batch) // 2), True
            _FOUND[self.key] = (self._size, True)
            logger.info("batch_size='auto': out of memory at %d summaries; using %d from now on", len(batch), self._size)
            return None
