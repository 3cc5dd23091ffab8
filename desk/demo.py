"""Demo data: staff accounts and tickets in every state, made through the same services as real use."""

import io
import random
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import override_settings
from django.utils import timezone
from PIL import Image, ImageDraw

from incidents import services as incident_services
from incidents.models import Failed, Incident
from notifications.models import CannedReply
from refunds import services as remedy_services
from tickets import roles, services, workflow
from tickets.groups import ensure_groups
from tickets.models import Category, Ticket
from verification.imports import import_records

DEMO_DOMAIN = "demo.example"
ACCOUNTS = [
    # username, password, group, superuser
    ("agent", "agent-demo", "Agents", False),
    ("agent2", "agent2-demo", "Agents", False),
    ("supervisor", "supervisor-demo", "Supervisors", False),
    ("finance", "finance-demo", "Finance", False),
    ("admin", "admin-demo", None, True),
]
NAMES = [
    "Siti Rahmawati",
    "Budi Santoso",
    "Dewi Lestari",
    "Agus Prasetyo",
    "Rina Kartika",
    "Joko Widodo",
    "Putri Ayu",
    "Andi Saputra",
    "Nur Aini",
    "Rizky Ramadhan",
    "Wulan Sari",
    "Hendra Gunawan",
]


def ensure_accounts():
    """Create (or reset) the demo staff accounts; return (username, password, role) rows to print."""
    ensure_groups()
    User = get_user_model()
    rows = []
    for username, password, group_name, superuser in ACCOUNTS:
        user, _ = User.objects.get_or_create(
            username=username, defaults={"email": f"{username}@{DEMO_DOMAIN}"}
        )
        user.is_staff = True
        user.is_superuser = superuser
        user.set_password(password)
        user.save()
        if group_name:
            user.groups.add(Group.objects.get(name=group_name))
        rows.append((username, password, group_name or "superuser"))
    return rows


def screenshot(seed, *, serial):
    """A small picture that looks like a stamping history with a failed ("refund") row."""
    image = Image.new("RGB", (720, 400), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, 720, 48], fill=(25, 85, 160))
    draw.text((16, 16), "Riwayat Pembubuhan e-Meterai", fill="white")
    for row in range(5):
        top = 70 + row * 60
        status = "refund" if row == seed % 5 else "success"
        draw.rectangle([12, top, 708, top + 50], outline=(200, 200, 200))
        draw.text((24, top + 8), f"dokumen-casn-{seed}-{row}.pdf", fill="black")
        draw.text((24, top + 28), serial if status == "refund" else f"{seed:04d}{row:018d}", fill="gray")
        draw.text((600, top + 18), status, fill=(200, 30, 30) if status == "refund" else (20, 140, 60))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def demo_serial(index):
    return f"{index:02d}DEMO{random.Random(index).randrange(10**15):015d}X"[:22].upper()


def _report(index, category, serial=None, **extra):
    serial = serial or demo_serial(index)
    data = {
        "category": category,
        "full_name": NAMES[index % len(NAMES)],
        "nik": f"3171{(index % 28) + 1:02d}0101900{index:03d}"[:16],
        "email": f"pelapor{index}@{DEMO_DOMAIN}",
        "whatsapp": f"+62812000{index:05d}",
        "preferred_channel": "whatsapp" if index % 2 else "email",
        "language": "en" if index % 5 == 4 else "id",
        "description": "Pembubuhan gagal saat antrean padat menjelang batas pendaftaran CASN.",
    }
    serials = []
    if category == Category.STAMP_FAILED:
        data.update(quota_lost=1 + index % 3, document_name=f"surat-lamaran-{index}.pdf")
        serials = [serial]
    elif category == Category.PAID_NOT_CREDITED:
        money = index % 2 == 0
        data.update(
            order_id=f"ORD-2024-{index:06d}",
            amount_paid=10_000 * (1 + index % 5),
            payment_channel="QRIS",
            remedy_preference="money" if money else "quota",
        )
        if money:
            data.update(payout_method="ewallet", payout_account="081200000000", payout_name=data["full_name"])
    data.update(extra)
    evidence = (
        [] if category == Category.OTHER else [(f"riwayat-{index}.png", screenshot(index, serial=serial))]
    )
    return services.submit_report(data=data, serial_numbers=serials, evidence=evidence)


