r"""A contrast set: reference summaries of FRANK's validation articles, each beside twins with one fact changed.

A consistency metric should score the reference above a twin whose one fact was changed: (entity) a named
entity swapped for another of the same type from the same document that the reference does not mention,
(number) a number changed (to another of the document's numbers of the same form, else a little), or
(negation) a negation removed, or inserted into the main clause. One twin per kind per reference where the
kind applies, chosen with a seeded random generator, so ``build`` always writes the same file. The rules
are spaCy's small English pipeline (entity types, parses) plus regular expressions, so some twins are
clumsy, and entity types are often wrong on XSum (whose references are lower-cased): a club swapped for a
person still changes a fact, but a place swapped for one inside it ("iran" -> "tehran") may not.

``build`` writes the shipped JSONL (doc_id, dataset, kind, reference, twin, changed; no documents).
``eval`` joins the documents back from frank_docs.jsonl by id, scores each distinct (document, reference)
and (document, twin) once through the resumable corpus runner, and prints JSON: the share of pairs where
the reference scores strictly higher than its twin (ties and unscored pairs counted apart), overall, per
kind and per dataset, beside the bigram-overlap baseline on the same pairs.

  python benchmarks/contrast_set.py build
  python benchmarks/contrast_set.py eval --scores runs/contrast_quals.jsonl
  python benchmarks/contrast_set.py eval --metric qags --scores runs/contrast_qags.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import DEFAULT_FRANK, DEFAULT_FRANK_DOCS, frank_article_id, read_jsonl  # noqa: E402

from quals.lexical import bigram_overlap, words  # noqa: E402
from quals.registry import metric_of  # noqa: E402

DEFAULT_CONTRAST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "contrast_frank_valid.jsonl")
KINDS = ("entity", "number", "negation")

# Entity types worth swapping (numbers, dates and amounts are the number kind's business).
ENTITY_TYPES = {"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT"}
# A clean entity: capitalised words (or numbers, or connectors: "Bank of England"); no sentences glued together
# (XSum's "community.Dr"), no web junk.
CLEAN_ENTITY = re.compile(r"[A-Z][\w.'’&-]*(?: (?:of|the|and|de|du|la|le|van|von|for|[A-Z0-9][\w.'’&-]*))*")
GLUED = re.compile(r"[a-z]\.[A-Za-z]|\w{21,}")
FUNCTION_WORDS = {"the", "of", "and", "a", "an", "s", "for", "in", "on", "at", "de"}

NUMBER = re.compile(r"(?<![\w.,])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?!\w|[.,]\d)")
NUMBER_WORDS = ["two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]
NUMBER_WORD = re.compile(r"\b(?:" + "|".join(NUMBER_WORDS) + r")\b", re.IGNORECASE)

# Numbers that are part of a name ("League Two", "Formula 1", "World War Two") are not facts to change.
NAMED_BY_NUMBER = re.compile(r"\b(?:league|formula|division|war|channel|radio|interstate|route|highway)\s+$", re.IGNORECASE)
# A number beside a month is a day of it, and stays one ("May 18" -> "May 28", never "May 55").
_MONTHS = (r"(?:january|february|march|april|may|june|july|august|september|october|november|december"
           r"|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\.?")
MONTH_BEFORE = re.compile(rf"\b{_MONTHS}\s+$", re.IGNORECASE)
MONTH_AFTER = re.compile(rf"\s+{_MONTHS}(?!\w)", re.IGNORECASE)

NEGATIONS = {"not", "n't", "never"}
# A sentence with any of these already says something negative: a second negation would garble it.
NEGATIVE_WORDS = NEGATIONS | {"no", "nobody", "nothing", "none", "neither", "nor"}
# Hosts of "n't" that are not words on their own: "ca n't" -> "can".
NT_HOSTS = {"ca": "can", "wo": "will", "sha": "shall"}
AUXILIARIES = {"is", "are", "was", "were", "has", "have", "had", "will", "would", "can", "could", "should", "must", "shall"}
DO_SUPPORT = {"VBD": "did", "VBZ": "does", "VBP": "do"}
# Verbs that report a claim: in "X happened, police have said" the fact to negate is "happened".
REPORTING = {"say", "tell", "hear", "report", "suggest", "warn", "claim", "announce", "confirm", "reveal", "add", "believe"}


@dataclass(frozen=True)
class Edit:
    """Replace text[start:end] by ``new``; ``old`` and ``new`` are what the twin's ``changed`` shows."""

    start: int
    end: int
    old: str
    new: str

    def apply(self, text: str) -> str:
        """The text with this edit made."""
        return text[: self.start] + self.new + text[self.end:]


