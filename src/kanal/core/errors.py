"""Typed errors of the product rules.

Every error carries a machine code; the words people read come from
:mod:`kanal.core.i18n` in the tenant's language, at the edge that shows them.
"""

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the input: a machine code, where it is, and details for the message."""

    code: str
    field: str | None = None
    params: Mapping[str, object] = dataclasses.field(default_factory=dict)


class KanalError(Exception):
    """Base of every error the product rules raise on purpose."""

    code = "error"

    def __init__(self, problems: Iterable[Problem] = (), **params: object) -> None:
        self.problems = tuple(problems)
        self.params = params
        super().__init__(self.code, self.problems, params)


class ValidationFailed(KanalError):
    """The input breaks one or more rules; nothing was written."""

    code = "validation_failed"


class NotFound(KanalError):
    """No such record for this tenant (records of other tenants do not exist for it either)."""

    code = "not_found"


class Unauthorized(KanalError):
    """No valid API key."""

    code = "unauthorized"


class Forbidden(KanalError):
    """The caller is known but may not do this (a callback with a wrong token or signature)."""

    code = "forbidden"


def invalid(code: str, field: str | None = None, **params: object) -> ValidationFailed:
    """A ValidationFailed with a single problem: ``raise invalid("phone_invalid", "phones[0]")``."""
    return ValidationFailed([Problem(code, field, params)])
