"""Walking the report form's steps in the browser (phone size): helpers shared by the browser tests."""

from tests.accessibility import serious_violations
from tests.tickets.intake_helpers import SERIAL

CONTINUE = ".actions button:not([name])"
BACK = ".actions button[name=wizard_goto_step]"


def accessible(page):
    violations = serious_violations(page)
    assert not violations, "\n".join(violations)


def choose(page, name, value):
    page.check(f"input[name='{name}'][value='{value}']")


def next_step(page):
    page.click(CONTINUE)
    page.wait_for_load_state()


def what_happened(page, category, screenshot_file=None):
    choose(page, "what-category", category)
    if category == "stamp_failed":
        page.fill("#id_what-quota_lost", "2")
        page.fill("#id_what-serial_numbers", SERIAL)
    elif category == "paid_not_credited":
        page.fill("#id_what-order_id", "ORD-2024-0001")
        page.fill("#id_what-amount_paid", "Rp 50.000")
    else:
        page.fill("#id_what-description", "Saya tidak bisa masuk ke akun e-Meterai.")


def your_data(page, *, name="Siti Rahmawati", nik="3171014501900001", whatsapp="0812-3456-7890"):
    page.fill("#id_you-full_name", name)
    page.fill("#id_you-nik", nik)
    page.fill("#id_you-email", "siti@example.com")
    page.fill("#id_you-whatsapp", whatsapp)
