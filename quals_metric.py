"""QUALS as an ``evaluate`` metric: a thin wrapper over ``quals.QualsScorer`` (and ``quals.QagsScorer``)."""

import hashlib
import os
import re

import datasets
import evaluate

import quals  # From: quals
import quals.inputs

_CITATION = """\
@inproceedings{nan-etal-2021-improving,
    title = "Improving Factual Consistency of Abstractive Summarization via Question Answering",
    author = "Nan, Feng and dos Santos, Cicero Nogueira and Zhu, Henghui and Ng, Patrick and
      McKeown, Kathleen and Nallapati, Ramesh and Zhang, Dejiao and Wang, Zhiguo and
      Arnold, Andrew O. and Xiang, Bing",
    booktitle = "Proceedings of ACL-IJCNLP 2021",
    year = "2021",
    url = "https://arxiv.org/abs/2105.04623",
}
"""

_DESCRIPTION = """\
QUALS (QUestion Answering with Language model score for Summarization) measures how consistent a summary
is with its source document, using one question-and-answer generation model (QAGen).

From the summary, QAGen generates about 60 "question <sep> answer" sequences by diverse beam search; the
pairs whose answer occurs in the summary are kept (at most 10, diverse answers first). Each kept pair is
scored twice with teacher forcing: its mean per-token log-likelihood given the source and given the
summary. QUALS is the mean over the kept pairs of (log-likelihood given source - log-likelihood given
summary).

Reading the score: it is a log-likelihood difference in nats per token, usually negative. Higher (towards 0
or above) means the source supports the summary's facts as well as the summary itself does; a strongly
negative score means questions whose answers are in the summary are unlikely given the source, a sign of
hallucinated or altered facts. Scores are comparable only under the same signature (model and settings).
A summary from which no pair survives has no score (None) and is left out of the mean; `coverage` says
what fraction was scored.

The QAGS baseline (Wang et al., 2020: answer extraction, question generation, question answering on
summary and source, token F1 between the answers, in [0, 1]) is available from the same module with
`metric="qags"`, for side-by-side comparisons.

Limitations: the default QAGen bundled with this package is a small MiniLM-L6 prefix-LM (22.7 M parameters)
trained on SQuAD v1.1 on one GPU; on the QAGS-C human judgments its QUALS reaches Pearson 0.555, level with
QAGS's reported 0.545 but below simple bigram overlap (0.668) on that mostly extractive set, and on FRANK's
validation split Pearson 0.727 against bigram overlap's 0.772 (0.154 against 0.215 within systems). The
paper's QAGen is BART-large; see the model card and BENCHMARKS.md.
English only. Sources longer than the model's limit are read in overlapping windows, each pair scored on its
best window (`long_source="truncate"` keeps the first window only, as the paper's code does). QUALS rewards
extractive summaries; it does not judge fluency or coverage.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `str`): the summaries to score.
    sources (`list` of `str`): the source document of each summary (same length as `predictions`).
    return_qa_pairs (`bool`, default False): also return the kept QA pairs with per-token log-probabilities.
    Any other keyword is a `quals.QualsScorer` setting: num_beams (60), num_beam_groups (60),
        diversity_penalty (0.5), min_new_tokens (8), max_new_tokens (60), length_penalty (1.0),
        max_qa_pairs (10), cap ("strict" or "reference"), ns_mode ("rescore" or "beam"),
        answer_constraint ("none" or "span"), batch_size (8), max_source_length,
        long_source ("windows" or "truncate"), device, dtype.
    The checkpoint is chosen with the config name: `evaluate.load(quals.metric_path(), "path/or/hub-id")`; the default
    is the QAGen bundled with the package.
    metric (`str`, default "quals"): "qags" computes the QAGS baseline instead; its settings are
        `quals.QagsScorer` arguments (qg_model, qa_model, extractor, num_beams, max_questions, match_f1...).

Returns:
    quals (`list` of `float` or None): QUALS per summary; None when no QA pair survived.
    mean_quals (`float` or None): mean over scored summaries.
    num_qa_pairs (`list` of `int`): kept pairs per summary.
    skipped (`list` of `str` or None): why a summary has no score ("no pair survived the filter", "summary has
        no words the model knows"); None where it has one.
    coverage (`float`): fraction of summaries with a score.
    signature (`str`): model (with a hash of its weights), settings and library versions.
    qa_pairs (`list` of `list` of `dict`): only with return_qa_pairs=True.
    With metric="qags": qags, mean_qags, num_questions, skipped, coverage, signature (and questions).
    A setting of the wrong type or value (num_beams="4", length_penalty=float("nan")) is refused, naming it,
    before any model loads.

Examples:
    >>> quals_metric = evaluate.load(quals.metric_path())  # doctest: +SKIP
    >>> results = quals_metric.compute(
    ...     predictions=["The bridge will cost 14 million dollars."],
    ...     sources=["The council approved a 14 million dollar plan to rebuild the bridge."],
    ... )  # doctest: +SKIP
    >>> sorted(results)  # doctest: +SKIP
    ['coverage', 'mean_quals', 'num_qa_pairs', 'quals', 'signature', 'skipped']
"""


