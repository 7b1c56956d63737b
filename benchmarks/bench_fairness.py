"""Fairness engine vs fairlearn's MetricFrame: time and peak memory, on the same data.

Every case runs in its own subprocess, so the peak resident memory (``ru_maxrss``) of one
case is not inflated by another. The data are synthetic and seeded: three sensitive
features (sex: 2 values, language of instruction: 3, locality: 3 — 18 intersectional
groups), a binary label, a decision that agrees with it 80 % of the time, and a score.

Usage::

    python benchmarks/bench_fairness.py                  # the full comparison (several minutes)
    python benchmarks/bench_fairness.py --quick          # small sizes, a smoke run
    python benchmarks/bench_fairness.py --engine-rows 1000000 --skip-fairlearn

Times exclude making the data; "+ read" cases include reading a CSV written beforehand.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
FEATURES = ["sex", "language", "locality"]
LEVELS = {"sex": ["F", "M"], "language": ["kk", "ru", "other"], "locality": ["urban", "rural", "town"]}


def make_data(rows: int, seed: int = 0):
    """The synthetic outputs of an early-warning classifier (pandas DataFrame)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    data = {f: pd.Categorical.from_codes(rng.integers(0, len(v), rows), v).astype(str) for f, v in LEVELS.items()}
    y_true = (rng.random(rows) < 0.3).astype(np.int8)
    agree = rng.random(rows) < 0.8
    data["y_true"] = y_true
    data["y_pred"] = np.where(agree, y_true, 1 - y_true).astype(np.int8)
    data["score"] = np.round(np.clip(0.35 * y_true + rng.random(rows) * 0.65, 0, 1), 3)
    return pd.DataFrame(data)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def _spec(n_boot: int, score: bool):
    from workbench.fairness import AuditSpec

    return AuditSpec(y_true="y_true", y_pred="y_pred", score="score" if score else None, sensitive=FEATURES,
                     n_boot=n_boot)


def _fairlearn_metrics() -> dict:
    import functools

    from fairlearn.metrics import (count, false_negative_rate, false_positive_rate, selection_rate,
                                   true_negative_rate, true_positive_rate)
    from sklearn.metrics import accuracy_score

    return {"count": count, "selection_rate": selection_rate,
            "true_positive_rate": functools.partial(true_positive_rate, pos_label=1),
            "false_positive_rate": functools.partial(false_positive_rate, pos_label=1),
            "true_negative_rate": functools.partial(true_negative_rate, pos_label=1),
            "false_negative_rate": functools.partial(false_negative_rate, pos_label=1),
            "accuracy": accuracy_score}


