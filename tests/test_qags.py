"""QAGS: each stage on hand-made inputs, then end to end with tiny models trained on templated facts."""

from __future__ import annotations

import json
import math
import os
import re

import pytest
from transformers import BertModel

from facts import fact_rows
from quals import InputError, QagsScorer
from quals.qags import QuestionAnswerer, QuestionGenerator, RuleCandidates, SpacyCandidates, answer_f1, normalize_answer
from tiny import tiny_bert_config, tiny_tokenizer
from trainer_ext.qa_recipe import QARecipe, export_qa, train_qa
from trainer_ext.qagen_recipe import latest_checkpoint


@pytest.mark.parametrize(
    ("prediction", "reference", "f1"),
    [
        ("The Eiffel Tower!", "eiffel tower", 1.0),  # case, punctuation and articles do not count
        ("the cat sat", "cat sat down", 0.8),  # precision 1, recall 2/3
        ("Paris", "London", 0.0),
        ("an", "the", 1.0),  # both empty after normalization
        ("Paris", "", 0.0),
        ("new york new york", "new york", 2 * 0.5 * 1.0 / 1.5),  # repeated tokens counted once per match
    ],
)
def test_answer_f1_matches_squad_definition(prediction, reference, f1):
    assert answer_f1(prediction, reference) == pytest.approx(f1)


def test_normalize_answer():
    assert normalize_answer("  The  U.S. Army, a force ") == "us army force"


def test_rule_candidates_find_names_and_numbers_once_each():
    text = "Former UK prime minister Tony Blair met 35 officials in Paris. The Bank of England paid 0.5 percent; Tony Blair left."
    assert RuleCandidates.extract(text) == ["UK", "Tony Blair", "35 officials", "Paris", "Bank of England", "0.5 percent"]


def test_spacy_candidates_are_entities_then_noun_chunks():
    extractor = SpacyCandidates("en_core_web_sm")  # resolves to the PyPI re-upload where the original is absent
    assert extractor.name.startswith("spacy/en_core_web_sm")
    (spans,) = extractor(["Tony Blair met 35 officials in Paris on Tuesday."])
    assert spans[:4] == ["Tony Blair", "35", "Paris", "Tuesday"]  # entities first
    assert "35 officials" in spans  # then noun chunks not already listed


def test_unknown_spacy_pipeline_is_a_clear_error():
    with pytest.raises(ValueError, match="extractor='no_such_pipeline'.*extractor='rules'"):
        SpacyCandidates("no_such_pipeline")


def test_question_generator_and_answerer_on_facts(trained_qg_dir, trained_qa_dir):
    generator = QuestionGenerator(trained_qg_dir, num_beams=4, max_new_tokens=8)
    text = "Alice was born in Paris."
    assert generator.generate([text, text], ["Paris", "Alice"]) == ["where was alice born?", "who was born in paris?"]
    answerer = QuestionAnswerer(trained_qa_dir, max_length=64, stride=16, max_question_tokens=16)
    assert answerer.answer(["where was alice born?", "who was born in paris?"], [text, text]) == ["Paris", "Alice"]


def test_answerer_reads_long_texts_in_windows(trained_qa_dir):
    text = "The painter lived in the city. " * 20 + "Alice was born in Paris."
    answerer = QuestionAnswerer(trained_qa_dir, max_length=32, stride=8)
    assert len(answerer.tokenizer(text)["input_ids"]) > 3 * 32  # the answer sits several windows in
    assert answerer.answer(["where was alice born?"], [text]) == ["Paris"]


class FixedCandidates:
    """Hand-picked answer candidates, to test the filter."""

    name = "fixed"

    def __init__(self, spans: list[list[str]]):
        self.spans = spans

    def __call__(self, texts: list[str]) -> list[list[str]]:
        return self.spans[: len(texts)]


@pytest.fixture(scope="module")
def scorer(trained_qg_dir, trained_qa_dir):
    return QagsScorer(trained_qg_dir, trained_qa_dir, extractor="rules", num_beams=4, max_new_tokens=8,
                      qa_max_length=64, qa_stride=16)


def test_faithful_summary_scores_above_altered_one(scorer):
    source = "Alice was born in Paris. The painter lived in the city."
    faithful, altered = scorer.score([source, source], ["Alice was born in Paris.", "Alice was born in Madrid."], return_questions=True)
    assert faithful.qags == 1.0 and faithful.num_questions == 2
    assert altered.qags == 0.5  # "where was alice born?" -> Madrid on the summary, Paris on the source
    where = next(q for q in altered.questions if q.candidate == "Madrid")
    assert (where.question, where.summary_answer, where.source_answer, where.f1) == ("where was alice born?", "Madrid", "Paris", 0.0)
    assert faithful.signature.startswith("QAGS|qg:") and "|extractor:rules|" in faithful.signature


