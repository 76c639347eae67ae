"""Diverse beam search: equals transformers' beam search with one group; groups differ; lengths hold."""

from __future__ import annotations

import pytest
import torch

from quals.generation import BeamConfig, diverse_beam_search
from quals.network import Seq2SeqNetwork
from quals.prefix_lm import PrefixLMForQAGen
from tiny import tiny_bart, tiny_bert_config, tiny_tokenizer

START, EOS, PAD = 3, 4, 0
TEXTS = ["alice was born in paris .", "bob won the prize in 1990 and moved to london ."]
THREE_TEXTS = TEXTS + ["carol met dan in rome in 2001 ."]


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    return tiny_tokenizer(str(tmp_path_factory.mktemp("tok")))


def _batch(tokenizer):
    enc = tokenizer(TEXTS, return_tensors="pt", padding=True)
    return enc["input_ids"], enc["attention_mask"]


@pytest.mark.parametrize("seed,eos_bias", [(1, 1.5), (2, 1.0)])
def test_one_group_equals_transformers_beam_search(tokenizer, seed, eos_bias):
    model = tiny_bart(len(tokenizer), seed=seed, eos_bias=eos_bias)
    ids, mask = _batch(tokenizer)
    config = BeamConfig(num_beams=4, num_groups=1, diversity_penalty=0.0, min_new_tokens=3, max_new_tokens=30)
    with torch.no_grad():
        ours = diverse_beam_search(Seq2SeqNetwork(model), ids, mask, config, START, EOS)
        ref = model.generate(
            input_ids=ids, attention_mask=mask, num_beams=4, num_return_sequences=4, min_new_tokens=3,
            max_new_tokens=31, length_penalty=1.0, early_stopping=False, do_sample=False, no_repeat_ngram_size=0,
            decoder_start_token_id=START, eos_token_id=EOS, pad_token_id=PAD, output_scores=True,
            return_dict_in_generate=True,
        )
    for i in range(len(TEXTS)):
        for j in range(4):
            expected = ref.sequences[i * 4 + j].tolist()[1:]
            expected = expected[: expected.index(EOS) + 1]
            assert ours[i][j].tokens == expected
            assert len(expected) < 31, "the test needs beams that finish before the length limit"
            assert ours[i][j].score == pytest.approx(ref.sequences_scores[i * 4 + j].item(), abs=1e-5)


def _prefix_lm(tokenizer, seed=0, eos_bias=0.0):
    torch.manual_seed(seed)
    model = PrefixLMForQAGen(tiny_bert_config(len(tokenizer))).eval()
    with torch.no_grad():
        model.cls.predictions.bias[EOS] += eos_bias
    return model


class _RowCounter:
    """Wraps a network and records how many hypothesis rows each decoding step ran."""

    def __init__(self, network):
        self.network, self.rows = network, []

    def encode(self, *args):
        return self.network.encode(*args)

    def decode(self, context, target_ids, cache=None, group_size=1):
        self.rows.append(target_ids.shape[0])
        return self.network.decode(context, target_ids, cache, group_size)


def _first_tokens(hyps):
    return [h.tokens[0] for h in hyps]


def test_penalty_makes_groups_differ(tokenizer):
    model = _prefix_lm(tokenizer)
    ids, mask = _batch(tokenizer)
    with torch.no_grad():
        same = diverse_beam_search(model, ids, mask, BeamConfig(6, 6, 0.0, 2, 8), START, EOS)
        diverse = diverse_beam_search(model, ids, mask, BeamConfig(6, 6, 100.0, 2, 8), START, EOS)
    for hyps in same:  # no penalty: every group finds the same best sequence
        assert len({tuple(h.tokens) for h in hyps}) == 1
    for hyps in diverse:  # a huge penalty forces a different first token in every group
        assert len(set(_first_tokens(hyps))) == 6


@pytest.mark.parametrize("eos_bias,check", [(20.0, "min"), (-50.0, "max")])
def test_length_limits(tokenizer, eos_bias, check):
    model = _prefix_lm(tokenizer, eos_bias=eos_bias)
    ids, mask = _batch(tokenizer)
    config = BeamConfig(num_beams=4, num_groups=2, diversity_penalty=0.5, min_new_tokens=5, max_new_tokens=9)
    with torch.no_grad():
        results = diverse_beam_search(model, ids, mask, config, START, EOS)
    for hyps in results:
        assert len(hyps) == 4
        for h in hyps:
            assert h.tokens[-1] == EOS and EOS not in h.tokens[:-1]
            assert 5 + 1 <= len(h.tokens) <= 9 + 1
            assert h.score == pytest.approx(sum(h.token_scores) / len(h.tokens), abs=1e-5)
        lengths = {len(h.tokens) for h in hyps}
        # EOS is favoured: it comes as soon as allowed; EOS is disfavoured: it is forced at the limit.
        assert lengths == ({6} if check == "min" else {10})


