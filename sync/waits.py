"""Waits announced while they happen: who waits, how long, and why.

The GitHub governor and the Jira transport sleep when a limit asks them to (GitHub's
secondary limit, the pacing of content creation, a 429's Retry-After). Those sleeps can last
minutes against github.com; ``backlog-bot apply`` shows them ("GitHub secondary limit, next
write in 12 s") by listening here. With no listener an announcement costs nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Listener = Callable[[str, float, str], None]  # (service, seconds, reason)

_listeners: list[Listener] = []
_lock = threading.Lock()


def announce(service: str, seconds: float, reason: str) -> None:
    """Tell the listeners that ``service`` is about to wait ``seconds`` because of ``reason``."""
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener(service, seconds, reason)


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Receive the announcements made while the block runs."""
    with _lock:
        _listeners.append(listener)
    try:
        yield
    finally:
        with _lock:
            _listeners.remove(listener)
