"""``make bench-peers``: flowyard's chain5 beside Node-RED's, in one sitting.

Runs, alternately and ``--rounds`` times each (3 by default): flowyard's
``chain5_small`` (standard engine, every hop committed with full provenance,
durability ``os``), ``chain5_stateless`` (the same five processors in a
stateless process group) and ``../shared/bench/peers/nodered-chain5.sh`` in
its steady-state mode (``BENCH_MODE=window``: at most 1,000 messages in
flight; the script installs Node-RED 4.1 from npm on first use). Each run is a
fresh process. Prints every run, then the medians and

    BENCH chain5_vs_nodered <flowyard standard median / Node-RED median> x
    BENCH chain5_stateless_vs_nodered <flowyard stateless median / Node-RED median> x

Absolute figures swing by ~30% between machines of the same kind; the ratios,
measured in the same sitting, are what compare.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEER = HERE.parent.parent / "shared" / "bench" / "peers" / "nodered-chain5.sh"
_BENCH = re.compile(r"^BENCH (\S+) ([0-9.]+) ")


def _figure(cmd: list[str], name: str, env: dict[str, str] | None = None, timeout: float = 900) -> float:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=HERE.parent)
    for line in done.stdout.splitlines():
        m = _BENCH.match(line)
        if m and m.group(1) == name:
            return float(m.group(2))
    raise RuntimeError(f"{' '.join(cmd)} printed no BENCH {name} line (exit {done.returncode}):\n"
                       f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--peer", type=Path, default=Path(os.environ.get("NODERED_PEER", PEER)))
    args = parser.parse_args(argv)
    if not args.peer.exists():
        print(f"bench-peers: the Node-RED peer script {args.peer} is missing (set NODERED_PEER)", file=sys.stderr)
        return 2
    py = sys.executable
    runs: dict[str, list[float]] = {"chain5_small": [], "chain5_stateless": [], "nodered_chain5": []}
    env = {**os.environ, "BENCH_MODE": "window", "BENCH_RUNS": "1"}
    for r in range(1, args.rounds + 1):
        for name in ("chain5_small", "chain5_stateless"):
            runs[name].append(_figure([py, str(HERE / "run.py"), name], name))
            print(f"round {r}: {name} {runs[name][-1]:.0f} flowfiles/s", flush=True)
        runs["nodered_chain5"].append(_figure(["bash", str(args.peer)], "nodered_chain5", env=env, timeout=1800))
        print(f"round {r}: nodered_chain5 {runs['nodered_chain5'][-1]:.0f} msgs/s (window)", flush=True)
    medians = {name: statistics.median(values) for name, values in runs.items()}
    print(f"BENCH chain5_small_median {medians['chain5_small']:.0f} flowfiles/s")
    print(f"BENCH chain5_stateless_median {medians['chain5_stateless']:.0f} flowfiles/s")
    print(f"BENCH nodered_chain5_window_median {medians['nodered_chain5']:.0f} msgs/s")
    print(f"BENCH chain5_vs_nodered {medians['chain5_small'] / medians['nodered_chain5']:.2f} x")
    print(f"BENCH chain5_stateless_vs_nodered {medians['chain5_stateless'] / medians['nodered_chain5']:.2f} x")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
