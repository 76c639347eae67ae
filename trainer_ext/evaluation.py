"""Evaluate a summarizer on the recipe's held-out documents: ROUGE, QUALS and QAGS of its summaries.

The last stage of the CONSEQ pipeline (``quals-train evaluate``). Summaries are decoded by beam search
into ``out_dir/summaries.jsonl`` batch by batch; QUALS and QAGS score them through the resumable corpus
runner; ``report.json`` holds the means, the coverage of each metric and the settings. Re-running the
same command resumes every stage and redoes nothing.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from quals.building_blocks import METRICS as SCORED_METRICS
from quals.building_blocks import (
    Rows, append_jsonl, atomic_write_text, bigram_overlap, check_meta, get_metric, resolve_device, resume_point,
    score_corpus, texts_sha256, weights_hash, words,
)

from .rouge_f1 import ROUGE_TYPES, rouge_scores
from .recipe_files import check_section
from .summarization import SummarizerRecipe, load_summarizer
from .summary_decoding import DecodingConfig, beam_texts

logger = logging.getLogger(__name__)


def write_summaries(
    model: Any, tokenizer: Any, documents: Sequence[str], path: str, max_source_length: int, decoding: DecodingConfig,
) -> list[str]:
    """Decode one summary per document into ``path`` (JSONL, resumable) and return them in order."""
    from tqdm.auto import tqdm

    meta = {"summarizer_weights_sha256": weights_hash(model), "max_source_length": max_source_length, **asdict(decoding),
            "documents_sha256": texts_sha256(documents)}
    try:
        check_meta(path, meta, overwrite=False, write=True)
    except ValueError as e:
        raise ValueError(f"{path} holds summaries of another summarizer, documents or decoding settings; "
                         "choose another --out or delete that folder.") from e
    done = resume_point(path, decoding.batch_size, len(documents))
    truncated = 0
    for start in tqdm(range(done, len(documents), decoding.batch_size), unit="batch", desc="summarizing"):
        batch = documents[start : start + decoding.batch_size]
        texts, cut = beam_texts(model, tokenizer, batch, max_source_length, decoding)
        truncated += cut
        append_jsonl(path, [{"index": start + i, "summary": t} for i, t in enumerate(texts)])
    if truncated:
        logger.warning("%d document(s) longer than %d tokens were truncated for summarizing.", truncated, max_source_length)
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["summary"] for line in f]


def evaluate_summarizer(
    recipe: SummarizerRecipe, summarizer: str, out_dir: str, metrics: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Summarize the ``eval_rows`` documents and score the summaries; return (and save) the report.

    ``metrics``: "rouge" and any registered metric (``quals.registry``); by default all of them. Settings come
    from ``recipe.evaluation`` (``decoding``, ``rouge`` with ``use_stemmer``, and one mapping per metric), checked
    before anything loads. ROUGE-1/2/L (``rouge_score``) are F1 against the references (0-1); QUALS and
    QAGS means are over the summaries each could score, and ``<metric>_coverage`` is that share;
    ``source_bigram_share`` is the mean share of summary bigrams found in the document (extractiveness,
    and the lexical consistency baseline).
    """
    known = ["rouge", *SCORED_METRICS]
    metrics = known if metrics is None else list(metrics)
    unknown = sorted(set(metrics) - set(known))
    if unknown:
        raise ValueError(f"metrics {unknown} unknown; choose from {known}.")
    if recipe.eval_rows is None:
        raise ValueError("the recipe has no eval_rows; set the held-out slice of data_file to evaluate on.")
    settings = recipe.evaluation
    # as on reading a recipe file, for a recipe built or changed in Python
    check_section("recipe.evaluation", settings, SummarizerRecipe.sections()["evaluation"])
    use_stemmer = settings.get("rouge", {}).get("use_stemmer", True)
    scored = {name: get_metric(name) for name in metrics if name != "rouge"}
    checked = {name: spec.settings.from_mapping(settings.get(name, {})) for name, spec in scored.items()}
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ValueError("evaluation runs in one process (it is short); start it without torchrun/accelerate launch.")
    decoding = DecodingConfig(**{"max_new_tokens": recipe.max_target_length - 1, **settings.get("decoding", {})})
    documents, references = recipe.rows("eval")
    if not documents:
        raise ValueError(f"eval_rows={recipe.eval_rows} selects no document of {recipe.data_file}.")
    os.makedirs(out_dir, exist_ok=True)
    model, tokenizer = load_summarizer(summarizer)
    model.to(resolve_device(None))
    summaries = write_summaries(model, tokenizer, documents, os.path.join(out_dir, "summaries.jsonl"), recipe.max_source_length, decoding)
    del model
    report: dict[str, Any] = {
        "summarizer": summarizer, "documents": len(documents), "decoding": asdict(decoding),
        "summary_words": sum(len(words(s)) for s in summaries) / len(summaries),
        "source_bigram_share": sum(bigram_overlap(d, s) for d, s in zip(documents, summaries)) / len(summaries),
    }
    if "rouge" in metrics:
        scores = [rouge_scores(s, r, use_stemmer) for s, r in zip(summaries, references)]
        report.update({k: sum(x[k] for x in scores) / len(scores) for k in ROUGE_TYPES})
        report["rouge_use_stemmer"] = use_stemmer
    for name, spec in scored.items():
        scorer = spec.build(checked[name])
        stats = score_corpus(scorer, Rows(documents, summaries, f"{out_dir}/summaries.jsonl"), os.path.join(out_dir, f"{name}.jsonl"))
        report.update({name: stats.mean, f"{name}_coverage": stats.scored / stats.rows, f"{name}_signature": scorer.signature()})
    atomic_write_text(os.path.join(out_dir, "report.json"), json.dumps(report, indent=2) + "\n")
    return report
