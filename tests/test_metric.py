"""The ``evaluate`` metric loads offline in all three ways and agrees with the scorer."""

from __future__ import annotations

import os
import re

import pytest
from facts import FACT_SETTINGS

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = "alice was born in paris . bob was born in rome ."
SUMMARIES = ["alice was born in paris .", "alice was born in rome ."]
SETTINGS = FACT_SETTINGS


@pytest.fixture()
def offline_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_EVALUATE_OFFLINE", "1")
    return tmp_path


def _load_three_ways(model_dir, tmp_path, monkeypatch):
    import evaluate

    import quals

    monkeypatch.chdir(REPO)
    by_name = evaluate.load("quals", model_dir, keep_in_memory=True)
    by_path = evaluate.load(os.path.join(REPO, "quals_metric.py"), model_dir, keep_in_memory=True)
    monkeypatch.chdir(tmp_path)
    by_package = evaluate.load(quals.metric_path(), model_dir, keep_in_memory=True)
    return by_name, by_path, by_package


def test_three_load_forms_give_the_same_scores(trained_qagen_dir, offline_home, monkeypatch):
    import quals

    modules = _load_three_ways(trained_qagen_dir, offline_home, monkeypatch)
    outputs = [m.compute(predictions=SUMMARIES, sources=[SOURCE, SOURCE], **SETTINGS) for m in modules]
    expected = quals.QualsScorer(trained_qagen_dir, **SETTINGS).score([SOURCE, SOURCE], SUMMARIES)
    for out in outputs:
        assert sorted(out) == ["coverage", "mean_quals", "num_qa_pairs", "quals", "signature", "skipped"]
        assert out["quals"] == pytest.approx([r.quals for r in expected])
        assert out["skipped"] == [None, None]
        assert out["num_qa_pairs"] == [r.num_qa_pairs for r in expected]
        assert out["coverage"] == 1.0
        assert out["mean_quals"] == pytest.approx(sum(out["quals"]) / 2)
        assert out["signature"] == expected[0].signature
    assert out["quals"][0] > out["quals"][1]


def test_rows_are_cached_outside_the_model_folder(trained_qagen_dir, offline_home, monkeypatch):
    import evaluate

    before = sorted(os.listdir(trained_qagen_dir))
    cache = offline_home / "metric-cache"
    metric = evaluate.load(os.path.join(REPO, "quals_metric.py"), trained_qagen_dir, cache_dir=str(cache))
    metric.add_batch(predictions=SUMMARIES, sources=[SOURCE, SOURCE])
    out = metric.compute(**SETTINGS)
    assert len(out["quals"]) == 2 and out["coverage"] == 1.0
    assert sorted(os.listdir(trained_qagen_dir)) == before  # evaluate would join an absolute config name as is
    assert metric.data_dir.startswith(str(cache)) and os.path.basename(trained_qagen_dir) in metric.data_dir
    with pytest.raises(ValueError, match="config name"):
        metric.compute(predictions=SUMMARIES, sources=[SOURCE, SOURCE], model=trained_qagen_dir)


def test_metric_card_features_and_qa_pairs(trained_qagen_dir, offline_home, monkeypatch):
    import evaluate

    metric = evaluate.load(os.path.join(REPO, "quals_metric.py"), trained_qagen_dir, keep_in_memory=True)
    assert set(metric.features) == {"predictions", "sources"}
    assert "Higher" in metric.description and "nan-etal-2021" in metric.citation
    out = metric.compute(predictions=SUMMARIES[:1], sources=[SOURCE], return_qa_pairs=True, **SETTINGS)
    pair = out["qa_pairs"][0][0]
    assert {"question", "answer", "logprob_source", "logprob_summary", "difference", "tokens"} <= set(pair)


