"""Walking the report form's steps through Django's test client."""

from tests.tickets.intake_helpers import NIK_WOMAN, SERIAL, upload

WHAT = {"category": "stamp_failed", "quota_lost": "2", "serial_numbers": SERIAL}
YOU = {
    "full_name": "Siti Rahmawati",
    "nik": NIK_WOMAN,
    "email": "siti@example.com",
    "whatsapp": "0812-3456-7890",
    "preferred_channel": "whatsapp",
    "language": "id",
}


def step(client, name, data=None, **extra):
    post = {"report_wizard-current_step": name, **extra}
    post.update({f"{name}-{key}": value for key, value in (data or {}).items()})
    return client.post("/report/", post)


def back(client, current, to):
    return step(client, current, wizard_goto_step=to)


def submission_key(page):
    return page.split('name="check-submission_key" value="')[1].split('"')[0]


def walk_to_check(client, *, what=None, you=None, evidence=True):
    client.get("/report/")
    assert step(client, "what", what or WHAT).status_code == 200
    assert step(client, "you", you or YOU).status_code == 200
    response = step(client, "evidence", {"evidence": upload()} if evidence else {})
    assert response.status_code == 200, response.content.decode()
    return response


def send(client, **overrides):
    page = walk_to_check(client, **overrides).content.decode()
    return step(client, "check", {"consent": "on", "submission_key": submission_key(page)})
