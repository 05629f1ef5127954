"""Webhook handlers loaded by name into a real ``backlog-bot serve`` subprocess in tests
(``WEBHOOK_HANDLER_MODULES=tests.service_handlers:register``).

Each handler appends ``start ID`` and, after ``BACKLOG_BOT_TEST_HANDLER_SECONDS``, ``done ID``
to the file named by ``BACKLOG_BOT_TEST_JOURNAL`` — so a test can kill the process mid-way and
see what happened.
"""

from __future__ import annotations

import os
import time

from bot.service.inbox import Delivery
from bot.service.worker import HandlerRegistry


def register(registry: HandlerRegistry) -> None:
    registry.add("github", "issues", journal)


def register_jira(registry: HandlerRegistry) -> None:
    registry.add("jira", None, journal)


def journal(delivery: Delivery) -> None:
    path = os.environ["BACKLOG_BOT_TEST_JOURNAL"]
    _append(path, f"start {delivery.delivery_id}")
    time.sleep(float(os.environ.get("BACKLOG_BOT_TEST_HANDLER_SECONDS", "0")))
    _append(path, f"done {delivery.delivery_id}")


def _append(path: str, line: str) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())
