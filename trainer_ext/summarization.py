"""Summarizer recipes for CONSEQ: the MLE baseline, and contrastive fine-tuning on S+/S-.

Both stages use ``ConSeqTrainer``: without negatives its loss is the label-smoothed NLL of the MLE
baseline, with negatives it adds the unlikelihood term. A BERT-style base (e.g. MiniLM) becomes a
bert2bert model; seq2seq checkpoints (BART, T5) are used as they are.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from quals.building_blocks import METRICS, QualsSettings, bert2bert_from_base, resolve_model_path

from .collators import NEGATIVE_LABELS, ConSeqCollator
from .conseq_trainer import ConSeqConfig, ConSeqTrainer
from .contrastive_data import ContrastiveConfig
from .qagen_recipe import run_training
from .recipe_files import read_recipe, require_files
from .summary_decoding import DecodingConfig


@dataclass
class SummarizerRecipe:
    """Data, lengths and settings of the CONSEQ pipeline: ``*_training`` feed ConSeqConfig for the MLE
    and the CONSEQ stage, ``contrastive`` feeds ContrastiveConfig, ``quals`` the QualsScorer that selects
    S+/S-, and ``evaluation`` the held-out evaluation (keys ``decoding``: DecodingConfig fields, ``quals``
    and ``qags``: scorer settings, the scorers' defaults when absent)."""

    base_model: str = "minilm"
    data_file: str = ""
    document_field: str = "document"
    summary_field: str = "reference"
    train_rows: tuple[int, int] | None = None
    eval_rows: tuple[int, int] | None = None
    max_source_length: int = 384
    max_target_length: int = 64
    mle_training: dict[str, Any] = field(default_factory=dict)
    conseq_training: dict[str, Any] = field(default_factory=dict)
    contrastive: dict[str, Any] = field(default_factory=dict)
    quals: dict[str, Any] = field(default_factory=dict)
    evaluation: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def sections(cls, data: dict[str, Any] | None = None) -> dict[str, Any]:
        """What each section's keys feed, checked on reading (``recipe_files``); metrics as registered now."""
        return {"mle_training": ConSeqConfig, "conseq_training": ConSeqConfig, "contrastive": ContrastiveConfig,
                "quals": QualsSettings, "evaluation": {"decoding": DecodingConfig, "rouge": {"use_stemmer": bool},
                                                       **{name: spec.settings for name, spec in METRICS.items()}}}

    @classmethod
    def from_json(cls, path: str, overrides: dict[str, Any] | None = None) -> "SummarizerRecipe":
        return cls(**read_recipe(cls, path, overrides, path_fields=("data_file",)))

    def check_files(self) -> None:
        """Name a missing data file before any model loads."""
        require_files("data_file", [self.data_file] if self.data_file else [])

    def rows(self, which: str) -> tuple[list[str], list[str]]:
        """(documents, reference summaries) of the ``train`` or ``eval`` slice of ``data_file``."""
        span = self.train_rows if which == "train" else self.eval_rows
        with open(self.data_file, encoding="utf-8") as f:
            records = [(n, json.loads(line)) for n, line in enumerate(f, 1) if line.strip()]
        if span is not None:
            records = records[span[0] : span[1]]
        for n, r in records:
            missing = [k for k in (self.document_field, self.summary_field) if k not in r]
            if missing:
                raise ValueError(f"{self.data_file}:{n}: missing field(s) {missing}; set document_field/summary_field in the recipe.")
        return [r[self.document_field] for _, r in records], [r[self.summary_field] for _, r in records]

    def contrastive_config(self) -> ContrastiveConfig:
        return ContrastiveConfig(**{"max_source_length": self.max_source_length, "max_new_tokens": self.max_target_length, **self.contrastive})


def load_summarizer(path: str, from_base: bool = False):
    """(model, tokenizer) of a summarizer folder (bert2bert, BART/T5 or a MiniLM prefix-LM such as the
    bundled QAGen) in float32, whatever the stored precision (the Trainer's bf16/fp16 flags add mixed
    precision on top); ``from_base`` turns a BERT-style checkpoint into a bert2bert summarizer. Weights load
    from safetensors only: a folder with only a pickle (pytorch_model.bin) is refused, naming ``summarizer=``."""
    import torch
    from transformers import AutoConfig, AutoModelForSeq2SeqLM, AutoTokenizer, EncoderDecoderModel

    path = resolve_model_path(path, "summarizer")
    tokenizer = AutoTokenizer.from_pretrained(path)
    config = AutoConfig.from_pretrained(path)
    if "PrefixLMForQAGen" in (config.architectures or []):
        from quals.building_blocks import PrefixLMForQAGen

        model = PrefixLMForQAGen.from_pretrained(path, use_safetensors=True, dtype=torch.float32)
        _bert_special_ids(model, tokenizer)
    elif from_base and not config.is_encoder_decoder:
        model = bert2bert_from_base(path).float()
        _bert_special_ids(model, tokenizer)
    elif config.model_type == "encoder-decoder":
        model = EncoderDecoderModel.from_pretrained(path, use_safetensors=True, dtype=torch.float32)
    else:
        model = AutoModelForSeq2SeqLM.from_pretrained(path, use_safetensors=True, dtype=torch.float32)
    return model, tokenizer


def _bert_special_ids(model: Any, tokenizer: Any) -> None:
    """BERT conventions for a summary: starts after [CLS], ends with [SEP], padded with [PAD]."""
    ids = {"decoder_start_token_id": tokenizer.cls_token_id, "pad_token_id": tokenizer.pad_token_id, "eos_token_id": tokenizer.sep_token_id}
    for key, value in ids.items():
        setattr(model.config, key, value)
        if getattr(model, "generation_config", None) is not None:
            setattr(model.generation_config, key, value)


def target_ids(tokenizer: Any, model: Any, text: str, max_length: int) -> list[int]:
    """Summary token ids as labels: the tokenizer's specials, minus a leading decoder-start token; a
    summary cut at ``max_length`` keeps its final (end) token."""
    ids = tokenizer(text)["input_ids"]
    if ids and ids[0] == model.config.decoder_start_token_id:
        ids = ids[1:]
    return ids if len(ids) <= max_length else ids[: max_length - 1] + ids[-1:]


def tokenize(
    tokenizer: Any,
    model: Any,
    documents: Sequence[str],
    positives: Sequence[str],
    negatives: Sequence[str] | None,
    recipe: SummarizerRecipe,
):
    """A ``datasets.Dataset`` with input_ids, labels and (when given) negative_labels."""
    from datasets import Dataset

    columns: dict[str, list] = {
        "input_ids": [tokenizer(d, truncation=True, max_length=recipe.max_source_length)["input_ids"] for d in documents],
        "labels": [target_ids(tokenizer, model, s, recipe.max_target_length) for s in positives],
    }
    if negatives is not None:
        columns[NEGATIVE_LABELS] = [target_ids(tokenizer, model, s, recipe.max_target_length) for s in negatives]
    return Dataset.from_dict(columns)


def rouge_metrics(tokenizer: Any):
    """``compute_metrics`` for ``predict_with_generate`` evaluation: mean ROUGE-1/2/L F1 of the outputs
    (``rouge_score``, stemmed)."""
    import numpy as np

    from .rouge_f1 import ROUGE_TYPES, rouge_scores

    def compute(eval_pred: Any) -> dict[str, float]:
        preds = np.where(eval_pred.predictions != -100, eval_pred.predictions, tokenizer.pad_token_id)
        labels = np.where(eval_pred.label_ids != -100, eval_pred.label_ids, tokenizer.pad_token_id)
        pairs = zip(tokenizer.batch_decode(preds, skip_special_tokens=True), tokenizer.batch_decode(labels, skip_special_tokens=True))
        scores = [rouge_scores(p, r) for p, r in pairs]
        return {k: sum(s[k] for s in scores) / max(len(scores), 1) for k in ROUGE_TYPES}

    return compute


def train_summarizer(
    recipe: SummarizerRecipe,
    training: dict[str, Any],
    output_dir: str,
    init: str,
    from_base: bool,
    train_data: tuple[Sequence[str], Sequence[str], Sequence[str] | None],
    resume: bool = True,
) -> ConSeqTrainer:
    """Fine-tune ``init`` on (documents, positives[, negatives]); checkpoints in ``output_dir``, resumable."""
    model, tokenizer = load_summarizer(init, from_base=from_base)
    if training.get("predict_with_generate") and not hasattr(model, "generate"):
        raise ValueError(f"predict_with_generate needs a Hugging Face seq2seq model, not {type(model).__name__}; "
                         "drop it from the recipe and score summaries with `quals-train evaluate`.")
    documents, positives, negatives = train_data
    train = tokenize(tokenizer, model, documents, positives, negatives, recipe)
    eval_dataset = None
    if recipe.eval_rows is not None:
        eval_docs, eval_refs = recipe.rows("eval")
        eval_dataset = tokenize(tokenizer, model, eval_docs, eval_refs, None, recipe)
    defaults = {"output_dir": output_dir, "report_to": "none", "remove_unused_columns": True,
                "eval_strategy": "epoch" if eval_dataset is not None else "no", "save_strategy": "epoch"}
    args = ConSeqConfig(**{**defaults, **training})
    trainer = ConSeqTrainer(
        model=model, args=args, train_dataset=train, eval_dataset=eval_dataset,
        data_collator=ConSeqCollator(pad_token_id=tokenizer.pad_token_id), processing_class=tokenizer,
        compute_metrics=rouge_metrics(tokenizer) if args.predict_with_generate else None,
    )
    run_training(trainer, output_dir, resume)
    final = os.path.join(output_dir, "final")
    trainer.save_model(final)
    tokenizer.save_pretrained(final)
    return trainer
