"""The CONSEQ data builder: selection on hand-made scores, ROUGE, an end-to-end build, and resume."""

from __future__ import annotations

import json

import pytest

import quals
import trainer_ext.contrastive_data as cd
from facts import fact
from tiny import tiny_bart, tiny_tokenizer
from trainer_ext.contrastive_data import ContrastiveConfig, build_contrastive_dataset, select_pairs
from trainer_ext.rouge_f1 import rouge_ensemble, rouge_scores


def test_select_pairs_follows_the_reference_rules():
    samples = [
        [-0.1, -2.0, None],  # doc 0: negative is sample 1 (-2.0)
        [None, None, None],  # doc 1: no scored sample, never selected
        [-0.5, -0.4, -0.3],  # doc 2: negative -0.5
        [-3.0, -0.2, -0.1],  # doc 3: negative -3.0
        [-1.0, -1.5, -0.1],  # doc 4: negative -1.5
    ]
    references = [0.2, 0.9, -0.1, 0.5, None]
    # round(0.6 * 5) = 3: lowest negatives {3, 0, 4}; highest references {1, 3, 0}; intersection {0, 3}.
    assert select_pairs(samples, references, 0.6, 0.6) == [(0, 1), (3, 0)]
    assert select_pairs(samples, references, 1.0, 1.0) == [(0, 1), (2, 0), (3, 0)]
    with pytest.raises(ValueError, match="reference scores"):
        select_pairs(samples, references[:2])


@pytest.mark.parametrize("prediction, reference, use_stemmer, expected", [
    ("the cat sat on the mat", "the cat lay on the mat", True, (5 / 6, 3 / 5, 5 / 6)),
    # Porter stemming of tokens longer than 3 characters: cats -> cat, running -> run; "was" stays
    ("the cats were running", "the cat was run", True, (3 / 4, 1 / 3, 3 / 4)),
    ("the cats were running", "the cat was run", False, (1 / 4, 0.0, 1 / 4)),
    # rouge_score keeps ASCII letters and digits only: café -> caf, zürich -> z rich; "opens" matches
    ("Café Zürich opens", "cafe zurich opens", True, (2 / 7, 0.0, 2 / 7)),
    ("", "a b", True, (0.0, 0.0, 0.0)),
])
def test_rouge_is_rouge_score_on_hand_computed_cases(prediction, reference, use_stemmer, expected):
    from rouge_score import rouge_scorer

    scores = rouge_scores(prediction, reference, use_stemmer)
    assert (scores["rouge1"], scores["rouge2"], scores["rougeL"]) == pytest.approx(expected)
    direct = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=use_stemmer).score(reference, prediction)
    assert scores == {name: direct[name].fmeasure for name in scores}
    assert rouge_ensemble(prediction, reference, use_stemmer) == pytest.approx(sum(expected) / 3)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    names, cities = ["alice", "bob", "carol", "dave", "erin"], ["paris", "rome", "berlin", "madrid", "london"]
    documents = [f"{fact(n, c)} the team played in {cities[i - 1]} ." for i, (n, c) in enumerate(zip(names, cities))]
    references = [fact(n, c) for n, c in zip(names, cities)]
    tokenizer = tiny_tokenizer(str(tmp_path_factory.mktemp("tok")))
    return documents, references, tiny_bart(len(tokenizer), seed=0, eos_bias=1.0), tokenizer


CONFIG = dict(num_samples=3, min_new_tokens=3, max_new_tokens=8, batch_size=2, negative_ratio=0.6, positive_ratio=0.6)


def test_build_with_quals_selects_lowest_samples_and_saves(corpus, trained_qagen_dir, tmp_path):
    documents, references, summarizer, tokenizer = corpus
    scorer = quals.QualsScorer(trained_qagen_dir, num_beams=6, num_beam_groups=6, min_new_tokens=3, max_new_tokens=10, answer_constraint="span")
    data = build_contrastive_dataset(documents, references, summarizer, tokenizer, str(tmp_path), ContrastiveConfig(**CONFIG), scorer)
    samples = [json.loads(line)["samples"] for line in open(tmp_path / "samples.jsonl")]
    scores = [json.loads(line)["quals"] for line in open(tmp_path / "sample_scores.jsonl")]
    assert len(samples) == 5 and all(len(s) == 3 for s in samples) and len(scores) == 15
    assert 1 <= len(data) <= 3
    for row in data:
        d = row["index"]
        doc_scores = [s for s in scores[d * 3 : d * 3 + 3] if s is not None]
        assert row["negative_score"] == min(doc_scores)
        assert row["negative"] == samples[d][scores[d * 3 : d * 3 + 3].index(row["negative_score"])]
        assert row["positive"] == references[d] and row["document"] == documents[d]
    from datasets import load_from_disk

    assert load_from_disk(str(tmp_path / "dataset"))["negative"] == data["negative"]


