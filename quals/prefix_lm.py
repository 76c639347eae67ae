"""A prefix language model over one BERT encoder (UniLM-style), used as a small QAGen.

Context tokens attend to each other in both directions; target tokens attend to the whole context and
to earlier targets. There is no cross-attention to learn from scratch, so a pretrained BERT (here
MiniLM-L6) becomes a question generator with far fewer updates than a bert2bert model, at half the size.

The weights keep ``BertForMaskedLM``'s layout (``bert.*`` and a tied ``cls.*`` LM head), so checkpoints
are plain safetensors that load without remote code. Decoding keeps the context's keys and values once
per context and shares them across all beams of that context (no copy per beam).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import BertConfig
from transformers.modeling_outputs import Seq2SeqLMOutput
from transformers.models.bert.modeling_bert import BertModel, BertOnlyMLMHead, BertPreTrainedModel

TARGET_TOKEN_TYPE = 1


@dataclass
class PrefixContext:
    """Per-layer keys and values of encoded contexts, with their padding mask and lengths."""

    keys: list[torch.Tensor]  # each [N, heads, S, head_dim]
    values: list[torch.Tensor]
    bias: torch.Tensor  # [N, 1, 1, S]: 0 for real tokens, -inf for padding
    lengths: torch.Tensor  # [N]

    def select(self, index: torch.Tensor) -> "PrefixContext":
        """Contexts reordered or repeated by ``index`` (for batching QA pairs of several sources)."""
        return PrefixContext(
            keys=[k.index_select(0, index) for k in self.keys],
            values=[v.index_select(0, index) for v in self.values],
            bias=self.bias.index_select(0, index),
            lengths=self.lengths.index_select(0, index),
        )


@dataclass
class TargetCache:
    """Keys and values of the target tokens decoded so far, one row per hypothesis.

    Stored time-major ([step, row, heads, head_dim]) with room for more steps, so a decoding step writes its
    token in place and ``reorder`` (beams moving to their parents) is one copy of the filled steps, where
    appending with ``cat`` and reordering row-major copied the whole cache twice per step.
    """

    keys: list[torch.Tensor]  # each [capacity, N*G, heads, head_dim]; steps [0, length) are filled
    values: list[torch.Tensor]
    length: int

    def reorder(self, index: torch.Tensor) -> "TargetCache":
        def pick(buffer: torch.Tensor) -> torch.Tensor:
            out = buffer.new_empty((buffer.shape[0], index.shape[0], *buffer.shape[2:]))
            if buffer.requires_grad:  # out= does not record gradients
                out[: self.length] = buffer[: self.length].index_select(1, index)
            else:
                torch.index_select(buffer[: self.length], 1, index, out=out[: self.length])
            return out

        return TargetCache([pick(k) for k in self.keys], [pick(v) for v in self.values], self.length)

    def append(self, layer: int, keys: torch.Tensor, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Write a layer's new keys/values ([N*G, heads, T, head_dim]) after the filled steps (growing the
        buffers when full); return all of that layer's keys/values so far, as [N*G, heads, length+T, head_dim]
        views. Call for every layer, then ``advance(T)``."""
        end = self.length + keys.shape[2]
        if end > self.keys[layer].shape[0]:
            self.keys[layer], self.values[layer] = (_grown(b, self.length, 2 * end) for b in (self.keys[layer], self.values[layer]))
        self.keys[layer][self.length : end] = keys.permute(2, 0, 1, 3)
        self.values[layer][self.length : end] = values.permute(2, 0, 1, 3)
        return self.keys[layer][:end].permute(1, 2, 0, 3), self.values[layer][:end].permute(1, 2, 0, 3)

    def advance(self, steps: int) -> None:
        self.length += steps

    @classmethod
    def empty(cls, layers: int, like: torch.Tensor, capacity: int) -> "TargetCache":
        """A cache for ``layers`` layers of keys shaped like ``like`` ([N*G, heads, T, head_dim])."""
        rows, heads, _, dim = like.shape
        make = lambda: [like.new_empty((capacity, rows, heads, dim)) for _ in range(layers)]  # noqa: E731
        return cls(make(), make(), 0)


