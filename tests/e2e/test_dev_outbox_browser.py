"""The dev outbox as a person sees it: headless Chromium against a running `kanal serve`."""

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import kanal

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _chromium(*args: str) -> str:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs Debian's chromium)")
        pytest.skip("chromium is not installed here (apt-get install chromium)")
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stdout


def test_captured_mail_is_listed_and_readable(
    server: str, env: dict[str, str], tmp_path: Path
) -> None:
    tenant = json.loads(kanal(env, tmp_path, "tenant", "create", "FixIT Gdańsk", "--json"))
    key = json.loads(kanal(env, tmp_path, "apikey", "create", "--tenant", tenant["id"], "--json"))
    headers = {"Authorization": f"Bearer {key['key']}"}
    client = httpx.post(
        f"{server}/v1/clients",
        headers=headers,
        json={"name": "Zofia Wróbel", "emails": [{"address": "zofia@example.com"}]},
    ).json()
    message = httpx.post(
        f"{server}/v1/messages",
        headers=headers,
        json={
            "recipient": {"client_id": client["id"]},
            "channels": ["email"],
            "subject": "Telefon gotowy do odbioru",
            "text": "Dzień dobry, telefon jest naprawiony.",
            "html": "<p>Dzień dobry, telefon jest <b>naprawiony</b>.</p>",
        },
    ).json()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        got = httpx.get(f"{server}/v1/messages/{message['id']}", headers=headers).json()
        if got["deliveries"][0]["status"] == "delivered":
            break
        time.sleep(0.1)
    listing = _chromium("--dump-dom", f"{server}/dev/outbox")
    assert "Telefon gotowy do odbioru" in listing and "zofia@example.com" in listing
    captured = listing.split('href="/dev/outbox/')[1].split('"')[0]
    page = _chromium("--dump-dom", f"{server}/dev/outbox/{captured}")
    assert "Dzień dobry, telefon jest naprawiony." in page
    assert "FixIT Gdańsk" in page  # the main branch's trade name is the sender's name
    shot = tmp_path / "outbox.png"
    _chromium(f"--screenshot={shot}", "--window-size=1200,800", f"{server}/dev/outbox/{captured}")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("KANAL_KEEP_SCREENSHOTS"):
        shutil.copy(shot, os.environ["KANAL_KEEP_SCREENSHOTS"])
