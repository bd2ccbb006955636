"""SMS length and segmentation at every boundary (3GPP TS 23.038 / 23.040)."""

from __future__ import annotations

import json
import time

import pytest

from kanal.core.sms import SmsAnalysis, analyze

EURO = "€"
GRIN = "😀"  # U+1F600, a surrogate pair in UTF-16
FAMILY = "👨\u200d👩\u200d👧"  # 3 emoji + 2 ZWJ = 8 UTF-16 units, one cluster
FLAG = "🇵🇱"  # two regional indicators = 4 UTF-16 units, one cluster
Q_ACUTE = "q\u0301"  # no precomposed form: stays 2 code points, one cluster
PL = "ą"  # a 1-unit UCS-2 letter


def lengths(analysis: SmsAnalysis) -> list[int]:
    return [len(part) for part in analysis.parts]


def check_invariants(a: SmsAnalysis) -> None:
    assert "".join(a.parts) == a.text
    assert a.segments == len(a.parts) >= 1
    assert 0 <= a.remaining <= a.per_segment


# --------------------------------------------------------------------------
# GSM-7 plain text: 160 / 153·n
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "segments", "per_segment", "remaining"),
    [
        (1, 1, 160, 159),
        (159, 1, 160, 1),
        (160, 1, 160, 0),
        (161, 2, 153, 145),
        (305, 2, 153, 1),
        (306, 2, 153, 0),
        (307, 3, 153, 152),
        (458, 3, 153, 1),
        (459, 3, 153, 0),
        (460, 4, 153, 152),
        (612, 4, 153, 0),
        (613, 5, 153, 152),
        (765, 5, 153, 0),
        (766, 6, 153, 152),
        (1530, 10, 153, 0),
        (1531, 11, 153, 152),
    ],
)
def test_gsm7_plain_lengths(length: int, segments: int, per_segment: int, remaining: int) -> None:
    a = analyze("x" * length)
    check_invariants(a)
    assert (a.encoding, a.units, a.characters) == ("GSM-7", length, length)
    assert (a.segments, a.per_segment, a.remaining) == (segments, per_segment, remaining)
    if segments > 1:
        assert lengths(a)[:-1] == [153] * (segments - 1)


