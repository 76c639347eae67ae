"""QualsScorer end to end on a tiny QAGen that learned templated facts, plus its contract."""

from __future__ import annotations

import logging
import math
import os
import re
import shutil

import pytest

import quals
from quals.inputs import InputError
from quals.qagen import resolve_model_path

SOURCE = "alice was born in paris . bob was born in rome ."
SETTINGS = dict(num_beams=10, num_beam_groups=10, min_new_tokens=3, max_new_tokens=12)


@pytest.fixture(scope="module")
def scorer(trained_qagen_dir):
    return quals.QualsScorer(trained_qagen_dir, **SETTINGS)


def test_faithful_summary_beats_swapped_fact(scorer):
    faithful, swapped = scorer.score([SOURCE, SOURCE], ["alice was born in paris .", "alice was born in rome ."])
    assert faithful.num_qa_pairs >= 1 and swapped.num_qa_pairs >= 1
    assert faithful.quals > swapped.quals + 0.2


def test_qa_pairs_explain_the_score(scorer):
    (result,) = scorer.score([SOURCE], ["alice was born in rome ."], return_qa_pairs=True)
    assert len(result.qa_pairs) == result.num_qa_pairs
    diffs = [p.logprob_source - p.logprob_summary for p in result.qa_pairs]
    assert result.quals == pytest.approx(sum(diffs) / len(diffs))
    for pair in result.qa_pairs:
        assert pair.answer.lower() in "alice was born in rome ."
        assert len(pair.tokens) == len(pair.token_logprobs_source) == len(pair.token_logprobs_summary)
        assert pair.logprob_source == pytest.approx(sum(pair.token_logprobs_source) / len(pair.tokens))
        assert pair.tokens[-1] == "[SEP]"  # EOS is scored; the decoder start token never is
    assert "qa_pairs" in result.to_dict() and "difference" in result.to_dict()["qa_pairs"][0]


def test_signature_names_model_settings_and_versions(scorer, trained_qagen_dir):
    sig = scorer.signature()
    for field in ("beams:10", "groups:10", "div:0.5", "new:3-12", "pairs:10", "cap:strict", "ns:rescore", "torch:", "transformers:", "quals:"):
        assert field in sig
    assert trained_qagen_dir in sig and "#" in sig
    other = quals.QualsScorer(scorer.qagen, **{**SETTINGS, "ns_mode": "beam"})
    assert other.signature() != sig and "ns:beam" in other.signature()


def test_token_aggregation_weighs_every_token_of_every_pair(scorer):
    by_tokens = quals.QualsScorer(scorer.qagen, **{**SETTINGS, "aggregation": "tokens"})
    summary = ["alice was born in rome ."]
    paper = scorer.score([SOURCE], summary, return_qa_pairs=True)[0]
    tokens = by_tokens.score([SOURCE], summary, return_qa_pairs=True)[0]
    assert [p.question for p in tokens.qa_pairs] == [p.question for p in paper.qa_pairs]  # same pairs, combined otherwise
    token_diffs = [s - m for p in tokens.qa_pairs for s, m in zip(p.token_logprobs_source, p.token_logprobs_summary)]
    assert tokens.quals == pytest.approx(sum(token_diffs) / len(token_diffs), abs=1e-9)
    assert len({len(p.tokens) for p in paper.qa_pairs}) > 1  # pairs of different lengths: the two combinations differ
    assert abs(tokens.quals - paper.quals) > 1e-6
    assert "|agg:pairs|" in scorer.signature() and "|agg:tokens|" in by_tokens.signature()
    with pytest.raises(ValueError, match=r"aggregation='mean': use one of \('pairs', 'tokens'\)"):
        quals.QualsScorer(scorer.qagen, aggregation="mean")
    from quals.scorer import combine_pairs

    with pytest.raises(ValueError, match=r"aggregation='mean': use one of \('pairs', 'tokens'\)"):
        combine_pairs([[-1.0]], [[-1.0]], "mean")  # the public function checks too, as filter_qa_pairs checks cap


