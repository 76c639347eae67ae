"""The CONSEQ loss (``trainer_ext.conseq_loss``) as a pure function of logits and labels;
``ConSeqTrainer.compute_loss`` calls it, so what is documented here is what trains.

Two variants. ``"token"`` (the reference fairseq criterion): positive (S+) tokens get label-smoothed NLL,
negative (S-) tokens the same smoothing applied to the unlikelihood ``-log(max(1 - p, 1e-20))``; the loss
is (sum over S+ tokens + weight × sum over S- tokens) / (S+ tokens + S- tokens). ``"sequence"`` (the
paper's formula): each S+ summary gets ``-log p(y|x)`` and each S- summary ``-log(1 - p(y|x))``, divided by
the number of summaries (no smoothing).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

UNLIKELIHOOD_FLOOR = 1e-20
LOSS_VARIANTS = ("token", "sequence")
STAT_PARTS = ("pos_sum", "pos_count", "neg_sum", "neg_count", "neg_prob_sum")  # what the trainer sums between logs


class LossTerms(NamedTuple):
    """The loss before normalisation, what it is normalised by, and the parts its logged stats come from:
    sums of positive and negative losses, their counts (tokens or summaries, per variant), and the summed
    probability of the negatives (per token or per summary)."""

    total: torch.Tensor
    count: torch.Tensor
    parts: dict[str, torch.Tensor]


def _smoothed_token_loss(log_q: torch.Tensor, labels: torch.Tensor, epsilon: float, ignore_index: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token ``(1-eps) * -log_q[y] + eps/V * sum_v -log_q[v]`` and the mask of real tokens."""
    mask = labels != ignore_index
    target = labels.masked_fill(~mask, 0)
    nll = -log_q.gather(-1, target[..., None]).squeeze(-1)
    loss = (1.0 - epsilon) * nll
    if epsilon:
        loss = loss + epsilon / log_q.shape[-1] * -log_q.sum(-1)
    return loss.masked_fill(~mask, 0.0), mask


def _label_logprobs(logits: torch.Tensor, labels: torch.Tensor, ignore_index: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token log p of the labels (0 at padding) and the mask of real tokens."""
    mask = labels != ignore_index
    logp = torch.log_softmax(logits.float(), -1).gather(-1, labels.masked_fill(~mask, 0)[..., None]).squeeze(-1)
    return logp * mask, mask


def _unlikely(logp: torch.Tensor) -> torch.Tensor:
    """``log(1 - p)`` from ``log p``, floored so that p = 1 stays finite."""
    return torch.log(torch.clamp(-torch.expm1(logp), min=UNLIKELIHOOD_FLOOR))


def _token_terms(pos_logits, pos_labels, neg_logits, neg_labels, label_smoothing, ignore_index) -> dict[str, torch.Tensor]:
    pos_loss, pos_mask = _smoothed_token_loss(torch.log_softmax(pos_logits.float(), -1), pos_labels, label_smoothing, ignore_index)
    parts = {"pos_sum": pos_loss.sum(), "pos_count": pos_mask.sum()}
    if neg_logits is None:
        return parts
    neg_logp = torch.log_softmax(neg_logits.float(), dim=-1)
    neg_loss, neg_mask = _smoothed_token_loss(_unlikely(neg_logp), neg_labels, label_smoothing, ignore_index)
    label_logp, _ = _label_logprobs(neg_logits, neg_labels, ignore_index)
    return {**parts, "neg_sum": neg_loss.sum(), "neg_count": neg_mask.sum(), "neg_prob_sum": (label_logp.exp() * neg_mask).sum()}


def _sequence_terms(pos_logits, pos_labels, neg_logits, neg_labels, ignore_index) -> dict[str, torch.Tensor]:
    pos_logp = _label_logprobs(pos_logits, pos_labels, ignore_index)[0].sum(-1)
    parts = {"pos_sum": -pos_logp.sum(), "pos_count": torch.tensor(pos_logp.numel(), device=pos_logp.device)}
    if neg_logits is None:
        return parts
    neg_logp = _label_logprobs(neg_logits, neg_labels, ignore_index)[0].sum(-1)
    return {**parts, "neg_sum": -_unlikely(neg_logp).sum(), "neg_count": torch.tensor(neg_logp.numel(), device=neg_logp.device),
            "neg_prob_sum": neg_logp.exp().sum()}


def conseq_terms(
    pos_logits: torch.Tensor,
    pos_labels: torch.Tensor,
    neg_logits: torch.Tensor | None,
    neg_labels: torch.Tensor | None,
    label_smoothing: float = 0.1,
    unlikelihood_weight: float = 1.0,
    variant: str = "token",
    ignore_index: int = -100,
) -> LossTerms:
    """The CONSEQ loss of a batch before normalisation: ``total / count`` is the loss (``conseq_loss``); the
    trainer divides ``total`` by the count of a whole optimizer step instead. ``neg_logits`` None: S+ only."""
    if variant not in LOSS_VARIANTS:
        raise ValueError(f"variant={variant!r}: use one of {LOSS_VARIANTS}.")
    if variant == "token":
        parts = _token_terms(pos_logits, pos_labels, neg_logits, neg_labels, label_smoothing, ignore_index)
    else:
        parts = _sequence_terms(pos_logits, pos_labels, neg_logits, neg_labels, ignore_index)
    zero = parts["pos_sum"].new_zeros(())
    parts = {"neg_sum": zero, "neg_count": parts["pos_count"].new_zeros(()), "neg_prob_sum": zero, **parts}
    total = parts["pos_sum"] + unlikelihood_weight * parts["neg_sum"]
    return LossTerms(total, parts["pos_count"] + parts["neg_count"], parts)


def conseq_loss(
    pos_logits: torch.Tensor,
    pos_labels: torch.Tensor,
    neg_logits: torch.Tensor | None,
    neg_labels: torch.Tensor | None,
    label_smoothing: float = 0.1,
    unlikelihood_weight: float = 1.0,
    variant: str = "token",
    ignore_index: int = -100,
    return_stats: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, dict[str, float]]:
    """The CONSEQ loss of one batch (module docstring): logits [batch, length, vocab], labels [batch, length]
    with ``ignore_index`` for padding. With ``return_stats`` also the logged means (``mean_stats``)."""
    terms = conseq_terms(pos_logits, pos_labels, neg_logits, neg_labels, label_smoothing, unlikelihood_weight, variant, ignore_index)
    loss = terms.total / terms.count.clamp(min=1)
    return (loss, mean_stats(terms.parts, variant)) if return_stats else loss


def mean_stats(parts: dict[str, torch.Tensor], variant: str = "token") -> dict[str, float]:
    """The logged means of summed parts: ``pos_loss`` and ``neg_loss`` per token (per summary with the
    sequence variant), and ``neg_token_prob`` (``neg_sequence_prob``), the mean p of the negatives; the
    negative ones only when there are any."""
    stats = {"pos_loss": float(parts["pos_sum"]) / max(int(parts["pos_count"]), 1)}
    negatives = int(parts["neg_count"])
    if negatives:
        stats["neg_loss"] = float(parts["neg_sum"]) / negatives
        stats["neg_token_prob" if variant == "token" else "neg_sequence_prob"] = float(parts["neg_prob_sum"]) / negatives
    return stats
