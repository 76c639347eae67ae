"""The QAGen recipe: a tiny base trains a few steps on SQuAD-format rows, resumes, and exports a QAGen
folder that QualsScorer loads, for the prefix-LM and for bert2bert (an ordinary encoder-decoder); with
negatives it trains through ConSeqTrainer."""

from __future__ import annotations

import dataclasses
import json
import os
import re

import pytest
import torch
from transformers import BertModel

import quals
from facts import fact_rows
from quals.qa_format import QAFormat
from quals.qagen import load_qagen_model
from tiny import TINY_FORMAT, tiny_bert_config, tiny_tokenizer
from trainer_ext.qagen_data import build_examples, read_squad, target_ids
from trainer_ext.qagen_recipe import QAGenRecipe, export_qagen, latest_checkpoint, train_qagen


@pytest.fixture(scope="module")
def base_and_data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("recipe")
    base = str(folder / "tiny-bert")
    tokenizer = tiny_tokenizer(base)
    BertModel(tiny_bert_config(len(tokenizer)), add_pooling_layer=False).save_pretrained(base)
    data = folder / "squad.jsonl"
    with open(data, "w") as f:
        for row in fact_rows(n=40):
            f.write(json.dumps(row) + "\n")
    return base, str(data), folder


def test_examples_follow_the_qa_format(base_and_data):
    base, data, _ = base_and_data
    tokenizer = tiny_tokenizer(base)
    rows = list(read_squad(data))[:5]
    ex = build_examples(rows, tokenizer, TINY_FORMAT, min_window=64, max_window=64)
    ids = TINY_FORMAT.validate(tokenizer)
    for i, row in enumerate(rows):
        question = tokenizer(row["question"], add_special_tokens=False)["input_ids"]
        answer = tokenizer(row["answers"]["text"][0], add_special_tokens=False)["input_ids"]
        assert ex["labels"][i] == question + [ids.separator] + answer + [ids.eos]
        assert ex["decoder_input_ids"][i] == [ids.decoder_start] + ex["labels"][i][:-1]
        assert ex["input_ids"][i][0] == ids.source_bos and ex["input_ids"][i][-1] == ids.source_eos
    assert target_ids(list(range(10, 40)), [7, 8], ids, max_length=10) == list(range(10, 16)) + [ids.separator, 7, 8, ids.eos]


def test_answers_too_long_for_the_target_are_skipped_and_counted(base_and_data):
    """QAMR and QED hold sentence-long answers: kept, their targets would overrun the model's positions."""
    base, data, _ = base_and_data
    tokenizer = tiny_tokenizer(base)
    row = list(read_squad(data))[0]
    context = " ".join([row["context"]] * 8)
    long_answer = " ".join(context.split()[: TINY_FORMAT.max_target_length])  # more tokens than the target holds
    assert len(tokenizer(long_answer, add_special_tokens=False)["input_ids"]) + 3 > TINY_FORMAT.max_target_length
    too_long = {**row, "context": context, "answers": {"text": [long_answer], "answer_start": [0]}}
    ex = build_examples([row, too_long], tokenizer, TINY_FORMAT, min_window=90, max_window=90)
    assert ex["skipped"] == [(0, 1)] and len(ex["labels"]) == 1
    assert all(len(labels) <= TINY_FORMAT.max_target_length for labels in ex["labels"])


def test_row_limit_samples_the_whole_file_in_order(base_and_data):
    _, data, _ = base_and_data
    every = QAGenRecipe().rows([data], None)
    sample = QAGenRecipe(seed=1).rows([data], 8)
    rest = iter(every)
    assert len(sample) == 8 and all(any(row == other for other in rest) for row in sample)  # in file order
    assert sample != every[:8]  # not the first rows, which in SQuAD dev are all one article
    assert sample == QAGenRecipe(seed=1).rows([data], 8) != QAGenRecipe(seed=2).rows([data], 8)
    assert QAGenRecipe().rows([data], len(every) + 5) == every and len(every) == 40


