"""The bad-input table of tests/reliability against this checkout and a baseline checkout, side by side.

Each case of ``tests/reliability/test_bad_inputs.py::CASES`` runs through the console entry point
(``multicam.cli.main``) of each package; its outcome is one of: clear (the expected exit code and ONE
`error:` line with the expected words), traceback, silent (exit code 0: the bad input was accepted),
unclear (another code or message), crash log, changed disk.

    python benchmarks/reliability_cases.py --baseline /path/to/an/older/checkout

The baseline's ``multicam`` package is put first on ``PYTHONPATH``; the tests are this checkout's.
Results: ``benchmarks/results/reliability_cases.json``.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ROOT, save_results, table

VERDICTS = ("clear", "traceback", "silent", "unclear", "crash log", "changed disk")


def run_cases(package_root: Path | None) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        record = Path(tmp) / "record.jsonl"
        env = {**os.environ, "MULTICAM_RELIABILITY_RECORD": str(record)}
        if package_root is not None:
            env["PYTHONPATH"] = os.pathsep.join([str(package_root), env.get("PYTHONPATH", "")])
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                str(ROOT / "tests" / "reliability" / "test_bad_inputs.py"),
                "-k",
                "gives_one_clear_line",
            ],
            cwd=package_root or ROOT,  # `python -m pytest` puts its folder first on sys.path
            env=env,
            stdout=subprocess.DEVNULL,
            check=False,
        )
        return [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="A checkout whose multicam package to compare with.")
    args = parser.parse_args()
    variants = {"this checkout": run_cases(None)}
    if args.baseline is not None:
        variants = {"baseline": run_cases(args.baseline.resolve()), **variants}
    rows = []
    for name, cases in variants.items():
        counts = collections.Counter(c["verdict"] for c in cases)
        rows.append({"variant": name, "cases": len(cases), **{v: counts.get(v, 0) for v in VERDICTS}})
    print(table(rows, ["variant", "cases", *VERDICTS]))
    if args.baseline is not None:
        before = {c["case"]: c["verdict"] for c in variants["baseline"]}
        after = {c["case"]: c["verdict"] for c in variants["this checkout"]}
        fixed = sorted(k for k in after if after[k] == "clear" and before.get(k) != "clear")
        print(f"\n{len(fixed)} case(s) clear now and not in the baseline:")
        for k in fixed:
            print(f"  {k}: {before.get(k)}")
    path = save_results("reliability_cases", {"summary": rows, "cases": variants})
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()
