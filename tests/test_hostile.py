"""Hostile and broken input, 25 kinds in one job: each gets a clear message naming the file (or
line), the job goes on, its exit status says partial, its record lists every failure, and the
good articles around them are indexed."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from archive.embeddings import Embedder
from archive.jobs import JobRunner, config_from_paths
from archive.search import SearchService
from archive.store import open_store

from .conftest import record_reliability

GOOD = "خبر سليم\nافتتح وزير النقل اليوم ميناء جديدا في مدينة نواكشوط بحضور عدد من المسؤولين."


def build(root: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Write the hostile tree; (file -> expected error fragment, file -> expected notice)."""
    src, other = root / "wire", root / "other"
    src.mkdir()
    other.mkdir()
    rng = random.Random(8)
    fail: dict[str, str] = {}
    note: dict[str, str] = {}

    def put(name: str, data: bytes | str, error: str | None = None, notice: str | None = None) -> Path:
        p = src / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        if error:
            fail[name] = error
        if notice:
            note[name] = notice
        return p

    put("binary.txt", bytes(rng.randrange(256) for _ in range(4096)) + b"\x00\x00", "binary data")
    put("controls.txt", bytes(rng.choice([1, 2, 3, 4, 5, 6, 7, 8, 14, 15, 16]) for _ in range(2000)), "binary data")
    put("legacy.txt", "خبر قديم\nنص بترميز ويندوز عن مدينة طنجة".encode("cp1256"), notice="decoded as cp1256")
    put("utf16bom.txt", "خبر\nنص بترميز UTF-16 مع علامة عن مدينة صفاقس".encode("utf-16"), notice="decoded as utf-16")
    put("utf16le.txt", "خبر\nنص بترميز UTF-16 بلا علامة عن مدينة سوسة".encode("utf-16-le"), notice="decoded as utf-16-le")
    put("utf16be.txt", "خبر\nنص بترميز UTF-16 BE عن مدينة قفصة".encode("utf-16-be"), notice="decoded as utf-16-be")
    put("empty.txt", b"", "empty article")
    put("blank.txt", " \n\t\n   \n", "empty article")
    put("invisible.txt", "\u200f\u200e\u200b\n\u2067\u2069", "empty article")
    put("huge.txt", "كلمة " * 5_500_000, "over the 1 M limit")  # a 50 MB article
    put("nul.txt", "خبر\nنص فيه\x00بايت صفري", "NUL bytes")
    sparse = put("toobig.jsonl", b"")
    with open(sparse, "r+b") as f:
        f.truncate(65 * 2**20)  # a 65 MiB file, sparse on disk
    fail["toobig.jsonl"] = "over the 64 MiB limit"
    put(
        "page.html",
        "<html><head><title>صفحة</title><script>var x='سكربت';</script><style>p{}</style></head>"
        "<body><nav>القائمة</nav><h1>عنوان الصفحة عن مدينة بنزرت</h1><p>فقرة أولى عن الميناء.</p>"
        "<script>alert('xss')</script><p>فقرة ثانية.</p></body></html>",
    )
    put(
        "feed.jsonl",
        "\n".join(
            [
                json.dumps({"id": "ok-1", "title": "خبر جيد", "body": "نص جيد عن مدينة القيروان"}, ensure_ascii=False),
                "{not json",
                json.dumps(["a", "list"]),
                json.dumps({"id": "no-body", "title": "بلا نص"}, ensure_ascii=False),
                json.dumps({"id": "future", "body": "خبر من المستقبل", "published_at": "2999-01-01"}, ensure_ascii=False),
                json.dumps({"id": "baddate", "body": "تاريخ غير مفهوم", "published_at": "yesterday-ish"}, ensure_ascii=False),
                json.dumps({"id": "longword", "body": "كلمة " + "ب" * 100_000 + " نهاية عن مدينة المنستير"}, ensure_ascii=False),
                json.dumps({"id": "dup", "body": "نسخة أولى"}, ensure_ascii=False),
            ]
        )
        + "\n",
    )
    fail.update(
        {
            "feed.jsonl:2": "invalid JSON",
            "feed.jsonl:3": "must be a JSON object",
            "feed.jsonl:4": "missing field 'body'",
            "feed.jsonl:6": "is not a date",
        }
    )
    note["feed.jsonl:5"] = "in the future: indexed without a date"  # a typo in the year loses no article
    put("nocol.csv", "title,text\nا,ب\n", "no 'body' column")
    put("rows.csv", "id,title,body\nc1,عنوان,نص عن مدينة المهدية\nc2,فارغ,\n")
    fail["rows.csv:3"] = "missing field 'body'"
    put("formula.csv", 'id,title,body\nf1,"=HYPERLINK(""http://evil"")",نص عن مدينة نابل\n')
    (other / "feed.jsonl").write_text(
        json.dumps({"id": "dup", "body": "نسخة ثانية"}, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    fail["other/feed.jsonl"] = "duplicate article id 'dup'"
    (src / "loop").mkdir()
    (src / "loop" / "again").symlink_to(src / "loop", target_is_directory=True)
    fail["loop/again"] = "symbolic link loop"
    (src / "dangling.txt").symlink_to(src / "gone.txt")
    fail["dangling.txt"] = "cannot read"
    put("locked.txt", GOOD).chmod(0)
    fail["locked.txt"] = "Permission denied"
    put("good.txt", GOOD)
    return fail, note


@pytest.fixture
def permissions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Root reads a mode-000 file anyway (and CI runs as root): there, the OS's refusal is
    played by raising the PermissionError an ordinary user would get."""
    if os.geteuid() != 0:
        return
    real = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.stat().st_mode & 0o777 == 0:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)


def test_hostile_inputs_are_reported_and_the_rest_is_indexed(tmp_path: Path, embedder: Embedder, permissions: None) -> None:
    fail, note = build(tmp_path)
    store = open_store(tmp_path / "data", backend="lancedb")
    rec = JobRunner(store, embedder).run(config_from_paths([tmp_path / "wire", tmp_path / "other"]))
    assert rec.status == "partial"
    for where, fragment in fail.items():
        hits = [e for e in rec.errors if where in e and fragment in e]
        assert hits, f"{where}: no error with {fragment!r} in {rec.errors}"
    for where, fragment in note.items():
        assert any(where in n and fragment in n for n in rec.notes), (where, rec.notes)
    assert rec.failed == len(rec.errors) == len(fail)  # nothing failed that was not expected
    stored = {a.path.split("/")[-1] for a in store.get(list(store.hashes())).values()}
    assert stored == {
        "legacy.txt",
        "utf16bom.txt",
        "utf16le.txt",
        "utf16be.txt",
        "page.html",
        "feed.jsonl",
        "rows.csv",
        "formula.csv",
        "good.txt",
    }
    assert rec.added == store.info().articles == 12  # feed.jsonl holds 4 good lines, one of them undated
    assert store.get(["future"], text=False)["future"].published_at is None
    svc = SearchService(store, embedder)
    page = svc.search("بنزرت", mode="keyword").hits[0].article
    assert page.title == "عنوان الصفحة عن مدينة بنزرت" and "سكربت" not in page.body and "xss" not in page.body
    assert "القائمة" not in page.body and "فقرة أولى" in page.body
    for city in ("طنجة", "صفاقس", "سوسة", "قفصة", "القيروان", "المنستير", "المهدية", "نابل"):
        assert svc.search(city, mode="keyword").hits, city  # every decodable input is searchable
    record_reliability(
        "hostile input",
        f"{len(fail) + len(note) + 4} kinds of broken or odd files in one job",
        f"{rec.failed} reported by name, {rec.added} good articles indexed, status {rec.status}, 0 crashes",
    )


@pytest.mark.parametrize("kind,data", [("utf-16-le", "نص عربي بسيط"), ("utf-16-be", "نص عربي بسيط مع English words 123")])
def test_decode_tells_utf16_without_a_bom(kind: str, data: str) -> None:
    from archive.ingest import decode

    assert decode(data.encode(kind)) == (data, kind)