def test_batch_and_padding_do_not_change_results(tokenizer):
    model = _prefix_lm(tokenizer, eos_bias=2.0)
    ids, mask = _batch(tokenizer)
    config = BeamConfig(num_beams=4, num_groups=4, diversity_penalty=0.5, min_new_tokens=2, max_new_tokens=10)
    with torch.no_grad():
        together = diverse_beam_search(model, ids, mask, config, START, EOS)
        alone = diverse_beam_search(model, ids[:1, : int(mask[0].sum())], mask[:1, : int(mask[0].sum())], config, START, EOS)
    assert [h.tokens for h in together[0]] == [h.tokens for h in alone[0]]
    assert [h.score for h in together[0]] == pytest.approx([h.score for h in alone[0]], abs=1e-5)


def test_invalid_config_is_rejected():
    with pytest.raises(ValueError, match="multiple of num_beam_groups"):
        BeamConfig(num_beams=10, num_groups=3)
    with pytest.raises(ValueError, match="min_new_tokens"):
        BeamConfig(min_new_tokens=9, max_new_tokens=8)


def _is_span(answer, tokens):
    return any(tokens[j : j + len(answer)] == answer for j in range(len(tokens) - len(answer) + 1))


def test_answer_span_constraint_yields_complete_pairs_copied_from_the_summary(tokenizer):
    from quals.constraints import AnswerSpanConstraint
    from quals.filtering import split_qa

    model = _RowCounter(_prefix_lm(tokenizer, seed=2))
    enc = tokenizer(THREE_TEXTS, return_tensors="pt", padding=True)
    ids, mask = enc["input_ids"], enc["attention_mask"]
    summaries = [ids[i][mask[i].bool()].tolist()[1:-1] for i in range(len(THREE_TEXTS))]
    config = BeamConfig(num_beams=8, num_groups=8, diversity_penalty=0.5, min_new_tokens=2, max_new_tokens=10)
    constraint = AnswerSpanConstraint(summaries, config.num_beams, separator_id=1, eos_id=EOS, device=ids.device)
    with torch.no_grad():
        results = diverse_beam_search(model, ids, mask, config, START, EOS, constraint=constraint)
    assert any(rows % 8 for rows in model.rows), "closed groups must leave the batch (the constraint follows them)"
    for summary, hyps in zip(summaries, results):
        assert len(hyps) == 8
        for h in hyps:
            parts = split_qa(h.tokens, 1, EOS)
            assert parts is not None, h.tokens
            assert _is_span(parts[1], summary)


def test_span_constraint_allows_every_continuation_of_a_repeated_token():
    from quals.constraints import AnswerSpanConstraint

    summary = [20, 21, 20, 22]  # token 20 occurs twice: "a b a c"
    c = AnswerSpanConstraint([summary], hyps_per_summary=1, separator_id=1, eos_id=EOS, device=torch.device("cpu"))

    def allowed(step):
        lp = torch.zeros(1, 30)
        c.apply(lp, step, max_new_tokens=20)
        return set(torch.isfinite(lp[0]).nonzero().flatten().tolist())

    assert EOS not in allowed(0) and 1 not in allowed(0)  # first a question token: neither EOS nor separator
    c.update(torch.tensor([0]), torch.tensor([25]))
    assert EOS not in allowed(1) and {1, 20, 25} <= allowed(1)  # the question goes on or the separator comes
    c.update(torch.tensor([0]), torch.tensor([1]))  # separator: the answer starts
    assert allowed(2) == {20, 21, 22}
    c.update(torch.tensor([0]), torch.tensor([20]))  # "a": next is "b" (position 1) or "c" (position 3)
    assert allowed(3) == {21, 22, EOS}
    c.update(torch.tensor([0]), torch.tensor([22]))  # "a c": the summary ends, only EOS
    assert allowed(4) == {EOS}
    assert allowed(18) == {EOS}  # near the length limit an open answer may still end


class _OnlyToken:
    """A constraint that allows one token before the length limit (then EOS is forced)."""

    def __init__(self, token: int):
        self.token = token

    def apply(self, log_probs, step, max_new_tokens):
        if step < max_new_tokens:
            allowed = log_probs[:, self.token].clone()
            log_probs.fill_(float("-inf"))
            log_probs[:, self.token] = allowed

    def update(self, parent_rows, tokens):
        pass


def test_placeholder_beams_never_finish(tokenizer):
    """Four beams but one way to finish: only that hypothesis comes back, not the descendants of the
    placeholder beams that start each group (their scores carry NEG, divided down by the length)."""
    model = _prefix_lm(tokenizer, seed=1)
    ids, mask = _batch(tokenizer)
    config = BeamConfig(num_beams=4, num_groups=1, diversity_penalty=0.0, min_new_tokens=0, max_new_tokens=3)
    with torch.no_grad():
        results = diverse_beam_search(model, ids, mask, config, START, EOS, constraint=_OnlyToken(7))
    for hyps in results:
        assert [h.tokens for h in hyps] == [[7, 7, 7, EOS]]
        assert -50 < hyps[0].score < 0


