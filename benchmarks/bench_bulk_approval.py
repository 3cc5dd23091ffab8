"""An incident's 10,000 confirmed system proposals approved by the bulk approval job on a real worker.

A PostgreSQL database of its own (created and dropped here), a Redis broker and a `celery worker`
subprocess on the `default` queue only (where the job runs): the remedies and deliveries the job
hands over are published to their queues and left there, so that the figure is the approval's alone.
The proposals are written directly (bulk INSERTs, as verification would have left them: tickets
awaiting approval, confirmed by the platform, linked to the incident, remedies proposed by the
system). Measures from the supervisor's start (`start_bulk_approval`) to the job marked done, then
checks that each remedy was approved once, with one log row, one notification per channel and one
hand-over to the remedies queue.

    .venv/bin/python benchmarks/bench_bulk_approval.py [--count 10000] [--no-write]

Environment: BENCH_POSTGRES (default postgres://postgres@127.0.0.1:5432), BENCH_REDIS_URL
(default redis://127.0.0.1:6379/12).
"""

import argparse
import base64
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import cpu_summary, drop_database, migrate, recreate_database, write_section  # noqa: E402

SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432").rstrip("/")
DB_NAME = "emeterai_bench_bulk_approval"
BROKER = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
TARGET_SECONDS = 30  # issue 11: 10,000 approvals from the incident page


