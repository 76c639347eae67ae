"""The QAGen training recipe: SQuAD-format data -> a complete QAGen folder that ``QualsScorer`` loads.

Runs under plain ``python``, ``accelerate launch`` or ``torchrun`` (the Trainer builds its own
Accelerator). Training state lives in ``output_dir`` (checkpoints, resumable); ``export_qagen`` turns the
newest checkpoint into the shipped folder: weights, tokenizer, ``qa_format.json`` and a model card.
"""

from __future__ import annotations

import copy
import logging
import os
import random
import time
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers import AutoTokenizer, Seq2SeqTrainer, Seq2SeqTrainingArguments, TrainingArguments

from quals.building_blocks import PRESETS, QAFormat, load_qagen_model, resolve_model_path

from .collators import ConSeqCollator, QAGenCollator
from .conseq_trainer import ConSeqConfig, ConSeqTrainer
from .qagen_data import build_examples, read_squad
from .qagen_negatives import NegativeBuilder, NegativeConfig
from .recipe_files import check_section, read_recipe, require_files

logger = logging.getLogger(__name__)


@dataclass
class SquadRecipe:
    """Fields every recipe trained on SQuAD-format data shares; ``training`` holds the Trainer's arguments."""

    base_model: str = "minilm"
    train_files: list[str] = field(default_factory=list)
    train_file_weights: list[float] | None = None  # per train file: 0.5 takes half its rows, 2.0 each row twice
    dev_file: str | None = None
    dev_examples: int | None = 500
    max_train_examples: int | None = None
    seed: int = 0
    training: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def sections(cls, data: dict[str, Any]) -> dict[str, Any]:
        """What each section's keys feed, checked on reading (``recipe_files``)."""
        return {"training": TrainingArguments}

    @classmethod
    def from_json(cls, path: str, overrides: dict[str, Any] | None = None):
        """Read a recipe file plus ``--set`` overrides (see ``read_recipe`` for how their paths resolve)."""
        return cls(**read_recipe(cls, path, overrides, path_fields=("train_files", "dev_file")))

    def check_files(self) -> None:
        """Name a missing data file before any model loads."""
        require_files("train_files", self.train_files, '["my-train.jsonl"]')
        require_files("dev_file", [self.dev_file] if self.dev_file else [])
        weights = self.train_file_weights
        if weights is not None and (len(weights) != len(self.train_files) or not all(w > 0 for w in weights)):
            raise ValueError(
                f"train_file_weights={weights}: give one positive weight per train file ({len(self.train_files)}), or null."
            )

    def rows(self, files: list[str], limit: int | None, weights: list[float] | None = None) -> list[dict[str, Any]]:
        """All rows of ``files`` (each file's rows scaled by its weight, if given), or a sample of ``limit``
        of them (seeded, in file order): a sample spreads over every article, where the first 512 rows of
        SQuAD dev are all one article (Super Bowl 50)."""
        if limit is not None and limit < 1:
            raise ValueError(f"a row limit of {limit}: give at least 1 (dev_examples, max_train_examples), or null for all.")
        rng = random.Random(self.seed)
        rows = [row for i, path in enumerate(files) for row in weighted(list(read_squad(path)), weights[i] if weights else 1.0, rng)]
        if limit is None or limit >= len(rows):
            return rows
        return [rows[i] for i in sorted(random.Random(self.seed).sample(range(len(rows)), limit))]


def weighted(rows: list[dict[str, Any]], weight: float, rng: random.Random) -> list[dict[str, Any]]:
    """``rows`` repeated ``int(weight)`` times plus a seeded sample of the fraction left, in file order."""
    whole, part = int(weight), round((weight - int(weight)) * len(rows))
    if whole == 0 and part == 0 and rows:
        logger.warning("a train file weight of %s takes none of its %d rows.", weight, len(rows))
    extra = sorted(rng.sample(range(len(rows)), part))
    return [row for _ in range(whole) for row in rows] + [rows[i] for i in extra]


