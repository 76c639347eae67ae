"""Decoding constraints for ``diverse_beam_search``: ``apply`` masks next-token log-probs per running
hypothesis, ``update`` follows the hypotheses to their new rows after each step.

``AnswerSpanConstraint``: after the separator, the answer must copy a contiguous span of the summary.
The reference leaves unconstrained answers to the filter, which throws most of them away when QAGen is
small. With this constraint every hypothesis that reaches EOS has an answer found in the summary (token
for token), so far more summaries keep QA pairs. State per hypothesis: whether the separator was
emitted, the answer length so far, and the summary positions that can continue the answer.

``NoRepeatNGram``: no hypothesis repeats an n-gram, the usual cure for the loops of small summarizers.
"""

from __future__ import annotations

import torch



class AnswerSpanConstraint:
    """Masks next-token log-probs so answers are spans of their own summary; EOS needs an answer."""

    def __init__(self, summary_tokens: list[list[int]], hyps_per_summary: int, separator_id: int, eos_id: int, device: torch.device):
        width = max(1, max(len(t) for t in summary_tokens))
        self.summary = torch.full((len(summary_tokens), width), -1, dtype=torch.long, device=device)
        for i, tokens in enumerate(summary_tokens):
            self.summary[i, : len(tokens)] = torch.tensor(tokens, dtype=torch.long)
        self.summary = self.summary.repeat_interleave(hyps_per_summary, dim=0)  # [rows, width]
        self.valid = self.summary >= 0
        rows = self.summary.shape[0]
        self.in_answer = torch.zeros(rows, dtype=torch.bool, device=device)
        self.answer_len = torch.zeros(rows, dtype=torch.long, device=device)
        self.next_pos = torch.zeros(rows, width, dtype=torch.bool, device=device)  # positions that may come next
        self.separator, self.eos = separator_id, eos_id

    def apply(self, log_probs: torch.Tensor, step: int, max_new_tokens: int) -> None:
        """In place on [rows, vocab]: a question first, then inside the answer only span continuations
        (and EOS once non-empty).

        A question still open two steps before the length limit gets the separator forced, so that
        every hypothesis ends as a complete pair.
        """
        # scatter_add, not scatter: a token that occurs several times in the summary must stay allowed if
        # any of its positions may come next.
        hits = torch.zeros(log_probs.shape, dtype=torch.int32, device=log_probs.device)
        hits.scatter_add_(1, self.summary.clamp(min=0), (self.next_pos & self.valid).int())
        allowed = hits > 0
        allowed[:, self.eos] |= self.answer_len > 0
        in_answer = self.in_answer[:, None]
        # Outside an answer anything goes except EOS (a pair needs a separator and an answer), and the
        # separator cannot come first (a pair needs a question), unless max_new_tokens <= 2 forces it.
        outside = torch.ones_like(allowed)
        outside[:, self.eos] = False
        if step == 0:
            outside[:, self.separator] = False
        if step >= max_new_tokens - 2:
            outside.zero_()
            outside[:, self.separator] = True
        keep = torch.where(in_answer, allowed, outside)
        log_probs.masked_fill_(~keep, float("-inf"))

    def update(self, parent_rows: torch.Tensor, tokens: torch.Tensor) -> None:
        """Advance the state of the new running beams (row i continues ``parent_rows[i]`` with ``tokens[i]``)."""
        self.summary, self.valid = self.summary[parent_rows], self.valid[parent_rows]  # rows may be dropped
        in_answer = self.in_answer[parent_rows]
        next_pos = self.next_pos[parent_rows]
        matched = next_pos & (self.summary == tokens[:, None])
        shifted = torch.zeros_like(matched)
        shifted[:, 1:] = matched[:, :-1]
        starts = tokens == self.separator
        self.next_pos = torch.where(starts[:, None], self.valid, torch.where(in_answer[:, None], shifted, torch.zeros_like(shifted)))
        self.answer_len = torch.where(in_answer, self.answer_len[parent_rows] + 1, 0)
        self.in_answer = in_answer | starts


class NoRepeatNGram:
    """Bans every token that would complete an n-gram the hypothesis already contains."""

    def __init__(self, rows: int, n: int):
        if n < 1:
            raise ValueError(f"no_repeat_ngram_size={n} must be >= 1 (0 means no constraint: pass none).")
        self.n = n
        self.history: list[list[int]] = [[] for _ in range(rows)]

    def apply(self, log_probs: torch.Tensor, step: int, max_new_tokens: int) -> None:
        """In place on [rows, vocab]: -inf for each token that follows an earlier copy of the last n-1 tokens."""
        k = self.n - 1
        for row, tokens in enumerate(self.history):
            if len(tokens) < k:
                continue
            last = tokens[len(tokens) - k :]
            banned = {tokens[i + k] for i in range(len(tokens) - k) if tokens[i : i + k] == last}
            if banned:
                log_probs[row, list(banned)] = float("-inf")

    def update(self, parent_rows: torch.Tensor, tokens: torch.Tensor) -> None:
        self.history = [self.history[p] + [t] for p, t in zip(parent_rows.tolist(), tokens.tolist())]
