"""The subset of JQL the sandbox understands, parsed into a predicate over sandbox issues.

Grammar::

    query   := [or] [ORDER BY sort ("," sort)*]
    or      := and (OR and)*
    and     := unary (AND unary)*
    unary   := NOT unary | "(" or ")" | clause
    clause  := field op value
    op      := = | != | IN | NOT IN | IS | IS NOT | ~ | > | >= | < | <=
    value   := word | "quoted" | "(" value ("," value)* ")" | EMPTY | NULL

Fields: project, key/issuekey, id, labels, issuetype/type, status, parent, sprint,
assignee, summary, updated, created. Anything else is an error, as Jira reports it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from sandbox.jira.state import Issue, SiteState

Predicate = Callable[[Issue], bool]

_TOKEN = re.compile(
    r"\s*(?:(?P<string>\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')|(?P<op>!=|>=|<=|=|~|>|<)"
    r"|(?P<punct>[(),])|(?P<word>[A-Za-z0-9_.\-\[\]@]+))"
)
KNOWN_FIELDS = {
    "project", "key", "issuekey", "id", "labels", "issuetype", "type", "status", "parent",
    "sprint", "assignee", "summary", "updated", "created",
}  # fmt: skip


NO_PERMISSION = "you do not have permission to view it"


class JqlError(ValueError):
    """A query Jira would refuse with 400; the message is Jira's wording."""


@dataclass(frozen=True)
class Token:
    kind: str
    text: str

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.text.upper() in words


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise JqlError(f"Error in the JQL Query: unexpected character at position {position}.")
        position = match.end()
        kind = match.lastgroup or "word"
        value = match.group(kind)
        if kind == "string":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        tokens.append(Token(kind, value))
    return tokens


class Query:
    """A parsed query: ``matches(issue)`` and ``sort(issues)``."""

    def __init__(self, text: str, state: SiteState) -> None:
        self._tokens = tokenize(text)
        self._pos = 0
        self._state = state
        self.predicate: Predicate = lambda issue: True
        self.order: list[tuple[str, bool]] = []
        if self._tokens and not self._peek().is_word("ORDER"):
            self.predicate = self._or()
        if self._peek().is_word("ORDER"):
            self._next()
            if not self._next().is_word("BY"):
                raise JqlError("Error in the JQL Query: expecting 'BY' after 'ORDER'.")
            self._sort_list()
        if self._pos < len(self._tokens):
            raise JqlError(f"Error in the JQL Query: unexpected '{self._tokens[self._pos].text}'.")

    def matches(self, issue: Issue) -> bool:
        return self.predicate(issue)

    def sort(self, issues: list[Issue]) -> list[Issue]:
        result = sorted(issues, key=lambda issue: issue.id)
        for field_name, descending in reversed(self.order):
            result.sort(key=partial(_sort_key, name=field_name), reverse=descending)
        return result

    # --- parser -------------------------------------------------------------------------

    def _peek(self) -> Token:
        return self._tokens[self._pos] if self._pos < len(self._tokens) else Token("end", "")

    def _next(self) -> Token:
        token = self._peek()
        self._pos += 1
        return token

    def _or(self) -> Predicate:
        parts = [self._and()]
        while self._peek().is_word("OR"):
            self._next()
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else lambda issue: any(p(issue) for p in parts)

    def _and(self) -> Predicate:
        parts = [self._unary()]
        while self._peek().is_word("AND"):
            self._next()
            parts.append(self._unary())
        return parts[0] if len(parts) == 1 else lambda issue: all(p(issue) for p in parts)

    def _unary(self) -> Predicate:
        token = self._peek()
        if token.is_word("NOT"):
            self._next()
            inner = self._unary()
            return lambda issue: not inner(issue)
        if token.kind == "punct" and token.text == "(":
            self._next()
            inner = self._or()
            self._expect(")")
            return inner
        return self._clause()

    def _expect(self, text: str) -> None:
        token = self._next()
        if token.text != text:
            raise JqlError(f"Error in the JQL Query: expecting '{text}' but got '{token.text}'.")

    def _clause(self) -> Predicate:
        field_token = self._next()
        if field_token.kind not in ("word", "string"):
            raise JqlError(
                f"Error in the JQL Query: expecting a field name, got '{field_token.text}'."
            )
        name = field_token.text.lower()
        if name not in KNOWN_FIELDS:
            raise JqlError(f"Field '{field_token.text}' does not exist or {NO_PERMISSION}.")
        op = self._operator()
        values = self._values(op)
        if name == "project":
            for value in values:
                if value is not None and self._state.project(str(value).upper()) is None:
                    raise JqlError(f"The value '{value}' does not exist for the field 'project'.")
        return _clause_predicate(name, op, values)

    def _operator(self) -> str:
        token = self._next()
        if token.kind == "op":
            return token.text
        if token.is_word("IN"):
            return "in"
        if token.is_word("IS"):
            if self._peek().is_word("NOT"):
                self._next()
                return "is not"
            return "is"
        if token.is_word("NOT") and self._peek().is_word("IN"):
            self._next()
            return "not in"
        raise JqlError(f"Error in the JQL Query: expecting an operator, got '{token.text}'.")

    def _values(self, op: str) -> list[Any]:
        if op in ("in", "not in"):
            if self._peek().kind == "word":
                return [self._value()]  # a function such as openSprints(): refused there
            self._expect("(")
            values = [self._value()]
            while self._peek().text == ",":
                self._next()
                values.append(self._value())
            self._expect(")")
            return values
        return [self._value()]

    def _value(self) -> Any:
        token = self._next()
        if token.kind == "word" and token.text.upper() in ("EMPTY", "NULL"):
            return None
        if token.kind not in ("word", "string"):
            raise JqlError(f"Error in the JQL Query: expecting a value, got '{token.text}'.")
        if token.kind == "word" and self._peek().text == "(":
            raise JqlError(f"Unable to find JQL function '{token.text}()'.")
        return token.text

    def _sort_list(self) -> None:
        while True:
            name = self._next().text.lower()
            descending = False
            if self._peek().is_word("ASC", "DESC"):
                descending = self._next().text.upper() == "DESC"
            self.order.append((name, descending))
            if self._peek().text != ",":
                return
            self._next()


