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
            total -= float(torch.log_softmax(logits.float(), -1)[range(len(labels)), labels].sum().detach())
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


def test_throughput_runs_each_batch_size_in_its_own_process(tmp_path, trained_qagen_dir):
    from facts import fact
    from throughput import main as throughput

    votes = [{"response": "yes"}] * 3
    rows = [{"article": f"{fact('alice', 'paris')} {fact('bob', 'rome')}",
             "summary_sentences": [{"sentence": fact(n, "paris"), "responses": votes}]} for n in ("alice", "bob", "carol")]
    data = tmp_path / "qags.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    small = '{"num_beams": 4, "num_beam_groups": 4, "min_new_tokens": 3, "max_new_tokens": 12}'
    out = tmp_path / "throughput.json"
    report = throughput(["--data", str(data), "--n", "3", "--model", trained_qagen_dir, "--batch-sizes", "1", "auto",
                         "--settings", small, "--out", str(out)])
    assert json.loads(out.read_text()) == report
    one, auto = report["runs"]
    assert (one["batch_size"], one["batch_size_reached"], auto["batch_size"], auto["batch_size_reached"]) == (1, 1, "auto", 8)
    assert all(r["summaries_per_second"] > 0 and r["peak_rss_mb"] > 50 and r["peak_cuda_memory_mb"] is None for r in report["runs"])
    assert "beams:4" in one["signature"] and one["signature"] == auto["signature"]  # batching is not a score setting


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
    import quals.prefix_lm

    cls = quals.prefix_lm.PrefixLMForQAGen
    decode, prefix_twin = cls.decode, load_twin("quals.prefix_lm", "HEAD")
    with patched(quals.prefix_lm, prefix_twin) as swapped:  # methods: today's class gets the twin's
        assert swapped >= 1 and cls.decode is vars(prefix_twin.PrefixLMForQAGen)["decode"]
    assert cls.decode is decode
    with pytest.raises(SystemExit, match="no-such-rev"):
        load_twin("quals.generation", "no-such-rev")


def test_partial_correlation_removes_each_systems_mean_by_hand():
    from meta_eval import correlations

    # System a: metric 1, 2, 3 and label .25, .75, .5; system b: metric 4, 7.5, 9.5 and label .125, 1, .375.
    # Less each system's mean (2 and 7; .5 and .5) the residuals are -1, 0, 1, -3, .5, 2.5 (metric) and
    # -.25, .25, 0, -.375, .5, -.125 (label): sum of products 1.3125, sums of squares 17.5 and .53125.
    # Ranks of the residuals: 2 3 5 1 4 6 and 2 5 4 1 6 3, squared rank differences 0+4+1+0+4+9 = 18.
    metric, label, systems = [1, 2, 3, 4, 7.5, 9.5], [0.25, 0.75, 0.5, 0.125, 1.0, 0.375], list("aaabbb")
    out = correlations(metric, label, n_boot=200, methods=("pearson", "spearman"), groups=systems)
    assert out["n"] == 6 and set(out) == {"n", "pearson", "spearman"}
    assert out["pearson"]["r"] == pytest.approx(1.3125 / np.sqrt(17.5 * 0.53125), abs=1e-4)
    assert out["spearman"]["r"] == pytest.approx(1 - 6 * 18 / (6 * 35), abs=1e-4)
    assert out["pearson"]["r"] != pytest.approx(correlations(metric, label, n_boot=10)["pearson"]["r"], abs=1e-2)
    # A metric that only shifts one system's scores keeps the same partial correlation.
    shifted = correlations([v + 100 * (g == "b") for v, g in zip(metric, systems)], label, n_boot=200,
                           methods=("pearson", "spearman"), groups=systems)
    assert shifted["pearson"] == out["pearson"] and shifted["spearman"]["r"] == out["spearman"]["r"]


