"""Shared fixtures: tiny random QAGen folders, built once per test session, and no network."""

from __future__ import annotations

import os
import sys

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_EVALUATE_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tiny import tiny_prefix_lm  # noqa: E402


@pytest.fixture(scope="session")
def tiny_qagen_dir(tmp_path_factory) -> str:
    """A random tiny prefix-LM QAGen folder (weights, tokenizer, qa_format.json)."""
    return tiny_prefix_lm(str(tmp_path_factory.mktemp("tiny-qagen")))


@pytest.fixture(scope="session")
def trained_qagen_dir(tmp_path_factory) -> str:
    """A tiny prefix-LM trained for seconds on templated facts ("X was born in Y.")."""
    from facts import train_fact_qagen

    return train_fact_qagen(str(tmp_path_factory.mktemp("fact-qagen")))


@pytest.fixture(scope="session")
def calibrated_qagen_dir(trained_qagen_dir, tmp_path_factory) -> str:
    """The fact QAGen with a hand-made calibration.json measured, as it claims, under ``FACT_SETTINGS``."""
    import shutil

    from facts import FACT_SETTINGS, hand_calibration

    import quals

    folder = str(tmp_path_factory.mktemp("calibrated") / "qagen")
    shutil.copytree(trained_qagen_dir, folder)
    hand_calibration(quals.QualsScorer(folder, **FACT_SETTINGS).signature()).save(folder)
    return folder


@pytest.fixture(scope="session")
def trained_qg_dir(tmp_path_factory) -> str:
    """A tiny answer-conditioned question generator trained for seconds on the templated facts."""
    import dataclasses

    from facts import train_fact_qagen
    from tiny import TINY_FORMAT

    fmt = dataclasses.replace(TINY_FORMAT, task="question-generation")
    return train_fact_qagen(str(tmp_path_factory.mktemp("fact-qg")), fmt=fmt)


@pytest.fixture(scope="session")
def trained_qa_dir(tmp_path_factory) -> str:
    """A tiny extractive QA model trained for seconds on the templated facts."""
    from facts import train_fact_qa

    return train_fact_qa(str(tmp_path_factory.mktemp("fact-qa")))
