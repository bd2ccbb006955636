"""Errors as JSON: a machine code and a message in the tenant's language, per field."""

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from kanal.core.errors import (
    Forbidden,
    KanalError,
    NotFound,
    Problem,
    Unauthorized,
    ValidationFailed,
)
from kanal.core.i18n import pick_locale, translate

log = logging.getLogger("kanal.api")

# pydantic's error types -> kanal's field codes
_PYDANTIC_CODES = {
    "missing": "required",
    "string_too_long": "too_long",
    "too_long": "too_long",
    "string_too_short": "too_short",
    "too_short": "too_short",
    "enum": "invalid_choice",
    "literal_error": "invalid_choice",
    "extra_forbidden": "unknown_field",
    "greater_than_equal": "out_of_range",
    "less_than_equal": "out_of_range",
    "greater_than": "out_of_range",
    "less_than": "out_of_range",
    "json_invalid": "malformed_request",
    "model_attributes_type": "invalid_type",
    "dict_type": "invalid_type",
    "list_type": "invalid_type",
    "string_type": "invalid_type",
    "bool_parsing": "invalid_type",
    "bool_type": "invalid_type",
    "int_parsing": "invalid_type",
    "int_type": "invalid_type",
    "uuid_parsing": "invalid_value",
    "uuid_type": "invalid_value",
}

_STATUS = {ValidationFailed: 422, NotFound: 404, Unauthorized: 401, Forbidden: 403}


def _locale(request: Request) -> str:
    return pick_locale(
        getattr(request.state, "locale", None), request.headers.get("accept-language")
    )


def _body(code: str, locale: str, problems: Sequence[Problem], **params: object) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": translate(code, locale, params),
            "fields": [
                {
                    "field": p.field,
                    "code": p.code,
                    "message": translate(p.code, locale, p.params),
                    **({"params": dict(p.params)} if p.params else {}),
                }
                for p in problems
            ],
        }
    }


def _field_path(loc: Sequence[int | str]) -> str:
    """('body', 'phones', 0, 'number') -> 'phones[0].number'"""
    path = ""
    for part in loc[1:] if loc and loc[0] in ("body", "query", "path") else loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _problem(error: dict[str, Any]) -> Problem:
    ctx = error.get("ctx") or {}
    code = _PYDANTIC_CODES.get(error["type"], "invalid_value")
    params: dict[str, object] = {}
    if code == "too_long":
        params["max"] = ctx.get("max_length", "")
    elif code == "too_short":
        params["min"] = ctx.get("min_length", "")
    elif code == "invalid_choice":
        # pydantic says "'a', 'b' or 'c'" in English; list the values without the words
        params["choices"] = str(ctx.get("expected", "")).replace(" or ", ", ")
    return Problem(code, _field_path(error.get("loc", ())) or None, params)


def install(app: FastAPI) -> None:
    @app.exception_handler(KanalError)
    async def kanal_error(request: Request, exc: KanalError) -> JSONResponse:
        status = next((s for t, s in _STATUS.items() if isinstance(exc, t)), 400)
        body = _body(exc.code, _locale(request), exc.problems, **exc.params)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [_problem(e) for e in exc.errors()]
        if any(p.code == "malformed_request" for p in problems):
            return JSONResponse(_body("malformed_request", _locale(request), []), status_code=422)
        return JSONResponse(_body("validation_failed", _locale(request), problems), 422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        code = "not_found" if exc.status_code == 404 else f"http_{exc.status_code}"
        body = _body(code, _locale(request), [], resource=request.url.path)
        return JSONResponse(body, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(_body("internal_error", _locale(request), []), status_code=500)
