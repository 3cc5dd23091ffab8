"""Workflow timers and retention (Celery beat tasks): each fires once, at the right time, and only then."""

import io
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from PIL import Image

from refunds.models import LedgerEntry
from tests.factories import ticket_in_state
from tickets import roles, services, tasks
from tickets.evidence import process_image
from tickets.models import Evidence, State, Ticket

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.REMEDIES_PAUSED = True
    settings.CLOSE_UNANSWERED_DAYS = 7
    settings.AUTO_CONFIRM_DAYS = 7
    settings.INFO_REMINDER_DAYS = 3
    settings.RETENTION_DAYS = 180


def later(days):
    return time_machine.travel(timezone.now() + timedelta(days=days), tick=False)


def reminders(ticket):
    return ticket.messages.filter(event="info_reminder").count()


def test_reminder_after_three_days_once(alice):
    ticket = services.fire(
        "request_info", ticket=ticket_in_state(State.IN_REVIEW), actor=alice, message="Mohon kirim bukti."
    )
    with later(2.9):
        tasks.run_workflow_timers()
    assert reminders(ticket) == 0
    with later(3.1):
        result = tasks.run_workflow_timers()
        tasks.run_workflow_timers()
    assert result["info_reminders"] == 1
    assert reminders(ticket) == 2  # one per contact channel (WhatsApp and email), sent once
    ticket.refresh_from_db()
    assert ticket.info_reminder_sent_at is not None and ticket.state == State.AWAITING_INFO


def test_a_new_request_allows_a_new_reminder(alice):
    ticket = services.fire("request_info", ticket=ticket_in_state(State.IN_REVIEW), actor=alice, message="a")
    with later(4):
        tasks.run_workflow_timers()
        services.fire("info_received", ticket=ticket)
        services.fire("request_info", ticket=ticket, actor=alice, message="b")
    with later(8):
        tasks.run_workflow_timers()
    assert reminders(ticket) == 4


def test_close_unanswered_after_seven_days(alice):
    ticket = services.fire("request_info", ticket=ticket_in_state(State.IN_REVIEW), actor=alice, message="?")
    with later(6.9):
        tasks.run_workflow_timers()
    ticket.refresh_from_db()
    assert ticket.state == State.AWAITING_INFO
    with later(7.1):
        assert tasks.run_workflow_timers()["closed_unanswered"] == 1
        assert tasks.run_workflow_timers()["closed_unanswered"] == 0
    ticket.refresh_from_db()
    assert ticket.state == State.CLOSED
    assert ticket.transitions.filter(name="close_unanswered", actor_kind="system").count() == 1


def test_auto_confirm_after_seven_days_in_resolved():
    ticket = ticket_in_state(State.RESOLVED)
    Ticket.objects.filter(pk=ticket.pk).update(state_changed_at=timezone.now())
    with later(6.9):
        tasks.run_workflow_timers()
    ticket.refresh_from_db()
    assert ticket.state == State.RESOLVED
    with later(7.1):
        assert tasks.run_workflow_timers()["auto_confirmed"] == 1
    ticket.refresh_from_db()
    assert ticket.state == State.CLOSED
    assert ticket.transitions.get(name="confirm").actor_kind == "system"


def test_timers_leave_other_states_alone():
    tickets = [ticket_in_state(state) for state in (State.REPORTED, State.IN_REVIEW, State.AWAITING_APPROVAL)]
    with later(30):
        assert tasks.run_workflow_timers() == {
            "closed_unanswered": 0,
            "auto_confirmed": 0,
            "info_reminders": 0,
        }
    assert [Ticket.objects.get(pk=t.pk).state for t in tickets] == [t.state for t in tickets]


def test_timers_work_through_more_than_one_batch(monkeypatch, alice):
    monkeypatch.setattr(tasks, "BATCH_SIZE", 2)
    for _ in range(5):
        ticket_in_state(State.RESOLVED)
    with later(8):
        assert tasks.run_workflow_timers()["auto_confirmed"] == 5
    assert Ticket.objects.filter(state=State.CLOSED).count() == 5


def _png():
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(out, "PNG")
    return out.getvalue()


def test_erase_expired_after_retention_keeps_ledger(django_capture_on_commit_callbacks, alice, sam):
    from refunds.services import record_application

    ticket = ticket_in_state(State.REPORTED, nik="3171010101900555", serials=["1234567890ABCDEFGHJKLM"])
    item = services.attach_evidence(ticket=ticket, name="x.png", image=process_image(_png()))
    services.fire("start_review", ticket=ticket, actor=alice)
    services.fire("propose_remedy", ticket=ticket, actor=alice, quantity=2)
    services.fire("approve", ticket=ticket, actor=sam)
    record_application(remedy_id=ticket.current_remedy.pk, provider_reference="P-1", gateway="ledger")
    services.fire("confirm", ticket=ticket, actor=roles.APPLICANT)
    storage, name = item.file.storage, item.file.name

    with later(179):
        assert tasks.erase_expired() == 0
    with later(181), django_capture_on_commit_callbacks(execute=True):
        assert tasks.erase_expired() == 1
        assert tasks.erase_expired() == 0
    ticket.refresh_from_db()
    assert ticket.nik == "" and ticket.full_name == services.REDACTED and ticket.erased_at is not None
    assert not Evidence.objects.filter(ticket=ticket).exists() and not storage.exists(name)
    assert set(ticket.messages.values_list("body", flat=True)) == {services.REDACTED}
    assert LedgerEntry.objects.get(ticket=ticket).quantity == 2
    assert ticket.state == State.CLOSED


def test_open_tickets_are_never_erased():
    ticket = ticket_in_state(State.IN_REVIEW)
    with later(400):
        assert tasks.erase_expired() == 0
    ticket.refresh_from_db()
    assert ticket.erased_at is None


def test_sla_breach_follows_the_state_hours(settings):
    from tickets.selectors import sla_breached_q

    settings.SLA_HOURS = {"reported": 4}
    ticket = ticket_in_state(State.REPORTED)
    assert not Ticket.objects.filter(sla_breached_q()).exists()
    with time_machine.travel(timezone.now() + timedelta(hours=4, minutes=1), tick=False):
        assert Ticket.objects.filter(sla_breached_q()).get() == ticket


def test_idempotency_keys_are_forgotten_after_their_hours(settings):
    from tickets.models import IdempotencyRecord

    settings.IDEMPOTENCY_KEY_HOURS = 24
    now = timezone.now()
    old = IdempotencyRecord.objects.create(
        key="old", request_hash="h", status_code=201, response={}, created_at=now - timedelta(hours=25)
    )
    fresh = IdempotencyRecord.objects.create(
        key="fresh", request_hash="h", status_code=201, response={}, created_at=now - timedelta(hours=23)
    )
    assert tasks.purge_idempotency_records() == 1
    assert list(IdempotencyRecord.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert not IdempotencyRecord.objects.filter(pk=old.pk).exists()
