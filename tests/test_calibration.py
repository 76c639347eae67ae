"""Calibrated readings: quantiles and percentiles computed by hand, which settings a calibration applies to,
readings and pair labels from stored quantiles, and the metric's optional percentile field."""

from __future__ import annotations

import json
import os

import pytest
from facts import FACT_SETTINGS, even, hand_calibration

from quals.calibration import Calibration, load_calibration, percentile, quantiles, signature_key

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIGNATURE = ("QUALS|model:bundled:qagen-minilm#16c31a83ed95|arch:prefix-lm|beams:60|groups:60|div:0.5|new:8-60|lenpen:1.0|"
             "pairs:10|cap:strict|ns:rescore|answer:none|src:448|long:windows|agg:pairs|dtype:float32|device:cpu|quals:0.2.0|"
             "torch:2.13.0|transformers:5.0.0")


def test_quantiles_and_percentiles_by_hand():
    assert quantiles([3.0, 1.0, 2.0])[::50] == [1.0, 2.0, 3.0]
    assert quantiles([0.0, 10.0])[25] == pytest.approx(2.5)  # a quarter of the way between the two order statistics
    grid = even(-1, 0)
    assert percentile(-0.95, grid) == pytest.approx(5.0)
    assert percentile(-0.333, grid) == pytest.approx(66.7)
    assert percentile(-5.0, grid) == 0.0 and percentile(1.0, grid) == 100.0
    flat = [0.0] * 50 + even(0, 1)[50:]  # half the calibration values tie at 0
    assert percentile(0.0, flat) == pytest.approx(24.5)  # the middle of the run of 50 tied quantiles (0% to 49%)
    with pytest.raises(ValueError, match="no values to calibrate on: use a larger calibration set"):
        quantiles([])


def test_a_calibration_applies_to_the_same_weights_and_scoring_settings_only():
    same_elsewhere = (SIGNATURE.replace("bundled:qagen-minilm#", "/models/qagen#").replace("device:cpu", "device:cuda")
                      .replace("quals:0.2.0", "quals:0.3.0"))
    calibration = hand_calibration(SIGNATURE)
    assert signature_key(same_elsewhere) == signature_key(SIGNATURE)
    assert calibration.applies_to(same_elsewhere)
    assert not calibration.applies_to(SIGNATURE.replace("dtype:float32", "dtype:bfloat16"))  # precision moves scores
    assert not calibration.applies_to(SIGNATURE.replace("beams:60|groups:60", "beams:20|groups:20"))
    assert not calibration.applies_to(SIGNATURE.replace("#16c31a83ed95", "#000000000000"))
    assert not calibration.applies_to(SIGNATURE.replace("long:windows", "long:truncate"))
    assert not calibration.applies_to(SIGNATURE.replace("agg:pairs", "agg:tokens"))  # another way of combining pairs


def test_readings_and_pair_labels_come_from_the_stored_quantiles():
    calibration = hand_calibration(SIGNATURE)  # faithful evenly on [-1, 0], altered on [-2, -1], faithful pairs on [-1.2, 0]
    assert calibration.reading(-0.95) == ("lower than 95% of faithful summaries scored by this model "
                                          "(100% of summaries with one changed fact score lower): check its facts.")
    assert calibration.reading(-0.8).startswith("lower than most faithful summaries (80% score higher;")
    assert calibration.reading(-0.4) == ("in the range of faithful summaries: 60% of them score lower "
                                         "(100% of summaries with one changed fact score lower).")
    assert calibration.reading(-1.5).endswith("(50% of summaries with one changed fact score lower): check its facts.")
    # shares are rounded down: 0.2% of faithful summaries below is "lower than 99%", never a false "100%"
    assert calibration.reading(-0.998).startswith("lower than 99% of faithful summaries")
    assert calibration.reading(None).startswith("no question-answer pair")
    assert [calibration.pair_support(d) for d in (-1.15, -1.0, -0.5)] == ["unsupported", "weak", "supported"]
    assert "below 95% of the pairs of those faithful summaries, weak below 80%" in calibration.legend()


