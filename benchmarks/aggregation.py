r"""How QUALS combines its QA pairs, measured on all three dev sets at once: the paper's mean beside alternatives.

QUALS averages the per-pair differences (log-likelihood given the source minus given the summary, per token).
A summary with one changed fact usually has one or two strongly negative pairs among ten, so the mean dilutes
them; other combinations weigh them more. This script scores QAGS-C, FRANK's validation split and the contrast
set once each with the kept pairs (``--qa-pairs`` records, resumable, default settings unless flags say
otherwise), then recomputes every aggregation of ``AGGREGATIONS`` from the stored pairs, with no further
decoding, and prints one table: QAGS-C Pearson and Spearman, FRANK Pearson overall and on its XSum (bbc)
part, FRANK's partial correlation (system controlled), and the share of contrast pairs where the reference
scores higher.

  python benchmarks/aggregation.py --work runs/aggregation
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from contrast_set import DEFAULT_CONTRAST, outcome  # noqa: E402
from data import DEFAULT_FRANK, DEFAULT_FRANK_DOCS, DEFAULT_QAGS, load_frank, load_qags, read_jsonl  # noqa: E402
from meta_eval import correlation, read_records  # noqa: E402

from quals.scorer import combine_pairs, token_differences  # noqa: E402

Pairs = list[dict]  # the qa_pairs of one record: difference, token log-probabilities given summary and source


def _logprobs(pairs: Pairs) -> tuple[list[list[float]], list[list[float]]]:
    """The stored pairs' token log-probabilities given the source and given the summary, as the scorer takes them."""
    return [p["token_logprobs_source"] for p in pairs], [p["token_logprobs_summary"] for p in pairs]


def _lowest(k: int) -> Callable[[Pairs], float]:
    def combine(pairs: Pairs) -> float:
        values = sorted(p["difference"] for p in pairs)[:k]
        return sum(values) / len(values)
    return combine


def _soft_min(pairs: Pairs) -> float:
    """-log mean exp(-d): near the mean when pairs agree, near the minimum when one pair is far below."""
    values = [-p["difference"] for p in pairs]
    top = max(values)
    return -(top + math.log(sum(math.exp(v - top) for v in values) / len(values)))


AGGREGATIONS: dict[str, Callable[[Pairs], float]] = {
    "mean (paper)": lambda pairs: sum(p["difference"] for p in pairs) / len(pairs),
    "mean of min(d, 0)": lambda pairs: sum(min(p["difference"], 0.0) for p in pairs) / len(pairs),
    "median": lambda pairs: statistics.median(p["difference"] for p in pairs),
    "soft minimum (-log mean exp -d)": _soft_min,
    "mean of the lowest 3": _lowest(3),
    "minimum": _lowest(1),
    "token mean over all pairs (aggregation=\"tokens\")": lambda pairs: combine_pairs(*_logprobs(pairs), "tokens"),
    "lowest token": lambda pairs: min(token_differences(*_logprobs(pairs))),
}


def aggregate(records: list[dict], name: str) -> list[float | None]:
    """One aggregation over each record's kept pairs; None where QUALS itself has no score. The paper's mean
    must give back the stored score: a check that the records hold what this script reads."""
    values = [None if r["quals"] is None else AGGREGATIONS[name](r["qa_pairs"]) for r in records]
    if name == "mean (paper)" and any(v is not None and abs(v - r["quals"]) > 1e-6 for v, r in zip(values, records)):
        raise ValueError("the mean of the stored pair differences is not the stored QUALS: were the records written "
                         "with --qa-pairs by this version?")
    return values


def _scored(records_path: str, docs: list[str], sums: list[str], origin: str, scorer) -> list[dict]:
    from quals.corpus import score_corpus
    from quals.readers import Rows

    score_corpus(scorer, Rows(docs, sums, origin), records_path, with_pairs=True)
    return read_records(records_path, "scores", len(docs))


def _kept(values: list[float | None], *columns: list) -> list[list]:
    rows = [i for i, v in enumerate(values) if v is not None]
    return [[values[i] for i in rows]] + [[c[i] for i in rows] for c in columns]


