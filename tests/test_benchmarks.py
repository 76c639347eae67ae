"""Benchmark pieces on known values: human score, lexical baseline, correlations, the CONSEQ report."""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
from data import qags_human_score  # noqa: E402
from conseq_report import paired, table  # noqa: E402
from meta_eval import bigram_overlap, correlations  # noqa: E402  (re-exported from quals.lexical)


def test_qags_human_score_is_majority_vote_fraction():
    votes = lambda *r: {"responses": [{"response": x} for x in r]}  # noqa: E731
    example = {"summary_sentences": [votes("yes", "yes", "no"), votes("no", "no", "yes"), votes("yes", "yes", "yes")]}
    assert qags_human_score(example) == pytest.approx(2 / 3)


def test_bigram_overlap():
    assert bigram_overlap("Alice was born in Paris.", "alice was born in Rome") == pytest.approx(3 / 4)
    assert bigram_overlap("anything", "one") == 0.0


def test_correlations_match_known_values():
    x, y = [1, 2, 3, 4, 5], [1, 3, 2, 5, 4]
    out = correlations(x, y, n_boot=200)
    assert out["pearson"]["r"] == pytest.approx(np.corrcoef(x, y)[0, 1], abs=1e-4)
    assert out["spearman"]["r"] == pytest.approx(0.8, abs=1e-4)  # 1 - 6*4/(5*24)
    assert out["kendall"]["r"] == pytest.approx(0.6, abs=1e-4)  # (8 concordant - 2 discordant) / 10
    for name in ("pearson", "spearman", "kendall"):
        low, high = out[name]["ci95"]
        assert -1.0 <= low <= out[name]["r"] <= high <= 1.0


def _report(folder, rouge1: float, quals: list, qags: list) -> str:
    os.makedirs(folder)
    for metric, values in (("quals", quals), ("qags", qags)):
        with open(os.path.join(folder, f"{metric}.jsonl"), "w") as f:
            f.writelines(json.dumps({"index": i, metric: v}) + "\n" for i, v in enumerate(values))
    scored = lambda v: [x for x in v if x is not None]  # noqa: E731
    report = {"rouge1": rouge1, "quals": sum(scored(quals)) / len(scored(quals)), "qags": sum(qags) / len(qags)}
    with open(os.path.join(folder, "report.json"), "w") as f:
        json.dump(report, f)
    return os.path.join(folder, "report.json")


def test_conseq_report_groups_seeds_and_pairs_documents(tmp_path):
    paths = [
        _report(tmp_path / "mle", 0.10, [-1.0, -2.0, None], [0.5, 0.5, 0.5]),
        _report(tmp_path / "conseq-quals-seed0", 0.12, [-0.5, -1.5, -1.0], [0.5, 0.7, 0.5]),
        _report(tmp_path / "conseq-quals-seed1", 0.14, [-0.7, None, -3.0], [0.7, 0.5, 0.5]),
    ]
    rows = table(paths).splitlines()
    assert rows[2].startswith("| mle | 1 | 10.00 |")
    assert rows[3].startswith("| conseq-quals | 2 | 13.00 ± 1.41 |")
    assert "| -1.425 ± 0.601 |" in rows[3]  # QUALS: seed means -1.0 and -1.85
    # Per document, seeds averaged: QUALS -0.6 vs -1.0, -1.5 vs -2.0 (doc 2 unscored by mle): +0.4, +0.5.
    # QAGS +0.1 on docs 0 and 1, 0 on doc 2. Bootstrap intervals stay within the per-document extremes.
    line = paired(paths, "mle").splitlines()[2]
    assert line.startswith("| conseq-quals | +0.450 [+0.400, +0.500] | 2 | +0.067 [+0.000, +0.100] | 3 |")
    os.remove(tmp_path / "mle" / "qags.jsonl")  # e.g. evaluated with --metrics rouge,quals
    assert paired(paths, "mle").splitlines()[2].endswith("| n/a | 0 |")


def test_qagen_dev_loss_is_a_token_mean_independent_of_batching(tiny_qagen_dir, trained_qagen_dir):
    import math

    import torch
    from facts import fact_rows
    from qagen_dev_loss import example_losses

    from quals.qagen import QAGen
    from trainer_ext.qagen_data import build_examples

    losses = {}
    for name, folder in (("random", tiny_qagen_dir), ("trained", trained_qagen_dir)):
        qagen = QAGen.from_pretrained(folder)
        columns = build_examples(fact_rows(seed=5, n=24), qagen.tokenizer, qagen.format, 64, 64, seed=1)
        columns.pop("length"), columns.pop("skipped")
        by_batch = [example_losses(qagen, columns, batch_size=b) for b in (1, 5, 64)]
        losses[name] = [sum(sums) / sum(counts) for sums, counts in by_batch]
        # By hand, one example at a time: summed token log-probabilities over the number of target tokens.
        total, tokens = 0.0, 0
        for ids, dec, labels in zip(columns["input_ids"], columns["decoder_input_ids"], columns["labels"]):
            logits = qagen.model(input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                                 decoder_input_ids=torch.tensor([dec])).logits[0]
            total -= float(torch.log_softmax(logits.float(), -1)[range(len(labels)), labels].sum())
            tokens += len(labels)
        assert losses[name] == pytest.approx([total / tokens] * 3, rel=1e-4)
    # The random model is near uniform over the tiny vocabulary; the trained one has learnt the facts.
    assert losses["random"][0] > 0.5 * math.log(len(qagen.tokenizer)) and losses["trained"][0] < 0.5 * losses["random"][0]


