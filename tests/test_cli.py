"""``quals score``: formats, bad rows, kill-and-resume byte equality, and a 2-process run."""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import typing

import pytest

from quals.cli import main
from quals.corpus import output_signature
from quals.readers import read_rows

FLAGS = ["--num-beams", "6", "--num-beam-groups", "6", "--min-new-tokens", "3", "--max-new-tokens", "10", "--quiet"]
FACTS = [("alice", "paris"), ("bob", "rome"), ("carol", "berlin"), ("dave", "madrid"), ("erin", "london"), ("frank", "paris")]


def _rows(n=12):
    rows = []
    for i in range(n):
        name, city = FACTS[i % len(FACTS)]
        other = FACTS[(i + 1) % len(FACTS)][1]
        source = f"{name} was born in {city} . the team played in {other} ."
        summary = f"{name} was born in {city if i % 2 == 0 else other} ."
        rows.append({"source": source, "summary": summary})
    return rows


def _write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


def _cmd(model, inp, out, extra=()):
    return ["score", "--input", str(inp), "--output", str(out), "--model", model, *FLAGS, *extra]


def test_jsonl_csv_and_text_inputs_agree(trained_qagen_dir, tmp_path):
    rows = _rows(4)
    _write_jsonl(tmp_path / "in.jsonl", [{"doc": r["source"], "summ": r["summary"]} for r in rows])
    (tmp_path / "src.txt").write_text("\n".join(r["source"] for r in rows) + "\n")
    (tmp_path / "sum.txt").write_text("\n".join(r["summary"] for r in rows) + "\n")
    import csv

    with open(tmp_path / "in.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["source", "summary"])
        w.writeheader()
        w.writerows(rows)
    assert main(_cmd(trained_qagen_dir, tmp_path / "in.jsonl", tmp_path / "a.jsonl", ["--source-column", "doc", "--summary-column", "summ"])) == 0
    assert main(_cmd(trained_qagen_dir, tmp_path / "in.csv", tmp_path / "b.jsonl")) == 0
    assert main(["score", "--sources", str(tmp_path / "src.txt"), "--summaries", str(tmp_path / "sum.txt"),
                 "--output", str(tmp_path / "c.jsonl"), "--model", trained_qagen_dir, *FLAGS]) == 0
    a, b, c = ((tmp_path / n).read_bytes() for n in ("a.jsonl", "b.jsonl", "c.jsonl"))
    assert a == b == c
    records = [json.loads(line) for line in a.splitlines()]
    assert [r["index"] for r in records] == [0, 1, 2, 3]
    assert all(r["quals"] is not None and "signature" not in r for r in records)  # once per file, beside it
    assert output_signature(str(tmp_path / "a.jsonl")) == output_signature(str(tmp_path / "c.jsonl"))
    assert output_signature(str(tmp_path / "a.jsonl")).startswith("QUALS|model:")


def test_text_lines_end_only_at_newline(trained_qagen_dir, tmp_path):
    # Separators that str.splitlines honours, inside lines: each row must stay one row, paired as written.
    separators = ["\u2028", "\u2029\x85\x0c", "\x0b\x1c\x1d\x1e\r"]
    rows = [{"source": r["source"].replace(" . ", f" .{sep} "), "summary": r["summary"].replace(" was", f"{sep} was")}
            for r, sep in zip(_rows(3), separators)]
    (tmp_path / "src.txt").write_bytes("".join(r["source"] + "\r\n" for r in rows).encode())  # CRLF
    (tmp_path / "sum.txt").write_bytes("\n".join(r["summary"] for r in rows).encode())  # no final newline
    read = read_rows(sources_path=str(tmp_path / "src.txt"), summaries_path=str(tmp_path / "sum.txt"))
    assert read.sources == [r["source"] for r in rows] and read.summaries == [r["summary"] for r in rows]
    _write_jsonl(tmp_path / "in.jsonl", rows)
    assert main(_cmd(trained_qagen_dir, tmp_path / "in.jsonl", tmp_path / "a.jsonl")) == 0
    assert main(["score", "--sources", str(tmp_path / "src.txt"), "--summaries", str(tmp_path / "sum.txt"),
                 "--output", str(tmp_path / "b.jsonl"), "--model", trained_qagen_dir, *FLAGS]) == 0
    records = [json.loads(line) for line in open(tmp_path / "b.jsonl", encoding="utf-8")]
    assert [r["index"] for r in records] == [0, 1, 2]
    assert (tmp_path / "b.jsonl").read_bytes() == (tmp_path / "a.jsonl").read_bytes()  # same rows, same pairing


def test_output_that_is_an_input_or_no_regular_file_is_refused_before_the_model_loads(tmp_path, capsys):
    _write_jsonl(tmp_path / "in.jsonl", _rows(2))
    original = (tmp_path / "in.jsonl").read_bytes()
    (tmp_path / "link.jsonl").symlink_to(tmp_path / "in.jsonl")
    os.link(tmp_path / "in.jsonl", tmp_path / "hard.jsonl")
    no_model = str(tmp_path / "no-model")  # loading it would fail: the checks must come first
    for output in ("in.jsonl", "link.jsonl", "hard.jsonl"):
        assert main(_cmd(no_model, tmp_path / "in.jsonl", tmp_path / output, ["--overwrite"])) == 2
        assert f"error: --output {tmp_path / output} is the input file {tmp_path / 'in.jsonl'}; choose another --output" in capsys.readouterr().err
    (tmp_path / "sum.txt").write_text("alice was born in paris .\n")
    assert main(["score", "--sources", str(tmp_path / "sum.txt"), "--summaries", str(tmp_path / "sum.txt"),
                 "--output", str(tmp_path / "sum.txt"), "--model", no_model, "--overwrite"]) == 2
    assert "is the input file" in capsys.readouterr().err
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "folder").mkdir()
    for output in (tmp_path / "fifo", tmp_path / "folder", os.devnull):
        assert main(_cmd(no_model, tmp_path / "in.jsonl", output, ["--overwrite"])) == 2
        assert f"error: --output {output} exists and is not a regular file; choose" in capsys.readouterr().err
    assert (tmp_path / "in.jsonl").read_bytes() == original and (tmp_path / "hard.jsonl").read_bytes() == original
    assert os.path.islink(tmp_path / "link.jsonl") and os.path.exists(os.devnull)
    assert stat.S_ISFIFO(os.stat(tmp_path / "fifo").st_mode) and (tmp_path / "folder").is_dir()


