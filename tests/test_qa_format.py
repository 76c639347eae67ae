"""The QA-format file: validated at load time, with messages that say how to fix it."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
import torch

import quals
from quals.qa_format import QAFormat, QAFormatError
from tiny import TINY_FORMAT, tiny_prefix_lm, tiny_tokenizer


def test_round_trip_and_presets(tmp_path):
    TINY_FORMAT.save(str(tmp_path))
    assert QAFormat.load(str(tmp_path)) == TINY_FORMAT
    assert quals.PRESETS["bart-large-reference"].separator_token == "\u0120strutConnector"


def test_missing_file_says_how_to_write_one(tmp_path):
    with pytest.raises(QAFormatError, match=r"no qa_format.json.*QAFormat\(\.\.\.\)\.save"):
        QAFormat.load(str(tmp_path))


@pytest.mark.parametrize(
    "change,message",
    [
        ({"separator_token": "<sep>"}, "separator_token='<sep>' is not a single token"),
        ({"architecture": "decoder-only"}, "architecture='decoder-only'"),
        ({"separator_token": "[SEP]"}, "must differ from eos_token"),
        ({"max_source_length": 4}, "max_source_length must be >= 8"),
    ],
)
def test_inconsistent_format_fails_at_load(tmp_path, change, message):
    folder = tiny_prefix_lm(str(tmp_path / "m"), fmt=dataclasses.replace(TINY_FORMAT, **change))
    with pytest.raises(QAFormatError, match=message):
        quals.QAGen.from_pretrained(folder)


def test_unknown_and_missing_fields_are_named(tmp_path):
    data = {**TINY_FORMAT.to_dict(), "sep": "x"}
    (tmp_path / "qa_format.json").write_text(json.dumps(data))
    with pytest.raises(QAFormatError, match=r"unknown field\(s\) \['sep'\]"):
        QAFormat.load(str(tmp_path))
    data = TINY_FORMAT.to_dict()
    del data["eos_token"]
    (tmp_path / "qa_format.json").write_text(json.dumps(data))
    with pytest.raises(QAFormatError, match=r"missing field\(s\) \['eos_token'\]"):
        QAFormat.load(str(tmp_path))


@pytest.mark.parametrize(
    "content,message",
    [
        (json.dumps({**TINY_FORMAT.to_dict(), "max_source_length": "448"}).encode(), 'max_source_length must be an integer, got "448"'),
        (json.dumps({**TINY_FORMAT.to_dict(), "max_target_length": True}).encode(), "max_target_length must be an integer, got true"),
        (json.dumps({**TINY_FORMAT.to_dict(), "separator_token": None}).encode(), "separator_token must be a string, got null"),
        (json.dumps({**TINY_FORMAT.to_dict(), "source_bos_token": 5}).encode(), "source_bos_token must be a string or null, got 5"),
        (json.dumps([TINY_FORMAT.to_dict()]).encode(), "expected a JSON object of fields, got list"),
        ('{"description": "caf\u00e9"}'.encode("latin-1"), "is not UTF-8 text (invalid continuation byte at byte 20); save it as UTF-8"),
    ],
)
def test_a_malformed_file_is_one_error_naming_the_file_and_the_field(tmp_path, content, message):
    path = tmp_path / "qa_format.json"
    path.write_bytes(content)
    with pytest.raises(QAFormatError, match=re.escape(message)) as caught:
        QAFormat.load(str(tmp_path))
    assert str(caught.value).startswith(str(path))


def test_out_of_memory_halves_the_batch(tmp_path):
    tiny_tokenizer(str(tmp_path))
    qagen = quals.QAGen.from_pretrained(tiny_prefix_lm(str(tmp_path / "m")))
    seen = []

    def work(chunk):
        seen.append((chunk.start, chunk.stop))
        if chunk.stop - chunk.start > 2:
            raise torch.OutOfMemoryError("fake")
        return list(range(chunk.start, chunk.stop))

    assert qagen.with_oom_backoff(work, 5) == [0, 1, 2, 3, 4]
    assert seen == [(0, 5), (0, 2), (2, 5), (2, 3), (3, 5)]
