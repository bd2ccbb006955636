"""Property tests of kanal.core.sms against an independent, slow reference.

The reference below shares no code with the module: its own GSM 03.38
tables (typed in from the spec), its own per-character costs, and two
splitters — a character-by-character greedy one and a dynamic programme
that finds the minimum number of parts under the no-split rule.
"""

from __future__ import annotations

import itertools
import json
import unicodedata

import pytest
import regex
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kanal.core.gsm7 import clusters, windows
from kanal.core.sms import SmsAnalysis, analyze

# --------------------------------------------------------------------------
# Reference model
# --------------------------------------------------------------------------

REF_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
REF_EXTENSION = "\f^{}\\[~]|€"
REF_GSM = set(REF_BASIC) | set(REF_EXTENSION)
GRAPHEME = regex.compile(r"\X")


def ref_is_gsm(text: str) -> bool:
    return all(char in REF_GSM for char in text)


def ref_cost(char: str, gsm: bool) -> int:
    if gsm:
        return 2 if char in REF_EXTENSION else 1
    return 2 if ord(char) > 0xFFFF else 1


def ref_units(text: str, gsm: bool) -> int:
    return sum(ref_cost(char, gsm) for char in text)


def ref_items(text: str, gsm: bool, limit: int) -> list[str]:
    """Grapheme clusters, except that a cluster too big for a part is cut up."""
    items: list[str] = []
    for cluster in GRAPHEME.findall(text):
        if ref_units(cluster, gsm) <= limit:
            items.append(cluster)
        else:
            items.extend(cluster)
    return items


def ref_greedy_parts(text: str, gsm: bool, limit: int) -> list[str]:
    parts: list[str] = []
    current, used = "", 0
    for item in ref_items(text, gsm, limit):
        cost = ref_units(item, gsm)
        if used + cost > limit:
            parts.append(current)
            current, used = "", 0
        current += item
        used += cost
    parts.append(current)
    return parts


def ref_min_parts(text: str, gsm: bool, limit: int) -> int:
    """Dynamic programme: fewest parts when parts may only end between items."""
    costs = [ref_units(item, gsm) for item in ref_items(text, gsm, limit)]
    best = [0] + [len(costs) + 1] * len(costs)
    for end in range(1, len(costs) + 1):
        used = 0
        for start in range(end - 1, -1, -1):
            used += costs[start]
            if used > limit:
                break
            best[end] = min(best[end], best[start] + 1)
    return max(best[-1], 1)


def ref_segments(text: str) -> int:
    gsm = ref_is_gsm(text)
    single, multi = (160, 153) if gsm else (70, 67)
    if ref_units(text, gsm) <= single:
        return 1
    return ref_min_parts(text, gsm, multi)


# --------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------

POLISH_CZECH = "ąćęłńóśźżĄĆĘŁŃÓŚŹŻáčďěíňřšťúůýžÁČĎĚÍŇŘŠŤÚŮÝŽé"
SPECIALS = [
    "😀", "👍🏽", "🏽", "🇵🇱", "🇵", "🇱", "👨\u200d👩\u200d👧", "❤\ufe0f", "\ufe0f",
    "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
    "q\u0301", "e\u0301", "\u0300", "\r\n", "\r", "\n", "\u200d", "\u200c",
    "क", "\u094d", "ष", "\u093f", "\u0600", "\u1100", "\u1161", "\u11a8", "각",
    "\U00011a3a", "\u1cf6", "\U000110bd", "„", "”", "–", "…", "\u00a0", "\U0001d15e",
]  # fmt: skip