def test_unwritable_outputs_are_refused_before_the_model_loads(tmp_path, capsys, monkeypatch):
    _write_jsonl(tmp_path / "in.jsonl", _rows(2))
    no_model = str(tmp_path / "no-model")  # loading it would fail: the checks must come first
    (tmp_path / "file.txt").write_text("a file\n")
    assert main(_cmd(no_model, tmp_path / "in.jsonl", tmp_path / "file.txt" / "sub" / "out.jsonl")) == 2
    assert f"error: --output {tmp_path}/file.txt/sub/out.jsonl: {tmp_path / 'file.txt'} is a file, not a folder" in capsys.readouterr().err
    (tmp_path / "locked").mkdir()
    (tmp_path / "old.jsonl").write_text("")
    real_access = os.access  # root may write anywhere: the test tells the check what a user's chmod would
    denied = {str(tmp_path / "locked"): os.W_OK | os.X_OK, str(tmp_path / "old.jsonl"): os.W_OK}
    monkeypatch.setattr(os, "access", lambda path, mode: mode != denied.get(str(path)) and real_access(path, mode))
    assert main(_cmd(no_model, tmp_path / "in.jsonl", tmp_path / "locked" / "new" / "out.jsonl")) == 2
    assert f"the folder {tmp_path / 'locked'} is not writable; make it writable, or choose another --output" in capsys.readouterr().err
    assert not (tmp_path / "locked" / "new").exists()
    assert main(_cmd(no_model, tmp_path / "in.jsonl", tmp_path / "old.jsonl")) == 2
    assert (f"error: --output {tmp_path / 'old.jsonl'} is read-only and this run would append to it; make it writable "
            f"(chmod u+w {tmp_path / 'old.jsonl'}), pass --overwrite") in capsys.readouterr().err
    assert main(_cmd(no_model, tmp_path / "in.jsonl", tmp_path / "new" / "deeper" / "out.jsonl")) == 2  # folders are made
    assert "model=" in capsys.readouterr().err and (tmp_path / "new" / "deeper").is_dir()


