"""Benchmark of the SMS engine: kanal.core.sms.analyze against smsutil.split.

Run with ``src`` importable (``make bench`` does that)::

    python bench/sms.py [--count 100000] [--seed 2024] [--rounds 3]

It generates messages of about 200 characters deterministically (a seeded
mix of Polish, Czech, plain ASCII, ASCII with GSM-7 extension characters,
and a slice of "real world extras": CR LF from web forms, emoji sequences,
decomposed letters, typographic quotes), counts segments with both
libraries in the same run, and prints messages per second, the ratio, and
the messages where the segment counts disagree, classified by cause.

smsutil (PyPI ``smsutil``): ``smsutil.split(text)`` returns a
``SplitResult`` whose ``parts`` is the list of segments; it decides GSM-7
with a regex over the 03.38 tables, then walks the text one code point at
a time (2 octets, or 4 outside the BMP, in UCS-2; extension characters
count 2 septets), which also keeps escape and surrogate pairs whole.
"""

from __future__ import annotations

import argparse
import random
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import regex
import smsutil  # type: ignore[import-untyped]

from kanal.core.sms import analyze

# --------------------------------------------------------------------------
# Deterministic message generation
# --------------------------------------------------------------------------


def words(sentences: str) -> list[str]:
    return sentences.split()


POLISH = words(
    "Dzień dobry, zamówienie nr 4711 jest gotowe do odbioru. Prosimy o kontakt "
    "w sprawie wizyty jutro o godzinie 10:30. Płatność przelewem lub kartą. "
    "Dziękujemy i pozdrawiamy, serwis Łódź, ul. Świętokrzyska 12. Żółty samochód "
    "czeka na parkingu, źródło problemu usunięte, wymiana części zakończona."
)
CZECH = words(
    "Dobrý den, vaše objednávka je připravena k vyzvednutí. Děkujeme za platbu "
    "převodem. Servis zítra od 9 hodin, ulice Příliš žluťoučký kůň 15. Náhradní "
    "díly dorazily, oprava vozu je hotová, těšíme se na vaši návštěvu."
)
ASCII = words(
    "Hello, your order 4711 is ready for pickup. Please call us about the "
    "appointment tomorrow at 10:30. Payment by card or transfer. Thanks and "
    "best regards from the service team, 12 Main Street. Reply STOP to opt out."
)
EXTENSION_TOKENS = ["49€", "[REF-1234]", "{promo}", "~10%", "a|b", "^_^", "C:\\orders", "€5"]
EXTRAS = [
    "\r\n",
    "😀",
    "👍🏽",
    "🇵🇱",
    "👨\u200d👩\u200d👧",
    "❤\ufe0f",
    "„cytat”",
    "café",
    unicodedata.normalize("NFD", "café"),
    unicodedata.normalize("NFD", "Kraków"),
]
KINDS: dict[str, float] = {
    "polish": 0.30,
    "czech": 0.25,
    "ascii": 0.20,
    "extension": 0.15,
    "extras": 0.10,
}


def make_message(rng: random.Random, kind: str) -> str:
    """One message of 150-250 characters (about 200 on average)."""
    target = rng.randint(150, 250)
    words: list[str] = []
    length = 0
    while length < target:
        if kind == "polish":
            word = rng.choice(POLISH)
        elif kind == "czech":
            word = rng.choice(CZECH)
        elif kind == "extension":
            word = rng.choice(EXTENSION_TOKENS) if rng.random() < 0.12 else rng.choice(ASCII)
        elif kind == "extras":
            word = rng.choice(EXTRAS) if rng.random() < 0.15 else rng.choice(POLISH + ASCII)
        else:
            word = rng.choice(ASCII)
        words.append(word)
        length += len(word) + 1
    return " ".join(words)[:target]


def make_messages(count: int, seed: int) -> list[tuple[str, str]]:
    """``count`` (kind, text) pairs, the same for the same seed."""
    rng = random.Random(seed)
    kinds = rng.choices(list(KINDS), weights=list(KINDS.values()), k=count)
    return [(kind, make_message(rng, kind)) for kind in kinds]


# --------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------