def _field_values(issue: Issue, name: str) -> list[str]:
    """The values of ``name`` on ``issue`` as lower-case strings (several for labels)."""
    if name == "project":
        return [issue.project.key.lower(), issue.project.id, issue.project.name.lower()]
    if name in ("key", "issuekey", "id"):
        return [issue.key.lower(), str(issue.id)]
    if name == "labels":
        return [label.lower() for label in issue.fields.get("labels") or []]
    if name in ("issuetype", "type"):
        return [issue.issue_type.name.lower(), issue.issue_type.id]
    if name == "status":
        return [issue.status.lower()]
    if name == "parent":
        parent = issue.fields.get("parent")
        return [parent.lower()] if parent else []
    if name == "sprint":
        return [str(issue.sprint_id)] if issue.sprint_id else []
    if name == "assignee":
        return [issue.assignee.lower()] if issue.assignee else []
    if name == "summary":
        return [str(issue.fields.get("summary", "")).lower()]
    if name in ("updated", "created"):
        return [getattr(issue, name)]
    return []


def _clause_predicate(name: str, op: str, values: list[Any]) -> Predicate:
    wanted = [str(v).lower() for v in values if v is not None]

    def predicate(issue: Issue) -> bool:
        have = _field_values(issue, name)
        if op in ("is", "is not"):
            empty = not have
            return empty if op == "is" else not empty
        if op in ("=", "in"):
            return any(value in have for value in wanted)
        if op in ("!=", "not in"):
            return not any(value in have for value in wanted)
        if op == "~":
            return any(value in text for value in wanted for text in have)
        comparisons = {">": str.__gt__, ">=": str.__ge__, "<": str.__lt__, "<=": str.__le__}
        return any(comparisons[op](text, wanted[0]) for text in have) if wanted else False

    return predicate


def _sort_key(issue: Issue, name: str) -> Any:
    if name in ("key", "issuekey", "id"):
        return (issue.project.key, issue.id)
    if name in ("created", "updated"):
        return getattr(issue, name)
    if name == "summary":
        return str(issue.fields.get("summary", ""))
    return issue.id
