"""Retry timing: exponential backoff with full jitter (AWS Architecture Blog, 2015).

Full jitter spreads retries of many failed sends evenly over the window, so a relay
that comes back is not hit by all of them at the same instant.
"""

import random


def retry_delay(
    attempt: int, *, base: float = 5.0, cap: float = 3600.0, rng: random.Random | None = None
) -> float:
    """Seconds to wait before attempt ``attempt + 1`` (attempt counts from 1)."""
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return (rng or random).uniform(0, ceiling)
