"""Handing the parser's intermediate objects to a process that ends without freeing memory.

A one-shot command (``backlog-bot parse``, ``validate``; see ``bot.cli.app``) exits without
tearing the interpreter down. Freeing a parse's block tree and story drafts object by object
when the parse returns would then be wasted time (about a tenth of the parse of a large
backlog), so such a command asks, before it parses, for them to be kept until the process
ends. Everything else (the service, tests, library use) frees them as usual.
"""

from __future__ import annotations

_kept: list[object] | None = None


def keep_until_exit() -> None:
    """From now on, parses hand their intermediate objects here instead of freeing them."""
    global _kept
    if _kept is None:
        _kept = []


def keep(*objects: object) -> None:
    """Keep ``objects`` alive if the process asked for it; otherwise do nothing."""
    if _kept is not None:
        _kept.append(objects)
