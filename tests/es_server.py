"""A local Elasticsearch-compatible server for tests: noida-db (PyPI) on a free port, its data in
a temp dir (docs/architecture.md decision 7). With $ES_URL set, tests use that cluster instead."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import time
import urllib.request
from importlib.resources import files
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NoidaServer:
    """``noida-db start --only elasticsearch`` in the foreground; ``stop()`` ends it."""

    def __init__(self, data_dir: Path) -> None:
        binary = Path(str(files("noida_db").joinpath("noida-db")))
        binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir / "noida.log"
        self._log = open(self.log, "wb")
        self.proc = subprocess.Popen(
            [
                str(binary),
                "start",
                "--data-dir",
                str(data_dir),
                "--only",
                "elasticsearch",
                "--elasticsearch-port",
                str(self.port),
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(os.environ, NO_COLOR="1"),
        )
        self._wait()

    def _wait(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"noida-db exited ({self.proc.returncode}): {self.log.read_text(errors='replace')}")
            try:
                with urllib.request.urlopen(self.url, timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"noida-db did not answer on {self.url} within {timeout:.0f}s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
