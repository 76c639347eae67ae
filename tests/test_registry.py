"""The metric contract: a third metric, defined and registered in a few lines here, gets CLI flags with help
and choices, a signature, the resumable corpus runner and ``compute(metric=...)`` without touching any
other file; the shipped settings match their scorers' arguments."""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Literal

import pytest

import quals
from quals.cli import main
from quals.corpus import output_signature
from quals.registry import METRICS, MetricSpec, get_metric, register
from quals.settings import Settings, number, setting

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass(frozen=True)
class LengthSettings(Settings):
    metric = "LEN"
    scorer_name = "LengthScorer"

    unit: Literal["words", "chars"] = setting("words", "what the ratio counts.")
    scale: float = setting(1.0, "factor applied to the ratio.", number(0.0, low_open=True))


@dataclass
class LengthResult:
    length_ratio: float
    num_units: int
    signature: str
    skipped: str | None = None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


class LengthScorer:
    """A toy metric: summary length over source length, in words or characters."""

    batch_size = 4

    def __init__(self, unit: str = "words", scale: float = 1.0):
        self.settings = LengthSettings(unit=unit, scale=scale)

    def signature(self) -> str:
        return self.settings.signature()

    def row_problem(self, name: str, index: int, value: object) -> str | None:
        return None if isinstance(value, str) and value.strip() else f"{name}[{index}] is no text"

    def score(self, sources, summaries, details=False, progress=False) -> list[LengthResult]:
        size = (lambda t: len(t.split())) if self.settings.unit == "words" else len
        return [LengthResult(self.settings.scale * size(m) / size(s), size(m), self.signature()) for s, m in zip(sources, summaries)]


@pytest.fixture()
def toy_metric():
    spec = register(MetricSpec("length_ratio", LengthSettings, LengthScorer, "num_units", "units", "units"))  # the one line
    yield spec
    del METRICS[spec.name]  # registered for this test only


def test_a_registered_metric_gets_flags_a_signature_and_the_corpus_runner(toy_metric, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "2000")
    with pytest.raises(SystemExit):
        main(["score", "--metric", "length_ratio", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "--unit {words,chars} what the ratio counts. Default: words." in shown
    assert "--scale SCALE factor applied to the ratio. Default: 1.0." in shown and "--num-beams NUM_BEAMS" not in shown
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"id": i, "source": "a b c d", "summary": s}) + "\n" for i, s in enumerate(["a b", "abcd"])))
    out = tmp_path / "out.jsonl"
    assert main(["score", "--metric", "length_ratio", "--input", str(rows), "--output", str(out), "--unit", "chars", "--scale", "2"]) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["id"], r["length_ratio"], r["num_units"]) for r in records] == [(0, 2 * 3 / 7, 3), (1, 2 * 4 / 7, 4)]
    assert output_signature(str(out)).startswith("LEN|unit:chars|scale:2.0|quals:")
    assert "mean LENGTH_RATIO 1.0000 | coverage 1.000 (2/2 scored, 0 without units, 0 errors)" in capsys.readouterr().err
    assert main(["score", "--metric", "length_ratio", "--input", str(rows), "--output", str(out), "--scale", "0"]) == 2
    assert "scale=0.0: use a finite number > 0.0." in capsys.readouterr().err  # the settings' rule, as one line


def test_a_registered_metric_computes_through_the_evaluate_module(toy_metric, tmp_path, monkeypatch):
    import evaluate

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_EVALUATE_OFFLINE", "1")
    module = evaluate.load(os.path.join(REPO, "quals_metric.py"), keep_in_memory=True)
    out = module.compute(predictions=["a b"], sources=["a b c d"], metric="length_ratio", unit="words")
    assert out == {"length_ratio": [0.5], "mean_length_ratio": 0.5, "num_units": [2], "skipped": [None],
                   "coverage": 1.0, "signature": LengthSettings().signature()}
    with pytest.raises(TypeError, match=r"units= is not a LengthScorer setting; the settings are \['unit', 'scale'\]"):
        module.compute(predictions=["a b"], sources=["a b c d"], metric="length_ratio", units="words")
    with pytest.raises(ValueError, match=r"metric='lenght_ratio': use one of \('quals', 'qags', 'length_ratio'\)"):
        get_metric("lenght_ratio")


@pytest.mark.parametrize("name", ["quals", "qags"])
def test_shipped_settings_are_their_scorers_arguments_with_the_same_defaults(name):
    spec = get_metric(name)
    arguments = {p.name: p.default for p in inspect.signature(spec.scorer_class()).parameters.values()}
    assert arguments == {f.name: f.default for f in dataclasses.fields(spec.settings)}
    assert all(f.metadata["help"] for f in dataclasses.fields(spec.settings))
    doc = inspect.getdoc(spec.scorer_class())  # the scorer's docstring lists every setting with its help
    assert all(f"{f.name} (" in doc for f in dataclasses.fields(spec.settings))


def test_help_and_settings_errors_need_no_torch():
    code = ("import sys, quals, quals.cli, quals.registry, trainer_ext\n"
            "quals.QualsSettings(num_beams=4, num_beam_groups=4)\n"
            "try:\n    quals.QualsSettings(cap='loose')\nexcept ValueError as e:\n    print(e)\n"
            "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["cap='loose': use one of ('strict', 'reference').", "[]"]
    assert quals.QualsSettings(model="x").to_dict()["model"] == "x"
    for cli in ("quals.cli", "trainer_ext.cli"):  # help at once: no torch, no transformers
        started = time.perf_counter()
        shown = subprocess.run([sys.executable, "-m", cli, "--help"], capture_output=True, text=True, check=True).stdout
        assert time.perf_counter() - started < 1.0 and "usage:" in shown


def test_lazy_exports_refuse_a_name_that_is_its_own_module():
    from quals.lazy_exports import lazy_exports

    with pytest.raises(ValueError, match=r"\['answer_f1'\] name their own modules"):
        lazy_exports("pkg", {"answer_f1": "answer_f1", "score": "scorer"}, {})
