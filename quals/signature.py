"""Reproducibility signatures in the spirit of sacrebleu: every setting that can change a score."""

from __future__ import annotations

from typing import Any


def versions() -> dict[str, str]:
    import torch
    import transformers

    from . import __version__

    return {"quals": __version__, "torch": torch.__version__.split("+")[0], "transformers": transformers.__version__}


def make_signature(scorer: Any) -> str:
    """``key:value`` fields joined by ``|``; two runs with equal signatures give equal scores."""
    qagen, beam = scorer.qagen, scorer.beam
    fields = [
        ("model", f"{qagen.name}#{qagen.weights_sha256[:12]}"),
        ("arch", qagen.format.architecture),
        ("beams", beam.num_beams),
        ("groups", beam.num_groups),
        ("div", beam.diversity_penalty),
        ("new", f"{beam.min_new_tokens}-{beam.max_new_tokens}"),
        ("lenpen", beam.length_penalty),
        ("pairs", scorer.max_qa_pairs),
        ("cap", scorer.cap),
        ("ns", scorer.ns_mode),
        ("answer", scorer.answer_constraint),
        ("src", scorer.max_source_length),
        ("long", scorer.long_source),
        ("dtype", str(qagen.dtype).replace("torch.", "")),
        ("device", qagen.device.type),
    ]
    return format_signature("QUALS", fields)


def format_signature(metric: str, fields: list[tuple[str, Any]]) -> str:
    """``METRIC|key:value|...`` with the library versions appended."""
    fields = fields + list(versions().items())
    return metric + "|" + "|".join(f"{k}:{v}" for k, v in fields)