@pytest.mark.parametrize("architecture", ["prefix-lm", "encoder-decoder"])
def test_train_resume_export_and_score(base_and_data, architecture):
    base, data, folder = base_and_data
    fmt = dataclasses.replace(TINY_FORMAT, architecture=architecture)
    run = str(folder / f"run-{architecture}")
    recipe = QAGenRecipe(
        base_model=base, qa_format=fmt.to_dict(), train_files=[data], dev_file=data,
        dev_examples=8, min_window=64, max_window=64, model_config={"hidden_dropout_prob": 0.3},
        training={"per_device_train_batch_size": 4, "max_steps": 2, "save_steps": 2, "eval_steps": 2,
                  "learning_rate": 1e-3, "use_cpu": True, "report_to": "none", "logging_steps": 1},
    )
    first = train_qagen(recipe, run)
    assert first.state.global_step == 2 and latest_checkpoint(run).endswith("checkpoint-2")
    recipe.training["max_steps"] = 3
    resumed = train_qagen(recipe, run)
    assert resumed.state.global_step == 3  # continued from checkpoint-2, not from scratch
    assert len(resumed.state.log_history) > 0 and latest_checkpoint(run).endswith("checkpoint-3")
    out = export_qagen(latest_checkpoint(run), str(folder / f"qagen-{architecture}"), fmt, "# tiny QAGen\n")
    assert QAFormat.load(out) == fmt and os.path.exists(os.path.join(out, "model.safetensors"))
    saved = json.loads(open(os.path.join(out, "config.json")).read())  # model_config reached the trained model
    sides = [saved] if architecture == "prefix-lm" else [saved["encoder"], saved["decoder"]]
    dropouts = [side["hidden_dropout_prob"] for side in sides]
    assert dropouts == [0.3] * len(dropouts) and tiny_bert_config(10).hidden_dropout_prob != 0.3
    assert 0.3 in {m.p for m in resumed.model.modules() if isinstance(m, torch.nn.Dropout)}  # and trained with it
    # Continuing from a trained QAGen (not a base) takes overrides too, e.g. more dropout for a second run.
    again = load_qagen_model(out, fmt, init_from_base=True, config_overrides={"hidden_dropout_prob": 0.25})
    assert 0.25 in {m.p for m in again.modules() if isinstance(m, torch.nn.Dropout)}
    scorer = quals.QualsScorer(out, num_beams=4, num_beam_groups=4, min_new_tokens=2, max_new_tokens=6, answer_constraint="span")
    (result,) = scorer.score(["alice was born in paris ."], ["alice was born in paris ."])
    assert result.num_qa_pairs >= 1 and result.quals is not None  # the span constraint guarantees valid pairs


