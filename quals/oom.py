"""Out-of-memory back-off: run a batch, and on OOM run it again in halves, down to single items."""

from __future__ import annotations

import logging
from collections.abc import Callable

import torch

logger = logging.getLogger(__name__)


def with_oom_backoff(fn: Callable[[slice], list], n: int, device: torch.device, start: int = 0) -> list:
    """Run ``fn`` on ``slice(start, start+n)``; on out-of-memory, halve the slice and retry."""
    try:
        return fn(slice(start, start + n))
    except torch.OutOfMemoryError:
        if n == 1:
            raise
        if device.type == "cuda":
            torch.cuda.empty_cache()
        half = n // 2
        logger.warning("out of memory on %d items; retrying in halves", n)
        return with_oom_backoff(fn, half, device, start) + with_oom_backoff(fn, n - half, device, start + half)