def run_case(case: str, rows: int, n_boot: int, csv: str | None) -> dict:
    """One measurement in this process; returns seconds and memory figures."""
    import warnings

    warnings.simplefilter("ignore")
    if case == "write_csv":
        import pyarrow as pa
        import pyarrow.csv as pacsv

        start = time.perf_counter()
        pacsv.write_csv(pa.Table.from_pandas(make_data(rows), preserve_index=False), csv)
        return {"seconds": time.perf_counter() - start, "rss_before_mb": 0.0, "peak_rss_mb": _rss_mb()}
    if case in ("engine_read_pyarrow", "engine_read_reader", "read_pyarrow"):
        before = _rss_mb()
        start = time.perf_counter()
        if case == "engine_read_reader":
            from workbench.reader import read_table

            frame = read_table(csv)
        else:
            import pyarrow.csv as pacsv

            frame = pacsv.read_csv(csv).to_pandas()
        read_s = time.perf_counter() - start
        if case == "read_pyarrow":
            return {"seconds": read_s, "read_s": read_s, "rss_before_mb": before, "peak_rss_mb": _rss_mb()}
        from workbench.fairness import run_audit

        audit_start = time.perf_counter()
        result = run_audit(frame, _spec(n_boot, score=True), input_sha256="-")
        end = time.perf_counter()
        return {"seconds": end - start, "read_s": read_s, "audit_s": end - audit_start, "groups": len(result.groups),
                "rss_before_mb": before, "peak_rss_mb": _rss_mb()}
    frame = make_data(rows)
    before = _rss_mb()
    if case.startswith("engine"):
        from workbench.fairness import run_audit, load_policy

        load_policy()  # imports and the policy file are not the engine's per-run cost
        start = time.perf_counter()
        result = run_audit(frame, _spec(n_boot, score=case == "engine_auc"), input_sha256="-")
        seconds = time.perf_counter() - start
        groups = len(result.groups)
        # A second, traced run: memory the call itself allocates on top of the data.
        import tracemalloc

        tracemalloc.start()
        run_audit(frame, _spec(n_boot, score=case == "engine_auc"), input_sha256="-")
        call_peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        return {"seconds": seconds, "groups": groups, "rss_before_mb": before, "peak_rss_mb": _rss_mb(),
                "call_peak_mb": call_peak}
    else:
        from fairlearn.metrics import MetricFrame

        start = time.perf_counter()
        kwargs = {"n_boot": n_boot, "ci_quantiles": [0.025, 0.975], "random_state": 0} if case == "fairlearn_boot" else {}
        mf = MetricFrame(metrics=_fairlearn_metrics(), y_true=frame["y_true"], y_pred=frame["y_pred"],
                         sensitive_features=frame[FEATURES], **kwargs)
        seconds = time.perf_counter() - start
        groups = len(mf.by_group)
    return {"seconds": seconds, "groups": groups, "rss_before_mb": before, "peak_rss_mb": _rss_mb()}