@pytest.mark.parametrize("n", range(1, 8))
@pytest.mark.parametrize("delta", [-1, 0, 1])
def test_gsm7_multiples_of_153(n: int, delta: int) -> None:
    length = 153 * n + delta
    expected = 1 if length <= 160 else -(-length // 153)
    assert analyze("a" * length).segments == expected


# --------------------------------------------------------------------------
# GSM-7 extension characters: two septets, never split
# --------------------------------------------------------------------------


@pytest.mark.parametrize("char", list("\f^{}\\[~]|€"))
def test_every_extension_character_counts_two(char: str) -> None:
    a = analyze(char)
    assert (a.encoding, a.units, a.characters, a.remaining) == ("GSM-7", 2, 1, 158)


@pytest.mark.parametrize(
    ("prefix", "first_part", "second_starts_with_euro"),
    [
        (150, 152, False),  # septets 151-152: fits, then one more "a"
        (151, 152, False),  # septets 152-153: the pair ends the first part exactly
        (152, 152, True),  # septets 153-154: the pair moves to the second part
        (153, 153, True),  # septets 154-155: starts the second part
    ],
)
def test_escape_pair_at_153_and_154(
    prefix: int, first_part: int, second_starts_with_euro: bool
) -> None:
    text = "a" * prefix + EURO + "a" * 30
    a = analyze(text)
    check_invariants(a)
    assert a.segments == 2
    assert len(a.parts[0]) == first_part
    assert a.parts[1].startswith(EURO) is second_starts_with_euro
    first_septets = len(a.parts[0]) + a.parts[0].count(EURO)
    assert first_septets <= 153


@pytest.mark.parametrize(
    ("text", "units", "segments"),
    [
        ("a" * 158 + EURO, 160, 1),
        ("a" * 159 + EURO, 161, 2),
        (EURO * 80, 160, 1),
        (EURO * 81, 162, 2),
        ("[" * 76 + "a", 153, 1),
        ("{}" * 40, 160, 1),
        ("{}" * 40 + "a", 161, 2),
    ],
)
def test_extension_characters_at_the_single_limit(text: str, units: int, segments: int) -> None:
    a = analyze(text)
    assert (a.encoding, a.units, a.segments) == ("GSM-7", units, segments)


def test_all_extension_text_splits_between_pairs() -> None:
    a = analyze(EURO * 81)
    assert lengths(a) == [76, 5]  # 77 pairs would be 154 septets
    assert a.remaining == 153 - 10


def test_escape_pairs_in_every_part_of_a_long_text() -> None:
    a = analyze(("ab" + EURO) * 200)
    check_invariants(a)
    for part in a.parts[:-1]:
        septets = len(part) + part.count(EURO)
        assert septets in (152, 153)


# --------------------------------------------------------------------------
# UCS-2: 70 / 67·n, surrogate pairs, grapheme clusters
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "segments", "per_segment", "remaining"),
    [
        (1, 1, 70, 69),
        (69, 1, 70, 1),
        (70, 1, 70, 0),
        (71, 2, 67, 63),
        (133, 2, 67, 1),
        (134, 2, 67, 0),
        (135, 3, 67, 66),
        (200, 3, 67, 1),
        (201, 3, 67, 0),
        (202, 4, 67, 66),
        (268, 4, 67, 0),
        (269, 5, 67, 66),
    ],
)
def test_ucs2_lengths(length: int, segments: int, per_segment: int, remaining: int) -> None:
    a = analyze(PL * length)
    check_invariants(a)
    assert (a.encoding, a.units, a.characters) == ("UCS-2", length, length)
    assert (a.segments, a.per_segment, a.remaining) == (segments, per_segment, remaining)
    assert a.non_gsm == (PL,)


