"""Serve an ASGI app over real HTTP on loopback, in a background thread, on a free port.

Used by tests, by ``backlog-bot sandbox`` and by ``backlog-bot demo``. Loopback only.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal, Self

import uvicorn

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class ServedApp:
    """An ASGI app running under uvicorn in a daemon thread; ``url`` is its base URL.

    ``lifespan="on"`` runs the app's startup/shutdown (the service's inbox worker).
    """

    def __init__(
        self,
        app: Any,
        *,
        host: str = LOOPBACK,
        port: int | None = None,
        lifespan: Literal["auto", "on", "off"] = "off",
    ) -> None:
        if host not in (LOOPBACK, "localhost", "::1"):
            raise ValueError("sandbox servers listen on loopback only")
        self.host = host
        self.port = port or free_port(host)
        self.url = f"http://{host}:{self.port}"
        config = uvicorn.Config(
            app, host=host, port=self.port, log_level="warning", access_log=False, lifespan=lifespan
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=f"sandbox:{self.port}")
        self._thread.daemon = True

    def start(self, timeout: float = 10.0) -> ServedApp:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"sandbox server on {self.url} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> ServedApp:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class SandboxControl:
    """Base of an emulator's control object: it serves its app with :class:`ServedApp`
    between ``start()`` and ``stop()`` (or as a context manager) and knows its ``url``."""

    label = "sandbox"
    _served: ServedApp | None = None

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def _stop_served(self) -> None:
        if self._served is not None:
            self._served.stop()
            self._served = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._served is None:
            raise RuntimeError(f"the {self.label} is not running; call start()")
        return self._served.url


@contextmanager
def serve(app: Any) -> Iterator[ServedApp]:
    """``with serve(app) as served: httpx.get(served.url + "/...")``."""
    served = ServedApp(app).start()
    try:
        yield served
    finally:
        served.stop()
