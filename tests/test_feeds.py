"""News feeds as job sources, against a local HTTP server (127.0.0.1 only) that serves RSS and Atom
feeds, article pages and every kind of broken one."""

from __future__ import annotations

import html
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from archive.config import ConfigError
from archive.embeddings import Embedder
from archive.ingest import Fetcher, FetchError, read_feed
from archive.jobs import JobRunner, load_config
from archive.model import Article
from archive.store import open_store

from .conftest import run_cli

WORDS = {"a1": "حلب", "a2": "دمشق", "a3": "حمص", "a4": "اللاذقية", "b1": "بيروت", "b2": "عمان"}


def page(key: str) -> bytes:
    w = WORDS[key]
    paras = "".join(
        f"<p>{html.escape(t)}</p>"
        for t in (
            f"شهدت مدينة {w} اليوم تطورات ميدانية متسارعة بعد أسابيع من الهدوء النسبي في أحيائها.",
            f"وقال سكان من {w} إن الأسواق أغلقت أبوابها مبكرا، وإن حركة السير توقفت في الشوارع الرئيسية.",
            f"ودعت منظمات إنسانية إلى تأمين ممرات آمنة للمدنيين في {w} وضواحيها قبل حلول الشتاء.",
        )
    )
    return (
        f"<html><head><title>خبر {w} | الموقع</title></head><body><nav><a href='/'>القائمة</a></nav>"
        f"<article><h1>خبر {w}</h1>{paras}</article><footer>جميع الحقوق محفوظة</footer></body></html>"
    ).encode()