def test_a_full_disk_and_a_pickle_only_model_are_one_line_errors(trained_qagen_dir, tmp_path, capsys, monkeypatch):
    _write_jsonl(tmp_path / "in.jsonl", _rows(2))
    out = tmp_path / "out.jsonl"
    real_fsync = os.fsync

    def full_disk(fd):
        if os.readlink(f"/proc/self/fd/{fd}") == str(out):  # only the results: the run gets that far
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full_disk)
    assert main(_cmd(trained_qagen_dir, tmp_path / "in.jsonl", out)) == 2
    err = capsys.readouterr().err
    assert f"quals score: error: {out}: No space left on device; check the path, its permissions and the free disk space." in err
    assert "Traceback" not in err and not (tmp_path / "out.jsonl.lock").exists()
    monkeypatch.setattr(os, "fsync", real_fsync)
    pickled = tmp_path / "pickled"
    shutil.copytree(trained_qagen_dir, pickled)
    os.replace(pickled / "model.safetensors", pickled / "pytorch_model.bin")  # never unpickled: refused first
    assert main(_cmd(str(pickled), tmp_path / "in.jsonl", tmp_path / "p.jsonl")) == 2
    assert f"error: model='{pickled}': {pickled} holds only pickle weights (pytorch_model.bin)" in capsys.readouterr().err


def test_second_run_on_one_output_is_refused_naming_the_lock(trained_qagen_dir, tmp_path):
    # The first run reads its rows from a FIFO: it holds the lock until the test writes them.
    os.mkfifo(tmp_path / "slow.jsonl")
    _write_jsonl(tmp_path / "in.jsonl", _rows(3))
    out, lock = tmp_path / "out.jsonl", tmp_path / "out.jsonl.lock"
    first = _run(_cmd(trained_qagen_dir, tmp_path / "slow.jsonl", out))
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not lock.exists() and first.poll() is None:
            time.sleep(0.05)
        assert lock.exists() and first.poll() is None
        second = _run(_cmd(trained_qagen_dir, tmp_path / "in.jsonl", out), stderr=subprocess.PIPE, text=True)
        assert second.wait(timeout=300) == 2
        assert f"process {first.pid} on {socket.gethostname()} holds {lock}" in second.stderr.read()
        fd = os.open(tmp_path / "slow.jsonl", os.O_WRONLY | os.O_NONBLOCK)  # the first run is reading it
        os.write(fd, (tmp_path / "in.jsonl").read_bytes())
        os.close(fd)
        assert first.wait(timeout=300) == 0
    finally:
        if first.poll() is None:  # a failed check must not leave it waiting on the FIFO
            first.kill()
            first.wait()
    assert out.read_text().count("\n") == 3 and not lock.exists()


def test_lock_is_released_on_errors_and_a_stale_one_taken_over(trained_qagen_dir, tmp_path, capsys, caplog):
    _write_jsonl(tmp_path / "in.jsonl", _rows(2))
    out, lock = tmp_path / "out.jsonl", tmp_path / "out.jsonl.lock"
    (tmp_path / "bad.jsonl").write_text('{"document": "x", "summary": "y"}\n')
    assert main(_cmd(trained_qagen_dir, tmp_path / "bad.jsonl", out)) == 2
    assert not lock.exists()
    dead = subprocess.Popen([sys.executable, "-c", ""])
    dead.wait()
    lock.write_text(f"{dead.pid} {socket.gethostname()}\n")
    assert main(_cmd(trained_qagen_dir, tmp_path / "in.jsonl", out)) == 0
    assert f"{lock} was left by process {dead.pid}, which no longer runs; taking it over" in caplog.text
    assert out.read_text().count("\n") == 2 and not lock.exists()
    lock.write_text(f"{dead.pid} another-host\n")  # a process elsewhere cannot be checked: the lock stands
    assert main(_cmd(trained_qagen_dir, tmp_path / "in.jsonl", out)) == 2
    assert f"process {dead.pid} on another-host holds {lock}" in capsys.readouterr().err and lock.exists()


def test_output_with_more_records_than_rows_is_refused(trained_qagen_dir, tmp_path, capsys):
    _write_jsonl(tmp_path / "in.jsonl", _rows(2))
    out = tmp_path / "out.jsonl"
    assert main(_cmd(trained_qagen_dir, tmp_path / "in.jsonl", out)) == 0
    out.write_text(out.read_text() * 2)  # what two runs appending to one output leave
    assert main(_cmd(trained_qagen_dir, tmp_path / "in.jsonl", out)) == 2
    assert f"{out} holds 4 records but the input has 2 rows" in capsys.readouterr().err
    assert main(_cmd(trained_qagen_dir, tmp_path / "in.jsonl", out, ["--overwrite"])) == 0
    assert out.read_text().count("\n") == 2


