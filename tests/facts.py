"""A tiny QAGen that really learns: templated facts ("alice was born in paris .") trained for seconds."""

from __future__ import annotations

import itertools
import random

import torch

from quals.prefix_lm import PrefixLMForQAGen
from tiny import TINY_FORMAT, tiny_bert_config, tiny_tokenizer
from trainer_ext.collators import QAGenCollator
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


def train_fact_qagen(folder: str, steps: int = 600, seed: int = 0) -> str:
    """Train a tiny prefix-LM on ``fact_rows`` and save it as a QAGen folder."""
    tokenizer = tiny_tokenizer(folder)
    torch.manual_seed(seed)
    config = tiny_bert_config(len(tokenizer))
    config.hidden_size, config.intermediate_size = 64, 128
    model = PrefixLMForQAGen(config)
    data = build_examples(fact_rows(seed), tokenizer, TINY_FORMAT, min_window=64, max_window=64, seed=seed)
    collate = QAGenCollator(pad_token_id=tokenizer.pad_token_id)
    rows = [{k: data[k][i] for k in ("input_ids", "decoder_input_ids", "labels")} for i in range(len(data["labels"]))]
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    rng = random.Random(seed)
    model.train()
    for _ in range(steps):
        batch = collate(rng.sample(rows, 32))
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()
    model.save_pretrained(folder)
    TINY_FORMAT.save(folder)
    return folder
