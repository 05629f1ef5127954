"""Reading single inline texts of the backlog dialect: hours, points, roles, ids, sentences.

Structure (headings, lists, fences, tables) comes from the Markdown token tree; the small
regular expressions here only look inside one line of text such as ``(8 hrs) - DevOps``.
"""

from __future__ import annotations

import re

from backlog.model import Dependency, GherkinKeyword, GherkinStep, UserStory

DASHES = "-–—"  # hyphen, en dash, em dash
_DASH = f"[{DASHES}]"

STORY_ID = re.compile(r"\b(?!EPIC-)([A-Z][A-Z0-9]*-\d+)\b")
EPIC_ID = re.compile(r"\b(EPIC-\d+)\b", re.IGNORECASE)
_HOURS = re.compile(r"\(\s*(~?\s*(\d+(?:\.\d+)?)\s*(?:hours?|hrs?|h)\.?)\s*\)", re.IGNORECASE)
# The last ``(8 hrs)`` of a text in one search: the greedy prefix backtracks from the end.
# Matches of _HOURS cannot overlap (no "(" inside one), so this is finditer's last match.
_LAST_HOURS = re.compile(rf"(?s:.*)(?P<all>{_HOURS.pattern})", re.IGNORECASE)
_HOURS_BARE = re.compile(r"^\s*~?\s*(\d+(?:\.\d+)?)\s*(?:hours?|hrs?|h)?\.?\s*$", re.IGNORECASE)
_POINTS = re.compile(r"\(\s*(\d+)\s*(?:story\s+)?(?:pts?|points?|sp)\.?\s*\)", re.IGNORECASE)
_LEADING_INT = re.compile(r"^\s*(\d+)\b")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_ROLE_SPLIT = re.compile(r"\s*(?:/|,|\+|&|\band\b)\s*", re.IGNORECASE)
_PARENTHESIS = re.compile(r"\([^)]*\)")
_EPIC_DEPENDENCY = re.compile(r"^(EPIC-\d+)\b\s*(.*)$", re.IGNORECASE)
_INT = re.compile(r"-?\d+")
_HEADING_NUMBER = re.compile(r"^(?:[a-z]|\d+)[.)]\s+")
_TRAILING_DASH = re.compile(rf"^\s*(?:{_DASH}+|:)\s*")
_USER_STORY = re.compile(
    r"^\s*as\s+(?:an?|the)?\s*(?P<role>.+?)\s*,?\s+i\s+(?:want|need|would like)\s+"
    r"(?P<want>.+?)\s*,?\s+so\s+that\s+(?P<benefit>.+?)\s*\.?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_GHERKIN = re.compile(
    r"^\s*(feature|scenario|background|given|when|then|and|but)\b\s*:?\s*(.*)$", re.IGNORECASE
)
_BULLET = re.compile(r"^\s*[-*+•]\s+(.*)$")
_CHECKBOX = re.compile(r"^\[([ xX✓✔])\]\s*(.*)$", re.DOTALL)
_SUPPRESS = re.compile(r"<!--\s*backlog-bot\s*:\s*ignore\b(.*?)-->", re.IGNORECASE | re.DOTALL)


def normalize_heading(text: str) -> str:
    """Case-folded heading without numbering prefixes such as ``A.`` or ``3)``."""
    return _HEADING_NUMBER.sub("", text.strip().casefold())


def label_name(label: str) -> str:
    """A bold label as a lookup key: ``**Story  Points:**`` -> ``story points`` (memoised)."""
    name = _LABEL_NAMES.get(label)
    if name is None:
        if len(_LABEL_NAMES) >= 4096:  # a backlog repeats a few dozen labels; stay bounded
            _LABEL_NAMES.clear()
        name = _LABEL_NAMES[label] = " ".join(label.casefold().split()).rstrip(":").strip()
    return name


_LABEL_NAMES: dict[str, str] = {}


def parse_hours(text: str) -> tuple[float | None, str | None]:
    """Hours from ``8 hrs``/``1 hr``/``2h``/``4 hours`` (value, raw); raw kept when invalid."""
    raw = text.strip()
    if not raw:
        return None, None
    match = _HOURS_BARE.match(raw)
    return (float(match.group(1)) if match else None), raw


def split_hours(text: str) -> tuple[str, float | None, str | None, str]:
    """Split ``Title (8 hrs) - Role`` into title, hours, raw hours and what follows."""
    match = _LAST_HOURS.match(text) if "(" in text else None
    if match is None:
        return text.strip(), None, None, ""
    title = text[: match.start("all")].strip()
    after = text[match.end("all") :]
    return title, float(match.group(3)), match.group(2).strip(), after


def split_points(text: str) -> tuple[str, int | None, str]:
    """Split ``Title (21 pts) - Roles`` into title, points and what follows."""
    match = _POINTS.search(text)
    if not match:
        return text.strip(), None, ""
    return text[: match.start()].strip(), int(match.group(1)), text[match.end() :]


def after_dash(text: str) -> str:
    """What follows a leading dash or colon (``" - DevOps"``, ``": DevOps"`` -> ``"DevOps"``)."""
    stripped = _TRAILING_DASH.sub("", text, count=1)
    return stripped.strip() if stripped != text else ""


