"""Fairness engine vs fairlearn's MetricFrame: time and peak memory, on the same data.

Every case runs in its own subprocess, so the peak resident memory (``ru_maxrss``) of one
case is not inflated by another. The data are synthetic and seeded: three sensitive
features (sex: 2 values, language of instruction: 3, locality: 3 — 18 intersectional
groups), a binary label, a decision that agrees with it 80 % of the time, and a score.

Usage::

    python benchmarks/bench_fairness.py                  # the full comparison (several minutes)
    python benchmarks/bench_fairness.py --quick          # small sizes, a smoke run
    python benchmarks/bench_fairness.py --engine-rows 1000000 --skip-fairlearn
    python benchmarks/bench_fairness.py --scale-only         # whole-process CLI at scale only
    python benchmarks/bench_fairness.py --scale-only --big   # ... and 100M rows (writes ~1.2 GB under --data-dir once)

The scale section runs the ``workbench`` command itself as a separate process (interpreter
start, imports, reading the file, 1,000 resamples, printing): ``workbench --help``; ``workbench
audit`` on 1M rows (Parquet and CSV) beside fairlearn's MetricFrame point estimates (data already
in memory, so fairlearn's figure is a lower bound) and Aequitas' crosstabs (in its own virtual
environment, ``--aequitas-python``, since it needs pandas < 3); a 10M-row CSV; with ``--big`` a
100M-row Parquet file streamed (3-decimal scores, and a second file whose every score is distinct:
the exact AUC then sorts its runs out of core, with up to ~4 GB of temporary disk), and DuckDB's
counts of it then the audit of the counts. Peak memory of a command is the child's ``ru_maxrss``.

Times exclude making the data; "+ read" cases include reading a CSV written beforehand.
"""

from __future__ import annotations

import argparse
import compileall
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


def make_data(rows: int, seed: int = 0, distinct: bool = False):
    """The synthetic outputs of an early-warning classifier (pandas DataFrame).

    The score has three decimals (few distinct values), or with ``distinct`` every value distinct
    (full float precision: as many (group, score) runs as rows, the worst case for exact AUC).
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    data = {f: pd.Categorical.from_codes(rng.integers(0, len(v), rows), v).astype(str) for f, v in LEVELS.items()}
    y_true = (rng.random(rows) < 0.3).astype(np.int8)
    agree = rng.random(rows) < 0.8
    data["y_true"] = y_true
    data["y_pred"] = np.where(agree, y_true, 1 - y_true).astype(np.int8)
    score = np.clip(0.35 * y_true + rng.random(rows) * 0.65, 0, 1)
    data["score"] = score if distinct else np.round(score, 3)
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
            from workbench.intake.reader import read_table

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
    if case == "cmd_write":
        start = time.perf_counter()
        options = json.loads(csv)
        write_data(Path(options["path"]), rows, distinct=options.get("distinct", False))
        return {"seconds": time.perf_counter() - start, "rss_before_mb": 0.0, "peak_rss_mb": _rss_mb()}
    if case.startswith("cmd_"):
        return _command_case(case, csv, n_boot)
    if case == "aequitas":
        return _aequitas_case(csv)
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
        from importlib.metadata import version

        return {"seconds": seconds, "groups": groups, "rss_before_mb": before, "peak_rss_mb": _rss_mb(),
                "version": version("fairlearn")}
    return {"seconds": seconds, "groups": groups, "rss_before_mb": before, "peak_rss_mb": _rss_mb()}


AUDIT_ARGS = ["--y-true", "y_true", "--y-pred", "y_pred", "--sensitive", ",".join(FEATURES)]


def _command_case(case: str, spec: str, n_boot: int) -> dict:
    """Time one ``workbench`` command as its own process; ``spec`` is JSON: {"args": [...], "repeat": n}."""
    options = json.loads(spec)
    args = [sys.executable, "-m", "workbench.cli", *options["args"]]
    if case == "cmd_audit":
        args += ["--bootstrap", str(n_boot)]
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    # An installed command runs from bytecode: pip compiles a wheel's modules at install, and an
    # editable install writes __pycache__ on its first run. Timing it without (as under
    # PYTHONDONTWRITEBYTECODE=1) would add ~60 ms of compiling the package's sources to every run,
    # which fairlearn's and Aequitas' installed packages do not pay.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    compileall.compile_dir(str(REPO / "workbench"), quiet=1)
    times = []
    for _ in range(options.get("repeat", 1)):
        start = time.perf_counter()
        done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=3600, check=False)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"seconds": min(times), "rss_before_mb": 0.0, "peak_rss_mb": peak, "runs": len(times)}


def _aequitas_case(path: str) -> dict:
    """Aequitas' crosstabs (counts and rates per group of each attribute) on the same Parquet file."""
    import pandas as pd
    from aequitas.group import Group

    frame = pd.read_parquet(path, columns=["y_true", "y_pred", *FEATURES])
    frame = frame.rename(columns={"y_pred": "score", "y_true": "label_value"})
    before = _rss_mb()
    start = time.perf_counter()
    crosstabs, _ = Group().get_crosstabs(frame, attr_cols=FEATURES)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "groups": len(crosstabs), "rss_before_mb": before, "peak_rss_mb": _rss_mb()}


