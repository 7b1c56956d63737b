"""Time and peak memory of ``workbench.intake.reader.read_table`` against plain ``pandas.read_csv``.

Each read runs in a fresh Python process, so the peak RSS (``ru_maxrss``) is that read's
alone, imports included. Usage::

    python benchmarks/bench_reader.py                 # 1M and 10M rows
    python benchmarks/bench_reader.py --rows 1000000  # just 1M
    python benchmarks/bench_reader.py --encoding cp1251 --delimiter ';'

The generated files look like real model outputs: an id, true label, prediction, score,
and four sensitive features (sex, urban/rural, region, language of instruction).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REGIONS = ["Абай облысы", "Ақмола облысы", "Ақтөбе облысы", "Алматы облысы", "Атырау облысы",
           "Батыс Қазақстан облысы", "Жамбыл облысы", "Жетісу облысы", "Қарағанды облысы",
           "Қостанай облысы", "Қызылорда облысы", "Маңғыстау облысы", "Павлодар облысы",
           "Солтүстік Қазақстан облысы", "Түркістан облысы", "Ұлытау облысы",
           "Шығыс Қазақстан облысы", "Астана", "Алматы", "Шымкент"]

READERS = {
    "read_table": "from workbench.intake.reader import read_table\ndf = read_table(PATH)",
    "pandas.read_csv": "import pandas as pd\ndf = pd.read_csv(PATH, sep=SEP, encoding=ENCODING)",
}


# Peak RSS of the child alone. On Linux, ru_maxrss of a freshly exec'd process starts at
# its parent's RSS at fork time, so a big parent (pytest, or this script after generating
# data) would hide the child's own figure; /proc/self/status VmHWM is the child's own peak.
PEAK_RSS = textwrap.dedent("""
    def peak_rss_mb():
        try:
            with open("/proc/self/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
""")


def make_csv(path: Path, rows: int, *, encoding: str, delimiter: str) -> None:
    """Write ``rows`` rows of synthetic model outputs, in chunks to keep this process small."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(2026)
    chunk = 1_000_000
    if encoding != "utf-8":
        regions = [r.replace("ә", "а").replace("Ә", "А") for r in REGIONS]  # keep cp1251-encodable
        regions = [r.translate(str.maketrans("ғқңөұүһіҒҚҢӨҰҮҺ", "гкноуухиГКНОУУХ")) for r in regions]
    else:
        regions = REGIONS
    with path.open("w", encoding=encoding, newline="") as out:
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            frame = pd.DataFrame({
                "student_id": np.arange(start, start + n),
                "y_true": rng.integers(0, 2, n),
                "y_pred": rng.integers(0, 2, n),
                "score": rng.random(n).round(4),
                "sex": rng.choice(["F", "M"], n),
                "address": rng.choice(["U", "R"], n),
                "region": rng.choice(regions, n),
                "language": rng.choice(["kk", "ru", "other"], n),
            })
            frame.to_csv(out, index=False, header=start == 0, sep=delimiter)


def measure(reader: str, path: Path, *, encoding: str, delimiter: str) -> tuple[float, float]:
    """Seconds and peak RSS in MB of one read, in a fresh interpreter."""
    body = READERS[reader]
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(REPO)!r})
        PATH, SEP, ENCODING = {str(path)!r}, {delimiter!r}, {encoding!r}
        start = time.perf_counter()
    """) + body + textwrap.dedent("""
        elapsed = time.perf_counter() - start
    """) + PEAK_RSS + "print(elapsed, peak_rss_mb(), len(df))\n"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    seconds, peak_mb, _ = out.stdout.split()
    return float(seconds), float(peak_mb)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--encoding", default="utf-8", choices=["utf-8", "cp1251"])
    parser.add_argument("--delimiter", default=",")
    args = parser.parse_args(argv)
    print(f"{'rows':>12}  {'MB on disk':>10}  {'reader':<16}{'seconds':>9}{'peak MB':>10}   ratio to pandas (time, memory)")
    with tempfile.TemporaryDirectory() as tmp:
        for rows in args.rows:
            path = Path(tmp) / f"outputs-{rows}.csv"
            make_csv(path, rows, encoding=args.encoding, delimiter=args.delimiter)
            size_mb = path.stat().st_size / 1024**2
            results = {name: measure(name, path, encoding=args.encoding, delimiter=args.delimiter) for name in READERS}
            base_s, base_mb = results["pandas.read_csv"]
            for name, (seconds, peak) in results.items():
                ratio = f"{seconds / base_s:5.2f}x, {peak / base_mb:5.2f}x"
                print(f"{rows:>12,}  {size_mb:>10.0f}  {name:<16}{seconds:>9.2f}{peak:>10.0f}   {ratio}")
            path.unlink()


if __name__ == "__main__":
    main()