def parse_roles(text: str) -> tuple[str, ...]:
    """``DevOps/Backend``, ``Backend + DevOps``, ``QA`` -> role names, annotations dropped."""
    roles = _ROLES.get(text)
    if roles is None:
        if len(_ROLES) >= 4096:  # a backlog repeats a handful of role texts; stay bounded
            _ROLES.clear()
        roles = _ROLES[text] = _split_roles(text)
    return roles


_ROLES: dict[str, tuple[str, ...]] = {}


def _split_roles(text: str) -> tuple[str, ...]:
    text = _PARENTHESIS.sub("", text).strip()
    if not text:
        return ()
    return tuple(part.strip() for part in _ROLE_SPLIT.split(text) if part.strip())


def parse_int(text: str | None) -> int | None:
    """The leading integer of ``21``, ``155 points``, ``85 story points``; None otherwise."""
    if text is None:
        return None
    match = _LEADING_INT.match(text)
    return int(match.group(1)) if match else None


def numbers(text: str) -> list[float]:
    return [float(value) for value in _NUMBER.findall(text)]


def parse_user_story(text: str, line: int) -> UserStory:
    match = _USER_STORY.match(" ".join(text.split()))
    if not match:
        return UserStory(text=text, line=line)
    return UserStory(
        text=text,
        role=match.group("role"),
        want=match.group("want"),
        benefit=match.group("benefit"),
        line=line,
    )


def parse_gherkin(text: str, first_line: int) -> tuple[GherkinStep, ...]:
    """Given/When/Then steps of a fenced block; ``- item`` lines attach to the step above."""
    steps: list[tuple[GherkinKeyword, str, list[str], int]] = []
    for offset, raw in enumerate(text.split("\n")):
        if not raw.strip():
            continue
        bullet = _BULLET.match(raw)
        if bullet and steps:
            steps[-1][2].append(bullet.group(1).strip())
            continue
        match = _GHERKIN.match(raw)
        if match:
            keyword: GherkinKeyword = match.group(1).capitalize()  # type: ignore[assignment]
            steps.append((keyword, match.group(2).strip(), [], first_line + offset))
        elif steps:
            steps[-1][2].append(raw.strip())
    return tuple(
        GherkinStep(keyword=kw, text=txt, items=tuple(items), line=ln)
        for kw, txt, items, ln in steps
    )


def gherkin_line(text: str) -> re.Match[str] | None:
    return _GHERKIN.match(text)


def checkbox(text: str) -> tuple[str, bool]:
    """``[ ] text`` / ``[x] text`` -> (text, checked); plain text -> (text, False)."""
    match = _CHECKBOX.match(text.strip())
    if not match:
        return text.strip(), False
    return match.group(2).strip(), match.group(1) != " "


def suppressions(html: str) -> list[str]:
    """Rule ids from ``<!-- backlog-bot: ignore invest.small, dor.estimated -->``."""
    found: list[str] = []
    for match in _SUPPRESS.finditer(html):
        body = match.group(1).strip()
        for part in re.split(r"[\s,]+", body):
            if not part:
                continue
            found.append("*" if part.casefold() == "all" else part)
    return found


def split_top_level(text: str) -> list[str]:
    """Split on commas/semicolons that are not inside parentheses."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        if char in ",;" and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


_NONE_WORDS = frozenset({"none", "-", "–", "—", "n/a", "na", "nil", "no dependencies", "n.a."})


def is_none_word(text: str) -> bool:
    """``None``, ``-``, ``n/a`` or nothing: the field says there is none."""
    return not text.strip() or text.strip().casefold().rstrip(".") in _NONE_WORDS


def parse_labels(text: str | None) -> tuple[str, ...]:
    """``security, tech-debt`` -> the labels as written (backticks and emphasis around each
    dropped, duplicates once); ``None`` or nothing -> none."""
    if text is None or is_none_word(text):
        return ()
    labels = (" ".join(part.strip("*_`[] ").split()) for part in text.split(","))
    return tuple(dict.fromkeys(label for label in labels if label and not is_none_word(label)))


def parse_dependencies(text: str) -> list[Dependency]:
    """Dependencies of a story field or matrix cell; phrases are resolved later."""
    text = text.strip()
    if text.casefold().rstrip(".") in _NONE_WORDS or not text:
        return [Dependency(raw=text, kind="none")]
    result: list[Dependency] = []
    for part in split_top_level(text):
        if part.casefold().rstrip(".") in _NONE_WORDS:
            result.append(Dependency(raw=part, kind="none"))
            continue
        epic = _EPIC_DEPENDENCY.match(part)
        if epic:
            qualifier = epic.group(2).strip() or None
            result.append(
                Dependency(raw=part, kind="epic", target=epic.group(1).upper(), qualifier=qualifier)
            )
            continue
        story = STORY_ID.match(part)
        if story:
            result.append(Dependency(raw=part, kind="story", target=story.group(1)))
            continue
        result.append(Dependency(raw=part, kind="phrase"))
    return result


def int_cell(text: str) -> int | None:
    match = _INT.search(text)
    return int(match.group(0)) if match else None


def float_cell(text: str) -> float | None:
    match = _NUMBER.search(text)
    return float(match.group(0)) if match else None


def range_cell(text: str) -> tuple[float | None, float | None]:
    values = numbers(text)
    if not values:
        return None, None
    return values[0], values[-1]
