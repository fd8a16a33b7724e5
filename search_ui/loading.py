"""The embedding model, loaded in a background thread as soon as the app starts: loading takes
seconds (10–12 s on 2 cores), and a first search should not wait for it. Until it is ready the
app answers with keyword results and says so."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class BackgroundLoad(Generic[T]):
    """``make()`` run once in a daemon thread; ``get()`` waits for it and returns (or raises)
    what it gave."""

    def __init__(self, make: Callable[[], T]) -> None:
        self.started = time.monotonic()
        self._value: T | None = None
        self._error: BaseException | None = None
        self._done = threading.Event()
        threading.Thread(target=self._run, args=(make,), name="model-load", daemon=True).start()

    def _run(self, make: Callable[[], T]) -> None:
        try:
            self._value = make()
        except BaseException as exc:  # noqa: BLE001 - handed to whoever calls get()
            self._error = exc
        finally:
            self._done.set()

    def ready(self) -> bool:
        """Finished, well or not (a failure is raised by ``get``)."""
        return self._done.is_set()

    def seconds(self) -> float:
        """How long it has been loading."""
        return time.monotonic() - self.started

    def get(self) -> T:
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]
