"""Screenshots a refused form accepted: kept in private storage, bounded in size, swept when expired."""

import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache

from tests.tickets.intake_helpers import image_bytes, upload
from tests.tickets.report_steps import WHAT, YOU, step, submission_key, walk_to_check
from tickets import kept_evidence, tasks
from tickets.evidence import process_image
from tickets.models import Ticket

pytestmark = pytest.mark.usefixtures("applicant_defaults")

EXPIRED = 31 * 60  # seconds; KEPT_EVIDENCE_MINUTES is 30


def kept_files(settings):
    root = Path(settings.STORAGES["default"]["OPTIONS"]["location"]) / "kept-evidence"
    return sorted(path.name for path in root.rglob("*") if path.is_file()) if root.exists() else []


def screenshot():
    return [("riwayat.png", process_image(image_bytes()))]


def send_from_check(client, page):
    return step(client, "check", {"consent": "on", "submission_key": submission_key(page)})


@pytest.mark.django_db
def test_the_screenshot_between_steps_is_a_file_in_private_storage_that_survives_a_cache_flush(
    client, settings
):
    page = walk_to_check(client).content.decode()
    assert kept_files(settings) == ["0.png", "manifest.json"]  # the upload as sent: a worker processes it
    cache.clear()  # the cache (Redis in production) holds rate limits, not megabytes of screenshots
    response = send_from_check(client, page)
    assert response.status_code == 302, response.content.decode()
    assert Ticket.objects.get().evidence.get().original_name == "riwayat.png"


@pytest.mark.django_db
def test_screenshots_beyond_the_size_bound_are_refused_on_their_step(client, settings):
    settings.KEPT_EVIDENCE_MAX_BYTES = len(image_bytes()) - 1
    client.get("/report/")
    step(client, "what", WHAT)
    step(client, "you", YOU)
    response = step(client, "evidence", {"evidence": upload()})
    assert response.status_code == 400
    assert kept_files(settings) == []


@pytest.mark.django_db
def test_sent_report_leaves_no_kept_screenshot_behind(client, settings):
    page = walk_to_check(client).content.decode()
    assert send_from_check(client, page).status_code == 302
    assert kept_files(settings) == []


@pytest.mark.django_db
def test_expired_kept_screenshots_are_asked_again(client):
    page = walk_to_check(client).content.decode()
    expired, _names = kept_evidence.keep(screenshot(), now=time.time() - EXPIRED)
    session = client.session
    session["wizard_report_wizard"]["extra_data"]["kept_evidence"] = expired
    session.save()
    response = send_from_check(client, page)
    assert response.status_code == 400
    assert "Lampirkan paling sedikit satu tangkapan layar" in response.content.decode()
    assert Ticket.objects.count() == 0


@pytest.mark.django_db
def test_sweep_deletes_expired_kept_screenshots_and_leaves_fresh_ones(settings):
    expired, _names = kept_evidence.keep(screenshot(), now=time.time() - EXPIRED)
    fresh, _names = kept_evidence.keep(screenshot())
    assert tasks.sweep_kept_evidence() == 1
    root = Path(settings.STORAGES["default"]["OPTIONS"]["location"]) / "kept-evidence"
    assert [path.name for path in root.iterdir()] == [fresh]
    assert kept_evidence.kept(fresh)[0][0] == "riwayat.png"


def test_sweep_is_scheduled():
    tasks_scheduled = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert "tickets.tasks.sweep_kept_evidence" in tasks_scheduled