def content_words(text: str) -> set[str]:
    """Lower-cased words of a text less function words: what decides whether the reference mentions an entity."""
    return set(words(text)) - FUNCTION_WORDS


def mention_pattern(text: str) -> re.Pattern:
    """A case-insensitive, word-bounded pattern for a mention (XSum references are lower-cased)."""
    return re.compile(r"(?<!\w)" + re.escape(text) + r"(?!\w)", re.IGNORECASE)


def document_entities(doc: Any) -> dict[str, tuple[str, int]]:
    """Clean named entities of a parsed document (possessive 's dropped): text -> (most frequent type, its count)."""
    labels: dict[str, Counter] = {}
    for ent in doc.ents:
        text = re.sub(r"['’]s$", "", " ".join(ent.text.split()))
        if ent.label_ in ENTITY_TYPES and CLEAN_ENTITY.fullmatch(text) and not GLUED.search(text):
            labels.setdefault(text, Counter())[ent.label_] += 1
    return {text: counts.most_common(1)[0] for text, counts in labels.items()}


def name_part(token: Any, document: str) -> bool:
    """Whether a reference token is a proper noun compounded into a name: tagged so, and never written in lower
    case by the document (so "james" joins "milner", but "midfielder" or "south" do not)."""
    return (token.pos_ == "PROPN" and token.is_alpha
            and not re.search(rf"(?<!\w){re.escape(token.lower_)}(?!\w)", document))


def widened(ref: Any, start: int, end: int, document: str) -> tuple[int, int]:
    """A person's mention grown by one name part on each side that the parsed reference compounds with it
    ("milner" -> "james milner"): XSum references often name in full whom the document calls by surname."""
    span = ref.char_span(start, end, alignment_mode="expand")
    if span is None:
        return start, end
    before = ref[span.start - 1] if span.start > 0 else None
    after = ref[span.end] if span.end < len(ref) else None
    if before is not None and before.dep_ == "compound" and before.head.i >= span.start and name_part(before, document):
        start = before.idx
    if after is not None and span[-1].dep_ == "compound" and span[-1].head.i == after.i and name_part(after, document):
        end = after.idx + len(after)
    return start, end


def written_as_one_place(document: str, a: str, b: str) -> bool:
    """Whether the document writes one place inside the other ("Tbilisi, Georgia"): swapping them keeps the fact."""
    a, b = re.escape(a), re.escape(b)
    return bool(re.search(rf"(?<!\w)(?:{a},\s+{b}|{b},\s+{a})(?!\w)", document, re.IGNORECASE))


def entity_edits(ref: Any, document: str, entities: dict[str, tuple[str, int]]) -> list[Edit]:
    """Every swap of an entity mention in the reference for a same-type document entity the reference never mentions,
    from the entities the document names at least twice where there are such (fewer tagging errors)."""
    reference, mentions = ref.text, []
    for text, (label, _) in entities.items():
        match = mention_pattern(text).search(reference)
        if match:
            span = widened(ref, match.start(), match.end(), document) if label == "PERSON" else match.span()
            mentions.append((*span, label))
    # Keep the longest mentions: "Gary Locke", not the "Locke" inside it.
    mentions = [m for m in mentions if not any(o != m and o[0] <= m[0] and m[1] <= o[1] for o in mentions)]
    used = content_words(reference)
    lower = reference == reference.lower()
    edits = []
    for start, end, label in sorted(set(mentions)):
        pool = [t for t, (other, _) in entities.items() if other == label and content_words(t) and not content_words(t) & used
                and not (label in ("GPE", "LOC") and written_as_one_place(document, reference[start:end], t))]
        pool = [t for t in pool if entities[t][1] >= 2] or pool
        edits += [Edit(start, end, reference[start:end], t.lower() if lower else t) for t in pool]
    return edits