def write_data(path: Path, rows: int, chunk: int = 5_000_000, distinct: bool = False) -> None:
    """The synthetic data written by chunks (so 100M rows need no 100M-row frame), once."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if path.exists():
        return
    part = path.with_suffix(path.suffix + ".part")
    writer = None
    for i, start in enumerate(range(0, rows, chunk)):
        table = pa.Table.from_pandas(make_data(min(chunk, rows - start), seed=i, distinct=distinct),
                                     preserve_index=False)
        if writer is None:
            writer = pq.ParquetWriter(part, table.schema) if path.suffix == ".parquet" else \
                pacsv.CSVWriter(part, table.schema)
        writer.write_table(table)
    writer.close()
    part.rename(path)


def _child(case: str, rows: int, n_boot: int, csv: str | None = None, timeout: float = 3600,
           python: str | None = None) -> dict:
    cmd = [python or sys.executable, __file__, "--case", case, "--rows", str(rows), "--n-boot", str(n_boot)]
    if csv:
        cmd += ["--csv", csv]
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run(  # noqa: S603 - our own script
cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if done.returncode != 0:
        raise SystemExit(f"case {case} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _table(results: list[tuple[str, str, dict]]) -> None:
    print("\n| case | rows | time (s) | peak RSS (MB) | RSS with data (MB) | call's own peak (MB) |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, rows, out in results:
        extra = f" (read {out['read_s']:.2f} s + audit {out['audit_s']:.2f} s)" if "audit_s" in out else ""
        own = f"{out['call_peak_mb']:.0f}" if "call_peak_mb" in out else "—"
        print(f"| {label}{extra} | {rows} | {out['seconds']:.3f} | {out['peak_rss_mb']:.0f} "
              f"| {out['rss_before_mb']:.0f} | {own} |")


def scale_section(args: argparse.Namespace, record) -> None:
    """Whole ``workbench`` processes at 1M, 10M and (``--big``) 100M rows, beside fairlearn and Aequitas."""
    small, csv_rows, big = (100_000, 1_000_000, 10_000_000) if args.quick else (1_000_000, 10_000_000, 100_000_000)
    data = Path(args.data_dir)
    data.mkdir(parents=True, exist_ok=True)
    files = {"small.parquet": small, "small.csv": small, "medium.csv": csv_rows}
    if args.big:
        files["big.parquet"] = big
        files["distinct.parquet"] = big  # every score distinct
    for name, rows in files.items():
        path = data / f"{_fmt_rows(rows)}-{name}"
        print(f"  writing {path} (once)", file=sys.stderr, flush=True)
        _child("cmd_write", rows, 0, json.dumps({"path": str(path), "distinct": name.startswith("distinct")}))
        files[name] = (path, rows)  # type: ignore[assignment]

    def command(label: str, rows: int, args_: list[str], case: str = "cmd_audit", repeat: int = 1) -> dict:
        return record(label, case, rows, args.n_boot, json.dumps({"args": args_, "repeat": repeat}))

    help_ = command("workbench --help (best of 5)", 0, ["--help"], case="cmd_help", repeat=5)
    path, rows = files["small.parquet"]
    fl = None if args.skip_fairlearn else record("fairlearn MetricFrame, point estimates (data in memory)",
                                                 "fairlearn_point", rows, 0)
    old_fl = None
    if args.old_fairlearn_python and not args.skip_fairlearn:
        old_fl = record("older fairlearn MetricFrame, point estimates (data in memory)", "fairlearn_point", rows, 0,
                        python=args.old_fairlearn_python)
    aeq = None
    if args.aequitas_python:
        aeq = record("Aequitas Group.get_crosstabs (data in memory)", "aequitas", rows, 0, str(path),
                     python=args.aequitas_python)
    parquet = command(f"workbench audit, Parquet, whole process, {args.n_boot} resamples (best of 3)", rows,
                      ["audit", str(path), *AUDIT_ARGS], repeat=3)
    auc = command("workbench audit, Parquet, + per-group AUC (best of 3)", rows,
                  ["audit", str(path), *AUDIT_ARGS, "--score", "score"], repeat=3)
    path_csv, _ = files["small.csv"]
    csv_small = command("workbench audit, CSV, whole process (best of 3)", rows, ["audit", str(path_csv), *AUDIT_ARGS],
                        repeat=3)
    path_csv, rows_csv = files["medium.csv"]
    csv_big = command("workbench audit, CSV, whole process", rows_csv, ["audit", str(path_csv), *AUDIT_ARGS])
    if args.big:
        path_big, rows_big = files["big.parquet"]
        streamed = command("workbench audit, Parquet streamed, + AUC", rows_big,
                           ["audit", str(path_big), *AUDIT_ARGS, "--score", "score"])
        path_distinct, _ = files["distinct.parquet"]
        distinct = command("workbench audit, Parquet streamed, + AUC, every score distinct", rows_big,
                           ["audit", str(path_distinct), *AUDIT_ARGS, "--score", "score"])
        counts_file = data / "big-counts.csv"
        counted = command("workbench counts --engine duckdb (Parquet -> counts)", rows_big,
                          ["counts", str(path_big), *AUDIT_ARGS, "-o", str(counts_file)], case="cmd_counts")
        from_counts = command("workbench audit --kind counts (of those counts)", rows_big,
                              ["audit", str(counts_file), "--kind", "counts", "--sensitive", ",".join(FEATURES)])
    print("\nscale (whole processes; 2 cores shared with other work, so figures are upper bounds):", file=sys.stderr)
    lines = [f"- workbench --help: {help_['seconds']:.3f} s (goal < 0.3 s)"]
    if fl:
        lines.append(f"- {_fmt_rows(rows)} rows: fairlearn {fl.get('version', '?')} point estimates {fl['seconds']:.2f} s "
                     f"vs whole `workbench audit` "
                     f"{parquet['seconds']:.2f} s (Parquet) / {csv_small['seconds']:.2f} s (CSV): "
                     f"x{fl['seconds'] / parquet['seconds']:.0f} / x{fl['seconds'] / csv_small['seconds']:.0f} "
                     f"(goal >= 25x); with AUC {auc['seconds']:.2f} s")
    if old_fl:
        lines.append(f"- fairlearn {old_fl.get('version', '?')} point estimates {old_fl['seconds']:.2f} s: "
                     f"x{old_fl['seconds'] / parquet['seconds']:.0f} the whole `workbench audit`")
    if aeq:
        lines.append(f"- Aequitas crosstabs (counts and rates per group, no intervals, data in memory) "
                     f"{aeq['seconds']:.2f} s vs the whole `workbench audit` process {parquet['seconds']:.2f} s")
    lines.append(f"- {_fmt_rows(rows_csv)}-row CSV: {csv_big['seconds']:.2f} s, peak {csv_big['peak_rss_mb']:.0f} MB "
                 f"(goal < 4 s)")
    if args.big:
        lines.append(f"- {_fmt_rows(rows_big)}-row Parquet streamed: {streamed['seconds']:.1f} s, peak "
                     f"{streamed['peak_rss_mb']:.0f} MB (goal < 60 s, < 1 GB); every score distinct "
                     f"{distinct['seconds']:.1f} s, peak {distinct['peak_rss_mb']:.0f} MB")
        lines.append(f"- DuckDB counts {counted['seconds']:.1f} s (peak {counted['peak_rss_mb']:.0f} MB), then audit "
                     f"of the counts {from_counts['seconds']:.2f} s")
    print("\n".join(lines))


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
    parser.add_argument("--reader", action="store_true", help="also time workbench.intake.reader.read_table on the CSV")
    parser.add_argument("--skip-fairlearn", action="store_true")
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--scale-only", action="store_true", help="only the whole-process scale section")
    parser.add_argument("--skip-scale", action="store_true", help="no whole-process scale section")
    parser.add_argument("--big", action="store_true", help="also 100M rows: Parquet streamed, DuckDB counts")
    parser.add_argument("--data-dir", default="/tmp/workbench-bench", help="where the scale data are written once")
    parser.add_argument("--aequitas-python", default=os.environ.get("AEQUITAS_PYTHON"),
                        help="a Python with aequitas installed (it needs pandas < 3)")
    parser.add_argument("--old-fairlearn-python", default=os.environ.get("OLD_FAIRLEARN_PYTHON"),
                        help="a Python with an older fairlearn (0.12, said to be faster), for a second comparison")
    args = parser.parse_args()

    if args.case:
        print(json.dumps(run_case(args.case, args.rows or 0, args.n_boot, args.csv)))
        return
    if args.quick:
        args.point_rows, args.engine_rows, args.csv_rows = 100_000, [100_000, 1_000_000], 1_000_000
        args.fairlearn_boot_rows, args.fairlearn_boot_n = 10_000, 20

    results: list[tuple[str, str, dict]] = []

    def record(label: str, case: str, rows: int, n_boot: int, csv: str | None = None, python: str | None = None) -> dict:
        out = _child(case, rows, n_boot, csv, python=python)
        results.append((label, _fmt_rows(rows), out))
        print(f"  {label:<52} {_fmt_rows(rows):>5}  {out['seconds']:8.3f} s  peak {out['peak_rss_mb']:7.0f} MB",
              file=sys.stderr, flush=True)
        return out

    print("running (each case in its own process):", file=sys.stderr)
    if args.scale_only:
        scale_section(args, record)
        _table(results)
        return
    fl_point = None if args.skip_fairlearn else record(
        "fairlearn MetricFrame, point estimates", "fairlearn_point", args.point_rows, 0)
    eng_point = record("engine, estimates + score intervals (closed form)", "engine", args.point_rows, args.n_boot)
    engine = {args.point_rows: eng_point}
    for rows in args.engine_rows:
        if rows != args.point_rows:
            engine[rows] = record("engine, estimates + score intervals (closed form)", "engine", rows, args.n_boot)
    record("engine + per-group AUC (exact ranks, DeLong)", "engine_auc", args.point_rows, args.n_boot)
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
                record("read CSV (workbench.intake.reader) + engine with AUC", "engine_read_reader", args.csv_rows,
                       args.n_boot, path)

    if not args.skip_scale:
        scale_section(args, record)
    _table(results)
    print("\nratios (fairlearn / engine):")
    if fl_point:
        print(f"- point estimates at {_fmt_rows(args.point_rows)}: time x{fl_point['seconds'] / eng_point['seconds']:.0f} "
              f"(the engine also computes every interval)")
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