def kanal_segments(text: str) -> int:
    return analyze(text).segments


def kanal_segments_all_options(text: str) -> int:
    return analyze(text, transliterate=True, smart=True).segments


def smsutil_segments(text: str) -> int:
    return len(smsutil.split(text).parts)


def best_rate(
    count: Callable[[str], int], texts: Sequence[str], rounds: int
) -> tuple[float, list[int]]:
    """Messages per second (best of ``rounds``) and the segment counts."""
    best = float("inf")
    segments: list[int] = []
    for _ in range(rounds):
        start = time.perf_counter()
        segments = [count(text) for text in texts]
        best = min(best, time.perf_counter() - start)
    return len(texts) / best, segments


# --------------------------------------------------------------------------
# Disagreements
# --------------------------------------------------------------------------

_GRAPHEME = regex.compile(r"\X")


def cluster_kind(cluster: str) -> str:
    if cluster == "\r\n":
        return "CR LF"
    if "\u200d" in cluster:
        return "ZWJ emoji sequence"
    if any("\U0001f1e6" <= c <= "\U0001f1ff" for c in cluster):
        return "flag"
    if any("\U0001f3fb" <= c <= "\U0001f3ff" for c in cluster):
        return "emoji + skin tone"
    if "\ufe0f" in cluster:
        return "emoji + VS16"
    return "letter + combining mark"


def classify(text: str) -> str:
    """Why kanal and smsutil count a different number of segments."""
    nfc = unicodedata.normalize("NFC", text)
    if nfc != text and smsutil_segments(nfc) == kanal_segments(text):
        return (
            "smsutil does not NFC-normalise: a decomposed letter (e + U+0301) costs 2 units "
            "there, 1 in kanal"
        )
    # Which grapheme cluster did smsutil cut?
    cuts, offset = set(), 0
    for part in smsutil.split(text).parts[:-1]:
        offset += len(part.content)
        cuts.add(offset)
    cut_clusters = [
        m.group() for m in _GRAPHEME.finditer(text) if any(m.start() < c < m.end() for c in cuts)
    ]
    if cut_clusters:
        kinds = ", ".join(sorted({cluster_kind(c) for c in cut_clusters}))
        return f"smsutil cuts a grapheme cluster ({kinds}) that kanal moves whole to the next part"
    return "unexplained"


def report_disagreements(
    messages: Sequence[tuple[str, str]], ours: Sequence[int], theirs: Sequence[int]
) -> None:
    differing = [i for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) if a != b]
    share = 100 * len(differing) / len(messages)
    print(f"segment counts disagree on {len(differing):,} messages ({share:.2f}%)")
    if not differing:
        return
    reasons = Counter(classify(messages[i][1]) for i in differing)
    by_kind = Counter(messages[i][0] for i in differing)
    for reason, n in reasons.most_common():
        print(f"  {n:>7,}  {reason}")
    print("  by message kind: " + ", ".join(f"{k} {n:,}" for k, n in by_kind.most_common()))
    print("  examples:")
    shown: set[str] = set()
    for i in differing:
        reason = classify(messages[i][1])
        if reason in shown:
            continue
        shown.add(reason)
        text = messages[i][1]
        print(f"    kanal {ours[i]} vs smsutil {theirs[i]} ({reason.split(':')[0]}):")
        print(f"      {text[:110]!r}…")
        if len(shown) == 4:
            break


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def bench_engine(count: int, seed: int, rounds: int) -> None:
    """The engine part: throughput of both libraries and their disagreements."""
    messages = make_messages(count, seed)
    texts = [text for _, text in messages]
    mean = sum(map(len, texts)) / len(texts)
    mix = ", ".join(f"{k} {v:.0%}" for k, v in KINDS.items())
    print(f"SMS engine: {len(texts):,} messages (seed {seed}), mean {mean:.0f} characters")
    print(f"  mix: {mix}")
    # Warm up: regex caches, kanal's lazily built joiner table (~30 ms, once).
    for text in texts[:100]:
        kanal_segments(text)
        kanal_segments_all_options(text)
        smsutil_segments(text)

    kanal_rate, ours = best_rate(kanal_segments, texts, rounds)
    options_rate, _ = best_rate(kanal_segments_all_options, texts, rounds)
    smsutil_rate, theirs = best_rate(smsutil_segments, texts, rounds)
    print(f"  kanal analyze()                      {kanal_rate:>10,.0f} msgs/s")
    print(f"  kanal analyze(transliterate, smart)  {options_rate:>10,.0f} msgs/s")
    print(f"  smsutil.split()                      {smsutil_rate:>10,.0f} msgs/s")
    print(
        f"  ratio kanal / smsutil                {kanal_rate / smsutil_rate:>10.1f}x (goal >= 5x)"
    )

    print("  per kind (msgs/s, kanal / smsutil):")
    for kind in KINDS:
        subset = [text for k, text in messages if k == kind][:5000]
        ours_k, _ = best_rate(kanal_segments, subset, rounds)
        theirs_k, _ = best_rate(smsutil_segments, subset, rounds)
        print(f"    {kind:<10} {ours_k:>10,.0f} / {theirs_k:>8,.0f}  = {ours_k / theirs_k:5.1f}x")
    report_disagreements(messages, ours, theirs)