def test_bad_rows_get_errors_and_never_cost_others_their_scores(trained_qagen_dir, tmp_path, capsys):
    rows = _rows(3)
    rows.insert(1, {"source": rows[0]["source"], "summary": "   "})
    rows.insert(2, {"source": 42, "summary": "alice was born in paris ."})
    _write_jsonl(tmp_path / "in.jsonl", rows)
    assert main(_cmd(trained_qagen_dir, tmp_path / "in.jsonl", tmp_path / "out.jsonl")) == 0
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert "summaries[1] is empty" in records[1]["error"]
    assert "sources[2] is int" in records[2]["error"]
    assert all(records[i]["quals"] is not None and records[i]["error"] is None for i in (0, 3, 4))
    assert "coverage 0.600 (3/5 scored, 0 without QA pairs, 2 errors)" in capsys.readouterr().err


def test_rows_without_readable_text_get_errors_and_rows_without_words_a_reason(trained_qagen_dir, tmp_path, capsys):
    rows = _rows(2)
    rows.insert(1, {"source": rows[0]["source"], "summary": "🎉🎉"})
    rows.insert(2, {"source": "\u200b\u200d", "summary": "alice was born in paris ."})
    rows.append({"source": rows[0]["source"], "summary": ". ?"})
    _write_jsonl(tmp_path / "in.jsonl", rows)
    assert main(_cmd(trained_qagen_dir, tmp_path / "in.jsonl", tmp_path / "out.jsonl")) == 0
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert "summaries[1] has no character the model knows" in records[1]["error"]
    assert "sources[2] has no text the model reads" in records[2]["error"]
    assert records[4]["quals"] is None and records[4]["skipped"] == "summary has no words the model knows"
    assert all(records[i]["quals"] is not None and records[i]["skipped"] is None for i in (0, 3))
    assert "coverage 0.400 (2/5 scored, 1 without QA pairs, 2 errors)" in capsys.readouterr().err


def test_input_files_in_other_encodings_or_shapes_are_named(tmp_path, capsys):
    no_model = str(tmp_path / "no-model")  # every problem below is found before the model would load
    (tmp_path / "src.txt").write_text("alice was born in paris .\nbob was born in rome .\n")
    (tmp_path / "sum.txt").write_bytes("alice was born in paris .\nbob was born in méxico .\n".encode("latin-1"))
    assert main(["score", "--sources", str(tmp_path / "src.txt"), "--summaries", str(tmp_path / "sum.txt"),
                 "--output", str(tmp_path / "out.jsonl"), "--model", no_model]) == 2
    assert (f"error: {tmp_path / 'sum.txt'}:2: byte 0xe9 is not UTF-8 (the file has another encoding, such as Latin-1); "
            f"save it as UTF-8, e.g. iconv -f latin1 -t utf-8 {tmp_path / 'sum.txt'} > utf8-sum.txt") in capsys.readouterr().err
    (tmp_path / "short.csv").write_text("source,summary\nalice was born in paris .,alice was born in paris .\nbob was born in rome .\n")
    assert main(_cmd(no_model, tmp_path / "short.csv", tmp_path / "out.jsonl")) == 2
    assert "short.csv:3: the row is missing the column 'summary' (it has fewer fields than the header" in capsys.readouterr().err
    (tmp_path / "rows.json").write_text(json.dumps(_rows(2), indent=2))
    assert main(_cmd(no_model, tmp_path / "rows.json", tmp_path / "out.jsonl")) == 2
    assert "rows.json holds a JSON array; --input takes JSON Lines, one object per line: convert it (jq -c '.[]'" in capsys.readouterr().err
    (tmp_path / "bom.jsonl").write_text("\ufeff" + json.dumps(_rows(1)[0]) + "\n", encoding="utf-8")
    assert read_rows(str(tmp_path / "bom.jsonl")).sources == [_rows(1)[0]["source"]]  # accepted, as CSV accepts it


