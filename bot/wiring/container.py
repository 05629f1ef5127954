"""Composition root of the service: ``build_service(settings)`` builds every part once.

The service's adapters are built from the settings only from here (the registrars of
``bot.validation``, ``bot.wiring.slack`` and ``bot.targets`` are called with what they
need). The order matters and is written out once: the process's database engine, then the
metrics (so every handler gets them in its constructor), then the webhook handlers (DoR/DoD
validation when Jira or GitHub is configured; the capacity check on sprint changes when Slack
is), the Slack endpoint, the sprint planning page (``GET /``), the handler modules named by
``WEBHOOK_HANDLER_MODULES``, and the scheduler's start/stop hooks. The result is a frozen
``ServiceParts`` for ``bot.service.app.create_app``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.service.metrics import Metrics
from bot.service.parts import Endpoint, Hook, ServiceParts
from bot.service.worker import HandlerRegistry, load_handler_modules

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from starlette.routing import BaseRoute

    from bot.digests.context import SlackContext
    from bot.gitops.run import GitOps
    from bot.settings import Settings
    from bot.validation.validator import ValidationConfig
    from bot.wiring.scheduler import SchedulerHooks
    from bot.wiring.slack import PosterFactory

# The GitHub webhook events the app subscribes to (configure the same list on the webhook).
# GitOps mode also listens to ``sub_issues`` (bot.gitops.handler.GITHUB_EVENTS), which the
# pinned official examples do not cover yet.
SUBSCRIBED_GITHUB_EVENTS = (
    "issues",
    "issue_comment",
    "pull_request",
    "pull_request_review",
    "check_run",
    "check_suite",
    "push",
    "projects_v2_item",
)


def build_service(
    settings: Settings, *, engine: Engine | None = None, scheduler: bool = True
) -> ServiceParts:
    """The production service.

    ``engine``: the caller's database engine (the demo shares its own; the caller disposes
    it); made from DATABASE_URL and owned by the app when not given. ``scheduler=False``
    leaves out the scheduled jobs (standup, capacity, pull sync), e.g. when the caller runs
    them by hand.
    """
    from bot.digests.context import SlackContext
    from bot.settings import load_config_table
    from bot.validation.validator import ValidationConfig
    from bot.views.routes import page_routes
    from bot.wiring.gitops import register_gitops
    from bot.wiring.slack import add_slack, sync_actions
    from sync.state.db import make_engine

    owns_engine = engine is None
    engine = engine if engine is not None else make_engine(settings.database_url)
    metrics = Metrics(engine)
    registry = HandlerRegistry()
    validation = ValidationConfig.from_table(load_config_table("validation"))
    add_validation(registry, settings, engine, validation, metrics)
    registered = register_gitops(registry, settings, engine, bot_logins=validation.bot_logins)
    gitops = registered.gitops if registered is not None else None
    ctx = SlackContext(settings, engine)
    slack = add_slack(registry, settings, ctx, sync_actions(settings, engine))
    on_startup: tuple[Hook, ...] = ()
    on_shutdown: tuple[Hook, ...] = ()
    if scheduler:
        jobs = _scheduler(settings, ctx, slack.poster, metrics, gitops)
        on_startup, on_shutdown = (jobs.start,), (jobs.stop,)
    if registered is not None and registered.debouncer is not None:
        debouncer = registered.debouncer  # a burst of deliveries -> one run, once it is quiet
        on_startup, on_shutdown = (*on_startup, debouncer.start), (debouncer.stop, *on_shutdown)
    on_startup, on_shutdown = slack.on_startup + on_startup, on_shutdown + slack.on_shutdown
    return service_parts(
        settings,
        engine=engine,
        owns_engine=owns_engine,
        metrics=metrics,
        registry=registry,
        slack_handler=slack.endpoint,
        routes=page_routes(ctx),  # GET /: the sprint planning page
        on_startup=on_startup,
        on_shutdown=on_shutdown,
    )


def service_parts(
    settings: Settings,
    *,
    engine: Engine | None = None,
    owns_engine: bool | None = None,
    metrics: Metrics | None = None,
    registry: HandlerRegistry | None = None,
    slack_handler: Endpoint | None = None,
    routes: Sequence[BaseRoute] = (),
    on_startup: Sequence[Hook] = (),
    on_shutdown: Sequence[Hook] = (),
) -> ServiceParts:
    """Parts around a given handler registry (tests and benchmarks pick their handlers).

    Missing pieces are made here: the engine from DATABASE_URL (then owned by the app), fresh
    metrics, an empty registry. The modules of WEBHOOK_HANDLER_MODULES add their handlers last.
    """
    from sync.state.db import make_engine

    if owns_engine is None:
        owns_engine = engine is None
    engine = engine if engine is not None else make_engine(settings.database_url)
    registry = registry if registry is not None else HandlerRegistry()
    if settings.webhook_handler_modules:
        load_handler_modules(registry, settings.webhook_handler_modules)
    return ServiceParts(
        settings=settings,
        engine=engine,
        metrics=metrics if metrics is not None else Metrics(engine),
        registry=registry,
        slack_handler=slack_handler,
        routes=tuple(routes),
        on_startup=tuple(on_startup),
        on_shutdown=tuple(on_shutdown),
        owns_engine=owns_engine,
    )


def add_validation(
    registry: HandlerRegistry,
    settings: Settings,
    engine: Engine,
    config: ValidationConfig,
    metrics: Metrics,
) -> None:
    """DoR/DoD validation of live issues: GitHub's with GITHUB_TOKEN (or a GitHub App) and
    GITHUB_REPOSITORY, Jira's with JIRA_URL and JIRA_API_TOKEN (and JIRA_EMAIL on Cloud;
    reading pull requests from GitHub when both are configured)."""
    from bot.github_credentials import has_github_credentials

    github_configured = has_github_credentials(settings) and bool(settings.github_repository)
    if github_configured:
        from bot.validation.github import register_github_validation

        register_github_validation(registry, settings, engine, config, metrics=metrics)
    # JIRA_EMAIL is absent on Data Center (a personal access token alone)
    if settings.jira_url and settings.jira_api_token is not None:
        from bot.validation.github import github_tracker_factory
        from bot.validation.jira import register_jira_validation

        github = github_tracker_factory(settings) if github_configured else None
        register_jira_validation(registry, settings, engine, config, github, metrics=metrics)


def _scheduler(
    settings: Settings,
    ctx: SlackContext,
    poster: PosterFactory | None,
    metrics: Metrics,
    gitops: GitOps | None = None,
) -> SchedulerHooks:
    """The scheduled jobs: standup and capacity alerts with Slack, pull sync (with its
    metrics) always; in GitOps mode the pull sync also proposes the tracker-side changes as
    the pull request (``bot.gitops``)."""
    from bot.validation.backlog_check import configured_targets
    from bot.validation.reconcile import reconcile
    from bot.wiring.scheduler import Jobs, SchedulerHooks

    def scheduled_pull(ctx: SlackContext, targets: Sequence[str]) -> list[str]:
        lines = reconcile(settings, configured_targets(settings, ctx.engine), metrics)
        if gitops is not None:
            lines.append(run_gitops(gitops, settings, ctx.engine))
        return lines

    return SchedulerHooks(Jobs(ctx, poster, pull=scheduled_pull))


def run_gitops(gitops: GitOps, settings: Settings, engine: Engine) -> str:
    """One GitOps run for the scheduled pull, under the repository's ``gitops:`` lock that
    webhook-driven runs take too (two runs at once would both commit to the branch). Errors
    and a lock held by another replica are a line, not a raise: the next fire tries again."""
    from backlog.errors import BacklogBotError
    from bot.gitops.handler import gitops_key
    from bot.service.deferral import DeliveryDeferred
    from bot.service.issue_locks import issue_guard

    repository = str(settings.github_repository)
    try:
        with issue_guard(engine, settings)(gitops_key(repository)):
            return gitops.run().line()
    except DeliveryDeferred:
        return (
            f"gitops: another run for {repository} is under way; "
            "the next fire proposes what it did not read"
        )
    except BacklogBotError as exc:
        return f"gitops: {exc}"
