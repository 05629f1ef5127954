"""What ``backlog-bot.toml`` may contain: every table, every key, its type, default and meaning.

The loader (:mod:`bot.config_file`) checks the whole file against ``TABLES`` before any
command uses it, so a typo fails at once with exit 2 naming the key, the table and the keys
that table knows, and a wrong type names the type expected. The consumers (``Settings``,
``JiraMappingConfig``, ``GitHubOptions``, ``ValidationConfig``, ``RulesConfig``, the scheduler)
still check values (ranges, enumerations) themselves; ``tests/test_config_strict.py`` keeps
this table and their defaults in step. ``backlog-bot config check`` and
``backlog-bot.example.toml`` are generated from the same entries.

Kept free of pydantic and of the service libraries: ``validate`` and ``parse`` import it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from backlog.errors import ConfigurationError


@dataclass(frozen=True)
class Kind:
    """A TOML value type as users read it in messages (``expected a whole number``)."""

    name: str
    accepts: Callable[[Any], bool]


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_texts(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


TEXT = Kind("text (a quoted string)", _is_text)
INT = Kind("a whole number", _is_int)
NUMBER = Kind("a number", _is_number)
BOOL = Kind("true or false", lambda v: isinstance(v, bool))
TEXTS = Kind('a list of text, e.g. ["a", "b"]', _is_texts)
TEXT_OR_TEXTS = Kind("text or a list of text", lambda v: _is_text(v) or _is_texts(v))
DATE = Kind("a date, e.g. 2026-01-05", lambda v: isinstance(v, date) or _is_text(v))
TABLE = Kind("a table", lambda v: isinstance(v, dict))
DATES = Kind(
    "a list of dates, e.g. [2026-12-25]",
    lambda v: isinstance(v, list) and all(isinstance(d, date) or _is_text(d) for d in v),
)
INTS = Kind("a list of whole numbers", lambda v: isinstance(v, list) and all(map(_is_int, v)))


@dataclass(frozen=True)
class Key:
    kind: Kind
    doc: str
    default: Any = None
    secret: bool = False
    env: bool = False  # [settings] keys: also an environment variable of the upper-case name


@dataclass(frozen=True)
class Table:
    doc: str
    keys: Mapping[str, Key]
    # Tables whose reader folds "-" into "_" ([rules], [validation]) accept both spellings.
    dashes: bool = False
    subtables: Mapping[str, Mapping[str, Key]] = field(default_factory=dict)


def _env(kind: Kind, doc: str, default: Any = None, *, secret: bool = False) -> Key:
    return Key(kind, doc, default, secret=secret, env=True)


SETTINGS = Table(
    "Connection settings; each is also an environment variable (upper case), which wins.",
    {
        "database_url": _env(
            TEXT,
            "sqlite:///PATH or postgresql://USER@HOST:PORT/DB",
            "sqlite:///backlog-bot.db",
            secret=True,
        ),
        "backlog_file": _env(
            TEXT,
            "the backlog the service and Slack read (relative to the working directory)",
            "examples/bss-modernization.md",
        ),
        "timezone": _env(TEXT, "the team's IANA time zone for schedules and sprint days", "UTC"),
        "jira_url": _env(TEXT, "Jira site, e.g. https://acme.atlassian.net"),
        "jira_email": _env(TEXT, "Jira Cloud account email (Cloud only)"),
        "jira_api_token": _env(
            TEXT, "Jira Cloud API token, or a Data Center personal access token", secret=True
        ),
        "jira_project": _env(TEXT, "Jira project key", "BSS"),
        "jira_board": _env(INT, "Jira scrum board id (discovered when unset)"),
        "jira_webhook_secret": _env(TEXT, "secret that signs Jira webhooks", secret=True),
        "github_api_url": _env(
            TEXT,
            "GitHub REST API (GitHub Enterprise: https://HOST/api/v3)",
            "https://api.github.com",
        ),
        "github_token": _env(TEXT, "personal access token (or use a GitHub App)", secret=True),
        "github_app_id": _env(INT, "GitHub App id (App authentication instead of a token)"),
        "github_app_private_key": _env(TEXT, "the App's private key (PEM text)", secret=True),
        "github_app_private_key_file": _env(TEXT, "path of the App's private key PEM file"),
        "github_app_installation_id": _env(
            INT, "installation id (looked up from the repository when unset)"
        ),
        "github_repository": _env(TEXT, "OWNER/NAME"),
        "github_project": _env(TEXT, "title of the Projects v2 board (no board when unset)"),
        "github_webhook_secret": _env(TEXT, "secret that signs GitHub webhooks", secret=True),
        "slack_bot_token": _env(TEXT, "Slack bot token (xoxb-...)", secret=True),
        "slack_app_token": _env(
            TEXT,
            "Slack app-level token (xapp-...): Socket Mode instead of the HTTP endpoint",
            secret=True,
        ),
        "slack_signing_secret": _env(TEXT, "Slack signing secret (HTTP mode)", secret=True),
        "slack_api_url": _env(TEXT, "Slack Web API base URL", "https://slack.com/api/"),
        "slack_channel": _env(TEXT, "channel id for digests and alerts"),
        "slack_admins": _env(TEXT, "Slack user ids allowed to run plan/sync, comma separated", ""),
        "migrate_on_start": _env(BOOL, "serve: apply database migrations at start-up", False),
        "webhook_max_body_bytes": _env(INT, "largest webhook body accepted", 25 * 1024 * 1024),
        "webhook_max_attempts": _env(INT, "tries before a delivery is parked", 5),
        "webhook_lease_seconds": _env(NUMBER, "how long a worker holds a delivery", 60.0),
        "webhook_backoff_seconds": _env(NUMBER, "first retry delay (doubles)", 2.0),
        "webhook_poll_seconds": _env(NUMBER, "inbox polling interval", 1.0),
        "webhook_handler_modules": _env(
            TEXT, "extra module:function registrars, comma separated", ""
        ),
        "readiness_timeout_seconds": _env(NUMBER, "/readyz probe timeout", 2.0),
        "http_read_timeout_seconds": _env(
            NUMBER,
            "seconds a request's head, then its body, may take to arrive (else 408, closed)",
            15.0,
        ),
        "slack_max_body_bytes": _env(INT, "largest Slack request body accepted", 512 * 1024),
        "prune_max_share": _env(
            NUMBER,
            "apply --prune refuses to close a larger share of the "
            "linked issues (without --prune-all)",
            0.2,
        ),
        "log_level": _env(TEXT, "DEBUG, INFO, WARNING or ERROR", "INFO"),
        "page_auth": _env(
            TEXT, '"token" or "proxy": who may open the planning page at GET /', "token"
        ),
        "page_token": _env(
            TEXT, "the planning page's token (bearer, or the Basic password)", secret=True
        ),
        "page_proxy_header": _env(
            TEXT, "the user header an authenticating proxy sets", "X-Forwarded-User"
        ),
        "backlog_web_url": _env(TEXT, "the backlog file on the web, for backlog line links"),
    },
)

JIRA = Table(
    "Jira sync: mapping, pacing and the deployment flavour.",
    {
        "deployment": Key(TEXT, '"cloud", "datacenter" or "auto" (from serverInfo)', "auto"),
        "subtasks": Key(
            TEXT, '"checklist" (in the description) or "issues" (sub-tasks)', "checklist"
        ),
        "sprint_start": Key(DATE, "first day of sprint 1 (sprint dates)"),
        "sprint_length_days": Key(INT, "sprint length in days", 14),
        "labels": Key(TEXTS, "labels added to every issue", []),
        "priorities": Key(
            TABLE,
            "backlog priority word -> Jira priority name (beside Critical, High, Medium, Low"
            " and P0-P4; 'High (Must Have)' is read by its first word)",
            {},
        ),
        "timeout_connect": Key(NUMBER, "connect timeout, seconds", 5.0),
        "timeout_read": Key(NUMBER, "read timeout, seconds", 30.0),
        "requests_per_second": Key(NUMBER, "client-side request rate limit", 20.0),
        "retry_attempts": Key(INT, "tries for a failed idempotent request", 5),
        "retry_base_delay": Key(NUMBER, "first retry delay, seconds (doubles)", 0.5),
        "retry_max_delay": Key(NUMBER, "longest retry delay, seconds", 30.0),
    },
)

GITHUB = Table(
    "GitHub sync: mapping and pacing under GitHub's secondary rate limits.",
    {
        "tasks_as": Key(TEXT, '"tasklist" or "sub-issues"', "tasklist"),
        "subtasks_as": Key(TEXT, '"tasklist" or "sub-issues"', "tasklist"),
        "dependencies_as": Key(TEXT, '"api" (issue dependencies) or "section" (body)', "api"),
        "sprint_start": Key(DATE, "first day of sprint 1 (milestone due dates)"),
        "sprint_length_days": Key(INT, "sprint length in days", 14),
        "project_fields": Key(BOOL, "create and fill the board's custom fields", True),
        "pacing": Key(BOOL, "pace writes (default on; off for a loopback API URL)"),
        "creates_per_minute": Key(NUMBER, "content creations per minute", 80),
        "creates_per_hour": Key(NUMBER, "content creations per hour", 500),
        "seconds_between_writes": Key(NUMBER, "pause between writes", 1),
        "max_wait": Key(NUMBER, "longest wait for a rate limit before failing, seconds", 3600),
    },
)

VALIDATION = Table(
    "Webhook validation of live issues (Definition of Ready / Done) and enforcement.",
    {
        "bot_logins": Key(TEXT_OR_TEXTS, "accounts whose events are ignored (the bot's own)", []),
        "dor_rules": Key(
            TEXT_OR_TEXTS, "rule prefixes run when work is planned", ["dor", "invest"]
        ),
        "dod_rules": Key(TEXT_OR_TEXTS, "rule prefixes run when work is closed", ["dod"]),
        "fail_on": Key(TEXT, "error, warning or info: the label is set from this level", "warning"),
        "enforce": Key(TEXT_OR_TEXTS, "rule ids whose failure moves the issue back", []),
        "ready_statuses": Key(
            TEXT_OR_TEXTS,
            "statuses that count as planned",
            ["Ready", "Selected for Development", "In Progress"],
        ),
        "backlog_path": Key(
            TEXT, "the backlog's path in the repository (default BACKLOG_FILE)", ""
        ),
        "apply_on_push": Key(BOOL, "a push to the default branch also applies the plan", False),
    },
    dashes=True,
)

SCHEDULE = Table(
    "Jobs of `backlog-bot serve` (in TIMEZONE).",
    {
        "standup": Key(TEXT, "time of the standup digest, HH:MM", "09:30"),
        "standup_days": Key(TEXT, "days of the standup digest (cron day_of_week)", "mon-fri"),
        "sync_minutes": Key(INT, "minutes between pulls from Jira/GitHub", 15),
        "capacity_minutes": Key(INT, "minutes between capacity checks", 60),
        "misfire_grace_seconds": Key(INT, "how late a missed job may still run", 600),
    },
)

SLACK = Table(
    "Slack commands and alerts.",
    {
        "admins": Key(TEXTS, "Slack user ids allowed to run plan/sync (with SLACK_ADMINS)", []),
        "warn_pct": Key(NUMBER, "capacity alert threshold, percent of a role's hours", 85),
        "status_source": Key(TEXT, '"jira" or "github": whose status the digests show', "jira"),
    },
)

CALENDAR = Table(
    "Sprint dates for digests (else [jira]/[github] sprint_start).",
    {
        "sprint1_start": Key(DATE, "first day of sprint 1"),
        "sprint_length_days": Key(INT, "sprint length in days", 14),
        "working_days": Key(TEXTS, "the team's working days", ["mon", "tue", "wed", "thu", "fri"]),
        "holidays": Key(DATES, "days off, e.g. [2026-12-25]", []),
    },
)

SYNC = Table(
    "Two-way sync: what plan, apply and pull do with a field changed on both sides, and the "
    "service's pull request of tracker-side changes (GitOps mode).",
    {
        "conflicts": Key(TEXT, '"report", "file-wins" or "tracker-wins"', "report"),
        "pull_request": Key(
            BOOL,
            "with [validation] backlog-path: the service proposes tracker-side changes to the "
            "repository's backlog as one pull request",
            True,
        ),
        "branch": Key(
            TEXT, "the branch of that pull request (rebuilt by the bot)", "backlog-bot/sync"
        ),
        "gitops_debounce_seconds": Key(
            NUMBER,
            "GitOps: a burst of tracker webhooks makes one run once no delivery came for this "
            "long (0: a run per delivery)",
            10.0,
        ),
        "gitops_max_wait_seconds": Key(
            NUMBER,
            "GitOps: the longest a run waits for a burst to end (a steady stream still gets runs)",
            60.0,
        ),
    },
    dashes=True,
)

_THRESHOLDS = {
    "points_scale": Key(INTS, "allowed story points", [1, 2, 3, 5, 8, 13, 21]),
    "max_story_points": Key(INT, "largest story before it is epic-sized"),
    "default_max_story_points": Key(INT, "used when the backlog's guide names none", 13),
    "max_dependencies": Key(INT, "dependencies per story before INVEST flags it", 3),
    "min_approvals": Key(INT, "reviews a pull request needs (DoD)", 1),
    "min_coverage": Key(NUMBER, "coverage percent when the DoD names none", 80.0),
    "vague_terms": Key(TEXTS, "phrases flagged in acceptance criteria"),
    "implementation_terms": Key(TEXTS, "phrases that make a story not negotiable", []),
    "docs_paths": Key(TEXTS, "paths that count as documentation (DoD)"),
}
_FORECAST = {
    "iterations": Key(INT, "Monte Carlo runs", 10_000),
    "seed": Key(INT, "random seed (same input, same forecast)", 20_240_101),
    "start_date": Key(DATE, "first day of the forecast"),
    "sprint_length_days": Key(INT, "sprint length in days", 14),
}

RULES = Table(
    "Which lint rules run, their severities, thresholds and suppressions.",
    {
        "select": Key(TEXT_OR_TEXTS, "rule id prefixes to run", ["all"]),
        "ignore": Key(TEXT_OR_TEXTS, "rule id prefixes to skip", []),
        "preview": Key(BOOL, "also run preview rules", False),
        "severity": Key(TABLE, "rule id or prefix -> error | warning | info", {}),
        "per_item_ignores": Key(TABLE, "item id -> rule prefixes silenced for it", {}),
        "thresholds": Key(TABLE, "numbers the rules use (see [rules.thresholds])", {}),
        "forecast": Key(TABLE, "Monte Carlo forecast (see [rules.forecast])", {}),
    },
    dashes=True,
    subtables={"thresholds": _THRESHOLDS, "forecast": _FORECAST},
)

TABLES: dict[str, Table] = {
    "settings": SETTINGS,
    "jira": JIRA,
    "github": GITHUB,
    "validation": VALIDATION,
    "schedule": SCHEDULE,
    "slack": SLACK,
    "calendar": CALENDAR,
    "sync": SYNC,
    "rules": RULES,
}


def check_document(document: Mapping[str, Any], source: str) -> None:
    """Raise ``ConfigurationError`` for the first unknown table or key, or wrongly typed value."""
    for name, value in document.items():
        table = TABLES.get(name)
        if table is None:
            raise ConfigurationError(
                f"{source}: unknown table [{name}] (known tables: {', '.join(TABLES)})"
            )
        if not isinstance(value, dict):
            raise ConfigurationError(f"{source}: [{name}] must be a table, not a single value")
        _check_keys(value, table.keys, table.dashes, source, name)
        for sub, keys in table.subtables.items():
            for spelling in (sub, sub.replace("_", "-")):
                if isinstance(value.get(spelling), dict):
                    _check_keys(value[spelling], keys, table.dashes, source, f"{name}.{sub}")


def _check_keys(
    values: Mapping[str, Any], keys: Mapping[str, Key], dashes: bool, source: str, where: str
) -> None:
    def shown(key: str) -> str:
        return key.replace("_", "-") if dashes else key

    for raw, value in values.items():
        key = raw.replace("-", "_") if dashes else raw
        spec = keys.get(key)
        if spec is None:
            known = ", ".join(shown(k) for k in keys)
            raise ConfigurationError(
                f"{source}: unknown key {raw!r} in [{where}] (known keys: {known})"
            )
        if not spec.kind.accepts(value):
            raise ConfigurationError(
                f"{source}: [{where}] {raw} = {value!r}: expected {spec.kind.name}"
            )