@pytest.mark.parametrize("command, recipe, field", [
    ("qagen", {"train_files": ["missing.jsonl"]}, "train_files"),
    ("qa", {"train_files": [], "dev_file": "missing-dev.jsonl"}, "dev_file"),
    ("mle", {"data_file": "missing.jsonl"}, "data_file"),
])
def test_a_missing_data_file_is_named_before_any_model_loads(tmp_path, capsys, command, recipe, field):
    from trainer_ext.cli import main

    (tmp_path / "r.json").write_text(json.dumps({"base_model": str(tmp_path / "no-such-base"), **recipe}))
    assert main([command, "--config", str(tmp_path / "r.json"), "--output-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"quals-train {command}: error: {field}: no file ") and f'--set \'{{"{field}": ' in err
    assert len(err.splitlines()) == 1 and not (tmp_path / "run").exists()


def test_a_prefix_lm_from_an_encoder_reports_its_new_keys_in_one_line(base_and_data, caplog):
    from transformers.utils import logging as hf_logging

    base, _, _ = base_and_data
    fmt = QAFormat.from_dict(TINY_FORMAT.to_dict())
    with caplog.at_level("INFO", logger="quals.qagen"):
        load_qagen_model(base, fmt, init_from_base=True)
    (record,) = [r for r in caplog.records if r.name == "quals.qagen"]
    assert record.levelname == "INFO" and "newly initialised ['cls.predictions." in record.getMessage()
    verbosity = hf_logging.get_verbosity()
    with pytest.raises(RuntimeError, match="report"):  # a real mismatch still fails, and says why
        load_qagen_model(base, fmt, init_from_base=True, config_overrides={"max_position_embeddings": 7})
    assert hf_logging.get_verbosity() == verbosity


def test_recipe_file_with_an_unknown_field_is_rejected(tmp_path):
    (tmp_path / "r.json").write_text(json.dumps({"base_model": "minilm", "lr": 1e-4}))
    with pytest.raises(ValueError, match=r"r.json: unknown field\(s\) \['lr'\]"):
        QAGenRecipe.from_json(str(tmp_path / "r.json"))
    # the QA format decides the architecture; a recipe's own `architecture` was read by nothing and is gone
    (tmp_path / "r.json").write_text(json.dumps({"base_model": "minilm", "architecture": "prefix-lm"}))
    with pytest.raises(ValueError, match=r"unknown field\(s\) \['architecture'\]"):
        QAGenRecipe.from_json(str(tmp_path / "r.json"))


@pytest.mark.parametrize("field,value,message", [
    ("max_window", "160", "max_window='160' is str; QAGenRecipe.max_window takes int."),
    ("seed", True, "seed=True is bool; QAGenRecipe.seed takes int."),
    ("train_files", "squad.jsonl", "squad.jsonl' is str; QAGenRecipe.train_files takes list[str]."),  # path resolved
    ("dev_examples", 1.5, "r.json: dev_examples=1.5 is float; QAGenRecipe.dev_examples takes int or null."),
    ("training", [1], "r.json: training=[1] is list; QAGenRecipe.training takes dict[str, anything]."),
])
def test_a_recipe_field_of_the_wrong_type_is_named_before_anything_loads(tmp_path, field, value, message):
    (tmp_path / "r.json").write_text(json.dumps({"base_model": "minilm", field: value}))
    with pytest.raises(ValueError, match=re.escape(message)):
        QAGenRecipe.from_json(str(tmp_path / "r.json"))
    # numbers where floats go, lists where tuples go and null where a field is optional all pass
    from trainer_ext.summarization import SummarizerRecipe

    (tmp_path / "s.json").write_text(json.dumps({"train_rows": [0, 4], "eval_rows": None, "max_source_length": 128}))
    assert SummarizerRecipe.from_json(str(tmp_path / "s.json")).train_rows == [0, 4]


@pytest.mark.parametrize("recipe,message", [
    ({"training": {"learnig_rate": 1e-4}}, "r.json: training: unknown key 'learnig_rate'; did you mean 'learning_rate'?"),
    ({"training": {"loss_variant": "token"}}, "r.json: training: unknown key 'loss_variant'; it is none of "),
    ({"training": {"loss_variant": 1}, "negatives": {}}, "r.json: training.loss_variant=1 is int; it takes str."),
    ({"training": {"max_steps": "10"}}, "r.json: training.max_steps='10' is str; it takes int."),
    ({"negatives": {"kind": ["swap_answer"]}}, "r.json: negatives: unknown key 'kind'; did you mean 'kinds'?"),
    ({"negatives": {"weight": "high"}}, "r.json: negatives.weight='high' is str; it takes float."),
    ({"negatives": ["swap_answer"]}, "r.json: negatives=['swap_answer'] is list; QAGenRecipe.negatives takes dict"),
])
def test_a_wrong_key_or_type_inside_a_qagen_recipe_section_is_named_on_reading(tmp_path, recipe, message):
    (tmp_path / "r.json").write_text(json.dumps({"base_model": "minilm", **recipe}))
    with pytest.raises(ValueError, match=re.escape(message)):
        QAGenRecipe.from_json(str(tmp_path / "r.json"))


@pytest.mark.parametrize("section,message", [
    ({"mle_training": {"num_train_epoch": 1}}, "s.json: mle_training: unknown key 'num_train_epoch'; did you mean 'num_train_epochs'?"),
    ({"conseq_training": {"unlikelihood_weight": "2"}}, "s.json: conseq_training.unlikelihood_weight='2' is str; it takes float."),
    ({"contrastive": {"num_sample": 4}}, "s.json: contrastive: unknown key 'num_sample'; did you mean 'num_samples'?"),
    ({"quals": {"num_beams": 0}}, "s.json: quals: num_beams=0: use an integer >= 1."),  # a metric's own value rules
    ({"evaluation": {"decodng": {}}}, "s.json: evaluation: unknown key 'decodng'; did you mean 'decoding'?"),
    ({"evaluation": {"decoding": {"beams": 2}}}, "s.json: evaluation.decoding: unknown key 'beams'; did you mean 'num_beams'?"),
    ({"evaluation": {"rouge": {"use_stemmer": "yes"}}}, "s.json: evaluation.rouge.use_stemmer='yes' is str; it takes bool."),
    ({"evaluation": {"qags": {"max_questions": 1.5}}}, "s.json: evaluation.qags.max_questions=1.5 is float; it takes int."),
])
def test_a_wrong_key_or_type_inside_a_conseq_recipe_section_is_named_on_reading(tmp_path, section, message):
    from trainer_ext.summarization import SummarizerRecipe

    (tmp_path / "s.json").write_text(json.dumps(section))
    with pytest.raises(ValueError, match=re.escape(message)):
        SummarizerRecipe.from_json(str(tmp_path / "s.json"))


def test_shipped_recipes_pass_the_checks_and_name_their_data_through_quals_data(monkeypatch, tmp_path):
    from trainer_ext.qa_recipe import QARecipe
    from trainer_ext.summarization import SummarizerRecipe

    configs = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "trainer_ext", "configs")
    kinds = {"qagen": QAGenRecipe, "qg": QAGenRecipe, "qa": QARecipe, "conseq": SummarizerRecipe}
    names = sorted(os.listdir(configs))
    assert len(names) >= 10 and {name.split("_")[0] for name in names} == set(kinds)
    monkeypatch.setenv("QUALS_DATA", str(tmp_path / "data"))
    for name in names:
        path = os.path.join(configs, name)
        assert "shared" not in open(path).read(), name  # no path into this project's own checkout
        recipe = kinds[name.split("_")[0]].from_json(path)
        files = [recipe.data_file] if isinstance(recipe, SummarizerRecipe) else [*recipe.train_files, recipe.dev_file]
        data = [f for f in files if f.startswith(str(tmp_path / "data"))]
        assert data == files or name == "conseq_bart_large_paper.json", (name, files)  # it names a user's train.jsonl
    monkeypatch.delenv("QUALS_DATA")
    recipe = QAGenRecipe.from_json(os.path.join(configs, "qagen_minilm_gpu.json"))  # reading needs no data
    assert recipe.dev_file == "$QUALS_DATA/squad/dev-v1.1.jsonl.gz"
    monkeypatch.setenv("QUALS_DATA", "data")  # relative: to the working directory, not to the config's folder
    monkeypatch.chdir(tmp_path)
    assert QAGenRecipe.from_json(os.path.join(configs, "qagen_minilm_gpu.json")).dev_file == "data/squad/dev-v1.1.jsonl.gz"
    typed = QAGenRecipe.from_json(os.path.join(configs, "qagen_minilm_gpu.json"), {"dev_file": "$QUALS_DATA/d.jsonl"})
    assert typed.dev_file == "data/d.jsonl"  # a --set path is expanded too
    monkeypatch.delenv("QUALS_DATA")
    with pytest.raises(FileNotFoundError, match=r"names \$QUALS_DATA, which is not set; export QUALS_DATA=<your data folder>"):
        recipe.check_files()


def test_data_paths_in_the_file_follow_the_file_and_overrides_the_working_directory(tmp_path, monkeypatch):
    from trainer_ext.summarization import SummarizerRecipe

    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "q.json").write_text(json.dumps({"train_files": ["squad.jsonl", "../up.jsonl"], "dev_file": "dev.jsonl"}))
    (tmp_path / "configs" / "s.json").write_text(json.dumps({"data_file": "docs.jsonl"}))
    monkeypatch.chdir(tmp_path)
    recipe = QAGenRecipe.from_json("configs/q.json")
    assert recipe.train_files == [str(tmp_path / "configs" / "squad.jsonl"), "../up.jsonl"]
    assert recipe.dev_file == str(tmp_path / "configs" / "dev.jsonl")
    recipe = QAGenRecipe.from_json("configs/q.json", {"train_files": ["mine.jsonl"], "dev_file": "mine-dev.jsonl"})
    assert (recipe.train_files, recipe.dev_file) == (["mine.jsonl"], "mine-dev.jsonl")  # as typed: from here
    assert SummarizerRecipe.from_json("configs/s.json").data_file == str(tmp_path / "configs" / "docs.jsonl")
    assert SummarizerRecipe.from_json("configs/s.json", {"data_file": "my.jsonl"}).data_file == "my.jsonl"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert QAGenRecipe.from_json("configs/q.json", {"dev_file": "~/d.jsonl"}).dev_file == str(tmp_path / "home" / "d.jsonl")


