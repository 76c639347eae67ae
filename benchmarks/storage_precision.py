"""How much QUALS moves when a QAGen is stored in lower precision: the demo summaries scored by two exports
of the same checkpoint (both loaded as float32 on CPU).

  quals-train export-qagen --config trainer_ext/configs/qagen_minilm_cpu.json --checkpoint CKPT --out /tmp/fp32
  quals-train export-qagen --config trainer_ext/configs/qagen_minilm_cpu.json --checkpoint CKPT --out /tmp/fp16 --dtype float16
  python benchmarks/storage_precision.py /tmp/fp32 /tmp/fp16
"""

from __future__ import annotations

import argparse
import json

import quals
from quals.demo import load_examples


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("reference", help="QAGen folder in the reference precision (e.g. the float32 export)")
    parser.add_argument("other", help="the same checkpoint exported in another precision")
    args = parser.parse_args(argv)
    reference, other = args.reference, args.other
    examples = load_examples()
    sources = [e["document"] for e in examples for _ in (0, 1)]
    summaries = [s for e in examples for s in (e["faithful"], e["altered"])]
    a = quals.QualsScorer(reference, dtype="float32").score(sources, summaries)
    b = quals.QualsScorer(other, dtype="float32").score(sources, summaries)
    diffs = [abs(x.quals - y.quals) for x, y in zip(a, b) if x.quals is not None and y.quals is not None]
    report = {"reference": [x.quals for x in a], "other": [y.quals for y in b], "max_abs_diff": max(diffs)}
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
