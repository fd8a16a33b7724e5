"""News feeds (RSS 2.0, Atom) as sources: each entry's page fetched and its article extracted.

Fetching is polite and safe: robots.txt obeyed (a 4xx robots.txt allows all, an unreachable or
failing one allows nothing, as RFC 9309 says), one request at a time per host with a delay (the
larger of the job's and robots.txt's crawl-delay), a User-Agent that names the archive, timeouts
(per read and per response), a size cap, redirects bounded and each hop checked again, only
http(s), and private, loopback and link-local addresses refused unless the source allows them.
Every entry that fails is reported by its URL; the others are indexed. Entries already indexed
(by URL) are not fetched again: a feed is a window, so an entry that leaves it is never deleted.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import urllib.robotparser
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

from archive.ingest.decoding import decode
from archive.ingest.files import Notice, Rejected, checked, stable_id
from archive.ingest.pages import parse_html
from archive.model import Article

USER_AGENT = "arabic-news-archive/1.0 (feed reader; robots.txt obeyed)"
TIMEOUT = 20.0  # seconds, per read and for a whole response
MAX_BYTES = 10 * 2**20  # a news page or a feed; larger is not one
MAX_REDIRECTS = 5
DELAY = 1.0  # seconds between two requests to one host
HTML_TYPES = ("text/html", "application/xhtml+xml")


class FetchError(Exception):
    """A URL that could not be fetched, and why (the message names no URL: the caller does)."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:  # each hop is checked by Fetcher
        return None


