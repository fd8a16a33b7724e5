"""A small fault-injecting HTTP proxy on 127.0.0.1 for backend-fault tests: it forwards requests
to an upstream server, and a ``policy`` decides per request whether to answer 429/503 instead,
to drop the connection without an answer, or to forward the request and then drop the answer."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# an HTTP status to answer, (status, JSON body) to answer that, "close" to drop the connection,
# "lost" to forward the request, then drop the connection instead of answering (a lost response),
# a float: seconds to wait before forwarding (a slow backend), None to forward the request
Fault = int | tuple[int, bytes] | str | float | None
Policy = Callable[[str, str], Fault]  # (method, path) -> fault


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that time out or drop connections are what the tests do on purpose


class FaultProxy:
    def __init__(self, upstream: str, policy: Policy) -> None:
        self.upstream = urlsplit(upstream)
        self.policy = policy
        self.faults: dict[str, int] = {}
        self.forwarded = 0
        self._lock = threading.Lock()
        self.server = _QuietServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _count(self, key: str) -> None:
        with self._lock:
            self.faults[key] = self.faults.get(key, 0) + 1

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fault = proxy.policy(self.command, self.path)
                if isinstance(fault, float):
                    proxy._count("delay")
                    time.sleep(fault)
                elif fault == "close":
                    proxy._count("close")
                    self.close_connection = True
                    self.connection.close()
                    return
                elif isinstance(fault, (int, tuple)):
                    status, payload = (
                        fault
                        if isinstance(fault, tuple)
                        else (
                            fault,
                            b'{"error":{"type":"injected_fault","reason":"injected by the test proxy"},"status":%d}' % fault,
                        )
                    )
                    proxy._count(str(status))
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("X-Elastic-Product", "Elasticsearch")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                conn = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                conn.request(self.command, self.path, body=body or None, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                with proxy._lock:
                    proxy.forwarded += 1
                conn.close()
                if fault == "lost":
                    proxy._count("lost")
                    self.close_connection = True
                    self.connection.close()
                    return
                try:
                    self.send_response(resp.status)
                    for k, v in resp.getheaders():
                        if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                            self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting (a timeout test)
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any

        return Handler

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