def test_a_calibration_round_trips_through_its_file_and_bad_files_are_named(tmp_path, caplog):
    calibration = hand_calibration(SIGNATURE)
    path = calibration.save(str(tmp_path))
    assert os.path.basename(path) == "calibration.json" and load_calibration(str(tmp_path)) == calibration
    assert [p for p in os.listdir(tmp_path) if p != "calibration.json"] == []  # no temporary file left behind
    assert load_calibration(str(tmp_path / "elsewhere")) is None
    data = json.loads(open(path).read())
    (tmp_path / "calibration.json").write_text(json.dumps({**data, "extra": 1}))
    with pytest.raises(ValueError, match="calibration.json is not a QUALS calibration .*rebuild it with benchmarks/calibrate.py"):
        Calibration.load(path)
    with pytest.raises(ValueError, match="'altered' must hold 101 ascending finite quantiles"):
        Calibration(**{**data, "altered": data["altered"][::-1]})
    with pytest.raises(ValueError, match="'faithful' must hold 101 ascending finite quantiles"):
        Calibration(**{**data, "faithful": [float("nan")] * 101})
    with pytest.raises(ValueError, match="no QA pairs whose answer holds a changed word to calibrate on"):
        Calibration.from_scores(SIGNATURE, "d", "c", [0.0], [0.0], [0.0], [])
    (tmp_path / "calibration.json").write_text("{not json")  # optional metadata: a broken file blocks no scoring
    with caplog.at_level("WARNING", logger="quals.calibration"):
        assert load_calibration(str(tmp_path)) is None
    assert "calibration.json is not a QUALS calibration" in caplog.text and "no calibrated reading" in caplog.text


def test_the_scorer_offers_its_models_calibration_only_under_the_calibrated_settings(calibrated_qagen_dir, trained_qagen_dir):
    import quals

    assert quals.QualsScorer(calibrated_qagen_dir, **FACT_SETTINGS).calibration == load_calibration(calibrated_qagen_dir)
    assert quals.QualsScorer(calibrated_qagen_dir, **{**FACT_SETTINGS, "max_qa_pairs": 3}).calibration is None
    assert quals.QualsScorer(trained_qagen_dir, **FACT_SETTINGS).calibration is None  # the same weights, no file


def test_metric_returns_faithful_percentiles_when_asked(calibrated_qagen_dir, trained_qagen_dir, tmp_path, monkeypatch):
    import evaluate

    import quals

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    sources = ["alice was born in paris . bob was born in rome ."] * 2
    summaries = ["alice was born in paris .", "alice was born in rome ."]
    metric = evaluate.load(os.path.join(REPO, "quals_metric.py"), calibrated_qagen_dir, keep_in_memory=True)
    out = metric.compute(predictions=summaries, sources=sources, return_percentiles=True, **FACT_SETTINGS)
    calibration = load_calibration(calibrated_qagen_dir)
    assert out["faithful_percentile"] == [pytest.approx(calibration.faithful_percentile(q)) for q in out["quals"]]
    assert out["faithful_percentile"][0] > out["faithful_percentile"][1]
    assert "faithful_percentile" not in metric.compute(predictions=summaries, sources=sources, **FACT_SETTINGS)
    plain = evaluate.load(os.path.join(REPO, "quals_metric.py"), trained_qagen_dir, keep_in_memory=True)
    with pytest.raises(ValueError, match="return_percentiles=True needs a calibration"):
        plain.compute(predictions=summaries, sources=sources, return_percentiles=True, **FACT_SETTINGS)
    with pytest.raises(ValueError, match="return_percentiles=True is for metric='quals'"):
        metric.compute(predictions=summaries, sources=sources, return_percentiles=True, metric="qags")
    assert quals.Calibration is Calibration
