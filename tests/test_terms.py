"""Top terms of a result set on both backends: counted exactly against a brute-force count of
a generated archive, the query's words, numbers and archive-wide words left out, each stem shown
as its most frequent written form, and a term added to the query narrowing to it."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from archive import terms
from archive.analysis import default_analyzer
from archive.embeddings import Embedder
from archive.search import SearchService
from archive.store import lance
from search_ui.state import refined

from .conftest import run_cli, served

N, TOPIC = 120, 24
COMMON = "قال اليوم المدينة الناس العام الشارع".split()  # in every article
FILLER = "السوق المدرسة القطار الحديقة المكتبة الملعب الطريق البحر الجبل النهر".split()


def _articles() -> list[dict]:
    """``TOPIC`` articles on a reactor (المفاعل, with التخصيب written three ways, واليورانيوم in
    every other one, a year in each); the rest on filler words, six of them with التخصيب."""
    rng = random.Random(5)
    out = []
    for i in range(N):
        words = COMMON + [rng.choice(FILLER) for _ in range(30)]
        if i < TOPIC:
            words += ["المفاعل", "التخصيب", "التخصيب", "تخصيب" if i % 3 else "وبالتخصيب", "2020", "١٩٩٠"]
            words += ["واليورانيوم"] if i % 2 == 0 else []  # written with its conjunction only
        elif i < TOPIC + 6:
            words += ["التخصيب"]  # the term occurs outside the set too: its background is not its foreground
        rng.shuffle(words)
        out.append(
            {
                "id": f"t{i:03d}",
                "title": f"تقرير {i}",
                "body": " ".join(words),
                "source": "مولد",
                "published_at": f"2021-{1 + i % 12:02d}-01",
            }
        )
    return out


@pytest.fixture(scope="module", params=["lancedb", "elasticsearch"])
def archive(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[SearchService]:
    feed = tmp_path_factory.mktemp("terms") / "news.jsonl"
    feed.write_text("\n".join(json.dumps(a, ensure_ascii=False) for a in _articles()) + "\n", encoding="utf-8")
    yield from served(feed, request, tmp_path_factory, embedder, "terms")


def _stems(article: dict) -> set[str]:
    return set(default_analyzer().stem_terms(f"{article['title']}\n{article['body']}"))


def test_top_terms_are_the_over_represented_stems_counted_exactly(archive: SearchService) -> None:
    res = archive.search("المفاعل", mode="keyword")
    assert res.total == TOPIC
    top = archive.top_terms(res, limit=10)
    every = _articles()
    fg = Counter(s for a in every[:TOPIC] for s in _stems(a))
    bg = Counter(s for a in every for s in _stems(a))
    stem = default_analyzer().stem_terms
    # the most frequent of three forms; the only form, shown without its conjunction
    assert [t.term for t in top.terms[:2]] == ["التخصيب", "اليورانيوم"]
    for t in top.terms:
        assert (t.matches, t.articles) == (fg[t.stem], bg[t.stem]), t  # the brute-force counts
        assert t.score == pytest.approx(terms.jlh(fg[t.stem], TOPIC, bg[t.stem], N))
        assert stem(t.term) == [t.stem]  # the form shown is one the query language reads back as the stem
    shown = {t.stem for t in top.terms}
    assert not shown & set(stem("المفاعل 2020 ١٩٩٠ " + " ".join(COMMON)))  # the query, numbers, words every article has
    assert [t.score for t in top.terms] == sorted((t.score for t in top.terms), reverse=True)
    assert (top.sampled, top.matches, top.counted, top.articles) == (TOPIC, TOPIC, N, N)
    assert top.describe() == f"all {TOPIC} matches, against all {N} articles"
    uranium = top.terms[1]
    assert refined("المفاعل", uranium.term) == "المفاعل +اليورانيوم"  # the app's term click: add it as required
    assert archive.search(refined("المفاعل", uranium.term), mode="keyword").total == fg[uranium.stem] == TOPIC // 2
    assert refined("a", "OR") == 'a +"OR"' and refined("", "x") == "+x"  # an operator word is quoted


def test_top_terms_of_a_sampled_result_set(archive: SearchService) -> None:
    """The first ``sample`` matches in the order shown are counted, and the description says so."""
    res = archive.search("المفاعل", mode="keyword")
    top = archive.top_terms(res, limit=5, sample=10)
    assert top.sampled == 10 and top.matches == TOPIC
    held = archive.store.stems(list(res.order[:10]))
    assert {t.stem: t.matches for t in top.terms} == {t.stem: sum(t.stem in s for s in held.values()) for t in top.terms}
    assert top.describe().startswith(f"the first 10 of {TOPIC} matches")


def test_the_embedded_background_is_a_uniform_sample_past_its_cap(
    archive: SearchService, monkeypatch: pytest.MonkeyPatch
) -> None:
    if archive.store.backend != "lancedb":
        pytest.skip("Elasticsearch counts the background exactly")
    monkeypatch.setattr(lance, "BACKGROUND_SAMPLE", 40)
    store = lance.LanceStore(archive.store.root, read_only=True)
    bg = store.frequencies(["قال", "مفاعل"])
    assert (bg.counted, bg.articles, bg.exact) == (40, N, False)
    assert bg.counts["قال"] == 40  # in every article, so in every sampled one
    assert store.frequencies(["مفاعل"]).counts == {"مفاعل": bg.counts["مفاعل"]}  # the same sample until the archive changes
    top = SearchService(store, lambda: archive.embedder).top_terms(archive.search("المفاعل", mode="keyword"))
    assert top.describe().endswith(f"against a sample of 40 of {N} articles")


def test_top_terms_on_the_command_line(seed_store_dir: Path) -> None:
    """حلب: four of the five seeds (الجيش is in all five, so nothing would stand out)."""
    out = run_cli("search", "حلب", "--mode", "keyword", "--json", "--terms", "5", data_dir=seed_store_dir)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)["top_terms"]
    assert 0 < len(data["terms"]) <= 5 and data["matches"] == json.loads(out.stdout)["total"]
    assert all(t["matches"] <= data["sampled"] and t["articles"] <= data["articles"] for t in data["terms"])
    shown = {t["term"] for t in data["terms"]}
    assert "قال" in shown and "وقال" not in shown  # written وقال and قال in the seeds: shown bare
    text = run_cli("search", "حلب", "--mode", "keyword", "--terms", "5", data_dir=seed_store_dir)
    assert text.returncode == 0 and "top terms of all" in text.stdout and data["terms"][0]["term"] in text.stdout
