"""Bad input and unusable files, reported by the command-line tools (``quals``, ``quals-train``) as one line."""

from __future__ import annotations

import os
import sys


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
