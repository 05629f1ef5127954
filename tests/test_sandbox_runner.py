"""The loopback server the emulators run on: it stops without uvicorn's tick delays, yet a
request in flight still gets its whole answer and the app's shutdown still runs."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from sandbox.runner import ServedApp


def test_a_request_in_flight_is_answered_and_the_shutdown_hook_runs() -> None:
    entered = threading.Event()
    events: list[str] = []

    async def slow(request: Request) -> PlainTextResponse:
        entered.set()
        await asyncio.sleep(0.5)
        return PlainTextResponse("finished")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        events.append("startup")
        yield
        events.append("shutdown")

    app = Starlette(routes=[Route("/slow", slow)], lifespan=lifespan)
    served = ServedApp(app, lifespan="on").start()
    answers: list[httpx.Response] = []
    client = threading.Thread(target=lambda: answers.append(httpx.get(served.url + "/slow")))
    client.start()
    assert entered.wait(10)
    started = time.monotonic()
    served.stop()
    client.join(10)
    assert [(a.status_code, a.text) for a in answers] == [(200, "finished")]
    assert time.monotonic() - started < 5  # it waited for the answer, not for a timeout
    assert events == ["startup", "shutdown"]


def test_an_idle_server_with_a_kept_alive_connection_stops_and_frees_its_port() -> None:
    app = Starlette(routes=[Route("/", lambda request: PlainTextResponse("hi"))])
    served = ServedApp(app).start()
    with httpx.Client() as client:  # keeps its connection open
        assert client.get(served.url + "/").text == "hi"
        served.stop()
        try:
            client.get(served.url + "/", timeout=2)
        except httpx.TransportError:
            pass
        else:
            raise AssertionError("the server still answers after stop()")
