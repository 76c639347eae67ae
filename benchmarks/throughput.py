"""QUALS throughput over batch sizes and devices: summaries per second and peak memory, one process each.

Each (device, batch size) runs ``speed.py`` in a fresh process, so that its peak RSS (and, on CUDA,
``max_memory_allocated``) belongs to that configuration alone; ``auto`` also reports the batch it reached.
JSON goes to stdout and, with ``--out``, to a file.

  python benchmarks/throughput.py --n 16 --batch-sizes 1 8 auto
  python benchmarks/throughput.py --devices cuda --dtype bfloat16 --n 512 --batch-sizes 8 64 auto --out gpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import DEFAULT_QAGS  # noqa: E402

SPEED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "speed.py")


def run_one(device: str, batch_size: str, args: argparse.Namespace) -> dict:
    """One configuration in its own process: speed.py's report, reduced to the figures this table needs."""
    size = batch_size if batch_size == "auto" else int(batch_size)
    command = [sys.executable, SPEED, "--data", args.data, "--n", str(args.n), "--model", args.model, "--device", device,
               "--variant", json.dumps({"batch_size": size, **json.loads(args.settings)})]
    if args.dtype:
        command += ["--dtype", args.dtype]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        return {"device": device, "batch_size": size, "error": done.stderr.strip().splitlines()[-1:]}
    report = json.loads(done.stdout)
    (variant,) = report["variants"]
    return {
        "device": device, "batch_size": size, "batch_size_reached": variant["batch_size_reached"],
        "summaries_per_second": variant["summaries_per_second"], "seconds_per_summary": variant["seconds_per_summary"],
        "peak_rss_mb": report["peak_rss_mb"], "peak_cuda_memory_mb": report.get("peak_cuda_memory_mb"),
        "machine": report["machine"], "signature": variant["signature"],
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=DEFAULT_QAGS, help="QAGS-C (default) or a FRANK-format file")
    parser.add_argument("--n", type=int, default=16, help="number of summaries per configuration")
    parser.add_argument("--model", default="bundled")
    parser.add_argument("--devices", nargs="+", default=["cpu"])
    parser.add_argument("--dtype", help="default: float32 on CPU, bfloat16 on CUDA")
    parser.add_argument("--batch-sizes", nargs="+", default=["1", "8", "auto"], help="integers or auto")
    parser.add_argument("--settings", default="{}", help="JSON object of further QualsScorer settings")
    parser.add_argument("--out", help="also write the JSON here")
    args = parser.parse_args(argv)
    for size in args.batch_sizes:
        if size != "auto" and not size.isdigit():
            parser.error(f"--batch-sizes {size}: give integers or auto")
    report = {"data": args.data, "summaries": args.n,
              "runs": [run_one(device, size, args) for device in args.devices for size in args.batch_sizes]}
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        from quals.io_utils import atomic_write_text

        atomic_write_text(args.out, text + "\n")
    return report


if __name__ == "__main__":
    main()