def number_shape(text: str) -> tuple:
    """The written form of a number: a year, digits with thousands commas, a decimal with k places, or an integer
    of k digits (so an age stays an age: 89 -> 87 or another two-digit number, never 238)."""
    if "," in text:
        return ("commas",)
    if "." in text:
        return ("decimal", len(text.split(".")[1]))
    if len(text) == 4 and 1800 <= int(text) <= 2099:
        return ("year",)
    return ("integer", len(text))


def written_like(value: float, shape: tuple) -> str:
    """A value written in the form ``shape`` (commas, the same decimal places)."""
    if shape[0] == "commas":
        return f"{int(value):,}"
    if shape[0] == "decimal":
        return f"{value:.{shape[1]}f}"
    return str(int(value))


def nudged(text: str, rng: random.Random, high: float | None = None) -> str:
    """The number a little changed in its leading digits (39 -> 41, 22,100 -> 21,100, 2012 -> 2014), form kept,
    staying positive (and at most ``high``)."""
    shape = number_shape(text)
    digits = len(text.split(".")[0].replace(",", ""))
    scale = 1 if shape[0] == "year" else 10 ** max(0, digits - 2)
    if shape[0] == "decimal":
        scale = 10 ** -shape[1]
    value = float(text.replace(",", ""))
    options = [value + d * scale for d in (-2, -1, 1, 2) if 0 < value + d * scale <= (high or float("inf"))]
    return written_like(rng.choice(options), shape)


def number_word_edit(match: re.Match, document: str, reference: str, rng: random.Random) -> Edit:
    """A spelled-out number (two to twelve) changed to another the document spells out, else by one or two."""
    old = match.group(0)
    value = NUMBER_WORDS.index(old.lower())
    in_reference = {w.lower() for w in NUMBER_WORD.findall(reference)}
    pool = sorted({w.lower() for w in NUMBER_WORD.findall(document)} - in_reference)
    if not pool:
        pool = [NUMBER_WORDS[value + d] for d in (-2, -1, 1, 2) if 0 <= value + d < len(NUMBER_WORDS)]
    new = rng.choice(pool)
    return Edit(match.start(), match.end(), old, new.capitalize() if old[0].isupper() else new)


def number_edit(reference: str, document: str, rng: random.Random) -> Edit | None:
    """One number of the reference changed: to a different one of the document in the same form, else nudged;
    a day of the month ("May 18", "18 May") stays between 1 and 31."""
    digits = [m for m in NUMBER.finditer(reference) if not NAMED_BY_NUMBER.search(reference[: m.start()])]
    spelled = [m for m in NUMBER_WORD.finditer(reference) if not NAMED_BY_NUMBER.search(reference[: m.start()])]
    if not digits and not spelled:
        return None
    match = rng.choice(digits + spelled)
    if match.re is NUMBER_WORD:
        return number_word_edit(match, document, reference, rng)
    old = match.group(0)
    day = float(old.replace(",", "")) <= 31 and bool(  # "May 1945" is a year beside a month, not a day
        MONTH_BEFORE.search(reference[: match.start()]) or MONTH_AFTER.match(reference[match.end():]))
    in_reference = set(NUMBER.findall(reference))
    pool = sorted({n for n in NUMBER.findall(document) if number_shape(n) == number_shape(old)} - in_reference)
    pool = [n for n in pool if not day or 1 <= float(n.replace(",", "")) <= 31]
    return Edit(match.start(), match.end(), old, rng.choice(pool) if pool else nudged(old, rng, high=31 if day else None))


def main_clauses(ref: Any) -> set[int]:
    """Token indices of the verbs that carry each sentence's claim: the root, or what a reporting root reports."""
    heads = set()
    for sentence in ref.sents:
        root = sentence.root
        reported = [c for c in root.children if c.dep_ == "ccomp"] if root.lemma_ in REPORTING else []
        heads.update(t.i for t in reported or [root])
    return heads