any_text = st.text(st.characters(exclude_categories=()), max_size=400)
gsm_heavy = st.lists(
    st.one_of(
        st.sampled_from(REF_BASIC),
        st.sampled_from(REF_EXTENSION),
        st.sampled_from("\r\n"),
    ),
    max_size=700,
).map("".join)
mixed = st.lists(
    st.one_of(
        st.sampled_from(REF_BASIC),
        st.sampled_from(REF_EXTENSION),
        st.sampled_from(POLISH_CZECH),
        st.sampled_from(SPECIALS),
        st.characters(),
    ),
    max_size=300,
).map("".join)
ucs2_heavy = st.lists(
    st.one_of(st.sampled_from(POLISH_CZECH), st.sampled_from(SPECIALS), st.just("a")),
    min_size=50,
    max_size=300,
).map("".join)
# Mostly one-unit characters with a few doubles, so that a part's window
# holds only one to three of them (the cases where the cut is subtle).
sparse_doubles = st.lists(
    st.sampled_from(["a"] * 30 + ["€", "\r\n", "😀", "ą", "q\u0301"]),
    min_size=140,
    max_size=500,
).map("".join)
texts = st.one_of(any_text, gsm_heavy, mixed, ucs2_heavy, sparse_doubles)
options = st.fixed_dictionaries({"transliterate": st.booleans(), "smart": st.booleans()})

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------


def check_structure(a: SmsAnalysis) -> None:
    gsm = a.encoding == "GSM-7"
    assert gsm == ref_is_gsm(a.text)
    single, multi = (160, 153) if gsm else (70, 67)
    assert "".join(a.parts) == a.text
    assert a.segments == len(a.parts) >= 1
    assert a.units == ref_units(a.text, gsm)
    assert a.per_segment == (single if a.segments == 1 else multi)
    assert (a.segments == 1) == (a.units <= single)
    for part in a.parts:
        assert ref_units(part, gsm) <= a.per_segment
    assert a.remaining == a.per_segment - ref_units(a.parts[-1], gsm)
    assert a.characters == len(GRAPHEME.findall(a.text))
    assert set(a.non_gsm) == {c for c in a.text if c not in REF_GSM}
    assert list(a.non_gsm) == list(dict.fromkeys(c for c in a.text if c not in REF_GSM))


@PROPERTY
@given(texts, options)
@example("a" * 152 + "€" + "a" * 10, {"transliterate": False, "smart": False})
@example("ą" * 66 + "👨\u200d👩\u200d👧" * 3, {"transliterate": False, "smart": False})
def test_structure(text: str, opts: dict[str, bool]) -> None:
    check_structure(analyze(text, **opts))


@PROPERTY
@given(texts)
def test_parts_never_split_pairs(text: str) -> None:
    a = analyze(text)
    if a.encoding == "GSM-7":
        # Encode with the reference tables: no part may end in an ESC.
        for part in a.parts:
            septets = "".join("\x1b" + c if c in REF_EXTENSION else c for c in part)
            assert not septets.endswith("\x1b")
            assert len(septets) <= a.per_segment
    else:
        for part in a.parts:
            encoded = part.encode("utf-16-be")  # raises on a lone surrogate
            assert len(encoded) // 2 <= a.per_segment
            if encoded:
                assert not 0xD8 <= encoded[-2] <= 0xDB  # no high surrogate at the end


@PROPERTY
@given(texts)
def test_clusters_are_not_split_where_they_fit(text: str) -> None:
    a = analyze(text)
    gsm = a.encoding == "GSM-7"
    limit = a.per_segment
    bounds, cuts = {0}, set()
    spans: list[tuple[int, int]] = []
    for m in GRAPHEME.finditer(a.text):
        bounds.add(m.end())
        spans.append(m.span())
    offset = 0
    for part in a.parts[:-1]:
        offset += len(part)
        cuts.add(offset)
    for cut in cuts - bounds:
        start, end = next((s, e) for s, e in spans if s < cut < e)
        assert ref_units(a.text[start:end], gsm) > limit


@PROPERTY
@given(texts)
@example("a" * 153 + "\r\n" + "€" * 80)
@example("x" + "\u0300" * 100 + "ą" * 10)
def test_segments_match_reference_and_are_minimal(text: str) -> None:
    a = analyze(text)
    gsm = a.encoding == "GSM-7"
    assert a.segments == ref_segments(a.text)
    if a.segments > 1:
        assert list(a.parts) == ref_greedy_parts(a.text, gsm, a.per_segment)