@dataclass
class QAGenRecipe(SquadRecipe):
    """A QAGen run (or, with a ``question-generation`` QA format, QAGS's question generator)."""

    qa_format: str | dict[str, Any] = "minilm-prefix-lm"
    min_window: int = 48
    max_window: int = 160
    model_config: dict[str, Any] = field(default_factory=dict)  # base config overrides, e.g. {"hidden_dropout_prob": 0.2}
    negatives: dict[str, Any] | None = None  # NegativeConfig fields: kinds, ratio, weight (unlikelihood on answers)
    layer_repeat: int = 1  # prefix-LM only: each base layer used this many times in a row (2: 12 layers from MiniLM-L6)

    @classmethod
    def sections(cls, data: dict[str, Any]) -> dict[str, Any]:
        """With negatives the Trainer's arguments are ``ConSeqConfig``'s (``ConSeqTrainer`` trains)."""
        trainer_arguments = ConSeqConfig if data.get("negatives") is not None else Seq2SeqTrainingArguments
        return {"training": trainer_arguments, "negatives": NegativeConfig}

    def negative_config(self) -> NegativeConfig | None:
        """The validated ``negatives`` section, or None when the recipe trains on true pairs only."""
        if self.negatives is None:
            return None
        check_section("negatives", self.negatives, NegativeConfig)
        return NegativeConfig(**self.negatives)

    def format(self) -> QAFormat:
        if isinstance(self.qa_format, str):
            if self.qa_format not in PRESETS:
                raise ValueError(f"qa_format={self.qa_format!r}: not a preset; use one of {sorted(PRESETS)} or a dict.")
            return PRESETS[self.qa_format]
        return QAFormat.from_dict(self.qa_format, origin="recipe qa_format")


def _examples(
    recipe: QAGenRecipe, files: list[str], tokenizer: Any, fmt: QAFormat, limit: int | None, seed: int,
    weights: list[float] | None = None, negatives: NegativeConfig | None = None,
):
    from datasets import Dataset

    rows = recipe.rows(files, limit, weights)
    builder = NegativeBuilder(rows, negatives, seed) if negatives else None
    columns = build_examples(rows, tokenizer, fmt, recipe.min_window, recipe.max_window, seed=seed, negatives=builder)
    skipped = columns.pop("skipped")[0]
    columns.pop("row")
    logger.info("%d examples from %d rows (answers skipped: %d outside the window, %d too long for the target of %d tokens)",
                len(columns["labels"]), len(rows), *skipped, fmt.max_target_length)
    if builder:
        logger.info("negatives per kind: %s", columns.pop("negative_counts")[0])
    return Dataset.from_dict(columns)


def train_qagen(recipe: QAGenRecipe, output_dir: str, resume: bool = True) -> Seq2SeqTrainer:
    """Fine-tune a QAGen per ``recipe``; checkpoints go to ``output_dir`` and training resumes from them.

    With ``negatives``, training runs the CONSEQ loss (``ConSeqTrainer``): likelihood on every true pair,
    unlikelihood weighted by ``negatives.weight`` on the answers of the negatives; the dev set keeps true
    pairs only, so its loss stays comparable with a run without negatives."""
    fmt = recipe.format()
    negatives = recipe.negative_config()
    base = resolve_model_path(recipe.base_model, "base_model")
    tokenizer = AutoTokenizer.from_pretrained(base)
    fmt.validate(tokenizer)
    model = load_qagen_model(base, fmt, init_from_base=True, tokenizer=tokenizer, config_overrides=recipe.model_config)
    if recipe.layer_repeat != 1:
        repeat_layers(model, recipe.layer_repeat)
    train = _examples(recipe, recipe.train_files, tokenizer, fmt, recipe.max_train_examples, recipe.seed,
                      recipe.train_file_weights, negatives)
    dev = None
    if recipe.dev_file:
        dev = _examples(recipe, [recipe.dev_file], tokenizer, fmt, recipe.dev_examples, recipe.seed + 1)
    settings = {**trainer_defaults(output_dir, dev is not None), **recipe.training}
    pad_id = tokenizer.convert_tokens_to_ids(fmt.pad_token)
    if negatives is None:
        args, trainer_cls, collator = Seq2SeqTrainingArguments(**settings), Seq2SeqTrainer, QAGenCollator(pad_id)
    else:
        ids = fmt.validate(tokenizer)  # ConSeqTrainer builds decoder inputs from labels with these
        model.config.decoder_start_token_id, model.config.pad_token_id = ids.decoder_start, ids.pad
        if "unlikelihood_weight" in recipe.training:
            raise ValueError("training.unlikelihood_weight: set the weight of negatives with negatives.weight instead.")
        settings = {"label_smoothing_factor": 0.0, **settings, "unlikelihood_weight": negatives.weight}
        args, trainer_cls, collator = ConSeqConfig(**settings), ConSeqTrainer, ConSeqCollator(pad_id)
    trainer = trainer_cls(
        model=model, args=args, train_dataset=train, eval_dataset=dev, data_collator=collator, processing_class=tokenizer,
    )
    return run_training(trainer, output_dir, resume)


