"""Safe output files: atomic writes, checks that an output path may be written, and one writer per output.

A reader never sees a half-written file, even if the writer is killed; an output is never the input,
never a device or folder, and never written by two runs at once.
"""

from __future__ import annotations

import logging
import os
import socket
import stat
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

logger = logging.getLogger(__name__)


@contextmanager
def naming(path: str) -> Iterator[None]:
    """Give an OSError raised without a file name (a failed write, flush or fsync, as on a full disk) the
    name ``path``, so that its one-line message says which file could not be written."""
    try:
        yield
    except OSError as e:
        if e.filename is not None:
            raise
        raise OSError(e.errno, e.strerror or str(e), path) from e


def atomic_write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and an atomic rename."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.basename(path))
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)
        with naming(path), os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def check_output(output: str, inputs: Sequence[str] = (), resume: bool = False) -> None:
    """Refuse an ``output`` that exists but is no regular file, or that is one of ``inputs`` (through a
    symlink or hard link too): writing it would destroy a device, a folder or the user's data. Refuse too
    what would fail only once the model has loaded: a folder that is a file or cannot be written (a missing
    one is created), and with ``resume`` (the run appends) a read-only output."""
    try:
        status = os.stat(output)
    except (FileNotFoundError, NotADirectoryError):  # the latter: a file in its path, which make_folder names
        status = None
    if status is not None and not stat.S_ISREG(status.st_mode):
        raise ValueError(f"--output {output} exists and is not a regular file; choose the path of a new or a regular file.")
    for path in inputs:
        same_inode = status is not None and os.path.exists(path) and os.path.samestat(status, os.stat(path))
        if same_inode or os.path.realpath(path) == os.path.realpath(output):
            raise ValueError(f"--output {output} is the input file {path}; choose another --output (results never replace their input).")
    make_folder(output)
    if resume and status is not None and not os.access(output, os.W_OK):
        raise ValueError(f"--output {output} is read-only and this run would append to it; make it writable "
                         f"(chmod u+w {output}), pass --overwrite to start over, or choose another --output.")


def make_folder(output: str) -> None:
    """Create the folder of ``output`` where missing; refuse one that is a file or that cannot be written."""
    folder = os.path.dirname(os.path.abspath(output))
    existing = folder
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise ValueError(f"--output {output}: {existing} is a file, not a folder; choose another --output.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"--output {output}: the folder {existing} is not writable; make it writable, or choose another --output.")
    os.makedirs(folder, exist_ok=True)


def replace_with_empty(path: str) -> None:
    """Start ``path`` over as an empty file, renamed into place (through a symlink, its target): never
    unlinked first, and never truncated in place, so another name of the old file keeps its content."""
    check_output(path)
    atomic_write_text(os.path.realpath(path), "")


def _lock_owner(lock: str) -> tuple[int, str] | None:
    """(pid, host) written in ``lock``; None when it is unreadable or not yet written."""
    try:
        with open(lock, encoding="utf-8") as f:
            pid, host = f.read().split()
        return int(pid), host
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host (one owned by another user counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _try_create(lock: str) -> bool:
    """Create ``lock`` holding this process's pid and host, atomically; False when it already exists."""
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(f"{os.getpid()} {socket.gethostname()}\n")
    return True


def _take_over(lock: str, owner: tuple[int, str]) -> None:
    """Remove the lock of dead ``owner``: moved aside first, and put back if a live run replaced it meanwhile."""
    aside = f"{lock}.{os.getpid()}.stale"
    try:
        os.rename(lock, aside)
    except FileNotFoundError:
        return  # another run removed it first
    if _lock_owner(aside) == owner:
        logger.warning("%s was left by process %d, which no longer runs; taking it over.", lock, owner[0])
        os.unlink(aside)
    else:
        os.rename(aside, lock)


def acquire_lock(output: str) -> str:
    """Claim ``output`` for this process with ``<output>.lock`` (beside the real file); return the lock's path.
    Raises ValueError naming the lock when a live run holds it; takes over one whose process has died."""
    lock = os.path.realpath(output) + ".lock"
    here = socket.gethostname()
    for _ in range(3):  # a stale lock is removed, then created anew
        if _try_create(lock):
            return lock
        owner = _lock_owner(lock)
        if owner is None or owner[1] != here or _alive(owner[0]):
            holder = "an unknown process" if owner is None else f"process {owner[0]} on {owner[1]}"
            raise ValueError(f"--output {output} is being written by another run ({holder} holds {lock}); "
                             f"wait for it to end, or delete {lock} if no run is writing {output}.")
        _take_over(lock, owner)
    raise ValueError(f"--output {output}: could not take {lock} (other runs keep replacing it); retry, or choose another --output.")


def release_lock(lock: str) -> None:
    """Remove ``lock`` if this process still owns it (after a takeover, another run may)."""
    owner = _lock_owner(lock)
    if owner == (os.getpid(), socket.gethostname()):
        os.unlink(lock)

