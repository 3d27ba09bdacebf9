"""``make bench``: run every benchmark in this folder; each prints ``BENCH <name> <value> <unit>``.

    python bench/run.py [name ...]

Figures are recorded in docs/benchmarks.md with the date and the machine.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

HERE = Path(__file__).parent
BENCHMARKS = ["bench_engine", "bench_expression", "bench_api", "bench_canvas", "bench_hardening", "bench_text",
              "bench_content", "bench_merge", "bench_json", "bench_http", "bench_records", "bench_databases",
              "bench_messaging", "bench_records_query", "lb_transfer", "cluster_edit_latency", "cluster2_chain5",
              "bench_stateless", "bench_files", "bench_sync_health"]


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(HERE))
    wanted = set(argv)
    for module_name in BENCHMARKS:
        module = importlib.import_module(module_name)
        for name, fn in module.BENCHMARKS.items():
            if wanted and name not in wanted:
                continue
            fn()
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
