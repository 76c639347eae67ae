"""The QA format: how a QAGen checkpoint lays out sources and "question <sep> answer" targets.

The format travels with the checkpoint as ``qa_format.json`` beside ``config.json`` and is validated
against the tokenizer at load time, so a checkpoint trained with one convention is never scored with
another.
"""

from __future__ import annotations

import dataclasses
import json
import os
import typing
from dataclasses import dataclass
from typing import Any

FORMAT_FILE = "qa_format.json"
ARCHITECTURES = ("encoder-decoder", "prefix-lm")
# "qagen": source = text, target = question <sep> answer <eos> (QUALS).
# "question-generation": source = answer <sep> text, target = question <eos> (QAGS's answer-conditioned QG).
TASKS = ("qagen", "question-generation")
KINDS = {str: "a string", int: "an integer", type(None): "null"}  # how field types read in qa_format.json


class QAFormatError(ValueError):
    """A QA-format file is missing, malformed or inconsistent with its tokenizer."""


@dataclass(frozen=True)
class QAFormat:
    """Token conventions of one QAGen checkpoint.

    A target is ``tokens(question) + [separator] + tokens(answer) + [eos]``; the decoder is fed
    ``[decoder_start] + target[:-1]``. A source is ``[source_bos]? + tokens(text)[:max] + [source_eos]?``.
    With ``task="question-generation"`` the separator moves to the source (``answer [separator] text``)
    and the target is the question alone.
    """

    architecture: str
    separator_token: str
    eos_token: str
    decoder_start_token: str
    pad_token: str
    source_bos_token: str | None = None
    source_eos_token: str | None = None
    max_source_length: int = 1024
    max_target_length: int = 61
    description: str = ""
    task: str = "qagen"

    def validate(self, tokenizer: Any) -> "TokenIds":
        """Check every declared token against ``tokenizer``; return their ids or raise QAFormatError."""
        if self.architecture not in ARCHITECTURES:
            raise QAFormatError(
                f"qa_format.json: architecture={self.architecture!r} is not one of {ARCHITECTURES}; "
                "set it to 'encoder-decoder' for Hugging Face seq2seq models (BART, T5, bert2bert)."
            )
        if self.task not in TASKS:
            raise QAFormatError(f"qa_format.json: task={self.task!r} is not one of {TASKS}.")
        if self.max_source_length < 8 or self.max_target_length < 2:
            raise QAFormatError(
                "qa_format.json: max_source_length must be >= 8 and max_target_length >= 2 "
                f"(got {self.max_source_length}, {self.max_target_length})."
            )
        vocab = tokenizer.get_vocab()

        def token_id(field: str) -> int | None:
            token = getattr(self, field)
            if token is None:
                return None
            if token not in vocab:
                raise QAFormatError(
                    f"qa_format.json: {field}={token!r} is not a single token of this tokenizer "
                    f"({type(tokenizer).__name__}, {len(vocab)} tokens). Use a token from its vocabulary, "
                    "or add it with tokenizer.add_tokens() and resize the model's embeddings before training."
                )
            return vocab[token]

        ids = TokenIds(
            separator=token_id("separator_token"),
            eos=token_id("eos_token"),
            decoder_start=token_id("decoder_start_token"),
            pad=token_id("pad_token"),
            source_bos=token_id("source_bos_token"),
            source_eos=token_id("source_eos_token"),
        )
        if ids.separator in (ids.eos, ids.pad):
            raise QAFormatError(
                "qa_format.json: separator_token must differ from eos_token and pad_token, "
                "otherwise questions and answers cannot be told apart."
            )
        return ids

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def save(self, directory: str) -> str:
        """Write ``qa_format.json`` into ``directory`` atomically; return its path."""
        from .io_utils import atomic_write_text

        path = os.path.join(directory, FORMAT_FILE)
        atomic_write_text(path, json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any], origin: str = "qa_format.json") -> "QAFormat":
        """A format from the fields of ``data``; an unknown, missing or mistyped field is an error naming
        ``origin`` (the file) and the field."""
        if not isinstance(data, dict):
            raise QAFormatError(f"{origin}: expected a JSON object of fields, got {type(data).__name__}; see "
                                "quals.PRESETS['minilm-prefix-lm'].save(folder) for an example.")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise QAFormatError(f"{origin}: unknown field(s) {unknown}; known fields are {sorted(known)}.")
        required = {f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING}
        missing = sorted(required - set(data))
        if missing:
            raise QAFormatError(f"{origin}: missing field(s) {missing}.")
        for name, hint in typing.get_type_hints(cls).items():
            allowed = typing.get_args(hint) or (hint,)
            if name in data and (isinstance(data[name], bool) or not isinstance(data[name], allowed)):
                wanted = " or ".join(KINDS[kind] for kind in allowed)
                raise QAFormatError(f"{origin}: {name} must be {wanted}, got {json.dumps(data[name], default=repr)}.")
        return cls(**data)

    @classmethod
    def load(cls, directory: str) -> "QAFormat":
        """Read ``qa_format.json`` from a checkpoint folder, with a fix-it message when it is absent."""
        path = os.path.join(directory, FORMAT_FILE)
        if not os.path.isfile(path):
            raise QAFormatError(
                f"{directory!r} has no {FORMAT_FILE}. A QAGen checkpoint needs one beside config.json to say "
                "how questions and answers are laid out. Write one with quals.QAFormat(...).save(folder), "
                "or pass qa_format=quals.PRESETS['bart-large-reference'] for a checkpoint trained like the "
                "paper's."
            )
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except UnicodeDecodeError as e:
            raise QAFormatError(f"{path} is not UTF-8 text ({e.reason} at byte {e.start}); save it as UTF-8.") from e
        except json.JSONDecodeError as e:
            raise QAFormatError(f"{path} is not valid JSON: {e}") from e
        return cls.from_dict(data, origin=path)


