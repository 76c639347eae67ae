"""SQuAD-format rows -> extractive-QA training features (QAGS's question answerer).

Each (question, context) pair becomes one or more windows of ``max_length`` tokens overlapping by
``stride``; a window's label is the answer's first and last token, or the [CLS] position (0) when the
answer is not wholly inside it, as in the usual SQuAD recipe.
"""

from __future__ import annotations

from typing import Any


def build_qa_features(rows: list[dict[str, Any]], tokenizer: Any, max_length: int = 256, stride: int = 96) -> dict[str, list]:
    """``input_ids``, ``token_type_ids``, ``attention_mask``, ``start_positions``, ``end_positions`` columns.

    The first answer of each row is the label (SQuAD train has one per question).
    """
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError("build_qa_features needs a fast tokenizer (character offsets); load it with use_fast=True.")
    enc = tokenizer(
        [r["question"].strip() for r in rows], [r["context"] for r in rows], truncation="only_second",
        max_length=max_length, stride=stride, return_overflowing_tokens=True, return_offsets_mapping=True,
    )
    columns: dict[str, list] = {k: [] for k in ("input_ids", "token_type_ids", "attention_mask", "start_positions", "end_positions")}
    for f, sample in enumerate(enc["overflow_to_sample_mapping"]):
        answers = rows[sample]["answers"]
        start_char = answers["answer_start"][0]
        end_char = start_char + len(answers["text"][0])
        sequence = enc.sequence_ids(f)
        context = [i for i, s in enumerate(sequence) if s == 1]
        offsets = enc["offset_mapping"][f]
        start = end = 0
        if context and offsets[context[0]][0] <= start_char and offsets[context[-1]][1] >= end_char:
            start = next(i for i in context if offsets[i][1] > start_char)
            end = next(i for i in reversed(context) if offsets[i][0] < end_char)
        columns["input_ids"].append(enc["input_ids"][f])
        columns["token_type_ids"].append(enc["token_type_ids"][f] if "token_type_ids" in enc else [0] * len(enc["input_ids"][f]))
        columns["attention_mask"].append(enc["attention_mask"][f])
        columns["start_positions"].append(start)
        columns["end_positions"].append(end)
    return columns
