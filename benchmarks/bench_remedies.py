"""1,000 remedies bulk-approved through the API and applied by a real Celery worker.

A PostgreSQL database of its own (created and dropped here), a Redis broker, a `celery worker`
subprocess, and the stamping platform double over real HTTP (QUOTA_GATEWAY=http), or the local
ledger with `--gateway ledger`. Measures the bulk approval request and the time until every remedy
is applied, then checks that each was applied exactly once with one ledger entry.

    .venv/bin/python benchmarks/bench_remedies.py [--count 1000] [--concurrency 4] [--gateway http|ledger]

Environment: BENCH_POSTGRES (default postgres://postgres@127.0.0.1:5432), BENCH_REDIS_URL
(default redis://127.0.0.1:6379/4).
"""

import argparse
import datetime
import os
import platform
import sys
import time
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
DB_NAME = "emeterai_bench_remedies"
BROKER = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/4")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--gateway", choices=["http", "ledger"], default="http")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument(
        "--no-write", action="store_true", help="print the figures without updating RESULTS.md"
    )
    args = parser.parse_args()

    recreate_database(SERVER, DB_NAME)
    env = {
        **os.environ,
        "DATABASE_URL": f"{SERVER}/{DB_NAME}",
        "CELERY_BROKER_URL": BROKER,
        "DEBUG": "1",
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_REPORTS": "off",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    migrate(env)

    double = None
    if args.gateway == "http":
        from tests.doubles.providers import PlatformDouble

        double = PlatformDouble().start()
        env.update(QUOTA_GATEWAY="http", QUOTA_PLATFORM_URL=double.url, QUOTA_PLATFORM_TOKEN=double.token)
    os.environ.update(env)

    import django

    django.setup()
    from celery import current_app
    from django.contrib.auth.models import Group
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from refunds.models import LedgerEntry, Remedy, RemedyKind, RemedyState
    from tests.factories import UserFactory
    from tickets.groups import ensure_groups
    from tickets.models import State, Ticket

    current_app.control.purge()
    ensure_groups()
    agent = UserFactory(username="bench-agent", is_staff=True)
    agent.groups.add(Group.objects.get(name="Agents"))
    supervisor = UserFactory(username="bench-supervisor", is_staff=True)
    supervisor.groups.add(Group.objects.get(name="Supervisors"))
    tickets = Ticket.objects.bulk_create(
        Ticket(
            state=State.AWAITING_APPROVAL,
            category="stamp_failed",
            full_name=f"Pelapor {index}",
            nik=f"3171010101{index:06d}",
            email=f"pelapor{index}@example.com",
            whatsapp=f"+62812{index:08d}",
            quota_lost=2,
        )
        for index in range(args.count)
    )
    remedies = Remedy.objects.bulk_create(
        Remedy(ticket=ticket, kind=RemedyKind.QUOTA, quantity=2, account=ticket.email, proposed_by=agent)
        for ticket in tickets
    )
    ids = [remedy.pk for remedy in remedies]

    worker = start_celery_worker(env, args.concurrency)
    try:
        client = APIClient(SERVER_NAME="127.0.0.1")
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=supervisor).key}")
        started = time.perf_counter()
        response = client.post("/api/v1/remedies/approve/", {"ids": ids}, format="json")
        approved_after = time.perf_counter() - started
        assert response.status_code == 200, response.content[:500]
        results = response.json()["results"]
        assert all(item["ok"] for item in results), [item for item in results if not item["ok"]][:3]

        deadline = time.monotonic() + args.timeout
        applied = 0
        while time.monotonic() < deadline:
            applied = Remedy.objects.filter(pk__in=ids, state=RemedyState.APPLIED).count()
            if applied == len(ids):
                break
            time.sleep(0.2)
        applied_after = time.perf_counter() - started
    finally:
        worker.terminate()
        worker.wait(30)

    ledger = LedgerEntry.objects.filter(remedy_id__in=ids).count()
    resolved = Ticket.objects.filter(pk__in=[t.pk for t in tickets], state=State.RESOLVED).count()
    once = double is None or (len(double.applied) == len(ids) and set(double.applications.values()) == {1})
    if double is not None:
        double.stop()
    from django.db import connections

    connections.close_all()
    drop_database(SERVER, DB_NAME)

    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    ok = applied == ledger == resolved == len(ids) and once
    figures = [
        f"- bulk approval request ({len(ids)} ids, set-based in one transaction, 200): **{approved_after:.1f} s** "
        f"({len(ids) / approved_after:.0f} approvals/s)",
        f"- from the request until all {len(ids)} applied by the worker: **{applied_after:.1f} s** "
        f"({len(ids) / applied_after:.0f} remedies/s end to end)",
        f"- checks: {applied} applied, {ledger} ledger entries, {resolved} tickets resolved"
        + (f", {len(double.applied)} platform applications, none twice" if double is not None else ""),
    ]
    section = "\n".join(
        [
            f"## Remedies: {len(ids)} bulk-approved and applied by a real worker "
            "(issue 4, `benchmarks/bench_remedies.py`)",
            "",
            f"`.venv/bin/python benchmarks/bench_remedies.py --count {args.count} --concurrency {args.concurrency} "
            f"--gateway {args.gateway}` on {datetime.date.today().isoformat()}; {cpu_summary()}, Python {platform.python_version()}, {platform.system()} {platform.release()}; "
            f"load average at the end {load} (the machine is shared with other test runs).",
            f"PostgreSQL database of its own, Redis broker, `celery worker -P prefork -c {args.concurrency}` "
            + ("applying through the HTTP gateway to the platform double (real HTTP on loopback); "
               if double is not None else "applying to the local ledger; ")
            + "the same worker also delivers the approval and resolution notifications (console channels).",
            "",
            *figures,
        ]
    )  # fmt: skip
    print(section)
    if not ok:
        sys.exit("FAILED: not every remedy was applied exactly once")
    if not args.no_write:
        write_section("bench_remedies", section)


if __name__ == "__main__":
    main()
