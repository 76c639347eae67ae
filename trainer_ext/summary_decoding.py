"""Decoding summaries from any summarizer architecture: top-k samples for CONSEQ, beam search for evaluation.

Both run on the QAGen network interface (``quals.network``), so a bert2bert, BART/T5 or prefix-LM
summarizer decodes the same way. Documents longer than ``max_source_length`` tokens are truncated and
counted, so callers can warn with the count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from quals.building_blocks import BeamConfig, NoRepeatNGram, as_network, diverse_beam_search, sample_sequences


@dataclass
class DecodingConfig:
    """Beam search for evaluation summaries (n-gram blocking as in BART's CNN/DM decoding).

    ``max_new_tokens`` counts the tokens before EOS, which beam search appends; the default in
    ``evaluate_summarizer`` is the recipe's ``max_target_length`` minus that EOS, the training length.
    ``no_repeat_ngram_size`` 0 turns the blocking off; ``batch_size`` is how many documents a caller
    decodes per call.
    """

    num_beams: int = 4
    min_new_tokens: int = 10
    max_new_tokens: int = 60
    length_penalty: float = 1.0
    no_repeat_ngram_size: int = 3
    batch_size: int = 8


def encode_documents(tokenizer: Any, model: Any, documents: Sequence[str], max_source_length: int) -> tuple[dict[str, torch.Tensor], int]:
    """(right-padded ``input_ids``/``attention_mask`` on the model's device, number of truncated documents)."""
    full = tokenizer(list(documents), verbose=False)["input_ids"]  # only counted here; truncated below
    truncated = sum(len(ids) > max_source_length for ids in full)
    enc = tokenizer(list(documents), truncation=True, max_length=max_source_length, padding=True, return_tensors="pt")
    device = next(model.parameters()).device
    return {k: enc[k].to(device) for k in ("input_ids", "attention_mask")}, truncated


def _special(model: Any, name: str) -> int:
    value = getattr(model.config, name, None)
    if value is None:
        raise ValueError(f"the summarizer's config has no {name}; load it with trainer_ext.summarization.load_summarizer.")
    return int(value)


def sample_texts(
    model: Any, tokenizer: Any, documents: Sequence[str], num_samples: int, max_source_length: int,
    generator: torch.Generator, **sampling: Any,
) -> tuple[list[str], int]:
    """(``num_samples`` sampled summaries per document, flat in document order; truncated documents)."""
    enc, truncated = encode_documents(tokenizer, model, documents, max_source_length)
    model.eval()
    ids = sample_sequences(
        as_network(model), enc["input_ids"], enc["attention_mask"], num_samples,
        _special(model, "decoder_start_token_id"), _special(model, "eos_token_id"), generator=generator, **sampling,
    )
    return [t.strip() for t in tokenizer.batch_decode(ids, skip_special_tokens=True)], truncated


@torch.no_grad()
def beam_texts(
    model: Any, tokenizer: Any, documents: Sequence[str], max_source_length: int, decoding: DecodingConfig,
) -> tuple[list[str], int]:
    """(the best beam-search summary of each document, truncated documents), all documents in one call."""
    enc, truncated = encode_documents(tokenizer, model, documents, max_source_length)
    model.eval()
    config = BeamConfig(
        num_beams=decoding.num_beams, num_groups=1, diversity_penalty=0.0, min_new_tokens=decoding.min_new_tokens,
        max_new_tokens=decoding.max_new_tokens, length_penalty=decoding.length_penalty,
    )
    ngram = decoding.no_repeat_ngram_size
    beams = diverse_beam_search(
        as_network(model), enc["input_ids"], enc["attention_mask"], config,
        _special(model, "decoder_start_token_id"), _special(model, "eos_token_id"),
        constraint=NoRepeatNGram(len(documents) * decoding.num_beams, ngram) if ngram else None,
    )
    best = [b[0].tokens for b in beams]
    return [t.strip() for t in tokenizer.batch_decode(best, skip_special_tokens=True)], truncated
