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
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

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
