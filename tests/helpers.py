"""Helpers shared by test modules (files of generated articles, job files, store checks)."""

from __future__ import annotations

import json
import random
from pathlib import Path

from archive.store.base import Store

WORDS = "الحكومة البرلمان الاقتصاد النفط الانتخابات المدينة الجامعة الطاقة الميناء المطار الوزير".split()


def write_feed(path: Path, ids: range, tag: str = "", words: int = 60, seed: int = 3) -> Path:
    lines = []
    for i in ids:
        rng = random.Random(seed * 100_000 + i)  # an article's text depends on its id only
        body = " ".join(rng.choice(WORDS) for _ in range(words)) + f" رمز{i:04d}{tag}"
        lines.append(json.dumps({"id": f"gen-{i}", "title": f"خبر رقم {i}", "body": body, "source": "مولد"}, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def job_file(tmp_path: Path, corpus: Path, extra: str = "") -> Path:
    cfg = tmp_path / "jobs.toml"
    cfg.write_text(
        f'retention = 1\nbatch_size = 8\n{extra}\n[[sources]]\nname = "news"\npath = "{corpus}"\n'
        'include = ["*.txt", "*.jsonl"]\nexclude = ["drafts/*"]\n',
        encoding="utf-8",
    )
    return cfg


def assert_store_equals(store: Store, want: dict[str, tuple[str, int]]) -> None:
    store.optimize()
    got = {k: v[0] for k, v in store.hashes().items()}
    assert got == {k: v[0] for k, v in want.items()}  # none lost, none extra, every one current
    info = store.info()
    assert info.articles == len(want)  # no duplicate rows
    assert info.passages == sum(n for _, n in want.values())  # vectors and text together, no strays
