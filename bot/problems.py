"""The one error format: RFC 9457 problem details (`application/problem+json`).

Every 4xx and 5xx of the HTTP API, the REST channel and the webhooks (Slack, Teams, the web chat's HTTP routes), wrong
methods and unknown paths included, and every error row of the batch (`python -m bot recommend CASES.jsonl`) carry
the same members: `type` (a URN naming the kind of problem, `urn:rrmm:problem:<code>`), `title` (the HTTP status
phrase, or "Invalid case"), `status`, `detail` (what is wrong, for people), and `errors` (one object per problem
with the `field` and the `rule` it breaks; never the value sent). For one edition the older members stay beside
them (2026-12): `error` (the code), `reason` (= `detail`) and, for an invalid case, `problems` (the command line's
messages); `suggestions` lists the closest known names of a look-up.

Layer: the standard library and pydantic (bot.batch, bot.cli and bot.plugins use it; it imports nothing of bot).
"""
from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any, Dict, Iterable, List, Optional

from pydantic import BaseModel, Field

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:rrmm:problem:"
INVALID_CASE = "case_invalid"
_FIELD = re.compile(r"\A[A-Za-z_][\w()/\[\]]*\Z")  # \Z: no field name ends in a line break


class FieldRule(BaseModel):
    """One problem of a request or a case: which field, and which rule it breaks."""

    field: str = Field(..., description="the field (e.g. prior_lines, refractory[1], refractory/exposed); `case` for "
                                        "the whole body, `line` for a batch line that is not a case")
    rule: str = Field(..., description="the rule it breaks, in the words of the command line (never the value sent)")


class ProblemDetails(BaseModel):
    """An error answer of the HTTP API, the REST channel or a webhook (RFC 9457, `application/problem+json`)."""

    type: str = Field(..., description="urn:rrmm:problem:<code>, e.g. urn:rrmm:problem:case_invalid")
    title: str = Field(..., description="the HTTP status phrase (\"Unprocessable Entity\"), or \"Invalid case\"")
    status: int = Field(..., description="the HTTP status code")
    detail: str = Field(..., description="what is wrong, for people (never quotes what was sent)")
    errors: List[FieldRule] = Field([], description="one entry per problem, with its field and rule")
    error: str = Field(..., description="the code of `type` (kept from the older format for one edition)")
    reason: str = Field(..., description="the same as `detail` (kept from the older format for one edition)")
    suggestions: List[str] = Field([], description="closest known names (an unknown regimen, trial or drug)")


class BatchProblem(ProblemDetails):
    """The output row of a batch line that could not be answered (blank, not JSON, not a valid case), in its place.
    `status` is the one the HTTP API gives for the same problem; `error` is "invalid case" on every batch error row,
    as before (kept for one edition)."""

    line: int = Field(..., description="the input line, from 1")
    id: Optional[str] = Field(None, description="the line's `id`, when it had a readable one")
    problems: List[str] = Field([], description="the command line's messages (kept from the older format for one "
                                                "edition)")


CONTRACT_MODELS = (ProblemDetails, FieldRule, BatchProblem)


def field_rules(messages: Iterable[str]) -> List[Dict[str, str]]:
    """The case parser's messages ("prior_lines: required field is missing") as {field, rule} pairs."""
    out = []
    for message in messages:
        field, sep, rule = message.partition(": ")
        if not sep or not _FIELD.match(field):
            field, rule = "case", message
        out.append({"field": field, "rule": rule})
    return out


def problem(status: int, code: str, detail: str, errors: Iterable[Dict[str, str]] = (),
            title: Optional[str] = None, **extra: Any) -> Dict[str, Any]:
    """A problem-details object (the members of ProblemDetails, then `extra`)."""
    return {
        "type": TYPE_PREFIX + code,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "errors": list(errors),
        "error": code,
        "reason": detail,
        **extra,
    }


def invalid_case(messages: List[str], status: int = 422, **extra: Any) -> Dict[str, Any]:
    """The problem for a case that is not valid: each message becomes a {field, rule} and stays in `problems`."""
    return problem(status, INVALID_CASE, "; ".join(messages), field_rules(messages), title="Invalid case",
                   problems=list(messages), **extra)