def test_questions_whose_summary_answer_misses_the_candidate_are_dropped(scorer):
    scorer.extractor = FixedCandidates([["born", "Madrid", "Madrid"]])
    try:
        (result,) = scorer.score(["Carol was born in Madrid."], ["Carol was born in Madrid."], return_questions=True)
    finally:
        scorer.extractor = RuleCandidates()
    # No question about "born" is answered "born" on the summary (the QA model answers with a name or a
    # city), so it is dropped; the repeated "Madrid" question is asked once.
    assert [q.candidate for q in result.questions] == ["Madrid"]
    assert result.num_questions == 1 and result.qags == 1.0


def test_summary_without_candidates_has_no_score(scorer):
    (result,) = scorer.score(["Alice was born in Paris."], ["it was born in it."])
    assert result.qags is None and result.num_questions == 0
    assert result.skipped == result.to_dict()["skipped"] == "no answer candidate in the summary"


def test_results_say_why_no_question_survived(scorer):
    scorer.extractor = FixedCandidates([["born"], ["Madrid"]])
    try:
        dropped, kept = scorer.score(["Carol was born in Madrid."] * 2, ["Carol was born in Madrid."] * 2)
    finally:
        scorer.extractor = RuleCandidates()
    assert (dropped.qags, dropped.num_questions, dropped.skipped) == (None, 0, "no question survived the filter")
    assert kept.qags == 1.0 and kept.skipped is None


def test_text_the_models_cannot_read_is_refused_like_empty_text(scorer):
    with pytest.raises(InputError, match=r"sources\[0\] has no text the model reads \(only control, zero-width"):
        scorer.score(["\u200b\x01"], ["Alice was born in Paris."])


@pytest.mark.parametrize(
    "setting,error,message",
    [
        ({"num_beams": "4"}, TypeError, "num_beams='4' is str; use an integer >= 1."),
        ({"max_questions": 2.0}, TypeError, "max_questions=2.0 is float; use an integer >= 1."),
        ({"batch_size": True}, TypeError, "batch_size=True is bool; use an integer >= 1."),
        ({"match_f1": math.nan}, ValueError, "match_f1=nan: use a finite number > 0.0 and <= 1.0."),
        ({"match_f1": 0}, ValueError, "match_f1=0: use a finite number > 0.0 and <= 1.0."),
        ({"qa_stride": -1}, ValueError, "qa_stride=-1: use an integer >= 0."),
        ({"qg_model": None}, TypeError, "qg_model=None: pass a question generator's folder, a Hub id, 'bundled-qg'"),
        ({"qa_model": ""}, ValueError, "qa_model='': pass a question-answering folder, a Hub id or 'bundled-qa'."),
        ({"extractor": None}, TypeError, "extractor=None: use 'rules', a spaCy pipeline name or folder, or an object"),
    ],
)
def test_settings_of_the_wrong_type_or_value_are_named_before_any_model_loads(tmp_path, setting, error, message):
    missing = {"qg_model": str(tmp_path / "no-qg"), "qa_model": str(tmp_path / "no-qa"), "extractor": "rules"}
    with pytest.raises(error, match=re.escape(message)):  # reaching a model would raise FileNotFoundError instead
        QagsScorer(**{**missing, **setting})


def test_a_qagen_checkpoint_is_refused_as_question_generator(trained_qagen_dir, trained_qa_dir):
    with pytest.raises(ValueError, match="task='question-generation'"):
        QagsScorer(trained_qagen_dir, trained_qa_dir, extractor="rules")


def test_qa_recipe_trains_resumes_and_exports(tmp_path):
    base = str(tmp_path / "tiny-bert")
    tokenizer = tiny_tokenizer(base)
    BertModel(tiny_bert_config(len(tokenizer)), add_pooling_layer=False).save_pretrained(base)
    data = tmp_path / "squad.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in fact_rows(n=40)))
    run = str(tmp_path / "run")
    recipe = QARecipe(base_model=base, train_files=[str(data)], dev_file=str(data), dev_examples=8, max_length=32, stride=8,
                      training={"per_device_train_batch_size": 4, "max_steps": 2, "save_steps": 2, "eval_steps": 2,
                                "use_cpu": True, "logging_steps": 1})
    assert train_qa(recipe, run).state.global_step == 2
    recipe.training["max_steps"] = 3
    assert train_qa(recipe, run).state.global_step == 3  # resumed from checkpoint-2
    out = export_qa(latest_checkpoint(run), str(tmp_path / "qa"), "# tiny QA\n")
    assert os.path.exists(os.path.join(out, "model.safetensors"))
    (answer,) = QuestionAnswerer(out, max_length=32, stride=8, max_question_tokens=8).answer(["where was alice born?"], ["Alice was born in Paris."])
    assert answer and answer in "Alice was born in Paris."  # an untrained model still returns a span of the text
