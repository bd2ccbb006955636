"""Retry timing and webhook signatures."""

import random

from hypothesis import given
from hypothesis import strategies as st

from kanal.core import webhooks
from kanal.core.backoff import retry_delay


@given(st.integers(min_value=1, max_value=60), st.integers(min_value=0, max_value=2**32))
def test_full_jitter_stays_within_the_exponential_ceiling(attempt: int, seed: int) -> None:
    delay = retry_delay(attempt, base=5, cap=3600, rng=random.Random(seed))
    assert 0 <= delay <= min(3600, 5 * 2 ** (attempt - 1))


def test_full_jitter_spreads_retries() -> None:
    rng = random.Random(1)
    delays = [retry_delay(6, base=5, cap=3600, rng=rng) for _ in range(2000)]
    # uniform on [0, 160]: the mean is near 80 and both halves are used
    assert 70 < sum(delays) / len(delays) < 90
    assert min(delays) < 20 and max(delays) > 140


def test_signature_matches_the_standard_webhooks_test_vector() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    signature = webhooks.sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_verify_accepts_rotated_keys_and_rejects_tampering() -> None:
    secret, other = webhooks.new_secret(), webhooks.new_secret()
    body = b'{"status":"sent"}'
    good = webhooks.sign(secret, "evt_1", 1700000000, body)
    stale = webhooks.sign(other, "evt_1", 1700000000, body)
    assert webhooks.verify(secret, "evt_1", 1700000000, body, f"{stale} {good}")
    assert not webhooks.verify(secret, "evt_1", 1700000000, body + b" ", good)
    assert not webhooks.verify(secret, "evt_2", 1700000000, body, good)