class Site:
    """The feeds and pages, how often each path was asked for, and what the RSS feed lists."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.rss_items = [
            *("a1", "a2", "redirect", "missing", "error", "slow", "big", "huge", "loop", "pdf", "private/x", "to-private")
        ]
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - the http.server interface
                path = self.path.lstrip("/")
                site.hits[path] += 1
                site.serve(self, path)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a client that gave up (the timeout, the size cap) is what those pages test

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def rss(self) -> bytes:
        items = "".join(
            f"<item><title>عنوان {WORDS.get(k, k)}</title><link>{self.url}/{k}</link>"
            f"<pubDate>Tue, 0{1 + i % 8} Mar 2016 10:00:00 GMT</pubDate></item>"
            for i, k in enumerate(self.rss_items)
        )
        return f'<?xml version="1.0"?><rss version="2.0"><channel><title>وكالة الأنباء</title>{items}</channel></rss>'.encode()

    def atom(self) -> bytes:
        entries = "".join(
            f"<entry><title>مدخل {WORDS[k]}</title><link href='{self.url}/{k}'/><id>{k}</id>"
            "<updated>2016-03-05T08:00:00Z</updated></entry>"
            for k in ("b1", "b2")
        )
        return f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>شبكة</title>{entries}</feed>'.encode()

    def serve(self, h: BaseHTTPRequestHandler, path: str) -> None:
        def send(code: int, body: bytes, ctype: str = "text/html; charset=utf-8", **headers: str) -> None:
            h.send_response(code)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", headers.pop("length", str(len(body))))
            for k, v in headers.items():
                h.send_header(k, v)
            h.end_headers()
            if body:
                h.wfile.write(body)

        if path == "robots.txt":
            send(200, b"User-agent: *\nDisallow: /private/\n", "text/plain")
        elif path == "rss.xml":
            send(200, self.rss(), "application/rss+xml")
        elif path == "atom.xml":
            send(200, self.atom(), "application/atom+xml")
        elif path == "bad.xml":
            send(200, b"<rss><channel><title>broken", "application/rss+xml")
        elif path in WORDS:
            send(200, page(path))
        elif path == "redirect":
            send(302, b"", Location="/a3")
        elif path == "to-private":
            send(302, b"", Location="/private/y")
        elif path == "loop":
            send(302, b"", Location="/loop")
        elif path == "error":
            send(500, b"oops")
        elif path == "slow":
            time.sleep(2.5)
            send(200, page("a1"))
        elif path == "big":  # declares its size
            send(200, b"", length=str(50 * 2**20))
        elif path == "huge":  # streams past the cap without declaring it
            h.send_response(200)
            h.send_header("Content-Type", "text/html")
            h.end_headers()
            try:
                for _ in range(12 * 16):
                    h.wfile.write(b"<p>" + b"x" * 65530 + b"</p>")
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif path == "pdf":
            send(200, b"%PDF-1.4 ...", "application/pdf")
        else:
            send(404, b"not here")


@pytest.fixture
def site() -> Iterator[Site]:
    s = Site()
    yield s
    s.server.shutdown()


def job(tmp_path: Path, site: Site, extra: str = "allow_private = true\ndelay = 0\ntimeout = 1\n") -> Path:
    f = tmp_path / "feeds.toml"
    f.write_text(
        "".join(
            f'[[sources]]\nname = "{name}"\nfeed = "{site.url}/{path}"\n{extra}\n'
            for name, path in (("wire", "rss.xml"), ("net", "atom.xml"), ("broken", "bad.xml"))
        ),
        encoding="utf-8",
    )
    return f


def test_feeds_are_indexed_every_failure_named_and_a_second_run_fetches_only_new_entries(
    site: Site, tmp_path: Path, embedder: Embedder
) -> None:
    store = open_store(tmp_path / "data", backend="lancedb")
    config = load_config(job(tmp_path, site))
    rec = JobRunner(store, embedder).run(config)
    assert rec.status == "partial" and rec.added == 5, rec.errors  # a1, a2, a3 (redirected), b1, b2
    errors = "\n".join(rec.errors)
    for path, why in [
        ("missing", "HTTP 404"),
        ("error", "HTTP 500"),
        ("slow", "timed out"),
        ("big", "over the 10 MiB limit"),
        ("huge", "over the 10 MiB limit"),
        ("loop", "more than 5 redirects"),
        ("pdf", "not an HTML page (application/pdf)"),
        ("private/x", "robots.txt"),
        ("to-private", "robots.txt disallows"),
        ("bad.xml", "not an RSS or Atom feed"),
    ]:
        assert f"{site.url}/{path}: " in errors and why in errors.split(f"{site.url}/{path}: ")[1].split("\n")[0], (path, errors)
    assert site.hits["private/x"] == site.hits["private/y"] == 0  # not even a redirect reaches a disallowed path
    assert site.hits["robots.txt"] == 1  # asked once per run and host

    found = {a.url: a for a in store.get(list(store.hashes())).values()}
    a1 = found[f"{site.url}/a1"]
    assert a1.title == "عنوان حلب" and a1.source == "وكالة الأنباء" and a1.published_at is not None
    assert a1.published_at.date().isoformat() == "2016-03-01" and a1.path == f"wire/{site.url}/a1"
    assert "القائمة" not in a1.body and "جميع الحقوق" not in a1.body and "حلب" in a1.body
    assert found[f"{site.url}/a3"].title == "عنوان redirect"  # the feed's title; the page reached by its redirect
    assert found[f"{site.url}/b1"].source == "شبكة"

    # the feed moves on: a1 leaves it, a4 arrives; only a4 (and what failed before) is fetched
    before = Counter(site.hits)
    site.rss_items = ["a4", "a2", "redirect", "missing"]
    rec = JobRunner(store, embedder).run(config)
    asked = site.hits - before
    assert rec.added == 1 and rec.deleted == 0, rec.errors
    assert asked["a4"] == 1 and asked["a2"] == 0 and asked["redirect"] == 0 and asked["b1"] == 0
    assert asked["missing"] == 1  # a failed entry is tried again
    assert any("already indexed: not fetched again" in n for n in rec.notes)
    assert f"{site.url}/a1" in {a.url for a in store.get(list(store.hashes())).values()}  # a feed is a window

    # a full rebuild keeps what left the feed: the archive's, not the feed's
    rec = JobRunner(store, embedder).run(config, full=True)
    assert rec.switched and rec.deleted == 0
    assert len(store.hashes()) == 6 and f"{site.url}/a1" in {a.url for a in store.get(list(store.hashes())).values()}


def test_private_addresses_and_other_schemes_are_refused(site: Site, tmp_path: Path) -> None:
    fetcher = Fetcher(delay=0, timeout=1)  # allow_private is off by default
    with pytest.raises(FetchError, match="private address"):
        fetcher.get(f"{site.url}/rss.xml")
    assert site.hits["rss.xml"] == 0
    for url in ("file:///etc/passwd", "ftp://example.org/feed"):
        with pytest.raises(FetchError, match="only http and https"):
            Fetcher(allow_private=True).get(url)
    items = list(read_feed(f"{site.url}/rss.xml", "wire", Fetcher(delay=0, timeout=1)))
    assert len(items) == 1 and "private address" in str(items[0]) and f"{site.url}/rss.xml" in str(items[0])
    bad = tmp_path / "bad.toml"
    bad.write_text('[[sources]]\nfeed = "file:///etc/passwd"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="feed: an http"):
        load_config(bad)


def test_requests_to_one_host_wait_their_turn(site: Site) -> None:
    fetcher = Fetcher(allow_private=True, delay=0.3, timeout=5)
    t0 = time.monotonic()
    for k in ("a1", "a2", "a3"):
        fetcher.get(f"{site.url}/{k}")
    assert time.monotonic() - t0 >= 0.9  # robots.txt, then three pages, 0.3 s apart
    assert fetcher.requests == 4


def test_a_feed_entry_is_an_article_like_any_other(site: Site) -> None:
    site.rss_items = ["a1"]
    [article] = [
        i for i in read_feed(f"{site.url}/rss.xml", "wire", Fetcher(allow_private=True, delay=0)) if isinstance(i, Article)
    ]
    assert article.id.startswith("u-") and article.url == f"{site.url}/a1" and article.content_hash


def test_the_command_line_reports_a_partial_feed_job(site: Site, tmp_path: Path, cli_data: Path) -> None:
    site.rss_items = ["a1", "missing"]
    res = run_cli("reindex", "--config", str(job(tmp_path, site)), "--quiet", data_dir=cli_data)
    assert res.returncode == 1, res.stderr  # partial: some entries failed, the rest indexed
    assert f"{site.url}/missing: HTTP 404" in res.stderr and "indexed 3 new" in res.stdout