def test_frank_figures_split_by_dataset_and_partial_within_it():
    from meta_eval import FRANK_METHODS, correlations, frank_figures

    # cnndm: metric 1 2 3 4, label 1 3 2 4 (Pearson = Spearman = 0.8); within systems s and t the residuals are
    # -.5 .5 against -1 1 twice, so the partial correlation is 1. bbc: one system, metric 1 2 3, label 3 2 1: -1.
    metric, label = [1, 2, 3, 4, 1, 2, 3], [1, 3, 2, 4, 3, 2, 1]
    datasets, systems = ["cnndm"] * 4 + ["bbc"] * 3, ["s", "s", "t", "t", "u", "u", "u"]
    out = frank_figures(metric, label, datasets, systems, n_boot=200)
    assert list(out) == ["all", "cnndm", "bbc"]
    assert [out[k]["n"] for k in out] == [7, 4, 3]
    assert out["cnndm"]["pearson"]["r"] == pytest.approx(0.8) and out["cnndm"]["spearman"]["r"] == pytest.approx(0.8)
    assert out["cnndm"]["partial"]["pearson"]["r"] == pytest.approx(1.0) and out["cnndm"]["partial"]["n"] == 4
    assert out["bbc"]["pearson"]["r"] == pytest.approx(-1.0) and out["bbc"]["partial"]["spearman"]["r"] == pytest.approx(-1.0)
    assert out["all"]["pearson"] == correlations(metric, label, 200, methods=FRANK_METHODS)["pearson"]
    # One summary per system: nothing is left to correlate, reported as None rather than a crash.
    assert frank_figures([1, 2], [1, 2], ["cnndm"] * 2, ["s", "t"], n_boot=20)["all"]["partial"]["pearson"] == {"r": None, "ci95": None}


def _frank_like(path) -> None:
    """12 FRANK-style rows of templated facts: 2 datasets x 2 systems x 3 articles, labels 1 (true) or 0 (false)."""
    from facts import fact

    people = [("alice", "paris", "rome"), ("bob", "london", "berlin"), ("carol", "madrid", "paris")]
    rows = []
    for dataset, systems in (("cnndm", ("bart", "pgn")), ("bbc", ("BERTS2S", "PtGen"))):
        for k, (name, city, wrong) in enumerate(people):
            document = f"{fact(name, city)} {fact('dave', 'rome' if city != 'rome' else 'london')}"
            for j, system in enumerate(systems):
                true = (j + k + (dataset == "bbc")) % 2 == 0
                rows.append({"id": f"{dataset}{k}-{system}", "dataset": dataset, "model_name": system, "document": document,
                             "summary": fact(name, city if true else wrong), "label_score": float(true), "label_binary": int(true)})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


SMALL_BEAMS = ["--num-beams", "4", "--num-beam-groups", "4", "--min-new-tokens", "3", "--max-new-tokens", "12", "--bootstrap", "50"]