def negation_edits(ref: Any) -> list[Edit]:
    """Every removal of a negation, and every insertion of one into a main clause, of a parsed reference."""
    text, heads, edits = ref.text, main_clauses(ref), []
    for tok in ref:
        prev = tok.nbor(-1) if tok.i > 0 else None
        if tok.dep_ == "neg" and tok.lower_ in NEGATIONS and prev is not None:
            # "did not" -> "did", "cannot" -> "can", "ca n't" -> "can", "has never" -> "has".
            host = prev.text
            if tok.lower_ == "n't" and prev.lower_ in NT_HOSTS:
                host = NT_HOSTS[prev.lower_].capitalize() if prev.text[:1].isupper() else NT_HOSTS[prev.lower_]
            edits.append(Edit(prev.idx, tok.idx + len(tok), text[prev.idx: tok.idx + len(tok)], host))
            continue
        if any(t.lower_ in NEGATIVE_WORDS for t in tok.sent) or (prev is not None and prev.pos_ == "AUX"):
            continue
        if tok.lower_ in AUXILIARIES and (tok.pos_ == "AUX" or tok.lemma_ == "be") and (tok.i in heads or tok.head.i in heads):
            new = "cannot" if tok.lower_ == "can" else f"{tok.text} not"
            edits.append(Edit(tok.idx, tok.idx + len(tok), tok.text, new))
        elif (tok.pos_ == "VERB" and tok.i in heads and tok.tag_ in DO_SUPPORT and tok.lemma_ != "be"
              and any(c.dep_ == "nsubj" for c in tok.children)
              and not any(c.dep_ in ("aux", "auxpass") for c in tok.children)):
            do = DO_SUPPORT[tok.tag_]
            edits.append(Edit(tok.idx, tok.idx + len(tok), tok.text,
                              f"{do.capitalize() if tok.text[:1].isupper() else do} not {tok.lemma_.lower()}"))
    return edits


def twins(article: dict, doc: Any, ref: Any, seed: int) -> Iterable[dict]:
    """The contrast rows of one article: at most one twin per kind, each drawn by its own seeded generator."""
    rng = {kind: random.Random(f"{seed}/{article['id']}/{kind}") for kind in KINDS}
    entity, negation = entity_edits(ref, article["document"], document_entities(doc)), negation_edits(ref)
    edits = {"entity": rng["entity"].choice(entity) if entity else None,
             "number": number_edit(article["reference"], article["document"], rng["number"]),
             "negation": rng["negation"].choice(negation) if negation else None}
    for kind, edit in edits.items():
        if edit:
            yield {"doc_id": article["id"], "dataset": article["dataset"], "kind": kind, "reference": article["reference"],
                   "twin": edit.apply(article["reference"]), "changed": f"{edit.old} -> {edit.new}"}


def validation_articles(docs_path: str, frank_path: str) -> list[dict]:
    """The frank_docs.jsonl articles that FRANK's validation split judges, in frank_docs order."""
    wanted = {frank_article_id(row) for row in read_jsonl(frank_path, "pass --frank with FRANK's frank_valid.jsonl")}
    articles = [a for a in read_jsonl(docs_path, "pass --docs with summ/frank_docs.jsonl") if a["id"] in wanted]
    missing = wanted - {a["id"] for a in articles}
    if missing:
        raise ValueError(f"{len(missing)} validation articles (e.g. {sorted(missing)[0]}) are not in {docs_path}; "
                         "pass --docs with the frank_docs.jsonl of the same FRANK release.")
    return articles


