"""Diverse beam search with the Hamming penalty (Vijayakumar et al., 2018), batched over many sources.

Transformers 5 dropped group beam search from its core, so this is our own loop over the network's
``encode``/``decode`` with a cache. Within a group it follows transformers' beam search exactly (top
``2b`` candidates, EOS candidates among the top ``b`` are finalized with score / length**length_penalty,
the same early-stop heuristic), so with one group and no penalty both return the same hypotheses.
Across groups, group ``g`` subtracts ``diversity_penalty`` times the number of beams of groups ``0..g-1``
that continue with each token at this step (as transformers' old group beam search did; fairseq also
counted EOS and runner-up candidates). Token scores include that penalty, as in the reference code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .network import QAGenNetwork

NEG = -1.0e9


@dataclass(frozen=True)
class BeamConfig:
    """Decoding settings; the defaults are the paper's QAGen settings (60 beams in 60 groups, penalty 0.5, 8 to 60 tokens)."""

    num_beams: int = 60
    num_groups: int = 60
    diversity_penalty: float = 0.5
    min_new_tokens: int = 8
    max_new_tokens: int = 60
    length_penalty: float = 1.0

    def __post_init__(self) -> None:
        if self.num_beams < 1 or self.num_groups < 1 or self.num_beams % self.num_groups:
            raise ValueError(
                f"num_beams={self.num_beams} must be a positive multiple of num_beam_groups={self.num_groups}."
            )
        if not 0 <= self.min_new_tokens <= self.max_new_tokens:
            raise ValueError(
                f"need 0 <= min_new_tokens ({self.min_new_tokens}) <= max_new_tokens ({self.max_new_tokens})."
            )
        if self.diversity_penalty < 0:
            raise ValueError(f"diversity_penalty={self.diversity_penalty} must be >= 0.")


@dataclass
class Hypothesis:
    """A finished sequence: generated ids (no decoder start, final EOS included) and its scores."""

    tokens: list[int]
    token_scores: list[float]
    score: float  # sum of token_scores / len(tokens) ** length_penalty


