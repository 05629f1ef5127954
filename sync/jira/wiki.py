"""Backlog text inside Jira wiki markup, shown as written.

backlog-bot sends Jira descriptions and comments as wiki markup through REST v2 (see
``docs/jira.md``). Text that comes from the backlog (a story sentence, a checklist item, a
task title) is escaped so that Jira's renderer shows it literally: a backslash before every
character Jira reads as markup —

* always: ``\\`` ``*`` ``_`` ``{`` ``}`` ``[`` ``]`` ``|`` ``!`` (bold, italic, macros, links,
  tables, images, the ``\\\\`` line break);
* where a word can start — anywhere but after a letter or digit: ``-`` ``+`` ``^`` ``~``
  ``#`` ``?`` (strike-through, underline, super/subscript, numbered lists, citations), so
  ``US-002`` and ``5-8 h`` stay as written while ``--``, ``(-x-)`` and ``[?`` are escaped;
* emoticons: ``:)`` ``;)`` ``(y)`` ``(/)`` ``(x)`` ... (Jira draws them as icons);
* at the start of a line: ``h1.`` to ``h6.`` and ``bq.`` (headings, quotes).

``wiki_text`` reads escaped text back: ``wiki_text(wiki_escape(s)) == s`` for every ``s``.
Code blocks (``{code}``) are literal in Jira and are not escaped; the one thing that would end
one early, a line ``{code}`` inside it, is escaped by ``code_block``.
"""

from __future__ import annotations

import re

_EMOTICON = r"\((?:y|n|i|/|x|!|\+|-|\?|on|off|\*|\*r|\*g|\*b|\*y|flag|flagoff)\)|[:;][)(PD]"
WIKI_SPECIAL = re.compile(
    r"(?P<always>[\\*_{}\[\]|!])"
    r"|(?<![^\W_])(?P<start>[-+^~#?])"
    rf"|(?P<emoticon>{_EMOTICON})"
    r"|(?m:^(?P<block>h[1-6]|bq)(?P<dot>\.))",
)
ESCAPED = re.compile(r"\\(.)", re.DOTALL)


def wiki_escape(text: str) -> str:
    """``text`` shown literally by Jira's wiki renderer (markup characters escaped)."""

    def escape(match: re.Match[str]) -> str:
        if match["emoticon"]:  # the opening character, and any markup inside: (!) (*r)
            face = match["emoticon"]
            return "\\" + face[0] + re.sub(r"([*!+?-])", r"\\\1", face[1:])
        if match["block"]:
            return match["block"] + "\\."
        return "\\" + (match["always"] or match["start"])

    return WIKI_SPECIAL.sub(escape, text)


def wiki_text(wiki: str) -> str:
    """The literal text of escaped wiki text (the inverse of ``wiki_escape``)."""
    return ESCAPED.sub(lambda match: match.group(1), wiki)


def code_block(language: str, text: str) -> str:
    """``{code:language}`` ... ``{code}``; a ``{code}`` line in ``text`` cannot end it."""
    safe = re.sub(r"\{code(?=[:}])", r"\\{code", text)
    return f"{{code:{language}}}\n{safe}\n{{code}}"
