"""SQuAD-format rows -> QAGen training examples in a checkpoint's QA format.

Source = a window of the context that contains the answer (windows of varied length teach the model
both summary-sized and document-sized inputs, and keep CPU steps short); target = question, separator,
answer, end token. Each distinct answer of a question gives one example. For a question generator
(``task="question-generation"``, QAGS) the answer moves in front of the window, ``answer [sep] window``,
and the target is the question and the end token.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterator
from typing import Any

from quals.building_blocks import QAFormat, TokenIds

from .qagen_negatives import NegativeBuilder, answer_only_labels, contains


def read_squad(path: str) -> Iterator[dict[str, Any]]:
    """Yield rows with ``context``, ``question`` and ``answers`` (and the article's ``title`` where the file
    has one) from JSONL(.gz) or SQuAD's nested JSON."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        head = f.read(1)
        f.seek(0)
        if path.endswith(".json") and head == "{":
            data = json.load(f)
            for article in data["data"]:
                for para in article["paragraphs"]:
                    for qa in para["qas"]:
                        yield {
                            "title": article.get("title"),
                            "context": para["context"],
                            "question": qa["question"],
                            "answers": {
                                "text": [a["text"] for a in qa["answers"]],
                                "answer_start": [a["answer_start"] for a in qa["answers"]],
                            },
                        }
        else:
            for line_no, line in enumerate(f, 1):
                if line.strip():
                    row = json.loads(line)
                    for key in ("context", "question", "answers"):
                        if key not in row:
                            raise ValueError(f"{path}:{line_no}: missing field {key!r} (SQuAD schema expected)")
                    yield row


def target_ids(question_ids: list[int], answer_ids: list[int], ids: TokenIds, max_length: int) -> list[int]:
    """``question + [sep] + answer + [eos]``, the question clipped so the whole fits ``max_length``."""
    room = max_length - len(answer_ids) - 2
    return question_ids[: max(room, 0)] + [ids.separator] + answer_ids + [ids.eos]


def build_examples(
    rows: list[dict[str, Any]],
    tokenizer: Any,
    fmt: QAFormat,
    min_window: int = 48,
    max_window: int = 160,
    seed: int = 0,
    negatives: NegativeBuilder | None = None,
) -> dict[str, list]:
    """Tokenize rows into ``input_ids``, ``decoder_input_ids``, ``labels``, ``length`` and ``row`` (the index of
    the row an example came from: one per distinct answer) columns.

    The context window (in tokens) is drawn uniformly from ``[min_window, max_window]`` and placed at a
    random offset that keeps the answer inside. Answers cut by the window's limit are skipped, as the
    reference skips answers cut by truncation; so are answers too long for the target (with the separator, the
    end token and one question token: QAMR and QED have sentence-long answers), and the two counts are
    returned under ``skipped`` (window, target). With ``negatives``
    (QAGen only), examples also get ``negative_labels`` (answer tokens only), ``negative_decoder_input_ids``
    (the whole negative target, shifted) and ``negative_input_ids`` (empty lists where an example has no
    negative, or where the negative shares the example's source), counted per kind under ``negative_counts``.
    """
    ids = fmt.validate(tokenizer)
    max_window = min(max_window, fmt.max_source_length - 2)
    rng = random.Random(seed)
    out: dict[str, list] = {"input_ids": [], "decoder_input_ids": [], "labels": [], "length": [], "row": []}
    if negatives is not None:
        if fmt.task == "question-generation":
            raise ValueError("negatives apply to QAGen recipes only; remove 'negatives' for a question generator.")
        out["negative_labels"], out["negative_decoder_input_ids"], out["negative_input_ids"] = [], [], []
    counts = {"none": 0}
    skipped = [0, 0]  # answers outside the window, answers too long for the target
    cached_context, enc = None, None
    for row_index, row in enumerate(rows):
        if row["context"] != cached_context:
            cached_context = row["context"]
            enc = tokenizer(cached_context, add_special_tokens=False, return_offsets_mapping=True)
        offsets = enc["offset_mapping"]
        question = tokenizer(row["question"].strip(), add_special_tokens=False)["input_ids"]
        seen = set()
        for text, start in zip(row["answers"]["text"], row["answers"]["answer_start"]):
            text = text.strip()
            if not text or text in seen:
                continue
            seen.add(text)
            end = start + len(text)
            span = [i for i, (s, e) in enumerate(offsets) if s < end and e > start]
            if not span:
                skipped[0] += 1
                continue
            first, last = span[0], span[-1]
            window = rng.randint(min_window, max_window)
            if last - first + 1 > window:
                skipped[0] += 1
                continue
            lo = max(0, last + 1 - window)
            hi = max(lo, min(first, len(offsets) - window))
            begin = rng.randint(lo, hi)
            source = enc["input_ids"][begin : begin + window]
            answer = tokenizer(text, add_special_tokens=False)["input_ids"]
            if fmt.task != "question-generation" and len(answer) + 3 > fmt.max_target_length:
                skipped[1] += 1
                continue
            if fmt.task == "question-generation":
                source = answer + [ids.separator] + source[: fmt.max_source_length - 3 - len(answer)]
                labels = question[: fmt.max_target_length - 1] + [ids.eos]
            else:
                labels = target_ids(question, answer, ids, fmt.max_target_length)
            if negatives is not None:
                answer_at = (source, first - begin, last - begin)
                kind, neg_source, neg_target = draw_negative(negatives, tokenizer, ids, fmt, row["context"], text, question, answer, answer_at)
                counts[kind] = counts.get(kind, 0) + 1
                out["negative_input_ids"].append(ids.wrap_source(neg_source) if neg_source else [])
                out["negative_labels"].append(answer_only_labels(neg_target, ids.separator) if neg_target else [])
                out["negative_decoder_input_ids"].append([ids.decoder_start] + neg_target[:-1] if neg_target else [])
            source = ids.wrap_source(source)
            out["input_ids"].append(source)
            out["labels"].append(labels)
            out["decoder_input_ids"].append([ids.decoder_start] + labels[:-1])
            out["length"].append(len(source) + len(labels))
            out["row"].append(row_index)
    out["skipped"] = [tuple(skipped)]
    if negatives is not None:
        out["negative_counts"] = [counts]
    return out


def draw_negative(
    builder: NegativeBuilder, tokenizer: Any, ids: TokenIds, fmt: QAFormat, context: str, answer: str,
    question_ids: list[int], answer_ids: list[int], answer_at: tuple[list[int], int, int],
) -> tuple[str, list[int], list[int]]:
    """``(kind, negative source or [] for the example's own, the negative's whole target)`` for the window
    ``answer_at`` (its tokens, the answer's first and last position); kind ``none`` and empty lists when
    the example gets no negative or no configured kind applies to it."""
    if not builder.wants_negative():
        return "none", [], []
    tokens, first, last = answer_at
    for kind in builder.kinds():
        replacement = builder.same_context(context, answer) if kind == "swap_answer" else builder.foreign(context, answer)
        if replacement is None:
            continue
        new_ids = tokenizer(replacement, add_special_tokens=False)["input_ids"]
        if kind != "swap_context":
            return kind, [], target_ids(question_ids, new_ids, ids, fmt.max_target_length)
        corrupted = tokens[:first] + new_ids + tokens[last + 1 :]
        if len(corrupted) <= fmt.max_source_length - 2 and not contains(corrupted, answer_ids):
            return kind, corrupted, target_ids(question_ids, answer_ids, ids, fmt.max_target_length)
    return "none", [], []
