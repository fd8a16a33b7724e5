"""The semantic relevance floor (archive/relevance.py): the rule on made-up vectors, then the
calibrated floor with the real model on the seed passages."""

from __future__ import annotations

import numpy as np
import pytest

from archive import relevance
from archive.config import model_cache
from archive.embeddings import Embedder
from archive.ingest import iter_articles
from archive.model import Article
from archive.pipeline import passage_texts, prepare
from archive.relevance import Floor, background_texts, default_floor, query_script, semantic_floor

from .conftest import SEEDS


def unit(*xs: float) -> np.ndarray:
    v = np.array(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_query_script() -> None:
    assert query_script("حلب") == "arabic"
    assert query_script("Aleppo battle") == "latin"
    assert query_script("xqzwv") == "latin"
    assert query_script("12345") == "latin"
    assert query_script("معركة Aleppo حلب") == "arabic"


def test_background_texts_cover_both_languages() -> None:
    texts = background_texts()
    arabic = [t for t in texts if query_script(t) == "arabic"]
    assert len(arabic) >= 150 and len(texts) - len(arabic) >= 150
    assert len(set(texts)) == len(texts)
    assert not any(t.startswith("#") for t in texts)


def test_calibrated_defaults() -> None:
    floor = Floor()
    q = unit(1, 0, 0)
    assert floor.gate and floor.gap == 0.05 and floor.statistic is None
    assert floor.threshold(q, "حلب") == 0.835 and floor.threshold(q, "Aleppo") == 0.79
    with pytest.raises(ValueError):
        floor.threshold(q)  # a per-script floor needs the query text
    assert floor.mask(q, [0.84, 0.80, 0.78], "حلب").tolist() == [True, True, False]
    assert not floor.mask(q, [0.83, 0.82], "حلب").any()
    assert floor.mask(q, [0.83, 0.82], "Aleppo").all()


def test_null_model_threshold_is_background_max_plus_margin() -> None:
    bg = np.stack([unit(1, 0, 0), unit(0, 1, 0)])
    q = unit(1, 1, 0.2)  # cosine to each background vector ~0.70
    floor = Floor(background=bg, statistic="max", margin=0.05, absolute_by_script=None, gate=False, gap=None)
    t = floor.threshold(q)
    assert t == pytest.approx(float((bg @ q).max()) + 0.05, abs=1e-6)
    assert floor.passes(t + 0.001, q) and not floor.passes(t - 0.001, q)
    assert floor.mask(q, [t + 0.01, t - 0.01]).tolist() == [True, False]
    assert semantic_floor(q, np.array([]), floor).size == 0


def test_z_statistic_absolute_and_gap() -> None:
    bg = np.stack([unit(1, 0, 0), unit(0, 1, 0), unit(0, 0, 1)])
    q = unit(1, 0.5, 0)
    sims = bg @ q
    plain = {"absolute_by_script": None, "gate": False, "gap": None}
    z = Floor(background=bg, statistic="z", margin=2.0, **plain)
    assert z.threshold(q) == pytest.approx(float(sims.mean() + 2.0 * sims.std()), abs=1e-6)
    assert Floor(absolute=0.8, **plain).threshold(q) == 0.8  # no background: the absolute floor alone
    assert Floor(**plain).threshold(q) == -np.inf
    gap = Floor(absolute_by_script=None, gate=False, gap=0.05)
    assert gap.mask(q, [0.9, 0.86, 0.84]).tolist() == [True, True, False]
    assert gap.passes(0.84, q) and not gap.passes(0.84, q, best=0.9)
    with pytest.raises(ValueError):
        Floor(background=bg, statistic="median", **plain).threshold(q)
    assert Floor(background=bg, margin=0.01, gap=0.1).as_dict()["background"] == 3


# --------------------------------------------------------------------------- with the model
OFF_TOPIC = [
    "لللل",
    "asdfghjkl",
    "ب",
    "المنتخب",
    "الطقس غدا",
    "football world cup final",
    "chocolate cake recipe",
    "سعر البيتكوين اليوم",
    "أفضل هاتف ذكي",
    "stock market today",
    "طريقة عمل البيتزا",
    "netflix series",
    "تعلم البرمجة بلغة بايثون",
]
# Latin nonsense the calibrated floor still lets through on the seeds (bench/calibration.py
# measured it: best cosine 0.790-0.80 against the Latin floor 0.79); the floor's known miss.
LATIN_NONSENSE_MISSED = ["xqzwv", "kkkkk", "vvv www", "zq zq zq"]
ON_TOPIC = [
    "حلب",
    "معركة حلب",
    "التحالف الدولي",
    "حزب الله",
    "الدعم الإيراني لنظام الأسد",
    "Aleppo battle",
    "Hezbollah",
    "Russian air strikes in Syria",
    "war in Syria",
]


@pytest.fixture(scope="module")
def seed_passages(embedder: Embedder) -> np.ndarray:
    """The seed passages as the indexer embeds them."""
    items = [prepare(a) for a in iter_articles([SEEDS]) if isinstance(a, Article)]
    assert len(items) == 5
    return embedder.passages(passage_texts(items))


@pytest.fixture(scope="module")
def floor(embedder: Embedder) -> Floor:
    return default_floor(embedder, model_cache())


@pytest.mark.slow
def test_background_vectors_are_cached_next_to_the_model(embedder: Embedder) -> None:
    null = default_floor(embedder, model_cache(), statistic="max", margin=0.0)  # the null model, configured
    assert null.background is not None and null.background.shape == (len(background_texts()), embedder.dim)
    assert len(list(model_cache().glob("background-*.npy"))) == 1
    calls = embedder.calls
    again = relevance.background_vectors(embedder, model_cache())
    assert embedder.calls == calls  # read from the cache, nothing embedded
    assert np.array_equal(again, null.background)
    arabic = relevance.background_vectors(embedder, model_cache(), scripts=("arabic",))
    assert 150 <= len(arabic) < len(again) and embedder.calls == calls


@pytest.mark.slow
def test_nonsense_and_off_topic_queries_pass_no_seed_passage(embedder: Embedder, seed_passages: np.ndarray, floor: Floor) -> None:
    passed = {}
    for q, v in zip(OFF_TOPIC, embedder.queries(OFF_TOPIC), strict=True):
        scores = seed_passages @ v
        passed[q] = (int(semantic_floor(v, scores, floor, q).sum()), round(float(scores.max()), 3), floor.threshold(v, q))
    assert all(n == 0 for n, _, _ in passed.values()), passed


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="measured miss of the calibrated floor: Latin nonsense scores ~0.79 on the seeds")
def test_latin_nonsense_passes_no_seed_passage(embedder: Embedder, seed_passages: np.ndarray, floor: Floor) -> None:
    vecs = embedder.queries(LATIN_NONSENSE_MISSED)
    assert all(not semantic_floor(v, seed_passages @ v, floor, q).any() for q, v in zip(LATIN_NONSENSE_MISSED, vecs, strict=True))


@pytest.mark.slow
def test_on_topic_queries_keep_their_top_hits(embedder: Embedder, seed_passages: np.ndarray, floor: Floor) -> None:
    kept = {}
    for q, v in zip(ON_TOPIC, embedder.queries(ON_TOPIC), strict=True):
        scores = seed_passages @ v
        mask = semantic_floor(v, scores, floor, q)
        kept[q] = (bool(mask[int(np.argmax(scores))]), int(mask.sum()), round(float(scores.max()), 3), floor.threshold(v, q))
    assert all(top for top, _, _, _ in kept.values()), kept


def test_gate_judges_the_query_by_its_best_hit() -> None:
    gate = Floor(absolute=0.8, absolute_by_script=None, gate=True, gap=0.1)
    q = unit(1, 0, 0)
    assert gate.mask(q, [0.85, 0.78, 0.70]).tolist() == [True, True, False]  # best passes: gap cuts
    assert gate.mask(q, [0.79, 0.78]).tolist() == [False, False]  # best below: no matches
    assert gate.passes(0.78, q, best=0.85) and not gate.passes(0.78, q)
    assert Floor(absolute=0.8, absolute_by_script=None, gate=True, gap=None).mask(q, [0.81, 0.5]).tolist() == [True, True]