def repeat_layers(model: torch.nn.Module, times: int) -> None:
    """Grow a deeper prefix-LM from a shallower one: each layer followed by ``times - 1`` copies of itself,
    which then train apart (a cheap start for a 12-layer QAGen when only a 6-layer base is at hand)."""
    from quals.building_blocks import PrefixLMForQAGen

    if not isinstance(model, PrefixLMForQAGen):
        raise ValueError(f"layer_repeat applies to prefix-LM QAGens only, not {type(model).__name__}; remove it.")
    if not isinstance(times, int) or times < 1:
        raise ValueError(f"layer_repeat={times!r}: give a whole number >= 1.")
    layers = model.bert.encoder.layer
    model.bert.encoder.layer = torch.nn.ModuleList(copy.deepcopy(layer) for layer in layers for _ in range(times))
    model.config.num_hidden_layers = len(model.bert.encoder.layer)


def trainer_defaults(output_dir: str, has_dev: bool) -> dict[str, Any]:
    """Training arguments our recipes share (length-grouped batches, step checkpoints); configs override."""
    return {
        "output_dir": output_dir,
        "train_sampling_strategy": "group_by_length",
        "length_column_name": "length",
        "remove_unused_columns": False,
        "report_to": "none",
        "save_strategy": "steps",
        "eval_strategy": "steps" if has_dev else "no",
    }


def run_training(trainer: Any, output_dir: str, resume: bool):
    """Train, resuming from the newest checkpoint of ``output_dir`` when there is one and ``resume``."""
    started = time.time()
    trainer.train(resume_from_checkpoint=True if resume and has_checkpoint(output_dir) else None)
    logger.info("training took %.0f s", time.time() - started)
    return trainer


def has_checkpoint(output_dir: str) -> bool:
    """Whether a run folder holds a ``checkpoint-N`` folder to resume from."""
    return os.path.isdir(output_dir) and any(d.startswith("checkpoint-") for d in os.listdir(output_dir))


def latest_checkpoint(output_dir: str) -> str:
    """The newest ``checkpoint-N`` folder of a run."""
    steps = [int(d.split("-")[1]) for d in os.listdir(output_dir) if d.startswith("checkpoint-")]
    if not steps:
        raise FileNotFoundError(f"{output_dir!r} holds no checkpoint-N folder; train first.")
    return os.path.join(output_dir, f"checkpoint-{max(steps)}")


def export_qagen(
    checkpoint: str,
    out_dir: str,
    fmt: QAFormat,
    model_card: str,
    dtype: torch.dtype = torch.float32,
) -> str:
    """Write a complete QAGen folder (safetensors weights, tokenizer, qa_format.json, README.md)."""
    from quals.building_blocks import atomic_write_text

    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    model = load_qagen_model(checkpoint, fmt)
    model.to(dtype)
    os.makedirs(out_dir, exist_ok=True)
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    fmt.save(out_dir)
    atomic_write_text(os.path.join(out_dir, "README.md"), model_card)
    return out_dir