def _reference_search(network, ids, mask, config, start, eos):
    """The algorithm of the module docstring, written plainly: one source and one group at a time, the
    whole prefix re-run at every step (no cache, no batching, no dropping of closed groups)."""
    groups, per_group = config.num_groups, config.num_beams // config.num_groups
    results = []
    for i in range(ids.shape[0]):
        n = int(mask[i].sum())
        context = network.encode(ids[i : i + 1, :n], mask[i : i + 1, :n])
        running = [[((), (), 0.0)] for _ in range(groups)]  # (tokens, token scores, total) per group
        done = [[] for _ in range(groups)]  # (normalized score, tokens, token scores), best first
        is_open = [True] * groups
        for step in range(config.max_new_tokens + 1):
            used = None  # tokens continued by earlier groups at this step
            for g in range(groups):
                if not is_open[g]:
                    continue
                candidates = []
                for tokens, token_scores, total in running[g]:
                    logits, _ = network.decode(context, torch.tensor([[start, *tokens]]))
                    lp = torch.log_softmax(logits[0, -1].float(), dim=-1)
                    if step < config.min_new_tokens:
                        lp[eos] = float("-inf")
                    if step == config.max_new_tokens:
                        lp = torch.full_like(lp, float("-inf")).index_fill(0, torch.tensor([eos]), lp[eos].item())
                    if used is None:
                        used = torch.zeros_like(lp)
                    lp = lp - config.diversity_penalty * used
                    top = torch.topk(total + lp, 2 * per_group)
                    for s, t in zip(top.values.tolist(), top.indices.tolist()):
                        candidates.append((s, tokens + (t,), token_scores + (s - total,)))
                candidates = sorted(candidates, key=lambda c: -c[0])[: 2 * per_group]
                length = step + 1
                norm = length**config.length_penalty
                finished = [(s / norm, t, ts) for s, t, ts in candidates[:per_group] if t[-1] == eos]
                done[g] = sorted(done[g] + finished, key=lambda d: -d[0])[:per_group]
                running[g] = [(t, ts, s) for s, t, ts in candidates if t[-1] != eos][:per_group]
                for tokens, _, _ in running[g]:
                    used[tokens[-1]] += 1
                if len(done[g]) == per_group and running[g][0][2] / norm <= done[g][-1][0]:
                    is_open[g] = False
            if not any(is_open):
                break
        everything = [d for group_done in done for d in group_done]
        results.append(sorted(everything, key=lambda d: -d[0]))
    return results


# Seeds and EOS biases under which groups close at different steps, so that closed groups leave the batch.
@pytest.mark.parametrize("architecture,seed,eos_bias", [("prefix-lm", 3, 0.2), ("encoder-decoder", 4, 0.4)])
@pytest.mark.parametrize("beams,groups,length_penalty", [(6, 6, 1.0), (8, 4, 1.0), (8, 4, 0.7)])
def test_batched_search_equals_the_plain_algorithm(tokenizer, architecture, seed, eos_bias, beams, groups, length_penalty):
    """Diversity penalty, early stopping per group, and dropping closed groups and finished sources from
    the batch: the batched search returns what the plain algorithm does, for every source."""
    if architecture == "prefix-lm":
        network = _prefix_lm(tokenizer, seed=seed, eos_bias=eos_bias)
    else:
        network = Seq2SeqNetwork(tiny_bart(len(tokenizer), seed=seed, eos_bias=eos_bias))
    texts = THREE_TEXTS
    enc = tokenizer(texts, return_tensors="pt", padding=True)
    ids, mask = enc["input_ids"], enc["attention_mask"]
    config = BeamConfig(beams, groups, diversity_penalty=0.5, min_new_tokens=2, max_new_tokens=12, length_penalty=length_penalty)
    counter = _RowCounter(network)
    with torch.no_grad():
        fast = diverse_beam_search(counter, ids, mask, config, START, EOS)
        plain = _reference_search(network, ids, mask, config, START, EOS)
    # Step 0 decodes one row per source (all beams start alike); the test must exercise the dropping of
    # closed groups, not only of finished sources: some later step ran a number of rows that is not a
    # whole number of sources.
    assert counter.rows[0] == len(texts) and counter.rows[1] == len(texts) * beams
    assert any(rows % beams for rows in counter.rows[1:])
    for got, expected in zip(fast, plain):
        assert [h.tokens for h in got] == [list(t) for _, t, _ in expected]
        assert [h.score for h in got] == pytest.approx([s for s, _, _ in expected], abs=1e-4)
        assert [h.token_scores for h in got] == [pytest.approx(list(ts), abs=1e-4) for _, _, ts in expected]
