"""Run every benchmark script (benchmarks/bench_*.py) in turn; each writes its figures to RESULTS.md."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main():
    selected = sys.argv[1:]
    scripts = sorted(HERE.glob("bench_*.py"))
    failed = []
    for script in scripts:
        if selected and not any(name in script.name for name in selected):
            continue
        print(f"== {script.name}", flush=True)
        if subprocess.run([sys.executable, str(script)], cwd=HERE.parent).returncode != 0:
            failed.append(script.name)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
