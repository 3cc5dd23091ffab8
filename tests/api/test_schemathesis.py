"""Schemathesis over our OpenAPI schema, in-process through the WSGI app (no network): no 5xx, no
status code the schema does not document, no answer that breaks the schema.

Bounded (MAX_EXAMPLES per operation, a few hundred requests in all) so the suite stays fast. Staff
operations are called with a supervisor's token; the report rate limits are off so that 429 does not
hide the rest (429 is documented, and tested in tests/tickets/test_intake_limits.py).
"""

import json

import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.core import NOT_SET
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import ticket_in_state
from tests.incidents.conftest import declare
from tests.refunds.helpers import quota_proposal
from tests.tickets.intake_helpers import other_json
from tests.verification.conftest import ACCOUNT, serial, stamp_ticket
from tickets.models import State
from verification import services as verification
from verification.models import PlatformStamping
from verification.sources import ExportRecords

PASSWORD = "secret-pass-123"  # tests.factories.UserFactory's
MAX_EXAMPLES = 20  # per operation: about 260 requests in all
# Checks outside what this run asserts: schema-valid data can still break a business rule (a NIK's
# checksum, a wrong password: 400 is right), and the token we send is valid on purpose.
NOT_OURS = [positive_data_acceptance, ignored_auth]


def load_schema():
    """The schema /api/schema/ serves, made in-process (collection needs it before any request)."""
    raw = json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
    loaded = schemathesis.openapi.from_dict(raw)
    loaded.app = get_wsgi_application()
    return loaded


SCHEMA = load_schema()
OPERATIONS = {result.ok().label: result.ok() for result in SCHEMA.get_all_operations()}


@pytest.fixture
def token(sam, settings):
    settings.RATE_LIMIT_REPORTS = "off"
    settings.REMEDIES_PAUSED = True
    cache.clear()
    return Token.objects.create(user=sam).key


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """As Django's test client does: a request's start and end must not close the test's transaction."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


@pytest.mark.django_db
@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_operation_answers_as_the_schema_says(label, token):
    operation = OPERATIONS[label]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def check(case):
        case.call_and_validate(headers={"Authorization": f"Token {token}"}, excluded_checks=NOT_OURS)

    check()


# --- real answers: generated data rarely reaches a success (a reference and its token, a remedy to
# approve), so each operation is also called once with real objects and its answer validated ------------

CONFORMANCE = [response_schema_conformance, status_code_conformance, content_type_conformance]


def call(label, token, *, expect, path=None, query=None, body=NOT_SET, headers=None):
    operation = OPERATIONS[label]
    case = operation.Case(
        path_parameters=path,
        query=query,
        body=body,
        headers=headers,
        media_type="application/json" if body is not NOT_SET else None,
    )
    response = case.call(headers={"Authorization": f"Token {token}", **(headers or {})})
    assert response.status_code == expect, (label, response.text)
    case.validate_response(response, checks=CONFORMANCE)
    return response


@pytest.mark.django_db
def test_real_answers_of_every_operation_match_the_schema(token, alice):
    created = call("POST /api/v1/reports/", token, expect=201, body=other_json()).json()
    reported = {"X-Tracking-Token": created["tracking_token"]}
    call("GET /api/v1/reports/{reference}/", token, expect=200, path=created, headers=reported)
    call(
        "POST /api/v1/reports/{reference}/messages/",
        token,
        expect=201,
        path=created,
        headers=reported,
        body={"body": "Sudah saya coba lagi."},
    )
    call("POST /api/v1/reports/{reference}/confirm/", token, expect=409, path=created, headers=reported)

    for name in ("confirm", "reopen"):
        resolved = ticket_in_state(State.RESOLVED)
        tracked = {"X-Tracking-Token": resolved.tracking_token}
        call(
            f"POST /api/v1/reports/{{reference}}/{name}/",
            token,
            expect=200,
            path={"reference": resolved.reference},
            headers=tracked,
            body={"body": "Kuotanya belum kembali."} if name == "reopen" else NOT_SET,
        )
    call(
        "GET /api/v1/reports/{reference}/",
        token,
        expect=200,
        path={"reference": resolved.reference},
        headers={"X-Tracking-Token": resolved.tracking_token},
    )

    ticket = {"reference": created["reference"]}
    call("GET /api/v1/tickets/", token, expect=200)
    call("GET /api/v1/tickets/{reference}/", token, expect=200, path=ticket)
    call(
        "POST /api/v1/tickets/{reference}/transitions/{name}/",
        token,
        expect=200,
        path={**ticket, "name": "start_review"},
        body={"note": "Saya ambil."},
    )
    call(
        "POST /api/v1/tickets/{reference}/transitions/{name}/",
        token,
        expect=409,
        path={**ticket, "name": "start_review"},
        body={},
    )
    call(
        "POST /api/v1/tickets/{reference}/messages/",
        token,
        expect=201,
        path=ticket,
        body={"channel": "note", "body": "Cek riwayat pembubuhan."},
    )
    remedy = quota_proposal(alice)
    call("POST /api/v1/remedies/approve/", token, expect=200, body={"ids": [remedy.pk, remedy.pk + 1000]})
    call("POST /api/v1/remedies/approve/", token, expect=400, body={"ids": []})
    today = str(timezone.localdate())
    call("GET /api/v1/remedies/export/", token, expect=200, query={"from": today, "to": today})

    # a verified report linked to an incident: the verification and incident fields, the filters
    PlatformStamping.objects.create(serial_number=serial(1), account=ACCOUNT, status="refund")
    verified = stamp_ticket(serial(1), serial(2), attempted_at=timezone.now())
    verification.verify_ticket(ticket_id=verified.pk, source=ExportRecords())
    incident = declare(alice, hours_ago=1)
    call("GET /api/v1/tickets/{reference}/", token, expect=200, path={"reference": verified.reference})
    filters = {"verification": "unknown", "incident": incident.pk}
    call("GET /api/v1/tickets/", token, expect=200, query=filters)
    call("GET /api/v1/tickets/", token, expect=400, query={"incident": incident.pk + 1})
    by_incident = {"from": today, "to": today, "incident": incident.pk}
    call("GET /api/v1/remedies/export/", token, expect=200, query=by_incident)
    call("GET /api/v1/remedies/export/", token, expect=400, query={**by_incident, "incident": 0})
    call("POST /api/v1/auth/token/", token, expect=200, body={"username": "alice", "password": PASSWORD})
    call("POST /api/v1/auth/token/", token, expect=400, body={"username": "alice", "password": "wrong"})