def test_dev_loss_by_article_weights_tokens_within_each_article():
    from qagen_dev_loss import by_article

    rows = [{"title": "a"}, {"title": "b"}, {"title": "a"}]
    # Examples from rows 0, 0, 1, 2: article a has 6 nats over 3 tokens and 4 over 1; b has 1 over 2.
    assert list(by_article(rows, [0, 0, 1, 2], [6.0, 0.0, 1.0, 4.0], [2, 1, 2, 1]).items()) == [("b", 0.5), ("a", 2.5)]
    assert by_article([{}], [0], [3.0], [2]) == {"(no title)": 1.5}


def test_dev_loss_report_covers_every_question_and_article(trained_qagen_dir, tmp_path, capsys):
    from facts import fact_rows
    from qagen_dev_loss import main as dev_loss_main

    rows = [{**row, "title": "first" if i < 8 else "second"} for i, row in enumerate(fact_rows(seed=6, n=20))]
    (tmp_path / "dev.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    (tmp_path / "recipe.json").write_text(json.dumps({"dev_file": "dev.jsonl", "min_window": 64, "max_window": 64}))
    report = dev_loss_main([trained_qagen_dir, "--config", str(tmp_path / "recipe.json"), "--by-article"])
    entry = report["models"][trained_qagen_dir]
    assert report["questions"] == 20 and entry["examples"] == 20 and entry["articles"] == 2
    by_title = entry["by_article"]
    assert sorted(by_title) == ["first", "second"] and list(by_title.values()) == sorted(by_title.values())
    assert entry["lowest_article"][1] <= entry["median_article"] <= entry["highest_article"][1]
    assert min(by_title.values()) <= entry["loss_nats_per_token"] <= max(by_title.values())
    assert json.loads(capsys.readouterr().out) == report
    sample = dev_loss_main([trained_qagen_dir, "--config", str(tmp_path / "recipe.json"), "--dev-examples", "5"])
    assert sample["questions"] == 5
    with pytest.raises(ValueError, match="row limit of 0"):
        dev_loss_main([trained_qagen_dir, "--config", str(tmp_path / "recipe.json"), "--dev-examples", "0"])


def test_speed_loads_one_model_per_dtype_and_reports_score_drift(tmp_path, trained_qagen_dir):
    from facts import fact
    from speed import main as speed

    votes = [{"response": "yes"}] * 3
    rows = [
        {"article": f"{fact('alice', 'paris')} {fact('bob', 'rome')}", "summary_sentences": [{"sentence": fact("alice", "paris"), "responses": votes}]},
        {"article": fact("carol", "berlin"), "summary_sentences": [{"sentence": fact("carol", "madrid"), "responses": votes}]},
    ]
    data = tmp_path / "qags.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    small = '"num_beams": 4, "num_beam_groups": 4, "min_new_tokens": 3, "max_new_tokens": 12'
    report = speed(["--data", str(data), "--n", "2", "--model", trained_qagen_dir,
                    "--variant", '{"dtype": "float32", %s}' % small, "--variant", '{"dtype": "float32", "batch_size": 1, %s}' % small,
                    "--variant", '{"dtype": "bfloat16", %s}' % small])
    first, same_dtype, bf16 = report["variants"]
    assert ["dtype:float32" in first["signature"], "dtype:float32" in same_dtype["signature"],
            "dtype:bfloat16" in bf16["signature"]] == [True, True, True]
    assert same_dtype["max_abs_diff_vs_first"] < 1e-4  # same weights, other batching
    assert 0.0 < bf16["max_abs_diff_vs_first"] < 1.0  # bf16 weights move the scores a little, not wildly
    assert [v["coverage"] for v in report["variants"]] == [1.0, 1.0, 1.0]
    assert set(report) >= {"cpu_has_amx_bf16", "cpu_has_avx512_bf16", "machine", "peak_rss_mb"}


def test_ab_revision_swaps_in_the_older_module_and_restores_the_current_one():
    import quals.generation
    import quals.scorer
    from ab_revision import load_twin, patched

    if not os.path.exists(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".git")):
        pytest.skip("needs the git checkout (ab_revision reads older revisions with git show)")
    twin = load_twin("quals.generation", "HEAD")
    current = quals.scorer.diverse_beam_search
    assert twin.diverse_beam_search is not current and twin.BeamConfig is not quals.generation.BeamConfig
    with patched(quals.generation, twin) as swapped:
        assert swapped >= 1 and quals.scorer.diverse_beam_search is twin.diverse_beam_search
    assert quals.scorer.diverse_beam_search is current
    with pytest.raises(SystemExit, match="no-such-rev"):
        load_twin("quals.generation", "no-such-rev")
