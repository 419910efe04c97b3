"""Error answers over HTTP in the one error format (bot/problems.py): RFC 9457 `application/problem+json`.

`problem_response` and `refusal_response` build the answers the routes return themselves. `serve_problems(bp)` makes
the server answer everything else under the project's paths (/api/v1, /webhooks/, /chat) the same way: a wrong
method (405, with `Allow`), an unknown path (404), any other Sanic error, and an unexpected exception (500, logged
with its traceback, never shown). Requests elsewhere (Rasa's own HTTP API, which has its own error format) keep
Sanic's and Rasa's answers. The handler is installed once per app, by the first of the project's channels that
the server registers (every channel of credentials.yml calls `serve_problems`).
"""
from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any, Dict, Iterable, Optional

from sanic import Blueprint, response
from sanic.exceptions import MethodNotSupported, NotFound, SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import problems

from .. import inbound

logger = logging.getLogger(__name__)

PATHS = ("/api/v1", "/webhooks/", "/chat")


def problem_response(status: int, code: str, detail: str, errors: Iterable[Dict[str, str]] = (),
                     headers: Optional[Dict[str, str]] = None, **extra: Any) -> HTTPResponse:
    return response.json(problems.problem(status, code, detail, errors, **extra), status=status, headers=headers,
                         content_type=problems.MEDIA_TYPE)


def refusal_response(refusal: inbound.Refusal, headers: Optional[Dict[str, str]] = None) -> HTTPResponse:
    return response.json(refusal.body(), status=refusal.status, headers=headers, content_type=problems.MEDIA_TYPE)


def _answer(request: Optional[Request], exception: Exception) -> HTTPResponse:
    method = request.method if request is not None else "?"
    if isinstance(exception, MethodNotSupported):
        allow = dict(getattr(exception, "headers", {}) or {}).get("Allow", "")
        return problem_response(405, "method_not_allowed", f"this route does not answer {method}; it answers {allow}",
                                [{"field": "method", "rule": f"one of {allow}"}], headers={"Allow": allow})
    if isinstance(exception, NotFound):
        where = " (the routes are listed in /api/v1/openapi.json)" if request.path.startswith("/api/v1") else ""
        return problem_response(404, "not_found", f"no such route{where}")
    if isinstance(exception, SanicException):
        status = int(getattr(exception, "status_code", 500) or 500)
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
        return problem_response(status, phrase.lower().replace(" ", "_").replace("-", "_"),
                                f"{phrase.lower()} (see the server log)")
    logger.error("HTTP %s %s failed: %s", method, request.path if request is not None else "?",
                 type(exception).__name__, exc_info=exception)
    return problem_response(500, "internal_error", "the server could not answer this request (the error is logged "
                                                   "for the administrators)")


def install_handler(app: Any) -> None:
    """Answers errors under PATHS as problem+json; idempotent."""
    if getattr(app.ctx, "rrmm_problems", False):
        return
    app.ctx.rrmm_problems = True
    default = app.error_handler.default

    def handle(request: Optional[Request], exception: Exception) -> HTTPResponse:
        if request is None or not request.path.startswith(PATHS):
            return default(request, exception)
        return _answer(request, exception)

    app.error_handler.add(Exception, handle)


def serve_problems(bp: Blueprint) -> Blueprint:
    """Installs the handler when the server starts (a listener of the blueprint applies to the whole app)."""

    @bp.listener("before_server_start")
    async def _install(app: Any, _loop: Any) -> None:
        install_handler(app)

    return bp
