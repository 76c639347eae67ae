"""The CONSEQ loss (spec Part 1 item 8; Part 2 section 6.3), as a pure function of logits and labels.

Positive (S+) tokens get label-smoothed NLL; negative (S-) tokens get the same smoothing applied to the
unlikelihood ``-log(max(1 - p, 1e-20))``. Both are summed over tokens and divided by the number of
positive plus negative target tokens, as the reference fairseq criterion does.
"""

from __future__ import annotations

import torch

UNLIKELIHOOD_FLOOR = 1e-20


def _smoothed_token_loss(log_q: torch.Tensor, labels: torch.Tensor, epsilon: float, ignore_index: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token ``(1-eps) * -log_q[y] + eps/V * sum_v -log_q[v]`` and the mask of real tokens."""
    mask = labels != ignore_index
    target = labels.masked_fill(~mask, 0)
    nll = -log_q.gather(-1, target[..., None]).squeeze(-1)
    loss = (1.0 - epsilon) * nll
    if epsilon:
        loss = loss + epsilon / log_q.shape[-1] * -log_q.sum(-1)
    return loss.masked_fill(~mask, 0.0), mask


def token_losses(
    pos_logits: torch.Tensor,
    pos_labels: torch.Tensor,
    neg_logits: torch.Tensor | None,
    neg_labels: torch.Tensor | None,
    label_smoothing: float = 0.1,
    ignore_index: int = -100,
) -> dict[str, torch.Tensor]:
    """Summed positive and negative token losses, token counts, and the summed p of negative tokens."""
    pos_logp = torch.log_softmax(pos_logits.float(), dim=-1)
    pos_loss, pos_mask = _smoothed_token_loss(pos_logp, pos_labels, label_smoothing, ignore_index)
    out = {"pos_sum": pos_loss.sum(), "pos_tokens": pos_mask.sum()}
    if neg_logits is None:
        zero = pos_loss.new_zeros(())
        return {**out, "neg_sum": zero, "neg_tokens": pos_mask.new_zeros(()), "neg_prob_sum": zero}
    neg_logp = torch.log_softmax(neg_logits.float(), dim=-1)
    log_one_minus_p = torch.log(torch.clamp(-torch.expm1(neg_logp), min=UNLIKELIHOOD_FLOOR))
    neg_loss, neg_mask = _smoothed_token_loss(log_one_minus_p, neg_labels, label_smoothing, ignore_index)
    neg_p = neg_logp.gather(-1, neg_labels.masked_fill(~neg_mask, 0)[..., None]).squeeze(-1).exp()
    return {**out, "neg_sum": neg_loss.sum(), "neg_tokens": neg_mask.sum(), "neg_prob_sum": (neg_p * neg_mask).sum()}


def conseq_loss(
    pos_logits: torch.Tensor,
    pos_labels: torch.Tensor,
    neg_logits: torch.Tensor,
    neg_labels: torch.Tensor,
    label_smoothing: float = 0.1,
    ignore_index: int = -100,
    return_stats: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, dict[str, float]]:
    """``(sum of positive token losses + sum of negative token losses) / (positive + negative tokens)``.

    Logits are [batch, length, vocab]; labels [batch, length] with ``ignore_index`` for padding. With
    ``return_stats`` also returns the mean positive loss, mean negative loss and mean p of negative tokens.
    """
    parts = token_losses(pos_logits, pos_labels, neg_logits, neg_labels, label_smoothing, ignore_index)
    total_tokens = (parts["pos_tokens"] + parts["neg_tokens"]).clamp(min=1)
    loss = (parts["pos_sum"] + parts["neg_sum"]) / total_tokens
    if not return_stats:
        return loss
    return loss, summarize(parts)


def summarize(parts: dict[str, torch.Tensor]) -> dict[str, float]:
    """Per-token means of a ``token_losses`` result, for logging (negative ones only when there are any)."""
    stats = {"pos_loss": parts["pos_sum"].item() / max(int(parts["pos_tokens"]), 1)}
    neg = int(parts["neg_tokens"])
    if neg:
        stats["neg_loss"] = parts["neg_sum"].item() / neg
        stats["neg_token_prob"] = parts["neg_prob_sum"].item() / neg
    return stats
