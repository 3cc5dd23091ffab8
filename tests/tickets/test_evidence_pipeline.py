"""Screenshots processed off the request path: stored pending, never served pending, refused by the
worker with the applicant asked again, picked up again after a worker died."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from notifications.models import Message
from tests.tickets.intake_helpers import image_bytes, stamp_failed, upload
from tickets import evidence_pipeline, tasks
from tickets.models import Evidence, Ticket

pytestmark = pytest.mark.usefixtures("applicant_defaults")

URL = "/api/v1/reports/"


def report(client, **overrides):
    body = client.post(URL, stamp_failed(**overrides)).json()
    return Ticket.objects.get(reference=body["reference"])


def evidence_files(settings):
    root = Path(settings.STORAGES["default"]["OPTIONS"]["location"]) / "evidence"
    return sorted(path.name for path in root.rglob("*") if path.is_file()) if root.exists() else []


def truncated_png():
    """A PNG whose header is sound (it passes the request's checks) and whose pixel data is cut short."""
    return image_bytes("PNG", size=(400, 300))[:-200]


@pytest.mark.django_db
def test_the_request_stores_the_upload_pending_without_decoding_it(client, settings):
    ticket = report(client)
    item = ticket.evidence.get()
    assert item.state == Evidence.State.PENDING
    assert (item.width, item.height, item.sha256, item.thumbnail.name) == (120, 80, "", "")
    assert evidence_files(settings) == [Path(item.file.name).name]


@pytest.mark.django_db
def test_a_pending_screenshot_is_never_served(client, alice, settings):
    ticket = report(client)
    item = ticket.evidence.get()
    token = ticket.tracking_token
    file_url = f"/status/{ticket.reference}/evidence/{item.pk}/?token={token}"
    assert client.get(file_url).status_code == 404
    assert client.get(file_url + "&thumb=1").status_code == 404
    status = client.get(f"/api/v1/reports/{ticket.reference}/", HTTP_X_TRACKING_TOKEN=token).json()
    assert status["evidence"] == [
        {"id": item.pk, "name": "riwayat.png", "state": "pending", "url": None, "thumbnail_url": None}
    ]
    page = client.get(f"/status/{ticket.reference}/?token={token}").content.decode()
    assert "/evidence/" not in page and "thumb pending" in page
    client.force_login(alice)
    assert client.get(f"/evidence/{item.pk}/").status_code == 404
    assert client.get(f"/api/v1/tickets/{ticket.reference}/evidence/{item.pk}/").status_code == 404
    staff = client.get(f"/api/v1/tickets/{ticket.reference}/").json()["evidence"][0]
    assert (staff["state"], staff["url"], staff["thumbnail_url"]) == ("pending", None, None)


@pytest.mark.django_db
def test_console_shows_a_pending_screenshot_as_being_checked(client, alice):
    ticket = report(client)
    client.force_login(alice)
    page = client.get(
        f"/admin/tickets/ticket/{ticket.pk}/change/", HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "Being checked" in page
    assert f"/evidence/{ticket.evidence.get().pk}/" not in page


@pytest.mark.django_db
def test_the_worker_makes_it_ready_and_the_raw_upload_goes(client, settings, run_on_commit):
    ticket = run_on_commit(report, client)
    item = ticket.evidence.get()
    assert item.state == Evidence.State.READY and len(item.sha256) == 64 and item.thumbnail
    assert sorted(evidence_files(settings)) == sorted(
        [Path(item.file.name).name, Path(item.thumbnail.name).name]
    )
    assert "pending" not in item.file.name
    response = client.get(f"/status/{ticket.reference}/evidence/{item.pk}/?token={ticket.tracking_token}")
    assert response.status_code == 200


@pytest.mark.django_db
def test_a_hostile_file_found_by_the_worker_is_removed_and_the_applicant_asked_again(
    client, settings, run_on_commit
):
    ticket = run_on_commit(report, client, evidence=upload(truncated_png(), "riwayat.png"))
    assert not Evidence.objects.exists()
    assert evidence_files(settings) == []
    asked = Message.objects.filter(ticket=ticket, event="evidence_refused")
    assert sorted(asked.values_list("channel", flat=True)) == ["email", "whatsapp"]
    body = asked.first().body
    assert "riwayat.png: Berkas bukan gambar yang dapat dibaca." in body and "Kirim yang lain" in body
    assert Message.objects.filter(ticket=ticket, channel="note", body__contains="riwayat.png").exists()


@pytest.mark.django_db
def test_a_refused_file_is_asked_again_in_english_for_an_english_applicant(client, run_on_commit):
    ticket = run_on_commit(report, client, evidence=upload(truncated_png(), "x.png"), language="en")
    body = Message.objects.filter(ticket=ticket, event="evidence_refused").first().body
    assert "could not be used (x.png: The file is not a readable image.)" in body


@pytest.mark.django_db
def test_a_worker_killed_mid_processing_loses_nothing(client, settings):
    ticket = report(client)
    item = ticket.evidence.get()
    started = timezone.now() - timedelta(seconds=settings.EVIDENCE_CLAIM_SECONDS + 1)
    evidence_pipeline._claim(item.pk, started)  # a worker took it, then died: nothing else happened
    soon = started + timedelta(seconds=60)
    assert evidence_pipeline.sweep_pending(now=soon) == []  # the worker may still be at it
    assert evidence_pipeline.process_pending(item.pk, now=soon) == ""  # a second delivery leaves it alone
    assert evidence_pipeline.sweep_pending() == [item.pk]  # its claim expired: queued again (eager: done)
    item.refresh_from_db()
    assert item.state == Evidence.State.READY and item.attempts == 2


@pytest.mark.django_db
def test_a_task_lost_with_the_broker_is_queued_again_by_the_sweep(client, settings):
    item = report(client).evidence.get()  # its task never ran (no commit in this test)
    assert evidence_pipeline.sweep_pending() == []  # young: its task may be on its way
    later = timezone.now() + timedelta(seconds=settings.EVIDENCE_PENDING_GRACE_SECONDS + 1)
    assert evidence_pipeline.sweep_pending(now=later) == [item.pk]
    assert Evidence.objects.get(pk=item.pk).state == Evidence.State.READY


@pytest.mark.django_db
def test_a_file_that_killed_every_worker_is_refused_not_tried_forever(client, settings):
    ticket = report(client)
    item = ticket.evidence.get()
    Evidence.objects.filter(pk=item.pk).update(attempts=settings.EVIDENCE_MAX_ATTEMPTS)
    assert evidence_pipeline.process_pending(item.pk) == "refused"
    assert not Evidence.objects.exists()
    assert Message.objects.filter(ticket=ticket, event="evidence_refused").exists()


@pytest.mark.django_db
def test_processing_twice_does_nothing_twice(client, run_on_commit):
    item = run_on_commit(report, client).evidence.get()
    assert evidence_pipeline.process_pending(item.pk) == ""
    assert Evidence.objects.get(pk=item.pk).file.name == item.file.name


@pytest.mark.django_db
def test_the_same_screenshot_on_another_ticket_is_flagged_once_processed(client, run_on_commit):
    run_on_commit(report, client)
    second = report(client, serial_numbers="ZZZZ567890ABCDEFGHJK99", nik="3273010505850002")
    assert not Ticket.objects.get(pk=second.pk).possible_duplicate  # nothing to compare yet
    tasks.process_evidence(second.evidence.get().pk)
    assert Ticket.objects.get(pk=second.pk).possible_duplicate


@pytest.mark.django_db
def test_a_reply_screenshot_is_pending_until_processed(client, run_on_commit):
    ticket = run_on_commit(report, client)
    client.post(
        f"/status/{ticket.reference}/reply/",
        {"token": ticket.tracking_token, "body": "lagi", "evidence": upload(image_bytes(color=(9, 9, 9)))},
    )
    reply = ticket.evidence.order_by("id").last()
    assert reply.state == Evidence.State.PENDING and reply.message is not None
    page = client.get(f"/status/{ticket.reference}/?token={ticket.tracking_token}").content.decode()
    assert len(re.findall(r"<img src=", page)) == 1  # only the processed report screenshot
