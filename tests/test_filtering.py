"""The QA filter on hand-built token sequences: parsing, ordering, grouping, round-robin, dedup, caps."""

from __future__ import annotations

import pytest

from quals.filtering import Candidate, filter_qa_pairs, split_qa

SEP, EOS = 1, 2
WORDS = {10: "who", 11: "where", 12: "what", 13: "won", 14: "born", 15: "city",
         20: "alice", 21: "paris", 22: "bob", 23: "rome", 24: "madrid", 25: "prize"}
SUMMARY = "Alice was born in Paris and won the prize; Bob lives in Rome."


def decode(ids):
    return " ".join(WORDS[i] for i in ids)


def cand(question, answer, score, sep=True):
    tokens = question + ([SEP] if sep else []) + answer + [EOS]
    return Candidate(tokens, [score / len(tokens)] * len(tokens))


def run(cands, max_pairs=10, cap="strict", summary=SUMMARY):
    return [(p.question, p.answer) for p in filter_qa_pairs(cands, summary, decode, SEP, EOS, max_pairs, cap)]


def test_split_qa_requires_exactly_two_nonempty_parts():
    assert split_qa([10, SEP, 20, EOS], SEP, EOS) == ([10], [20])
    assert split_qa([10, 20, EOS], SEP, EOS) is None  # no separator
    assert split_qa([10, SEP, 20, SEP, 21, EOS], SEP, EOS) is None  # two separators
    assert split_qa([10, SEP, EOS], SEP, EOS) is None  # empty answer (a deliberate deviation)
    assert split_qa([SEP, 20, EOS], SEP, EOS) is None  # empty question


def test_answer_must_occur_in_summary_case_insensitively():
    kept = run([cand([10, 14], [20], -1.0), cand([11, 14], [24], -0.5)])
    assert kept == [("who born", "alice")]  # "madrid" is not in the summary


def test_order_is_by_summed_score_and_round_robin_over_answers():
    cands = [
        cand([10, 14], [20], -3.0),  # alice, weaker
        cand([10, 13], [20], -1.0),  # alice, best
        cand([11, 14], [21], -2.0),  # paris
        cand([12, 15], [21], -4.0),  # paris, weaker
    ]
    # Answers in first-seen order after sorting (alice, paris); one pair per answer per round.
    assert run(cands) == [("who won", "alice"), ("where born", "paris"), ("who born", "alice"), ("what city", "paris")]


def test_question_dedup_is_per_answer():
    cands = [
        cand([10, 13], [20], -1.0),
        cand([10, 13], [20], -2.0),  # same question, same answer: dropped
        cand([10, 13], [22], -3.0),  # same question, other answer: kept
    ]
    assert run(cands) == [("who won", "alice"), ("who won", "bob")]


def test_round_stops_when_a_round_adds_nothing():
    # Round 2 pops only a duplicate, so nothing is added and the loop ends although a candidate remains.
    cands = [cand([10, 13], [20], -1.0), cand([10, 13], [20], -2.0), cand([11, 14], [20], -3.0)]
    assert run(cands) == [("who won", "alice")]


def test_strict_cap_versus_reference_cap():
    answers = [[20], [21], [22], [23], [25]]
    cands = [cand([10], a, -1.0 - i) for i, a in enumerate(answers)] + [cand([11], a, -10.0 - i) for i, a in enumerate(answers)]
    strict = run(cands, max_pairs=3, cap="strict")
    reference = run(cands, max_pairs=3, cap="reference")
    assert len(strict) == 3
    assert len(reference) == 5  # the first round adds every distinct answer before the cap is checked
    assert strict == reference[:3]


def test_no_separator_and_bad_arguments():
    assert run([cand([10, 14], [20], -1.0, sep=False)]) == []
    with pytest.raises(ValueError, match="cap="):
        run([], cap="loose")
    with pytest.raises(ValueError, match="max_pairs"):
        run([], max_pairs=0)
