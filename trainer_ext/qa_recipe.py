"""The QAGS question-answerer recipe: SQuAD-format data -> an extractive QA folder ``QuestionAnswerer`` loads.

Same conventions as the QAGen recipe (JSON config, ``training`` = Trainer arguments, resumable
checkpoints, ``accelerate launch`` for many devices); the model is ``AutoModelForQuestionAnswering``
over any encoder checkpoint (here MiniLM-L6, so QAGS and QUALS run on the same backbone).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

from transformers import AutoModelForQuestionAnswering, AutoTokenizer, DataCollatorWithPadding, Trainer, TrainingArguments

from quals.building_blocks import resolve_model_path

from .qa_data import build_qa_features
from .qagen_recipe import SquadRecipe, run_training, trainer_defaults

logger = logging.getLogger(__name__)


@dataclass
class QARecipe(SquadRecipe):
    """An extractive QA run: windows of ``max_length`` tokens overlapping by ``stride``."""

    max_length: int = 256
    stride: int = 96


def _features(recipe: QARecipe, files: list[str], tokenizer: Any, limit: int | None, weights: list[float] | None = None):
    from datasets import Dataset

    rows = recipe.rows(files, limit, weights)
    columns = build_qa_features(rows, tokenizer, recipe.max_length, recipe.stride)
    columns["length"] = [len(ids) for ids in columns["input_ids"]]
    logger.info("%d windows from %d rows", len(columns["input_ids"]), len(rows))
    return Dataset.from_dict(columns)


def train_qa(recipe: QARecipe, output_dir: str, resume: bool = True) -> Trainer:
    """Fine-tune an extractive QA model per ``recipe``; checkpoints in ``output_dir``, resumed when present."""
    base = resolve_model_path(recipe.base_model, "base_model")
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForQuestionAnswering.from_pretrained(base, use_safetensors=True)
    train = _features(recipe, recipe.train_files, tokenizer, recipe.max_train_examples, recipe.train_file_weights)
    dev = _features(recipe, [recipe.dev_file], tokenizer, recipe.dev_examples) if recipe.dev_file else None
    args = TrainingArguments(**{**trainer_defaults(output_dir, dev is not None), **recipe.training})
    collator = DataCollatorWithPadding(tokenizer)
    trainer = Trainer(model=model, args=args, train_dataset=train, eval_dataset=dev,
                      data_collator=lambda rows: collator([{k: v for k, v in r.items() if k != "length"} for r in rows]),
                      processing_class=tokenizer)
    return run_training(trainer, output_dir, resume)


def export_qa(checkpoint: str, out_dir: str, model_card: str) -> str:
    """Write a QA folder (safetensors weights, tokenizer, README.md) from a training checkpoint."""
    from quals.building_blocks import atomic_write_text

    model = AutoModelForQuestionAnswering.from_pretrained(checkpoint, use_safetensors=True)
    os.makedirs(out_dir, exist_ok=True)
    model.save_pretrained(out_dir, safe_serialization=True)
    AutoTokenizer.from_pretrained(checkpoint).save_pretrained(out_dir)
    atomic_write_text(os.path.join(out_dir, "README.md"), model_card)
    return out_dir
