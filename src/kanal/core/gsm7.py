"""GSM 03.38 tables, text preparation, grapheme windows and splitting.

The building blocks of :mod:`kanal.core.sms` (use that module).  Tables are
built once at import, so the per-message work is mostly C-level string
operations.  Sources: 3GPP TS 23.038 section 6.2.1 (default alphabet) and
6.2.1.1 (extension table); Unicode UAX #29 (grapheme clusters).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from functools import cache
from typing import Final

import regex

# --------------------------------------------------------------------------
# The alphabet
# --------------------------------------------------------------------------

#: The GSM 03.38 basic table in code order, without 0x1B (the escape to the
#: extension table, which cannot be sent as a character of its own).  0x09 is
#: mapped to U+00C7 as in the Unicode consortium's GSM0338 mapping.
GSM7_BASIC: Final = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)

#: The extension table: each of these is sent as ESC + code, two septets.
GSM7_EXTENSION: Final = "\f^{}\\[~]|€"

GSM7_BASIC_SET: Final = frozenset(GSM7_BASIC)
GSM7_EXTENSION_SET: Final = frozenset(GSM7_EXTENSION)
GSM7_CHARS: Final = GSM7_BASIC_SET | GSM7_EXTENSION_SET

#: Matches one character that is in neither GSM 03.38 table.
NON_GSM7_RE: Final = re.compile("[^" + re.escape(GSM7_BASIC + GSM7_EXTENSION) + "]")

# Septets in one SMS and in each part of a concatenated SMS (6-octet UDH:
# 48 bits = 7 septets lost, 160 - 7 = 153), and the same in UTF-16 code units
# (140 octets, 134 with the UDH).
GSM7_SINGLE: Final = 160
GSM7_MULTI: Final = 153
UCS2_SINGLE: Final = 70
UCS2_MULTI: Final = 67

# --------------------------------------------------------------------------
# Transliteration ("send without Polish characters")
# --------------------------------------------------------------------------

# Letters whose base letter is not a canonical decomposition.
_UNDECOMPOSABLE: Final = {"ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ħ": "h", "Ħ": "H", "ı": "i"}

# Latin-1 Supplement, Latin Extended-A/B and Latin Extended Additional.
_LATIN_RANGES: Final = ((0x00C0, 0x0250), (0x1E00, 0x1F00))


def _build_transliteration() -> dict[int, str]:
    """Map every Latin letter with diacritics that is not GSM-7 to its base.

    A letter qualifies when its canonical decomposition is an ASCII letter
    followed only by combining marks (ą -> a + ogonek), or when it is listed
    in ``_UNDECOMPOSABLE`` (ł -> l).  Letters that are in GSM-7 (é, ä, ñ, ...)
    are never mapped.  This covers all Polish and Czech letters and, as a
    bonus, Slovak, Hungarian, Romanian, French, ... letters too.
    """
    table: dict[int, str] = {}
    for low, high in _LATIN_RANGES:
        for code in range(low, high):
            char = chr(code)
            if char in GSM7_CHARS:
                continue
            decomposed = unicodedata.normalize("NFD", char)
            base, marks = decomposed[0], decomposed[1:]
            if (
                marks
                and base.isascii()
                and base.isalpha()
                and all(unicodedata.combining(mark) for mark in marks)
            ):
                table[code] = base
    for char, base in _UNDECOMPOSABLE.items():
        table[ord(char)] = base
    return table


#: ``str.translate`` table: letter with diacritics -> ASCII base letter.
TRANSLITERATION: Final = _build_transliteration()

# --------------------------------------------------------------------------
# Smart replacement of typographic lookalikes
# --------------------------------------------------------------------------

_SMART_GROUPS: Final = (
    # Single quotes, apostrophes, primes, single guillemets, acute, backtick.
    ("\u2018\u2019\u201a\u201b\u2032\u2035\u2039\u203a\u02bc\u00b4`", "'"),
    # Double quotes, low quotes, double primes, guillemets.
    ("\u201c\u201d\u201e\u201f\u2033\u2036\u00ab\u00bb", '"'),
    # Hyphens, dashes, minus signs.
    ("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63", "-"),
    # Bullets.
    ("\u2022\u2023\u2043\u2219\u25e6\u25cf\u25aa", "-"),
    # Ellipsis and one-dot leader.
    ("\u2026", "..."),
    ("\u2024", "."),
    # Tab, no-break and other Unicode spaces: each becomes ONE space.
    (
        "\t\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
        "\u2008\u2009\u200a\u202f\u205f\u3000",
        " ",
    ),
    # Line and paragraph separators, next line.
    ("\u2028\u2029\u0085", "\n"),
    # Invisible characters: zero-width space, word joiner, BOM, soft hyphen,
    # Mongolian vowel separator, bidirectional marks, embeddings, isolates.
    (
        "\u200b\u2060\ufeff\u00ad\u180e\u200e\u200f"
        "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",
        "",
    ),
)

#: Joiners and variation selectors.  They carry meaning inside emoji and
#: some scripts, so ``smart`` removes them only when they are all that keeps
#: the text out of GSM-7.
JOINERS: Final = "\u200c\u200d" + "".join(chr(c) for c in range(0xFE00, 0xFE10))
JOINERS_TABLE: Final[dict[int, str | None]] = dict.fromkeys(map(ord, JOINERS))


def _build_smart() -> dict[int, str]:
    table: dict[int, str] = {}
    for chars, replacement in _SMART_GROUPS:
        for char in chars:
            table[ord(char)] = replacement
    # Fullwidth ASCII (U+FF01..U+FF5E) -> ASCII, composed with the table above
    # so that e.g. the fullwidth grave accent lands on "'" in one pass.
    for code in range(0xFF01, 0xFF5F):
        ascii_char = chr(code - 0xFEE0)
        table[code] = table.get(ord(ascii_char), ascii_char)
    return table


#: ``str.translate`` table: typographic lookalike -> GSM-7 replacement.
SMART: Final = _build_smart()

#: Transliteration and smart replacement in one pass.
TRANSLITERATION_AND_SMART: Final = {**TRANSLITERATION, **SMART}


def _keys_re(table: dict[int, str]) -> re.Pattern[str]:
    """A pattern matching any character that ``table`` maps."""
    return re.compile("[" + "".join(re.escape(chr(code)) for code in sorted(table)) + "]")


_JOINERS_RE: Final = re.compile("[" + JOINERS + "]")
_TABLES: Final = {
    (True, False): (TRANSLITERATION, _keys_re(TRANSLITERATION)),
    (False, True): (SMART, _keys_re(SMART)),
    (True, True): (TRANSLITERATION_AND_SMART, _keys_re(TRANSLITERATION_AND_SMART)),
}
_NFC_ROUNDS: Final = 3


# --------------------------------------------------------------------------
# Preparing the text
# --------------------------------------------------------------------------


def _nfc(text: str) -> str:
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def clean_surrogates(text: str) -> str:
    """Join surrogate pairs stored as two code points; lone ones -> U+FFFD."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def prepare(text: str, transliterate: bool, smart: bool) -> str:
    """NFC-normalise and apply the options (see ``analyze``)."""
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    if transliterate or smart:
        table, keys = _TABLES[transliterate, smart]
        # A mapping can create a new composition (ą + U+0301 -> a + U+0301 ->
        # á), so map and normalise until the text is stable.
        for _ in range(_NFC_ROUNDS):
            if keys.search(text) is None:
                break
            text = _nfc(text.translate(table))
        if smart and _JOINERS_RE.search(text) is not None:
            text = _strip_lone_joiners(text)
    return text