@dataclass(frozen=True)
class TokenIds:
    """Ids of the format's tokens under one tokenizer (``None`` where the format declares no token)."""

    separator: int
    eos: int
    decoder_start: int
    pad: int
    source_bos: int | None
    source_eos: int | None

    def wrap_source(self, tokens: list[int]) -> list[int]:
        """A source's text tokens between the format's begin and end tokens (where it declares them)."""
        head = [self.source_bos] if self.source_bos is not None else []
        return head + list(tokens) + ([self.source_eos] if self.source_eos is not None else [])


PRESETS: dict[str, QAFormat] = {
    # The paper's fairseq BART-large QAGen: no <s> anywhere, decoder starts from </s>, separator is the
    # existing vocabulary token "ĠstrutConnector" (id 50259), as in the paper's released code.
    "bart-large-reference": QAFormat(
        architecture="encoder-decoder",
        separator_token="\u0120strutConnector",
        eos_token="</s>",
        decoder_start_token="</s>",
        pad_token="<pad>",
        source_bos_token=None,
        source_eos_token="</s>",
        max_source_length=1024,
        max_target_length=61,
        description="Reference QAGen format (Nan et al., 2021): BART-large, separator 'ĠstrutConnector'.",
    ),
    # The bundled MiniLM prefix-LM: BERT WordPiece conventions, the reserved token [unused0] as separator.
    "minilm-prefix-lm": QAFormat(
        architecture="prefix-lm",
        separator_token="[unused0]",
        eos_token="[SEP]",
        decoder_start_token="[CLS]",
        pad_token="[PAD]",
        source_bos_token="[CLS]",
        source_eos_token="[SEP]",
        max_source_length=448,
        max_target_length=61,
        description="QUALS MiniLM-L6 prefix-LM QAGen (one BERT, UniLM-style attention mask).",
    ),
}
# The bundled QAGS question generator: the same conventions, source "answer [unused0] text", target "question [SEP]".
PRESETS["minilm-prefix-lm-qg"] = dataclasses.replace(
    PRESETS["minilm-prefix-lm"],
    task="question-generation",
    description="QAGS MiniLM-L6 prefix-LM question generator (answer-conditioned).",
)
