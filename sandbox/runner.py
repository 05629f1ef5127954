"""Serve an ASGI app over real HTTP on loopback, in a background thread, on a free port.

Used by tests, by ``backlog-bot sandbox`` and by ``backlog-bot demo``. Loopback only.
"""

from __future__ import annotations

import asyncio
import contextlib
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


class _Server(uvicorn.Server):
    """uvicorn's server that stops as soon as it is told to.

    uvicorn notices ``should_exit`` on its next 0.1 s tick, then sleeps 0.1 s more and polls
    every 0.1 s for connections and tasks to finish: about 0.2 s per stop, paid by every test
    that starts an emulator. Here ``request_stop`` wakes the loop at once and the shutdown waits
    for the same conditions (connections closed, tasks done, within the graceful-shutdown
    timeout) by polling every 5 ms.
    """

    POLL_SECONDS = 0.005

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    def request_stop(self) -> None:
        """Stop serving (from any thread)."""
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already finished
                loop.call_soon_threadsafe(wake.set)

    async def main_loop(self) -> None:
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            # uvicorn's once-a-tenth-of-a-second housekeeping, or at once when told to stop
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)
            should_exit = await self.on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        state = self.server_state
        for connection in list(state.connections):
            connection.shutdown()
        grace = self.config.timeout_graceful_shutdown
        deadline = None if grace is None else time.monotonic() + grace
        while (state.connections or state.tasks) and not self.force_exit:
            if deadline is not None and time.monotonic() > deadline:
                for task in state.tasks:
                    task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")
                break
            await asyncio.sleep(self.POLL_SECONDS)
        for server in self.servers:
            await server.wait_closed()
        if not self.force_exit:
            await self.lifespan.shutdown()


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
        self._server = _Server(config)
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
        self._server.request_stop()
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
