"""What the Slack features share: settings, database, the backlog, the team clock, config.

``SlackConfig`` reads the non-secret tables of ``backlog-bot.toml``::

    [slack]
    admins = ["U0123ABCD"]        # also SLACK_ADMINS=U0123ABCD,U0456EFGH
    warn_pct = 85                 # capacity warning level per role (error above 100)
    status_source = "jira"        # which tracker's status wins when both know a story

    [calendar]                    # default: [jira] or [github] sprint_start
    sprint1_start = "2026-11-16"  # first day of sprint 1 ("Weeks 1-2" count from here)
    sprint_length_days = 14

    [schedule]                    # see bot.wiring.scheduler
    standup = "09:30"
    standup_days = "mon-fri"
    sync_minutes = 15
    capacity_minutes = 60
    misfire_grace_seconds = 600
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import Engine

from backlog.errors import ConfigurationError
from backlog.model import Backlog

if TYPE_CHECKING:
    from bot.settings import Settings

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class SlackConfig:
    admins: tuple[str, ...] = ()
    warn_pct: float = 85.0
    status_source: str = "jira"
    calendar: Mapping[str, Any] = field(default_factory=dict)
    schedule: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def load(
        cls, settings: Settings, tables: Mapping[str, Mapping[str, Any]] | None = None
    ) -> SlackConfig:
        """From the config file's tables (or ``tables`` in tests) and ``SLACK_ADMINS``."""
        if tables is None:
            from bot.settings import load_config_table

            names = ("slack", "calendar", "schedule", "jira", "github")
            tables = {name: load_config_table(name) for name in names}
        slack = dict(tables.get("slack", {}))
        admins = [str(a) for a in slack.get("admins", [])]
        env_admins = settings.slack_admins or ""
        admins.extend(a.strip() for a in env_admins.split(",") if a.strip())
        try:
            warn = float(slack.get("warn_pct", 85))
        except (TypeError, ValueError) as exc:
            raise ConfigurationError("[slack] warn_pct must be a number such as 85") from exc
        if not 0 < warn <= 100:
            raise ConfigurationError("[slack] warn_pct must be between 0 and 100")
        return cls(
            admins=tuple(dict.fromkeys(admins)),
            warn_pct=warn,
            status_source=str(slack.get("status_source", "jira")),
            calendar=_calendar(tables),
            schedule=dict(tables.get("schedule", {})),
        )


def _calendar(tables: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """``[calendar]``, else the sprint dates the Jira or GitHub sync is configured with."""
    calendar = dict(tables.get("calendar", {}))
    for name in ("jira", "github"):
        table = tables.get(name, {})
        if "sprint1_start" not in calendar and table.get("sprint_start"):
            calendar["sprint1_start"] = str(table["sprint_start"])
            if table.get("sprint_length_days"):
                calendar.setdefault("sprint_length_days", table["sprint_length_days"])
    return calendar


def team_zone(settings: Settings) -> ZoneInfo:
    try:
        return ZoneInfo(settings.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigurationError(
            f"setting TIMEZONE: unknown time zone {settings.timezone!r} (use e.g. Europe/Berlin)"
        ) from exc


class SlackContext:
    """Settings, engine, backlog (re-read when the file changes), clock and Slack config."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        config: SlackConfig | None = None,
        clock: Clock | None = None,
        backlog_path: str | Path | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.config = config or SlackConfig.load(settings)
        self.zone = team_zone(settings)
        self._clock = clock
        self.backlog_path = Path(backlog_path or settings.backlog_file)
        self._lock = threading.Lock()
        self._backlog: tuple[float, Backlog] | None = None

    def now(self) -> datetime:
        """Now in the team's time zone (frozen in tests)."""
        moment = self._clock() if self._clock else datetime.now(self.zone)
        return moment.astimezone(self.zone) if moment.tzinfo else moment.replace(tzinfo=self.zone)

    def today(self) -> date:
        return self.now().date()

    def backlog(self) -> Backlog:
        """The parsed backlog; parsed again only when the file's mtime changes."""
        from backlog.parse import load_backlog

        mtime = self.backlog_path.stat().st_mtime if self.backlog_path.exists() else -1.0
        with self._lock:
            if self._backlog is None or self._backlog[0] != mtime:
                self._backlog = (mtime, load_backlog(self.backlog_path))
            return self._backlog[1]

    def links(self) -> list[Any]:
        """All ``sync_link`` rows (what was pushed and pulled)."""
        from sqlmodel import Session, select

        from sync.state.tables import SyncLink

        with Session(self.engine) as session:
            return list(session.exec(select(SyncLink)).all())

    def is_admin(self, user_id: str) -> bool:
        return user_id in self.config.admins
