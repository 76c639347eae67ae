"""Summaries from any architecture: seeded top-k sampling, beam search, a prefix-LM summarizer, evaluation."""

from __future__ import annotations

import json
import os
import re

import pytest
import torch

import trainer_ext.evaluation as evaluation
from facts import fact
from quals.constraints import NoRepeatNGram
from quals.generation import BeamConfig, diverse_beam_search
from quals.lexical import bigram_overlap
from quals.network import as_network
from quals.prefix_lm import PrefixLMForQAGen
from quals.sampling import sample_sequences
from tiny import tiny_bart, tiny_prefix_lm, tiny_tokenizer
from trainer_ext.cli import main
from trainer_ext.rouge_f1 import rouge_scores
from trainer_ext.summarization import SummarizerRecipe, load_summarizer

EOS, START = 4, 3  # [SEP] and [CLS] of the tiny vocabulary


@pytest.fixture(scope="module", params=["bart", "prefix-lm"])
def network_and_inputs(request, tmp_path_factory):
    folder = str(tmp_path_factory.mktemp(request.param))
    tokenizer = tiny_tokenizer(folder)
    if request.param == "bart":
        model = tiny_bart(len(tokenizer), seed=0, eos_bias=0.5)
    else:
        model = PrefixLMForQAGen.from_pretrained(tiny_prefix_lm(folder))
    enc = tokenizer([fact("alice", "paris"), "bob was born in rome and moved to london ."], padding=True, return_tensors="pt")
    return as_network(model.eval()), enc["input_ids"], enc["attention_mask"]


def test_sampling_is_seeded_and_respects_the_length_limits(network_and_inputs):
    network, ids, mask = network_and_inputs

    def draw(seed: int) -> list[list[int]]:
        return sample_sequences(network, ids, mask, 4, START, EOS, top_k=5, min_new_tokens=3, max_new_tokens=9,
                                generator=torch.Generator().manual_seed(seed))

    first = draw(0)
    assert first == draw(0) and first != draw(1)
    assert len(first) == 2 * 4
    for seq in first:
        assert 3 <= len(seq) <= 9
        assert EOS not in seq[:3]
        assert EOS not in seq[:-1]  # a sequence stops at its first EOS
    with pytest.raises(ValueError, match="temperature"):
        sample_sequences(network, ids, mask, 2, START, EOS, temperature=0.0)


def test_top_1_sampling_is_greedy_search(network_and_inputs):
    network, ids, mask = network_and_inputs
    sampled = sample_sequences(network, ids, mask, 2, START, EOS, top_k=1, min_new_tokens=2, max_new_tokens=8)
    beams = diverse_beam_search(network, ids, mask, BeamConfig(num_beams=1, num_groups=1, min_new_tokens=2, max_new_tokens=8), START, EOS)
    for i, hyps in enumerate(beams):
        greedy = hyps[0].tokens  # always ends with EOS: forced after max_new_tokens tokens if not chosen earlier
        assert sampled[2 * i] == sampled[2 * i + 1]  # both samples of a source agree when only one token is allowed
        # The sampler's limit counts the EOS; beam search adds it after 8 tokens.
        assert sampled[2 * i] == (greedy if len(greedy) <= 8 else greedy[:8])


def test_prefix_lm_shifts_labels_behind_the_start_token(tmp_path):
    model, tokenizer = load_summarizer(tiny_prefix_lm(str(tmp_path)))
    assert isinstance(model, PrefixLMForQAGen) and model.config.decoder_start_token_id == tokenizer.cls_token_id
    labels = torch.tensor([[7, 8, EOS, -100]])
    assert model.prepare_decoder_input_ids_from_labels(labels).tolist() == [[START, 7, 8, EOS]]