def test_meta_eval_frank_end_to_end_resumes_a_generic_run(tmp_path, trained_qagen_dir, capsys):
    from scipy import stats

    from meta_eval import demean_by, main as meta_eval

    data, scores = tmp_path / "frank.jsonl", str(tmp_path / "scores.jsonl")
    _frank_like(data)
    flags = ["--model", trained_qagen_dir, *SMALL_BEAMS]
    generic = meta_eval(["--data", str(data), "--doc-field", "document", "--summary-field", "summary",
                         "--score-field", "label_score", "--scores", scores, *flags])
    assert "frank" not in generic and generic["summaries"] == 12 and generic["seconds_per_summary_this_run"] is not None
    with open(scores) as f:
        written = f.read()
    capsys.readouterr()
    report = meta_eval(["--data", str(data), "--scores", scores, "--paired-with", scores, *flags])  # FRANK found by its fields
    assert report["seconds_per_summary_this_run"] is None and open(scores).read() == written  # resumed, not re-scored
    assert {k: generic[k] for k in generic if k != "seconds_per_summary_this_run"} == \
           {k: report[k] for k in generic if k not in ("seconds_per_summary_this_run", "frank", "paired_with")}
    assert json.loads(capsys.readouterr().out) == report

    rows = [json.loads(line) for line in data.read_text().splitlines()]
    quals = [json.loads(line)["quals"] for line in written.splitlines()]
    kept = [i for i, q in enumerate(quals) if q is not None]
    assert len(kept) >= 10
    frank = report["frank"]
    assert list(frank["quals"]) == ["all", "cnndm", "bbc"] and set(frank) == {"quals", "bigram_overlap_on_quals_items"}
    assert frank["quals"]["cnndm"]["n"] + frank["quals"]["bbc"]["n"] == frank["quals"]["all"]["n"] == len(kept)
    x, h = np.array([quals[i] for i in kept]), np.array([rows[i]["label_score"] for i in kept])
    g = np.array([rows[i]["model_name"] for i in kept])
    assert frank["quals"]["all"]["pearson"]["r"] == pytest.approx(stats.pearsonr(x, h)[0], abs=1e-4)
    assert frank["quals"]["all"]["partial"]["pearson"]["r"] == pytest.approx(stats.pearsonr(demean_by(x, g), demean_by(h, g))[0], abs=1e-4)
    assert report["paired_with"]["this_minus_other"]["pearson_difference"] == 0.0
    assert report["paired_with"]["partial_this_minus_other"]["partial_pearson_difference"] == 0.0
    assert meta_eval(["--frank", "--data", str(data), "--scores", scores, *flags])["frank"] == frank
    with pytest.raises(ValueError, match="--frank reads FRANK's own fields"):
        meta_eval(["--frank", "--data", str(data), "--score-field", "label_score", "--scores", scores, *flags])
    with pytest.raises(FileNotFoundError, match="pass --data with FRANK's frank_valid.jsonl"):
        meta_eval(["--frank", "--data", str(tmp_path / "missing.jsonl"), "--scores", scores, *flags])


def test_dev_sets_prints_both_sets_in_one_table(tmp_path, trained_qagen_dir, capsys):
    from dev_sets import main as dev_sets
    from facts import fact

    votes = lambda *r: [{"response": x} for x in r]  # noqa: E731
    qags_rows = [
        {"article": f"{fact('alice', 'paris')} {fact('bob', 'rome')}", "summary_sentences": [{"sentence": fact("alice", "paris"), "responses": votes("yes", "yes", "yes")}]},
        {"article": fact("carol", "berlin"), "summary_sentences": [{"sentence": fact("carol", "madrid"), "responses": votes("no", "no", "yes")}]},
        {"article": fact("erin", "london"), "summary_sentences": [{"sentence": fact("erin", "london"), "responses": votes("yes", "no", "yes")},
                                                                {"sentence": fact("erin", "rome"), "responses": votes("no", "no", "no")}]},
    ]
    (tmp_path / "qags.jsonl").write_text("".join(json.dumps(r) + "\n" for r in qags_rows))
    _frank_like(tmp_path / "frank.jsonl")
    out = dev_sets(["--qags-data", str(tmp_path / "qags.jsonl"), "--frank-data", str(tmp_path / "frank.jsonl"),
                    "--qags-scores", str(tmp_path / "q.jsonl"), "--frank-scores", str(tmp_path / "f.jsonl"),
                    "--model", trained_qagen_dir, *SMALL_BEAMS])
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "| set | n | QUALS Pearson | QUALS Spearman | bigram Pearson | bigram Spearman |"
    assert [line.split(" | ")[0] for line in lines[2:]] == ["| QAGS-C", "| FRANK all", "| FRANK cnndm", "| FRANK bbc", "| FRANK partial (system)"]
    assert out["qags"]["summaries"] == 3 and out["frank"]["summaries"] == 12
    assert f"{out['frank']['frank']['quals']['all']['partial']['pearson']['r']:.3f}" in lines[-1]
    with pytest.raises(SystemExit):
        dev_sets(["--qags-scores", "a", "--frank-scores", "b", "--data", "x.jsonl"])
    assert "--data is set per set here" in capsys.readouterr().err


@pytest.fixture(scope="module")
def nlp():
    """The spaCy pipeline that the contrast set is built with (the QAGS baseline's), or a skip without one."""
    pytest.importorskip("spacy")
    from quals.qags.candidates import SpacyCandidates

    try:
        return SpacyCandidates("en_core_web_sm").nlp
    except ValueError as e:
        pytest.skip(str(e))


