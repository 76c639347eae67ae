"""The processes of a run started by ``torchrun`` or ``accelerate launch``: this process's rank, its device,
a barrier, and its share of the rows.

Accelerate's ``PartialState`` owns the process group (gloo on CPU, NCCL on GPUs), made only when the
launcher started several processes, so a single process never imports Accelerate. ``quals score``, the
CONSEQ data builder and ``quals-train`` use this module; call ``close()`` when the work is done.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Any

TIMEOUT = datetime.timedelta(hours=48)  # ranks wait at barriers while the slowest shard finishes


@dataclass(frozen=True)
class Processes:
    """This process's place in the run; ``Processes()`` is a single process."""

    rank: int = 0
    world_size: int = 1
    device: str | None = None  # this rank's GPU under a multi-GPU launch; None leaves the scorer's default

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        """Wait until every process gets here (nothing to wait for in a single process)."""
        if self.world_size > 1:
            _state().wait_for_everyone()

    def broadcast(self, value: Any) -> Any:
        """Rank 0's ``value``, on every rank (a picklable object)."""
        if self.world_size == 1:
            return value
        from accelerate.utils import broadcast_object_list

        return broadcast_object_list([value], from_process=0)[0]

    def share(self, n: int) -> range:
        """This rank's contiguous block of ``n`` rows, as Accelerate's ``split_between_processes`` splits
        them (the first ``n % world_size`` ranks take one more); the blocks in rank order are ``range(n)``."""
        if self.world_size == 1:
            return range(n)
        with _state().split_between_processes(list(range(n))) as mine:
            start = mine[0] if mine else n
            return range(start, start + len(mine))


def processes() -> Processes:
    """The current run's processes: from the launcher's environment (``WORLD_SIZE``), joining the process
    group (made once per process) when there are several."""
    if int(os.environ.get("WORLD_SIZE", "1")) == 1:
        return Processes()
    state = _state()
    device = str(state.device) if state.device is not None and state.device.type == "cuda" else None
    return Processes(state.process_index, state.num_processes, device)


def close_processes() -> None:
    """Destroy the process group, if there is one (ours or a Trainer's). Left to interpreter exit, gloo's
    teardown aborted a rank at random after the work was done (BENCHMARKS.md)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def _state() -> Any:
    import torch
    from accelerate import PartialState

    # Accelerate joins a CPU run only when told it is one (``accelerate launch --cpu`` sets the variable).
    cpu = not torch.cuda.is_available() or os.environ.get("ACCELERATE_USE_CPU", "false").lower() == "true"
    return PartialState(cpu=cpu, timeout=TIMEOUT)
