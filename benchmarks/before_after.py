"""Before and after a change: the side-by-side of ``speed_side.py`` for two checkouts.

Runs :func:`speed_side.side_by_side` (``CrepePitch`` against torchcrepe on the same audio and
threads) once with the package from an older checkout and once with this one, each in its own
process, alternating idle and one-core-busy runs so both see the same machine. Each version is
timed against torchcrepe in the same process, so the "× torchcrepe" columns compare across
versions even where the machine's load drifts between the runs.

    git worktree add ../crepe-0.1 984fe1d      # the 0.1 release
    python benchmarks/before_after.py --before ../crepe-0.1 [--threads 2] [--repeats 3]

Prints a markdown table, writes it to ``benchmarks/results/before_after.md`` and into the
``before-after`` section of ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "benchmarks"
sys.path.insert(0, str(HERE))

from speed_report import replace_section  # noqa: E402

_CHILD = """
import json, sys
import crepe_transforms
from speed_side import side_by_side
capacities, threads, repeats, busy = sys.argv[1].split(","), *map(int, sys.argv[2:4]), sys.argv[4]
rows = side_by_side(capacities, threads, repeats, busy == "busy")
print("ROWS " + json.dumps({"version": crepe_transforms.__version__, "rows": rows}))
"""


def run(checkout: Path, capacities: list[str], threads: int, repeats: int, busy: bool) -> Any:
    """``side_by_side`` with the package of ``checkout``, in a fresh process."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(checkout), str(HERE)])}
    args = [",".join(capacities), str(threads), str(repeats), "busy" if busy else "idle"]
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, *args],
        env=env,
        cwd=checkout,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"the run with {checkout} failed:\n{done.stderr[-3000:]}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("ROWS "))
    return json.loads(line[5:])


def render(results: list[tuple[str, Any]], command: str, info: str) -> str:
    lines = [
        f"Measured by `{command}` ({info}). Each version runs `CrepePitch(16000, capacity, "
        'decoder="weighted_argmax")` and `torchcrepe.predict(..., decoder=weighted_argmax, '
        "batch_size=512)` on the same audio (synthetic 16 kHz melody: 10 s tiny, 3 s full) in "
        'one process, calls interleaved, best kept; "one core busy": another process spins '
        "on one core meanwhile.",
        "",
        "| capacity | machine | version | crepe_transforms (s) | torchcrepe (s) "
        "| × torchcrepe | × real time |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    rows = [(label, out["version"], row) for label, out in results for row in out["rows"]]
    rows.sort(key=lambda r: (r[2]["capacity"] != "tiny", r[2]["machine"] != "idle"))
    for label, version, r in rows:
        lines.append(
            f"| {r['capacity']} | {r['machine']} | {version} ({label}) | "
            f"{r['crepe_transforms s']:.3f} | {r['torchcrepe s']:.3f} | {r['ratio']:.1f}× | "
            f"{r['crepe_transforms × real time']:.1f}× |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="checkout of the old version")
    parser.add_argument("--capacities", nargs="+", default=["tiny", "full"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "performance.md")
    args = parser.parse_args()
    if not (args.before / "crepe_transforms" / "__init__.py").is_file():
        parser.error(f"--before {args.before} holds no crepe_transforms package")
    results = []
    for busy in (False, True):
        for label, checkout in (("before", args.before.resolve()), ("after", ROOT)):
            out = run(checkout, args.capacities, args.threads, args.repeats, busy)
            print(label, json.dumps(out), flush=True)
            results.append((label, out))
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    info = f"{os.cpu_count()} cores, {args.threads} torch threads, load after {load}"
    text = render(
        results,
        "python benchmarks/before_after.py --before <checkout of the previous release>",
        info,
    )
    print(text)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "before_after.md").write_text(text)
    if args.out.is_file():
        replace_section(args.out, "before-after", text)


if __name__ == "__main__":
    main()
