"""The one error envelope of every API: `{"detail": "<one sentence>", "errors": {"<field>": ["..."]}}`.

`detail` says what went wrong in the request's language; `errors` holds every message by field, with
`non_field_errors` for the request as a whole (so a refusal that names no field repeats `detail` there, and
`errors` is never empty: CONTRACT.md's `{"errors": {"field": [...]}}` holds for every error). DRF's own
refusals (401/403/404/405/415/429...), our domain errors (`tickets.exceptions.WorkflowError`, rate limits,
a body too large) and the answers made outside DRF (the database outage, a login locked out, an unknown
API path) all go through `envelope()`.
"""

from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from tickets import logins
from tickets.exceptions import WorkflowError
from tickets.ratelimit import RateLimited

NON_FIELD = api_settings.NON_FIELD_ERRORS_KEY


class ErrorSerializer(serializers.Serializer):
    """Every error answer of the API."""

    detail = serializers.CharField(help_text="What went wrong, in one sentence in the request's language.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text='Every message by field: {"field": ["message", ...]}; "non_field_errors" for the request '
        "as a whole.",
    )


def envelope(detail=None, errors=None):
    """The body of an error answer: `detail` alone, field `errors` alone (summed up), or both."""
    errors = {name: [str(message) for message in messages] for name, messages in (errors or {}).items()}
    if detail is None:
        detail = (
            errors[NON_FIELD][0] if errors.get(NON_FIELD) else _("Some fields are not valid: see errors.")
        )
    if not errors:
        errors = {NON_FIELD: [str(detail)]}
    return ErrorSerializer({"detail": str(detail), "errors": errors}).data


def error_response(status, *, detail=None, errors=None, retry_after=None):
    """An error answer from a DRF view."""
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return Response(envelope(detail, errors), status=status, headers=headers)


def error_json_response(status, *, detail=None, errors=None, retry_after=None):
    """The same answer outside DRF (middleware, URL resolver, django-axes)."""
    response = JsonResponse(envelope(detail, errors), status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def field_errors(detail):
    """A ValidationError's detail as {field: [message, ...]}, nested errors (list items, nested
    serializers) flattened under their top field."""
    if not isinstance(detail, dict):
        detail = {NON_FIELD: detail}
    return {name: list(_messages(value)) for name, value in detail.items()}


def _messages(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _messages(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _messages(item)
    else:
        yield str(value)


def exception_handler(exc, context):
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]: every refusal of every API view in the envelope."""
    if isinstance(exc, WorkflowError):
        set_rollback()
        message = str(exc.message)
        return error_response(exc.http_status, detail=message, errors={exc.field or NON_FIELD: [message]})
    if isinstance(exc, RateLimited):
        return error_response(429, detail=exc.message, retry_after=exc.retry_after)
    if isinstance(exc, RequestDataTooBig):
        return error_response(413, detail=_("The request is too large."))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a bug: Django's 500
    if isinstance(exc, exceptions.ValidationError):
        response.data = envelope(errors=field_errors(exc.detail))
    else:
        response.data = envelope(detail=response.data.get("detail", response.status_text))
    return response


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: a login refused by django-axes; JSON in the envelope under /api/."""
    if request.path.startswith("/api/"):
        return error_json_response(
            logins.STATUS, detail=logins.lockout_message(), retry_after=logins.retry_after_seconds()
        )
    return logins.lockout_response(request, original_response, credentials)
