"""The three CONSEQ commands end to end on tiny local models: mle -> build-contrastive -> conseq."""

from __future__ import annotations

import json

import pytest
from datasets import load_from_disk
from transformers import BertModel

from facts import fact
from tiny import tiny_bert_config, tiny_tokenizer
from trainer_ext.cli import main
from trainer_ext.rouge_f1 import rouge_scores
from trainer_ext.summarization import load_summarizer

SMALL = {"per_device_train_batch_size": 4, "max_steps": 2, "logging_steps": 1, "learning_rate": 1e-3, "use_cpu": True, "save_strategy": "steps", "save_steps": 2}


def test_mle_build_conseq(tmp_path, trained_qagen_dir):
    base = str(tmp_path / "base")
    tokenizer = tiny_tokenizer(base)
    BertModel(tiny_bert_config(len(tokenizer)), add_pooling_layer=False).save_pretrained(base)
    names, cities = ["alice", "bob", "carol", "dave", "erin", "frank"], ["paris", "rome", "berlin", "madrid", "london", "paris"]
    with open(tmp_path / "data.jsonl", "w") as f:
        for n, c in zip(names, cities):
            f.write(json.dumps({"document": f"{fact(n, c)} the team played in rome .", "reference": fact(n, c)}) + "\n")
    config = {
        "base_model": base, "data_file": str(tmp_path / "data.jsonl"), "train_rows": [0, 5], "eval_rows": [5, 6],
        "max_source_length": 32, "max_target_length": 12,
        "mle_training": {**SMALL, "predict_with_generate": True, "generation_max_length": 8, "eval_strategy": "steps", "eval_steps": 2},
        "conseq_training": {**SMALL, "learning_rate": 1e-4},
        "contrastive": {"num_samples": 2, "min_new_tokens": 3, "max_new_tokens": 8, "negative_ratio": 1.0, "positive_ratio": 1.0, "batch_size": 2},
        "quals": {"model": trained_qagen_dir, "num_beams": 6, "num_beam_groups": 6, "min_new_tokens": 3, "max_new_tokens": 10, "answer_constraint": "span"},
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    cfg = str(tmp_path / "config.json")

    assert main(["mle", "--config", cfg, "--output-dir", str(tmp_path / "mle")]) == 0
    mle_history = json.loads((tmp_path / "mle" / "checkpoint-2" / "trainer_state.json").read_text())["log_history"]
    evaluation = [h for h in mle_history if "eval_rouge1" in h]
    assert evaluation and 0.0 <= evaluation[0]["eval_rougeL"] <= 1.0 and "eval_loss" in evaluation[0]
    model, _ = load_summarizer(str(tmp_path / "mle" / "final"))
    assert model.config.model_type == "encoder-decoder"  # MiniLM-style BERT became bert2bert

    assert main(["build-contrastive", "--config", cfg, "--summarizer", str(tmp_path / "mle" / "final"), "--work-dir", str(tmp_path / "work")]) == 0
    data = load_from_disk(str(tmp_path / "work" / "dataset"))
    scores = [json.loads(line)["quals"] for line in open(tmp_path / "work" / "sample_scores.jsonl")]
    assert len(scores) == 10 and len(data) == sum(any(s is not None for s in scores[2 * d : 2 * d + 2]) for d in range(5))
    assert len(data) >= 1

    assert main(["conseq", "--config", cfg, "--summarizer", str(tmp_path / "mle" / "final"), "--data", str(tmp_path / "work" / "dataset"),
          "--output-dir", str(tmp_path / "conseq")]) == 0
    history = json.loads((tmp_path / "conseq" / "checkpoint-2" / "trainer_state.json").read_text())["log_history"]
    assert any("neg_loss" in h and h["neg_token_prob"] > 0 for h in history)
    assert (tmp_path / "conseq" / "final" / "model.safetensors").exists()

    assert main(["evaluate", "--config", cfg, "--set", '{"evaluation": {"decoding": {"num_beams": 2, "min_new_tokens": 2}}}',
          "--summarizer", str(tmp_path / "conseq" / "final"), "--out", str(tmp_path / "eval"), "--metrics", "rouge"]) == 0
    report = json.loads((tmp_path / "eval" / "report.json").read_text())
    summary = json.loads((tmp_path / "eval" / "summaries.jsonl").read_text())["summary"]
    assert report["documents"] == 1 and "quals" not in report and report["decoding"]["num_beams"] == 2
    assert report["rouge1"] == rouge_scores(summary, fact("frank", "paris"))["rouge1"]


def test_quals_train_usage_errors_name_the_argument(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["mle", "--config", "x.json", "--output-dir", str(tmp_path), "--set", "[1]"])
    assert "argument --set: must be a JSON object of recipe fields, got list" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["export-qagen", "--config", "x.json", "--out", str(tmp_path / "q")])  # neither --run nor --checkpoint
    assert "one of the arguments --run --checkpoint is required" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text('{"base_model": "minilm", "epochs": 3}')
    assert main(["qagen", "--config", str(tmp_path / "bad.json"), "--output-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "quals-train qagen: error:" in err and "unknown field(s) ['epochs']" in err