@pytest.mark.parametrize(
    ("filler", "double", "limit", "around"),
    [("a", "€", 153, range(144, 158)), ("ą", "😀", 67, range(58, 71))],
)
def test_every_placement_of_one_to_three_doubles_near_the_cut(
    filler: str, double: str, limit: int, around: range
) -> None:
    for count in (1, 2, 3):
        for places in itertools.combinations(around, count):
            chars = [filler] * (limit + 30)
            for place in places:
                chars[place] = double
            text = "".join(chars)
            a = analyze(text)
            gsm = a.encoding == "GSM-7"
            assert list(a.parts) == ref_greedy_parts(text, gsm, limit), places
            assert a.segments == ref_min_parts(text, gsm, limit), places


@PROPERTY
@given(
    st.text(
        st.sampled_from(POLISH_CZECH + "abcXYZ 019.,!?-\n" + "„”«»–—…\u00a0\u200b"), max_size=500
    )
)
def test_transliterated_polish_and_czech_is_gsm7(text: str) -> None:
    a = analyze(text, transliterate=True, smart=True)
    assert a.encoding == "GSM-7"
    assert ref_is_gsm(a.text)
    assert a.non_gsm == ()
    only_letters = analyze(unicodedata.normalize("NFD", text), transliterate=True)
    assert not set(only_letters.text) & set(POLISH_CZECH.replace("é", ""))


@PROPERTY
@given(texts, options)
def test_analysis_is_idempotent(text: str, opts: dict[str, bool]) -> None:
    once = analyze(text, **opts)
    twice = analyze(once.text, **opts)
    assert twice.text == once.text
    assert not twice.changed
    assert twice.segments == once.segments


@PROPERTY
@given(st.text(st.sampled_from(REF_BASIC + REF_EXTENSION), max_size=800))
def test_gsm_text_is_gsm7(text: str) -> None:
    assert analyze(text).encoding == "GSM-7"


@settings(max_examples=1000, deadline=None)
@given(
    st.text(st.characters(exclude_categories=()), max_size=300),
    options,
    st.one_of(st.none(), st.integers(1, 10)),
)
@example("\ud800", {"transliterate": True, "smart": True}, 1)
@example("\udfff\ud800\udc00\ud83d", {"transliterate": False, "smart": True}, None)
def test_never_raises_and_is_json_safe(text: str, opts: dict[str, bool], limit: int | None) -> None:
    a = analyze(text, max_segments=limit, **opts)
    json.dumps(a.to_dict(), ensure_ascii=False).encode("utf-8")
    assert not regex.search(r"[\ud800-\udfff]", a.text)
    if limit is not None:
        assert a.too_long == (a.segments > limit)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(SPECIALS), st.sampled_from(["a", " ", "ą", "x" * 30]), st.characters()
        ),
        max_size=120,
    ).map("".join)
)
@example("\u0915\u094d\u1cf6\u0915 ok")  # an InCB=Extend letter inside a conjunct
@example("🇵🇱🇩" + " " * 30 + "🇵🇱")  # odd run of regional indicators, two windows
@example("a" + "🇵" * 201 + "\u0301" + "🇱" * 130 + "\u200d" + "🇵" * 67)  # long runs, cut up
@example("\u0600" + "🇵" * 150)  # a prepend before a long run
def test_windowed_segmentation_matches_the_whole_text(text: str) -> None:
    text = analyze(text).text  # no lone surrogates, NFC
    expected = [m.span() for m in GRAPHEME.finditer(text) if len(m.group()) > 1]
    assert clusters(text) == expected
    astral = [i for i, char in enumerate(text) if char > "\uffff"]
    assert windows(text, astral, text.encode("utf-16-le")) == windows(text, astral)