def _grown(buffer: torch.Tensor, filled: int, capacity: int) -> torch.Tensor:
    out = buffer.new_empty((capacity, *buffer.shape[1:]))
    out[:filled] = buffer[:filled]
    return out


class PrefixLMForQAGen(BertPreTrainedModel):
    """BERT weights run as a prefix LM: ``encode`` the context once, then ``decode`` target tokens."""

    config_class = BertConfig
    _tied_weights_keys = {
        "cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight",
        "cls.predictions.decoder.bias": "cls.predictions.bias",
    }

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=False)
        self.cls = BertOnlyMLMHead(config)
        self.num_heads = config.num_attention_heads
        self.head_dim = config.hidden_size // config.num_attention_heads
        self.post_init()

    def get_output_embeddings(self) -> nn.Linear:
        return self.cls.predictions.decoder

    def set_output_embeddings(self, new_embeddings: nn.Linear) -> None:
        self.cls.predictions.decoder = new_embeddings
        self.cls.predictions.bias = new_embeddings.bias

    # -- internals -------------------------------------------------------------------------------------

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, _ = x.shape
        return x.view(batch, length, self.num_heads, self.head_dim).transpose(1, 2)

    def _merge(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, length, _ = x.shape
        return x.transpose(1, 2).reshape(batch, length, self.num_heads * self.head_dim)

    def _feed_forward(self, layer: nn.Module, attended: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
        attn_out = layer.attention.output(attended, hidden)
        return layer.output(layer.intermediate(attn_out), attn_out)

    def _embed(self, ids: torch.Tensor, positions: torch.Tensor, token_type: int) -> torch.Tensor:
        return self.bert.embeddings(
            input_ids=ids, position_ids=positions, token_type_ids=torch.full_like(ids, token_type)
        )

    def _attend(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, ctx_k: torch.Tensor, ctx_v: torch.Tensor,
        ctx_bias: torch.Tensor, target_bias: torch.Tensor, group_size: int, dropout: float,
    ) -> torch.Tensor:
        """Attention of target queries [N*G, heads, T, d] over their context's keys and over their own
        target keys, one softmax over both. All G hypotheses of a context query its keys in one matmul (G
        folded into the query axis), so the context is never copied per hypothesis."""
        rows, heads, steps, dim = q.shape
        n_ctx, src_len = rows // group_size, ctx_k.shape[2]
        scale = 1.0 / math.sqrt(dim)

        def fold(x: torch.Tensor) -> torch.Tensor:  # [N*G, heads, T, m] -> [N, heads, G*T, m]
            return x.view(n_ctx, group_size, heads, steps, -1).transpose(1, 2).reshape(n_ctx, heads, group_size * steps, -1)

        def unfold(x: torch.Tensor) -> torch.Tensor:  # the inverse
            return x.view(n_ctx, heads, group_size, steps, -1).transpose(1, 2).reshape(rows, heads, steps, -1)

        ctx_scores = unfold(torch.matmul(fold(q), ctx_k.transpose(-1, -2)) * scale + ctx_bias)
        tgt_scores = torch.matmul(q, k.transpose(-1, -2)) * scale + target_bias
        probs = torch.softmax(torch.cat([ctx_scores, tgt_scores], dim=-1), dim=-1)
        probs = F.dropout(probs, p=dropout, training=self.training)
        ctx_probs, tgt_probs = probs.split([src_len, probs.shape[-1] - src_len], dim=-1)
        return unfold(torch.matmul(fold(ctx_probs), ctx_v)) + torch.matmul(tgt_probs, v)

    # -- public API ------------------------------------------------------------------------------------

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> PrefixContext:
        """Run the contexts (right-padded) with bidirectional attention; keep every layer's keys/values."""
        lengths = attention_mask.sum(-1)
        positions = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0).expand_as(input_ids)
        hidden = self._embed(input_ids, positions, 0)
        bias = torch.zeros(attention_mask.shape, dtype=hidden.dtype, device=hidden.device)
        bias = bias.masked_fill(attention_mask == 0, float("-inf"))[:, None, None, :]
        keys, values = [], []
        dropout = self.config.attention_probs_dropout_prob if self.training else 0.0
        for layer in self.bert.encoder.layer:
            sa = layer.attention.self
            q, k, v = self._heads(sa.query(hidden)), self._heads(sa.key(hidden)), self._heads(sa.value(hidden))
            keys.append(k)
            values.append(v)
            attended = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=dropout)
            hidden = self._feed_forward(layer, self._merge(attended), hidden)
        return PrefixContext(keys, values, bias, lengths)

    def decode(
        self,
        context: PrefixContext,
        target_ids: torch.Tensor,
        cache: TargetCache | None = None,
        group_size: int = 1,
    ) -> tuple[torch.Tensor, TargetCache]:
        """Logits for ``target_ids`` [N*G, T]; rows ``i*G .. i*G+G-1`` continue context ``i``.

        ``cache`` holds the keys/values of earlier target tokens (right-padded targets need no mask:
        a causal mask never lets a real token see a later pad).
        """
        rows, steps = target_ids.shape
        past = 0 if cache is None else cache.length
        device = target_ids.device
        offsets = context.lengths.repeat_interleave(group_size) + past
        positions = offsets[:, None] + torch.arange(steps, device=device)[None, :]
        hidden = self._embed(target_ids, positions, TARGET_TOKEN_TYPE)
        causal = torch.ones(steps, past + steps, dtype=torch.bool, device=device).tril(diagonal=past)
        target_bias = torch.zeros(causal.shape, dtype=hidden.dtype, device=device).masked_fill(~causal, float("-inf"))
        dropout = self.config.attention_probs_dropout_prob if self.training else 0.0
        layers = self.bert.encoder.layer
        for i, layer in enumerate(layers):
            sa = layer.attention.self
            q, k, v = self._heads(sa.query(hidden)), self._heads(sa.key(hidden)), self._heads(sa.value(hidden))
            if cache is None:  # the first call (teacher forcing, or step 0) attends to its own keys as they are
                cache = TargetCache.empty(len(layers), k, capacity=max(2 * steps, 16))
            if past:
                k, v = cache.append(i, k, v)
            else:
                cache.append(i, k, v)
            attended = self._attend(q, k, v, context.keys[i], context.values[i], context.bias, target_bias, group_size, dropout)
            hidden = self._feed_forward(layer, self._merge(attended), hidden)
        cache.advance(steps)
        return self.cls(hidden), cache

    def prepare_decoder_input_ids_from_labels(self, labels: torch.Tensor) -> torch.Tensor:
        """Teacher-forcing inputs: labels shifted right behind ``config.decoder_start_token_id``."""
        start = self.config.decoder_start_token_id
        if start is None:
            raise ValueError("config.decoder_start_token_id is not set; set it to the tokenizer's [CLS] id.")
        shifted = labels.new_full(labels.shape, start)
        shifted[:, 1:] = labels[:, :-1]
        return shifted.masked_fill(shifted == -100, self.config.pad_token_id or 0)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        decoder_input_ids: torch.Tensor,
        labels: torch.Tensor | None = None,
    ) -> Seq2SeqLMOutput:
        """Teacher-forced training forward: mean cross-entropy over label tokens that are not -100."""
        logits, _ = self.decode(self.encode(input_ids, attention_mask), decoder_input_ids)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.float().view(-1, logits.shape[-1]), labels.view(-1), ignore_index=-100)
        return Seq2SeqLMOutput(loss=loss, logits=logits)
