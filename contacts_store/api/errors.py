"""The error envelope every failure answers with: `{"error": {"status", "reason", "message", "request_id"}}`.

Bad input is always a 4xx with this body; an unexpected failure is a 500 with the same shape and no traceback.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("contacts_store.api")

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "ALREADY_EXISTS",
    415: "INVALID_ARGUMENT",
    422: "INVALID_ARGUMENT",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


class ApiError(Exception):
    def __init__(self, status_code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.reason = reason
        self.message = message


def not_found(what: str = "contact") -> ApiError:
    return ApiError(404, f"{what.upper().replace(' ', '_')}_NOT_FOUND", f"{what} not found")


def error_response(
    status_code: int,
    reason: str,
    message: str,
    request: Request | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    request_id = (request.headers.get("x-request-id") if request is not None else None) or uuid.uuid4().hex
    body = {
        "error": {
            "status": STATUS_NAMES.get(status_code, "INVALID_ARGUMENT" if status_code < 500 else "INTERNAL"),
            "reason": reason,
            "message": message,
            "request_id": request_id,
        }
    }
    extra = {"WWW-Authenticate": "Bearer"} if status_code == 401 else {}
    return JSONResponse(body, status_code=status_code, headers={**extra, **(headers or {}), "X-Request-ID": request_id})


def _validation_message(errors: list[Any]) -> tuple[str, str]:
    """A reason and a one-line message for FastAPI's validation errors."""
    first = errors[0] if errors else {}
    location = [str(part) for part in first.get("loc", ())]
    if first.get("type") == "json_invalid":
        return "INVALID_JSON_BODY", "the request body is not valid JSON"
    if location[:1] == ["path"]:
        return "INVALID_ID", f"{location[-1]} is not a valid UUID"
    where = ".".join(part for part in location if part not in ("body", "query", "header"))
    reason = "INVALID_JSON_BODY" if location[:1] == ["body"] else "INVALID_ARGUMENT"
    message = str(first.get("msg", "invalid request"))
    return reason, f"{where}: {message}" if where else message


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> JSONResponse:
        return error_response(error.status_code, error.reason, error.message, request)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        reason, message = _validation_message(list(error.errors()))
        return error_response(400, reason, message, request)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        reasons = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
        reason = reasons.get(error.status_code, "HTTP_ERROR")
        return error_response(error.status_code, reason, str(error.detail), request, dict(error.headers or {}))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "INTERNAL_ERROR", "internal error", request)
