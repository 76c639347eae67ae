"""Batch collation for QAGen training: right-pad sources and targets, mask padded labels with -100."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

IGNORE_INDEX = -100


def pad_sequences(seqs: list[list[int]], value: int) -> torch.Tensor:
    """Right-pad integer lists into one [batch, max_len] tensor."""
    width = max(len(s) for s in seqs)
    return torch.tensor([list(s) + [value] * (width - len(s)) for s in seqs], dtype=torch.long)


def pad_sources(rows: list[dict[str, Any]], pad_token_id: int) -> dict[str, torch.Tensor]:
    """Right-padded ``input_ids`` and their ``attention_mask``."""
    return {
        "input_ids": pad_sequences([r["input_ids"] for r in rows], pad_token_id),
        "attention_mask": pad_sequences([[1] * len(r["input_ids"]) for r in rows], 0),
    }


@dataclass
class QAGenCollator:
    """Collate ``input_ids``/``decoder_input_ids``/``labels`` rows for any QAGen architecture."""

    pad_token_id: int

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        return {
            **pad_sources(rows, self.pad_token_id),
            "decoder_input_ids": pad_sequences([r["decoder_input_ids"] for r in rows], self.pad_token_id),
            "labels": pad_sequences([r["labels"] for r in rows], IGNORE_INDEX),
        }


NEGATIVE_LABELS = "negative_labels"
NEGATIVE_INPUT_IDS = "negative_input_ids"  # a negative's own source; without it the row's input_ids
NEGATIVE_ATTENTION_MASK = "negative_attention_mask"
NEGATIVE_DECODER_INPUT_IDS = "negative_decoder_input_ids"  # given when labels are masked (QAGen: answers only)
NEGATIVE_KEYS = (NEGATIVE_LABELS, NEGATIVE_INPUT_IDS, NEGATIVE_ATTENTION_MASK, NEGATIVE_DECODER_INPUT_IDS)


@dataclass
class ConSeqCollator:
    """Pad sources, positives and negatives separately (labels with -100).

    A row may have a negative (``negative_labels``, optionally with its own ``negative_input_ids``) or
    none: rows without one contribute only their positive term. The negatives form a sub-batch of their
    own (``negative_input_ids``, ``negative_attention_mask``, ``negative_labels``), so no compute is spent
    on rows that have none. Negatives whose labels mask part of the target (the QAGen recipe keeps only
    the answer) bring the full target's ``negative_decoder_input_ids``: decoder inputs derived from masked
    labels would lose the masked tokens.
    """

    pad_token_id: int

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        batch = {
            **pad_sources(rows, self.pad_token_id),
            "labels": pad_sequences([r["labels"] for r in rows], IGNORE_INDEX),
        }
        with_negative = [i for i, r in enumerate(rows) if r.get(NEGATIVE_LABELS)]
        if with_negative:
            sources = [{"input_ids": rows[i].get(NEGATIVE_INPUT_IDS) or rows[i]["input_ids"]} for i in with_negative]
            padded = pad_sources(sources, self.pad_token_id)
            batch[NEGATIVE_INPUT_IDS], batch[NEGATIVE_ATTENTION_MASK] = padded["input_ids"], padded["attention_mask"]
            batch[NEGATIVE_LABELS] = pad_sequences([rows[i][NEGATIVE_LABELS] for i in with_negative], IGNORE_INDEX)
            decoder_inputs = [rows[i].get(NEGATIVE_DECODER_INPUT_IDS) for i in with_negative]
            if all(decoder_inputs):
                batch[NEGATIVE_DECODER_INPUT_IDS] = pad_sequences(decoder_inputs, self.pad_token_id)
            elif any(decoder_inputs):
                raise ValueError(f"some negatives of the batch have {NEGATIVE_DECODER_INPUT_IDS} and some do not; "
                                 "give it with every negative or with none.")
        return batch
