"""Per-report CPU in the web process, without a screenshot: cProfile over N reports through the test client.

Runs on a fresh SQLite database in a temporary folder with the test settings (tasks eager is turned
off: the deliveries are queued to an in-memory broker, or to Redis with --broker, as a web process
hands them over), so the
figures are the web process's own work: middleware, DRF, validation, the ORM. Prints the CPU per
report and the functions with the most cumulative time.

    .venv/bin/python benchmarks/profile_report.py [--count 300] [--top 25] [--relay]

--relay: OUTBOX_RELAY on, so the request only commits its outbox rows (no broker publish).
--screenshot: the report of bench_surge's screenshot scenario instead (multipart, category
stamp_failed with a serial number, one 1080x2400 PNG stored pending).
--media N: instead, the media worker's `process_image` on benchmarks' 1080x2400 screenshot, N times
with Pillow and N times with libvips (when pyvips is installed): median CPU per screenshot.
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--relay", action="store_true", help="OUTBOX_RELAY on: no publish in the request")
    parser.add_argument(
        "--broker",
        default="memory://",
        help="where the deliveries are published, e.g. redis://127.0.0.1:6379/14",
    )
    parser.add_argument("--screenshot", action="store_true", help="the multipart report with a 1080x2400 PNG")
    parser.add_argument("--media", type=int, default=0, help="time process_image N times per image library")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="emeterai-profile-")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings_test",
        DATABASE_URL=f"sqlite:///{folder}/db.sqlite3",
        TEST_MEDIA_ROOT=f"{folder}/media",
        RATE_LIMIT_REPORTS="off",
        LOG_LEVEL="WARNING",
        CELERY_BROKER_URL=args.broker,  # tasks queued, not run: the web process's share only
        OUTBOX_RELAY="on" if args.relay else "off",
    )
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    if args.media:
        return media(args.media, settings)
    call_command("migrate", verbosity=0)
    settings.ALLOWED_HOSTS = ["*"]
    client = Client()
    body = {
        "category": "other",
        "full_name": "Pelapor",
        "nik": "3171014501900001",
        "email": "pelapor@example.com",
        "whatsapp": "081234567890",
        "consent": True,
        "description": "Kuota berkurang tapi dokumen gagal.",
    }

    if args.screenshot:
        from benchmarks.bench_intake import scenario_bodies

        bodies, _png = scenario_bodies("screenshot", count=2 * args.count + 20)

    def post(n):
        if args.screenshot:
            content, content_type = bodies[n]
        else:
            data = {**body, "email": f"pelapor{n}@example.com", "whatsapp": f"0812{n:08d}"}
            content, content_type = json.dumps(data), "application/json"
        response = client.post("/api/v1/reports/", content, content_type=content_type)
        assert response.status_code == 201, response.content

    for n in range(20):  # warm-up: imports, translations, first queries
        post(n)
    profiler = cProfile.Profile()
    started = time.process_time()
    profiler.enable()
    for n in range(20, 20 + args.count):
        post(n)
    profiler.disable()
    cpu = time.process_time() - started
    print(f"{args.count} reports, {cpu * 1000 / args.count:.2f} ms CPU per report (under cProfile)")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.top)
    print(out.getvalue())
    started = time.process_time()
    for n in range(20 + args.count, 20 + 2 * args.count):
        post(n)
    print(
        f"without the profiler: {(time.process_time() - started) * 1000 / args.count:.2f} ms CPU per report"
    )


def media(count, settings):
    """Median CPU of the media worker's processing of one phone screenshot, per image library."""
    import statistics

    from benchmarks.bench_intake import screenshot_png
    from tickets import evidence_vips
    from tickets.evidence import process_image

    data = screenshot_png()
    libraries = [("Pillow", False)] + ([("libvips", True)] if evidence_vips.pyvips else [])
    for name, libvips in libraries:
        settings.EVIDENCE_LIBVIPS = libvips
        result = process_image(data)
        runs = []
        for _ in range(count):
            started = time.process_time()
            process_image(data)
            runs.append(time.process_time() - started)
        cpu = statistics.median(runs) * 1000
        print(
            f"{name}: {len(data) // 1024} KB PNG 1080x2400 -> {len(result.content) // 1024} KB, "
            f"{cpu:.1f} ms CPU median of {count} = {1000 / cpu:.1f} per second per core"
        )


if __name__ == "__main__":
    main()
