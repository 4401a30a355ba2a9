"""Command line: ``python -m products check | match | coach | quote | bench``."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from products.catalog import check_catalog, load_catalog
from products.errors import CatalogError, ProfileError, QuoteError


def _read_json(path: str, what: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text("utf-8"), parse_float=Decimal)
    except (OSError, ValueError) as exc:
        print(f"error: cannot read {what} {path}: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    if not isinstance(data, dict):
        print(f"error: {what} {path} must hold a JSON object", file=sys.stderr)
        raise SystemExit(2)
    return data


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def _cmd_check(args: argparse.Namespace) -> int:
    problems = check_catalog(args.path)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1
    catalog = load_catalog(args.path)
    print(f"ok: {len(catalog)} products valid ({', '.join(catalog.codes)})")
    return 0


def _cmd_sources(args: argparse.Namespace) -> int:
    from products.sources import product_sources, sources_table

    catalog = load_catalog(args.catalog)
    if args.json:
        _print_json(
            [
                {
                    "code": s.code,
                    "plan_clauses": list(s.plan_clauses),
                    **{kind: list(cites) for kind, cites in s.by_kind.items()},
                    "demo_values": s.demo_values,
                    "values": s.values,
                }
                for s in (product_sources(p.to_dict()) for p in catalog)
            ]
        )
        return 0
    print(sources_table(p.to_dict() for p in catalog), end="")
    return 0


def _cmd_match(args: argparse.Namespace) -> int:
    from products.matching import match_one

    catalog = load_catalog(args.catalog)
    profile = _read_json(args.profile, "profile")
    request = _read_json(args.request, "request") if args.request else None
    today = dt.date.fromisoformat(args.today) if args.today else None
    try:
        results = match_one(catalog, profile, request, lpr=Decimal(args.lpr), today=today)
    except ProfileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        _print_json([r.to_dict() for r in results])
        return 0
    for r in results:
        mark = "✓" if r.eligible else "✗"
        cost = f"  net {r.quote.net_annual_cost_rate}" if r.quote else ""
        print(f"{mark} {r.product.code:18} {r.product.name_zh}{cost}")
        for c in r.evaluation.conditions:
            if c.result != "passed":
                print(f"    {c.result:7} {c.message_zh}")
    return 0


def _cmd_coach(args: argparse.Namespace) -> int:
    from products.coach import coach

    catalog = load_catalog(args.catalog)
    profile = _read_json(args.profile, "profile")
    request = _read_json(args.request, "request") if args.request else None
    today = dt.date.fromisoformat(args.today) if args.today else None
    parks = [tuple(p.split("=", 1)) for p in args.park]
    try:
        found = coach(
            catalog,
            profile,
            request,
            lpr=Decimal(args.lpr),
            today=today,
            organisations={"park_codes": [(c, n) for c, n in parks]},
        )
    except ProfileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        _print_json([s.to_dict() for s in found])
        return 0
    for s in found:
        cost = f"  net cost {s.quote.net_cost}" if s.quote else ""
        print(f"{s.product.code:18} {s.product.name_zh}{cost}")
        for step in s.steps:
            print(f"    {step.action_zh}  ({step.problem_zh})")
    return 0


def _cmd_quote(args: argparse.Namespace) -> int:
    from products.pricing import quote

    catalog = load_catalog(args.catalog)
    try:
        product = catalog.get(args.product)
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    try:
        result = quote(product, args.amount, args.term, args.lpr)
    except QuoteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        _print_json(result.to_dict())
        return 0
    data = result.to_dict(detail=True)
    for key, value in data.items():
        if key != "schedule":
            print(f"{key:30} {value}")
    print("period  principal  interest  fee  subsidy  payment")
    for row in data["schedule"]:
        print(
            "  ".join(
                str(row[k])
                for k in ("period", "principal", "interest", "fee", "subsidy", "payment")
            )
        )
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from products.bench import run_bench

    result = run_bench(load_catalog(args.catalog), enterprises=args.enterprises)
    if args.json:
        _print_json(result)
    else:
        speedup = result["vectorised_pairs_per_s"] / max(result["loop_pairs_per_s"], 1)
        for key, value in result.items():
            print(f"{key:24} {value:,}")
        print(f"{'speedup':24} {speedup:,.0f}x")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``python -m products``."""
    parser = argparse.ArgumentParser(prog="python -m products", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check", help="validate the catalogue (exit 1 with the reasons)")
    check.add_argument("path", nargs="?", default=None, help="catalogue directory or file")
    check.set_defaults(run=_cmd_check)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--catalog", default=None, help="catalogue directory (default: bundled)")
        p.add_argument("--json", action="store_true", help="print JSON")

    sources = sub.add_parser("sources", help="list each product's sources (Markdown table)")
    common(sources)
    sources.set_defaults(run=_cmd_sources)

    match = sub.add_parser("match", help="match one enterprise profile with every product")
    match.add_argument("--profile", required=True, help="profile JSON file (money in yuan)")
    match.add_argument(
        "--request", default=None, help="request JSON file (amount, term_months, ...)"
    )
    match.add_argument("--lpr", default="0.03", help="1-year LPR as a decimal (default 0.03)")
    match.add_argument("--today", default=None, help="date of evaluation, YYYY-MM-DD")
    common(match)
    match.set_defaults(run=_cmd_match)

    c = sub.add_parser("coach", help="the fewest changes that make nearly-open products eligible")
    c.add_argument("--profile", required=True, help="profile JSON file (money in yuan)")
    c.add_argument("--request", default=None, help="request JSON file (amount, term_months, ...)")
    c.add_argument("--lpr", default="0.03", help="1-year LPR as a decimal (default 0.03)")
    c.add_argument("--today", default=None, help="date of evaluation, YYYY-MM-DD")
    c.add_argument(
        "--park", action="append", default=[], help="a park the firm could join: CODE=NAME"
    )
    common(c)
    c.set_defaults(run=_cmd_coach)

    q = sub.add_parser("quote", help="price a loan of one product")
    q.add_argument("--product", required=True, help="product code")
    q.add_argument("--amount", required=True, help="amount in yuan")
    q.add_argument("--term", required=True, help="term in months")
    q.add_argument("--lpr", default="0.03", help="1-year LPR as a decimal (default 0.03)")
    common(q)
    q.set_defaults(run=_cmd_quote)

    bench = sub.add_parser("bench", help="measure matching speed")
    bench.add_argument("--enterprises", type=int, default=1_000_000)
    common(bench)
    bench.set_defaults(run=_cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except CatalogError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away; not an error of ours.
        sys.stderr.close()
        return 0
    return status