def _as_list(rows):
    """numpy arrays and pandas Series as lists, so that every row can be checked; anything else unchanged."""
    return rows.tolist() if hasattr(rows, "tolist") else rows


_QAGENS = {}
_QAGS_SCORERS = {}


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Quals(evaluate.Metric):
    """QUALS factual-consistency metric (Nan et al., 2021)."""

    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("string"), "sources": datasets.Value("string")}),
            reference_urls=["https://arxiv.org/abs/2105.04623"],
        )

    def add_batch(self, *, predictions=None, references=None, **kwargs):
        """Check every row before ``evaluate`` stores it: it type-checks only the first and str()s the rest."""
        if "sources" in kwargs:  # else evaluate names the missing or misspelt input
            predictions, kwargs["sources"] = _as_list(predictions), _as_list(kwargs["sources"])
            quals.inputs.validate_pairs(kwargs["sources"], predictions, names=("sources", "predictions"))
        return super().add_batch(predictions=predictions, references=references, **kwargs)

    def add(self, *, prediction=None, reference=None, **kwargs):
        """One row, checked like ``add_batch``."""
        if "sources" in kwargs:
            quals.inputs.validate_pairs([kwargs["sources"]], [prediction], names=("sources", "predictions"))
        return super().add(prediction=prediction, reference=reference, **kwargs)

    def compute(self, *, predictions=None, references=None, **kwargs):
        """Refuse ``model=`` before ``evaluate`` stores anything: the QAGen is chosen by the config name."""
        if "model" in kwargs:
            raise ValueError(
                "model= is not a compute() argument: the QAGen is the config name, "
                f"evaluate.load(quals.metric_path(), {kwargs['model']!r})."
            )
        return super().compute(predictions=predictions, references=references, **kwargs)

    def _build_data_dir(self):
        """evaluate caches rows under <cache>/<name>/<config name>; our config name is a checkpoint path, and an
        absolute one would put the cache inside the model folder. A flat, hashed folder name instead."""
        digest = hashlib.sha256(self.config_name.encode()).hexdigest()[:12]
        readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", os.path.basename(self.config_name.rstrip("/")))[-40:]
        folder = os.path.join(self._data_dir_root, self.name, f"{readable}-{digest}")
        os.makedirs(folder, exist_ok=True)
        return folder

    def _model_name(self):
        return "bundled" if self.config_name in (None, "default") else self.config_name

    def _scorer(self, settings):
        """A scorer over a QAGen cached on the module: each checkpoint loads once per process, its settings
        checked first."""
        quals.QualsScorer.check_settings(settings)
        device, dtype = settings.pop("device", None), settings.pop("dtype", None)
        key = (self._model_name(), device, str(dtype))
        if key not in _QAGENS:
            _QAGENS[key] = quals.QAGen.from_pretrained(self._model_name(), device=device, dtype=dtype)
        return quals.QualsScorer(model=_QAGENS[key], **settings)

    def _compute(self, predictions, sources, return_qa_pairs=False, metric="quals", **settings):
        if metric not in ("quals", "qags"):
            raise ValueError(f"metric={metric!r}: use 'quals' or 'qags'.")
        if metric == "qags":
            if self._model_name() != "bundled":
                raise ValueError(
                    f"The config name {self.config_name!r} selects a QAGen, which metric='qags' does not use; load the "
                    "metric without it and pass qg_model=... and qa_model=... to compute()."
                )
            quals.QagsScorer.check_settings(settings)
            key = tuple(sorted(settings.items()))
            if key not in _QAGS_SCORERS:  # three models: load once per process and settings
                _QAGS_SCORERS[key] = quals.QagsScorer(**settings)
            scorer = _QAGS_SCORERS[key]
        else:
            scorer = self._scorer(settings)
        results = scorer.score(sources, predictions, return_qa_pairs)
        summary = quals.corpus_summary(results, metric)
        output = {
            metric: [getattr(r, metric) for r in results],
            f"mean_{metric}": summary[f"mean_{metric}"],
            scorer.count_name: [getattr(r, scorer.count_name) for r in results],
            "skipped": [r.skipped for r in results],
            "coverage": summary["coverage"],
            "signature": scorer.signature(),
        }
        if return_qa_pairs:
            details = "qa_pairs" if metric == "quals" else "questions"
            output[details] = [r.to_dict()[details] for r in results]
        return output
