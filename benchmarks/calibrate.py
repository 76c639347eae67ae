r"""Calibrate a QAGen's QUALS readings on SQuAD dev paragraphs: faithful lead sentences beside one-fact twins.

``build`` writes the calibration set (shipped as ``benchmarks/calibration_squad_dev.jsonl``): for a seeded
sample of SQuAD v1.1 dev paragraphs (CC BY-SA 4.0) of at least three sentences, the "summary" is the
paragraph's first two sentences (the lead baseline of extractive summarization) and its twin has one fact
changed by the contrast set's rules (``contrast_set.twins``: an entity of the same type from the paragraph,
a number, or a negation; one twin per paragraph, the kinds taken in turn where the paragraph allows, the
twin of a kind drawn with the seed). SQuAD dev is neither a training set
of the QAGen nor a human-judgment set.

``run`` scores every summary and twin with the given settings (resumable ``--scores``), then writes
``calibration.json`` into the model folder: the quantiles of QUALS for faithful and altered summaries, and
of the QA-pair differences (all pairs of faithful summaries; pairs of altered ones whose answer holds the
changed words). ``quals.calibration`` reads it.

  python benchmarks/calibrate.py build
  python benchmarks/calibrate.py run --model quals/models/qagen-minilm --scores runs/calibration.jsonl
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shlex
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from contrast_set import KINDS, twins  # noqa: E402
from data import SHARED_DATA, read_jsonl  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SET = os.path.join(HERE, "calibration_squad_dev.jsonl")
DEFAULT_SQUAD_DEV = os.path.join(SHARED_DATA, "squad", "dev-v1.1.jsonl.gz")
DESCRIPTION = ("{n} SQuAD v1.1 dev paragraphs of 3 or more sentences: the faithful summary is the first two sentences "
               "(extractive), the altered one the same with one fact changed (entity, number or negation)")


def squad_paragraphs(path: str) -> list[dict]:
    """Distinct SQuAD dev contexts in file order, with their article title."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} not found; pass --squad-dev with SQuAD v1.1 dev as JSONL (.gz).")
    seen: dict[str, dict] = {}
    with gzip.open(path, "rt", encoding="utf-8") if path.endswith(".gz") else open(path, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            context = row["context"].strip()
            seen.setdefault(context, {"title": row["title"], "document": context})
    return [{"id": f"squad-dev-{i:04d}", **p} for i, p in enumerate(seen.values())]


def build(args: argparse.Namespace) -> list[dict]:
    """Write the calibration set: one faithful lead and one twin per sampled paragraph."""
    from quals.qags.candidates import SpacyCandidates

    nlp = SpacyCandidates(args.pipeline).nlp
    paragraphs = squad_paragraphs(args.squad_dev)
    random.Random(args.seed).shuffle(paragraphs)
    rows: list[dict] = []
    for paragraph, doc in zip(paragraphs, nlp.pipe(p["document"] for p in paragraphs)):
        sentences = list(doc.sents)
        if len(sentences) < 3:
            continue
        lead = doc.text[sentences[0].start_char:sentences[1].end_char]
        article = {"id": paragraph["id"], "dataset": "squad-dev", "document": paragraph["document"], "reference": lead}
        options = list(twins(article, doc, nlp(lead), args.seed))
        if not options:
            continue
        # kinds in turn (entity, number, negation), else what the paragraph offers: negation almost always applies
        preferred = [t for t in options if t["kind"] == KINDS[len(rows) % len(KINDS)]]
        twin = random.Random(f"{args.seed}/{paragraph['id']}").choice(preferred or options)
        rows.append({"id": paragraph["id"], "title": paragraph["title"], "document": paragraph["document"],
                     "summary": lead, "twin": twin["twin"], "kind": twin["kind"], "changed": twin["changed"]})
        if len(rows) == args.paragraphs:
            break
    with open(args.output, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    kinds = {k: sum(r["kind"] == k for r in rows) for k in dict.fromkeys(r["kind"] for r in rows)}
    print(json.dumps({"output": args.output, "paragraphs": len(rows), "kinds": kinds}, indent=2))
    return rows


def changed_pair(answer: str, changed: str) -> bool:
    """Whether a QA pair's answer holds a word that the twin's edit ("old -> new") brought in."""
    old, _, new = changed.partition(" -> ")
    return bool((set(new.lower().split()) - set(old.lower().split())) & set(answer.lower().split()))


def run(args: argparse.Namespace, scorer) -> dict:
    """Score the set, build the calibration, write it into the model folder unless --no-write; return a report."""
    from meta_eval import read_records

    from quals.calibration import Calibration, summary_of
    from quals.corpus import score_corpus
    from quals.readers import Rows

    rows = read_jsonl(args.set, "pass --set with a file written by `calibrate.py build`", args.limit)
    texts = [(r["document"], r[side]) for r in rows for side in ("summary", "twin")]
    stats = score_corpus(scorer, Rows([d for d, _ in texts], [s for _, s in texts], args.set), args.scores, with_pairs=True)
    records = read_records(args.scores, "--scores", len(texts))
    faithful, altered, faithful_pairs, altered_pairs = [], [], [], []
    for row, kept, twin in zip(rows, records[0::2], records[1::2]):
        if kept["quals"] is not None:
            faithful.append(kept["quals"])
            faithful_pairs += [p["difference"] for p in kept["qa_pairs"]]
        if twin["quals"] is not None:
            altered.append(twin["quals"])
            altered_pairs += [p["difference"] for p in twin["qa_pairs"] if changed_pair(p["answer"], row["changed"])]
    command = "python benchmarks/calibrate.py " + shlex.join(args.argv)
    calibration = Calibration.from_scores(scorer.signature(), DESCRIPTION.format(n=len(rows)), command,
                                          faithful, altered, faithful_pairs, altered_pairs)
    report = {"signature": scorer.signature(), "counts": calibration.counts, "separation": summary_of(calibration),
              "seconds_per_summary_this_run": round(stats.seconds / stats.newly_scored, 3) if stats.newly_scored else None}
    if not args.no_write:
        report["written"] = calibration.save(args.model_folder)
    print(json.dumps(report, indent=2))
    print("\n".join(calibration.card_lines()))
    return report


def main(argv: list[str] | None = None) -> dict | list[dict]:
    from quals.quals_settings import QualsSettings

    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("build", help="write the calibration set from SQuAD dev")
    make.add_argument("--squad-dev", default=DEFAULT_SQUAD_DEV, help="SQuAD v1.1 dev as JSONL (.gz), one question per row")
    make.add_argument("--output", default=DEFAULT_SET)
    make.add_argument("--paragraphs", type=int, default=300, help="paragraphs to keep (one faithful lead and one twin each)")
    make.add_argument("--seed", type=int, default=0)
    make.add_argument("--pipeline", default="en_core_web_sm", help="spaCy pipeline (package name or folder)")
    score = commands.add_parser("run", help="score the set and write calibration.json into the model folder")
    score.add_argument("--set", default=DEFAULT_SET, help="the calibration set JSONL (from build)")
    score.add_argument("--scores", required=True, help="JSONL of scores with QA pairs (resumed if present)")
    score.add_argument("--limit", type=int, help="only the first N paragraphs")
    score.add_argument("--no-write", action="store_true", help="print the calibration without writing calibration.json")
    QualsSettings.add_cli_flags(score)
    args = parser.parse_args(argv)
    if args.command == "build":
        return build(args)
    from quals.qagen import resolve_model_path
    from quals.registry import get_metric

    args.model_folder = resolve_model_path(args.model)  # "bundled" is the package's folder
    if not args.no_write and not os.path.isdir(args.model_folder):
        raise SystemExit(f"error: --model {args.model} is not a folder; calibration.json is written into the model's "
                         "folder (pass --no-write to only print it).")
    args.argv = argv

    return run(args, get_metric("quals").build(QualsSettings.from_cli(args)))


if __name__ == "__main__":
    main()
