"""Print the load test's summaries (JSON files written by the locustfile) as tables."""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

#: How the server's JSON access log writes a line's time (logging's asctime, local time).
LOG_TIME = "%Y-%m-%d %H:%M:%S,%f"


def _row(
    name: str,
    stats: dict[str, float],
    bare: float | None,
    cpu: dict[str, float] | None = None,
    handler: dict[str, float] | None = None,
) -> str:
    ratio = f"{stats['rps'] / bare:6.2f}" if bare else "     –"
    kept = f"{100 * stats.get('kept_share', 0.0):6.0f}"
    cpu = cpu or {}
    spent = "".join(
        f" {cpu[name]:>7.2f}" if name in cpu else f" {'–':>7}" for name in ("server", "generator")
    )
    app = f"{handler['p99_ms']:>8.1f}" if handler else f"{'–':>8}"
    return (
        f"{name:44} {stats['requests']:>8} {stats['rps']:>8.1f} {ratio} "
        f"{stats['p50_ms']:>8.1f} {stats['p95_ms']:>8.1f} {stats['p99_ms']:>8.1f} {app}"
        f" {stats['errors']:>7} {kept}{spent}"
    )


#: "app p99": the p99 of the time the server's own access log gives the page's requests in
#: the counted window (from the request's start in the app to its answer: what the page
#: costs, without the waits for a worker or a core that the client's p99 also holds);
#: "kept %": the share of answers that came from the page cache (finportal/page_cache.py);
#: "srv ms", "gen ms": the CPU milliseconds a request took in the server (gunicorn's processes)
#: and in the load generator, measured in one-page runs over the counted window.
HEADER = (
    f"{'page':44} {'requests':>8} {'req/s':>8} {'÷bare':>6} {'p50 ms':>8} {'p95 ms':>8}"
    f" {'p99 ms':>8} {'app p99':>8} {'errors':>7} {'kept %':>6} {'srv ms':>7} {'gen ms':>7}"
)


def percentile(values: list[float], q: float) -> float:
    """Return the ``q`` percentile of ``values`` by the nearest rank (0.0 for none): the
    clients' latencies (the locustfile) and the server's own times alike."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def handler_times(summary: dict[str, Any], log_lines: Any) -> dict[str, float] | None:
    """Return the p50/p99 and count of the server's own times (``duration_ms`` of its JSON
    access log) for a one-page run's requests: lines of the page's URL (its ids any number)
    that ended within the run's counted window. None without a window, a URL or such lines."""
    window, url = summary.get("window_epoch"), summary.get("url")
    if not url or not window or not window[0]:
        return None
    path = re.compile(
        "".join(r"\d+" if p.startswith("{") else re.escape(p) for p in re.split(r"(\{\w+\})", url))
    )
    times = []
    for line in log_lines:
        if '"finportal.access"' not in line:
            continue
        try:
            entry = json.loads(line)
            at = datetime.strptime(entry["time"], LOG_TIME).timestamp()
        except (ValueError, KeyError):
            continue
        if window[0] <= at <= window[1] and path.fullmatch(entry.get("path", "")):
            times.append(float(entry["duration_ms"]))
    if not times:
        return None
    return {
        "requests": len(times),
        "p50_ms": round(percentile(times, 0.50), 1),
        "p99_ms": round(percentile(times, 0.99), 1),
    }


def add_handler_times(summary_path: Path, log: Path, offset: int) -> None:
    """Add the server's own times to a run's summary (``handler``), from its access log's
    lines after ``offset`` (the log's size when the run began)."""
    summary = json.loads(summary_path.read_text())
    with log.open("rb") as raw:
        raw.seek(offset)
        found = handler_times(summary, (line.decode("utf-8", "replace") for line in raw))
    if found is not None:
        summary["handler"] = found
        summary_path.write_text(json.dumps(summary, ensure_ascii=False, indent=1))


def pages_table(folder: Path, clients: str, kind: str = "page") -> list[str]:
    """Return the lines of the one-page-at-a-time table for a client count; with ``kind``
    "paced", of the runs whose clients offered a share of the bare route's throughput
    (its bare row is the unpaced run's, which set the pace)."""
    results = {}
    cpu: dict[str, dict[str, float]] = {}
    handlers: dict[str, dict[str, float]] = {}
    pairs = 0
    refused: dict[str, int] = {}
    paths = sorted(folder.glob(f"{kind}-*-c{clients}.json"))
    bare_run = folder / f"page-bare-c{clients}.json"
    if kind == "paced" and bare_run.exists():
        paths.insert(0, bare_run)
    for path in paths:
        page = path.stem.split("-", 1)[1].removesuffix(f"-c{clients}")
        data = json.loads(path.read_text())
        pairs += data.get("others_signed_in_and_out", 0)
        if data.get("clients_not_signed_in"):
            refused[page] = data["clients_not_signed_in"]
        stats = data["pages"].get(f"[page] {page}")
        if stats is not None:
            results[page] = stats
            cpu[page] = data.get("cpu_ms_per_request", {})
            handlers[page] = data.get("handler", {})
    bare = results.get("bare", {}).get("rps")
    title = f"one page at a time, {clients} clients"
    if kind == "paced":
        title += ", offering a set share of the bare route's req/s (LOADTEST_PACE)"
    lines = [title, HEADER]
    lines += [_row(page, stats, bare, cpu[page], handlers[page]) for page, stats in results.items()]
    lines += [
        f"(!) {page}: {count} of the {clients} clients were not signed in and requested nothing"
        for page, count in refused.items()
    ]
    if pairs:
        lines.append(f"(other firms signed in and out during the runs: {pairs} times)")
    return lines


def mix_table(path: Path) -> list[str]:
    """Return the lines of a mixed run's table: per scenario, then per page."""
    data = json.loads(path.read_text())
    bare = data["scenarios"].get("bare", {}).get("rps")
    lines = [f"all roles at once ({path.stem}), {data['seconds']} s", HEADER]
    if data.get("clients_not_signed_in"):
        lines.insert(1, f"(!) {data['clients_not_signed_in']} clients were not signed in")
    lines += [_row(f"scenario {name}", stats, None) for name, stats in data["scenarios"].items()]
    lines.append("")
    lines += [_row(name, stats, None) for name, stats in data["pages"].items()]
    if bare:
        lines.append(f"(bare route in the same run: {bare:.1f} req/s)")
    return lines


def main(argv: list[str]) -> int:
    if argv[1:2] == ["handler"]:  # report.py handler SUMMARY.json ACCESS_LOG OFFSET
        add_handler_times(Path(argv[2]), Path(argv[3]), int(argv[4]))
        return 0
    folder = Path(argv[1])
    clients = argv[2:] or ["8", "32"]
    out: list[str] = []
    for c in clients:
        if list(folder.glob(f"page-*-c{c}.json")):
            out += pages_table(folder, c) + [""]
        if list(folder.glob(f"paced-*-c{c}.json")):
            out += pages_table(folder, c, "paced") + [""]
        mix = folder / f"mix-c{c}.json"
        if mix.exists():
            out += mix_table(mix) + [""]
    print("\n".join(out))
    (folder / "report.txt").write_text("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