def _strip_lone_joiners(text: str) -> str:
    """Remove ZWJ, ZWNJ and variation selectors if only they force UCS-2."""
    if set(NON_GSM7_RE.findall(text)).issubset(JOINERS):
        return _nfc(text.translate(JOINERS_TABLE))
    return text


# --------------------------------------------------------------------------
# Counting and splitting
# --------------------------------------------------------------------------

#: Any character outside the basic table (an extension or a non-GSM one).
NOT_BASIC_RE: Final = re.compile("[^" + re.escape(GSM7_BASIC) + "]")
#: ASCII bytes of the basic table and of the extension table.
ASCII_BASIC: Final = bytes(ord(c) for c in GSM7_BASIC if c.isascii())
ASCII_EXTENSION: Final = bytes(ord(c) for c in GSM7_EXTENSION if c.isascii())
ASTRAL_RE: Final = re.compile("[\U00010000-\U0010ffff]")
_CRLF_RE: Final = re.compile("\r\n")
_GRAPHEME_RE: Final = regex.compile(r"\X")
# A grapheme cluster boundary is certain between two code points unless one
# of them is one of these "joiners" (UAX #29: CR LF for GB3, handled apart
# as it is the only cluster possible in GSM-7 text; Hangul jamo for
# GB6-GB8, Extend/ZWJ/SpacingMark/Prepend for GB9-GB9b, the Indic conjunct
# classes for GB9c, ZWJ for GB11, regional indicators for GB12-GB13).
# Precomposed Hangul syllables (LV, LVT) only join with a jamo, which is one.
_RI_FIRST: Final = "\U0001f1e6"  # regional indicators: pairs of them are flags
_RI_LAST: Final = "\U0001f1ff"
_RI_CHUNK: Final = 64
_CLUSTER_JOINER: Final = (
    r"[\p{GCB=Extend}\p{GCB=ZWJ}\p{GCB=SpacingMark}\p{GCB=Prepend}"
    r"\p{GCB=Regional_Indicator}\p{GCB=L}\p{GCB=V}\p{GCB=T}"
    r"\p{InCB=Extend}\p{InCB=Linker}]"
)


