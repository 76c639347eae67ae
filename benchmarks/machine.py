"""What the benchmark machine is, in the terms that decide its speed (CPU bfloat16 support above all)."""

from __future__ import annotations

import os
import platform


def cpu_bf16_support() -> dict[str, bool]:
    """Whether the CPU has native bfloat16 matmuls (AMX or AVX-512 BF16); without them bf16 is emulated, slow."""
    flags = set()
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = {flag for line in f if line.startswith("flags") for flag in line.split(":", 1)[1].split()}
    return {"cpu_has_amx_bf16": "amx_bf16" in flags, "cpu_has_avx512_bf16": "avx512_bf16" in flags}


def describe(torch_threads: int) -> str:
    """One line: processor, CPU count, torch threads."""
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus, torch threads {torch_threads}"
