"""Where the workbench keeps everything it writes: one folder, ``WORKBENCH_HOME``.

The database, uploaded files, generated audit PDFs, keys and exports all live under it.
It defaults to the current directory, so ``workbench serve`` in a fresh clone creates
``./registry.db`` beside the code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_HOME = "WORKBENCH_HOME"
DEFAULT_MAX_UPLOAD_MB = 200


@dataclass(frozen=True)
class Home:
    """The workbench's folder and the fixed places inside it."""

    root: Path

    @classmethod
    def from_env(cls) -> "Home":
        return cls(Path(os.environ.get(ENV_HOME) or Path.cwd()).resolve())

    @property
    def db_path(self) -> Path:
        return self.root / "registry.db"

    @property
    def files(self) -> Path:
        return self.root / "files"

    @property
    def audits(self) -> Path:
        return self.root / "audits"

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    def ensure(self) -> "Home":
        for folder in (self.root, self.files, self.audits, self.keys):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def max_upload_bytes() -> int:
    """Per-file upload limit; ``WORKBENCH_MAX_UPLOAD_MB`` overrides the 200 MB default."""
    return int(float(os.environ.get("WORKBENCH_MAX_UPLOAD_MB", DEFAULT_MAX_UPLOAD_MB)) * 1024 * 1024)
