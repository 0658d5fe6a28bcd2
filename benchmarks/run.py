"""`make bench`: run every benchmark and print its table (benchmarks assert nothing)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARKS = ["lab_overhead.py", "deploy.py", "rolling_patch.py", "scale.py", "scale_set.py"]


def main(argv: list[str]) -> int:
    wanted = argv or BENCHMARKS
    failed = 0
    for name in wanted:
        print(f"== {name}", flush=True)
        failed |= subprocess.run([sys.executable, str(Path(__file__).parent / name)]).returncode
        print()
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
