import pytest
from tests.tickets.intake_helpers import SERIAL, upload
from tickets.models import Ticket

pytestmark = [pytest.mark.usefixtures("applicant_defaults"), pytest.mark.django_db]

def step(client, name, data, files=None):
    post = {"report_wizard-current_step": name}
    post.update({f"{name}-{k}": v for k, v in data.items()})
    return client.post("/report/", post)

def test_walk(client):
    r = client.get("/report/")
    assert r.status_code == 200, r.content
    print(r.content.decode()[:200])
    r = step(client, "what", {"category": "stamp_failed", "quota_lost": "x"})
    assert r.status_code == 400
    page = r.content.decode()
    assert "Galat:" in page
    print([l for l in page.splitlines() if "summary" in l or "error" in l][:20])
    r = step(client, "what", {"category": "stamp_failed", "quota_lost": "2", "serial_numbers": SERIAL})
    assert r.status_code == 200, r.content.decode()
    assert "Langkah 2 dari 4" in r.content.decode() or "Step 2 of 4" in r.content.decode()
    r = step(client, "you", {"full_name": "Siti", "nik": "3171014501900001", "email": "s@example.com", "whatsapp": "081234567890", "language": "id", "preferred_channel": "whatsapp"})
    assert r.status_code == 200, r.content.decode()
    r = step(client, "evidence", {"evidence": upload()})
    assert r.status_code == 200, r.content.decode()
    page = r.content.decode()
    assert SERIAL in page
    key = page.split('name="check-submission_key" value="')[1].split('"')[0]
    r = step(client, "check", {"consent": "on", "submission_key": key})
    assert r.status_code == 302, r.content.decode()
    r2 = step(client, "check", {"consent": "on", "submission_key": key})
    assert r2.status_code == 302 and r2["Location"] == r["Location"]
    assert Ticket.objects.count() == 1
    assert Ticket.objects.get().evidence.count() == 1
