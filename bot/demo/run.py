"""``backlog-bot demo [FILE]``: the main job end to end, on this machine, with no accounts.

It starts the sandbox emulators in-process (Jira, GitHub when registered, Slack), the service
(webhook routes, inbox worker, ``/slack/events``) on loopback, and a SQLite database in a
temporary directory, then:

1. validates the backlog (the rules engine);
2. applies it to every registered sync target (Jira, GitHub) and pulls the state back;
3. plays the team for a moment: moves two sprint-1 stories to Done, one to In Progress;
4. checks capacity (posts a warning to the sandbox Slack);
5. moves an unready story (one with DoR/INVEST findings) into the running sprint in Jira:
   Jira's webhook reaches the service, the worker runs the handlers, and the capacity alert
   for the over-committed role is posted at once;
6. posts the standup digest with its burndown chart, renders it here, saves the chart;
7. asks ``/backlog ready <story>`` through a signed slash command;
8. lists what the sandbox Slack received.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from rich.console import Console

from backlog.errors import BacklogBotError, ConfigurationError

if TYPE_CHECKING:
    from bot.digests.context import SlackContext
    from bot.slack.post import SlackPoster

DEMO_CHANNEL_ADMIN = "U0DEMOADM1"
WEBHOOK_SECRET = "demo-webhook-secret"


@dataclass
class DemoRun:
    """What the demo did, for the final summary and for tests."""

    steps: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    chart: Path | None = None


def sprint_start_for(today: date) -> date:
    """Monday of this week: today is in sprint 1 (weekends count to the past week)."""
    return today - timedelta(days=today.weekday())


def write_config(directory: Path, start: date) -> Path:
    path = directory / "backlog-bot.toml"
    path.write_text(
        "\n".join(
            [
                "[calendar]",
                f'sprint1_start = "{start.isoformat()}"',
                "sprint_length_days = 14",
                "",
                "[jira]",
                f'sprint_start = "{start.isoformat()}"',
                "",
                "[github]",
                f'sprint_start = "{start.isoformat()}"',
                "",
                "[slack]",
                f'admins = ["{DEMO_CHANNEL_ADMIN}"]',
                "warn_pct = 85",
                "",
            ]
        ),
        encoding="utf-8",
    )
    return path


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Point this process at the sandboxes (restored afterwards)."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def run_demo(backlog_file: Path, output_dir: Path, console: Console) -> DemoRun:
    """Run every step; raises ``BacklogBotError`` for bad input or a failed step."""
    from bot.demo.sandboxes import SANDBOXES, start

    run = DemoRun()
    output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="backlog-bot-demo-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        start_day = sprint_start_for(date.today())
        env: dict[str, str] = {
            "BACKLOG_BOT_CONFIG": str(write_config(work, start_day)),
            "DATABASE_URL": f"sqlite:///{work / 'backlog-bot.db'}",
            "BACKLOG_FILE": str(backlog_file),
            "JIRA_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "SLACK_ADMINS": DEMO_CHANNEL_ADMIN,
        }
        sandboxes: dict[str, Any] = {}
        for name in ("jira", "github", "slack"):
            if name not in SANDBOXES:
                run.missing.append(f"the {name} sandbox is not registered in bot.demo.sandboxes")
                continue
            running = start(name, None, {"jira_project": "BSS"})
            stack.callback(running.stop)
            sandboxes[name] = running
            env.update(running.env)
        console.print(
            f"[bold]Sandboxes[/] {', '.join(f'{n} {s.url}' for n, s in sandboxes.items())}"
        )
        stack.enter_context(_environment(env))
        steps = DemoSteps(backlog_file, output_dir, console, run, sandboxes, stack)
        steps.run_all()
    return run


class DemoSteps:
    def __init__(
        self,
        backlog_file: Path,
        output_dir: Path,
        console: Console,
        run: DemoRun,
        sandboxes: dict[str, Any],
        stack: ExitStack,
    ) -> None:
        from backlog.parse import load_backlog
        from bot.settings import load_settings
        from sync.state import db

        self.file = backlog_file
        self.output_dir = output_dir
        self.console = console
        self.run = run
        self.sandboxes = sandboxes
        self.stack = stack
        self.settings = load_settings()
        db.upgrade(self.settings.database_url)
        self.engine = db.make_engine(self.settings.database_url)
        stack.callback(self.engine.dispose)
        self.backlog = load_backlog(backlog_file)

    def step(self, title: str) -> None:
        self.run.steps.append(title)
        self.console.rule(f"[bold]{len(self.run.steps)}. {title}")

    def run_all(self) -> None:
        for action in (
            self.validate,
            self.apply,
            self.play_the_team,
            self.serve,
            self.capacity,
            self.move_unready_story,
            self.standup,
            self.slash_command,
            self.slack_summary,
        ):
            action()

    # --- 1. validate ------------------------------------------------------------------------

    def validate(self) -> None:
        from rules.config import load_rules_config
        from rules.runner import run_rules, summarize

        self.step(f"Validate {self.file}")
        self.findings = run_rules(self.backlog, load_rules_config())
        counts = summarize(self.findings)
        self.console.print(
            f"{len(self.backlog.stories)} stories in {len(self.backlog.epics)} epics, "
            f"{len(self.backlog.sprints)} sprints: {counts.get('error', 0)} errors, "
            f"{counts.get('warning', 0)} warnings, {counts.get('info', 0)} info"
        )
        for finding in [f for f in self.findings if str(f.severity) == "error"][:5]:
            self.console.print(
                f"  {finding.file}:{finding.line}: {finding.rule}: {finding.message}",
                highlight=False,
            )

    # --- 2. apply and pull --------------------------------------------------------------------

    def apply(self) -> None:
        from bot.targets.factory import TARGET_NAMES, build_target

        self.step("Apply the backlog to Jira and GitHub")
        self.targets = [name for name in TARGET_NAMES if name in self.sandboxes]
        for name in self.targets:
            started = time.perf_counter()
            outcome = build_target(name, self.settings, database=self.engine).apply(
                self.backlog, str(self.file), prune=False, progress=None
            )
            counts = outcome.summary()
            calls = sum(outcome.http_calls.values())
            self.console.print(
                f"{name}: {counts} ({calls} HTTP calls, {time.perf_counter() - started:.1f} s)"
            )
            if outcome.failures:
                raise BacklogBotError(f"{name}: apply failed: {outcome.failures[0]}")

    def pull(self) -> None:
        from bot.targets.factory import build_target

        for name in self.targets:
            outcome = build_target(name, self.settings, database=self.engine).pull()
            self.console.print(f"pull {name}: {outcome.issues} issues, {outcome.changed} changed")

    # --- 3. the team works --------------------------------------------------------------------

    def _jira(self) -> httpx.Client:
        token = self.settings.jira_api_token
        auth = (self.settings.jira_email or "", token.get_secret_value() if token else "")
        return httpx.Client(base_url=str(self.settings.jira_url), auth=auth, timeout=10)

    def _jira_key(self, story_id: str, kind: str = "story") -> str:
        from sqlmodel import Session, select

        from sync.state.tables import SyncLink

        with Session(self.engine) as session:
            row = session.exec(
                select(SyncLink).where(
                    SyncLink.target == "jira",
                    SyncLink.kind == kind,
                    SyncLink.backlog_id == story_id,
                )
            ).first()
        if row is None:
            raise BacklogBotError(f"{story_id} was not created in Jira")
        return row.remote_key or row.remote_id if kind == "story" else row.remote_id

    def play_the_team(self) -> None:
        self.step("The team works in Jira (two stories done, one in progress), then a pull sync")
        if "jira" not in self.targets:
            self.console.print("skipped: no Jira target")
            return
        sprint = next(s for s in self.backlog.sprints if s.committed_story_ids)
        ids = list(sprint.committed_story_ids)
        moves = [(ids[0], "Done"), (ids[1], "Done"), (ids[2], "In Progress")]
        with self._jira() as jira:
            for story_id, status in moves:
                key = self._jira_key(story_id)
                listed = jira.get(f"/rest/api/3/issue/{key}/transitions").json()["transitions"]
                transition = next(t for t in listed if t["name"].casefold() == status.casefold())
                jira.post(
                    f"/rest/api/3/issue/{key}/transitions",
                    json={"transition": {"id": transition["id"]}},
                ).raise_for_status()
                self.console.print(f"{key} ({story_id}) -> {status}")
        self.pull()

    # --- 4. the service -----------------------------------------------------------------------

    def serve(self) -> None:
        from bot.service.app import create_app
        from bot.wiring.container import build_service
        from sandbox.runner import ServedApp

        self.step("Start the service (webhooks, inbox worker, /slack/events)")
        # DoR/DoD validation and Slack; the demo runs the scheduled jobs itself, step by step.
        app = create_app(build_service(self.settings, engine=self.engine, scheduler=False))
        self.service = app.state.service
        served = ServedApp(app, lifespan="on").start()
        self.stack.callback(served.stop)
        self.service_url = served.url
        jira = self.sandboxes.get("jira")
        if jira is not None:
            jira.handle.webhooks.configure(f"{served.url}/webhooks/jira", WEBHOOK_SECRET)
        listeners = self.service.registry.listeners
        handlers = sorted({f"{h.source}:{h.event}" for h in listeners})
        self.console.print(f"service on {served.url}; webhook handlers: {', '.join(handlers)}")

    # --- 5. capacity --------------------------------------------------------------------------

    def _poster(self) -> SlackPoster:
        from bot.slack.post import SlackPoster

        return SlackPoster.from_settings(self.settings)

    def _context(self) -> SlackContext:
        from bot.digests.context import SlackContext

        return SlackContext(self.settings, self.engine)

    def capacity(self) -> None:
        from bot.slack.announce import check_capacity
        from bot.slack.terminal import print_alerts

        self.step("Capacity check of the running and next sprint")
        posted = check_capacity(self._context(), self._poster())
        print_alerts(posted, self.console)
        again = check_capacity(self._context(), self._poster())
        self.console.print(f"checked again: {len(again)} new alert(s) (each condition posts once)")

    # --- 6. an unready story enters the sprint --------------------------------------------------

    def unready_story(self) -> str:
        """A story from a later sprint with DoR/INVEST findings (error or warning)."""
        from bot.digests.standup import READY_PREFIXES

        planned = self.backlog.sprint_of()
        flagged = [
            f.item
            for f in self.findings
            if f.rule.startswith(READY_PREFIXES) and str(f.severity) in ("error", "warning")
        ]
        later = [story for story in flagged if planned.get(story, 0) > 1]
        if not later:
            raise ConfigurationError(
                f"{self.file}: no story planned after sprint 1 fails DoR or INVEST; "
                "the demo needs one to move"
            )
        return later[0]

    def move_unready_story(self) -> None:
        self.step("Move an unready story into the running sprint in Jira (webhook -> worker)")
        if "jira" not in self.targets:
            self.console.print("skipped: no Jira target")
            return
        self.moved = story = self.unready_story()
        rules = sorted(
            {
                f.rule
                for f in self.findings
                if f.item == story and f.rule.startswith(("dor.", "invest."))
            }
        )
        key, sprint_id = self._jira_key(story), self._jira_key("sprint-1", "sprint")
        slack = self.sandboxes["slack"].handle
        before = len(slack.state.messages_in(slack.channel_id))
        with self._jira() as jira:
            jira.post(
                f"/rest/agile/1.0/sprint/{sprint_id}/issue", json={"issues": [key]}
            ).raise_for_status()
        self.console.print(f"{key} ({story}, findings: {', '.join(rules)}) moved into sprint 1")
        self.wait_for_worker(lambda: len(slack.state.messages_in(slack.channel_id)) > before)
        for row in sorted(self.service.inbox.list(limit=5), key=lambda row: row["id"]):
            self.console.print(f"inbox: {row['source']} {row['event']} -> {row['status']}")
        self.show_validation(key)
        for message in slack.state.messages_in(slack.channel_id)[before:]:
            self.console.print(f"slack #{slack.channel_id}: {message.text}", highlight=False)

    def wait_for_worker(self, arrived: Callable[[], bool], timeout: float = 20) -> None:
        """Until the alert arrived and the inbox stayed drained for a moment (the validation's
        own edits come back as deliveries, which the worker recognises as echoes)."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while time.monotonic() < deadline and quiet < 3:
            counts = self.service.inbox.counts()
            busy = counts.get("queued", 0) + counts.get("processing", 0)
            quiet = quiet + 1 if arrived() and not busy else 0
            time.sleep(0.1)

    def show_validation(self, key: str) -> None:
        """What the webhook validation left on the issue: labels and its report comment."""
        with self._jira() as jira:
            issue = jira.get(f"/rest/api/2/issue/{key}", params={"fields": "labels"})
            listed = jira.get(f"/rest/api/2/issue/{key}/comment")
        if issue.status_code != 200 or listed.status_code != 200:
            return
        labels = ", ".join(issue.json().get("fields", {}).get("labels") or []) or "none"
        self.console.print(f"{key} labels: {labels}", highlight=False)
        comments = listed.json().get("comments") or []
        if comments:
            body = comments[-1].get("body")
            text = [line for line in str(body).splitlines() if line.strip()]
            lines = [line for line in text if not line.startswith("<!--")][:3]
            self.console.print(f"{key} comment by the validation:", highlight=False)
            for line in lines:
                self.console.print(f"  {line[:150]}", highlight=False)

    # --- 7. standup -----------------------------------------------------------------------------

    def standup(self) -> None:
        from bot.digests.standup import standup_now
        from bot.slack.announce import post_standup
        from bot.slack.terminal import print_standup, save_chart

        self.step("Standup digest: posted to Slack, rendered here, chart saved")
        ctx = self._context()
        digest = standup_now(ctx)
        post_standup(ctx, self._poster(), digest)
        print_standup(digest, self.console)
        chart = self.output_dir / "burndown.png"
        save_chart(digest.progress, chart)
        self.run.chart = chart
        self.console.print(f"burndown chart saved to {chart}")

    # --- 8. a slash command ---------------------------------------------------------------------

    def slash_command(self) -> None:
        story = getattr(self, "moved", None) or self.backlog.stories[0].id
        self.step(f"Slash command /backlog ready {story} (signed, via /slack/events)")
        slack = self.sandboxes["slack"].handle
        response, token = slack.send_command(
            f"{self.service_url}/slack/events", f"ready {story}", user_id=DEMO_CHANNEL_ADMIN
        )
        self.console.print(
            f"ack {response.status_code} in {response.elapsed.total_seconds() * 1000:.0f} ms"
        )
        (reply,) = slack.wait_for_replies(token, timeout=20)
        for block in reply.body.get("blocks", []):
            text = (block.get("text") or {}).get("text") or " ".join(
                element.get("text", "") for element in block.get("elements", [])
            )
            self.console.print(text, highlight=False)

    def slack_summary(self) -> None:
        self.step("What the sandbox Slack received")
        slack = self.sandboxes["slack"].handle
        for message in slack.state.messages_in(slack.channel_id):
            files = f" [+{len(message.files)} file]" if message.files else ""
            self.console.print(f"- {message.text[:110]}{files}", highlight=False)
        self.console.print(f"- {len(slack.state.replies)} slash-command repl(ies)")


def demo_main(file: Path, output_dir: Path, echo: Callable[[str], None] | None = None) -> DemoRun:
    console = Console(highlight=False, soft_wrap=True)
    started = time.perf_counter()
    run = run_demo(file, output_dir, console)
    console.rule("[bold]Done")
    console.print(f"demo finished in {time.perf_counter() - started:.1f} s")
    for gap in run.missing:
        console.print(f"not shown: {gap}")
    return run