def _walk(ticket, steps, users):
    """Fire transitions in order; each step is (name, actor key, params)."""
    for name, who, params in steps:
        actor = {"system": roles.SYSTEM, "applicant": roles.APPLICANT}.get(who) or users[who]
        if name == "remedy_failed":
            remedy_services.record_failure(remedy_id=ticket.current_remedy.pk, **params)
            ticket.refresh_from_db()
        elif workflow.spec(name).system_only or who == "applicant":
            ticket = services.fire(name, ticket=ticket, actor=actor, **params)
        else:
            ticket = services.perform_transition(ticket=ticket, name=name, actor=actor, params=params)
    return ticket


REVIEW = ("start_review", "agent", {})
PROPOSE_QUOTA = ("propose_remedy", "agent", {"quantity": 1, "note": "Riwayat menunjukkan status refund."})
APPROVE = ("approve", "supervisor", {})

# (category, steps, remedies paused: approved remedies wait instead of being applied at once)
SCENARIOS = [
    (Category.STAMP_FAILED, [], False),
    (Category.STAMP_FAILED, [REVIEW], False),
    (
        Category.PAID_NOT_CREDITED,
        [REVIEW, ("request_info", "agent", {"message": "Mohon kirim bukti bayar."})],
        False,
    ),
    (Category.STAMP_FAILED, [REVIEW, PROPOSE_QUOTA], False),
    (Category.PAID_NOT_CREDITED, [REVIEW, ("propose_remedy", "agent", {"amount": 30000})], False),
    (Category.STAMP_FAILED, [REVIEW, PROPOSE_QUOTA, APPROVE], True),
    (Category.STAMP_FAILED, [REVIEW, PROPOSE_QUOTA, APPROVE], False),
    (Category.STAMP_FAILED, [REVIEW, PROPOSE_QUOTA, APPROVE, ("confirm", "applicant", {})], False),
    (Category.OTHER, [REVIEW, ("reject", "agent", {"reason": "Bukan keluhan e-Meterai."})], False),
    (Category.STAMP_FAILED, [("mark_duplicate", "agent", {"original": "@0"})], False),
    (
        Category.STAMP_FAILED,
        [REVIEW, PROPOSE_QUOTA, APPROVE, ("remedy_failed", "system", {"error": "HTTP 400"})],
        True,
    ),
    (Category.OTHER, [REVIEW, ("resolve", "agent", {"note": "Akun sudah dapat digunakan kembali."})], False),
    (
        Category.STAMP_FAILED,
        [REVIEW, ("request_info", "agent", {"message": "Nomor seri?"}), ("close_unanswered", "system", {})],
        False,
    ),
]


def demo_exists():
    return Ticket.objects.filter(email__endswith=f"@{DEMO_DOMAIN}").exists()


def seed_tickets():
    """Tickets in every state of the workflow (approved ones applied through the local ledger)."""
    User = get_user_model()
    users = {username: User.objects.get(username=username) for username, *_ in ACCOUNTS}
    created = []
    for index, (category, steps, paused) in enumerate(SCENARIOS):
        with override_settings(REMEDIES_PAUSED=paused):
            ticket = _report(index, category)
            steps = [
                (name, who, {k: (created[0].reference if v == "@0" else v) for k, v in params.items()})
                for name, who, params in steps
            ]
            created.append(_walk(ticket, steps, users))
    return created


# Canned replies and macros (a reply that also takes a workflow step), in both languages. A
# `request_info` macro's text is the question inside the applicant's "we need more information" message,
# which greets them already.
CANNED_REPLIES = [
    (
        "Minta nomor seri / Ask for the serial number",
        "request_info",
        "Mohon kirimkan nomor seri e-Meterai (22 karakter) yang gagal dibubuhkan. Nomor seri terlihat di "
        "menu Riwayat pembubuhan pada platform e-Meterai.",
        "Please send the serial number of the e-Meterai (22 characters) that failed. You find it under "
        "Stamping history on the e-Meterai platform.",
    ),
    (
        "Minta tangkapan layar / Ask for a screenshot",
        "request_info",
        'Mohon kirimkan tangkapan layar Riwayat pembubuhan yang menunjukkan status "refund".',
        'Please send a screenshot of your Stamping history showing the status "refund".',
    ),
    (
        "Minta nomor pesanan / Ask for the order number",
        "request_info",
        "Mohon kirimkan nomor pesanan dan bukti pembayaran pembelian kuota e-Meterai Anda.",
        "Please send the order number and the proof of payment of your e-Meterai purchase.",
    ),
    (
        "Sedang diperiksa / Being checked",
        "start_review",
        "Halo {name}, laporan {reference} sedang kami periksa. Kami akan mengabari Anda segera.",
        "Hello {name}, we are checking report {reference}. We will get back to you soon.",
    ),
    (
        "Masuk ulang dan cek kuota / Log in again and check the quota",
        "",
        "Halo {name}, silakan keluar lalu masuk kembali ke platform e-Meterai dan periksa kuota Anda "
        "({quantity}). Konfirmasi di halaman status: {link}",
        "Hello {name}, please log out and log in again to the e-Meterai platform and check your quota "
        "({quantity}). Confirm on the status page: {link}",
    ),
    (
        "Terima kasih, kami lanjutkan / Thanks, we continue",
        "",
        "Terima kasih {name}, data Anda sudah kami terima. Laporan {reference} kami lanjutkan.",
        "Thank you {name}, we received your data. We continue with report {reference}.",
    ),
]


