"""QAGen negatives: same-kind swaps that never still contain the true answer, answer-only labels, ratios;
a prefix-LM grown by repeating its layers. (A recipe run with negatives is in test_recipe.py.)"""

from __future__ import annotations

import os

import pytest
from transformers import AutoTokenizer

from quals.qa_format import PRESETS
from trainer_ext.qagen_data import build_examples
from trainer_ext.qagen_negatives import NegativeBuilder, NegativeConfig, answer_kind, context_spans, overlaps

BUNDLED = os.path.join(os.path.dirname(__file__), "..", "quals", "models", "qagen-minilm")
FORMAT = PRESETS["minilm-prefix-lm"]
CONTEXTS = [
    "In 1990 Alice Smith moved to Paris with 3 children. Bob Jones stayed in Rome until 2001 and wrote a novel.",
    "The Golden Bridge opened in 1937 after four years of work. Its engineer, Carol White, had studied in Berlin.",
    "The river floods every spring. In 1985 the Green Party won 12 seats and formed a government with Labour.",
]
QUESTIONS = [
    ("Who moved to Paris?", "Alice Smith"), ("When did Bob Jones stay in Rome until?", "2001"),
    ("What did Bob Jones write?", "a novel"), ("Who was the engineer?", "Carol White"),
    ("When did the bridge open?", "1937"), ("How many seats did the party win?", "12"),
    ("What floods every spring?", "The river"),
]


def _rows() -> list[dict]:
    rows = []
    for question, answer in QUESTIONS:
        context = next(c for c in CONTEXTS if answer in c)
        rows.append({"context": context, "question": question,
                     "answers": {"text": [answer], "answer_start": [context.index(answer)]}})
    return rows


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(BUNDLED)


def test_answer_kinds_and_overlap():
    assert [answer_kind(t) for t in ("1990", "3 million", "Alice Smith", "University of Notre Dame", "a novel")] == [
        "number", "number", "name", "name", "other"]
    assert overlaps("Alice Smith", "Smith") and overlaps("the Paris", "paris") and not overlaps("Paris", "Rome")


def test_context_spans_are_typed_and_skip_sentence_openers():
    spans = context_spans(CONTEXTS[0], {"a novel"})
    assert {"Alice Smith", "Bob Jones", "Paris", "Rome"} <= set(spans["name"])
    assert {"1990", "3", "2001"} <= set(spans["number"]) and spans["other"] == ["a novel"]
    assert "In" not in spans["name"]  # one capitalised word opening a sentence is not a name


@pytest.mark.parametrize("kind", ["swap_answer", "foreign_answer", "swap_context"])
def test_each_kind_makes_an_unsupported_pair_with_answer_only_labels(tokenizer, kind):
    rows = _rows()
    builder = NegativeBuilder(rows, NegativeConfig(kinds=[kind], ratio=1.0), seed=3)
    ex = build_examples(rows, tokenizer, FORMAT, 16, 120, seed=0, negatives=builder)
    ids = FORMAT.validate(tokenizer)
    made = ex["negative_counts"][0].get(kind, 0)
    # swap_answer finds no same-kind partner in their own context for "a novel", "1937" and "The river"
    assert made == 4 if kind == "swap_answer" else made >= 6
    for row_index, labels, neg, neg_decoder, neg_source, source in zip(
        ex["row"], ex["labels"], ex["negative_labels"], ex["negative_decoder_input_ids"], ex["negative_input_ids"], ex["input_ids"]
    ):
        if not neg:
            continue
        row = rows[row_index]
        answer = row["answers"]["text"][0]
        cut = labels.index(ids.separator) + 1
        assert neg[:cut] == [-100] * cut and neg[-1] == -100  # the question, separator and end token are masked
        full = neg_decoder[1:] + [ids.eos]  # the decoder reads the whole negative: question, separator, answer
        assert neg_decoder[0] == ids.decoder_start and full[:cut] == labels[:cut]
        assert [y for y in neg if y != -100] == full[cut:-1]
        negative_answer = tokenizer.decode(full[cut:-1])
        if kind == "swap_context":
            assert full == labels  # the true pair ...
            assert answer.lower() not in tokenizer.decode(neg_source).lower()  # ... on a window that lost it
            assert neg_source[0] == source[0] == ids.source_bos and neg_source[-1] == ids.source_eos
            continue
        assert not neg_source and not overlaps(negative_answer, answer)  # the example's own window, another answer
        if kind == "swap_answer":  # a same-kind span of the same context
            same_kind = context_spans(row["context"], {answer})[answer_kind(answer)]
        else:  # a same-kind answer of another context
            same_kind = [r["answers"]["text"][0] for r in rows
                         if r["context"] != row["context"] and answer_kind(r["answers"]["text"][0]) == answer_kind(answer)]
        assert negative_answer.lower() in {s.lower() for s in same_kind}, (answer, negative_answer)


def test_ratio_sets_the_share_of_examples_with_a_negative(tokenizer):
    rows = _rows() * 30
    for ratio in (0.25, 0.75):
        builder = NegativeBuilder(rows, NegativeConfig(ratio=ratio), seed=0)
        ex = build_examples(rows, tokenizer, FORMAT, 16, 120, seed=0, negatives=builder)
        share = sum(bool(n) for n in ex["negative_labels"]) / len(rows)
        assert abs(share - ratio) < 0.1, (ratio, share)


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="negatives.kinds"):
        NegativeConfig(kinds=["swap_answers"])
    with pytest.raises(ValueError, match="negatives.ratio"):
        NegativeConfig(ratio=0.0)
    with pytest.raises(ValueError, match="negatives.weight"):
        NegativeConfig(weight=-1)


def test_repeated_layers_start_as_copies_and_reload_deeper(tmp_path):
    import torch

    from quals.prefix_lm import PrefixLMForQAGen
    from tiny import tiny_bert_config
    from trainer_ext.qagen_recipe import repeat_layers

    model = PrefixLMForQAGen(tiny_bert_config(60))
    layers = list(model.bert.encoder.layer)
    repeat_layers(model, 2)
    grown = model.bert.encoder.layer
    assert len(grown) == 2 * len(layers) == model.config.num_hidden_layers
    for i, layer in enumerate(grown):
        original = layers[i // 2].state_dict()
        assert all(torch.equal(v, original[k]) for k, v in layer.state_dict().items())
    assert grown[0].attention.self.query.weight.data_ptr() != grown[1].attention.self.query.weight.data_ptr()
    model.save_pretrained(tmp_path / "grown")
    assert len(PrefixLMForQAGen.from_pretrained(tmp_path / "grown").bert.encoder.layer) == 2 * len(layers)
    with pytest.raises(ValueError, match="layer_repeat=0"):
        repeat_layers(model, 0)
