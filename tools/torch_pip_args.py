"""Extra pip arguments for installing torch==2.13.0, printed for the Makefile.

On Linux, PyPI's torch is the CUDA build (several GB); on a machine without an NVIDIA GPU the CPU build
(about 200 MB) is what runs, so this prints its index. It prints nothing elsewhere (macOS and Windows wheels
on PyPI are CPU builds), with a GPU, or when pip's ``find-links`` folders already hold a torch 2.13.0 wheel
(an offline mirror, as in CI), which pip takes without any index.
"""

from __future__ import annotations

import glob
import os
import platform
import shutil
import subprocess
import sys

CPU_INDEX = "--index-url https://download.pytorch.org/whl/cpu"
VERSION = "2.13.0"


def torch_pip_args(system: str, has_nvidia_gpu: bool, find_links: list[str]) -> str:
    """The arguments for this machine: the CPU index on GPU-less Linux unless a local wheel serves."""
    local = any(glob.glob(os.path.join(folder, f"torch-{VERSION}*.whl")) for folder in find_links if os.path.isdir(folder))
    return CPU_INDEX if system == "Linux" and not has_nvidia_gpu and not local else ""


def pip_find_links() -> list[str]:
    """The folders pip reads wheels from: ``PIP_FIND_LINKS`` and pip's configuration (``file://`` or paths)."""
    values = [os.environ.get("PIP_FIND_LINKS", "")]
    for key in ("global.find-links", "install.find-links"):
        done = subprocess.run([sys.executable, "-m", "pip", "config", "get", key], capture_output=True, text=True)
        values.append(done.stdout if done.returncode == 0 else "")
    return [link.removeprefix("file://") for value in values for link in value.split()]


if __name__ == "__main__":
    print(torch_pip_args(platform.system(), shutil.which("nvidia-smi") is not None, pip_find_links()))
