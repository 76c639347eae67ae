"""Build the CONSEQ training set: S+ (confident references) and S- (clearly inconsistent samples).

For every training document a summarizer samples K summaries (top-k 50, temperature 1); QUALS scores
each sample and the reference; per document the negative is the lowest-scoring sample that has a score;
documents kept are those in the bottom ``negative_ratio`` by negative score and in the top
``positive_ratio`` by reference score (the paper's selection). ``metric="rouge"`` selects negatives by their
ROUGE-1/2/L ensemble against the reference instead (the paper's baseline; every reference is then a
positive candidate).

Every stage writes JSONL in ``work_dir`` batch by batch and resumes from it: samples, then QUALS of the
samples and of the references (through the sharded, resumable corpus runner).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from quals.building_blocks import (
    Processes, Rows, append_jsonl, check_meta, count_complete_lines, merge_parts, resume_point, score_corpus,
    texts_sha256,
)

from .rouge_f1 import rouge_ensemble
from .summary_decoding import sample_texts

logger = logging.getLogger(__name__)
METRICS = ("quals", "rouge")


@dataclass
class ContrastiveConfig:
    """Sampling and selection settings; the defaults are the paper's."""

    num_samples: int = 6
    top_k: int = 50
    temperature: float = 1.0
    min_new_tokens: int = 10
    max_new_tokens: int = 60
    max_source_length: int = 512
    negative_ratio: float = 0.3
    positive_ratio: float = 0.3
    metric: str = "quals"
    rouge_use_stemmer: bool = True  # with metric="rouge": Porter stemming in rouge_score
    batch_size: int = 4
    seed: int = 0

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"metric={self.metric!r}: use one of {METRICS}.")
        for name in ("negative_ratio", "positive_ratio"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"{name}={getattr(self, name)} must be in (0, 1].")
        if self.num_samples < 1:
            raise ValueError(f"num_samples={self.num_samples} must be >= 1.")


def select_pairs(
    sample_scores: Sequence[Sequence[float | None]],
    reference_scores: Sequence[float | None],
    negative_ratio: float = 0.3,
    positive_ratio: float = 0.3,
) -> list[tuple[int, int]]:
    """``(document, negative sample)`` pairs in document order, per the reference's selection.

    A document's negative is its lowest-scoring scored sample. Keep the ``round(negative_ratio * N)``
    documents with the lowest negative score and the ``round(positive_ratio * N)`` with the highest
    reference score (N = all documents; unscored ones sort last in both lists); return the intersection.
    """
    n = len(reference_scores)
    if len(sample_scores) != n:
        raise ValueError(f"{len(sample_scores)} documents of sample scores but {n} reference scores.")
    negatives: dict[int, tuple[float, int]] = {}
    for doc, scores in enumerate(sample_scores):
        scored = [(s, k) for k, s in enumerate(scores) if s is not None]
        if scored:
            negatives[doc] = min(scored)
    by_negative = sorted(negatives, key=lambda d: (negatives[d][0], d))[: round(negative_ratio * n)]
    with_reference = [d for d in range(n) if reference_scores[d] is not None]
    by_reference = sorted(with_reference, key=lambda d: (-reference_scores[d], d))[: round(positive_ratio * n)]
    keep = set(by_negative) & set(by_reference)
    return [(d, negatives[d][1]) for d in sorted(keep)]


