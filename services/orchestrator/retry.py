"""When a job waiting on a dependency is tried again, and when it gives up. Pure."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """Redelivery with growing delays until the retry horizon or the last delivery."""

    horizon_seconds: float
    delays_seconds: tuple[float, ...]
    max_deliver: int

    def next_delay(self, attempt: int, age_seconds: float) -> float | None:
        """Seconds until the next try of a job first published `age_seconds` ago, after its
        `attempt`-th delivery failed on a dependency; None when it must fail now."""
        if attempt >= self.max_deliver:
            return None
        remaining = self.horizon_seconds - age_seconds
        if remaining <= 0:
            return None
        index = min(max(attempt - 1, 0), len(self.delays_seconds) - 1)
        # Never wait past the horizon: the last try lands on it, then the job fails.
        return max(0.05, min(self.delays_seconds[index], remaining))
