"""Source identity: two directories that would be stored under one name never replace or delete
each other's articles."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from archive.embeddings import Embedder
from archive.jobs import JobRunner, SourceClash, config_from_paths, load_config
from archive.store import open_store
from archive.store.base import Store

from .conftest import run_cli


def news(root: Path, words: list[str]) -> Path:
    """``root/news`` holding one article per word, at the same file names in every root."""
    d = root / "news"
    d.mkdir(parents=True)
    for i, w in enumerate(words):
        (d / f"x{i}.txt").write_text(f"خبر عن {w}\nنص الخبر يذكر {w} مرات عدة في سياق الأحداث الأخيرة.", encoding="utf-8")
    return d


def titles(store: Store) -> dict[str, str]:
    found = store.get(list(store.hashes()))
    return {a.path: a.title for a in found.values()}


def test_a_second_directory_of_the_same_name_is_refused_and_replaces_nothing(
    make_store: Callable[[], Store], tmp_path: Path, embedder: Embedder
) -> None:
    a = news(tmp_path / "A", ["حلب", "دمشق", "حمص"])
    b = news(tmp_path / "B", ["بيروت"])
    store = make_store()
    runner = JobRunner(store, embedder)
    assert runner.run(config_from_paths([a]), deletions=False).added == 3
    before = titles(store)
    for deletions in (False, True):  # index, then reindex: neither may touch A's articles
        with pytest.raises(SourceClash) as refused:
            runner.run(config_from_paths([b]), deletions=deletions)
        assert str(a.resolve()) in str(refused.value) and str(b.resolve()) in str(refused.value)
        assert "--name" in str(refused.value) and "--moved" in str(refused.value)
        assert titles(store) == before
    last = store.jobs(1)[0]
    assert last["status"] == "failed" and "would replace its articles" in last["message"] and last["roots"] == []

    # named apart, both live side by side, and a reindex of one never deletes the other's
    rec = runner.run(config_from_paths([b], name="news-beirut"))
    assert (rec.added, rec.deleted) == (1, 0)
    rec = runner.run(config_from_paths([a]))
    assert (rec.added, rec.deleted, rec.unchanged) == (0, 0, 3)
    assert sorted(titles(store)) == ["news-beirut/x0.txt", "news/x0.txt", "news/x1.txt", "news/x2.txt"]


def test_a_moved_source_is_the_same_source_when_told(tmp_path: Path, embedder: Embedder) -> None:
    a = news(tmp_path / "A", ["حلب", "دمشق"])
    store = open_store(tmp_path / "data", backend="lancedb")
    runner = JobRunner(store, embedder)
    runner.run(config_from_paths([a]))
    moved = tmp_path / "C" / "news"
    moved.parent.mkdir()
    shutil.move(str(a), str(moved))
    with pytest.raises(SourceClash):
        runner.run(config_from_paths([moved]))
    rec = runner.run(config_from_paths([moved]), moved=True)
    assert (rec.added, rec.updated, rec.deleted, rec.unchanged) == (0, 0, 0, 2)  # same ids: nothing re-embedded
    assert runner.run(config_from_paths([moved])).unchanged == 2  # its new place is now the source's


def test_one_command_with_two_directories_of_one_name_is_refused(tmp_path: Path) -> None:
    a, b = news(tmp_path / "A", ["حلب"]), news(tmp_path / "B", ["بيروت"])
    with pytest.raises(SourceClash, match="would both be stored as news/"):
        config_from_paths([a, b])


def test_a_job_file_source_is_held_to_the_name_it_was_indexed_under(tmp_path: Path, embedder: Embedder) -> None:
    a, b = news(tmp_path / "A", ["حلب"]), news(tmp_path / "B", ["بيروت"])
    store = open_store(tmp_path / "data", backend="lancedb")
    JobRunner(store, embedder).run(config_from_paths([a]))
    job = tmp_path / "job.toml"
    job.write_text(f'[[sources]]\nname = "news"\npath = "{b}"\n', encoding="utf-8")
    with pytest.raises(SourceClash, match="source 'news' is"):
        JobRunner(store, embedder).run(load_config(job))
    job.write_text(f'[[sources]]\nname = "beirut"\npath = "{b}"\n', encoding="utf-8")
    assert JobRunner(store, embedder).run(load_config(job), only=["beirut"]).added == 1


def test_the_command_line_refuses_a_clash_with_exit_2(tmp_path: Path, cli_data: Path) -> None:
    a, b = news(tmp_path / "A", ["حلب", "دمشق"]), news(tmp_path / "B", ["بيروت"])
    assert run_cli("index", str(a), "--quiet", data_dir=cli_data).returncode == 0
    res = run_cli("index", str(b), "--quiet", data_dir=cli_data)
    assert res.returncode == 2 and str(b.resolve()) in res.stderr and str(a.resolve()) in res.stderr, res.stderr
    res = run_cli("reindex", str(b), "--quiet", "--json", data_dir=cli_data)
    assert res.returncode == 2 and "would replace its articles" in res.stderr
    res = run_cli("index", str(b), "--name", "beirut", "--quiet", "--json", data_dir=cli_data)
    assert res.returncode == 0 and json.loads(res.stdout)["added"] == 1
    status = json.loads(run_cli("status", "--json", data_dir=cli_data).stdout)
    assert status["articles"] == 3 and status["last_job"]["roots"] == [{"name": "beirut", "path": str(b.resolve())}]
