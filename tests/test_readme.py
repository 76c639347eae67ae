"""README.md's drop-in CONSEQ snippet, run as written with a tiny local summarizer in place of the Hub id."""

from __future__ import annotations

import os
import re

import pytest

from tiny import tiny_bart, tiny_tokenizer

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")
MODEL_LINE = re.compile(r"^model_name = .*$", re.MULTILINE)


def conseq_snippet() -> str:
    """The README's one Python block that builds a ConSeqTrainer."""
    with open(README, encoding="utf-8") as f:
        blocks = re.findall(r"^```python\n(.*?)^```", f.read(), re.DOTALL | re.MULTILINE)
    (snippet,) = [block for block in blocks if "ConSeqTrainer(" in block]
    return snippet


def tiny_summarizer(folder: str) -> str:
    """A random tiny BART and its tokenizer saved in ``folder``: loads offline in the snippet's place."""
    tokenizer = tiny_tokenizer(folder)
    tiny_bart(len(tokenizer)).save_pretrained(folder)
    return folder


def test_readme_conseq_snippet_trains_every_step_and_logs_both_terms(tmp_path, monkeypatch):
    from transformers import Seq2SeqTrainingArguments

    folder = tiny_summarizer(str(tmp_path / "summarizer"))
    code, replaced = MODEL_LINE.subn(f"model_name = {folder!r}", conseq_snippet())
    assert replaced == 1  # the one line a user edits
    monkeypatch.chdir(tmp_path)  # the snippet writes under runs/
    namespace: dict = {}
    exec(compile(code, "README.md (CONSEQ snippet)", "exec"), namespace)

    trainer, train = namespace["trainer"], namespace["train"]
    assert [row["negative_labels"] is None for row in train] == [False, True, False]  # mixed rows, one batch
    assert trainer.state.global_step == trainer.state.max_steps == 2  # 3 rows, batches of 2, one epoch
    steps = [log for log in trainer.state.log_history if "loss" in log]
    assert len(steps) == 2 and all("pos_loss" in log for log in steps)
    with_negatives = [log for log in steps if "neg_loss" in log]
    assert with_negatives  # two rows of three have one, so at least one step saw a negative
    for log in with_negatives:  # a step's loss: the token-weighted mean of its two terms
        assert min(log["pos_loss"], log["neg_loss"]) - 1e-4 <= log["loss"] <= max(log["pos_loss"], log["neg_loss"]) + 1e-4
    assert os.path.exists(tmp_path / "runs" / "my-conseq" / "final" / "model.safetensors")
    # What the README says of the defaults.
    assert trainer.args.label_smoothing_factor == pytest.approx(0.1)
    assert Seq2SeqTrainingArguments(output_dir=str(tmp_path / "plain")).label_smoothing_factor == 0.0


def test_settings_snippet_runs_as_written():
    """The README's settings block builds the scorer it says, with the bundled QAGen."""
    with open(README, encoding="utf-8") as f:
        blocks = re.findall(r"^```python\n(.*?)^```", f.read(), re.DOTALL | re.MULTILINE)
    (snippet,) = [block for block in blocks if "QualsSettings(" in block]
    namespace: dict = {}
    exec(snippet, namespace)  # noqa: S102 - the README's own code
    scorer, settings = namespace["scorer"], namespace["settings"]
    assert scorer.settings == settings and "|beams:20|groups:20|" in scorer.signature()
    import quals

    assert scorer.signature() == quals.QualsScorer(scorer.qagen, num_beams=20, num_beam_groups=20).signature()
