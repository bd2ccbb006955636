"""GatewayHealth: repeated errors move traffic to the secondary; it comes back when healthy."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kanal.core.failover import GatewayHealth

# (step, event) scripts: ("ok"|"err", key, at) records a result; ("choose", expected, at)
# asks for the next gateway. errors=3 in window 10 s, cool-down 30 s.
P, S = "primary", "secondary"
CASES = {
    "a healthy primary takes everything": [
        ("choose", P, 0), ("ok", P, 1), ("choose", P, 2),
    ],
    "fewer errors than the threshold keep the primary": [
        ("err", P, 0), ("err", P, 1), ("choose", P, 2),
    ],
    "errors spread wider than the window do not add up": [
        ("err", P, 0), ("err", P, 6), ("err", P, 11), ("choose", P, 12),
        ("err", P, 13), ("choose", S, 14),
    ],
    "the threshold within the window moves traffic to the secondary": [
        ("err", P, 0), ("err", P, 1), ("err", P, 2), ("choose", S, 3), ("choose", S, 31),
    ],
    "successes between errors do not hide a flaky primary": [
        ("err", P, 0), ("ok", P, 1), ("err", P, 2), ("ok", P, 3), ("err", P, 4),
        ("choose", S, 5),
    ],
    "after the cool-down one trial goes to the primary, the rest wait for it": [
        ("err", P, 0), ("err", P, 1), ("err", P, 2), ("choose", P, 32), ("choose", S, 32),
        ("choose", S, 33),
    ],
    "a successful trial brings the primary back": [
        ("err", P, 0), ("err", P, 1), ("err", P, 2), ("choose", P, 32), ("ok", P, 33),
        ("choose", P, 34), ("choose", P, 35),
    ],
    "a failed trial means another cool-down": [
        ("err", P, 0), ("err", P, 1), ("err", P, 2), ("choose", P, 32), ("err", P, 33),
        ("choose", S, 34), ("choose", S, 62), ("choose", P, 63), ("choose", S, 63),
    ],
    "one error after recovery does not trip it again at once": [
        ("err", P, 0), ("err", P, 1), ("err", P, 2), ("choose", P, 32), ("ok", P, 33),
        ("err", P, 34), ("choose", P, 35),
    ],
    "late errors of sends begun before it went down change nothing": [
        ("err", P, 0), ("err", P, 1), ("err", P, 2), ("err", P, 20), ("err", P, 25),
        ("choose", P, 32),
    ],
    "a lost trial is handed out again after another cool-down": [
        ("err", P, 0), ("err", P, 1), ("err", P, 2), ("choose", P, 32), ("choose", S, 50),
        ("choose", P, 62),
    ],
    "a late success brings it back early": [
        ("err", P, 0), ("err", P, 1), ("err", P, 2), ("ok", P, 5), ("choose", P, 6),
    ],
    "when both fail the primary is preferred": [
        ("err", P, 0), ("err", P, 1), ("err", P, 2), ("err", S, 3), ("err", S, 4),
        ("err", S, 5), ("choose", P, 6),
    ],
    "a secondary past its own cool-down gets a trial while the primary waits": [
        ("err", S, 0), ("err", S, 1), ("err", S, 2), ("err", P, 30), ("err", P, 31),
        ("err", P, 32), ("choose", S, 40), ("choose", P, 41),
    ],
    "errors of the secondary do not move the primary": [
        ("err", S, 0), ("err", S, 1), ("err", S, 2), ("choose", P, 3),
    ],
}  # fmt: skip


@pytest.mark.parametrize("script", CASES.values(), ids=list(CASES))
def test_gateway_health(script: list[tuple[str, str, float]]) -> None:
    health = GatewayHealth(errors=3, window_s=10, cooldown_s=30)
    for step, (event, key, at) in enumerate(script):
        if event == "choose":
            assert health.choose(P, S, at) == key, f"step {step}: {event} at {at}"
        else:
            health.record(key, event == "ok", at)


def test_without_a_secondary_it_is_always_the_primary() -> None:
    health = GatewayHealth(errors=1, window_s=10, cooldown_s=30)
    health.record(P, False, 0)
    assert health.choose(P, None, 1) == P
    assert health.choose(P, P, 1) == P
    assert health.choose(P, S, 1) == S


events = st.lists(
    st.tuples(
        st.sampled_from(["ok", "err", "choose"]),
        st.sampled_from(["a", "b", "c"]),
        st.floats(min_value=0, max_value=5, allow_nan=False),
    ),
    max_size=60,
)


@given(
    events,
    st.sampled_from(["a", "b", "c"]),
    st.one_of(st.none(), st.sampled_from(["a", "b", "c"])),
    st.integers(min_value=1, max_value=5),
)
def test_choice_is_always_one_of_the_two(
    script: list[tuple[str, str, float]], primary: str, secondary: str | None, errors: int
) -> None:
    health = GatewayHealth(errors=errors, window_s=3, cooldown_s=2)
    now = 0.0
    for event, key, step in script:
        now += step
        if event == "choose":
            chosen = health.choose(primary, secondary, now)
            assert chosen in (primary, secondary)
            if secondary is None:
                assert chosen == primary
        else:
            health.record(key, event == "ok", now)