def start_default_worker(env):
    """The worker that runs incident jobs (queue `default`), one process, as production's default worker."""
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker", "-l", "WARNING", "-Q", "default",
        "-c", "1", "-P", "prefork", "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def create_proposals(count):
    """`count` platform-confirmed reports linked to a new incident, each with the system's proposal."""
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from incidents.models import Failed, Incident, IncidentTicket
    from refunds.models import Remedy, RemedyKind
    from tests.factories import UserFactory
    from tickets.groups import ensure_groups
    from tickets.models import State, Ticket
    from verification.models import Outcome, Verification

    ensure_groups()
    supervisor = UserFactory(username="bench-supervisor", is_staff=True)
    supervisor.groups.add(Group.objects.get(name="Supervisors"))
    now = timezone.now()
    incident = Incident.objects.create(
        title="Bench outage",
        starts_at=now - datetime.timedelta(hours=3),
        failed=Failed.STAMPING,
        notice_id="Gangguan.",
        notice_en="Outage.",
        declared_by=supervisor,
    )
    tickets = Ticket.objects.bulk_create(
        (
            Ticket(
                state=State.AWAITING_APPROVAL,
                category="stamp_failed",
                full_name=f"Pelapor {index}",
                nik=f"3171010101{index:06d}",
                email=f"pelapor{index}@example.com",
                whatsapp=f"+62812{index:08d}",
                quota_lost=2,
                attempted_at=now - datetime.timedelta(hours=1),
            )
            for index in range(count)
        ),
        batch_size=2000,
    )
    Verification.objects.bulk_create(
        (
            Verification(ticket=ticket, outcome=Outcome.CONFIRMED, checked_at=now, proposed_at=now)
            for ticket in tickets
        ),
        batch_size=2000,
    )
    IncidentTicket.objects.bulk_create(
        (IncidentTicket(incident=incident, ticket=ticket) for ticket in tickets), batch_size=2000
    )
    Remedy.objects.bulk_create(
        (
            Remedy(ticket=ticket, kind=RemedyKind.QUOTA, quantity=2, account=ticket.email)
            for ticket in tickets
        ),
        batch_size=2000,
    )
    return incident, supervisor


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument(
        "--paused",
        action="store_true",
        help="REMEDIES_PAUSED for the worker: no hand-over to the remedies queue (what the approval costs alone)",
    )
    parser.add_argument(
        "--no-write", action="store_true", help="print the figures without updating RESULTS.md"
    )
    args = parser.parse_args()

    recreate_database(SERVER, DB_NAME)
    env = {
        **os.environ,
        "DATABASE_URL": f"{SERVER}/{DB_NAME}",
        "CELERY_BROKER_URL": BROKER,
        "DEBUG": "",  # as production runs: no query log (a bulk INSERT's SQL is long)
        "SECRET_KEY": "bench-only-" + "x" * 50,
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "REMEDIES_PAUSED": "1" if args.paused else "",
    }
    migrate(env)
    os.environ.update(env)

    import django

    django.setup()
    import redis
    from django.conf import settings
    from django.db import connections

    from incidents import services
    from incidents.models import JobState
    from notifications.models import Message
    from refunds.models import Remedy, RemedyState
    from tickets.models import State, Ticket, TicketTransition

    broker = redis.Redis.from_url(BROKER)
    broker.flushdb()
    setup_started = time.perf_counter()
    incident, supervisor = create_proposals(args.count)
    setup = time.perf_counter() - setup_started

    worker = start_default_worker(env)
    try:
        time.sleep(3)  # the worker connects to the broker before the clock starts
        started = time.perf_counter()
        job = services.start_bulk_approval(incident=incident, actor=supervisor)  # autocommit: published now
        deadline = time.monotonic() + args.timeout
        progress = []
        while time.monotonic() < deadline:
            job.refresh_from_db()
            progress.append(job.approved)
            if job.state == JobState.DONE:
                break
            time.sleep(0.1)
        elapsed = time.perf_counter() - started
    finally:
        worker.terminate()
        worker.wait(30)

    ids = job.remedy_ids
    approved = Remedy.objects.filter(pk__in=ids, state=RemedyState.APPROVED, approved_by=supervisor).count()
    logs = TicketTransition.objects.filter(name="approve").count()
    logged_once = logs == TicketTransition.objects.filter(name="approve").values("ticket").distinct().count()
    messages = Message.objects.filter(event="approved").count()
    tickets = Ticket.objects.filter(state=State.APPROVED).count()
    # apply_remedies tasks (REMEDY_APPLY_BATCH ids each) published after each chunk's commit
    handed = Counter(
        remedy_id
        for raw in broker.lrange("remedies", 0, -1)
        for remedy_id in json.loads(base64.b64decode(json.loads(raw)["body"]))[0][0]
    )
    handed_over = len(handed) if set(handed.values()) <= {1} and set(handed) <= set(ids) else -1
    moves = len(set(progress))
    run = job.finished_at - job.started_at if job.finished_at else None
    connections.close_all()
    drop_database(SERVER, DB_NAME)
    broker.flushdb()

    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    count = len(ids)
    ok = (
        job.state == JobState.DONE
        and not job.failures
        and approved == logs == tickets == count
        and handed_over == (0 if args.paused else count)
        and logged_once
        and messages == 2 * count
    )
    figures = [
        f"- start to done ({count} proposals, {settings.INCIDENT_APPROVAL_CHUNK} per transaction"
        + (", remedies paused: no hand-over" if args.paused else "")
        + f"): **{elapsed:.1f} s** "
        f"({1000 * elapsed / count:.2f} ms per approval; target {TARGET_SECONDS} s for 10,000)"
        + (f"; the worker's run {run.total_seconds():.1f} s" if run else ""),
        f"- progress seen moving {moves} times while polling every 0.1 s",
        f"- checks: {approved} approved by the supervisor, {tickets} tickets approved, {logs} log rows "
        f"(one per ticket: {logged_once}), {messages} outbox messages (WhatsApp + email), "
        f"{handed_over} remedies handed to the `remedies` queue, each once, failures {len(job.failures)}",
        f"- setup (bulk INSERTs, not measured): {setup:.1f} s",
    ]
    section = "\n".join(
        [
            f"## Bulk approval: an incident's {count} confirmed proposals (issue 11, `benchmarks/bench_bulk_approval.py`)",
            "",
            f"`.venv/bin/python benchmarks/bench_bulk_approval.py --count {args.count}"
            + (" --paused" if args.paused else "")
            + f"` on "
            f"{datetime.date.today().isoformat()}; {cpu_summary()}, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}; load average at the end {load} (the machine is shared).",
            "PostgreSQL database of its own, Redis broker, one `celery worker -Q default -c 1` running the job; "
            "the remedies and deliveries it hands over stay queued (not applied, not sent).",
            "",
            *figures,
        ]
    )
    print(section)
    if not ok:
        sys.exit("FAILED: not every proposal was approved exactly once")
    if not args.no_write:
        write_section("bench_bulk_approval", section)


if __name__ == "__main__":
    main()
