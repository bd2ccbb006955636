"""Which of two SMS gateways gets the next message: a per-process health tracker.

Like GOV.UK Notify balancing its two SMS providers: ``errors`` gateway-level failures
(timeouts, refused connections, HTTP 5xx/429, provider internal errors, bad credentials)
within ``window_s`` seconds take the primary out of rotation for ``cooldown_s``; traffic
goes to the secondary. After the cool-down one message is sent to the primary as a trial:
success brings it back, failure takes it out for another cool-down. Per-recipient
failures (an invalid number) say nothing about the gateway and are recorded as ``ok``.

Pure: the caller passes the time (``time.monotonic()``), so tests need no clock.
"""

from collections import deque
from dataclasses import dataclass, field


@dataclass
class _State:
    failures: deque[float] = field(default_factory=deque)  # times within the window
    down_until: float | None = None  # out of rotation until then (None: healthy)
    trial_at: float | None = None  # when the trial after the cool-down was handed out


class GatewayHealth:
    def __init__(self, errors: int = 5, window_s: float = 60.0, cooldown_s: float = 30.0) -> None:
        self.errors = max(1, errors)
        self.window_s = window_s
        self.cooldown_s = cooldown_s
        self._states: dict[str, _State] = {}

    def _state(self, key: str) -> _State:
        state = self._states.get(key)
        if state is None:
            state = self._states[key] = _State()
        return state

    def record(self, key: str, ok: bool, now: float) -> None:
        """The answer of one send through ``key``: ``ok`` unless the gateway itself failed."""
        state = self._state(key)
        if ok:  # it answered sensibly: healthy again, old failures forgotten
            if state.down_until is not None:
                state.failures.clear()
            state.down_until = state.trial_at = None
            return
        if state.trial_at is not None:  # the trial failed: another cool-down
            state.down_until, state.trial_at = now + self.cooldown_s, None
            state.failures.clear()
            return
        if state.down_until is not None:
            return  # late answers of sends begun before it went down change nothing
        state.failures.append(now)
        while state.failures and state.failures[0] <= now - self.window_s:
            state.failures.popleft()
        if len(state.failures) >= self.errors:
            state.down_until = now + self.cooldown_s
            state.failures.clear()

    def _usable(self, key: str, now: float) -> bool:
        """In rotation, or due for its trial after the cool-down (which this hands out)."""
        state = self._states.get(key)
        if state is None or state.down_until is None:
            return True
        if now < state.down_until:
            return False
        # A trial whose answer never came (the send was abandoned) is re-issued later.
        if state.trial_at is not None and now - state.trial_at < self.cooldown_s:
            return False
        state.trial_at = now
        return True

    def choose(self, primary: str, secondary: str | None, now: float) -> str:
        """The gateway for the next send: the primary unless it is out of rotation."""
        if secondary is None or secondary == primary or self._usable(primary, now):
            return primary
        if self._usable(secondary, now):
            return secondary
        return primary  # both are failing: the configured preference