def test_other_input_columns_are_kept_so_results_join_back(trained_qagen_dir, tmp_path, capsys, caplog):
    rows = [{"id": f"doc-{i}", "system": "s2s", **r} for i, r in enumerate(_rows(3))]
    _write_jsonl(tmp_path / "in.jsonl", rows)
    common = ["score", "--input", str(tmp_path / "in.jsonl"), "--model", trained_qagen_dir, *FLAGS]
    assert main([*common, "--output", str(tmp_path / "all.jsonl")]) == 0
    records = [json.loads(line) for line in open(tmp_path / "all.jsonl")]
    assert [(r["index"], r["id"], r["system"]) for r in records] == [(i, f"doc-{i}", "s2s") for i in range(3)]
    assert list(records[0])[:3] == ["index", "id", "system"] and "source" not in records[0]
    assert main([*common, "--output", str(tmp_path / "id.jsonl"), "--keep-columns", "id"]) == 0
    kept = [json.loads(line) for line in open(tmp_path / "id.jsonl")]
    assert [r["id"] for r in kept] == ["doc-0", "doc-1", "doc-2"] and "system" not in kept[0]
    assert [r["quals"] for r in kept] == [r["quals"] for r in records]  # the columns never change a score
    assert main([*common, "--output", str(tmp_path / "none.jsonl"), "--keep-columns", "none"]) == 0
    assert "id" not in json.loads(open(tmp_path / "none.jsonl").readline())
    capsys.readouterr()
    assert main([*common, "--output", str(tmp_path / "x.jsonl"), "--keep-columns", "id,lang"]) == 2
    assert "no column ['lang'] to keep" in capsys.readouterr().err
    _write_jsonl(tmp_path / "clash.jsonl", [{"index": 7, "quals": 1.0, "id": "x", **r} for r in _rows(2)])
    clash = ["score", "--input", str(tmp_path / "clash.jsonl"), "--model", trained_qagen_dir, *FLAGS]
    with caplog.at_level(logging.WARNING, logger="quals.readers"):
        assert main([*clash, "--output", str(tmp_path / "c.jsonl")]) == 0  # all: the results' own fields are not copied
    assert "column(s) ['index', 'quals'] not copied into the results" in caplog.text  # and said so
    record = json.loads(open(tmp_path / "c.jsonl").readline())
    assert record["index"] == 0 and record["id"] == "x" and record["quals"] != 1.0
    assert main([*clash, "--output", str(tmp_path / "d.jsonl"), "--keep-columns", "id,quals"]) == 2
    assert "--keep-columns names ['quals'], which the results use" in capsys.readouterr().err


def test_resume_says_where_it_starts_and_ctrl_c_ends_in_one_line(trained_qagen_dir, tmp_path, capsys, monkeypatch):
    import quals.corpus

    _write_jsonl(tmp_path / "in.jsonl", _rows(3))
    cmd = ["score", "--input", str(tmp_path / "in.jsonl"), "--output", str(tmp_path / "out.jsonl"),
           "--model", trained_qagen_dir, *FLAGS[:-1], "--batch-size", "1"]
    real_append, calls = quals.corpus.append_jsonl, []

    def append_then_interrupt(path, records):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real_append(path, records)

    monkeypatch.setattr(quals.corpus, "append_jsonl", append_then_interrupt)
    assert main(cmd) == 130
    err = capsys.readouterr().err
    assert "quals score: interrupted after 1 of 3 rows; run the same command to resume." in err and "Traceback" not in err
    monkeypatch.setattr(quals.corpus, "append_jsonl", real_append)
    assert main(cmd) == 0
    err = capsys.readouterr().err
    assert "out.jsonl: resuming after 1 of 3 rows" in err and "rank 0" not in err
    assert [json.loads(line)["index"] for line in open(tmp_path / "out.jsonl")] == [0, 1, 2]


