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
    """Keys and values of the target tokens decoded so far, one row per hypothesis."""

    keys: list[torch.Tensor]  # each [N*G, heads, P, head_dim]
    values: list[torch.Tensor]

    @property
    def length(self) -> int:
        return self.keys[0].shape[2]

    def reorder(self, index: torch.Tensor) -> "TargetCache":
        return TargetCache([k.index_select(0, index) for k in self.keys], [v.index_select(0, index) for v in self.values])


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
        n_ctx = rows // group_size
        scale = 1.0 / math.sqrt(self.head_dim)
        causal = torch.ones(steps, past + steps, dtype=torch.bool, device=device).tril(diagonal=past)
        target_bias = torch.zeros(causal.shape, dtype=hidden.dtype, device=device).masked_fill(~causal, float("-inf"))
        dropout = self.config.attention_probs_dropout_prob if self.training else 0.0
        new_keys, new_values = [], []
        for i, layer in enumerate(self.bert.encoder.layer):
            sa = layer.attention.self
            q, k, v = self._heads(sa.query(hidden)), self._heads(sa.key(hidden)), self._heads(sa.value(hidden))
            if cache is not None:
                k = torch.cat([cache.keys[i], k], dim=2)
                v = torch.cat([cache.values[i], v], dim=2)
            new_keys.append(k)
            new_values.append(v)
            ctx_k, ctx_v = context.keys[i], context.values[i]
            src_len = ctx_k.shape[2]
            # All G hypotheses of a context query its keys in one matmul: fold G into the query axis.
            q_folded = q.view(n_ctx, group_size, self.num_heads, steps, self.head_dim).transpose(1, 2)
            q_folded = q_folded.reshape(n_ctx, self.num_heads, group_size * steps, self.head_dim)
            ctx_scores = torch.matmul(q_folded, ctx_k.transpose(-1, -2)) * scale + context.bias
            ctx_scores = ctx_scores.view(n_ctx, self.num_heads, group_size, steps, src_len).transpose(1, 2)
            ctx_scores = ctx_scores.reshape(rows, self.num_heads, steps, src_len)
            tgt_scores = torch.matmul(q, k.transpose(-1, -2)) * scale + target_bias
            probs = torch.softmax(torch.cat([ctx_scores, tgt_scores], dim=-1), dim=-1)
            probs = F.dropout(probs, p=dropout, training=self.training)
            ctx_probs, tgt_probs = probs.split([src_len, probs.shape[-1] - src_len], dim=-1)
            ctx_probs = ctx_probs.view(n_ctx, group_size, self.num_heads, steps, src_len).transpose(1, 2)
            ctx_probs = ctx_probs.reshape(n_ctx, self.num_heads, group_size * steps, src_len)
            from_ctx = torch.matmul(ctx_probs, ctx_v).view(n_ctx, self.num_heads, group_size, steps, self.head_dim)
            from_ctx = from_ctx.transpose(1, 2).reshape(rows, self.num_heads, steps, self.head_dim)
            attended = from_ctx + torch.matmul(tgt_probs, v)
            hidden = self._feed_forward(layer, self._merge(attended), hidden)
        return self.cls(hidden), TargetCache(new_keys, new_values)

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
