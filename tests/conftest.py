"""The fixed cast of every test: an applicant, two agents, two supervisors, finance, and a non-staff user."""

import contextlib
import os
import shutil

import pytest
from django.contrib.auth.models import Group

from tests.factories import UserFactory
from tickets.groups import ensure_groups

pytest_plugins = ["tests.doubles.fixtures", "tests.browser", "tests.celery_worker"]


def _staff(username, *groups):
    ensure_groups()  # transactional tests flush the groups the migration made
    user = UserFactory(username=username, is_staff=True)
    for name in groups:
        user.groups.add(Group.objects.get(name=name))
    return user


@pytest.fixture
def alice(db):
    """A help-desk agent."""
    return _staff("alice", "Agents")


@pytest.fixture
def bob(db):
    """A second help-desk agent."""
    return _staff("bob", "Agents")


@pytest.fixture
def sam(db):
    """A supervisor (who can also work tickets)."""
    return _staff("sam", "Supervisors")


@pytest.fixture
def sue(db):
    """A second supervisor."""
    return _staff("sue", "Supervisors")


@pytest.fixture
def fin(db):
    """Finance: read-only exports."""
    return _staff("fin", "Finance")


@pytest.fixture
def nobody(db):
    """A logged-in user with no staff access at all."""
    return UserFactory(username="nobody", is_staff=False)


@pytest.fixture
def database_outage(transactional_db):
    """A context manager: inside it the database is unreachable (its port closed), as while PostgreSQL
    restarts; every request in it finds no connection. PostgreSQL only (mark the test `postgres`)."""
    from django.db import connection

    @contextlib.contextmanager
    def outage():
        saved = connection.settings_dict["PORT"]
        connection.close()
        connection.settings_dict["PORT"] = "1"  # nothing listens there: connecting is refused
        try:
            yield
        finally:
            connection.close()
            connection.settings_dict["PORT"] = saved

    return outage


@pytest.fixture
def applicant():
    from tickets.roles import APPLICANT

    return APPLICANT


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }


# --- tests that need more than the embedded defaults -----------------------------------------
# Each is skipped, with its reason, where its part is missing; CI sets REQUIRE_* so that a missing
# part fails the run instead of skipping silently.

NEEDS = {
    "postgres": ("REQUIRE_POSTGRES", "needs PostgreSQL: run with DATABASE_URL=postgres://..."),
    "browser": ("REQUIRE_BROWSER", "needs Debian's chromium and chromium-driver (apt-get install)"),
    "integration": ("REQUIRE_INTEGRATION", "needs a Redis broker: set CELERY_INTEGRATION_BROKER=redis://..."),
}


def _available(marker):
    if marker == "postgres":
        from django.db import connection

        return connection.vendor == "postgresql"
    if marker == "browser":
        return bool(shutil.which("chromium"))
    return bool(os.environ.get("CELERY_INTEGRATION_BROKER"))


def pytest_runtest_setup(item):
    for marker, (required, reason) in NEEDS.items():
        if item.get_closest_marker(marker) and not _available(marker):
            if os.environ.get(required):
                pytest.fail(f"{required} is set but this test {reason}")
            pytest.skip(reason)
