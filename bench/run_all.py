"""Run every benchmark in turn and print a summary (``make bench``).

    .venv/bin/python bench/run_all.py [--scale 1] [--only earn_api,expiry] [--database-url URL]
                                      [--json PATH]

Each benchmark also runs alone (``bench/<name>.py --help``). Here each runs in a process of its
own, as it would alone: Django's settings are read once per process, and a benchmark sets the
environment it needs (e.g. plain HTTP for the card page's own client) before they are read, so
running one after another in one process would hand the second the first one's settings. Results go
to docs/benchmarks.md by hand, with the machine and the load they were measured under.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _common as common

BENCH_DIR = Path(__file__).resolve().parent
BENCHMARKS = (
    "earn_api",
    "staff_add_points",
    "card_page",
    "redeem",
    "expiry",
    "tiers",
    "imports",
    "outbox",
    "segments",
    "broadcast",
)


def run_alone(name: str, argv: list[str]) -> dict:
    """Run ``bench/<name>.py`` in a fresh interpreter with ``argv``; its JSON result."""
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        path = Path(folder) / f"{name}.json"
        completed = subprocess.run(
            [sys.executable, str(BENCH_DIR / f"{name}.py"), *argv, "--json", str(path)],
            check=False,
        )
        if completed.returncode != 0:
            raise SystemExit(f"benchmark {name} failed (exit code {completed.returncode})")
        return json.loads(path.read_text())


def summary_rows(name: str, result: dict) -> list[tuple]:
    if name == "earn_api":
        t = result["targets"]
        return [
            (
                "earn API / framework floor throughput",
                f"{result['ratio']:.2f}",
                f"≥ {t['ratio_min']}",
                "met" if t["ratio_met"] else "MISSED",
            ),
            (
                "earn API / raw transaction throughput",
                f"{result['ratio_raw']:.2f}",
                "—",
                "",
            ),
            (
                "earn API p99",
                f"{result['api']['p99_ms']:.1f} ms",
                f"< {t['p99_ms_max']:g} ms",
                "met" if t["p99_met"] else "MISSED",
            ),
        ]
    if name == "card_page":
        t = result["targets"]
        return [
            (
                "card page / framework floor throughput",
                f"{result['ratio']:.2f}",
                f"≥ {t['ratio_min']}",
                "met" if t["ratio_met"] else "MISSED",
            ),
            (
                "card page queries",
                str(result["card_queries"]),
                f"≤ {t['queries_max']}",
                "met" if t["queries_met"] else "MISSED",
            ),
            ("card p99", f"{result['card']['p99_ms']:.1f} ms", "—", ""),
        ]
    if name == "staff_add_points":
        return [
            ("staff add points / raw throughput", f"{result['ratio']:.2f}", "—", ""),
            ("staff_app p99", f"{result['staff_app']['p99_ms']:.1f} ms", "—", ""),
        ]
    if name == "imports":
        t, imp, exp = result["targets"], result["import"], result["export"]

        def met(ok: bool) -> str:
            return "met" if ok else "MISSED"

        return [
            (
                "member import, validate + commit",
                f"{imp['seconds']:.1f} s",
                f"≤ {t['import_seconds_max']:g} s",
                met(t["import_seconds_met"]),
            ),
            (
                "member import, peak memory",
                f"{imp['peak_rss_mb']:.0f} MB",
                f"≤ {t['import_mb_max']:g} MB",
                met(t["import_mb_met"]),
            ),
            (
                "member export",
                f"{exp['seconds']:.1f} s",
                f"≤ {t['export_seconds_max']:g} s",
                met(t["export_seconds_met"]),
            ),
        ]
    if name == "redeem":
        # No target in the issue: the row says how far the API is from the raw limit.
        return [
            (
                "redeem API / raw throughput (one hot reward)",
                f"{result['api']['ops_per_s']:.0f} / {result['raw']['ops_per_s']:.0f} /s "
                f"= {result['ratio']:.2f}",
                "—",
                "checks ok" if result["checks"]["ok"] else "CHECKS FAILED",
            ),
            (
                "redeem API p99",
                f"{result['api']['p99_ms']:.1f} ms",
                "—",
                "",
            ),
        ]
    if name == "outbox":
        return [
            (
                "outbox sender, multicast to the fake LINE",
                f"{result['sender']['recipients_per_s']:,} recipients/s "
                f"(ceiling {result['raw']['recipients_per_s']:,}/s)",
                f"≥ {result['target']['per_s_min']:,}/s",
                "met" if result["target"]["met"] and result["checks"]["ok"] else "MISSED",
            ),
            (
                "outbox enqueue (one transaction)",
                f"{result['timings']['enqueue_s']:.2f} s",
                "—",
                "",
            ),
        ]
    if name == "segments":
        t = result["target"]
        return [
            (
                "segment counts, slowest kind (ORM)",
                f"{t['slowest_count_s']:.2f} s; lowest hand SQL/ORM {t['min_ratio']:.2f}",
                f"< {t['count_s_max']:g} s, ≥ {t['ratio_min']}",
                "met" if t["counts_met"] and result["checks"]["ok"] else "MISSED",
            ),
            (
                "RFM refresh",
                f"{result['timings']['rfm_refresh_s']:.1f} s",
                f"< {t['rfm_s_max']:g} s",
                "met" if t["rfm_met"] else "MISSED",
            ),
        ]
    if name == "broadcast":
        t = result["target"]
        return [
            (
                "broadcast enqueue (broadcast_send)",
                f"{result['timings']['enqueue_s']:.1f} s",
                f"< {t['enqueue_s_max']:g} s",
                "met" if t["enqueue_met"] and result["checks"]["ok"] else "MISSED",
            ),
            (
                "broadcast sender, multicast to the fake LINE",
                f"{result['sender']['recipients_per_s']:,} recipients/s",
                f"≥ {t['per_s_min']:,}/s",
                "met" if t["send_met"] else "MISSED",
            ),
        ]
    label = {"expiry": "expiry job", "tiers": "tier evaluation"}[name]
    return [
        (
            label,
            f"{result['timings']['job_s']:.1f} s",
            f"< {result['target']['seconds_max']:g} s",
            "met" if result["target"]["met"] else "MISSED",
        )
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_arguments(parser)
    parser.add_argument(
        "--only",
        default=",".join(BENCHMARKS),
        help="comma-separated, run in this order: " + ", ".join(BENCHMARKS),
    )
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = set(names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    passed = ["--database-url", args.database_url, "--scale", str(args.scale)]
    results, rows = {}, []
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        results[name] = run_alone(name, passed)
        rows += summary_rows(name, results[name])
    print()
    print(common.format_table("summary", ["", "measured", "target", ""], rows))
    common.write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