def ensure_canned_replies():
    """The demo's canned replies and macros; existing ones (by title) are left as staff edited them."""
    created = 0
    for title, transition, body_id, body_en in CANNED_REPLIES:
        _reply, made = CannedReply.objects.get_or_create(
            title=title, defaults={"transition": transition, "body_id": body_id, "body_en": body_en}
        )
        created += made
    return created


# --- the platform's records: what verification finds for the reports below --------------------

VERIFIED_FROM = len(SCENARIOS)  # the index of the first report verified against these records


def _account(index):
    return f"pelapor{index}@{DEMO_DOMAIN}"


def platform_exports():
    """A stamping export and an order export, as the platform would send them."""
    first = VERIFIED_FROM
    stampings = [
        "serial_number,account,status,attempted_at,document_name,quota_restored",
        # confirmed: failed, not restored, the applicant's account (the system proposes the remedy)
        f"{demo_serial(first)},{_account(first)},refund,2024-09-10T21:40:00+07:00,surat-{first}.pdf,false",
        # contradicted: the platform says the stamping succeeded
        f"{demo_serial(first + 1)},{_account(first + 1)},success,2024-09-10T21:45:00+07:00,cv.pdf,false",
        # contradicted: restored already
        f"{demo_serial(first + 2)},{_account(first + 2)},refund,2024-09-10T22:10:00+07:00,ijazah.pdf,true",
    ]
    orders = [
        "order_id,account,amount,currency,status,paid_at,quantity,quota_credited",
        # confirmed: paid, never credited
        f"ORD-2024-{first + 3:06d},{_account(first + 3)},20000,IDR,paid,2024-09-10T20:00:00+07:00,2,0",
        # contradicted: expired before any payment
        f"ORD-2024-{first + 4:06d},{_account(first + 4)},30000,IDR,expired,,3,0",
    ]
    return ["\n".join(stampings) + "\n", "\n".join(orders) + "\n"]


def seed_verified():
    """Load the platform's exports, then reports that they confirm, contradict, or leave unknown, and
    a second report of a confirmed serial number (flagged, never proposed twice)."""
    for export in platform_exports():
        import_records(io.BytesIO(export.encode()))
    first = VERIFIED_FROM
    flood = timezone.now() - timedelta(minutes=45)  # the stampings failed during the demo incident
    return [
        _report(first, Category.STAMP_FAILED, attempted_at=flood),
        _report(first + 1, Category.STAMP_FAILED, attempted_at=flood),
        _report(first + 2, Category.STAMP_FAILED, attempted_at=flood),
        _report(first + 3, Category.PAID_NOT_CREDITED),
        _report(first + 4, Category.PAID_NOT_CREDITED),
        _report(first + 5, Category.STAMP_FAILED, attempted_at=flood),  # no record: unknown
        _report(
            first + 6,
            Category.STAMP_FAILED,
            serial=demo_serial(first),
            email=_account(first),
            attempted_at=flood,
        ),
    ]


def seed_incident():
    """An open stamping incident since two hours ago: it links the verified stamping reports above."""
    if Incident.objects.exists():
        return None
    return incident_services.declare_incident(
        actor=get_user_model().objects.get(username="supervisor"),
        title="Gangguan pembubuhan CASN / CASN stamping outage",
        starts_at=timezone.now() - timedelta(hours=2),
        ends_at=None,
        failed=Failed.STAMPING,
        notice_id=(
            "Pembubuhan e-Meterai sedang terganggu karena lonjakan pengguna. Kuota yang terpakai tanpa "
            "hasil akan dikembalikan; Anda tidak perlu melapor lebih dari sekali."
        ),
        notice_en=(
            "e-Meterai stamping is disrupted by a surge of users. Quota used without a result will be "
            "restored; there is no need to report more than once."
        ),
        auto_propose=True,
    )
