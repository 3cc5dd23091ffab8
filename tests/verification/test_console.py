"""What agents and supervisors see: the outcome in the ticket list, the record on the ticket page, the upload."""

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.verification.conftest import ACCOUNT, serial, stamp_ticket
from tests.verification.test_outcomes import verify
from verification.models import Outcome, PlatformStamping, Verification

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("staff_in_english")]

LIST = "/admin/tickets/ticket/"


@pytest.fixture
def staff_in_english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def page(ticket):
    return reverse("admin:tickets_ticket_change", args=[ticket.pk])


def test_the_list_shows_the_outcome_as_a_badge(client, alice, platform):
    platform.add_stamping(serial(1), ACCOUNT)
    verify(stamp_ticket(serial(1)))
    client.force_login(alice)
    html = client.get(LIST).content.decode()
    assert 'class="badge verification-confirmed"' in html


def test_agents_filter_the_list_by_outcome(client, alice, platform):
    platform.add_stamping(serial(1), ACCOUNT)
    confirmed = stamp_ticket(serial(1))
    verify(confirmed)
    unknown = stamp_ticket(serial(2))
    verify(unknown)
    client.force_login(alice)
    html = client.get(LIST, {"verified": "unknown"}).content.decode()
    assert unknown.reference in html
    assert confirmed.reference not in html


def test_the_list_stays_one_query_per_page_with_verifications(client, alice, django_assert_max_num_queries):
    for n in range(30):
        ticket = stamp_ticket(serial(n))
        Verification.objects.create(ticket=ticket, outcome=Outcome.UNKNOWN, reason="no_record")
    client.force_login(alice)
    client.get(LIST)
    with django_assert_max_num_queries(12):
        assert client.get(LIST).status_code == 200


def test_the_ticket_page_shows_the_platforms_record_and_a_reply_in_the_applicants_language(
    client, alice, platform
):
    platform.add_stamping(serial(1), ACCOUNT, status="success")
    ticket = stamp_ticket(serial(1), full_name="Siti Aminah", language="id")
    verify(ticket)
    client.force_login(alice)
    html = client.get(page(ticket)).content.decode()
    assert 'id="verification"' in html
    assert "status: <strong>success</strong>" in html
    assert "Halo Siti Aminah" in html  # the suggested reply, in Indonesian
    assert serial(1) in html


def test_the_suggested_reply_is_in_english_for_an_english_applicant(client, alice, platform):
    platform.add_stamping(serial(1), ACCOUNT, quota_restored=True)
    ticket = stamp_ticket(serial(1), full_name="Siti Aminah", language="en")
    verify(ticket)
    client.force_login(alice)
    assert "Hello Siti Aminah, the quota of serial number" in client.get(page(ticket)).content.decode()


def test_a_system_proposal_shows_as_verified_by_the_platform(client, sam, platform):
    platform.add_stamping(serial(1), ACCOUNT)
    ticket = stamp_ticket(serial(1))
    verify(ticket)
    client.force_login(sam)
    html = client.get(page(ticket)).content.decode()
    assert "Verified by the platform" in html
    assert "the system (verified by the platform)" in html
    assert 'id="do-approve"' in html


def test_a_duplicate_claim_links_the_first_ticket(client, alice, platform):
    platform.add_stamping(serial(1), ACCOUNT)
    first = stamp_ticket(serial(1))
    second = stamp_ticket(serial(1))
    verify(first)
    verify(second)
    client.force_login(alice)
    html = client.get(page(second)).content.decode()
    assert f'href="{page(first)}">{first.reference}</a> · no remedy is proposed' in html


UPLOAD = "/admin/verification/platformstamping/upload/"


def test_a_supervisor_uploads_an_export_and_sees_malformed_lines(client, sam, settings):
    settings.QUOTA_GATEWAY = "ledger"
    client.force_login(sam)
    csv = (
        "serial_number,account,status,attempted_at,document_name,quota_restored\n"
        f"{serial(1)},{ACCOUNT},refund,2024-09-10T21:40:00+07:00,a.pdf,false\n"
        "BAD,siti@example.com,refund,,a.pdf,false\n"
    )
    response = client.post(UPLOAD, {"file": SimpleUploadedFile("export.csv", csv.encode(), "text/csv")})
    assert response.status_code == 302
    texts = [str(message) for message in get_messages(response.wsgi_request)]
    assert texts[0].startswith("1 stamping records loaded")
    assert "line 3: serial_number" in texts[1]
    assert PlatformStamping.objects.filter(serial_number=serial(1)).exists()


def test_an_unknown_header_is_shown_on_the_form_and_stores_nothing(client, sam):
    client.force_login(sam)
    upload = SimpleUploadedFile("x.csv", b"a,b\n1,2\n", "text/csv")
    response = client.post(UPLOAD, {"file": upload})
    assert response.status_code == 200
    assert "Unknown header" in response.content.decode()
    assert not PlatformStamping.objects.exists()


def test_an_agent_cannot_upload(client, alice):
    client.force_login(alice)
    assert client.get(UPLOAD).status_code == 403