def test_beam_mode_reuses_beam_scores_penalty_included(scorer):
    beam = quals.QualsScorer(scorer.qagen, **{**SETTINGS, "ns_mode": "beam"})
    summary = ["bob was born in rome ."]
    rescored = scorer.score([SOURCE], summary, return_qa_pairs=True)[0]
    from_beam = beam.score([SOURCE], summary, return_qa_pairs=True)[0]
    assert [p.question for p in from_beam.qa_pairs] == [p.question for p in rescored.qa_pairs]
    penalised = 0
    for b, r in zip(from_beam.qa_pairs, rescored.qa_pairs):
        assert b.token_logprobs_source == pytest.approx(r.token_logprobs_source)
        for beam_score, model_score in zip(b.token_logprobs_summary, r.token_logprobs_summary):
            # A beam token score is the model's log-prob minus 0.5 per earlier group that used the token.
            count = (model_score - beam_score) / 0.5
            assert count == pytest.approx(round(count), abs=1e-3) and round(count) >= 0
            penalised += round(count) > 0
    assert penalised > 0 and from_beam.quals > rescored.quals


def test_no_pair_gives_none_and_corpus_mean_skips_it(tiny_qagen_dir):
    random_model = quals.QualsScorer(tiny_qagen_dir, num_beams=4, num_beam_groups=4, min_new_tokens=2, max_new_tokens=6)
    results = random_model.score([SOURCE], ["alice was born in paris ."])
    assert results[0].quals is None and results[0].num_qa_pairs == 0
    assert results[0].skipped == results[0].to_dict()["skipped"] == "no pair survived the filter"
    fake = [quals.QualsResult(-1.0, 2, "s"), quals.QualsResult(None, 0, "s"), quals.QualsResult(-3.0, 1, "s")]
    assert quals.corpus_summary(fake) == {"mean_quals": -2.0, "coverage": pytest.approx(2 / 3), "num_scored": 2, "num_skipped": 1}


def test_long_source_is_truncated_with_a_counted_warning(trained_qagen_dir, caplog):
    truncating = quals.QualsScorer(trained_qagen_dir, long_source="truncate", **SETTINGS)
    long_source = SOURCE + " the city" * 200
    with caplog.at_level(logging.WARNING, logger="quals.scorer"):
        results = truncating.score([long_source, long_source], ["alice was born in paris .", "bob was born in rome ."])
    assert all(r.quals is not None and math.isfinite(r.quals) for r in results)
    assert "2 input(s) longer than the limit of 96 tokens were truncated" in caplog.text
    assert "long:truncate" in truncating.signature()


def test_windows_cover_the_whole_source_half_a_window_apart(scorer):
    qagen = scorer.qagen
    room = qagen.source_room(96)  # 94 text tokens between [CLS] and [SEP]
    ids, mask, owners = qagen.encode_windows(["the city " * 100, "alice was born in paris ."], 96)
    assert owners == [0, 0, 0, 0, 1] and mask.sum(1).tolist() == [96, 96, 96, 96, 8]
    text = qagen.tokenizer("the city " * 100, add_special_tokens=False)["input_ids"]
    windows = [qagen.source_token_ids(ids[w], mask[w]) for w in range(4)]
    assert [windows[w] == text[start : start + room] for w, start in enumerate([0, 47, 94, 200 - room])] == [True] * 4


def test_windowed_scoring_equals_truncation_when_the_source_fits(trained_qagen_dir, scorer):
    truncating = quals.QualsScorer(trained_qagen_dir, long_source="truncate", **SETTINGS)
    summaries = ["alice was born in paris .", "alice was born in rome ."]
    windowed = [r.to_dict() for r in scorer.score([SOURCE] * 2, summaries, return_qa_pairs=True)]
    truncated = [r.to_dict() for r in truncating.score([SOURCE] * 2, summaries, return_qa_pairs=True)]
    for a, b in zip(windowed, truncated):
        a.pop("signature"), b.pop("signature")
        assert a == b


def test_windows_find_a_fact_that_only_a_later_window_holds(trained_qagen_dir, scorer):
    truncating = quals.QualsScorer(trained_qagen_dir, long_source="truncate", **SETTINGS)
    source = "the painter lived in the city . " * 16 + "alice was born in paris ."  # the fact starts at token 112
    summaries = ["alice was born in paris .", "alice was born in rome ."]
    faithful, swapped = scorer.score([source] * 2, summaries)
    cut, _ = truncating.score([source] * 2, summaries)
    assert faithful.quals > cut.quals + 0.2  # the fact counts once a window holds it
    assert faithful.quals > swapped.quals + 0.2