SUMMIT = ("Barack Obama met Angela Merkel in Berlin on Monday. David Cameron joined them later. "
          "Obama then flew to Paris, where David Cameron met him again. Merkel stayed in Berlin.")


def test_entity_swap_takes_a_same_type_entity_of_the_document_that_the_reference_lacks(nlp):
    from contrast_set import document_entities, entity_edits

    entities = document_entities(nlp(SUMMIT))
    assert entities["David Cameron"] == ("PERSON", 2) and entities["Paris"][0] == "GPE"
    reference = "Barack Obama met Angela Merkel in Berlin ."
    # People become the one person the reference does not name ("Obama" is named), the city the other city.
    swaps = {(e.old, e.new) for e in entity_edits(nlp(reference), SUMMIT, entities)}
    assert swaps == {("Barack Obama", "David Cameron"), ("Angela Merkel", "David Cameron"), ("Berlin", "Paris")}
    twin = next(e for e in entity_edits(nlp(reference), SUMMIT, entities) if e.old == "Berlin").apply(reference)
    assert twin == "Barack Obama met Angela Merkel in Paris ."
    # XSum references are lower-cased: mentions are found regardless of case and the swap is lower-cased too.
    lower = entity_edits(nlp("barack obama met angela merkel in berlin."), SUMMIT, entities)
    assert {(e.old, e.new) for e in lower} == {("barack obama", "david cameron"), ("angela merkel", "david cameron"), ("berlin", "paris")}
    # A full name in the reference is swapped whole, though the document only has the surname.
    document = "Milner said he was proud to have played for England. Milner won 61 caps. Gareth Southgate praised Milner."
    whole = entity_edits(nlp("england midfielder james milner has retired from international football."), document,
                         document_entities(nlp(document)))
    assert [(e.old, e.new) for e in whole] == [("james milner", "gareth southgate")]
    # A place the document writes inside the other ("Tbilisi, Georgia") is no swap.
    assert entity_edits(nlp("He fled Georgia ."), "He was born in Tbilisi, Georgia.", {"Georgia": ("GPE", 1), "Tbilisi": ("GPE", 1)}) == []


def test_number_change_keeps_the_form_and_prefers_the_documents_numbers():
    import random

    from contrast_set import number_edit

    def twin(reference: str, document: str, seed: int = 0) -> str:
        return number_edit(reference, document, random.Random(seed)).apply(reference)

    assert twin("He scored 17 goals .", "He scored 17 goals, 23 in all, in 2009.") == "He scored 23 goals ."  # same form: 2 digits
    nudged = {twin("He scored 17 goals .", "He scored 17 goals.", seed) for seed in range(20)}
    assert nudged == {"He scored 15 goals .", "He scored 16 goals .", "He scored 18 goals .", "He scored 19 goals ."}
    assert {twin("an extra £ 2,100 a year", "no numbers", seed) for seed in range(20)} == {
        "an extra £ 1,900 a year", "an extra £ 2,000 a year", "an extra £ 2,200 a year", "an extra £ 2,300 a year"}
    assert {twin("it rose by 1.5 %", "no numbers", seed) for seed in range(20)} == {f"it rose by {v} %" for v in ("1.3", "1.4", "1.6", "1.7")}
    # A day of the month stays one: the document's 45 is no day, and 30 is nudged to at most 31.
    assert {twin("back in court on May 30 .", "He is 45.", seed) for seed in range(20)} == {
        f"back in court on May {d} ." for d in (28, 29, 31)}
    assert twin("the murders of two british tourists", "Two men ... three suspects were questioned") == "the murders of three british tourists"
    assert twin("Two men were held", "no numbers", 1).split()[0] in ("Three", "Four")  # capital kept
    assert number_edit("promoted to League Two .", "League Two has 24 clubs.", random.Random(0)) is None  # a name
    assert number_edit("no numbers here", "12 of them", random.Random(0)) is None