def _latencies(connection: Any, method: str, path: str,
               body: bytes | None, headers: dict[str, str], count: int) -> list[float]:  # fmt: skip
    waits = []
    for _ in range(count):
        started = time.perf_counter()
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        assert response.status == 200, response.status
        waits.append(time.perf_counter() - started)
    return sorted(waits)


def bench_http(count: int = 2000) -> None:
    """p50/p99 of POST /v1/sms/analyze (1,000 characters) on a running `kanal serve`,
    beside GET /healthz on the same server and connection (the HTTP floor)."""
    import http.client
    import json
    import os
    import socket
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as tmp, socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        env = {
            **os.environ,
            "PYTHONPATH": str(root / "src"),
            "KANAL_DATABASE_URL": f"sqlite:///{tmp}/sms.db",
            "KANAL_SECRET_KEY": "bench",
            "KANAL_IN_PROCESS_WORKER": "false",
            "KANAL_LOG_LEVEL": "warning",
        }

        def kanal(*args: str) -> str:
            return subprocess.run(
                [sys.executable, "-m", "kanal", *args], env=env, cwd=tmp, check=True,
                capture_output=True, text=True,
            ).stdout  # fmt: skip

        kanal("migrate")
        tenant = json.loads(kanal("tenant", "create", "Bench", "--json"))
        key = json.loads(kanal("apikey", "create", "--tenant", tenant["id"], "--json"))["key"]
        server = subprocess.Popen(
            [sys.executable, "-m", "kanal", "serve", "--port", str(port)], env=env, cwd=tmp,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            for _ in range(100):
                try:
                    connection.request("GET", "/healthz")
                    connection.getresponse().read()
                    break
                except OSError:
                    connection.close()
                    time.sleep(0.1)
            text = (
                "Dzień dobry, naprawa zakończona – zapraszamy po odbiór „jutro” {ul. Długa}. " * 14
            )[:1000]
            body = json.dumps({"text": text}).encode()
            headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
            _latencies(connection, "POST", "/v1/sms/analyze", body, headers, 200)  # warm up
            floor = _latencies(connection, "GET", "/healthz", None, {}, count)
            waits = _latencies(connection, "POST", "/v1/sms/analyze", body, headers, count)
        finally:
            server.terminate()
            server.wait(30)

    def pct(values: list[float], q: float) -> float:
        return values[min(len(values) - 1, int(len(values) * q))] * 1000

    print(f"HTTP: {count:,} sequential requests on one keep-alive connection to `kanal serve`")
    for label, values in (
        ("POST /v1/sms/analyze, 1,000 chars", waits),
        ("GET /healthz (floor)", floor),
    ):
        print(f"  {label:<34} p50 {pct(values, 0.5):6.2f} ms   p99 {pct(values, 0.99):6.2f} ms")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--rounds", type=int, default=3, help="best of N timed runs")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    bench_engine(args.count, args.seed, args.rounds)
    bench_http()
    print(f"(benchmark took {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
