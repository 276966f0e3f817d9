"""``appliance bench [--quick] [--only NAME]… [--json]``: measure speed and memory."""

from __future__ import annotations

import json
import sys

from appliance.benchmarks import runner
from appliance.errors import UsageError


def register(sub) -> None:
    p = sub.add_parser("bench", help="run the benchmarks and print a table",
                       description="Run the benchmarks (appliance/benchmarks/*) and print a Markdown table.")
    p.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    p.add_argument("--only", action="append", metavar="NAME",
                   help=f"run only this benchmark module (repeatable): {', '.join(runner.module_names())}")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args) -> int:
    known = runner.module_names()
    for name in args.only or []:
        if name not in known:
            raise UsageError(f"unknown benchmark {name!r}; choose from {', '.join(known)}")
    results = runner.run(args.only, quick=args.quick)
    if args.json:
        json.dump({name: [list(r) for r in rows] for name, rows in results}, sys.stdout, indent=1)
        print()
    else:
        print(runner.format_table(results))
    return 0