def test_a_summarizer_folder_with_only_pickle_weights_is_refused_unopened(tmp_path, monkeypatch):
    folder = tiny_prefix_lm(str(tmp_path / "pickled"))
    weights = os.path.join(folder, "model.safetensors")
    from safetensors.torch import load_file

    torch.save(load_file(weights), os.path.join(folder, "pytorch_model.bin"))  # what transformers would unpickle
    os.remove(weights)
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("a pickle was opened"))
    refused = f"summarizer='{folder}': {folder} holds only pickle weights (pytorch_model.bin), which QUALS never opens"
    with pytest.raises(FileNotFoundError, match=re.escape(refused)):
        load_summarizer(folder)


def test_float16_checkpoints_load_in_float32_for_training(tmp_path):
    """The bundled QAGen is stored in float16; summarizers and QAGen runs built on it must train in float32."""
    from quals.qagen import load_qagen_model
    from tiny import TINY_FORMAT

    folder = tiny_prefix_lm(str(tmp_path))
    PrefixLMForQAGen.from_pretrained(folder).half().save_pretrained(folder)
    assert PrefixLMForQAGen.from_pretrained(folder).dtype == torch.float16  # what transformers alone does
    summarizer, _ = load_summarizer(folder)
    qagen = load_qagen_model(folder, TINY_FORMAT, init_from_base=True)
    for model in (summarizer, qagen):
        assert {p.dtype for p in model.parameters()} == {torch.float32}


SMALL = {"per_device_train_batch_size": 4, "max_steps": 2, "logging_steps": 1, "learning_rate": 1e-3, "use_cpu": True,
         "save_strategy": "steps", "save_steps": 2}