def test_negation_inserted_into_the_main_clause_or_removed(nlp):
    from contrast_set import negation_edits

    def edits(sentence: str) -> list[tuple[str, str, str]]:
        return [(e.old, e.new, e.apply(sentence)) for e in negation_edits(nlp(sentence))]

    assert edits("The club has won the cup.") == [("has", "has not", "The club has not won the cup.")]
    assert edits("The company plans a new factory.") == [("plans", "does not plan", "The company does not plan a new factory.")]
    assert edits("Police said the man was arrested.") == [("was", "was not", "Police said the man was not arrested.")]  # not "said"
    assert edits("He did not attend the meeting.") == [("did not", "did", "He did attend the meeting.")]
    assert edits("He can't swim.") == [("can't", "can", "He can swim.")]
    assert edits("the council cannot afford it.") == [("cannot", "can", "the council can afford it.")]
    assert edits("Ronaldo never lost a final.") == [("Ronaldo never", "Ronaldo", "Ronaldo lost a final.")]
    # A sentence that already says no to something only loses its negation, never gains a second.
    assert [e[2] for e in edits("There is no evidence, and he is not guilty.")] == ["There is no evidence, and he is guilty."]


def test_contrast_set_build_uses_the_validation_articles_only_and_is_deterministic(nlp, tmp_path, capsys):
    from contrast_set import main as contrast

    articles = [
        {"id": "a1b2", "dataset": "cnndm", "document": SUMMIT, "reference": "Barack Obama met Angela Merkel in Berlin . He stayed 2 days .",
         "system_summaries": {}},
        {"id": "36054083", "dataset": "xsum", "document": "The prison in Essex has 120 inmates. Inspectors visited Chelmsford.",
         "reference": "a prison in essex has been criticised by inspectors.", "system_summaries": {}},
        {"id": "99", "dataset": "xsum", "document": "Not in the validation split.", "reference": "it is not.", "system_summaries": {}},
    ]
    (tmp_path / "docs.jsonl").write_text("".join(json.dumps(a) + "\n" for a in articles))
    judged = [{"id": "a1b2-bart", "model_name": "bart"}, {"id": "a1b2-bert_sum", "model_name": "bert_sum"},
              {"id": "36054083-TConvS2S", "model_name": "TConvS2S"}]
    (tmp_path / "valid.jsonl").write_text("".join(json.dumps(r) + "\n" for r in judged))
    flags = ["build", "--docs", str(tmp_path / "docs.jsonl"), "--frank", str(tmp_path / "valid.jsonl")]
    rows = contrast([*flags, "--output", str(tmp_path / "one.jsonl")])
    contrast([*flags, "--output", str(tmp_path / "two.jsonl")])
    assert (tmp_path / "one.jsonl").read_text() == (tmp_path / "two.jsonl").read_text()
    assert {r["doc_id"] for r in rows} == {"a1b2", "36054083"}
    assert [(r["doc_id"], r["kind"]) for r in rows][:3] == [("a1b2", "entity"), ("a1b2", "number"), ("a1b2", "negation")]
    for r in rows:
        assert set(r) == {"doc_id", "dataset", "kind", "reference", "twin", "changed"} and r["twin"] != r["reference"]
        old, new = r["changed"].split(" -> ")
        assert old in r["reference"] and new in r["twin"]
    assert '"twins": %d' % len(rows) in capsys.readouterr().out
    (tmp_path / "valid.jsonl").write_text(json.dumps({"id": "nowhere-bart", "model_name": "bart"}) + "\n")
    with pytest.raises(ValueError, match="pass --docs with the frank_docs.jsonl"):
        contrast([*flags, "--output", str(tmp_path / "three.jsonl")])