def diverse_beam_search(
    network: QAGenNetwork,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    config: BeamConfig,
    decoder_start_id: int,
    eos_id: int,
    context=None,
    constraint=None,
    on_finished: Callable[[int], object] | None = None,
) -> list[list[Hypothesis]]:
    """Decode every source of the batch; return up to ``num_beams`` hypotheses per source, best first.

    At most ``max_new_tokens`` tokens come before EOS (EOS is forced after them) and at least
    ``min_new_tokens`` (EOS is banned before). Pass ``context`` to reuse an encoding of the sources, and
    ``constraint`` (e.g. ``AnswerSpanConstraint``) to restrict tokens per hypothesis. Fewer than
    ``num_beams`` come back only when a constraint leaves fewer ways to finish: a candidate descended
    from a placeholder beam (score ``NEG``) never finishes. ``on_finished(k)`` is told each time ``k``
    sources are decoded (for progress reports: sources of one batch finish at different steps).
    """
    n_src = input_ids.shape[0]
    groups, per_group = config.num_groups, config.num_beams // config.num_groups
    width = 2 * per_group
    device = input_ids.device
    if context is None:
        context = network.encode(input_ids, attention_mask)
    max_len = config.max_new_tokens + 1
    alive = torch.arange(n_src, device=device)  # original index of each source still decoding
    results: list[list[Hypothesis]] = [[] for _ in range(n_src)]

    # Running beams are laid out [source, slot, beam] and flattened to rows for the network; slot j of a
    # source decodes its group slot_groups[source, j]. A closed group's beams no longer matter (about
    # half of all group-steps at the paper's settings), so slots hold only open groups, padded with
    # closed ones to the same count for every source. Finished hypotheses stay [source, group, beam].
    slot_groups = torch.arange(groups, device=device).repeat(n_src, 1)
    slot_open = torch.ones(n_src, groups, dtype=torch.bool, device=device)
    running_scores = torch.zeros(n_src, groups, per_group, device=device)
    running_scores[:, :, 1:] = NEG  # only the first beam of each group is live at step 0
    running_tokens = torch.zeros(n_src, groups, per_group, 0, dtype=torch.long, device=device)
    running_token_scores = torch.zeros(n_src, groups, per_group, 0, device=device)
    done_tokens = torch.full((n_src, groups, per_group, max_len), eos_id, dtype=torch.long, device=device)
    done_token_scores = torch.zeros(n_src, groups, per_group, max_len, device=device)
    done_lengths = torch.zeros(n_src, groups, per_group, dtype=torch.long, device=device)
    done_scores = torch.full((n_src, groups, per_group), NEG, device=device)

    # Step 0 decodes one row per source: every beam starts from the same decoder start token, so their
    # logits are equal; the rows are repeated after the softmax and the cache follows at the first reorder.
    next_input = torch.full((n_src, 1), decoder_start_id, dtype=torch.long, device=device)
    cache = None
    for step in range(max_len):
        n_alive, slots = slot_groups.shape
        logits, cache = network.decode(context, next_input, cache, group_size=slots * per_group if step else 1)
        log_probs = torch.log_softmax(logits[:, -1, :].float(), dim=-1)
        if step == 0:
            log_probs = log_probs.repeat_interleave(config.num_beams, dim=0)
        vocab = log_probs.shape[-1]
        if constraint is not None:
            constraint.apply(log_probs, step, config.max_new_tokens)
        if step < config.min_new_tokens:
            log_probs[:, eos_id] = float("-inf")
        if step == config.max_new_tokens:
            eos_column = log_probs[:, eos_id].clone()
            log_probs.fill_(float("-inf"))
            log_probs[:, eos_id] = eos_column
        log_probs = log_probs.view(n_alive, slots, per_group, vocab)

        # Within a source, open slots come first and in group order, closed padding after: the counts of
        # a slot reach later groups only, and those of closed padding reach closed padding only.
        cand_scores = torch.empty(n_alive, slots, width, device=device)
        cand_ids = torch.empty(n_alive, slots, width, dtype=torch.long, device=device)
        counts = torch.zeros(n_alive, vocab, device=device)
        for j in range(slots):
            group_lp = log_probs[:, j]
            if j and config.diversity_penalty:
                group_lp = group_lp - config.diversity_penalty * counts[:, None, :]
            total = (running_scores[:, j, :, None] + group_lp).view(n_alive, per_group * vocab)
            top_scores, top_ids = torch.topk(total, width, dim=-1)
            cand_scores[:, j], cand_ids[:, j] = top_scores, top_ids
            if config.diversity_penalty and j + 1 < slots:
                # Penalise, for later groups, the tokens this group continues with: its best
                # `per_group` candidates that are not EOS (EOS candidates end instead of continuing).
                tokens = top_ids % vocab
                continuing = tokens != eos_id
                continuing &= continuing.cumsum(-1) <= per_group
                counts.scatter_add_(1, tokens, continuing.float())

        parent = cand_ids // vocab  # beam within the group
        token = cand_ids % vocab
        token_score = cand_scores - running_scores.gather(2, parent)
        # History of every candidate: its parent's tokens and scores plus the new one.
        history_index = parent[..., None].expand(-1, -1, -1, step)
        hist_tokens = torch.cat([running_tokens.gather(2, history_index), token[..., None]], -1)
        hist_scores = torch.cat([running_token_scores.gather(2, history_index), token_score[..., None]], -1)

        # Finalize EOS candidates ranked in the top `per_group` of an open group (placeholders and their
        # descendants, scored below NEG / 2, never): merge them with the group's finished hypotheses and
        # keep the best `per_group`.
        is_eos = token == eos_id
        rank_ok = torch.arange(width, device=device) < per_group
        finishing = is_eos & rank_ok & slot_open[..., None] & (cand_scores > NEG / 2)
        length = step + 1
        normalized = cand_scores / (length**config.length_penalty)
        normalized = normalized.masked_fill(~finishing, float("-inf"))  # below the NEG of empty places
        by_group = slot_groups[:, :, None].expand(-1, -1, per_group)
        merged_scores = torch.cat([done_scores.gather(1, by_group), normalized], dim=2)
        best = torch.topk(merged_scores, per_group, dim=2).indices
        group_done = merged_scores.gather(2, best)  # each slot's group's finished scores, best first
        done_scores.scatter_(1, by_group, group_done)
        pad = max_len - length
        _merge_finished(done_tokens, F.pad(hist_tokens, (0, pad), value=eos_id), by_group, best)
        _merge_finished(done_token_scores, F.pad(hist_scores, (0, pad), value=0.0), by_group, best)
        _merge_finished(done_lengths, torch.full_like(normalized, length, dtype=torch.long), by_group, best)

        # Continue with the best `per_group` non-EOS candidates.
        alive_scores = torch.where(is_eos, cand_scores + NEG, cand_scores)
        keep = torch.topk(alive_scores, per_group, dim=2).indices
        running_scores = alive_scores.gather(2, keep)
        running_tokens = hist_tokens.gather(2, keep[..., None].expand(-1, -1, -1, length))
        running_token_scores = hist_scores.gather(2, keep[..., None].expand(-1, -1, -1, length))

        # A group stays open while its best running beam could still beat its worst finished one.
        all_done = (group_done > NEG / 2).all(dim=2)
        best_running = running_scores[:, :, 0] / (length**config.length_penalty)
        worst_done = torch.where(all_done, group_done.min(dim=2).values, torch.full_like(best_running, NEG))
        slot_open &= best_running > worst_done
        still = slot_open.any(dim=1) if step < config.max_new_tokens else torch.zeros_like(slot_open[:, 0])
        finished = (~still).nonzero().flatten().tolist()
        for i in finished:  # a source with every group closed is final
            results[int(alive[i])] = _hypotheses(done_tokens[i], done_token_scores[i], done_lengths[i], done_scores[i])
        if finished and on_finished is not None:
            on_finished(len(finished))
        if not still.any():
            break

        # Drop finished sources and closed groups (open slots first, in group order), then move every
        # cache to the parents of the surviving beams.
        kept = still.nonzero().flatten()
        new_slots = int(slot_open[kept].sum(dim=1).max())
        order = torch.argsort((~slot_open[kept]).int(), dim=1, stable=True)[:, :new_slots]  # old slot of each new one
        slot_groups, slot_open = slot_groups[kept].gather(1, order), slot_open[kept].gather(1, order)
        by_slot = order[:, :, None].expand(-1, -1, per_group)
        parent_beams = parent.gather(2, keep)[kept].gather(1, by_slot)
        parent_rows = ((kept[:, None, None] * slots + order[:, :, None]) * per_group + parent_beams).view(-1)
        running_scores = running_scores[kept].gather(1, by_slot)
        by_slot_step = by_slot[..., None].expand(-1, -1, -1, length)
        running_tokens = running_tokens[kept].gather(1, by_slot_step)
        running_token_scores = running_token_scores[kept].gather(1, by_slot_step)
        if kept.shape[0] < n_alive:
            alive, context = alive[kept], context.select(kept)
            done_tokens, done_token_scores, done_lengths = done_tokens[kept], done_token_scores[kept], done_lengths[kept]
            done_scores = done_scores[kept]
        cache = cache.reorder(parent_rows if step else parent_rows // (slots * per_group))
        next_input = running_tokens[..., -1].reshape(-1, 1)
        if constraint is not None:
            constraint.update(parent_rows, next_input[:, 0])
    return results


def _merge_finished(done: torch.Tensor, new: torch.Tensor, by_group: torch.Tensor, best: torch.Tensor) -> None:
    """In place on ``done`` [source, group, beam, ...] with ``new`` [source, slot, candidate, ...]:
    ``done[s, g] = cat(done[s, g], new[s, j])[best[s, j]]`` for ``g = by_group[s, j, 0]``. A source's
    slots hold distinct groups, so each group is written once."""

    def spread(index: torch.Tensor) -> torch.Tensor:
        """Repeat a [source, slot, k] index over the trailing dimensions of ``done``."""
        return index.view(*index.shape, *[1] * (done.dim() - 3)).expand(*index.shape, *done.shape[3:])

    merged = torch.cat([done.gather(1, spread(by_group)), new], dim=2)
    done.scatter_(1, spread(by_group), merged.gather(2, spread(best)))


def _hypotheses(tokens: torch.Tensor, token_scores: torch.Tensor, lengths: torch.Tensor, scores: torch.Tensor) -> list[Hypothesis]:
    """One source's finished hypotheses ([groups, beams, ...] tensors), best first."""
    order = torch.argsort(scores.view(-1), descending=True, stable=True).tolist()
    flat_tokens = tokens.reshape(-1, tokens.shape[-1]).tolist()
    flat_scores = token_scores.reshape(-1, tokens.shape[-1]).tolist()
    flat_lengths, flat_norm = lengths.view(-1).tolist(), scores.view(-1).tolist()
    return [
        Hypothesis(flat_tokens[j][: flat_lengths[j]], flat_scores[j][: flat_lengths[j]], flat_norm[j])
        for j in order
        if flat_lengths[j] > 0
    ]