@pytest.mark.parametrize("n", range(1, 8))
@pytest.mark.parametrize("delta", [-1, 0, 1])
def test_ucs2_multiples_of_67(n: int, delta: int) -> None:
    length = 67 * n + delta
    expected = 1 if length <= 70 else -(-length // 67)
    assert analyze("ł" * length).segments == expected


@pytest.mark.parametrize(
    ("prefix", "first_part_units", "second_starts_with_emoji"),
    [
        (64, 67, False),  # units 65-66, then one more letter
        (65, 67, False),  # units 66-67: ends the first part exactly
        (66, 66, True),  # units 67-68 would straddle: the pair moves
        (67, 67, True),  # units 68-69: starts the second part
    ],
)
def test_surrogate_pair_straddling_67_68(
    prefix: int, first_part_units: int, second_starts_with_emoji: bool
) -> None:
    a = analyze(PL * prefix + GRIN + PL * 20)
    check_invariants(a)
    first = a.parts[0]
    assert len(first.encode("utf-16-le")) // 2 == first_part_units
    assert a.parts[1].startswith(GRIN) is second_starts_with_emoji


@pytest.mark.parametrize(
    ("text", "units", "segments", "characters"),
    [
        (PL * 68 + GRIN, 70, 1, 69),
        (PL * 69 + GRIN, 71, 2, 70),
        (GRIN * 35, 70, 1, 35),
        (GRIN * 36, 72, 2, 36),
        ("a" * 69 + GRIN, 71, 2, 70),
        (FAMILY, 8, 1, 1),
        (FLAG * 17 + "ab", 70, 1, 19),
    ],
)
def test_ucs2_units_and_characters(text: str, units: int, segments: int, characters: int) -> None:
    a = analyze(text)
    assert (a.encoding, a.units, a.segments, a.characters) == ("UCS-2", units, segments, characters)


def test_emoji_only_text_splits_into_whole_pairs() -> None:
    a = analyze(GRIN * 36)
    assert lengths(a) == [33, 3]  # 34 emoji would be 68 units


@pytest.mark.parametrize(
    ("cluster", "prefix", "moves"),
    [
        (Q_ACUTE, 65, False),  # units 66-67
        (Q_ACUTE, 66, True),  # units 67-68
        (FLAG, 63, False),  # units 64-67
        (FLAG, 64, True),  # units 65-68
        (FLAG, 66, True),  # units 67-70: the pair of indicators is never split
        (FAMILY, 59, False),  # units 60-67
        (FAMILY, 60, True),  # units 61-68
        (FAMILY, 64, True),
        ("👍🏽", 63, False),  # emoji + skin tone modifier: 4 units
        ("👍🏽", 64, True),
        ("❤\ufe0f", 65, False),  # heart + VS16: 2 units
        ("❤\ufe0f", 66, True),
    ],
)
def test_grapheme_cluster_is_not_split(cluster: str, prefix: int, moves: bool) -> None:
    a = analyze(PL * prefix + cluster + PL * 30)
    check_invariants(a)
    assert a.parts[0] == PL * prefix + ("" if moves else cluster)
    assert a.parts[1].startswith(cluster if moves else PL)


def test_cluster_longer_than_a_part_is_cut_between_code_points() -> None:
    zalgo = "x" + "\u0300" * 100  # one cluster of 101 units
    a = analyze(PL * 10 + zalgo)
    check_invariants(a)
    assert a.characters == 11
    assert lengths(a) == [67, 44]  # the part before the huge cluster is filled up


def test_combining_marks_are_composed_first() -> None:
    a = analyze("e\u0301" * 161)  # NFC: é, which is GSM-7
    assert (a.encoding, a.units, a.segments, a.changed) == ("GSM-7", 161, 2, True)
    assert a.text == "é" * 161


# --------------------------------------------------------------------------
# CR, LF and the empty string
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "units", "characters"),
    [
        ("\n", 1, 1),
        ("\r", 1, 1),
        ("\r\n", 2, 1),
        ("a\r\nb", 4, 3),
        ("a\n\rb", 4, 4),
        ("\r\n" * 80, 160, 80),
    ],
)
def test_cr_and_lf_count_one_each(text: str, units: int, characters: int) -> None:
    a = analyze(text)
    assert (a.encoding, a.units, a.characters, a.segments) == ("GSM-7", units, characters, 1)


def test_crlf_is_kept_together_across_parts() -> None:
    a = analyze("a" * 152 + "\r\n" + "a" * 20)
    check_invariants(a)
    assert lengths(a) == [152, 22]
    b = analyze(PL * 66 + "\r\n" + PL * 20)
    assert lengths(b) == [66, 22]


def test_lone_cr_and_lf_may_end_a_part() -> None:
    a = analyze("a" * 152 + "\n" + "a" * 20)
    assert lengths(a) == [153, 20]


def test_empty_string_is_one_empty_gsm7_segment() -> None:
    a = analyze("")
    assert a == SmsAnalysis(
        text="",
        encoding="GSM-7",
        units=0,
        parts=("",),
        remaining=160,
        max_segments=None,
        changed=False,
    )
    assert (a.segments, a.per_segment, a.too_long) == (1, 160, False)
    assert (a.non_gsm, a.characters) == ((), 0)


# --------------------------------------------------------------------------
# Encoding decisions, surrogates, max_segments, to_dict
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoding", "non_gsm"),
    [
        ("Hello @£$¥ èéùìò Ç Øø Åå ΔΦΓΛΩΠΨΣΘΞ Ææß É ¤ ¡ ÄÖÑÜ § ¿ äöñüà", "GSM-7", ()),
        ("price 5€ {a} [b] ~c| ^d \\e \f", "GSM-7", ()),
        ("zażółć", "UCS-2", ("ż", "ó", "ł", "ć")),
        ("ça", "UCS-2", ("ç",)),  # only the capital Ç is in GSM-7
        ("back`tick", "UCS-2", ("`",)),
        ("tab\there", "UCS-2", ("\t",)),
        ("esc\x1bape", "UCS-2", ("\x1b",)),  # 0x1B is the escape, not a character
        ("a„b”c„", "UCS-2", ("„", "”")),
        ("\u2126", "GSM-7", ()),  # OHM SIGN is NFC-normalised to Greek capital omega
    ],
)
def test_encoding_and_non_gsm(text: str, encoding: str, non_gsm: tuple[str, ...]) -> None:
    a = analyze(text)
    assert (a.encoding, a.non_gsm) == (encoding, non_gsm)


