"""Top-k ancestral sampling over any QAGen network (prefix-LM or encoder-decoder).

CONSEQ samples candidate summaries from the summarizer; ``model.generate`` exists only for Hugging Face
seq2seq models, so sampling runs on the same ``encode``/``decode`` interface as our beam search and works
for both architectures. Each source is encoded once and shared by its ``num_samples`` rows.
"""

from __future__ import annotations

import torch

from .network import QAGenNetwork


@torch.no_grad()
def sample_sequences(
    network: QAGenNetwork,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    num_samples: int,
    decoder_start_id: int,
    eos_id: int,
    top_k: int = 50,
    temperature: float = 1.0,
    min_new_tokens: int = 0,
    max_new_tokens: int = 60,
    generator: torch.Generator | None = None,
) -> list[list[int]]:
    """``num_samples`` sequences per source (rows ``i*K .. i*K+K-1`` belong to source ``i``).

    Each sequence holds the generated ids without the decoder start, ending with EOS unless it reached
    ``max_new_tokens`` first (the EOS counts, as in ``generate``; beam search appends it after
    ``max_new_tokens`` tokens instead); EOS is banned before ``min_new_tokens``. ``top_k=0`` samples the
    full distribution. Pass a seeded CPU ``generator`` for reproducible samples on any device.
    """
    if num_samples < 1 or temperature <= 0 or top_k < 0 or not 0 <= min_new_tokens <= max_new_tokens:
        raise ValueError(
            f"need num_samples >= 1 (got {num_samples}), temperature > 0 (got {temperature}), top_k >= 0 "
            f"(got {top_k}) and 0 <= min_new_tokens ({min_new_tokens}) <= max_new_tokens ({max_new_tokens})."
        )
    rows = input_ids.shape[0] * num_samples
    device = input_ids.device
    context = network.encode(input_ids, attention_mask)
    step_ids = torch.full((rows, 1), decoder_start_id, dtype=torch.long, device=device)
    finished = torch.zeros(rows, dtype=torch.bool)
    sequences: list[list[int]] = [[] for _ in range(rows)]
    cache = None
    for step in range(max_new_tokens):
        logits, cache = network.decode(context, step_ids, cache, group_size=num_samples)
        logits = logits[:, -1].float() / temperature
        if step < min_new_tokens:
            logits[:, eos_id] = float("-inf")
        if 0 < top_k < logits.shape[-1]:
            kth = logits.topk(top_k, dim=-1).values[:, -1:]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        probs = torch.softmax(logits, dim=-1).cpu()  # drawn on the CPU so a CPU generator seeds any device
        next_ids = torch.multinomial(probs, 1, generator=generator).squeeze(-1)
        for row, token in enumerate(next_ids.tolist()):
            if not finished[row]:
                sequences[row].append(token)
        finished |= next_ids == eos_id
        if bool(finished.all()):
            break
        step_ids = next_ids[:, None].to(device)
    return sequences