def sample_summaries(
    model: Any, tokenizer: Any, documents: Sequence[str], path: str, config: ContrastiveConfig, progress: bool = True,
    rank: int = 0, world_size: int = 1,
) -> None:
    """K sampled summaries per document, appended to ``path`` batch by batch (resumes from it).

    Under several processes rank ``r`` samples a contiguous block of whole batches into
    ``path.part{r}of{w}``; batches and their seeds are those of one process, so after
    ``merge_sample_parts`` the file is the same whatever the number of processes.
    """
    from tqdm.auto import tqdm

    check_meta(path, _sampling_meta(model, documents, config), overwrite=False, write=rank == 0)
    if count_complete_lines(path, truncate=False) == len(documents):
        return  # complete (and merged)
    starts = list(range(0, len(documents), config.batch_size))
    mine = starts[rank * len(starts) // world_size : (rank + 1) * len(starts) // world_size]
    part = path if world_size == 1 else f"{path}.part{rank}of{world_size}"
    shard_size = sum(len(documents[s : s + config.batch_size]) for s in mine)
    done = resume_point(part, config.batch_size, shard_size)  # a whole batch always samples the same way
    truncated = 0
    bar = tqdm(total=shard_size, initial=done, unit="doc", desc=f"sampling (rank {rank})", disable=not progress)
    finished = len(mine) if done == shard_size else done // config.batch_size  # whole batches already written
    for start in mine[finished:]:
        batch = list(documents[start : start + config.batch_size])
        generator = torch.Generator().manual_seed(config.seed + start)  # a batch samples the same after a resume
        texts, cut = sample_texts(
            model, tokenizer, batch, config.num_samples, config.max_source_length, generator,
            top_k=config.top_k, temperature=config.temperature,
            min_new_tokens=config.min_new_tokens, max_new_tokens=config.max_new_tokens,
        )
        truncated += cut
        k = config.num_samples
        append_jsonl(part, [{"index": start + i, "samples": texts[i * k : (i + 1) * k]} for i in range(len(batch))])
        bar.update(len(batch))
    bar.close()
    if truncated:
        logger.warning("%d document(s) longer than %d tokens were truncated for sampling.", truncated, config.max_source_length)


def _sampling_meta(model: Any, documents: Sequence[str], config: ContrastiveConfig) -> dict[str, Any]:
    """What the samples depend on; a resume under anything else is refused."""
    settings = {k: getattr(config, k) for k in ("num_samples", "top_k", "temperature", "min_new_tokens", "max_new_tokens", "max_source_length", "batch_size", "seed")}
    return {"documents_sha256": texts_sha256(documents), "summarizer": str(getattr(model, "name_or_path", "")), "sampler": "quals.sampling", **settings}


def merge_sample_parts(path: str, world_size: int) -> None:
    """Concatenate the ranks' part files into ``path`` (atomically) and remove them; rank 0 calls it."""
    parts = [f"{path}.part{r}of{world_size}" for r in range(world_size)]
    if world_size == 1 or not all(os.path.exists(p) for p in parts):
        return  # one process wrote path itself, or the parts were merged already
    merge_parts(path, parts)


def read_samples(path: str, n: int) -> list[list[str]]:
    """The samples file, checked to hold documents 0..n-1 in order."""
    with open(path, encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    if [r["index"] for r in records] != list(range(n)):
        raise ValueError(f"{path} does not hold one record per document in order; delete it to sample again.")
    return [r["samples"] for r in records]


def _quals_scores(scorer: Any, sources: list[str], summaries: list[str], path: str, processes: Processes) -> list[float | None]:
    score_corpus(scorer, Rows(sources, summaries, path), path, progress=processes.is_main, processes=processes)
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["quals"] for line in f]


def build_contrastive_dataset(
    documents: Sequence[str],
    references: Sequence[str],
    summarizer: Any,
    tokenizer: Any,
    work_dir: str,
    config: ContrastiveConfig | None = None,
    scorer: Any = None,
    processes: Processes = Processes(),
):
    """Sample, score and select; save and return a ``datasets.Dataset`` of (document, positive, negative).

    ``scorer`` is a ``quals.QualsScorer`` (needed when ``config.metric == "quals"``). Re-running with the
    same ``work_dir`` resumes each stage where it stopped. Under several ``processes`` (``quals.distributed``)
    both sampling and scoring are sharded.
    """
    from datasets import Dataset

    rank, world_size = processes.rank, processes.world_size

    config = config or ContrastiveConfig()
    if len(documents) != len(references):
        raise ValueError(f"{len(documents)} documents but {len(references)} references; pass one reference per document.")
    if config.metric == "quals" and scorer is None:
        raise ValueError("metric='quals' needs scorer=quals.QualsScorer(...).")
    os.makedirs(work_dir, exist_ok=True)
    samples_path = os.path.join(work_dir, "samples.jsonl")
    sample_summaries(summarizer, tokenizer, documents, samples_path, config, progress=rank == 0, rank=rank, world_size=world_size)
    processes.barrier()
    if rank == 0:
        merge_sample_parts(samples_path, world_size)
    processes.barrier()
    samples = read_samples(samples_path, len(documents))
    k = config.num_samples
    if config.metric == "quals":
        flat = _quals_scores(
            scorer, [d for d in documents for _ in range(k)], [s for row in samples for s in row],
            os.path.join(work_dir, "sample_scores.jsonl"), processes,
        )
        sample_scores = [flat[i * k : (i + 1) * k] for i in range(len(documents))]
        reference_scores = _quals_scores(
            scorer, list(documents), list(references), os.path.join(work_dir, "reference_scores.jsonl"), processes
        )
        positive_ratio = config.positive_ratio
    else:
        sample_scores = [[rouge_ensemble(s, ref, config.rouge_use_stemmer) for s in row] for row, ref in zip(samples, references)]
        reference_scores = [1.0] * len(documents)  # a reference against itself: every one is a candidate
        positive_ratio = 1.0
    pairs = select_pairs(sample_scores, reference_scores, config.negative_ratio, positive_ratio)
    dataset = Dataset.from_dict(
        {
            "index": [d for d, _ in pairs],
            "document": [documents[d] for d, _ in pairs],
            "positive": [references[d] for d, _ in pairs],
            "negative": [samples[d][j] for d, j in pairs],
            "positive_score": [reference_scores[d] for d, _ in pairs],
            "negative_score": [sample_scores[d][j] for d, j in pairs],
        }
    )
    if rank == 0:
        final, tmp = os.path.join(work_dir, "dataset"), os.path.join(work_dir, "dataset.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        dataset.save_to_disk(tmp)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
    logger.info("%d of %d documents selected (metric %s)", len(pairs), len(documents), config.metric)
    return dataset
