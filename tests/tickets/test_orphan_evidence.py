"""Evidence files left by a web worker killed mid-upload are swept; files that rows point at are kept."""

import os
import signal
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from tests.factories import ticket_in_state
from tests.tickets.intake_helpers import image_bytes
from tickets import evidence_files, services, tasks
from tickets.evidence import process_image
from tickets.models import Evidence, State

LATER = timedelta(minutes=61)  # EVIDENCE_ORPHAN_MINUTES is 60

# A web worker's upload: the report's files are written inside the ticket's transaction, then the
# process is killed before the commit (here an outer transaction holds it open until the SIGKILL).
UPLOAD_THEN_WAIT = textwrap.dedent(
    """
    import time
    import django

    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.db import transaction

    from tests.tickets.intake_helpers import image_bytes, stamp_failed
    from tickets import services
    from tickets.intake import ReportSerializer

    call_command("migrate", verbosity=0)
    data = stamp_failed(evidence=SimpleUploadedFile("riwayat.png", image_bytes(), "image/png"))
    serializer = ReportSerializer(data={**data, "evidence": [data["evidence"]]})
    serializer.is_valid(raise_exception=True)
    report = dict(serializer.validated_data)
    evidence, serials = report.pop("evidence"), report.pop("serial_numbers")
    with transaction.atomic():
        services.submit_report(data=report, serial_numbers=serials, evidence=evidence)
        print("written", flush=True)
        time.sleep(120)
    """
)


def media_root(settings):
    return Path(settings.STORAGES["default"]["OPTIONS"]["location"])


def evidence_on_disk(settings):
    root = media_root(settings) / "evidence"
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def kill_mid_upload(settings, tmp_path):
    """Run an upload in another process on its own database and media folder, SIGKILL it mid-way."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'worker.sqlite3'}",
        "TEST_MEDIA_ROOT": str(media_root(settings)),
    }
    root = Path(__file__).resolve().parents[2]
    worker = subprocess.Popen(
        [sys.executable, "-c", UPLOAD_THEN_WAIT], cwd=root, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert worker.stdout.readline().strip() == "written"
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    assert worker.returncode == -signal.SIGKILL


@pytest.mark.django_db
def test_files_of_a_worker_killed_mid_upload_are_swept(settings, tmp_path):
    kill_mid_upload(settings, tmp_path)
    left = evidence_on_disk(settings)
    assert [path.suffix for path in left] == [".png"]  # the upload, stored pending for the worker
    assert not Evidence.objects.exists()
    assert evidence_files.sweep_orphans(now=timezone.now() + LATER) == 1
    assert evidence_on_disk(settings) == []
    assert not (media_root(settings) / "evidence" / left[0].parent.name).exists()


@pytest.mark.django_db
def test_sweep_leaves_young_unreferenced_files_alone_as_they_may_be_uploads_in_flight(settings, tmp_path):
    kill_mid_upload(settings, tmp_path)
    assert tasks.sweep_orphan_evidence() == 0
    assert len(evidence_on_disk(settings)) == 1


@pytest.mark.django_db
def test_sweep_keeps_files_that_evidence_rows_point_at(settings):
    ticket = ticket_in_state(State.IN_REVIEW)
    item = services.attach_evidence(ticket=ticket, name="riwayat.png", image=process_image(image_bytes()))
    assert evidence_files.sweep_orphans(now=timezone.now() + LATER) == 0
    assert item.file.storage.exists(item.file.name) and item.thumbnail.storage.exists(item.thumbnail.name)


def test_orphan_sweep_is_scheduled():
    scheduled = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert "tickets.tasks.sweep_orphan_evidence" in scheduled
