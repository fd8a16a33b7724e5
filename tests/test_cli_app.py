"""The command line as a user runs it (subprocesses) and the Streamlit page (AppTest)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from .conftest import ROOT, model_loading, open_app, run_cli


def test_cli_index_partial_failure_then_search(cli_data: Path, corpus: Path) -> None:
    (corpus / "broken.jsonl").write_text('{"body": "خبر سليم عن طاجيكستان", "id": "ok1"}\n{not json\n', encoding="utf-8")
    (corpus / "binary.txt").write_bytes(b"\x00\xff\x00")
    res = run_cli("index", str(corpus), "--json", "--quiet", data_dir=cli_data)
    assert res.returncode == 1, res.stderr  # partial: the rest is indexed
    summary = json.loads(res.stdout)
    assert (summary["added"], summary["failed"]) == (6, 2)
    assert "broken.jsonl:2: invalid JSON" in res.stderr and "binary.txt" in res.stderr

    res = run_cli("search", "طاجيكستان", "--json", "--mode", "keyword", data_dir=cli_data)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert [h["id"] for h in out["hits"]] == ["ok1"] and "<mark>" in out["hits"][0]["snippet_html"]

    res = run_cli("search", "الجيش السوري", "--mode", "keyword", "--limit", "2", data_dir=cli_data)
    assert res.returncode == 0 and "الجيش السوري" in res.stdout and "keyword #1" in res.stdout
    # piped: plain text, without the terminal's isolates or any marks around the matches
    assert not any(ch in res.stdout for ch in "\u2068\u2069⟦⟧\x1b")

    res = run_cli("search", "-داعش", "--mode", "keyword", "--json", data_dir=cli_data)  # a query led by "-"
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)  # exclusions alone: the articles without the word
    assert out["query"] == "-داعش" and 0 < out["total"] < 6 and "ok1" in [h["id"] for h in out["hits"]]

    totals = [
        json.loads(run_cli("search", "طاجيكستان الجيش", *extra, "--mode", "keyword", "--json", data_dir=cli_data).stdout)["total"]
        for extra in ([], ["--and"])
    ]
    assert totals[0] >= 2 and totals[1] == 0  # any word / all words: ok1 has no الجيش

    res = run_cli("status", "--json", data_dir=cli_data)
    info = json.loads(res.stdout)
    assert info["articles"] == 6 and info["dim"] == 384


def test_cli_errors_have_exit_codes(cli_data: Path, tmp_path: Path) -> None:
    res = run_cli("search", "حلب", data_dir=tmp_path / "empty")
    assert res.returncode == 3 and "run the indexer first" in res.stderr
    res = run_cli("index", str(tmp_path / "missing"), "--quiet", data_dir=cli_data)
    assert res.returncode == 3 and "no such file" in res.stderr
    assert "kept" not in res.stderr and not (cli_data / "lancedb").exists()  # a typo creates no index
    (tmp_path / "empty").mkdir()
    res = run_cli("index", str(tmp_path / "empty"), "--quiet", data_dir=cli_data)
    assert res.returncode == 3 and "nothing to index" in res.stderr and not (cli_data / "lancedb").exists()
    res = run_cli("reindex", str(tmp_path / "missing"), "--quiet", data_dir=cli_data)  # no index, no source
    assert res.returncode == 3 and "no such file" in res.stderr and "kept" not in res.stderr
    assert not (cli_data / "lancedb").exists()
    res = run_cli("index", "--help", data_dir=cli_data)
    assert ".html" in res.stdout and "python -m indexer index" in res.stdout
    res = run_cli("search", "x", "--mode", "bogus", data_dir=cli_data)
    assert res.returncode == 2


def test_cli_sources_and_dates_a_newcomer_meets(cli_data: Path, tmp_path: Path) -> None:
    """Trailing name lines become the source, --publisher names the rest; a future date keeps the
    article undated, an impossible header date and a negative year are said."""
    src = tmp_path / "mine"
    src.mkdir()
    body = "نص الخبر عن الانتخابات البلدية في المدينة وما قاله المرشحون أمس."
    (src / "a.txt").write_text(f"عنوان أول\n\n{body}\n\nهسبريس\n", encoding="utf-8")
    (src / "b.txt").write_text(f"عنوان ثان\n\n{body}\n\nالوكالة الوطنية للإعلام\n", encoding="utf-8")
    (src / "c.txt").write_text(f"عنوان ثالث\nالسبت 3 تشرين الأول 2035\n\n{body}\n", encoding="utf-8")
    (src / "d.txt").write_text(f"عنوان رابع\n30/فبراير/2016\n\n{body}\n", encoding="utf-8")
    (src / "e.jsonl").write_text(json.dumps({"id": "neg", "body": body, "published_at": "-0001-11-30"}) + "\n", encoding="utf-8")
    res = run_cli("index", str(src), "--json", "--quiet", data_dir=cli_data)
    assert res.returncode == 1, res.stderr  # partial: the negative year is refused, the rest indexed
    rec = json.loads(res.stdout)
    assert (rec["added"], rec["failed"]) == (4, 1)
    notes = "\n".join(rec["notes"])
    assert "c.txt: publication date 2035-10-03 is in the future: indexed without a date" in notes
    assert "d.txt: header date '30/فبراير/2016' is no day of the calendar" in notes
    assert "e.jsonl:1: field 'published_at' is not a date: '-0001-11-30'" in "\n".join(rec["errors"])
    own = tmp_path / "own"
    own.mkdir()
    (own / "f.txt").write_text(f"عنوان خامس\n\n{body}\n\nسطر أخير\n", encoding="utf-8")
    res = run_cli("index", str(own), "--quiet", "--publisher", "جريدتي", data_dir=cli_data)
    assert res.returncode == 0, res.stderr
    hits = json.loads(run_cli("search", "الانتخابات", "--mode", "keyword", "--json", data_dir=cli_data).stdout)["hits"]
    by_title = {h["title"]: h for h in hits}
    assert by_title["عنوان أول"]["source"] == "هسبريس" and by_title["عنوان ثان"]["source"] == "الوكالة الوطنية للإعلام"
    assert by_title["عنوان ثالث"]["source"] == "" and by_title["عنوان ثالث"]["published_at"] is None
    assert by_title["عنوان خامس"]["source"] == "جريدتي"  # given: a last line is no longer guessed to be a name
    assert "هسبريس" not in by_title["عنوان أول"]["snippet"]  # the signature left the text


def test_app_search_shows_highlighted_rtl_results(seed_store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_app(seed_store_dir, monkeypatch)
    assert not at.exception and at.title[0].value == "أرشيف الأخبار العربية"
    at.text_input(key="q").input("يصعد غارات").run()
    assert not at.exception
    html = "".join(m.value for m in at.markdown)
    assert 'class="results" dir="rtl"' in html and "<mark>يُصعِد</mark>" in html
    assert any("results" in c.value for c in at.caption)
    at.radio(key="mode").set_value("semantic").run()
    while model_loading(at):
        time.sleep(0.5)
        at.run()
    # two words of a raid report are under the semantic relevance floor: no match, weaker ones counted
    assert "semantic match" not in "".join(m.value for m in at.markdown)
    assert any("weaker semantic matches" in c.value for c in at.caption)
    at.checkbox(key="weaker").check().run()
    assert "weaker match" in "".join(m.value for m in at.markdown)  # listed, marked, on request
    at.checkbox(key="weaker").uncheck().run()
    at.text_input(key="q").input("الجيش السوري يتقدم بغطاء روسي").run()
    html = "".join(m.value for m in at.markdown)
    assert "semantic match" in html and "weaker match" not in html


def test_app_empty_index_is_a_message_not_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_app(tmp_path / "none", monkeypatch)
    assert not at.exception
    assert any("run the indexer first" in e.value for e in at.error)


def test_setup_runs_pip_only_when_the_requirements_change(tmp_path: Path) -> None:
    """scripts/setup.sh (run by demo.sh and test.sh) with a stand-in python that logs what pip
    would be asked: a second run with the same requirements asks nothing."""
    import shutil
    import subprocess

    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "setup.sh", tmp_path / "scripts" / "setup.sh")
    (tmp_path / "requirements.txt").write_text("streamlit==1.67.0\n")
    (tmp_path / "requirements-dev.txt").write_text("pytest\n")
    log = tmp_path / "pip.log"
    fake = tmp_path / "python3"  # "python3 -m venv .venv" makes a .venv/bin/python that logs its arguments
    fake.write_text(
        f"#!/bin/sh\nmkdir -p .venv/bin\nprintf '#!/bin/sh\\necho \"$@\" >> {log}\\n' > .venv/bin/python\n"
        "chmod +x .venv/bin/python\n"
    )
    fake.chmod(0o755)

    def setup(*args: str) -> list[str]:
        before = log.read_text().splitlines() if log.exists() else []
        t0 = time.perf_counter()
        subprocess.run(
            ["bash", "scripts/setup.sh", *args],
            cwd=tmp_path,
            env={"PATH": "/usr/bin:/bin", "PYTHON": str(fake)},
            check=True,
            timeout=60,
        )
        print(f"setup.sh {' '.join(args)}: {time.perf_counter() - t0:.3f}s")
        return log.read_text().splitlines()[len(before) :]

    assert setup() == [
        "-m pip install -q --upgrade pip",
        "-m pip install -q torch==2.13.0",
        "-m pip install -q -r requirements.txt",
    ]
    assert setup() == []  # unchanged: demo.sh goes straight to the app
    assert setup("-r", "requirements-dev.txt")[-1] == "-m pip install -q -r requirements.txt -r requirements-dev.txt"
    assert setup() == [] and setup("-r", "requirements-dev.txt") == []  # demo and test runs do not undo each other
    (tmp_path / "requirements.txt").write_text("streamlit==1.68.0\n")
    assert len(setup()) == 3  # a changed pin installs again
    (tmp_path / "requirements-dev.txt").write_text("pytest\nhypothesis\n")
    assert len(setup("-r", "requirements-dev.txt")) == 3


def test_cli_export_streams_every_match(seed_store_dir: Path, tmp_path: Path) -> None:
    """``export`` writes every match of the query (as counted by ``search``), to a file or to
    standard output, CSV with a BOM or JSONL; a query led by "-" is the query."""
    total = json.loads(run_cli("search", "-داعش", "--mode", "keyword", "--json", data_dir=seed_store_dir).stdout)["total"]
    res = run_cli(
        "export", "-داعش", "--mode", "keyword", "--format", "jsonl", "--out", str(tmp_path / "x.jsonl"), data_dir=seed_store_dir
    )
    assert res.returncode == 0, res.stderr
    rows = [json.loads(line) for line in (tmp_path / "x.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == len({r["id"] for r in rows}) == total > 0 and f"{total:,} articles exported" in res.stderr
    assert [r["rank"] for r in rows] == list(range(1, total + 1)) and all("داعش" not in r["snippet"] for r in rows)
    res = run_cli("export", "الجيش", "--mode", "keyword", "--quiet", data_dir=seed_store_dir)
    assert res.returncode == 0 and res.stdout.startswith("\ufeffrank,id,title")
    assert "exporting" not in res.stderr  # --quiet: no progress bar


def test_demo_indexes_the_seeds_and_serves_the_app(cli_data: Path) -> None:
    """The README's first command (scripts/demo.sh runs this): index seeds/, then serve the app."""
    import os
    import signal
    import subprocess
    import sys
    import urllib.request

    from .es_server import free_port

    port = free_port()
    env = dict(os.environ, ARCHIVE_DATA_DIR=str(cli_data))
    proc = subprocess.Popen(
        [sys.executable, "-m", "indexer", "demo", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # the app runs in a child process: stop them together
    )
    try:
        deadline, up = time.monotonic() + 180, False
        while time.monotonic() < deadline and proc.poll() is None and not up:
            try:
                up = urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5).read() == b"ok"
            except OSError:
                time.sleep(0.5)
        assert up, proc.stdout.read() if proc.poll() is not None and proc.stdout else "the app did not answer"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        out = proc.communicate(timeout=60)[0]
    assert "indexed 5 new" in out and f"serving the app on http://localhost:{port}" in out
    status = json.loads(run_cli("status", "--json", data_dir=cli_data).stdout)
    assert status["articles"] == 5 and status["last_job"]["roots"][0]["name"] == "seeds"
