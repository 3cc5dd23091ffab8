"""Liveness (/livez), readiness (/readyz) and the contract's /healthz (readiness)."""

import pytest

from tests.tickets.intake_helpers import other_json

REDIS_DOWN = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
}


@pytest.fixture
def cache_down(settings):
    settings.CACHES = REDIS_DOWN


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_readiness_answers_ok_when_database_and_cache_answer(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": True, "cache": True}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_readiness_stays_ok_when_only_the_cache_is_down_and_reports_it(client, cache_down, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.json()["cache"] is False and response.json()["database"] is True


@pytest.mark.django_db
def test_intake_still_works_when_the_cache_is_down(client, cache_down):
    response = client.post("/api/v1/reports/", other_json(), content_type="application/json")
    assert response.status_code == 201


@pytest.mark.postgres
@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_readiness_answers_503_when_the_database_is_down(client, database_outage, path):
    with database_outage():
        response = client.get(path)
    assert response.status_code == 503
    assert response.json()["database"] is False


@pytest.mark.postgres
def test_liveness_answers_ok_when_the_database_is_down(client, database_outage):
    with database_outage():
        response = client.get("/livez")
    assert response.status_code == 200


def test_liveness_asks_no_dependency(client, cache_down):
    # No database access is allowed in this test (no django_db mark): a query would raise.
    response = client.get("/livez")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