def _child(case: str, rows: int, n_boot: int, csv: str | None = None, timeout: float = 3600) -> dict:
    cmd = [sys.executable, __file__, "--case", case, "--rows", str(rows), "--n-boot", str(n_boot)]
    if csv:
        cmd += ["--csv", csv]
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run(  # noqa: S603 - our own script
cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if done.returncode != 0:
        raise SystemExit(f"case {case} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _fmt_rows(rows: int) -> str:
    return f"{rows / 1e6:g}M" if rows >= 1_000_000 else f"{rows / 1e3:g}k"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    parser.add_argument("--n-boot", type=int, default=1000, help="engine resamples (default 1000)")
    parser.add_argument("--point-rows", type=int, default=1_000_000, help="rows for the point-estimate comparison")
    parser.add_argument("--engine-rows", type=int, nargs="+", default=[1_000_000, 10_000_000],
                        help="rows for the engine with intervals")
    parser.add_argument("--fairlearn-boot-rows", type=int, default=100_000, help="rows for fairlearn's bootstrap")
    parser.add_argument("--fairlearn-boot-n", type=int, default=100, help="fairlearn's resamples")
    parser.add_argument("--fairlearn-rows", type=int, nargs="*", default=[],
                        help="extra sizes for fairlearn point estimates (10M takes minutes and GBs)")
    parser.add_argument("--csv-rows", type=int, default=10_000_000, help="rows of the CSV read (0 to skip)")
    parser.add_argument("--reader", action="store_true", help="also time workbench.reader.read_table on the CSV")
    parser.add_argument("--skip-fairlearn", action="store_true")
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    args = parser.parse_args()

    if args.case:
        print(json.dumps(run_case(args.case, args.rows or 0, args.n_boot, args.csv)))
        return
    if args.quick:
        args.point_rows, args.engine_rows, args.csv_rows = 100_000, [100_000, 1_000_000], 1_000_000
        args.fairlearn_boot_rows, args.fairlearn_boot_n = 10_000, 20

    results: list[tuple[str, str, dict]] = []

    def record(label: str, case: str, rows: int, n_boot: int, csv: str | None = None) -> dict:
        out = _child(case, rows, n_boot, csv)
        results.append((label, _fmt_rows(rows), out))
        print(f"  {label:<52} {_fmt_rows(rows):>5}  {out['seconds']:8.3f} s  peak {out['peak_rss_mb']:7.0f} MB",
              file=sys.stderr, flush=True)
        return out

    print("running (each case in its own process):", file=sys.stderr)
    fl_point = None if args.skip_fairlearn else record(
        "fairlearn MetricFrame, point estimates", "fairlearn_point", args.point_rows, 0)
    eng_point = record(f"engine, estimates + {args.n_boot}-resample intervals", "engine", args.point_rows, args.n_boot)
    engine = {args.point_rows: eng_point}
    for rows in args.engine_rows:
        if rows != args.point_rows:
            engine[rows] = record(f"engine, estimates + {args.n_boot}-resample intervals", "engine", rows, args.n_boot)
    record(f"engine + per-group AUC (binned, DeLong)", "engine_auc", args.point_rows, args.n_boot)
    fl_extra = {rows: record("fairlearn MetricFrame, point estimates", "fairlearn_point", rows, 0)
                for rows in ([] if args.skip_fairlearn else args.fairlearn_rows)}
    fl_boot = eng_small = None
    if not args.skip_fairlearn:
        fl_boot = record(f"fairlearn MetricFrame, n_boot={args.fairlearn_boot_n}", "fairlearn_boot",
                         args.fairlearn_boot_rows, args.fairlearn_boot_n)
        eng_small = record(f"engine, {args.n_boot} resamples", "engine", args.fairlearn_boot_rows, args.n_boot)
    if args.csv_rows:
        with tempfile.TemporaryDirectory() as tmp:
            path = str(Path(tmp) / "outputs.csv")
            # In a child too: the parent stays small, because a child inherits the parent's
            # peak RSS across fork and exec, which would inflate every later figure.
            _child("write_csv", args.csv_rows, 0, path)
            record("read CSV (pyarrow)", "read_pyarrow", args.csv_rows, 0, path)
            both = record("read CSV (pyarrow) + engine with AUC", "engine_read_pyarrow", args.csv_rows, args.n_boot, path)
            if args.reader:
                record("read CSV (workbench.reader) + engine with AUC", "engine_read_reader", args.csv_rows,
                       args.n_boot, path)

    print("\n| case | rows | time (s) | peak RSS (MB) | RSS with data (MB) | call's own peak (MB) |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, rows, out in results:
        extra = f" (read {out['read_s']:.2f} s + audit {out['audit_s']:.2f} s)" if "audit_s" in out else ""
        own = f"{out['call_peak_mb']:.0f}" if "call_peak_mb" in out else "—"
        print(f"| {label}{extra} | {rows} | {out['seconds']:.3f} | {out['peak_rss_mb']:.0f} "
              f"| {out['rss_before_mb']:.0f} | {own} |")
    print("\nratios (fairlearn / engine):")
    if fl_point:
        print(f"- point estimates at {_fmt_rows(args.point_rows)}: time x{fl_point['seconds'] / eng_point['seconds']:.0f} "
              f"(the engine also computes {args.n_boot}-resample intervals)")
    for rows, out in fl_extra.items():
        if rows in engine:
            print(f"- point estimates at {_fmt_rows(rows)}: time x{out['seconds'] / engine[rows]['seconds']:.0f}, "
                  f"peak memory x{out['peak_rss_mb'] / engine[rows]['peak_rss_mb']:.1f}")
    if fl_boot and eng_small:
        per_resample = (fl_boot["seconds"] / args.fairlearn_boot_n) / (eng_small["seconds"] / args.n_boot)
        print(f"- bootstrap at {_fmt_rows(args.fairlearn_boot_rows)}: fairlearn {args.fairlearn_boot_n} resamples "
              f"{fl_boot['seconds']:.1f} s vs engine {args.n_boot} resamples {eng_small['seconds']:.3f} s "
              f"(x{fl_boot['seconds'] / eng_small['seconds']:.0f} in time, x{per_resample:.0f} per resample)")
    print("\ngoals: 1M rows x 3 features with 1,000 resamples < 0.5 s; 10M < 3 s after loading, "
          "< 6 s including reading the CSV; peak memory < 2.5 GB")


if __name__ == "__main__":
    main()
