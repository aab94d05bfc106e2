"""Print the mutation score per module from a finished ``mutmut run`` (``make mutation``,
docs/testing.md): killed (a test failed; timeouts count as killed), survived, no tests,
other, total and score = killed / total, then the surviving mutants by name.

Usage: ``python tests/mutation_score.py [--mutants DIR]`` from the repository root."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code

#: mutmut statuses counted as a kill (a hanging mutant is caught by the timeout)
KILLED = ("killed", "timeout")


def module_results(mutants: Path) -> dict[str, dict[str, str]]:
    """{module path: {mutant name: mutmut status}} for every mutated module."""
    out: dict[str, dict[str, str]] = {}
    for meta in sorted(mutants.rglob("*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        if codes:
            module = str(meta.relative_to(mutants)).removesuffix(".meta")
            out[module] = {name: status_by_exit_code[code] for name, code in codes.items()}
    return out


def main(argv: list[str] | None = None) -> int:
    """Print the table and the survivors; exit 1 when there are no results."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mutants", type=Path, default=Path("mutants"), help="mutmut's folder")
    args = ap.parse_args(argv)
    results = module_results(args.mutants)
    if not results:
        print(f"no mutmut results in {args.mutants}/ (run `mutmut run` first)", file=sys.stderr)
        return 1
    header = f"{'module':40s} {'killed':>7s} {'survived':>9s} {'no tests':>9s} {'other':>6s}"
    print(f"{header} {'total':>6s} {'score':>6s}")
    totals: Counter[str] = Counter()
    survivors = []
    for module, statuses in results.items():
        c = Counter(statuses.values())
        killed = sum(c[s] for s in KILLED)
        row = {
            "killed": killed,
            "survived": c["survived"],
            "no tests": c["no tests"],
            "other": len(statuses) - killed - c["survived"] - c["no tests"],
            "total": len(statuses),
        }
        totals.update(row)
        print(
            f"{module:40s} {row['killed']:7d} {row['survived']:9d} {row['no tests']:9d} "
            f"{row['other']:6d} {row['total']:6d} {killed / len(statuses):6.1%}"
        )
        survivors += [name for name, s in statuses.items() if s not in KILLED]
    print(
        f"{'all':40s} {totals['killed']:7d} {totals['survived']:9d} {totals['no tests']:9d} "
        f"{totals['other']:6d} {totals['total']:6d} {totals['killed'] / totals['total']:6.1%}"
    )
    if survivors:
        print(f"\nnot killed ({len(survivors)}; `mutmut show NAME` prints the change):")
        for name in survivors:
            print(f"  {name}: {_status(results, name)}")
    return 0


def _status(results: dict[str, dict[str, str]], name: str) -> str:
    return next(s[name] for s in results.values() if name in s)


if __name__ == "__main__":
    sys.exit(main())
