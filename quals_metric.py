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
A QAGen may ship a calibration (`calibration.json`: score quantiles of faithful summaries and of twins with
one fact changed); with `return_percentiles=True` each score comes with where it falls among those faithful
summaries, which reads the same whatever the model's scale.
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
    return_qa_pairs (`bool`, default False): also return the details: the kept QA pairs with per-token
        log-probabilities (with metric="qags": the questions and their answers).
    return_percentiles (`bool`, default False): also return `faithful_percentile`, where each score falls among
        the faithful summaries of the QAGen's calibration set (its `calibration.json`); an error when the QAGen has
        none measured with these settings.
    metric (`str`, default "quals"): a metric of `quals.registry`: "quals", or "qags" for the QAGS baseline.
    The checkpoint is chosen with the config name: `evaluate.load(quals.metric_path(), "path/or/hub-id")`; the default
    is the QAGen bundled with the package. Any other keyword is a setting of the metric (`quals.QualsSettings`):
{quals_settings}
    With metric="qags" the settings are `quals.QagsSettings`:
{qags_settings}

Returns:
    quals (`list` of `float` or None): QUALS per summary; None when no QA pair survived.
    mean_quals (`float` or None): mean over scored summaries.
    num_qa_pairs (`list` of `int`): kept pairs per summary.
    skipped (`list` of `str` or None): why a summary has no score ("no pair survived the filter", "summary has
        no words the model knows"); None where it has one.
    coverage (`float`): fraction of summaries with a score.
    signature (`str`): model (with a hash of its weights), settings and library versions.
    qa_pairs (`list` of `list` of `dict`): only with return_qa_pairs=True.
    faithful_percentile (`list` of `float` or None): only with return_percentiles=True: the share (0 to 100) of the
        calibration set's faithful summaries that score lower, e.g. 4.0 = lower than 96% of faithful summaries.
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
""".format(
    quals_settings=quals.QualsSettings.card_lines(indent="        "),
    qags_settings=quals.QagsSettings.card_lines(indent="        "),
)


def _as_list(rows):
    """numpy arrays and pandas Series as lists, so that every row can be checked; anything else unchanged."""
    return rows.tolist() if hasattr(rows, "tolist") else rows


_SCORERS = {}  # (metric, config name) -> (settings, scorer): the last scorer of each, its models loaded once


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
        """Refuse the metric's model setting (``model=``) before ``evaluate`` stores anything: the QAGen is
        chosen by the config name."""
        model_setting = quals.get_metric(kwargs.get("metric", "quals")).model_setting
        if model_setting in kwargs:
            raise ValueError(
                f"{model_setting}= is not a compute() argument: the QAGen is the config name, "
                f"evaluate.load(quals.metric_path(), {kwargs[model_setting]!r})."
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
        return None if self.config_name in (None, "default") else self.config_name

    def _scorer(self, spec, settings):
        """The scorer for ``settings`` (checked first, before any model loads); the config name, when given, is
        the metric's model setting. Kept on the module: the next call with equal settings loads nothing."""
        model = self._model_name()
        if model is not None:
            if spec.model_setting is None:
                models = [name for name in spec.settings.to_names() if name.endswith("model")]
                raise ValueError(
                    f"The config name {self.config_name!r} selects a QAGen, which metric={spec.name!r} does not use; load "
                    f"the metric without it and pass {' and '.join(f'{name}=...' for name in models)} to compute()."
                )
            settings = {**settings, spec.model_setting: model}
        checked = spec.settings.from_mapping(settings)
        key = (spec.name, model)
        if key not in _SCORERS or _SCORERS[key][0] != checked:
            _SCORERS.pop(key, None)  # free the old models before loading new ones
            _SCORERS[key] = (checked, spec.build(checked))
        return _SCORERS[key][1]

    def _compute(self, predictions, sources, return_qa_pairs=False, return_percentiles=False, metric="quals", **settings):
        spec = quals.get_metric(metric)
        if return_percentiles and spec.name != "quals":
            raise ValueError(f"return_percentiles=True is for metric='quals' (a QAGen's calibration), not {spec.name!r}.")
        scorer = self._scorer(spec, settings)
        calibration = getattr(scorer, "calibration", None)
        if return_percentiles and calibration is None:
            raise ValueError(
                "return_percentiles=True needs a calibration of this QAGen measured with these settings and dtype "
                "(calibration.json in the model folder, written by benchmarks/calibrate.py); the bundled QAGen has one "
                "for its default settings in float32."
            )
        results = scorer.score(sources, predictions, return_qa_pairs)
        summary = quals.corpus_summary(results, spec.name)
        output = {
            spec.name: [getattr(r, spec.name) for r in results],
            f"mean_{spec.name}": summary[f"mean_{spec.name}"],
            spec.count_key: [getattr(r, spec.count_key) for r in results],
            "skipped": [r.skipped for r in results],
            "coverage": summary["coverage"],
            "signature": scorer.signature(),
        }
        if return_qa_pairs:
            output[spec.details_key] = [r.to_dict()[spec.details_key] for r in results]
        if return_percentiles:
            values = output[spec.name]
            output["faithful_percentile"] = [None if v is None else calibration.faithful_percentile(v) for v in values]
        return output
