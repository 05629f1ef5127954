"""The sprint burndown chart: points remaining per working day against the ideal line and the
scope line (PNG). The numbers are ``progress.chart`` (``bot.digests.burndown_data``), the same
the digest prints.

matplotlib is imported lazily, with the non-interactive Agg backend, so that importing the
bot never pays for it and no display is needed.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from bot.digests.sprint_state import pts, sprint_title

if TYPE_CHECKING:
    from bot.digests.sprint_state import SprintProgress


def _figure_class() -> type:
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    return Figure


def prewarm() -> None:
    """Import matplotlib ahead of the first digest (about half a second, once per process)."""
    _figure_class()


def render_png(progress: SprintProgress, *, dpi: int = 100) -> bytes:
    """The burndown of ``progress`` as PNG bytes (ideal line, actual line, today marker)."""
    Figure = _figure_class()

    days = progress.working_days
    committed = progress.committed_points
    figure = Figure(figsize=(8, 4.5), dpi=dpi)
    axes = figure.add_subplot()
    ideal_x = list(range(len(days) + 1))
    axes.plot(
        ideal_x,
        [progress.ideal_remaining(i) for i in ideal_x],
        linestyle="--",
        color="#888888",
        label="Ideal",
    )
    chart = progress.chart
    actual = [chart.start_remaining] + [point.remaining for point in chart.days]
    scope = [chart.start_scope] + [point.scope for point in chart.days]
    # the scope holds until the end of the day work was added or removed, then steps
    axes.step(range(len(scope)), scope, where="post", color="#2ca02c", label="Scope")
    axes.plot(range(len(actual)), actual, marker="o", color="#1f77b4", label="Remaining")
    if progress.day:
        axes.axvline(progress.day, color="#d62728", linewidth=0.8, linestyle=":")
    labels = ["start"] + [f"{day:%a %d}" for day in days]
    axes.set_xticks(ideal_x, labels, rotation=45, ha="right", fontsize=8)
    axes.set_ylim(bottom=0, top=max(committed, *scope, 1) * 1.05)
    axes.set_ylabel("Story points remaining")
    done = f"{pts(progress.done_points)} of {pts(committed)} pts done"
    axes.set_title(f"{sprint_title(progress)} — {done}", fontsize=11)
    axes.grid(alpha=0.3)
    axes.legend(loc="upper right")
    figure.subplots_adjust(left=0.08, right=0.98, top=0.9, bottom=0.2)  # tight_layout is slow
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
