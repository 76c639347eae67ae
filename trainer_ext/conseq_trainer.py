"""CONSEQ fine-tuning: a ``Seq2SeqTrainer`` whose loss adds unlikelihood on negative summaries.

Each example holds a document (``input_ids``), its positive summary (``labels``, from S+) and optionally
a negative summary (``negative_labels``, from S-; with ``negative_input_ids`` when the negative has a
source of its own, as the QAGen recipe's corrupted contexts do). Positives and negatives go through the
model in one concatenated batch. The loss is normalised by the number of positive plus negative target tokens of the
whole optimizer step (all accumulation steps, all processes), so accumulation and data parallelism do
not change the gradients.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from transformers import Seq2SeqTrainer, Seq2SeqTrainingArguments

from .collators import (
    IGNORE_INDEX,
    NEGATIVE_ATTENTION_MASK,
    NEGATIVE_DECODER_INPUT_IDS,
    NEGATIVE_INPUT_IDS,
    NEGATIVE_KEYS,
    NEGATIVE_LABELS,
)
from .losses import LOSS_VARIANTS, STAT_PARTS, conseq_terms, mean_stats


@dataclass
class ConSeqConfig(Seq2SeqTrainingArguments):
    """Training arguments plus the CONSEQ loss settings (the paper's: token level, epsilon 0.1)."""

    label_smoothing_factor: float = field(default=0.1, metadata={"help": "epsilon of both loss terms"})
    unlikelihood_weight: float = field(default=1.0, metadata={"help": "weight of the negative (S-) term"})
    loss_variant: str = field(default="token", metadata={"help": "'token' (reference code) or 'sequence' (paper's formula)"})

    def __post_init__(self):
        super().__post_init__()
        if self.loss_variant not in LOSS_VARIANTS:
            raise ValueError(f"loss_variant={self.loss_variant!r}: use one of {LOSS_VARIANTS}.")
        if self.unlikelihood_weight < 0:
            raise ValueError(f"unlikelihood_weight={self.unlikelihood_weight} must be >= 0.")


def _pad_to(values: torch.Tensor, width: int, value: int = IGNORE_INDEX) -> torch.Tensor:
    return F.pad(values, (0, width - values.shape[1]), value=value)


class ConSeqTrainer(Seq2SeqTrainer):
    """Likelihood on S+ and unlikelihood on S- in one readable ``compute_loss``; logs both parts."""

    loss_is_scaled_for_ga = True  # compute_loss divides by the token count of the whole optimizer step

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.model_accepts_loss_kwargs = False
        self.label_smoother = None  # compute_loss applies args.label_smoothing_factor to both terms
        self._stats: dict[str, torch.Tensor] = {}  # per mode: the STAT_PARTS sums since the last log

    def _set_signature_columns_if_needed(self) -> None:
        if self._signature_columns is None:
            self._signature_columns = ["input_ids", "attention_mask", "labels", *NEGATIVE_KEYS]

    def _get_num_items_in_batch(self, batch_samples: list, device: torch.device) -> torch.Tensor | None:
        """Positive plus negative target tokens over the accumulated micro-batches and all processes."""
        if self.args.loss_variant == "sequence":
            count = sum(len(b["labels"]) + (len(b[NEGATIVE_LABELS]) if NEGATIVE_LABELS in b else 0) for b in batch_samples)
        else:
            count = sum(
                int((b["labels"] != IGNORE_INDEX).sum())
                + (int((b[NEGATIVE_LABELS] != IGNORE_INDEX).sum()) if NEGATIVE_LABELS in b else 0)
                for b in batch_samples
            )
        total = torch.tensor(count, device=device)
        if self.args.world_size > 1:
            total = self.accelerator.gather(total).sum()
        return total

    def _forward_pairs(self, model: torch.nn.Module, inputs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits for positives and negatives from one forward over the concatenated batch. Negatives use
        their own source and decoder inputs when the batch has them, else the row's source and inputs
        derived from their labels."""
        unwrapped = self.accelerator.unwrap_model(model)
        positives, negatives = inputs["labels"], inputs.get(NEGATIVE_LABELS)
        input_ids, attention_mask = inputs["input_ids"], inputs["attention_mask"]
        decoder_input_ids = unwrapped.prepare_decoder_input_ids_from_labels(labels=positives)
        if negatives is not None:
            pad_id = unwrapped.config.pad_token_id or 0
            neg_ids = inputs.get(NEGATIVE_INPUT_IDS, input_ids)
            neg_mask = inputs.get(NEGATIVE_ATTENTION_MASK, attention_mask)
            neg_decoder = inputs.get(NEGATIVE_DECODER_INPUT_IDS)
            if neg_decoder is None:
                neg_decoder = unwrapped.prepare_decoder_input_ids_from_labels(labels=negatives)
            width = max(positives.shape[1], negatives.shape[1])
            decoder_input_ids = torch.cat([_pad_to(decoder_input_ids, width, pad_id), _pad_to(neg_decoder, width, pad_id)])
            source_width = max(input_ids.shape[1], neg_ids.shape[1])
            input_ids = torch.cat([_pad_to(input_ids, source_width, pad_id), _pad_to(neg_ids, source_width, pad_id)])
            attention_mask = torch.cat([_pad_to(attention_mask, source_width, 0), _pad_to(neg_mask, source_width, 0)])
        logits = model(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=decoder_input_ids).logits
        if negatives is None:
            return logits, None
        n = positives.shape[0]
        return logits[:n, : positives.shape[1]], logits[n:, : negatives.shape[1]]

    def compute_loss(
        self,
        model: torch.nn.Module,
        inputs: dict[str, torch.Tensor],
        return_outputs: bool = False,
        num_items_in_batch: torch.Tensor | None = None,
    ):
        """``trainer_ext.conseq_loss`` over the step: (S+ losses + weight * S- losses) / (S+ + S- tokens, or
        summaries with the sequence variant), the count taken over the whole optimizer step."""
        pos_logits, neg_logits = self._forward_pairs(model, inputs)
        args = self.args
        terms = conseq_terms(pos_logits, inputs["labels"], neg_logits, inputs.get(NEGATIVE_LABELS),
                             args.label_smoothing_factor, args.unlikelihood_weight, args.loss_variant, IGNORE_INDEX)
        if num_items_in_batch is None:  # evaluation: this batch alone, which is conseq_loss itself
            loss = terms.total / terms.count.clamp(min=1)
        else:  # DDP averages gradients over processes, so scale the global-count normalisation back up
            loss = terms.total / num_items_in_batch.clamp(min=1) * self.accelerator.num_processes
        mode = "train" if model.training else "eval"
        sums = torch.stack([terms.parts[k].detach().double() for k in STAT_PARTS])
        self._stats[mode] = self._stats[mode] + sums if mode in self._stats else sums
        return (loss, {"pos_logits": pos_logits, "neg_logits": neg_logits}) if return_outputs else loss

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None, **gen_kwargs):
        """Loss with negatives when only the loss is asked; generation metrics see the positives only."""
        inputs = self._prepare_inputs(inputs)
        if prediction_loss_only or not self.args.predict_with_generate:
            with torch.no_grad():
                loss = self.compute_loss(model, inputs)
            return loss.detach(), None, None
        inputs = {k: v for k, v in inputs.items() if k not in NEGATIVE_KEYS}
        return super().prediction_step(model, inputs, prediction_loss_only, ignore_keys=ignore_keys, **gen_kwargs)

    def log(self, logs: dict[str, float], *args: Any, **kwargs: Any) -> None:
        """Add the positive loss, negative loss and negatives' probability since the last log (``mean_stats``:
        per token, or per summary with the sequence variant) over all processes (every process logs at the
        same steps, so each joins the reduction)."""
        mode = "eval" if any(k.startswith("eval_") for k in logs) else "train"
        prefix = "eval_" if mode == "eval" else ""
        sums = self._stats.pop(mode, None)
        if self.args.world_size > 1:
            local = sums if sums is not None else torch.zeros(len(STAT_PARTS), dtype=torch.float64)
            sums = self.accelerator.reduce(local.to(self.args.device), reduction="sum")
        if sums is not None and sums[1] > 0:
            for key, value in mean_stats(dict(zip(STAT_PARTS, sums.cpu())), self.args.loss_variant).items():
                logs[f"{prefix}{key}"] = round(value, 6)
        super().log(logs, *args, **kwargs)
