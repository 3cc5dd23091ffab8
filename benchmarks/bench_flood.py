"""A flood (issue 11, part 3): an incident's 10,000 reports verified, approved, applied and told.

A PostgreSQL database of its own (created and dropped here), a Redis broker, real Celery workers on
the production queues (README, Production: remedies, deliveries, media+verification, default) as
child processes, the stamping platform double over real HTTP (QUOTA_GATEWAY=http), the Twilio double
and an SMTP double. The reports are stored as intake stores them (ticket, serial numbers, pending
verification, linked to the declared incident), in bulk; then:

1. verification: `import_platform_records` loads a stamping export (200,000 rows, the reports'
   serial numbers among them with status refund and the applicant's account); timed from the start
   of the import until the worker stored the last outcome;
2. approval: `incidents.services.start_bulk_approval` until its job is done;
3. application: until every remedy is applied; the platform double counts one adjustment per remedy
   and none twice, and `manage.py reconcile --date <today>` must exit 0;
4. notices: `incidents.services.start_notice` until every WhatsApp and email notice is sent, each
   counted once at the doubles, paced by INCIDENT_NOTICE_BATCH / INCIDENT_NOTICE_PAUSE_SECONDS.

    .venv/bin/python benchmarks/bench_flood.py [--count 10000] [--rows 200000]

Environment: BENCH_POSTGRES (default postgres://postgres@127.0.0.1:5432), BENCH_REDIS_URL
(default redis://127.0.0.1:6379/6).
"""

import argparse
import datetime
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import (  # noqa: E402
    cpu_summary,
    drop_database,
    migrate,
    recreate_database,
    start_celery_worker,
    write_section,
)

SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432").rstrip("/")
DB_NAME = "emeterai_bench_flood"
BROKER = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")
HEADER = "serial_number,account,status,attempted_at,document_name,quota_restored\n"
SERIALS_PER_REPORT = 2
# Twilio's default WhatsApp sender throughput is 80 messages per second; a notice batch of 80
# tickets with a 1-second pause stays under it (each ticket also gets one email, far below an
# SMTP relay's usual limits).
NOTICE_BATCH = 80
NOTICE_PAUSE_SECONDS = 1
STALL_SECONDS = 180  # longer than the task time limit: no approval for that long, the job's task died


def serial(index, k):
    return f"FL{index:010d}{k:010d}"


def email(index):
    return f"pelapor{index}@example.com"