def test_missing_column_is_a_clear_error(trained_qagen_dir, tmp_path, capsys):
    _write_jsonl(tmp_path / "in.jsonl", [{"document": "x", "summary": "y"}])
    assert main(_cmd(trained_qagen_dir, tmp_path / "in.jsonl", tmp_path / "out.jsonl")) == 2
    assert "no column 'source'" in capsys.readouterr().err
    (tmp_path / "in.csv").write_text("document,summary\nx,y\n", encoding="utf-8")
    assert main(_cmd(trained_qagen_dir, tmp_path / "in.csv", tmp_path / "out.jsonl")) == 2
    assert "in.csv: the header has no column 'source' (columns: ['document', 'summary'])" in capsys.readouterr().err
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    assert main(_cmd(trained_qagen_dir, tmp_path / "empty.csv", tmp_path / "out.jsonl")) == 2
    assert "empty.csv: the header has no column 'source' (columns: [])" in capsys.readouterr().err
    (tmp_path / "long.csv").write_text("id,source,summary\n1,The council met.,The council met, on Tuesday\n", encoding="utf-8")
    assert main(_cmd(trained_qagen_dir, tmp_path / "long.csv", tmp_path / "out.jsonl")) == 2
    assert "long.csv:2: the row has more fields than the header" in capsys.readouterr().err


def _run(args, **kwargs):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "quals.cli", *args], env=env, **kwargs)


def test_killed_run_resumes_to_identical_bytes(trained_qagen_dir, tmp_path):
    # 20 rows in batches of 3 (the last holds 2): wherever the kill lands before the end, the torn batch
    # simulated below stays short of 20 lines, so the resume must cut it back.
    _write_jsonl(tmp_path / "in.jsonl", _rows(20))
    full, cut = tmp_path / "full.jsonl", tmp_path / "cut.jsonl"
    assert _run(_cmd(trained_qagen_dir, tmp_path / "in.jsonl", full, ["--batch-size", "3"])).wait() == 0

    proc = _run(_cmd(trained_qagen_dir, tmp_path / "in.jsonl", cut, ["--batch-size", "3"]))
    deadline = time.time() + 120
    while time.time() < deadline and (not cut.exists() or cut.read_text().count("\n") < 3):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = cut.read_text().count("\n")
    assert 3 <= done < 20, "the kill should land mid-run"
    with open(cut, "a") as f:  # a kill mid-write: one complete line of a batch, then a torn one
        f.write('{"index": 99, "quals": -1.0}\n{"index": 100, "quals": -0.')
    assert _run(_cmd(trained_qagen_dir, tmp_path / "in.jsonl", cut, ["--batch-size", "3"])).wait() == 0
    assert cut.read_bytes() == full.read_bytes()


def test_foreign_output_file_is_not_appended_to(trained_qagen_dir, tmp_path, capsys):
    _write_jsonl(tmp_path / "in.jsonl", _rows(2))
    (tmp_path / "out.jsonl").write_text('{"mine": 1}\n')
    assert main(_cmd(trained_qagen_dir, tmp_path / "in.jsonl", tmp_path / "out.jsonl")) == 2
    assert "was not written by this tool" in capsys.readouterr().err
    assert (tmp_path / "out.jsonl").read_text() == '{"mine": 1}\n'


def test_unreadable_rows_are_named(trained_qagen_dir, tmp_path, capsys):
    (tmp_path / "in.jsonl").write_text('{"source": "a", "summary": "b"}\n42\n')
    assert main(_cmd(trained_qagen_dir, tmp_path / "in.jsonl", tmp_path / "out.jsonl")) == 2
    assert "in.jsonl:2: expected a JSON object" in capsys.readouterr().err
    (tmp_path / "bom.csv").write_text("\ufeffsource,summary\nalice was born in paris .,alice was born in paris .\n", encoding="utf-8")
    assert main(_cmd(trained_qagen_dir, tmp_path / "bom.csv", tmp_path / "bom.jsonl")) == 0


def test_empty_input_is_an_error_and_blank_lines_are_counted(trained_qagen_dir, tmp_path, capsys, caplog):
    (tmp_path / "empty.jsonl").write_text("\n \n")
    assert main(_cmd(trained_qagen_dir, tmp_path / "empty.jsonl", tmp_path / "out.jsonl")) == 2
    assert "empty.jsonl: no rows to score" in capsys.readouterr().err
    assert "2 blank line(s) skipped" in caplog.text and not (tmp_path / "out.jsonl").exists()


