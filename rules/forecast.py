"""Monte Carlo forecast: how many sprints the remaining backlog needs at historical velocity.

Each trial draws sprint velocities at random (with replacement) from the velocity history
until the drawn velocities cover the remaining points; the number of sprints drawn is one
outcome. Over many trials the outcomes give a distribution; P85 is the number of sprints
that was enough in 85% of the trials. The random generator is seeded, so the same backlog
and configuration always give the same forecast.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from rules.config import ForecastConfig

PERCENTILES = (50, 85, 95)


@dataclass(frozen=True)
class ForecastPoint:
    percentile: int
    sprints: int
    end_date: date | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "percentile": self.percentile,
            "sprints": self.sprints,
            "end_date": self.end_date.isoformat() if self.end_date else None,
        }


@dataclass(frozen=True)
class Forecast:
    remaining_points: int
    velocities: tuple[int, ...]
    iterations: int
    seed: int
    points: tuple[ForecastPoint, ...]
    # (sprints needed, trials that needed exactly that many), for charts
    distribution: tuple[tuple[int, int], ...] = ()

    def at(self, percentile: int) -> ForecastPoint:
        return next(p for p in self.points if p.percentile == percentile)

    def to_dict(self) -> dict[str, Any]:
        return {
            "remaining_points": self.remaining_points,
            "velocities": list(self.velocities),
            "iterations": self.iterations,
            "seed": self.seed,
            "percentiles": [point.to_dict() for point in self.points],
        }


def percentile(sorted_values: Sequence[int], pct: float) -> int:
    """Nearest-rank percentile of already sorted values."""
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def monte_carlo(
    remaining_points: int, velocities: Sequence[int], config: ForecastConfig | None = None
) -> Forecast | None:
    """Forecast the sprints needed for ``remaining_points``; None without usable history."""
    config = config or ForecastConfig()
    history = tuple(v for v in velocities if v > 0)
    if not history or config.iterations <= 0:
        return None
    rng = random.Random(config.seed)
    outcomes: list[int] = []
    for _ in range(config.iterations):
        done = sprints = 0
        while done < remaining_points:
            done += rng.choice(history)
            sprints += 1
        outcomes.append(sprints)
    outcomes.sort()
    points = []
    for pct in PERCENTILES:
        sprints = percentile(outcomes, pct)
        end = None
        if config.start_date is not None:
            # the last day of the last sprint: start + n sprint lengths - 1 day
            end = config.start_date + timedelta(days=sprints * config.sprint_length_days - 1)
        points.append(ForecastPoint(pct, sprints, end))
    counts: dict[int, int] = {}
    for outcome in outcomes:
        counts[outcome] = counts.get(outcome, 0) + 1
    return Forecast(
        remaining_points,
        history,
        config.iterations,
        config.seed,
        tuple(points),
        tuple(sorted(counts.items())),
    )
