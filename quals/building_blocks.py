"""The public parts of ``quals`` that code built on it uses: ``trainer_ext`` imports nothing else from ``quals``
(beside the package's own exports), and your own training or scoring scripts may rely on the same names.

- Models: ``QAFormat``, ``PRESETS``, ``TokenIds`` (a format's token ids), ``load_qagen_model``,
  ``resolve_model_path`` (bundled names, folders, Hub ids), ``bert2bert_from_base``, ``PrefixLMForQAGen``,
  ``weights_hash``.
- Decoding over any network (encoder-decoder or prefix-LM): ``as_network``, ``BeamConfig`` and
  ``diverse_beam_search``, ``sample_sequences`` (top-k sampling), ``NoRepeatNGram``.
- Metrics: ``METRICS``, ``get_metric`` (the registry), ``QualsSettings``, ``bigram_overlap`` and ``words``
  (the lexical baseline).
- Resumable corpus files: ``Rows``, ``score_corpus``, ``append_jsonl``, ``check_meta``, ``resume_point``,
  ``count_complete_lines``, ``merge_parts``, ``texts_sha256``, ``atomic_write_text``.
- Devices and processes: ``resolve_device``, ``Processes`` and ``processes()`` (Accelerate's ``PartialState``),
  ``close_processes()``; ``user_error`` (a command-line tool's one-line error and exit status).
- Packaging: ``lazy_exports`` (names of a package imported on first use).

Names import on first use (as the package's do), so importing this module loads no torch.
"""

from __future__ import annotations

from .lazy_exports import lazy_exports

_EXPORTS = {
    "QAFormat": "qa_format", "PRESETS": "qa_format", "TokenIds": "qa_format",
    "load_qagen_model": "qagen", "resolve_model_path": "qagen", "bert2bert_from_base": "qagen",
    "weights_hash": "qagen", "resolve_device": "qagen", "PrefixLMForQAGen": "prefix_lm",
    "as_network": "network", "BeamConfig": "generation", "diverse_beam_search": "generation",
    "sample_sequences": "sampling", "NoRepeatNGram": "constraints",
    "METRICS": "registry", "get_metric": "registry", "QualsSettings": "quals_settings",
    "bigram_overlap": "lexical", "words": "lexical",
    "Rows": "readers", "score_corpus": "corpus", "append_jsonl": "corpus", "check_meta": "corpus",
    "resume_point": "corpus", "count_complete_lines": "corpus", "merge_parts": "corpus", "texts_sha256": "corpus",
    "atomic_write_text": "io_utils", "Processes": "distributed", "processes": "distributed",
    "close_processes": "distributed", "user_error": "errors",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), modules_of="quals")

__all__ = [*_EXPORTS, "lazy_exports"]  # lazy_exports: the same first-use imports for a package built on quals
