"""The Store protocol's contract, on both backends, without the model: what every method promises
the search service, the jobs and the research views. Vectors are chosen by hand (dimension 8),
so nearest-neighbour answers are known."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from archive.analysis import ANALYSIS_VERSION, default_analyzer
from archive.model import Article
from archive.pipeline import prepare
from archive.query import parse
from archive.store.base import STEM_MARK, Filters, Store, StoreError, StoreLocked
from archive.store.walk import expand

DIM = 8
ARTICLES = [  # id, title, body, day, source, direction of its vector
    ("c1", "الجيش يتقدم في حلب", "قوات الجيش تتقدم في أحياء حلب الشرقية وسط قصف عنيف", dt.date(2016, 12, 1), "الحياة", 0),
    ("c2", "هدنة في حلب", "الأمم المتحدة تدعو إلى هدنة إنسانية في حلب لإجلاء المدنيين", dt.date(2016, 12, 5), "الشرق", 0),
    ("c3", "مفاوضات جنيف", "وفود المعارضة والحكومة تصل إلى جنيف لجولة مفاوضات جديدة", dt.date(2016, 11, 20), "الحياة", 1),
    ("c4", "أسعار النفط", "ارتفعت أسعار النفط في الأسواق العالمية بعد قرار أوبك", None, "الشرق", 2),
    ("c5", "الحكومة والنفط", "الحكومة تناقش ميزانية النفط والغاز في جلسة طويلة", dt.date(2015, 3, 2), "", 2),
]


def vector(direction: int, tilt: float = 0.0) -> np.ndarray:
    v = np.zeros(DIM, dtype=np.float32)
    v[direction], v[(direction + 1) % DIM] = 1.0, tilt
    return v / np.linalg.norm(v)


def articles() -> list[Article]:
    return [
        Article.make(i, t, b, dt.datetime.combine(d, dt.time(9)) if d else None, s, f"https://x.test/{i}", f"news/{i}.txt")
        for i, t, b, d, s, _ in ARTICLES
    ]


@pytest.fixture
def store(make_store: Callable[..., Store]) -> Iterator[Store]:
    s = make_store()
    s.check_compatible("contract-model", DIM, ANALYSIS_VERSION)
    batch = []
    for a, (*_, direction) in zip(articles(), ARTICLES, strict=True):
        item = prepare(a)
        batch.append(prepare(a, np.stack([vector(direction, 0.1 * k) for k in range(len(item.passages))])))
    s.upsert(batch)
    s.optimize()
    yield make_store(read_only=True)


def tree(text: str, store: Store) -> object:
    return expand(parse(text).tree, store)[0]


def test_get_hashes_and_info_describe_what_was_written(store: Store) -> None:
    want = {a.id: a for a in articles()}
    got = store.get([*want, "nope"])
    assert set(got) == set(want) and all(got[k].title == want[k].title and got[k].body == want[k].body for k in want)
    meta = store.get(["c1"], text=False)["c1"]
    assert (meta.title, meta.body, meta.source, meta.published_at) == ("", "", "الحياة", want["c1"].published_at)
    assert store.hashes() == {k: (a.content_hash, a.path) for k, a in want.items()}
    info = store.info()
    assert info.articles == 5 and info.passages == 5 and info.model == "contract-model" and info.dim == DIM
    assert info.sources == {"الحياة": 2, "الشرق": 2, "": 1}


def test_keyword_tally_ranked_and_stream_agree_on_the_matches(store: Store) -> None:
    t = tree("حلب", store)
    hits = store.keyword(t, Filters(), 10)
    assert {h.article_id for h in hits} == {"c1", "c2"} and hits == sorted(hits, key=lambda h: -h.score)
    tally = store.tally(t, Filters())
    assert tally.total == 2 and tally.sources == {"الحياة": 1, "الشرق": 1}
    assert tally.days == {dt.date(2016, 12, 1): 1, dt.date(2016, 12, 5): 1}
    ranked, counted = store.ranked(t, Filters(), 1)
    assert [h.article_id for h in ranked] == [hits[0].article_id] and counted == tally
    streamed = [h.article_id for part in store.stream(tree("النفط OR حلب", store), Filters(), batch=2) for h in part]
    assert sorted(streamed) == ["c1", "c2", "c4", "c5"] and len(streamed) == len(set(streamed))
    newest = [h.article_id for part in store.stream(None, Filters(), batch=2, newest=True) for h in part]
    assert newest == ["c2", "c1", "c3", "c5", "c4"]  # newest first, undated last


def test_filters_restrict_every_channel_alike(store: Store) -> None:
    t = tree("النفط OR حلب OR جنيف", store)
    only = Filters(sources=("الحياة",))
    assert {h.article_id for h in store.keyword(t, only, 10)} == {"c1", "c3"} and store.tally(t, only).total == 2
    dated = Filters(date_from=dt.date(2016, 11, 25), date_to=dt.date(2016, 12, 31))
    assert {h.article_id for h in store.keyword(t, dated, 10)} == {"c1", "c2"}
    assert store.tally(None, Filters(sources=("الشرق",))).total == 2  # filters alone
    assert store.browse(Filters(), 10) == ["c2", "c1", "c3", "c5", "c4"]
    assert store.browse(Filters(ids=("c3", "c5")), 10) == ["c3", "c5"]
    sem = store.semantic(vector(2), Filters(sources=("الشرق",)), 10)
    assert [h.article_id for h in sem] == ["c4", "c2"]  # that source's articles only, the nearest first


def test_semantic_and_neighbours_rank_by_the_vectors(store: Store) -> None:
    hits = store.semantic(vector(0), Filters(), 5)
    assert {h.article_id for h in hits[:2]} == {"c1", "c2"} and hits == sorted(hits, key=lambda h: -h.score)
    assert len({h.article_id for h in hits}) == len(hits)  # one hit per article: its best passage
    near = [h.article_id for h in store.neighbours("c4", 2)]
    assert near[0] == "c5" and "c4" not in near


def test_vocabulary_lookups(store: Store) -> None:
    assert store.known_terms(["حلب", "طوكيو"]) == {"حلب"}
    assert store.known_terms([STEM_MARK + s for s in store.stems(["c1"])["c1"]]) == {
        STEM_MARK + s for s in store.stems(["c1"])["c1"]
    }
    entries = store.expand("ال", 50)
    assert entries == sorted(entries) and all(e.startswith("ال") for e in entries) and "الجيش" in entries
    stem = default_analyzer().analyze("النفط")[0].stem
    typo = default_analyzer().analyze("النفظ")[0].stem
    assert STEM_MARK + stem in store.near(STEM_MARK + typo, 1, 500)  # a superset of the marked stems one edit away
    stems = store.stems(["c4"])["c4"]
    assert stems and all(" " not in s for s in stems)
    some = sorted(stems)[:3]
    assert all(store.frequencies(some).counts[s] >= 1 for s in some)


def test_writes_delete_and_read_only_refusals(make_store: Callable[..., Store], store: Store) -> None:
    writer = make_store()
    assert writer.delete(["c5", "nope"]) == 1
    writer.optimize()  # what a job does after its writes: readers see them
    assert "c5" not in writer.hashes() and store.tally(None, Filters()).total == 4
    with pytest.raises(StoreError, match="read-only"):
        store.delete(["c1"])
    for write in (
        lambda: store.new_generation("m", DIM, ANALYSIS_VERSION),
        lambda: store.record_job({"id": "x", "started": "", "status": "ok"}),
        lambda: store.lock("x").__enter__(),
    ):
        with pytest.raises(StoreError, match="read-only"):
            write()


def test_generations_lock_and_job_history(make_store: Callable[..., Store], store: Store) -> None:
    writer = make_store()
    gen = writer.new_generation("contract-model", DIM, ANALYSIS_VERSION)
    assert gen.target and not any(g.active and g.name == gen.target for g in writer.generations())
    writer.activate(str(gen.target))
    assert [g.name for g in writer.generations() if g.active] == [gen.target] and writer.info().articles == 0
    with writer.lock("job-1"):
        with pytest.raises(StoreLocked):
            with make_store().lock("job-2"):
                pass
    writer.record_job({"id": "a", "started": "2026-01-01T00:00:00", "status": "ok", "mode": "incremental"})
    writer.record_job({"id": "b", "started": "2026-01-02T00:00:00", "status": "ok", "mode": "incremental"})
    writer.record_job({"id": "a", "started": "2026-01-01T00:00:00", "status": "partial", "mode": "incremental"})
    jobs = writer.jobs(10)
    assert [j["id"] for j in jobs] == ["b", "a"] and jobs[1]["status"] == "partial"  # replaced by id, newest first


def test_a_new_generation_built_in_batches_holds_each_article_once(make_store: Callable[..., Store]) -> None:
    """A rebuild writes a new generation in batches (LanceDB: appended, its indices built at the
    end); an article that comes twice in one build is updated, not doubled, and after the switch
    the generation answers every kind of read."""
    writer = make_store()
    writer.check_compatible("contract-model", DIM, ANALYSIS_VERSION)
    gen = writer.new_generation("contract-model", DIM, ANALYSIS_VERSION)
    items = {a.id: a for a in articles()}
    gen.upsert([prepare(items[i], np.stack([vector(0)] * len(prepare(items[i]).passages))) for i in ("c1", "c2")])
    changed = Article.make("c1", "هدنة جديدة", "اتفاق على هدنة جديدة في حلب يبدأ غدا", None, "الحياة", "", "news/c1.txt")
    again = [prepare(changed, np.stack([vector(3)] * len(prepare(changed).passages)))]
    again += [prepare(items["c3"], np.stack([vector(1)] * len(prepare(items["c3"]).passages)))]
    gen.upsert(again)
    gen.optimize()
    writer.activate(str(gen.target))
    reader = make_store(read_only=True)
    info = reader.info()
    assert info.articles == 3 and info.passages == sum(len(prepare(a).passages) for a in (changed, items["c2"], items["c3"]))
    assert reader.get(["c1"])["c1"].body == changed.body and reader.hashes()["c1"][0] == changed.content_hash
    assert {h.article_id for h in reader.keyword(tree("هدنة", reader), Filters(), 10)} == {"c1", "c2"}
    assert [h.article_id for h in reader.semantic(vector(3), Filters(), 1)] == ["c1"]
    assert reader.known_terms(sorted(prepare(changed).vocabulary())) == set(prepare(changed).vocabulary())


def test_lancedb_rebuild_leaves_no_old_table_versions(tmp_path: Path) -> None:
    """Each write of a build is a table version; an index in use keeps old ones for readers, a
    new generation (read by nobody yet) drops them when its build is optimized."""
    from archive.store.lance import LanceStore

    root = LanceStore(tmp_path / "lancedb")
    root.check_compatible("contract-model", DIM, ANALYSIS_VERSION)
    gen = root.new_generation("contract-model", DIM, ANALYSIS_VERSION)
    for a, (*_, direction) in zip(articles(), ARTICLES, strict=True):
        gen.upsert([prepare(a, np.stack([vector(direction)] * len(prepare(a).passages)))])
    tables = {name: gen._table(name) for name in ("articles", "passages", "vocab")}  # noqa: SLF001
    assert all(len(t.list_versions()) > 5 for t in tables.values())  # one per write, at least
    assert not tables["articles"].list_indices()  # built once, at the end
    gen.optimize()
    assert all(len(t.list_versions()) <= 2 for t in tables.values()), {n: len(t.list_versions()) for n, t in tables.items()}
    assert {i.name for i in tables["articles"].list_indices()} >= {"stem_idx", "title_stem_idx", "exact_idx", "id_idx"}