def _r(method: str, x: list[float], y: list[float], groups: list[str] | None = None) -> float | None:
    """A correlation rounded to 4 places (FRANK's partial one with ``groups``), None on fewer than 3 items."""
    import numpy as np

    if len(x) < 3:
        return None
    return round(correlation(method, np.asarray(x, dtype=float), np.asarray(y, dtype=float),
                             None if groups is None else np.asarray(groups)), 4)


def report(qags: tuple[list[dict], list[float]], frank: tuple[list[dict], list[float], list[str], list[str]],
           contrast: tuple[list[dict], dict[tuple[str, str], dict]]) -> dict[str, dict]:
    """Per aggregation: the dev-set figures (rounded to 4 places)."""
    out = {}
    for name in AGGREGATIONS:
        x, h = _kept(aggregate(qags[0], name), qags[1])
        fx, fh, fd, fs = _kept(aggregate(frank[0], name), frank[1], frank[2], frank[3])
        bbc = [i for i, d in enumerate(fd) if d == "bbc"]
        pairs, by_text = contrast
        value = dict(zip(by_text, aggregate(list(by_text.values()), name)))
        share = outcome([(value[(r["doc_id"], r["reference"])], value[(r["doc_id"], r["twin"])]) for r in pairs])
        out[name] = {
            "qags_c_pearson": _r("pearson", x, h), "qags_c_spearman": _r("spearman", x, h),
            "frank_pearson": _r("pearson", fx, fh),
            "frank_bbc_pearson": _r("pearson", [fx[i] for i in bbc], [fh[i] for i in bbc]),
            "frank_partial_pearson": _r("pearson", fx, fh, fs),
            "contrast_reference_higher": f"{share['reference_higher']}/{share['pairs']}",
        }
    return out


def main(argv: list[str] | None = None) -> dict:
    from quals.quals_settings import QualsSettings
    from quals.registry import get_metric

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", required=True, help="folder for the three scores files (resumed if present)")
    parser.add_argument("--qags", default=DEFAULT_QAGS, help="QAGS-C mturk_cnndm.jsonl")
    parser.add_argument("--frank", default=DEFAULT_FRANK, help="FRANK's frank_valid.jsonl")
    parser.add_argument("--contrast", default=DEFAULT_CONTRAST, help="the contrast set (contrast_set.py build)")
    parser.add_argument("--docs", default=DEFAULT_FRANK_DOCS, help="summ/frank_docs.jsonl (the contrast set's documents)")
    parser.add_argument("--limit", type=int, help="only the first N rows of each set (a quick check)")
    QualsSettings.add_cli_flags(parser)
    args = parser.parse_args(argv)
    qags_docs, qags_sums, qags_human = load_qags(args.qags, args.limit)
    frank = load_frank(args.frank, args.limit)
    pairs = read_jsonl(args.contrast, "pass --contrast with a file written by `contrast_set.py build`", args.limit)
    documents = {a["id"]: a["document"] for a in read_jsonl(args.docs, "pass --docs with summ/frank_docs.jsonl")}
    texts = list(dict.fromkeys((r["doc_id"], s) for r in pairs for s in (r["reference"], r["twin"])))
    scorer = get_metric("quals").build(QualsSettings.from_cli(args))
    os.makedirs(args.work, exist_ok=True)
    qags_records = _scored(os.path.join(args.work, "qags_c.jsonl"), qags_docs, qags_sums, args.qags, scorer)
    frank_records = _scored(os.path.join(args.work, "frank_valid.jsonl"), frank.docs, frank.sums, args.frank, scorer)
    contrast_records = _scored(os.path.join(args.work, "contrast.jsonl"), [documents[d] for d, _ in texts],
                               [s for _, s in texts], args.contrast, scorer)
    result = {"signature": scorer.signature(),
              "aggregations": report((qags_records, qags_human), (frank_records, frank.human, frank.datasets, frank.systems),
                                     (pairs, dict(zip(texts, contrast_records))))}
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
