"""A tiny QAGen that really learns: templated facts ("alice was born in paris .") trained for seconds."""

from __future__ import annotations

import itertools
import random

import torch

from quals.prefix_lm import PrefixLMForQAGen
from tiny import TINY_FORMAT, tiny_bert_config, tiny_tokenizer
from trainer_ext.collators import QAGenCollator
from trainer_ext.qa_data import build_qa_features
from trainer_ext.qagen_data import build_examples

NAMES = ["alice", "bob", "carol", "dave", "erin", "frank"]
CITIES = ["paris", "london", "berlin", "rome", "madrid"]


def fact(name: str, city: str) -> str:
    return f"{name} was born in {city} ."


def fact_rows(seed: int = 0, n: int = 400) -> list[dict]:
    """SQuAD-format rows: one or two facts as context, a where- or who-question about one of them."""
    rng = random.Random(seed)
    pairs = list(itertools.product(NAMES, CITIES))
    rows = []
    for _ in range(n):
        (n1, c1), (n2, c2) = rng.sample(pairs, 2)
        context = fact(n1, c1) if rng.random() < 0.4 else f"{fact(n1, c1)} {fact(n2, c2)}"
        if context != fact(n1, c1) and rng.random() < 0.5:
            n1, c1 = n2, c2
        if rng.random() < 0.5:
            question, answer = f"where was {n1} born ?", c1
        else:
            question, answer = f"who was born in {c1} ?", n1
        rows.append(
            {"context": context, "question": question, "answers": {"text": [answer], "answer_start": [context.index(answer)]}}
        )
    return rows


FILLER = ["the painter lived in the city .", "the team played for a year .", "the writer won a prize ."]


def with_filler(rows: list[dict], seed: int) -> list[dict]:
    """Rows whose contexts gain up to three filler sentences (no names, no cities) before and after."""
    rng = random.Random(seed)
    out = []
    for row in rows:
        before = " ".join(rng.choices(FILLER, k=rng.randint(0, 3)))
        after = " ".join(rng.choices(FILLER, k=rng.randint(0, 3)))
        shift = len(before) + 1 if before else 0
        context = " ".join(part for part in (before, row["context"], after) if part)
        answers = {"text": row["answers"]["text"], "answer_start": [a + shift for a in row["answers"]["answer_start"]]}
        out.append({**row, "context": context, "answers": answers})
    return out


def _fit(model: torch.nn.Module, rows: list[dict], collate, steps: int, seed: int, lr: float = 3e-3) -> None:
    """AdamW on random batches of 32 rows; the model is left in eval mode.

    One thread: parallel reductions round differently with the thread count, and over hundreds of steps
    that changes the tiny model enough to flip the margins the tests assert on.
    """
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    rng = random.Random(seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model.train()
        for _ in range(steps):
            loss = model(**collate(rng.sample(rows, 32))).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
        model.eval()
    finally:
        torch.set_num_threads(threads)


def _columns_to_rows(data: dict[str, list], keys: tuple[str, ...]) -> list[dict]:
    return [{k: data[k][i] for k in keys} for i in range(len(data[keys[0]]))]


def train_fact_qagen(folder: str, steps: int = 600, seed: int = 0, fmt=TINY_FORMAT) -> str:
    """Train a tiny prefix-LM on ``fact_rows`` and save it as a QAGen folder (or a QG one, per ``fmt.task``)."""
    tokenizer = tiny_tokenizer(folder)
    torch.manual_seed(seed)
    config = tiny_bert_config(len(tokenizer))
    config.hidden_size, config.intermediate_size = 64, 128
    model = PrefixLMForQAGen(config)
    data = build_examples(fact_rows(seed), tokenizer, fmt, min_window=64, max_window=64, seed=seed)
    rows = _columns_to_rows(data, ("input_ids", "decoder_input_ids", "labels"))
    _fit(model, rows, QAGenCollator(pad_token_id=tokenizer.pad_token_id), steps, seed)
    model.save_pretrained(folder)
    fmt.save(folder)
    return folder


def train_fact_qa(folder: str, steps: int = 300, seed: int = 0) -> str:
    """Train a tiny extractive QA model (``BertForQuestionAnswering``) on ``fact_rows`` and save it."""
    from transformers import BertForQuestionAnswering, DataCollatorWithPadding

    tokenizer = tiny_tokenizer(folder)
    torch.manual_seed(seed)
    config = tiny_bert_config(len(tokenizer))
    config.hidden_size, config.intermediate_size = 64, 128
    model = BertForQuestionAnswering(config)
    data = build_qa_features(with_filler(fact_rows(seed), seed), tokenizer, max_length=64, stride=16)
    rows = _columns_to_rows(data, ("input_ids", "token_type_ids", "attention_mask", "start_positions", "end_positions"))
    _fit(model, rows, DataCollatorWithPadding(tokenizer), steps, seed)
    model.save_pretrained(folder)
    return folder


# Fast decoding settings for the fact QAGen (its pairs are a few tokens long).
FACT_SETTINGS = dict(num_beams=8, num_beam_groups=8, min_new_tokens=3, max_new_tokens=12)


def even(low: float, high: float) -> list[float]:
    """101 evenly spaced values from ``low`` to ``high``: quantiles whose percentiles are easy to compute by hand."""
    return [low + (high - low) * k / 100 for k in range(101)]


def hand_calibration(signature: str):
    """A calibration with hand-made quantiles: faithful summaries evenly from -1 to 0, altered ones from -2 to -1,
    faithful pairs from -1.2 to 0, altered-answer pairs from -3 to -1."""
    from quals.calibration import Calibration

    return Calibration(signature, "hand-made quantiles for tests", "tests/facts.py", even(-1, 0), even(-2, -1),
                       even(-1.2, 0), even(-3, -1), {"faithful": 101, "altered": 101, "faithful_pairs": 101, "altered_pairs": 101})