def test_metric_computes_qags_too(trained_qg_dir, trained_qa_dir, offline_home, monkeypatch):
    import evaluate

    import quals

    settings = dict(qg_model=trained_qg_dir, qa_model=trained_qa_dir, extractor="rules", num_beams=4, max_new_tokens=8,
                    qa_max_length=64, qa_stride=16)
    metric = evaluate.load(os.path.join(REPO, "quals_metric.py"), keep_in_memory=True)
    source = "Alice was born in Paris. The painter lived in the city."
    summaries = ["Alice was born in Paris.", "Alice was born in Madrid."]
    out = metric.compute(predictions=summaries, sources=[source, source], metric="qags", return_qa_pairs=True, **settings)
    expected = quals.QagsScorer(**settings).score([source, source], summaries)
    assert out["qags"] == [r.qags for r in expected] and out["qags"][0] > out["qags"][1]
    assert out["num_questions"] == [2, 2] and out["mean_qags"] == pytest.approx(sum(out["qags"]) / 2)
    assert out["signature"].startswith("QAGS|") and out["questions"][1][0]["candidate"] == "Alice"


def test_metric_names_bad_settings_before_any_model_loads_and_says_why_a_row_has_no_score(trained_qagen_dir, offline_home):
    import evaluate

    missing = evaluate.load(os.path.join(REPO, "quals_metric.py"), str(offline_home / "no-model"), keep_in_memory=True)
    for setting, error, message in [
        ({"num_beams": "abc"}, TypeError, "num_beams='abc' is str; use an integer >= 1."),
        ({"batch_size": 2.5}, TypeError, "batch_size=2.5 is float; use an integer >= 1, or 'auto'."),
        ({"length_penalty": float("nan")}, ValueError, "length_penalty=nan: use a finite number."),
        ({"num_beamz": 4}, TypeError, "num_beamz= is not a QualsScorer setting; the settings are ['model',"),
    ]:  # the same messages as QualsScorer's, before the (missing) QAGen would load
        with pytest.raises(error, match=re.escape(message)):
            missing.compute(predictions=SUMMARIES, sources=[SOURCE, SOURCE], **{**SETTINGS, **setting})
    default = evaluate.load(os.path.join(REPO, "quals_metric.py"), keep_in_memory=True)
    with pytest.raises(TypeError, match=re.escape("max_questions=None is NoneType; use an integer >= 1.")):
        default.compute(predictions=SUMMARIES, sources=[SOURCE, SOURCE], metric="qags", qg_model="./no-qg", max_questions=None)
    metric = evaluate.load(os.path.join(REPO, "quals_metric.py"), trained_qagen_dir, keep_in_memory=True)
    out = metric.compute(predictions=[SUMMARIES[0], ". ?"], sources=[SOURCE, SOURCE], **SETTINGS)
    assert out["quals"][1] is None and out["skipped"] == [None, "summary has no words the model knows"]


def test_metric_checks_every_row_and_rejects_a_qagen_name_with_qags(trained_qagen_dir, offline_home, monkeypatch):
    import evaluate

    import quals

    metric = evaluate.load(os.path.join(REPO, "quals_metric.py"), trained_qagen_dir, keep_in_memory=True)
    # evaluate itself checks only the first row and would score str(42) as the text "42".
    with pytest.raises(quals.InputError, match=r"predictions\[1\] is int, not str"):
        metric.compute(predictions=["alice was born in paris .", 42], sources=[SOURCE, SOURCE], **SETTINGS)
    with pytest.raises(quals.InputError, match=r"sources\[0\] is empty"):
        metric.add(prediction="alice was born in paris .", sources=" ")
    import numpy as np  # arrays are rows too, and are checked the same way

    out = metric.compute(predictions=np.array(SUMMARIES), sources=np.array([SOURCE, SOURCE]), **SETTINGS)
    assert out["coverage"] == 1.0 and len(out["quals"]) == 2
    with pytest.raises(ValueError, match="pass qg_model=... and qa_model="):
        metric.compute(predictions=SUMMARIES, sources=[SOURCE, SOURCE], metric="qags")
