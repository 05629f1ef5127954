"""Posting the digests to Slack: the capacity alerts not announced yet, and the standup digest
with its burndown chart.

The digests' content comes from ``bot.digests`` (``alerts_now``, ``standup_now``); the words
from ``bot.slack.messages``; the sending from ``bot.slack.post``. What was posted is recorded
in the state tables (``sync.state.slack``): each alert condition once across replicas and
runs, each standup digest with the stories done so far, so that tomorrow's says what moved.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from bot.digests.alerts import alerts_now
from bot.digests.context import SlackContext
from bot.digests.reports import ALERT_PREFIX, Alert, StandupDigest
from bot.digests.standup import KIND
from bot.slack import messages
from bot.slack.post import SlackPoster
from sync.state.slack import (
    DigestPost,
    announced_alerts,
    claim_alert,
    mark_alert_posted,
    record_digest,
    release_alerts,
)

log = logging.getLogger(__name__)


def check_capacity(
    ctx: SlackContext, poster: SlackPoster, *, trigger: str | None = None
) -> list[Alert]:
    """Post the conditions not announced yet; forget the ones that cleared. Returns posted."""
    current = alerts_now(ctx)
    holding = {alert.condition for alert in current}
    cleared = announced_alerts(ctx.engine, ALERT_PREFIX) - holding
    if cleared:
        release_alerts(ctx.engine, cleared)
        log.info("capacity conditions cleared", extra={"conditions": sorted(cleared)})
    posted: list[Alert] = []
    for alert in current:
        claimed = claim_alert(
            ctx.engine,
            alert.condition,
            sprint=alert.sprint,
            role=alert.role,
            level=alert.level,
            load_pct=alert.load_pct,
        )
        if not claimed:
            continue
        try:
            ts = poster.post(messages.alert_message(alert, trigger))
        except Exception:
            release_alerts(ctx.engine, {alert.condition})  # try again on the next run
            raise
        mark_alert_posted(ctx.engine, alert.condition, poster.channel, ts)
        posted.append(alert)
    return posted


def post_standup(ctx: SlackContext, poster: SlackPoster, digest: StandupDigest) -> str:
    """Post the digest and its burndown chart; remember it. Returns the message ts."""
    from bot.digests.burndown import render_png

    progress = digest.progress
    if progress.dates:
        digest = replace(digest, chart_note=messages.CHART_IN_THREAD)
    ts = poster.post(messages.standup_message(digest))
    if progress.dates:
        chart = render_png(progress)
        poster.upload_png(
            chart,
            filename=f"burndown-sprint-{progress.sprint.number}.png",
            title=messages.chart_comment(progress),
            comment=messages.chart_comment(progress),
            thread_ts=ts,
        )
    record_digest(
        ctx.engine,
        DigestPost(
            kind=KIND,
            sprint=progress.sprint.number,
            posted_at=ctx.now(),
            done_ids=digest.done_ids,
            points_done=progress.done_points,
            channel=poster.channel,
            message_ts=ts,
        ),
    )
    log.info("standup digest posted", extra={"sprint": progress.sprint.number, "ts": ts})
    return ts
