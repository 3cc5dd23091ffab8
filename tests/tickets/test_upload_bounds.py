"""Small uploads that would decode to many megapixels: refused from their headers, fast, storing nothing."""

import io
import threading
import time
from pathlib import Path

import pytest
import requests

from notifications.models import Message
from tests.tickets.intake_helpers import image_bytes, one_colour_png, stamp_failed
from tickets.models import Evidence, IdempotencyRecord, Ticket

pytestmark = pytest.mark.usefixtures("applicant_defaults")

URL = "/api/v1/reports/"
FORTY_MEGAPIXELS = (8000, 5000)  # 123 KB as a one-colour PNG


def files(data, count):
    uploads = []
    for number in range(count):
        fileobj = io.BytesIO(data)
        fileobj.name = f"riwayat-{number}.png"
        uploads.append(fileobj)
    return uploads


def assert_nothing_stored(settings):
    assert Ticket.objects.count() == 0
    assert Evidence.objects.count() == 0
    assert Message.objects.count() == 0
    assert IdempotencyRecord.objects.count() == 0
    root = Path(settings.STORAGES["default"]["OPTIONS"]["location"])
    assert not root.exists() or not [path for path in root.rglob("*") if path.is_file()]


@pytest.mark.django_db
def test_five_one_colour_40_megapixel_pngs_are_refused_fast_and_nothing_is_stored(client, settings):
    data = stamp_failed(evidence=files(one_colour_png(*FORTY_MEGAPIXELS), 5))
    started = time.perf_counter()
    response = client.post(URL, data, HTTP_IDEMPOTENCY_KEY="bomb-1")
    elapsed = time.perf_counter() - started
    assert response.status_code == 413
    assert response.json()["errors"]["evidence"][0] == "riwayat-0.png: Resolusi gambar terlalu besar."
    assert elapsed < 1
    assert_nothing_stored(settings)


@pytest.mark.django_db
def test_images_over_the_request_bound_together_are_refused_before_any_is_decoded(client, settings):
    twelve_megapixels = one_colour_png(4000, 3000)
    truncated = twelve_megapixels[: len(twelve_megapixels) // 2]  # a decode would fail: 415, not 413
    data = stamp_failed(evidence=files(truncated, 3))
    response = client.post(URL, data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 413
    assert response.json()["errors"] == {
        "evidence": ["The images together have too many pixels. Send fewer or smaller screenshots."]
    }
    assert_nothing_stored(settings)


@pytest.mark.django_db
def test_five_phone_screenshots_fit_the_request_bound(client):
    screenshot = image_bytes(size=(1440, 3200))  # 4.6 MP, among the largest phone screens
    response = client.post(URL, stamp_failed(evidence=files(screenshot, 5)))
    assert response.status_code == 201, response.content
    assert Evidence.objects.count() == 5


@pytest.mark.django_db(transaction=True)
def test_ten_such_requests_at_once_leave_the_health_check_answering_within_a_second(live_server):
    """Against a real HTTP server: the refusals take no worker long enough to make /healthz wait."""
    bomb = one_colour_png(*FORTY_MEGAPIXELS)
    answers, started = [], threading.Barrier(11)

    def attack():
        started.wait()
        multipart = [("evidence", (f"riwayat-{n}.png", bomb, "image/png")) for n in range(5)]
        fields = {key: value for key, value in stamp_failed().items() if key != "evidence"}
        answers.append(requests.post(live_server.url + URL, data=fields, files=multipart, timeout=60))

    threads = [threading.Thread(target=attack) for _ in range(10)]
    for thread in threads:
        thread.start()
    started.wait()
    health = requests.get(live_server.url + "/healthz", timeout=10)
    for thread in threads:
        thread.join()
    assert health.status_code == 200
    assert health.elapsed.total_seconds() < 1
    assert [answer.status_code for answer in answers] == [413] * 10
    assert Ticket.objects.count() == 0
