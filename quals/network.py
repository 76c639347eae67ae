"""One decoding interface over every QAGen architecture.

Generation and scoring need three operations: ``encode`` sources once, ``decode`` target tokens for
``group_size`` hypotheses per source (with a cache), and ``reorder`` that cache when beams move. The
prefix-LM implements them natively; ``Seq2SeqNetwork`` adapts any Hugging Face encoder-decoder model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import torch
from transformers.modeling_outputs import BaseModelOutput


class DecodingCache(Protocol):
    def reorder(self, index: torch.Tensor) -> "DecodingCache": ...


class EncodedContext(Protocol):
    def select(self, index: torch.Tensor) -> "EncodedContext": ...


class QAGenNetwork(Protocol):
    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> EncodedContext: ...

    def decode(
        self, context: Any, target_ids: torch.Tensor, cache: Any = None, group_size: int = 1
    ) -> tuple[torch.Tensor, DecodingCache]: ...


@dataclass
class EncodedSources:
    """Encoder output of N sources."""

    hidden: torch.Tensor  # [N, S, H]
    mask: torch.Tensor  # [N, S]

    def select(self, index: torch.Tensor) -> "EncodedSources":
        return EncodedSources(self.hidden.index_select(0, index), self.mask.index_select(0, index))


@dataclass
class Seq2SeqCache:
    """The model's own cache plus the encoder output already repeated for every hypothesis."""

    cache: Any
    hidden: torch.Tensor
    mask: torch.Tensor

    def reorder(self, index: torch.Tensor) -> "Seq2SeqCache":
        """Follow beams to their parents; rows of finished sources may be dropped."""
        self.cache.reorder_cache(index)
        return Seq2SeqCache(self.cache, self.hidden.index_select(0, index), self.mask.index_select(0, index))


class Seq2SeqNetwork:
    """Adapter giving a Hugging Face encoder-decoder model (BART, T5, bert2bert) the QAGen interface."""

    def __init__(self, model: torch.nn.Module):
        self.model = model

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> EncodedSources:
        out = self.model.get_encoder()(input_ids=input_ids, attention_mask=attention_mask, return_dict=True)
        return EncodedSources(out.last_hidden_state, attention_mask)

    def decode(
        self, context: EncodedSources, target_ids: torch.Tensor, cache: Seq2SeqCache | None = None, group_size: int = 1
    ) -> tuple[torch.Tensor, Seq2SeqCache]:
        if cache is None:
            hidden = context.hidden.repeat_interleave(group_size, dim=0)
            mask = context.mask.repeat_interleave(group_size, dim=0)
            model_cache = None
        else:
            hidden, mask, model_cache = cache.hidden, cache.mask, cache.cache
        out = self.model(
            encoder_outputs=BaseModelOutput(last_hidden_state=hidden),
            attention_mask=mask,
            decoder_input_ids=target_ids,
            cache=model_cache,
            use_cache=True,
            return_dict=True,
        )
        return out.logits, Seq2SeqCache(out.cache, hidden, mask)


def as_network(model: torch.nn.Module) -> QAGenNetwork:
    """The model itself when it already speaks the interface (prefix-LM), else the seq2seq adapter."""
    if hasattr(model, "encode") and hasattr(model, "decode"):
        return model
    return Seq2SeqNetwork(model)
