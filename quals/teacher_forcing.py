"""Teacher-forced scoring: per-token log-probabilities of QA sequences under one encoded context.

The context (a summary or a source document) is encoded once and shared by all its QA sequences; the
log-softmax runs in float32 whatever the model's dtype, so bf16 weights do not round the scores away.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .network import EncodedContext, QAGenNetwork


def token_logprobs(
    network: QAGenNetwork,
    context: EncodedContext,
    sequences: Sequence[Sequence[int]],
    decoder_start_id: int,
    pad_id: int,
) -> list[list[float]]:
    """``log p(y_t | y_<t, context)`` for every token of every sequence (a context of one source)."""
    if not sequences:
        return []
    width = max(len(s) for s in sequences)
    labels = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    for i, seq in enumerate(sequences):
        labels[i, : len(seq)] = torch.tensor(seq, dtype=torch.long)
    device = _context_device(context)
    labels = labels.to(device)
    start = torch.full((len(sequences), 1), decoder_start_id, dtype=torch.long, device=device)
    decoder_input = torch.cat([start, labels[:, :-1]], dim=1)
    logits, _ = network.decode(context, decoder_input, None, group_size=len(sequences))
    logp = torch.log_softmax(logits.float(), dim=-1).gather(-1, labels[..., None]).squeeze(-1)
    rows = logp.tolist()
    return [row[: len(seq)] for row, seq in zip(rows, sequences)]


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def _context_device(context: EncodedContext) -> torch.device:
    for name in ("hidden", "bias"):
        if hasattr(context, name):
            return getattr(context, name).device
    raise TypeError(f"cannot tell the device of {type(context).__name__}")
