"""The command line as a user runs it (subprocesses) and the Streamlit page (AppTest)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from .conftest import ROOT, run_cli


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
    assert res.returncode == 0 and "⟦الجيش⟧" in res.stdout and "keyword #1" in res.stdout

    res = run_cli("status", "--json", data_dir=cli_data)
    info = json.loads(res.stdout)
    assert info["articles"] == 6 and info["dim"] == 384


def test_cli_errors_have_exit_codes(cli_data: Path, tmp_path: Path) -> None:
    res = run_cli("search", "حلب", data_dir=tmp_path / "empty")
    assert res.returncode == 3 and "run the indexer first" in res.stderr
    res = run_cli("index", str(tmp_path / "missing"), "--quiet", data_dir=cli_data)
    assert res.returncode == 3 and "no such file" in res.stderr
    res = run_cli("search", "x", "--mode", "bogus", data_dir=cli_data)
    assert res.returncode == 2


def _app(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("ARCHIVE_DATA_DIR", str(data_dir))
    at = AppTest.from_file(str(ROOT / "search_ui" / "app.py"), default_timeout=180)
    at.run()
    return at


def test_app_search_shows_highlighted_rtl_results(seed_store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(seed_store_dir, monkeypatch)
    assert not at.exception and at.title[0].value == "أرشيف الأخبار العربية"
    at.text_input(key="q").input("يصعد غارات").run()
    assert not at.exception
    html = "".join(m.value for m in at.markdown)
    assert 'class="results" dir="rtl"' in html and "<mark>يُصعِد</mark>" in html
    assert any("results" in c.value for c in at.caption)
    at.radio(key="mode").set_value("semantic").run()
    html = "".join(m.value for m in at.markdown)
    assert "semantic match" in html


def test_app_empty_index_is_a_message_not_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(tmp_path / "none", monkeypatch)
    assert not at.exception
    assert any("run the indexer first" in e.value for e in at.error)
