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


@dataclass
class ConSeqCollator:
    """Pad sources, positive summaries and negative summaries separately (labels with -100)."""

    pad_token_id: int

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        batch = {
            **pad_sources(rows, self.pad_token_id),
            "labels": pad_sequences([r["labels"] for r in rows], IGNORE_INDEX),
        }
        if all(r.get(NEGATIVE_LABELS) for r in rows):
            batch[NEGATIVE_LABELS] = pad_sequences([r[NEGATIVE_LABELS] for r in rows], IGNORE_INDEX)
        elif any(r.get(NEGATIVE_LABELS) for r in rows):
            raise ValueError("some rows of the batch have negative_labels and some do not; give every row one or none.")
        return batch