def test_resume_refuses_other_inputs(trained_qagen_dir, tmp_path, capsys):
    _write_jsonl(tmp_path / "a.jsonl", _rows(2))
    _write_jsonl(tmp_path / "b.jsonl", _rows(3))
    assert main(_cmd(trained_qagen_dir, tmp_path / "a.jsonl", tmp_path / "out.jsonl")) == 0
    assert main(_cmd(trained_qagen_dir, tmp_path / "b.jsonl", tmp_path / "out.jsonl")) == 2
    assert "--overwrite" in capsys.readouterr().err
    os.link(tmp_path / "out.jsonl", tmp_path / "old.jsonl")  # a new file is renamed into place: no truncation in place
    assert main(_cmd(trained_qagen_dir, tmp_path / "b.jsonl", tmp_path / "out.jsonl", ["--overwrite"])) == 0
    assert (tmp_path / "out.jsonl").read_text().count("\n") == 3
    assert (tmp_path / "old.jsonl").read_text().count("\n") == 2


def test_two_processes_equal_one(trained_qagen_dir, tmp_path):
    _write_jsonl(tmp_path / "in.jsonl", _rows(7))
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    assert main(_cmd(trained_qagen_dir, tmp_path / "in.jsonl", one)) == 0
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "--module", "quals.cli", *_cmd(trained_qagen_dir, tmp_path / "in.jsonl", two)]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert two.read_bytes() == one.read_bytes()
    assert not list(tmp_path.glob("two.jsonl.part*"))


def test_qags_metric_from_the_command_line(trained_qg_dir, trained_qa_dir, tmp_path, capsys):
    source = "Alice was born in Paris. The painter lived in the city."
    _write_jsonl(tmp_path / "in.jsonl", [{"source": source, "summary": s} for s in ("Alice was born in Paris.", "Alice was born in Madrid.")])
    flags = ["--metric", "qags", "--qg-model", trained_qg_dir, "--qa-model", trained_qa_dir, "--extractor", "rules",
             "--num-beams", "4", "--max-new-tokens", "8", "--qa-max-length", "64", "--qa-stride", "16", "--quiet"]
    assert main(["score", "--input", str(tmp_path / "in.jsonl"), "--output", str(tmp_path / "out.jsonl"), *flags]) == 0
    records = [json.loads(line) for line in open(tmp_path / "out.jsonl")]
    assert [r["qags"] for r in records] == [1.0, 0.5] and [r["num_questions"] for r in records] == [2, 2]
    assert output_signature(str(tmp_path / "out.jsonl")).startswith("QAGS|") and "signature" not in records[0]
    assert "mean QAGS 0.7500" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # QUALS-only flags do not exist under --metric qags
        main(["score", "--input", str(tmp_path / "in.jsonl"), "--output", str(tmp_path / "x.jsonl"), *flags, "--ns-mode", "beam"])


def test_demo_limit_below_one_is_refused_before_any_model_loads(capsys, monkeypatch):
    assert main(["demo", "--limit", "0"]) == 2
    assert "limit=0: give at least 1 example" in capsys.readouterr().err
    monkeypatch.setenv("QUALS_TRACEBACK", "1")  # for debugging: the exception itself, with its traceback
    with pytest.raises(ValueError, match="limit=0"):
        main(["demo", "--limit", "0"])


def test_every_setting_is_a_flag_with_its_help_type_and_choices(capsys, monkeypatch):
    from dataclasses import fields

    from quals.registry import METRICS

    monkeypatch.setenv("COLUMNS", "2000")  # one line per flag: no wrapping inside hyphenated words
    for metric, spec in METRICS.items():
        with pytest.raises(SystemExit):
            main(["score", "--metric", metric, "--help"])
        shown = " ".join(capsys.readouterr().out.split())
        for f in fields(spec.settings):  # each flag, its metavar or choices, then its own help
            flag = f.name.replace("_", "-")
            choices = typing.get_args(spec.settings.field_types()[f.name])
            metavar = "{" + ",".join(choices) + "}" if choices and all(isinstance(c, str) for c in choices) else f.name.upper()
            assert f"--{flag} {metavar} {' '.join(f.metadata['help'].split())}" in shown
    with pytest.raises(SystemExit):  # a value outside the choices is a usage error, before anything loads
        main(["score", "--input", "x.jsonl", "--output", "y.jsonl", "--cap", "loose"])
    assert "argument --cap: invalid choice: 'loose' (choose from 'strict', 'reference')" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["score", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "takes it from the beam scores (diversity penalty included), as the paper's code does. Default: rescore." in shown
    assert "the --input column holding the summaries (default: summary)" in shown  # no flag without help
    assert "examples: quals score --input rows.jsonl --output scores.jsonl" in shown