def write_export(path, count, rows):
    """The platform's stamping export: the reports' serial numbers spread through `rows` rows."""
    claimed = [(serial(i, k), email(i)) for i in range(count) for k in range(SERIALS_PER_REPORT)]
    step = max(rows // max(len(claimed), 1), 1)
    taken = 0
    with open(path, "w") as out:
        out.write(HEADER)
        for n in range(rows):
            if n % step == 0 and taken < len(claimed):
                number, account = claimed[taken]
                taken += 1
                out.write(f"{number},{account},refund,2024-09-10T21:40:00+07:00,surat-{n}.pdf,false\n")
                continue
            status = "success" if n % 3 else "refund"
            out.write(
                f"FX{n:020d},lain{n % 50000}@example.com,{status},2024-09-10T21:40:00+07:00,doc-{n}.pdf,false\n"
            )
    assert taken == len(claimed), "more serial numbers than rows"


def process_cpu(pid):
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def workers_cpu(workers):
    """CPU seconds of the workers' process trees (the prefork children do the work)."""
    total = 0.0
    for worker in workers:
        pids = [worker.pid]
        children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children")
        if children.exists():
            pids += [int(pid) for pid in children.read_text().split()]
        total += sum(process_cpu(pid) for pid in pids)
    return total


def wait_until(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"FAILED: timed out waiting for {what}")
        time.sleep(0.2)


def create_reports(count, supervisor):
    """Reports as intake stores them (in bulk): ticket, serial numbers, pending verification."""
    from django.utils import timezone

    from tickets.models import Category, SerialNumber, Ticket
    from verification.models import Outcome, Verification
    from verification.services import SWEEP_GRACE

    now = timezone.now()
    tickets = Ticket.objects.bulk_create(
        (
            Ticket(
                category=Category.STAMP_FAILED,
                channel="web",
                language="en" if index % 4 == 0 else "id",
                full_name=f"Pelapor {index}",
                nik=f"3171010101{index:06d}",
                email=email(index),
                whatsapp=f"+62812{index:08d}",
                preferred_channel="whatsapp",
                consent_at=now,
                quota_lost=SERIALS_PER_REPORT,
                document_name=f"surat-{index}.pdf",
                attempted_at=now - datetime.timedelta(hours=1),
                created_at=now,
            )
            for index in range(count)
        ),
        batch_size=2000,
    )
    SerialNumber.objects.bulk_create(
        (
            SerialNumber(ticket=ticket, value=serial(index, k))
            for index, ticket in enumerate(tickets)
            for k in range(SERIALS_PER_REPORT)
        ),
        batch_size=5000,
    )
    Verification.objects.bulk_create(
        (
            Verification(ticket=ticket, outcome=Outcome.PENDING, next_attempt_at=now + SWEEP_GRACE)
            for ticket in tickets
        ),
        batch_size=5000,
    )
    return [ticket.pk for ticket in tickets]


def main():  # noqa: PLR0915 - one linear script
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="linked reports")
    parser.add_argument("--rows", type=int, default=200_000, help="rows of the stamping export")
    parser.add_argument("--remedies", type=int, default=1, help="processes of the remedies worker")
    parser.add_argument("--deliveries", type=int, default=4, help="processes of the deliveries worker")
    parser.add_argument(
        "--verification", type=int, default=2, help="processes of the media,verification worker"
    )
    parser.add_argument("--default", type=int, default=1, help="processes of the default worker")
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed for each phase")
    parser.add_argument(
        "--no-write", action="store_true", help="print the figures without updating RESULTS.md"
    )
    args = parser.parse_args()

    from tests.doubles.providers import PlatformDouble
    from tests.doubles.smtp import SMTPDouble
    from tests.doubles.twilio import WHATSAPP_FROM, TwilioDouble

    double, twilio, smtp = PlatformDouble().start(), TwilioDouble().start(), SMTPDouble().start()
    recreate_database(SERVER, DB_NAME)
    env = {
        **os.environ,
        "DATABASE_URL": f"{SERVER}/{DB_NAME}",
        "CELERY_BROKER_URL": BROKER,
        "DEBUG": "1",
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_REPORTS": "off",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "QUOTA_GATEWAY": "http",
        "QUOTA_PLATFORM_URL": double.url,
        "QUOTA_PLATFORM_TOKEN": double.token,
        "TWILIO_ACCOUNT_SID": twilio.account_sid,
        "TWILIO_AUTH_TOKEN": twilio.auth_token,
        "TWILIO_WHATSAPP_FROM": WHATSAPP_FROM,
        "TWILIO_API_URL": twilio.url,
        "EMAIL_URL": f"smtp://{smtp.host}:{smtp.port}",
        "INCIDENT_NOTICE_BATCH": str(NOTICE_BATCH),
        "INCIDENT_NOTICE_PAUSE_SECONDS": str(NOTICE_PAUSE_SECONDS),
    }
    migrate(env)
    os.environ.update(env)

    import django

    django.setup()
    from celery import current_app
    from django.contrib.auth.models import Group
    from django.db import connections
    from django.utils import timezone

    from incidents import services as incidents
    from incidents.models import BulkApproval, Failed, IncidentNotice, JobState, NoticeRun
    from notifications.delivery import DELIVERABLE
    from notifications.models import Message, MessageChannel, MessageStatus
    from refunds.models import LedgerEntry, Remedy, RemedyState
    from tests.factories import UserFactory
    from tickets.groups import ensure_groups
    from tickets.models import State, Ticket
    from verification.models import Outcome, Verification

    current_app.control.purge()
    ensure_groups()
    supervisor = UserFactory(username="bench-supervisor", is_staff=True)
    supervisor.groups.add(Group.objects.get(name="Supervisors"))

    started = time.perf_counter()
    ids = create_reports(args.count, supervisor)
    created_after = time.perf_counter() - started
    started = time.perf_counter()
    incident = incidents.declare_incident(
        actor=supervisor,
        title="Gangguan pembubuhan meterai",
        starts_at=timezone.now() - datetime.timedelta(hours=3),
        ends_at=None,
        failed=Failed.STAMPING,
        notice_id="Kami tahu tentang gangguan ini. Kuota Anda akan dikembalikan otomatis.",
        notice_en="We know about this outage. Your quota will be restored automatically.",
        auto_propose=True,
    )
    linked = incident.links.count()
    declared_after = time.perf_counter() - started
    assert linked == args.count, f"{linked} reports linked, expected {args.count}"

    layout = [
        ("remedies", args.remedies),
        ("deliveries", args.deliveries),
        ("media,verification", args.verification),
        ("default", args.default),
    ]
    # The bulk approval (on `default`) hands each chunk's approved remedies to the remedies worker as
    # the chunk commits (refunds.services.schedule_applications, the twin of the approval's hook).
    workers = [start_celery_worker(env, concurrency, queues) for queues, concurrency in layout]
    figures, checks, ok = {}, {}, True
    try:
        wait_until(lambda: len(current_app.control.ping(timeout=0.5)) >= len(workers), 120, "the workers")

        # 1. verification, from the import of the export
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "stampings.csv"
            write_export(path, args.count, args.rows)
            cpu0 = workers_cpu(workers)
            started = time.perf_counter()
            result = subprocess.run(
                [sys.executable, "manage.py", "import_platform_records", str(path)],
                cwd=ROOT, env=env, capture_output=True, text=True, check=True,
            )  # fmt: skip
            figures["import"] = time.perf_counter() - started
        pending = Verification.objects.filter(ticket_id__in=ids, outcome=Outcome.PENDING)
        wait_until(lambda: not pending.exists(), args.timeout, "the verifications")
        figures["verify"] = time.perf_counter() - started
        figures["verify_cpu"] = workers_cpu(workers) - cpu0
        checks["import"] = result.stdout.strip()
        outcomes = Counter(Verification.objects.filter(ticket_id__in=ids).values_list("outcome", flat=True))
        checks["outcomes"] = dict(outcomes)
        proposals = Remedy.objects.filter(ticket_id__in=ids, state=RemedyState.PROPOSED, proposed_by=None)
        checks["proposed"] = proposals.count()

        # 2. approval of the confirmed proposals
        cpu0 = workers_cpu(workers)
        started = time.perf_counter()
        job = incidents.start_bulk_approval(incident=incident, actor=supervisor)
        done = BulkApproval.objects.filter(pk=job.pk, state=JobState.DONE)
        progress = {"approved": -1, "at": time.monotonic()}

        def approval_done():
            """Done; or the job's task stopped (killed by the task time limit: nothing resumes it)."""
            count = Remedy.objects.filter(ticket_id__in=ids, approved_at__isnull=False).count()
            if count != progress["approved"]:
                progress.update(approved=count, at=time.monotonic())
            elif time.monotonic() - progress["at"] > STALL_SECONDS:
                raise SystemExit(f"FAILED: the bulk approval job stopped at {count} of {len(ids)} approved")
            return done.exists()

        wait_until(approval_done, args.timeout, "the bulk approval")
        figures["approve"] = time.perf_counter() - started
        job.refresh_from_db()
        checks["approved"], checks["approval_failures"] = job.approved, len(job.failures)

        # 3. application of the approved remedies, handed over by the approval chunk by chunk
        applied = Remedy.objects.filter(ticket_id__in=ids, state=RemedyState.APPLIED)
        wait_until(lambda: applied.count() >= job.approved, args.timeout, "the applications")
        figures["apply"] = time.perf_counter() - started
        figures["apply_after_approval"] = figures["apply"] - figures["approve"]
        figures["approve_apply_cpu"] = workers_cpu(workers) - cpu0
        checks["applied"] = applied.count()
        checks["ledger"] = LedgerEntry.objects.filter(ticket_id__in=ids).count()
        checks["resolved"] = Ticket.objects.filter(pk__in=ids, state=State.RESOLVED).count()
        checks["platform"] = len(double.applied)
        checks["platform_twice"] = sum(1 for n in double.applications.values() if n > 1)
        reconciled = subprocess.run(
            [sys.executable, "manage.py", "reconcile", "--date", timezone.localdate().isoformat()],
            cwd=ROOT, env=env, capture_output=True, text=True,
        )  # fmt: skip
        checks["reconcile"] = reconciled.returncode
        checks["reconcile_out"] = (reconciled.stdout + reconciled.stderr).strip().splitlines()[-1:]

        # the approval and resolution messages drain before the notice, so that its figure is its own
        outbox = Message.objects.filter(DELIVERABLE)
        started = time.perf_counter()
        wait_until(lambda: not outbox.exists(), args.timeout, "the outbox")
        figures["drain"] = time.perf_counter() - started
        checks["resolution_messages"] = Message.objects.filter(
            ticket_id__in=ids, event__in=["approved", "remedy_applied"]
        ).count()

        # 4. the incident's notice to every applicant
        cpu0 = workers_cpu(workers)
        started = time.perf_counter()
        run = incidents.start_notice(incident=incident, actor=supervisor)
        notices = Message.objects.filter(ticket_id__in=ids, event="incident_notice")
        wait_until(
            lambda: (
                NoticeRun.objects.filter(pk=run.pk, state=JobState.DONE).exists()
                and not notices.filter(status=MessageStatus.QUEUED).exists()
            ),
            args.timeout,
            "the notices",
        )
        figures["notice"] = time.perf_counter() - started
        figures["notice_cpu"] = workers_cpu(workers) - cpu0
        checks["notice_markers"] = IncidentNotice.objects.filter(incident=incident).count()
        checks["notice_sent"] = notices.filter(status=MessageStatus.SENT).count()
        whatsapp_ids = {
            str(pk) for pk in notices.filter(channel=MessageChannel.WHATSAPP).values_list("pk", flat=True)
        }
        at_twilio = Counter(
            m["form"]["StatusCallback"].rsplit("message=", 1)[1]
            for m in twilio.messages
            if m["form"].get("StatusCallback", "").rsplit("message=", 1)[-1] in whatsapp_ids
        )
        mail_ids = set(notices.filter(channel=MessageChannel.EMAIL).values_list("provider_id", flat=True))
        at_smtp = Counter(
            received.message["Message-ID"]
            for received in smtp.messages
            if received.message["Message-ID"] in mail_ids
        )
        checks["notice_whatsapp"], checks["notice_email"] = len(at_twilio), len(at_smtp)
        checks["notice_twice"] = sum(1 for n in (*at_twilio.values(), *at_smtp.values()) if n > 1)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(30)
        double.stop()
        twilio.stop()
        smtp.stop()
        connections.close_all()
        drop_database(SERVER, DB_NAME)

    n = args.count
    ok = (
        checks["outcomes"].get(Outcome.CONFIRMED, 0) == n
        and checks["approved"] == n
        and checks["applied"] == checks["ledger"] == checks["resolved"] == checks["platform"] == n
        and checks["platform_twice"] == 0
        and checks["reconcile"] == 0
        and checks["notice_whatsapp"] == checks["notice_email"] == checks["notice_markers"] == n
        and checks["notice_twice"] == 0
    )
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    lines = [
        f"- setup: {n:,} reports ({n * SERIALS_PER_REPORT:,} serial numbers) stored in bulk in {created_after:.1f} s; "
        f"the incident declared and {linked:,} reports linked in {declared_after:.1f} s",
        f"- verification: import of {args.rows:,} rows {figures['import']:.1f} s; from the import's start to the last "
        f"outcome stored **{figures['verify']:.1f} s** (target 60 s); workers' CPU "
        f"{figures['verify_cpu'] * 1000 / n:.1f} ms per report; outcomes {checks['outcomes']}; "
        f"{checks['proposed']:,} system proposals",
        f"- approval (`start_bulk_approval` until the job is done): **{figures['approve']:.1f} s** (target 30 s), "
        f"{checks['approved']:,} approved, {checks['approval_failures']} failures",
        f"- application (each approval chunk hands its remedies over as it commits): every remedy applied "
        f"**{figures['apply_after_approval']:.1f} s** after the approval finished (target 120 s), "
        f"{figures['apply']:.1f} s after it started; workers' CPU for approval and "
        f"application {figures['approve_apply_cpu'] * 1000 / n:.1f} ms per remedy (notifications' publishing included)",
        f"- checks: {checks['applied']:,} applied, {checks['ledger']:,} ledger entries, {checks['resolved']:,} "
        f"tickets resolved, {checks['platform']:,} adjustments at the platform double, {checks['platform_twice']} "
        f"applied twice; `reconcile --date today` exit status {checks['reconcile']} ({' '.join(checks['reconcile_out'])})",
        f"- the approval and resolution messages ({checks['resolution_messages']:,}) finished delivering "
        f"{figures['drain']:.1f} s after the last remedy was applied",
        f"- notice (`start_notice`, INCIDENT_NOTICE_BATCH={NOTICE_BATCH}, INCIDENT_NOTICE_PAUSE_SECONDS="
        f"{NOTICE_PAUSE_SECONDS}): {checks['notice_whatsapp']:,} WhatsApp and {checks['notice_email']:,} emails "
        f"delivered to the doubles in **{figures['notice']:.1f} s** ({2 * n / figures['notice']:.0f} messages/s), "
        f"{checks['notice_twice']} twice; workers' CPU {figures['notice_cpu'] * 1000 / n:.1f} ms per ticket",
    ]
    section = "\n".join(
        [
            f"## A flood: {n:,} linked reports verified, approved, applied and told (issue 11, `benchmarks/bench_flood.py`)",
            "",
            f"`.venv/bin/python benchmarks/bench_flood.py --count {n} --rows {args.rows} --remedies {args.remedies} "
            f"--deliveries {args.deliveries} --verification {args.verification} --default {args.default}` on "
            f"{datetime.date.today().isoformat()}; {cpu_summary()}, Python {platform.python_version()}; load average "
            f"at the end {load} (the machine is shared with other engineers' runs).",
            "PostgreSQL database of its own, Redis broker, four Celery workers as in README, Production "
            "(`-Q remedies`, `deliveries`, `media,verification`, `default`, prefork, the processes above), the "
            "platform double (QUOTA_GATEWAY=http: records looked up and adjustments posted over loopback HTTP), "
            "the Twilio double and an SMTP double, all in the benchmark's own process. The notice pacing is "
            f"{NOTICE_BATCH} tickets per batch and a {NOTICE_PAUSE_SECONDS} s pause: Twilio's default WhatsApp "
            "throughput is 80 messages per second per sender.",
            "",
            *lines,
        ]
    )  # fmt: skip
    print(section)
    if not ok:
        sys.exit(f"FAILED: {checks}")
    if not args.no_write:
        write_section("bench_flood", section)


if __name__ == "__main__":
    main()