def test_duplicates_score_alike_and_unicode_or_foreign_text_gives_a_finite_score_or_none(scorer):
    rows = ["alice was born in paris .", "alice was born in paris .", "alíce wäs born in pärïs ☃ .", "アリス was born in パリ ."]
    results = scorer.score([SOURCE] * 4, rows)
    assert results[0].quals is not None and results[0].quals == results[1].quals  # duplicates: both kept and scored
    # Outside the tiny vocabulary a summary may yield no kept pair (None, with the reason), but never a crash or a
    # non-finite score.
    assert all(math.isfinite(r.quals) if r.skipped is None else r.quals is None for r in results[2:])


def test_results_say_why_they_have_no_score(scorer):
    scored, punctuation, unknown_and_dot = scorer.score([SOURCE] * 3, ["alice was born in paris .", ". , ?", "🎉 ."])
    assert scored.quals is not None and scored.skipped is None and scored.to_dict()["skipped"] is None
    for result in (punctuation, unknown_and_dot):  # nothing to ask about: no pair from "." or an [UNK] answer
        assert (result.quals, result.num_qa_pairs, result.skipped) == (None, 0, "summary has no words the model knows")


def test_literal_special_tokens_in_a_text_are_plain_text(scorer):
    qagen = scorer.qagen
    (ids,) = qagen.tokenize(["alice [SEP] was [CLS] born [PAD]"])
    assert not {qagen.ids.eos, qagen.ids.decoder_start, qagen.ids.pad} & set(ids)  # [SEP], [CLS], [PAD] are text
    assert qagen.token_strings(ids) == ["alice", "[UNK]", "[UNK]", "[UNK]", "was", "[UNK]", "[UNK]", "[UNK]", "born",
                                        "[UNK]", "[UNK]", "[UNK]"]  # "[", "sep", "]"...: words of no tiny vocabulary


@pytest.mark.parametrize(
    "sources,summaries,message",
    [
        (["a"], ["a", "b"], "sources has 1 rows but summaries has 2"),
        ("a doc", ["a"], "sources must be a list of strings"),
        ([SOURCE], [None], r"summaries\[0\] is NoneType"),
        ([SOURCE, "  "], ["x", "y"], r"sources\[1\] is empty or whitespace-only"),
        ([SOURCE], [""], r"summaries\[0\] is empty"),
        # Texts that tokenize to nothing, or to unknown tokens only, are refused as empty text is.
        (["\u200b\u2060\x01\u0301", SOURCE], ["alice was born in paris ."] * 2,
         r"sources\[0\] has no text the model reads \(only control, zero-width or combining characters\)"),
        ([SOURCE, SOURCE], ["alice was born in paris .", "🎉🎉"],
         r"summaries\[1\] has no character the model knows \(it reads as \[UNK\] only\); pass text in a script"),
        ([SOURCE], ["アリスはパリで生まれた"], r"summaries\[0\] has no character the model knows"),
    ],
)
def test_bad_input_is_rejected_with_row_and_fix(scorer, sources, summaries, message):
    with pytest.raises(InputError, match=message):
        scorer.score(sources, summaries)


def test_bad_settings_are_rejected(trained_qagen_dir):
    with pytest.raises(ValueError, match="ns_mode"):
        quals.QualsScorer(trained_qagen_dir, ns_mode="clean")
    with pytest.raises(ValueError, match="cap"):
        quals.QualsScorer(trained_qagen_dir, cap="loose")
    with pytest.raises(ValueError, match=r"max_new_tokens=24 exceeds this model's limit of 23"):
        quals.QualsScorer(trained_qagen_dir, max_new_tokens=24)  # tiny format: max_target_length=24
    assert quals.QualsScorer(trained_qagen_dir, max_new_tokens=23, num_beams=2, num_beam_groups=2).beam.max_new_tokens == 23
    with pytest.raises(ValueError, match="max_source_length=97 must be between 8 and this model's limit of 96"):
        quals.QualsScorer(trained_qagen_dir, max_new_tokens=12, max_source_length=97)  # not lowered silently