def test_prefix_lm_summarizer_trains_and_evaluates_with_rouge_quals_and_qags(tmp_path, trained_qagen_dir, trained_qg_dir, trained_qa_dir, monkeypatch):
    names, cities = ["alice", "bob", "carol", "dave", "erin", "frank"], ["paris", "rome", "berlin", "madrid", "london", "paris"]
    with open(tmp_path / "data.jsonl", "w") as f:
        for n, c in zip(names, cities):
            f.write(json.dumps({"document": f"{fact(n, c)} the team played in rome .", "reference": fact(n, c)}) + "\n")
    config = {
        "base_model": tiny_prefix_lm(str(tmp_path / "base")), "data_file": str(tmp_path / "data.jsonl"),
        "train_rows": [0, 4], "eval_rows": [4, 6], "max_source_length": 32, "max_target_length": 10,
        "mle_training": SMALL,
        "quals": {"model": trained_qagen_dir, "num_beams": 6, "num_beam_groups": 6, "min_new_tokens": 3, "max_new_tokens": 10},
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    cfg = str(tmp_path / "config.json")
    assert main(["mle", "--config", cfg, "--output-dir", str(tmp_path / "mle")]) == 0
    history = json.loads((tmp_path / "mle" / "checkpoint-2" / "trainer_state.json").read_text())["log_history"]
    assert [h["pos_loss"] for h in history if "pos_loss" in h][-1] < [h["pos_loss"] for h in history if "pos_loss" in h][0]

    summarizer, out = str(tmp_path / "mle" / "final"), str(tmp_path / "eval")
    recipe = SummarizerRecipe.from_json(cfg)
    recipe.evaluation = {
        "decoding": {"num_beams": 2, "min_new_tokens": 2, "max_new_tokens": 10, "batch_size": 1},
        "quals": config["quals"],
        "qags": {"qg_model": trained_qg_dir, "qa_model": trained_qa_dir, "extractor": "rules", "num_beams": 4,
                 "max_new_tokens": 8, "qa_max_length": 64, "qa_stride": 16},
    }
    report = evaluation.evaluate_summarizer(recipe, summarizer, out)
    summaries = [json.loads(line)["summary"] for line in open(f"{out}/summaries.jsonl")]
    assert len(summaries) == 2 and report["documents"] == 2
    references = [fact("erin", "london"), fact("frank", "paris")]
    expected_r1 = sum(rouge_scores(s, r)["rouge1"] for s, r in zip(summaries, references)) / 2
    assert report["rouge1"] == pytest.approx(expected_r1)
    documents = [f"{fact(n, c)} the team played in rome ." for n, c in (("erin", "london"), ("frank", "paris"))]
    expected_share = sum(bigram_overlap(d, s) for d, s in zip(documents, summaries)) / 2
    assert report["source_bigram_share"] == pytest.approx(expected_share)
    for name in ("quals", "qags"):
        scores = [json.loads(line)[name] for line in open(f"{out}/{name}.jsonl")]
        scored = [s for s in scores if s is not None]
        assert report[f"{name}_coverage"] == len(scored) / 2
        assert report[name] == (pytest.approx(sum(scored) / len(scored)) if scored else None)
    assert json.loads(open(f"{out}/report.json").read()) == report

    decoded = []
    real_beam_texts = evaluation.beam_texts

    def counting(model, tokenizer, documents, *args, **kwargs):
        decoded.extend(documents)
        return real_beam_texts(model, tokenizer, documents, *args, **kwargs)

    monkeypatch.setattr(evaluation, "beam_texts", counting)
    assert evaluation.evaluate_summarizer(recipe, summarizer, out) == report
    assert decoded == []  # finished: nothing decoded again
    lines = open(f"{out}/summaries.jsonl").readlines()
    with open(f"{out}/summaries.jsonl", "w") as f:  # a run killed after its first batch
        f.write(lines[0])
    os.remove(f"{out}/quals.jsonl")
    assert evaluation.evaluate_summarizer(recipe, summarizer, out) == report
    assert len(decoded) == 1  # only the missing document, with the same summary as before
    recipe.evaluation["decoding"]["num_beams"] = 3
    with pytest.raises(ValueError, match="another summarizer, documents or decoding settings"):
        evaluation.evaluate_summarizer(recipe, summarizer, out)
    recipe.evaluation["beams"] = 3
    with pytest.raises(ValueError, match="unknown key"):
        evaluation.evaluate_summarizer(recipe, summarizer, out)


def _repeats(tokens: list[int], n: int) -> bool:
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return len(grams) != len(set(grams))


def test_no_repeat_ngram_bans_exactly_the_completing_tokens():
    for n, banned in ((3, {7}), (2, {7}), (1, {5, 6, 7})):
        constraint = NoRepeatNGram(rows=2, n=n)
        for token in (5, 6, 7, 5, 6):
            constraint.update(torch.tensor([0, 1]), torch.tensor([token, 9]))
        log_probs = torch.zeros(2, 12)
        constraint.apply(log_probs, step=5, max_new_tokens=20)
        assert set((log_probs[0] == float("-inf")).nonzero().flatten().tolist()) == banned
        assert set((log_probs[1] == float("-inf")).nonzero().flatten().tolist()) == {9}  # 9 9 9 9 9 repeats at every n
    with pytest.raises(ValueError, match="no_repeat_ngram_size"):
        NoRepeatNGram(rows=1, n=0)
    # Beams move to their parents' rows, and rows of finished sources are dropped.
    constraint = NoRepeatNGram(rows=3, n=2)
    constraint.update(torch.tensor([0, 1, 2]), torch.tensor([5, 6, 7]))
    constraint.update(torch.tensor([2, 2]), torch.tensor([5, 7]))
    assert constraint.history == [[7, 5], [7, 7]]
    log_probs = torch.zeros(2, 12)
    constraint.apply(log_probs, step=2, max_new_tokens=20)
    assert (log_probs[0] == float("-inf")).sum() == 0 and (log_probs[1] == float("-inf")).nonzero().flatten().tolist() == [7]


def test_beam_search_with_ngram_blocking_never_repeats_a_bigram(network_and_inputs):
    network, ids, mask = network_and_inputs
    config = BeamConfig(num_beams=3, num_groups=1, diversity_penalty=0.0, min_new_tokens=25, max_new_tokens=25)
    free = diverse_beam_search(network, ids, mask, config, START, EOS)
    assert any(_repeats(h.tokens, 2) for hyps in free for h in hyps)  # the random model loops without it
    blocked = diverse_beam_search(network, ids, mask, config, START, EOS, constraint=NoRepeatNGram(2 * 3, 2))
    assert all(not _repeats(h.tokens[:-1], 2) for hyps in blocked for h in hyps)
