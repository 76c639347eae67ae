"""The bundled QAGen: loads offline, its format validates, and it tells the demo's faithful summaries
from their altered twins (the figures below are what the shipped weights measured, BENCHMARKS.md)."""

from __future__ import annotations

import os

import pytest

import quals
from quals.demo import format_table, load_examples, run_demo
from quals.qagen import BUNDLED_MODEL_DIR


@pytest.fixture(scope="module")
def bundled():
    return quals.QAGen.from_pretrained("bundled")


def test_bundled_model_loads_offline_with_its_format_and_card(bundled):
    assert bundled.format == quals.PRESETS["minilm-prefix-lm"]
    assert bundled.ids.separator == bundled.tokenizer.convert_tokens_to_ids("[unused0]")
    size = os.path.getsize(os.path.join(BUNDLED_MODEL_DIR, "model.safetensors"))
    assert size < 100 * 2**20
    card = open(os.path.join(BUNDLED_MODEL_DIR, "README.md"), encoding="utf-8").read()
    assert "CC BY-SA 4.0" in card and "Apache-2.0" in card and "quals-train qagen" in card


def test_the_bundled_calibration_applies_at_the_default_settings_only(bundled):
    calibration = quals.QualsScorer(bundled).calibration
    assert calibration is not None and calibration.counts["faithful"] == calibration.counts["altered"] == 300
    assert calibration.faithful_percentile(calibration.faithful[10]) == 10.0
    assert calibration.faithful[50] > calibration.altered[50]  # faithful leads above their one-fact twins
    assert "SQuAD v1.1 dev" in calibration.description
    card = open(os.path.join(BUNDLED_MODEL_DIR, "README.md"), encoding="utf-8").read()
    assert all(line in card for line in calibration.card_lines())  # the card's quantile table is the shipped file's
    assert quals.QualsScorer(bundled, num_beams=20, num_beam_groups=20).calibration is None


def test_literal_special_tokens_are_plain_text_for_the_bundled_tokenizer(bundled):
    (ids,) = bundled.tokenize(["the [SEP] council [CLS] met [MASK]"])
    assert bundled.token_strings(ids) == ["the", "[", "sep", "]", "council", "[", "cl", "##s", "]", "met", "[", "mask", "]"]
    plain = bundled.tokenize(["The council approved a 14 million dollar plan."])
    assert plain == bundled.tokenizer(["The council approved a 14 million dollar plan."], add_special_tokens=False)["input_ids"]


def test_text_in_other_scripts_is_scored_or_says_why_not(bundled):
    source = "The council approved a 14 million dollar plan to rebuild the bridge."
    results = quals.QualsScorer(bundled, num_beams=8, num_beam_groups=8).score([source] * 2, ["وافق المجلس على الخطة", "議会は計画を承認した"])
    assert all((r.quals is None) == (r.skipped == "no pair survived the filter") for r in results)


@pytest.fixture(scope="module")
def demo_results(bundled):
    examples = load_examples()
    scorer = quals.QualsScorer(bundled)
    sources = [ex["document"] for ex in examples for _ in (0, 1)]
    summaries = [s for ex in examples for s in (ex["faithful"], ex["altered"])]
    return examples, scorer.score(sources, summaries, return_qa_pairs=True)


def test_faithful_demo_summaries_score_above_altered_ones(demo_results):
    _, results = demo_results
    assert all(r.quals is not None and r.num_qa_pairs >= 3 for r in results)
    faithful, altered = [r.quals for r in results[0::2]], [r.quals for r in results[1::2]]
    wins = sum(f > a for f, a in zip(faithful, altered))
    assert wins >= 3, (faithful, altered)  # measured: 3 of 5 (2 near ties)
    assert sum(faithful) / 5 > sum(altered) / 5 + 0.2  # measured gap: 0.27 nats per token


def test_demo_table_explains_low_scores(demo_results):
    examples, results = demo_results
    table = format_table(examples, results)
    kinds = [line.split()[1] for line in table.splitlines() if len(line.split()) > 2 and line.split()[0] in {e["id"] for e in examples}]
    assert kinds == ["faithful", "altered"] * 5
    assert table.count("Q: ") == 5 and "log-prob given summary" in table
    lower = ["faithful" if f.quals <= a.quals else "altered" for f, a in zip(results[0::2], results[1::2])]
    assert [line.split()[5] for line in table.splitlines() if "least supported pair of the" in line] == lower
    assert "faithful summary scored higher than its altered twin in" in table


def test_quals_demo_command(capsys):
    run_demo({}, limit=1)
    captured = capsys.readouterr()
    assert "bridge" in captured.out and "QUALS|model:bundled:qagen-minilm#" in captured.out
    # it says what it is doing before the minutes of decoding, and shows their progress
    assert "scoring 2 summaries of 1 document (a faithful" in captured.err and "2/2" in captured.err


def test_bundled_qags_models_load_offline_with_cards():
    from quals.qagen import MODELS_DIR

    generator = quals.QAGen.from_pretrained("bundled-qg")
    assert generator.format == quals.PRESETS["minilm-prefix-lm-qg"]
    for folder in ("qags-qg-minilm", "qags-qa-minilm"):
        assert os.path.getsize(os.path.join(MODELS_DIR, folder, "model.safetensors")) < 100 * 2**20
        card = open(os.path.join(MODELS_DIR, folder, "README.md"), encoding="utf-8").read()
        assert "CC BY-SA 4.0" in card and "Apache-2.0" in card and "quals-train" in card


def test_bundled_qags_scores_faithful_summaries_at_least_as_high(demo_results):
    examples, _ = demo_results
    sources = [ex["document"] for ex in examples for _ in (0, 1)]
    summaries = [s for ex in examples for s in (ex["faithful"], ex["altered"])]
    results = quals.QagsScorer().score(sources, summaries)
    assert results[0].signature.startswith("QAGS|qg:bundled:qags-qg-minilm#") and "extractor:spacy/en_core_web_sm" in results[0].signature
    pairs = [(f.qags, a.qags) for f, a in zip(results[0::2], results[1::2]) if f.qags is not None and a.qags is not None]
    assert len(pairs) >= 4  # measured: 4 of 5 examples have both scored (bridge keeps no question)
    assert all(f >= a for f, a in pairs) and sum(f > a for f, a in pairs) >= 2  # measured: 2 wins, 2 ties
    assert sum(f - a for f, a in pairs) / len(pairs) > 0.1  # measured mean gap: 0.21
