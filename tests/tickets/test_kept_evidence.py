"""Screenshots a refused form accepted: kept in private storage, bounded in size, swept when expired."""

import re
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache

from tests.tickets.intake_helpers import image_bytes, stamp_failed
from tickets import kept_evidence, tasks
from tickets.evidence import process_image
from tickets.models import Ticket

pytestmark = pytest.mark.usefixtures("applicant_defaults")

EXPIRED = 31 * 60  # seconds; KEPT_EVIDENCE_MINUTES is 30


def form(**overrides):
    return stamp_failed(consent="on", submission_key="k" * 32, **overrides)


def kept_key(page):
    match = re.search(r'name="kept_evidence" value="([^"]+)"', page)
    return match.group(1) if match else None


def kept_files(settings):
    root = Path(settings.STORAGES["default"]["OPTIONS"]["location"]) / "kept-evidence"
    return sorted(path.name for path in root.rglob("*") if path.is_file()) if root.exists() else []


def try_again_without_file(client, key):
    data = form(kept_evidence=key)
    del data["evidence"]
    return client.post("/report/", data)


def screenshot():
    return [("riwayat.png", process_image(image_bytes()))]


@pytest.mark.django_db
def test_kept_screenshots_are_files_in_private_storage_that_survive_a_cache_flush(client, settings):
    key = kept_key(client.post("/report/", form(nik="123")).content.decode())
    assert kept_files(settings) == ["0.png", "manifest.json"]  # the upload as sent: a worker processes it
    cache.clear()  # the cache (Redis in production) holds rate limits, not megabytes of screenshots
    response = try_again_without_file(client, key)
    assert response.status_code == 302, response.content.decode()
    assert Ticket.objects.get().evidence.get().original_name == "riwayat.png"


@pytest.mark.django_db
def test_screenshots_beyond_the_size_bound_are_asked_again_not_kept(client, settings):
    settings.KEPT_EVIDENCE_MAX_BYTES = len(image_bytes()) - 1
    page = client.post("/report/", form(nik="123")).content.decode()
    assert kept_key(page) is None
    assert "Tersimpan dari percobaan sebelumnya" not in page
    assert kept_files(settings) == []


@pytest.mark.django_db
def test_sent_report_leaves_no_kept_screenshot_behind(client, settings):
    key = kept_key(client.post("/report/", form(nik="123")).content.decode())
    assert try_again_without_file(client, key).status_code == 302
    assert kept_files(settings) == []


@pytest.mark.django_db
def test_expired_kept_screenshots_are_asked_again(client):
    key, _names = kept_evidence.keep(screenshot(), now=time.time() - EXPIRED)
    response = try_again_without_file(client, key)
    assert response.status_code == 400
    assert "Lampirkan paling sedikit satu tangkapan layar" in response.content.decode()


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