@dataclass
class Fetcher:
    """One job's HTTP client: the rules above, a robots.txt per host, a request count."""

    allow_private: bool = False
    delay: float = DELAY
    timeout: float = TIMEOUT
    max_bytes: int = MAX_BYTES
    user_agent: str = USER_AGENT
    requests: int = 0
    # per host: shared by the fetchers of one job, so sources on one site share its turns and its robots.txt
    last_request: dict[str, float] = field(default_factory=dict)
    robots: dict[str, urllib.robotparser.RobotFileParser | bool] = field(default_factory=dict)  # bool: all or none

    def get(self, url: str) -> tuple[str, bytes, str]:
        """(final URL, body, content type) of ``url``, or ``FetchError``."""
        self._check(url)
        if not self._allowed(url):
            raise FetchError("disallowed by the site's robots.txt")
        return self._fetch(url)

    def _check(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise FetchError(f"{parts.scheme or 'no'} scheme: only http and https are fetched")
        host = parts.hostname
        if not host:
            raise FetchError("no host in the URL")
        if self.allow_private:
            return
        try:
            infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80), proto=socket.IPPROTO_TCP)
        except socket.gaierror as exc:
            raise FetchError(f"cannot resolve {host}: {exc.strerror or exc}") from None
        for info in infos:
            ip = ipaddress.ip_address(info[4][0])
            if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast or ip.is_unspecified:
                raise FetchError(f"{host} is a private address ({ip}): refused (allow_private = true in the source allows it)")

    def _allowed(self, url: str) -> bool:
        parts = urllib.parse.urlsplit(url)
        site = f"{parts.scheme}://{parts.netloc}"
        if site not in self.robots:
            rules: urllib.robotparser.RobotFileParser | bool = urllib.robotparser.RobotFileParser()
            try:
                _, body, _ = self._fetch(site + "/robots.txt", obey=False)
                rules.parse(body.decode("utf-8", errors="replace").splitlines())  # type: ignore[union-attr]
            except FetchError as exc:  # no robots.txt (4xx): all allowed; an unreachable or failing one: none
                rules = str(exc).startswith("HTTP 4")
            self.robots[site] = rules
        rules = self.robots[site]
        return rules if isinstance(rules, bool) else rules.can_fetch(self.user_agent, url)

    def _wait(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        rules = self.robots.get(f"{parts.scheme}://{parts.netloc}")
        asked = rules.crawl_delay(self.user_agent) if isinstance(rules, urllib.robotparser.RobotFileParser) else None
        delay = max(self.delay, float(asked or 0))
        pause = self.last_request.get(parts.netloc, -1e9) + delay - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        self.last_request[parts.netloc] = time.monotonic()

    def _fetch(self, url: str, obey: bool = True) -> tuple[str, bytes, str]:
        """``url`` with its redirects followed, each hop checked (and, when ``obey``, allowed by
        its site's robots.txt: a redirect may lead to another site)."""
        opener = urllib.request.build_opener(_NoRedirects)
        for _ in range(MAX_REDIRECTS + 1):
            self._wait(url)
            self.requests += 1
            request = urllib.request.Request(url, headers={"User-Agent": self.user_agent, "Accept": "*/*"})
            try:
                response = opener.open(request, timeout=self.timeout)
            except urllib.error.HTTPError as exc:
                location = exc.headers.get("Location") if exc.code in (301, 302, 303, 307, 308) else None
                exc.close()
                if location:
                    url = urllib.parse.urljoin(url, location)
                    self._check(url)
                    if obey and not self._allowed(url):
                        raise FetchError(f"redirected to {url}, which the site's robots.txt disallows") from None
                    continue
                raise FetchError(f"HTTP {exc.code} {exc.reason}") from None
            except (urllib.error.URLError, OSError) as exc:
                raise FetchError(f"cannot fetch: {getattr(exc, 'reason', exc)}") from None
            with response:
                return response.geturl(), self._body(response), response.headers.get_content_type()
        raise FetchError(f"more than {MAX_REDIRECTS} redirects")

    def _body(self, response: Any) -> bytes:
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError(f"{int(declared) / 1e6:.0f} MB, over the {self.max_bytes // 2**20} MiB limit")
        deadline = time.monotonic() + self.timeout
        chunks, size = [], 0
        try:
            while chunk := response.read(65536):
                size += len(chunk)
                if size > self.max_bytes:
                    raise FetchError(f"over the {self.max_bytes // 2**20} MiB limit")
                if time.monotonic() > deadline:
                    raise FetchError(f"timed out: the response took over {self.timeout:.0f} s")
                chunks.append(chunk)
        except (TimeoutError, OSError) as exc:
            raise FetchError(f"timed out or cut off while reading ({exc})") from None
        return b"".join(chunks)


def _when(entry: Any) -> dt.datetime | None:
    t = entry.get("published_parsed") or entry.get("updated_parsed")
    return dt.datetime(*t[:6]) if t else None  # feedparser gives UTC


def read_feed(
    feed: str, name: str, fetcher: Fetcher, publisher: str = "", known: Collection[str] = ()
) -> Iterator[Article | Rejected | Notice]:
    """The articles of a feed's entries (ids from the entries' links, stored under ``name/link``,
    ``url`` the page a redirect led to), each failure a ``Rejected`` naming the link; entries
    whose id is in ``known`` are not fetched."""
    import feedparser

    try:
        base, body, _ = fetcher.get(feed)
    except FetchError as exc:
        yield Rejected(feed, f"feed: {exc}")
        return
    parsed = feedparser.parse(body)
    if not parsed.entries:
        why = parsed.get("bozo_exception") if parsed.get("bozo") else "no entries"
        yield Rejected(feed, f"not an RSS or Atom feed with entries ({why})")
        return
    channel = parsed.feed.get("title", "")
    skipped = 0
    for entry in parsed.entries:
        link = entry.get("link")
        if not link:
            yield Rejected(feed, f"entry {entry.get('title', '')!r} has no link")
            continue
        url = urllib.parse.urljoin(base, link)
        aid = stable_id("u", url)
        if aid in known:
            skipped += 1
            continue
        try:
            final, page, ctype = fetcher.get(url)
            if ctype not in HTML_TYPES:
                raise FetchError(f"not an HTML page ({ctype})")
            text, _encoding = decode(page)
        except (FetchError, ValueError) as exc:
            yield Rejected(url, str(exc))
            continue
        article = parse_html(text, publisher)
        source = (entry.get("source") or {}).get("title") or channel or article.source or publisher
        if not article.body:
            yield Rejected(url, "no article text on the page")
            continue
        yield from (Notice(url, n) for n in article.notes)
        title, when = entry.get("title") or article.title, _when(entry) or article.published
        yield from checked(Article.make(aid, title, article.body, when, source, final, f"{name}/{url}"), url)
    if skipped:
        yield Notice(feed, f"{skipped} entries already indexed: not fetched again")
