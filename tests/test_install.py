"""``make``'s torch choice (tools/torch_pip_args.py): the CPU build on GPU-less Linux, unless a local wheel serves."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))
from torch_pip_args import CPU_INDEX, torch_pip_args  # noqa: E402


def test_cpu_index_only_on_linux_without_a_gpu_or_a_local_wheel(tmp_path):
    empty, mirror = tmp_path / "empty", tmp_path / "mirror"
    empty.mkdir(), mirror.mkdir()
    (mirror / "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl").write_bytes(b"")
    (empty / "torch-2.12.0-cp311-cp311-manylinux_2_28_x86_64.whl").write_bytes(b"")  # another version serves nothing
    assert torch_pip_args("Linux", False, []) == CPU_INDEX
    assert torch_pip_args("Linux", False, [str(empty), str(tmp_path / "missing")]) == CPU_INDEX
    assert torch_pip_args("Linux", False, [str(empty), str(mirror)]) == ""  # the offline mirror's wheel
    assert torch_pip_args("Linux", True, []) == ""  # a GPU: PyPI's CUDA build is the one to have
    assert torch_pip_args("Darwin", False, []) == torch_pip_args("Windows", False, []) == ""