def test_rouge_selection_needs_no_scorer(corpus, tmp_path):
    documents, references, summarizer, tokenizer = corpus
    data = build_contrastive_dataset(documents, references, summarizer, tokenizer, str(tmp_path), ContrastiveConfig(**{**CONFIG, "metric": "rouge"}))
    assert len(data) == 3  # round(0.6 * 5) lowest-ROUGE negatives; every reference is a candidate
    assert all(row["positive_score"] == 1.0 for row in data)


def test_sampling_resumes_after_a_crash_without_loss_or_repeats(corpus, tmp_path, monkeypatch):
    documents, _, summarizer, tokenizer = corpus
    config = ContrastiveConfig(**CONFIG)
    cd.sample_summaries(summarizer, tokenizer, documents, str(tmp_path / "full.jsonl"), config, progress=False)

    calls = {"n": 0}
    real_append = cd.append_jsonl

    def crash_after_first_batch(path, records):
        if calls["n"] == 1:
            raise KeyboardInterrupt("killed")
        calls["n"] += 1
        real_append(path, records)

    monkeypatch.setattr(cd, "append_jsonl", crash_after_first_batch)
    with pytest.raises(KeyboardInterrupt):
        cd.sample_summaries(summarizer, tokenizer, documents, str(tmp_path / "cut.jsonl"), config, progress=False)
    monkeypatch.setattr(cd, "append_jsonl", real_append)
    assert (tmp_path / "cut.jsonl").read_text().count("\n") == 2
    cd.sample_summaries(summarizer, tokenizer, documents, str(tmp_path / "cut.jsonl"), config, progress=False)
    assert (tmp_path / "cut.jsonl").read_bytes() == (tmp_path / "full.jsonl").read_bytes()


def test_sharded_sampling_merges_to_the_single_process_file(corpus, tmp_path):
    documents, _, summarizer, tokenizer = corpus
    config = ContrastiveConfig(**CONFIG)  # 5 documents in batches of 2: 3 batches over 2 ranks
    cd.sample_summaries(summarizer, tokenizer, documents, str(tmp_path / "one.jsonl"), config, progress=False)
    sharded = str(tmp_path / "two.jsonl")
    for rank in (0, 1):  # what two processes do, one after the other
        cd.sample_summaries(summarizer, tokenizer, documents, sharded, config, progress=False, rank=rank, world_size=2)
    assert (tmp_path / "two.jsonl.part0of2").read_text().count("\n") == 2  # rank 0: batch 0 (documents 0-1)
    assert (tmp_path / "two.jsonl.part1of2").read_text().count("\n") == 3  # rank 1: batches 1-2 (documents 2-4)
    cd.merge_sample_parts(sharded, 2)
    assert (tmp_path / "two.jsonl").read_bytes() == (tmp_path / "one.jsonl").read_bytes()
    assert not (tmp_path / "two.jsonl.part0of2").exists()


def test_a_finished_shard_with_a_short_last_batch_is_not_sampled_again(corpus, tmp_path):
    documents, _, summarizer, tokenizer = corpus
    config = ContrastiveConfig(**CONFIG)
    path = str(tmp_path / "s.jsonl")
    cd.sample_summaries(summarizer, tokenizer, documents, path, config, progress=False, rank=1, world_size=2)
    before = (tmp_path / "s.jsonl.part1of2").read_bytes()  # batches 1-2: documents 2-3, then 4 alone
    cd.sample_summaries(summarizer, tokenizer, documents, path, config, progress=False, rank=1, world_size=2)
    assert (tmp_path / "s.jsonl.part1of2").read_bytes() == before
