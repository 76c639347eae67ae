"""Exact match and F1 of an extractive QA model on SQuAD dev questions (QAGS's answerer).

Scores are the SQuAD v1.1 definitions: normalized answers, best over the gold answers of each question.

  python benchmarks/squad_qa.py --model bundled-qa --n 1000
"""

from __future__ import annotations

import argparse
import json
import os
import time

DEFAULT_DEV = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "squad", "dev-v1.1.jsonl.gz")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=DEFAULT_DEV)
    parser.add_argument("--model", default="bundled-qa")
    parser.add_argument("--n", type=int, default=1000, help="first N questions")
    parser.add_argument("--max-length", type=int, default=384)
    parser.add_argument("--stride", type=int, default=128)
    args = parser.parse_args(argv)

    from quals.qags import QuestionAnswerer, answer_f1, normalize_answer
    from trainer_ext.qagen_data import read_squad

    rows = [row for _, row in zip(range(args.n), read_squad(args.data))]
    answerer = QuestionAnswerer(args.model, max_length=args.max_length, stride=args.stride)
    started = time.perf_counter()
    predictions = answerer.answer([r["question"] for r in rows], [r["context"] for r in rows])
    seconds = time.perf_counter() - started
    golds = [r["answers"]["text"] for r in rows]
    exact = [max(normalize_answer(p) == normalize_answer(g) for g in gs) for p, gs in zip(predictions, golds)]
    f1 = [max(answer_f1(p, g) for g in gs) for p, gs in zip(predictions, golds)]
    report = {
        "model": f"{answerer.name}#{answerer.weights_sha256[:12]}",
        "questions": len(rows),
        "exact_match": round(100 * sum(exact) / len(rows), 2),
        "f1": round(100 * sum(f1) / len(rows), 2),
        "questions_per_second": round(len(rows) / seconds, 2),
    }
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
