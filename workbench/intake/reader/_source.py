"""A file on disk or bytes in memory, opened once and refused early if missing, empty or too
large."""

from __future__ import annotations

import codecs
import contextlib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterator

from ._keys import HEAD_BYTES, _EMPTY, _NO_FILE, _TOO_LARGE
from ._models import ReaderError


@dataclass
class _Source:
    """A file on disk or bytes in memory, with its head read once."""

    path: Path | None
    data: bytes | None
    size: int
    head: bytes
    name: str

    @property
    def complete(self) -> bool:
        return len(self.head) >= self.size

    def arrow(self) -> Any:
        """Something pyarrow can read: the path (streamed) or the bytes (zero-copy)."""
        import pyarrow as pa

        return str(self.path) if self.path is not None else pa.py_buffer(self.data)

    @contextlib.contextmanager
    def stream(self) -> Iterator[BinaryIO]:
        """The content as an open binary stream. A stored upload is named by its hash,
        without an extension, so readers get the bytes, never a path they would judge by
        its name (openpyxl refuses a path that does not end in .xlsx)."""
        if self.path is None:
            yield io.BytesIO(self.data)
            return
        with self.path.open("rb") as fh:
            yield fh


def _open_source(source: str | os.PathLike[str] | bytes | bytearray | memoryview, name: str | None,
                 max_bytes: int | None) -> _Source:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        src = _Source(None, data, len(data), data[:HEAD_BYTES], name or "")
    else:
        path = Path(source)
        try:
            size = path.stat().st_size
            with path.open("rb") as fh:
                head = fh.read(HEAD_BYTES)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError):
            raise ReaderError(_NO_FILE, name=name or path.name) from None
        src = _Source(path, None, size, head, name or path.name)
    if max_bytes is not None and src.size > max_bytes:
        raise ReaderError(_TOO_LARGE, name=src.name, limit_mb=_mb(max_bytes), size_mb=_mb(src.size))
    if not src.head.strip(b" \t\r\n\x00" + codecs.BOM_UTF8 + codecs.BOM_UTF16_LE + codecs.BOM_UTF16_BE):
        raise ReaderError(_EMPTY, name=src.name)
    return src


def _mb(size: int) -> str:
    value = size / 1024**2
    return f"{value:.0f}" if value >= 10 else f"{value:.3g}"
