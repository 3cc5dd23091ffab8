"""Fixtures the ticket tests share; each module names the ones it needs in its `pytestmark`."""

import pytest
from django.core.cache import cache


@pytest.fixture
def applicant_defaults(settings):
    """The applicant's side as the product ships it: Indonesian, no rate limits, a fresh cache."""
    settings.LANGUAGE_CODE = "id"  # the product's default (the test settings speak English)
    settings.RATE_LIMIT_REPORTS = "off"
    cache.clear()


@pytest.fixture
def staff_in_english(client):
    """Staff pages are checked in English (the msgids); they default to Indonesian."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def remedies_paused(settings):
    """Approved remedies stay approved: applying them is tested in tests/refunds."""
    settings.REMEDIES_PAUSED = True


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run what a commit sets off (the screenshot worker, deliveries: eager tasks) as a real commit would:
    `run_on_commit(client.post, url, data)`."""

    def run(function, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(*args, **kwargs)

    return run
