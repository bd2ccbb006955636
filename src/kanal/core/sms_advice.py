"""Typed advice for SMS: sender ID problems and cost-saving suggestions.

Sender validation (:func:`validate_sender_name`, :func:`validate_sender_number`)
returns a list of :class:`SenderProblem`; an empty list means the sender is
valid.  Each problem has a machine ``code``, ``params`` for localisation, and
an English ``message`` (plus an optional ``hint``).

Sender name rules: 1-11 characters; only ``a-z A-Z 0-9``, space and
``. & @ - + _ ! %``; no diacritics; at least one letter.  The product page
prints the dash as an en dash ("–"): the ASCII hyphen-minus "-" is the
accepted character, and an en dash (or another Unicode dash) gets its own
problem, ``sender_name_en_dash``, suggesting "-".

Sender number rules (E.164): "+" then 1-15 ASCII digits, the first not 0.

:func:`suggest` returns :class:`SmsSuggestion` objects: which characters
cost extra segments and what replacing them would save.  All of this is
re-exported by :mod:`kanal.core.sms`; import it from there.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from kanal.core.gsm7 import JOINERS, SMART, TRANSLITERATION, TRANSLITERATION_AND_SMART

SENDER_NAME_MAX: Final = 11
SENDER_NUMBER_MAX_DIGITS: Final = 15

_LETTERS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DIGITS: Final = frozenset("0123456789")
SENDER_NAME_CHARS: Final = _LETTERS | _DIGITS | frozenset(" .&@-+_!%")
_DASHES: Final = frozenset("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d")
_NUMBER_FORMATTING: Final = frozenset(" -()./\u00a0")


@dataclass(frozen=True, slots=True)
class SenderProblem:
    """One problem with a requested sender.

    Attributes:
        code: machine code, e.g. ``sender_name_too_long``.
        message: English text for humans (localise from ``code``/``params``).
        params: JSON-ready details, e.g. ``{"length": 14, "max": 11}`` or
            ``{"characters": ["ł"]}``.
        hint: optional English advice (``None`` when there is none).
    """

    code: str
    message: str
    params: dict[str, Any] = field(default_factory=dict, hash=False)
    hint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "code": self.code,
            "message": self.message,
            "params": dict(self.params),
            "hint": self.hint,
        }


def _quoted(chars: list[str]) -> str:
    return ", ".join(f'"{c}"' if c.isprintable() else f"U+{ord(c):04X}" for c in chars)


def validate_sender_name(name: str) -> list[SenderProblem]:
    """Check a requested alphanumeric sender name; ``[]`` means valid.

    The name is NFC-normalised first and its length is counted in code
    points.  Possible codes: ``sender_name_empty`` (alone),
    ``sender_name_too_long`` (params ``length``, ``max``),
    ``sender_name_en_dash`` (``characters``, ``replacement``: "-",
    ``suggestion``), ``sender_name_diacritics`` (``characters``,
    ``suggestion``), ``sender_name_bad_characters``
    (``characters``), ``sender_name_no_letter``.  Offending characters are
    listed once each, in order of first appearance.  ``suggestion`` is the
    name with dashes and diacritics fixed (other problems left as they are).
    """
    if not name:
        return [SenderProblem("sender_name_empty", "The sender name is empty.")]
    name = unicodedata.normalize("NFC", name)
    problems: list[SenderProblem] = []
    if len(name) > SENDER_NAME_MAX:
        problems.append(
            SenderProblem(
                "sender_name_too_long",
                f"The sender name has {len(name)} characters; at most "
                f"{SENDER_NAME_MAX} are allowed.",
                {"length": len(name), "max": SENDER_NAME_MAX},
            )
        )
    dashes: list[str] = []
    diacritics: list[str] = []
    bad: list[str] = []
    for char in dict.fromkeys(name):
        if char in SENDER_NAME_CHARS:
            continue
        if char in _DASHES:
            dashes.append(char)
        elif ord(char) in TRANSLITERATION:
            diacritics.append(char)
        else:
            bad.append(char)
    # The name with every fixable character fixed, for the hints.
    fixed = name.translate({**TRANSLITERATION, **dict.fromkeys(map(ord, dashes), "-")})
    if dashes:
        problems.append(
            SenderProblem(
                "sender_name_en_dash",
                f"The sender name contains {_quoted(dashes)}; only the ASCII "
                'hyphen "-" is allowed.',
                {"characters": dashes, "replacement": "-", "suggestion": fixed},
                'Type the ordinary hyphen-minus "-" (the product page shows it as "–").',
            )
        )
    if diacritics:
        problems.append(
            SenderProblem(
                "sender_name_diacritics",
                f"The sender name contains letters with diacritics: {_quoted(diacritics)}.",
                {"characters": diacritics, "suggestion": fixed},
                f'Use "{fixed}" instead.',
            )
        )
    if bad:
        problems.append(
            SenderProblem(
                "sender_name_bad_characters",
                f"The sender name contains characters that are not allowed: {_quoted(bad)}.",
                {"characters": bad},
                "Allowed: letters a-z and A-Z, digits, space and . & @ - + _ ! %",
            )
        )
    if not any(c in _LETTERS or ord(c) in TRANSLITERATION for c in name):
        problems.append(
            SenderProblem(
                "sender_name_no_letter",
                "The sender name must contain at least one letter.",
                hint=(
                    "A sender made of digits only is a number: use the number format."
                    if name.isascii() and name.lstrip("+").isdigit()
                    else None
                ),
            )
        )
    return problems


def validate_sender_number(number: str) -> list[SenderProblem]:
    """Check a requested numeric sender (E.164); ``[]`` means valid.

    Possible codes: ``sender_number_empty`` (alone),
    ``sender_number_missing_plus`` (hint: use "+" instead of a leading "00"
    when there is one), ``sender_number_bad_characters`` (``characters``;
    hint to remove spaces etc. when they are formatting only),
    ``sender_number_no_digits``, ``sender_number_too_long`` (``digits``,
    ``max``), ``sender_number_leading_zero``.  Only ASCII digits count as
    digits.
    """
    if not number:
        return [SenderProblem("sender_number_empty", "The sender number is empty.")]
    problems: list[SenderProblem] = []
    body = number
    international = number.startswith("00")
    if number.startswith("+"):
        body = number[1:]
    else:
        problems.append(
            SenderProblem(
                "sender_number_missing_plus",
                'The sender number must start with "+" and the country code.',
                {"leading_00": international},
                'Replace the leading "00" with "+".' if international else None,
            )
        )
        if international:
            body = number[2:]
    bad = [c for c in dict.fromkeys(body) if c not in _DIGITS]
    digits = [c for c in body if c in _DIGITS]
    if bad:
        formatting = all(c in _NUMBER_FORMATTING for c in bad)
        problems.append(
            SenderProblem(
                "sender_number_bad_characters",
                f'The sender number may contain only digits after the "+": {_quoted(bad)}.',
                {"characters": bad},
                "Remove spaces, dashes, dots and brackets." if formatting else None,
            )
        )
    if not digits:
        problems.append(
            SenderProblem("sender_number_no_digits", "The sender number has no digits.")
        )
    if len(digits) > SENDER_NUMBER_MAX_DIGITS:
        problems.append(
            SenderProblem(
                "sender_number_too_long",
                f"The sender number has {len(digits)} digits; E.164 allows at most "
                f"{SENDER_NUMBER_MAX_DIGITS}.",
                {"digits": len(digits), "max": SENDER_NUMBER_MAX_DIGITS},
            )
        )
    if body[:1] == "0" and (international or number.startswith("+")):
        problems.append(
            SenderProblem(
                "sender_number_leading_zero",
                'The country code cannot start with 0 (after the "+").',
            )
        )
    return problems


# --------------------------------------------------------------------------
# SMS suggestions
# --------------------------------------------------------------------------

Encoding = Literal["GSM-7", "UCS-2"]

SuggestionCode = Literal[
    "sms_replace", "sms_remove_invisible", "sms_transliterate", "sms_all", "sms_unsupported"
]


@dataclass(frozen=True, slots=True)
class SmsSuggestion:
    """A change that would make the message cheaper, from :func:`suggest`.

    Attributes:
        code: ``sms_replace`` (typographic lookalikes with one common
            replacement), ``sms_remove_invisible`` (zero-width / formatting
            characters), ``sms_transliterate`` (letters with diacritics),
            ``sms_all`` (``transliterate=True, smart=True`` together) or
            ``sms_unsupported`` (characters with no GSM-7 equivalent; the
            figures assume they are removed on top of ``sms_all``).
        characters: the characters concerned, in order of first appearance.
        replacement: the one replacement for all of them ("" = removal), or
            ``None`` when each has its own (see ``mapping``).
        mapping: ``(character, replacement)`` for each of ``characters``.
        segments_before / segments_after: SMS count now and after the change.
        encoding_after: the encoding after the change.
        message: English text, e.g. ``replace „ and ” with ": 3 SMS → 2 SMS``.
    """

    code: SuggestionCode
    characters: tuple[str, ...]
    replacement: str | None
    mapping: tuple[tuple[str, str], ...]
    segments_before: int
    segments_after: int
    encoding_after: Encoding
    message: str

    @property
    def saved(self) -> int:
        """Segments saved per message."""
        return self.segments_before - self.segments_after

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "code": self.code,
            "characters": list(self.characters),
            "replacement": self.replacement,
            "mapping": [list(pair) for pair in self.mapping],
            "segments_before": self.segments_before,
            "segments_after": self.segments_after,
            "saved": self.saved,
            "encoding_after": self.encoding_after,
            "message": self.message,
        }


def _show(char: str) -> str:
    """The character, or its code point and name when it is invisible."""
    if char.isprintable() and not char.isspace() and unicodedata.category(char) != "Mn":
        return char
    return f"U+{ord(char):04X} ({unicodedata.name(char, 'control').lower()})"


def _show_chars(chars: Sequence[str]) -> str:
    """Characters for a message: 'a', 'a and b', 'a, b and c'."""
    shown = [_show(c) for c in chars]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def _apply(text: str, mapping: dict[str, str]) -> str:
    return text.translate({ord(char): new for char, new in mapping.items()})


_SHOWN_REPLACEMENTS: Final = {" ": "a space", "\n": "a new line"}


def suggest(text: str) -> list[SmsSuggestion]:
    """Tell which characters cost extra segments and what changing them saves.

    (Exported by :mod:`kanal.core.sms`, which this module must not import at
    load time: it imports this one.)

    Only changes that reduce the segment count are returned, in this order:
    one ``sms_replace``/``sms_remove_invisible`` per group of lookalikes
    sharing a replacement (each applied alone), ``sms_transliterate`` (alone),
    ``sms_all`` (everything ``smart`` and ``transliterate`` do, listed when
    it saves more than every suggestion before it), then
    ``sms_unsupported``.  A GSM-7 text gets no suggestions (extension
    characters such as ``€`` have no same-meaning replacement).
    """
    from kanal.core.sms import analyze  # at call time: kanal.core.sms imports us

    base = analyze(text)
    if base.encoding == "GSM-7":
        return []
    before = base.segments
    smart_all = analyze(text, smart=True).text
    groups: dict[str, list[str]] = {}
    translit: list[str] = []
    unsupported: list[str] = []
    for char in base.non_gsm:
        code = ord(char)
        if code in SMART:
            groups.setdefault(SMART[code], []).append(char)
        elif code in TRANSLITERATION:
            translit.append(char)
        elif char in JOINERS and char not in smart_all:
            groups.setdefault("", []).append(char)
        else:
            unsupported.append(char)

    found: list[SmsSuggestion] = []

    def add(code: SuggestionCode, mapping: dict[str, str], new_text: str, message: str) -> None:
        after = analyze(new_text)
        if after.segments < before:
            values = set(mapping.values())
            found.append(
                SmsSuggestion(
                    code=code,
                    characters=tuple(mapping),
                    replacement=values.pop() if len(values) == 1 else None,
                    mapping=tuple(mapping.items()),
                    segments_before=before,
                    segments_after=after.segments,
                    encoding_after=after.encoding,
                    message=f"{message}: {before} SMS → {after.segments} SMS",
                )
            )

    for replacement, chars in groups.items():
        mapping = dict.fromkeys(chars, replacement)
        new_text = _apply(base.text, mapping)
        if replacement:
            shown = _SHOWN_REPLACEMENTS.get(replacement, replacement)
            add("sms_replace", mapping, new_text, f"replace {_show_chars(chars)} with {shown}")
        else:
            add("sms_remove_invisible", mapping, new_text, f"remove {_show_chars(chars)}")
    if translit:
        mapping = {c: TRANSLITERATION[ord(c)] for c in translit}
        pairs = ", ".join(f"{c}→{r}" for c, r in mapping.items())
        add(
            "sms_transliterate",
            mapping,
            _apply(base.text, mapping),
            f"send without diacritics ({pairs})",
        )
    everything = analyze(text, transliterate=True, smart=True)
    best = min((s.segments_after for s in found), default=before)
    if everything.segments < best and len(groups) + bool(translit) > 1:
        chars = [c for c in base.non_gsm if c not in unsupported]
        mapping = {c: TRANSLITERATION_AND_SMART.get(ord(c)) or "" for c in chars}
        what = "diacritics and typographic characters" if translit else "typographic characters"
        add("sms_all", mapping, everything.text, f"send without {what}")
    if unsupported:
        mapping = dict.fromkeys(unsupported, "")
        it = "it" if len(unsupported) == 1 else "them"
        extra = " and the rest replaced" if len(unsupported) < len(base.non_gsm) else ""
        message = f"{_show_chars(unsupported)} cannot be sent in GSM-7; without {it}{extra}"
        add("sms_unsupported", mapping, _apply(everything.text, mapping), message)
    return found
