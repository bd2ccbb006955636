"""The live SMS counter and the sender checks over HTTP, in the tenant's language."""

import pytest

from tests.conftest import Api


@pytest.mark.parametrize(
    ("text", "encoding", "segments", "units"),
    [
        ("A" * 160, "GSM-7", 1, 160),
        ("A" * 161, "GSM-7", 2, 161),
        ("€" * 80, "GSM-7", 1, 160),
        ("ą" * 70, "UCS-2", 1, 70),
        ("ą" * 71, "UCS-2", 2, 71),
        ("", "GSM-7", 1, 0),
    ],
)
def test_counter(api: Api, text: str, encoding: str, segments: int, units: int) -> None:
    body = api.post("/v1/sms/analyze", json={"text": text}).json()
    assert (body["encoding"], body["segments"], body["units"]) == (encoding, segments, units)
    assert "".join(body["parts"]) == body["text"]


def test_counter_says_what_forces_unicode_and_what_would_save(api: Api) -> None:
    text = "Zapraszamy po odbiór „jutro” – serwis " * 3
    body = api.post("/v1/sms/analyze", json={"text": text}).json()
    assert body["encoding"] == "UCS-2"
    assert body["non_gsm"][:1] == ["ó"]
    codes = {s["code"]: s for s in body["suggestions"]}
    assert "sms_all" in codes
    best = codes["sms_all"]
    assert best["segments_after"] < best["segments_before"]
    assert best["message"].endswith(f"{best['segments_before']} SMS → {best['segments_after']} SMS")
    options = api.post(
        "/v1/sms/analyze", json={"text": text, "transliterate": True, "smart": True}
    ).json()
    assert options["encoding"] == "GSM-7" and options["changed"] is True
    assert options["segments"] == best["segments_after"]


def test_max_segments_and_the_length_cap(api: Api) -> None:
    body = api.post("/v1/sms/analyze", json={"text": "x" * 1000, "max_segments": 6}).json()
    assert (body["segments"], body["too_long"]) == (7, True)
    response = api.post("/v1/sms/analyze", json={"text": "x" * 10_001})
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["code"] == "too_long"


@pytest.mark.parametrize(
    ("params", "codes"),
    [
        ({"name": "SERWIS"}, []),
        ({"name": "Serwis–Łódź"}, ["sender_name_en_dash", "sender_name_diacritics"]),
        ({"name": "SERWISANT ONLINE"}, ["sender_name_too_long"]),
        ({"name": "12345"}, ["sender_name_no_letter"]),
        ({"number": "+48500100200"}, []),
        ({"number": "0048500100200"}, ["sender_number_missing_plus"]),
    ],
)
def test_sender_check(api: Api, params: dict[str, str], codes: list[str]) -> None:
    problems = api.get("/v1/sms/sender-check", params=params).json()
    assert [p["code"] for p in problems] == codes
    assert all(p["message"] and "{" not in p["message"] for p in problems)
