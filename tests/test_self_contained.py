"""Issue 11, item 14: the README's test command works on a fresh clone of the project alone.

Every file a test or the demo reads is inside the repository (the UCI student data, with its
citation, under ``fixtures/uci-student-performance/``); nothing reaches for a ``shared``
folder beside the clone.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
UCI = REPO / "fixtures" / "uci-student-performance"
# A path that climbs out of the repository into a sibling "shared" folder.
_OUTSIDE = re.compile(r"""(parents?\b[^\n]*["']shared["'])|(\.\./shared)""")


def _sources() -> list[Path]:
    files = [*REPO.glob("tests/**/*.py"), *REPO.glob("workbench/**/*.py"), *REPO.glob("ui/**/*.py"),
             *REPO.glob("fixtures/**/*.py"), *REPO.glob("benchmarks/**/*.py"), REPO / "streamlit_app.py"]
    return [f for f in files if f.is_file() and f.resolve() != Path(__file__).resolve()]


def test_fresh_clone_no_test_or_demo_reads_shared():
    offenders = []
    for path in _sources():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if _OUTSIDE.search(line):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert offenders == [], "reads outside the repository:\n" + "\n".join(offenders)


def test_fresh_clone_uci_data_is_in_fixtures_with_its_citation():
    for name, rows in (("student-por.csv", 649), ("student-mat.csv", 395)):
        lines = (UCI / name).read_text(encoding="utf-8").splitlines()
        assert len(lines) == rows + 1 and lines[0].startswith("school,sex,age,")
    readme = (UCI / "README.md").read_text(encoding="utf-8")
    assert "Cortez" in readme and "doi:10.24432/C5TG7T" in readme and "CC BY 4.0" in readme