def test_recipe_overrides_merge_objects_at_any_depth():
    from trainer_ext.recipe_files import merged

    base = {"evaluation": {"decoding": {"num_beams": 4, "batch_size": 8}, "qags": {}}, "train_rows": [0, 4]}
    out = merged(base, {"evaluation": {"decoding": {"num_beams": 2}}, "train_rows": [0, 2]})
    assert out == {"evaluation": {"decoding": {"num_beams": 2, "batch_size": 8}, "qags": {}}, "train_rows": [0, 2]}
    assert base["evaluation"]["decoding"]["num_beams"] == 4  # the recipe read from disk is not mutated


def test_quals_train_leaves_no_process_group_behind(base_and_data, tmp_path):
    """`quals-train` destroys the process group its Trainer used: left to interpreter exit, gloo's
    teardown can abort a rank after the work is done. Run in a child process (a one-rank gloo group)."""
    import subprocess
    import sys

    base, data, _ = base_and_data
    recipe = {"base_model": base, "qa_format": TINY_FORMAT.to_dict(), "train_files": [data],
              "min_window": 64, "max_window": 64,
              "training": {"per_device_train_batch_size": 4, "max_steps": 1, "use_cpu": True, "report_to": "none"}}
    (tmp_path / "recipe.json").write_text(json.dumps(recipe))
    child = f"""
import sys, torch.distributed as dist
from trainer_ext.cli import main
dist.init_process_group("gloo", init_method="file://{tmp_path}/store", rank=0, world_size=1)
code = main(["qagen", "--config", "{tmp_path}/recipe.json", "--output-dir", "{tmp_path}/run"])
print("initialized after main:", dist.is_initialized())
sys.exit(code)
"""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": root}
    result = subprocess.run([sys.executable, "-c", child], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "initialized after main: False" in result.stdout
    assert os.path.isdir(tmp_path / "run" / "checkpoint-1")


def test_recipe_trains_with_negatives_and_logs_unlikelihood(base_and_data):
    base, data, folder = base_and_data
    recipe = QAGenRecipe(
        base_model=base, qa_format=TINY_FORMAT.to_dict(), train_files=[data], train_file_weights=[1.5],
        min_window=64, max_window=64, negatives={"ratio": 1.0, "weight": 2.0},
        training={"per_device_train_batch_size": 8, "max_steps": 2, "save_steps": 2, "learning_rate": 1e-3,
                  "use_cpu": True, "report_to": "none", "logging_steps": 1},
    )
    trainer = train_qagen(recipe, str(folder / "run-negatives"))
    assert trainer.args.unlikelihood_weight == 2.0 and len(trainer.train_dataset) == 60  # 40 rows x 1.5
    logged = trainer.state.log_history[0]
    assert {"pos_loss", "neg_loss", "neg_token_prob"} <= set(logged) and 0 < logged["neg_token_prob"] < 1
    with pytest.raises(ValueError, match="negatives: unknown"):
        QAGenRecipe(negatives={"ratios": 0.5}).negative_config()
    with pytest.raises(ValueError, match="train_file_weights"):
        QAGenRecipe(train_files=[data], train_file_weights=[1.0, 2.0]).check_files()