@cache
def _joiner_tables() -> tuple[re.Pattern[str], frozenset[str], bytes]:
    """The characters of ``_CLUSTER_JOINER``, in three forms.

    A BMP ``re`` set (a bitmap: ~5 ns per character scanned, where ``regex``
    property classes take ~40 ns), the astral ones (rare, checked one by
    one), and the 256-code-point BMP blocks free of them as UTF-16 high
    bytes (Basic Latin to Latin Extended-B are: Polish and Czech text needs
    no scan).  Built on first use (about 30 ms) from the ``regex`` module's
    Unicode data, so it agrees with its ``\\X``.  Planes 2-3 and 15-16 hold
    no joining characters and are not scanned.
    """
    scanned = "".join(map(chr, [*range(0x2_0000), *range(0xE_0000, 0xE_1000)]))
    found = regex.findall(_CLUSTER_JOINER, scanned)
    bmp = [c for c in found if c <= "\uffff"]
    used_blocks = {ord(c) >> 8 for c in bmp}
    free_blocks = bytes(block for block in range(256) if block not in used_blocks)
    bmp_re = re.compile("[" + "".join(map(re.escape, bmp)) + "]")
    return bmp_re, frozenset(c for c in found if c > "\uffff"), free_blocks


def windows(text: str, astral: Sequence[int], utf16: bytes = b"") -> list[tuple[int, int]]:
    """Spans of ``text`` that may hold grapheme clusters other than CR LF.

    ``astral``: the offsets of the code points outside the BMP; ``utf16``:
    ``text`` as UTF-16-LE if at hand.  A window runs from the code point
    before a run of joiners to the one after it; its ends are certain
    boundaries (or split a CR LF, which the callers handle apart), so
    segmenting a window alone gives the clusters of the whole text.  Joiners
    at most 3 apart share a window; long runs of regional indicators are cut
    into windows of about ``_RI_CHUNK``.
    """
    bmp_re, astral_joiners, free_blocks = _joiner_tables()
    if utf16 and not utf16[1::2].translate(None, free_blocks):
        joiners = []  # every character is in a block without joiners
    elif not astral and bmp_re.search(text) is None:
        return []
    else:
        joiners = [m.start() for m in bmp_re.finditer(text)]
    if astral:
        more = [i for i in astral if text[i] in astral_joiners]
        joiners = sorted(joiners + more) if more else joiners
    if not joiners:
        return []
    n = len(text)
    found: list[tuple[int, int]] = []
    low, last, run = max(joiners[0] - 1, 0), joiners[0], joiners[0]
    for joiner in joiners[1:]:
        if joiner - last > 3:
            found.append((low, min(last + 2, n)))
            low, run = joiner - 1, joiner
        elif joiner != last + 1 or not _RI_FIRST <= text[last] <= _RI_LAST:
            run = joiner  # a run of regional indicators starts here (if it is one)
        elif (
            _RI_FIRST <= text[joiner] <= _RI_LAST
            and (joiner - run) % 2 == 0
            and joiner - low >= _RI_CHUNK
        ):
            # Inside a run of regional indicators, an even offset from its
            # start is a certain boundary.  Cut long runs there: ``regex``
            # segments such a run in quadratic time.
            found.append((low, joiner))
            low = joiner
        last = joiner
    found.append((low, min(last + 2, n)))
    return found