@pytest.mark.parametrize(
    "setting,error,message",
    [
        ({"num_beams": "abc"}, TypeError, "num_beams='abc' is str; use an integer >= 1."),
        ({"num_beams": None}, TypeError, "num_beams=None is NoneType; use an integer >= 1."),
        ({"num_beams": 4.0}, TypeError, "num_beams=4.0 is float; use an integer >= 1."),
        ({"num_beam_groups": True}, TypeError, "num_beam_groups=True is bool; use an integer >= 1."),
        ({"max_qa_pairs": "3"}, TypeError, "max_qa_pairs='3' is str; use an integer >= 1."),
        ({"model": None}, TypeError, "model=None: pass a QAGen folder, a Hub id, 'bundled' or a loaded quals.QAGen."),
        ({"batch_size": 2.5}, TypeError, "batch_size=2.5 is float; use an integer >= 1, or 'auto'."),
        ({"batch_size": 0}, ValueError, "batch_size=0: use an integer >= 1, or 'auto'."),
        ({"diversity_penalty": math.nan}, ValueError, "diversity_penalty=nan: use a finite number >= 0.0."),
        ({"length_penalty": math.nan}, ValueError, "length_penalty=nan: use a finite number."),
        ({"length_penalty": -math.inf}, ValueError, "length_penalty=-inf: use a finite number."),
        ({"max_source_length": "448"}, TypeError, "max_source_length='448' is str; use an integer >= 8, or None."),
        ({"long_source": None}, ValueError, "long_source=None: use one of ('windows', 'truncate')."),
    ],
)
def test_settings_of_the_wrong_type_or_value_are_named_before_the_model_loads(tmp_path, setting, error, message):
    # The model folder does not exist: reaching it would raise FileNotFoundError instead.
    with pytest.raises(error, match=re.escape(message)):
        quals.QualsScorer(**{"model": str(tmp_path / "no-model"), **setting})


def test_integers_of_any_integral_type_are_settings(trained_qagen_dir):
    import numpy as np

    (result,) = quals.QualsScorer(trained_qagen_dir, **{**SETTINGS, "num_beams": np.int64(4), "num_beam_groups": 4}).score(
        [SOURCE], ["alice was born in paris ."])
    assert "beams:4|" in result.signature and (result.quals is None or math.isfinite(result.quals))


def test_missing_folders_and_unusable_devices_are_named(trained_qagen_dir, tmp_path, monkeypatch):
    for name in (str(tmp_path / "no-such-qagen"), "./no-such-qagen", "runs/2026/qagen"):
        with pytest.raises(FileNotFoundError, match=re.escape(f"model='{name}': not a folder")):  # not a Hub lookup
            quals.QualsScorer(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "my-qagen").mkdir()
    assert resolve_model_path("~/my-qagen") == str(tmp_path / "my-qagen")
    with pytest.raises(FileNotFoundError, match=re.escape("qa_model='~/none': not a folder")):
        resolve_model_path("~/none", "qa_model")
    with pytest.raises(ValueError, match="device='gpu': not a torch device"):
        quals.QualsScorer(trained_qagen_dir, device="gpu")
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    with pytest.raises(ValueError, match="device='cuda:1': this torch .* sees no CUDA GPU; use device='cpu'"):
        quals.QualsScorer(trained_qagen_dir, device="cuda:1")


def test_a_name_that_is_neither_a_folder_nor_a_hub_model_gives_both_readings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # offline (conftest), with no folder of either name here
    for name in ("my-qagen", "runs/qagen"):
        both = f"model='{name}' is neither a folder (there is none at {tmp_path / name}) nor a Hub model this machine can load"
        with pytest.raises(FileNotFoundError, match=re.escape(both) + r" \(LocalEntryNotFoundError: .*\); pass a checkpoint folder"):
            quals.QualsScorer(name)
    with pytest.raises(FileNotFoundError, match=re.escape("qa_model='qa model!' is neither a folder")):
        resolve_model_path("qa model!", "qa_model")  # not even a valid Hub id


def test_a_folder_with_only_pickle_weights_is_refused_unopened(trained_qagen_dir, tmp_path):
    folder = tmp_path / "pickled"
    shutil.copytree(trained_qagen_dir, folder)
    os.remove(folder / "model.safetensors")
    (folder / "pytorch_model.bin").write_bytes(b"never unpickled")
    with pytest.raises(FileNotFoundError, match=re.escape(f"model='{folder}': {folder} holds only pickle weights "
                                                          "(pytorch_model.bin), which QUALS never opens; it needs model.safetensors")):
        quals.QualsScorer(str(folder))


def test_a_question_generation_checkpoint_is_refused(trained_qg_dir):
    # Its outputs hold no separator, so every summary would silently get no score.
    with pytest.raises(ValueError, match="'question-generation' checkpoint; QUALS needs a QAGen"):
        quals.QualsScorer(trained_qg_dir)