def test_contrast_set_eval_end_to_end(tmp_path, trained_qagen_dir, capsys):
    from facts import fact

    from contrast_set import main as contrast
    from quals.lexical import bigram_overlap

    document = f"{fact('alice', 'paris')} {fact('bob', 'rome')}"
    (tmp_path / "docs.jsonl").write_text(json.dumps({"id": "d1", "dataset": "xsum", "document": document, "reference": ""}) + "\n")
    reference = fact("alice", "paris")
    pairs = [{"doc_id": "d1", "dataset": "xsum", "kind": "entity", "reference": reference, "twin": fact("bob", "paris"),
              "changed": "alice -> bob"},
             {"doc_id": "d1", "dataset": "xsum", "kind": "number", "reference": reference, "twin": fact("alice", "berlin"),
              "changed": "paris -> berlin"}]
    (tmp_path / "contrast.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs))
    scores = tmp_path / "scores.jsonl"
    argv = ["eval", "--contrast", str(tmp_path / "contrast.jsonl"), "--docs", str(tmp_path / "docs.jsonl"),
            "--scores", str(scores), "--model", trained_qagen_dir, *SMALL_BEAMS[:-2]]
    report = contrast(argv)
    assert json.loads(capsys.readouterr().out) == report
    assert report["pairs"] == 2 and report["texts_scored"] == 3  # the shared reference is scored once
    quals = [json.loads(line)["quals"] for line in scores.read_text().splitlines()]  # reference, twin 1, twin 2
    expected = [quals[0] > quals[1], quals[0] > quals[2]]
    assert report["all"]["quals"]["reference_higher"] == sum(expected)
    assert [report["by_kind"][k]["quals"]["reference_higher"] for k in ("entity", "number")] == [int(e) for e in expected]
    assert list(report["by_dataset"]) == ["xsum"] and report["by_dataset"]["xsum"] == report["all"]
    counts = report["all"]["quals"]
    assert counts["reference_higher"] + counts["ties"] + counts["twin_higher"] + counts["unscored"] == 2
    # Bigram overlap: the reference is copied (1.0); every bigram of "bob was born in paris" is in the document too
    # ("bob was", "in paris"), a tie; "alice was born in berlin" has 3 of 4 ("in berlin" is new).
    assert [bigram_overlap(document, t) for t in (reference, pairs[0]["twin"], pairs[1]["twin"])] == [1.0, 1.0, 0.75]
    baseline = report["all"]["bigram_overlap"]
    assert baseline == {"pairs": 2, "reference_higher": 1, "share": 0.5, "ties": 1, "twin_higher": 0, "unscored": 0}
    assert contrast(argv)["seconds_per_text_this_run"] is None  # resumed: nothing scored twice
    (tmp_path / "other.jsonl").write_text(json.dumps({"id": "d2", "dataset": "xsum", "document": document}) + "\n")
    with pytest.raises(ValueError, match="pass --docs with the frank_docs.jsonl it was built from"):
        contrast([*argv[:3], "--docs", str(tmp_path / "other.jsonl"), *argv[5:]])


def test_aggregations_of_qa_pairs_by_hand():
    import math

    from aggregation import AGGREGATIONS, aggregate

    def pair(summary: list[float], source: list[float]) -> dict:
        return {"difference": sum(source) / len(source) - sum(summary) / len(summary),
                "token_logprobs_summary": summary, "token_logprobs_source": source}

    pairs = [pair([-1.0, -1.0], [-1.0, -1.0]), pair([-1.0, -1.0], [-2.0, -4.0]), pair([-2.0], [-1.5])]  # d = 0, -2, 0.5
    by_hand = {"mean (paper)": -0.5, "mean of min(d, 0)": -2 / 3, "median": 0.0, "mean of the lowest 3": -0.5,
               "minimum": -2.0, "token mean over all pairs (aggregation=\"tokens\")": (0 + 0 - 1 - 3 + 0.5) / 5, "lowest token": -3.0,
               "soft minimum (-log mean exp -d)": -math.log((math.exp(0) + math.exp(2) + math.exp(-0.5)) / 3)}
    assert {name: pytest.approx(fn(pairs)) for name, fn in AGGREGATIONS.items()} == by_hand
    records = [{"quals": -0.5, "qa_pairs": pairs}, {"quals": None, "qa_pairs": []}]
    assert aggregate(records, "minimum") == [-2.0, None]
    with pytest.raises(ValueError, match="is not the stored QUALS"):
        aggregate([{"quals": -0.4, "qa_pairs": pairs}], "mean (paper)")
