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
