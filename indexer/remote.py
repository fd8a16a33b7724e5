"""The warm command line's client: ``search`` and ``embed`` asked of a running ``serve`` instead
of loading the model in this process (seconds saved on every call). Standard library only, so
the command line's warm path imports nothing heavy."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from archive.config import API_ENV, API_KEY_ENV

TIMEOUT = 300.0  # an export-sized search on a large archive can take a while


class RemoteError(Exception):
    """The server refused the request (``status`` 4xx/5xx, its message) or did not answer (``status`` 0)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class Remote:
    """A server's ``/v1`` API at ``url``, with the API key from $ARCHIVE_API_KEY when set."""

    def __init__(self, url: str, api_key: str | None = None) -> None:
        self.url = url.rstrip("/")
        self._key = api_key if api_key is not None else os.environ.get(API_KEY_ENV) or None

    def get(self, path: str, params: list[tuple[str, str]]) -> Any:
        return self._call(f"{self.url}{path}?{urllib.parse.urlencode(params)}", None)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._call(f"{self.url}{path}", json.dumps(body).encode())

    def open(self, path: str, params: list[tuple[str, str]]) -> Any:
        """A streamed response (``read``, ``headers``) of ``path``, for bodies too large to hold."""
        return self._request(f"{self.url}{path}?{urllib.parse.urlencode(params)}", None)

    def _call(self, url: str, data: bytes | None) -> Any:
        with self._request(url, data) as response:
            return json.loads(response.read())

    def _request(self, url: str, data: bytes | None) -> Any:
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if self._key:
            headers["X-API-Key"] = self._key
        request = urllib.request.Request(url, data=data, headers=headers, method="POST" if data is not None else "GET")
        try:
            return urllib.request.urlopen(request, timeout=TIMEOUT)
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read()).get("error") or exc.reason
            except (ValueError, AttributeError):
                message = exc.reason
            raise RemoteError(f"the server at {self.url} answered {exc.code}: {message}", exc.code) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RemoteError(
                f"no server answers at {self.url} ({reason}): start one with `python -m indexer serve`, "
                f"or search in this process with --no-api (or unset ${API_ENV})"
            ) from None