@pytest.mark.parametrize(
    ("text", "sent"),
    [
        ("a\udc80b", "a\ufffdb"),  # lone low surrogate
        ("\ud83d", "\ufffd"),  # lone high surrogate
        ("\ud83d\ude00", GRIN),  # a pair stored as two code points is joined
        ("\ude00\ud83d", "\ufffd\ufffd"),  # reversed: two lone surrogates
    ],
)
def test_lone_surrogates_become_replacement_characters(text: str, sent: str) -> None:
    a = analyze(text)
    assert (a.text, a.encoding, a.changed) == (sent, "UCS-2", True)
    json.dumps(a.to_dict(), ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize(
    ("text", "max_segments", "too_long"),
    [
        ("a" * 160, 1, False),
        ("a" * 161, 1, True),
        ("a" * 161, 2, False),
        (PL * 135, 2, True),
        (PL * 135, 3, False),
        ("", 1, False),
        ("a" * 2000, None, False),
    ],
)
def test_max_segments(text: str, max_segments: int | None, too_long: bool) -> None:
    a = analyze(text, max_segments=max_segments)
    assert (a.too_long, a.max_segments) == (too_long, max_segments)


@pytest.mark.parametrize("bad", [0, -1])
def test_max_segments_must_be_positive(bad: int) -> None:
    with pytest.raises(ValueError, match="max_segments"):
        analyze("a", max_segments=bad)


def test_to_dict_is_json_ready() -> None:
    a = analyze("Zażółć " * 12, max_segments=1)
    data = a.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["encoding"] == "UCS-2"
    assert data["segments"] == 2
    assert data["too_long"] is True
    assert data["parts"] == list(a.parts)
    assert data["non_gsm"] == ["ż", "ó", "ł", "ć"]
    assert set(data) >= {
        "text", "encoding", "characters", "units", "segments", "per_segment",
        "remaining", "parts", "non_gsm", "too_long",
    }  # fmt: skip


def test_analysis_is_frozen() -> None:
    a = analyze("x")
    with pytest.raises(AttributeError):
        a.text = "y"  # type: ignore[misc]


def test_fast_constructor_builds_the_same_object() -> None:
    from dataclasses import fields

    from kanal.core.sms import _new_analysis

    values = ("ab", "UCS-2", 2, ("ab",), 68, 3, True)
    fast = _new_analysis(*values)  # type: ignore[arg-type]
    assert fast == SmsAnalysis(*values)  # type: ignore[arg-type]
    assert [f.name for f in fields(SmsAnalysis)] == [
        "text", "encoding", "units", "parts", "remaining", "max_segments", "changed"
    ]  # fmt: skip
    assert hash(fast) == hash(SmsAnalysis(*values))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "🇵🇱" * 20_000,  # regional indicators: regex segments a run in quadratic time
        "🇵" * 20_001,
        "x" + "\u0300" * 50_000,  # one huge cluster
        "👨" + "\u200d👩" * 20_000,
        "❤\ufe0f " * 20_000,
        "ą\r\n" * 30_000,
    ],
    ids=["flags", "odd-indicators", "zalgo", "zwj-chain", "vs16", "crlf"],
)
def test_pathological_texts_stay_fast(text: str) -> None:
    started = time.perf_counter()
    a = analyze(text)
    assert a.characters > 0
    a.to_dict()
    assert time.perf_counter() - started < 2.0
    check_invariants(a)