def _segment(text: str, low: int, high: int) -> list[tuple[int, int]]:
    """Clusters of 2+ code points (not CR LF) in ``text[low:high]``."""
    found = []
    for cluster in _GRAPHEME_RE.findall(text[low:high]):
        if len(cluster) > 1 and cluster != "\r\n":
            found.append((low, low + len(cluster)))
        low += len(cluster)
    return found


def astral_offsets(text: str) -> list[int]:
    """Offsets of the code points outside the BMP (two UTF-16 units each)."""
    return [m.start() for m in ASTRAL_RE.finditer(text)]


def clusters(text: str) -> list[tuple[int, int]]:
    """(start, end) of every grapheme cluster of two or more code points.

    The windows (see :func:`windows`) go to one ``\\X`` call (~130 ns per
    code point, ~700 ns per call), separated by NUL, a control character
    that is always a cluster of its own.
    """
    spans = windows(text, astral_offsets(text) if not text.isascii() else [])
    found = [(m.start(), m.end()) for m in _CRLF_RE.finditer(text)] if "\r" in text else []
    if spans:
        joined = "\x00".join([text[low:high] for low, high in spans])
        following = iter(spans)
        offset, high = next(following)
        for cluster in _GRAPHEME_RE.findall(joined):
            if offset == high:  # the NUL between two windows
                offset, high = next(following)
                continue
            if len(cluster) > 1 and cluster != "\r\n":
                found.append((offset, offset + len(cluster)))
            offset += len(cluster)
        found.sort()
    return found


def split(
    text: str, limit: int, doubles: Sequence[int], spans: Sequence[tuple[int, int]]
) -> tuple[str, ...]:
    """Cut ``text`` greedily into parts of at most ``limit`` units.

    For UCS-2 (GSM-7 text goes to :func:`split_septets`): a code point costs
    2 units if its offset is in ``doubles`` (sorted astral offsets), else 1.
    ``spans`` are the :func:`windows` of ``text``; only a window that a cut
    falls into is segmented.  CR LF is kept together here.  Greedy filling
    is optimal for cutting a sequence into the fewest bins.  The work per
    part is a few bisections, not a loop over characters.
    """
    n = len(text)
    crlf = "\r\n" in text
    lows = [low for low, _ in spans]
    segmented: dict[int, list[tuple[int, int]]] = {}
    parts: list[str] = []
    start = first = 0  # doubles[first:] are the ones at or after start
    while n - start + len(doubles) - first > limit:  # the rest does not fit
        end = min(n, start + limit)
        after = bisect_left(doubles, end, first)  # doubles[first:after] are in the part
        used = end - start + after - first
        while used > limit:
            # Dropping k = ceil(over / 2) code points drops k..2k <= over + 1
            # units.  It ends at limit - 1 only if all k were doubles, and
            # then the next code point is a double that would not fit: so
            # ``end`` is the furthest cut that fits.
            end -= (used - limit + 1) >> 1
            after = bisect_left(doubles, end, first, after)
            used = end - start + after - first
        if crlf and text[end - 1] == "\r" and text[end] == "\n" and end - 1 > start:
            end -= 1
        i = bisect_right(lows, end) - 1
        if i >= 0 and end < spans[i][1]:
            if i not in segmented:  # each window is segmented once at most
                segmented[i] = _segment(text, *spans[i])
            inside = segmented[i]
            j = bisect_right(inside, (end, n)) - 1
            if j >= 0:
                low, high = inside[j]
                cost = high - low + bisect_left(doubles, high) - bisect_left(doubles, low)
                if start < low < end < high and cost <= limit:
                    # The cluster straddling the cut fits in one part: move
                    # it to the next one.  (If it fits in none, cut it.)
                    end = low
                    after = bisect_left(doubles, end, first, after)
        parts.append(text[start:end])
        start, first = end, after
    parts.append(text[start:])
    return tuple(parts)
