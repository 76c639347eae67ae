"""SQuAD-format rows -> QAGen training examples in a checkpoint's QA format (spec Part 2, section 1.1).

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

from quals.qa_format import QAFormat, TokenIds


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
) -> dict[str, list]:
    """Tokenize rows into ``input_ids``, ``decoder_input_ids``, ``labels``, ``length`` and ``row`` (the index of
    the row an example came from: one per distinct answer) columns.

    The context window (in tokens) is drawn uniformly from ``[min_window, max_window]`` and placed at a
    random offset that keeps the answer inside. Answers cut by the window's limit are skipped, as the
    reference skips answers cut by truncation; the count is returned under ``skipped``.
    """
    ids = fmt.validate(tokenizer)
    max_window = min(max_window, fmt.max_source_length - 2)
    rng = random.Random(seed)
    out: dict[str, list] = {"input_ids": [], "decoder_input_ids": [], "labels": [], "length": [], "row": []}
    skipped = 0
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
                skipped += 1
                continue
            first, last = span[0], span[-1]
            window = rng.randint(min_window, max_window)
            if last - first + 1 > window:
                skipped += 1
                continue
            lo = max(0, last + 1 - window)
            hi = max(lo, min(first, len(offsets) - window))
            begin = rng.randint(lo, hi)
            source = enc["input_ids"][begin : begin + window]
            answer = tokenizer(text, add_special_tokens=False)["input_ids"]
            if fmt.task == "question-generation":
                source = answer + [ids.separator] + source[: fmt.max_source_length - 3 - len(answer)]
                labels = question[: fmt.max_target_length - 1] + [ids.eos]
            else:
                labels = target_ids(question, answer, ids, fmt.max_target_length)
            source = ([ids.source_bos] if ids.source_bos is not None else []) + source
            source = source + ([ids.source_eos] if ids.source_eos is not None else [])
            out["input_ids"].append(source)
            out["labels"].append(labels)
            out["decoder_input_ids"].append([ids.decoder_start] + labels[:-1])
            out["length"].append(len(source) + len(labels))
            out["row"].append(row_index)
    out["skipped"] = [skipped]
    return out
