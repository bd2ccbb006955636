"""The compose form's live SMS counter (seed 001): length, SMS count, what forces Unicode.

The counting is :mod:`kanal.core.sms`; this adds the words, in the tenant's language.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, Field

from kanal.core import sms
from kanal.core.i18n import translate
from kanal.services.common import Schema, TenantInfo

MAX_TEXT = 10_000  # about 65 SMS; the counter must stay cheap per keystroke


class AnalyzeIn(Schema):
    text: str = Field(max_length=MAX_TEXT)
    transliterate: bool = False
    smart: bool = False
    max_segments: int | None = Field(default=None, ge=1, le=255)


class Suggestion(BaseModel):
    code: str
    characters: list[str]
    replacement: str | None
    segments_before: int
    segments_after: int
    message: str


class Analysis(BaseModel):
    text: str
    encoding: str
    characters: int
    units: int
    segments: int
    per_segment: int
    remaining: int
    parts: list[str]
    non_gsm: list[str]
    too_long: bool
    max_segments: int | None
    changed: bool
    suggestions: list[Suggestion]


def _quote(chars: Iterable[str]) -> str:
    return ", ".join(f"„{c}”" for c in chars)


def _words(code: str, locale: str, params: Mapping[str, Any]) -> str:
    shown = {
        key: _quote(value) if isinstance(value, list | tuple) else value
        for key, value in params.items()
    }
    return translate(code, locale, shown)


def analyze(tenant: TenantInfo, data: AnalyzeIn) -> Analysis:
    result = sms.analyze(
        data.text,
        transliterate=data.transliterate,
        smart=data.smart,
        max_segments=data.max_segments,
    )
    suggestions = [
        Suggestion(
            code=s.code,
            characters=list(s.characters),
            replacement=s.replacement,
            segments_before=s.segments_before,
            segments_after=s.segments_after,
            message=_words(
                s.code,
                tenant.locale,
                {
                    "characters": list(s.characters),
                    "replacement": f"„{s.replacement}”" if s.replacement else "",
                    "before": s.segments_before,
                    "after": s.segments_after,
                },
            ),
        )
        for s in sms.suggest(data.text)
    ]
    return Analysis(**result.to_dict(), suggestions=suggestions)


class SenderProblem(BaseModel):
    code: str
    message: str
    params: dict[str, Any]


def check_sender(tenant: TenantInfo, name: str | None, number: str | None) -> list[SenderProblem]:
    """What is wrong with a requested sender name or number (empty list: fine)."""
    problems = [*(sms.validate_sender_name(name) if name is not None else [])]
    problems += sms.validate_sender_number(number) if number is not None else []
    return [
        SenderProblem(code=p.code, message=_words(p.code, tenant.locale, p.params), params=p.params)
        for p in problems
    ]
