"""A 200,000-row stamping export loaded with `import_platform_records`, twice, on PostgreSQL.

A database of its own (created and dropped here); the command runs as a child process, so its peak
resident memory (ru_maxrss) is its own. The second load of the same file must change nothing.

    .venv/bin/python benchmarks/bench_platform_import.py [--rows 200000]

Environment: BENCH_POSTGRES (default postgres://postgres@127.0.0.1:5432).
"""

import argparse
import datetime
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import cpu_summary, drop_database, migrate, recreate_database, write_section  # noqa: E402

SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432").rstrip("/")
DB_NAME = "emeterai_bench_platform_import"
HEADER = "serial_number,account,status,attempted_at,document_name,quota_restored\n"


def write_export(path, rows):
    with open(path, "w") as out:
        out.write(HEADER)
        for n in range(rows):
            status = "refund" if n % 3 else "success"
            out.write(
                f"SN{n:020d},pelapor{n % 50000}@example.com,{status},2024-09-10T21:40:00+07:00,doc-{n}.pdf,false\n"
            )


def load(env, path):
    """(seconds, peak RSS in MB of the command's process, its stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "manage.py", "import_platform_records", str(path)],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(peak, before) / 1024, result.stdout.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument(
        "--no-write", action="store_true", help="print the figures without updating RESULTS.md"
    )
    args = parser.parse_args()

    recreate_database(SERVER, DB_NAME)
    env = {
        **os.environ,
        "DATABASE_URL": f"{SERVER}/{DB_NAME}",
        "DEBUG": "1",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    env.pop("CELERY_BROKER_URL", None)
    migrate(env)
    try:
        with tempfile.TemporaryDirectory() as folder:
            tiny = Path(folder) / "one-row.csv"
            write_export(tiny, 1)
            _seconds, baseline, _out = load(env, tiny)  # first: ru_maxrss of children only grows
            path = Path(folder) / "stampings.csv"
            write_export(path, args.rows)
            size = path.stat().st_size / 1e6
            first, first_peak, first_out = load(env, path)
            second, second_peak, second_out = load(env, path)
        os.environ.update(env)
        import django

        django.setup()
        from verification.models import PlatformStamping

        stored = PlatformStamping.objects.count()
        from django.db import connections

        connections.close_all()
    finally:
        drop_database(SERVER, DB_NAME)

    load_avg = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    section = "\n".join(
        [
            f"## Platform export: {args.rows:,} stampings loaded twice (issue 11, `benchmarks/bench_platform_import.py`)",
            "",
            f"`.venv/bin/python benchmarks/bench_platform_import.py --rows {args.rows}` on {datetime.date.today().isoformat()}; "
            f"{cpu_summary()}, Python {platform.python_version()}; load average at the end {load_avg} (shared machine). "
            f"PostgreSQL database of its own; `manage.py import_platform_records` as a child process (its own peak RSS, "
            f"Django and its apps included); file {size:.1f} MB.",
            "",
            f"- first load: **{first:.1f} s** ({args.rows / first:,.0f} rows/s), peak RSS {first_peak:.0f} MB — `{first_out}`",
            f"- same file again: **{second:.1f} s**, peak RSS {second_peak:.0f} MB — `{second_out}`",
            f"- rows stored after both loads: {stored:,} (each once); the same command on a one-row file peaks at "
            f"{baseline:.0f} MB RSS, so the rows cost {first_peak - baseline:.0f} MB (the traced Python peak does not grow with the file: "
            "tests/verification/test_imports.py)",
        ]
    )  # fmt: skip
    print(section)
    if stored != args.rows:
        sys.exit("FAILED: rows stored differ from rows in the file")
    if not args.no_write:
        write_section("bench_platform_import", section)


if __name__ == "__main__":
    main()