def build(args: argparse.Namespace) -> list[dict]:
    """Write the contrast set (one JSON line per twin) and return its rows."""
    from quals.qags.candidates import SpacyCandidates

    pipeline = SpacyCandidates(args.pipeline)  # the QAGS baseline's loader: package name, fallback, clear error
    nlp = pipeline.nlp
    articles = validation_articles(args.docs, args.frank)
    docs = nlp.pipe(a["document"] for a in articles)
    refs = nlp.pipe(a["reference"] for a in articles)
    rows = [row for article, doc, ref in zip(articles, docs, refs) for row in twins(article, doc, ref, args.seed)]
    with open(args.output, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    counts = Counter((r["dataset"], r["kind"]) for r in rows)
    print(json.dumps({"output": args.output, "pipeline": pipeline.name, "articles": len(articles), "twins": len(rows),
                      "by_dataset_and_kind": {f"{d}/{k}": n for (d, k), n in sorted(counts.items())}}, indent=2))
    return rows


def outcome(pairs: list[tuple[float | None, float | None]]) -> dict:
    """How often the reference scores strictly higher than its twin, with ties and unscored pairs counted apart."""
    scored = [(r, t) for r, t in pairs if r is not None and t is not None]
    higher = sum(r > t for r, t in scored)
    return {"pairs": len(pairs), "reference_higher": higher, "share": round(higher / len(pairs), 4) if pairs else None,
            "ties": sum(r == t for r, t in scored), "twin_higher": sum(r < t for r, t in scored),
            "unscored": len(pairs) - len(scored)}


def load_pairs(args: argparse.Namespace) -> tuple[list[dict], dict[str, str]]:
    """The contrast rows (the first --limit) and the documents they name, by id, from --docs."""
    rows = read_jsonl(args.contrast, "pass --contrast with a file written by `contrast_set.py build`", args.limit)
    wanted = {r["doc_id"] for r in rows}
    articles = read_jsonl(args.docs, "pass --docs with summ/frank_docs.jsonl")
    documents = {a["id"]: a["document"] for a in articles if a["id"] in wanted}
    if wanted - set(documents):
        raise ValueError(f"{args.contrast} names articles not in {args.docs} (e.g. {sorted(wanted - set(documents))[0]}); "
                         "pass --docs with the frank_docs.jsonl it was built from.")
    return rows, documents


def evaluate(args: argparse.Namespace, rows: list[dict], documents: dict[str, str], scorer: Any) -> dict:
    """Score references and twins with their documents (resuming --scores) and report the shares, metric and baseline."""
    from meta_eval import read_records

    from quals.corpus import score_corpus
    from quals.readers import Rows

    texts = list(dict.fromkeys((r["doc_id"], s) for r in rows for s in (r["reference"], r["twin"])))
    stats = score_corpus(scorer, Rows([documents[d] for d, _ in texts], [s for _, s in texts], args.contrast), args.scores)
    records = read_records(args.scores, "--scores", len(texts))
    key = metric_of(scorer).name
    score = {text: rec[key] for text, rec in zip(texts, records)}
    overlap = {text: bigram_overlap(documents[text[0]], text[1]) for text in texts}

    def shares(subset: list[dict]) -> dict:
        keys = [((r["doc_id"], r["reference"]), (r["doc_id"], r["twin"])) for r in subset]
        return {key: outcome([(score[a], score[b]) for a, b in keys]),
                "bigram_overlap": outcome([(overlap[a], overlap[b]) for a, b in keys])}

    def by(field: str) -> dict:
        return {value: shares([r for r in rows if r[field] == value]) for value in dict.fromkeys(r[field] for r in rows)}

    return {"contrast": os.path.basename(args.contrast), "pairs": len(rows), "texts_scored": len(texts),
            "signature": scorer.signature(), "all": shares(rows), "by_kind": by("kind"), "by_dataset": by("dataset"),
            "seconds_per_text_this_run": round(stats.seconds / stats.newly_scored, 3) if stats.newly_scored else None}


def main(argv: list[str] | None = None) -> dict | list[dict]:
    from quals.cli import chosen_metric
    from quals.registry import METRICS

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("build", help="write the contrast set from FRANK's validation articles")
    make.add_argument("--docs", default=DEFAULT_FRANK_DOCS, help="summ/frank_docs.jsonl (articles and references)")
    make.add_argument("--frank", default=DEFAULT_FRANK, help="FRANK's frank_valid.jsonl (which articles to use)")
    make.add_argument("--output", default=DEFAULT_CONTRAST)
    make.add_argument("--seed", type=int, default=0)
    make.add_argument("--pipeline", default="en_core_web_sm", help="spaCy pipeline (package name or folder)")
    score = commands.add_parser("eval", help="score references and twins; shares where the reference wins")
    score.add_argument("--contrast", default=DEFAULT_CONTRAST, help="the contrast set JSONL (from build)")
    score.add_argument("--docs", default=DEFAULT_FRANK_DOCS, help="summ/frank_docs.jsonl (the documents, joined by id)")
    score.add_argument("--scores", required=True, help="JSONL of scores (resumed if present)")
    score.add_argument("--limit", type=int, help="only the first N contrast pairs")
    score.add_argument("--metric", choices=list(METRICS), default="quals")
    spec = chosen_metric(argv)
    spec.settings.add_cli_flags(score)
    args = parser.parse_args(argv)
    if args.command == "build":
        return build(args)
    rows, documents = load_pairs(args)  # data errors before the model loads
    report = evaluate(args, rows, documents, spec.build(spec.settings.from_cli(args)))
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
