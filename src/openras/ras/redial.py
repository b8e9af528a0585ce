"""RedialOnLinkFailure pacing: the pause before each redial attempt.

``RedialSeconds`` is the first pause, as on Windows, but never below :data:`FLOOR` (0 would
spin: a peer that refuses at once gets thousands of attempts a second). Later pauses double up
to :data:`BACKOFF_CAP` (or RedialSeconds, if longer), and each is jittered so that many links
lost together do not redial in step.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

FLOOR = 1.0
BACKOFF_CAP = 30.0
CEILING = 3600.0
JITTER = 0.25  # each pause is drawn from [p * (1 - JITTER), p * (1 + JITTER)], then floored


def pauses(seconds: float, attempts: int, rng: random.Random | None = None) -> Iterator[float]:
    """The pause before each of ``attempts`` redials."""
    draw = rng or random.Random()
    base = min(max(float(seconds), FLOOR), CEILING)
    cap = max(base, BACKOFF_CAP)
    for attempt in range(attempts):
        nominal = min(base * 2 ** min(attempt, 32), cap)
        yield max(FLOOR, nominal * draw.uniform(1 - JITTER, 1 + JITTER))
