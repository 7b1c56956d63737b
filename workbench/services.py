"""The open workbench: home folder, registry, file store and keys, opened together.

Pages, the CLI and the tests get everything through one ``Workbench`` object, so no
caller assembles paths itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .config import Home
from .registry.db import Registry


@dataclass
class Workbench:
    home: Home
    registry: Registry
    _store: object = field(default=None, repr=False)
    _keys: object = field(default=None, repr=False)

    @classmethod
    def open(cls, root: str | Path | None = None) -> "Workbench":
        from .upkeep.backup import recover

        home = Home(Path(root).resolve()) if root is not None else Home.from_env()
        if home.root.is_dir():
            recover(home.root)  # finish a restore a killed process left half-done; drop old leftovers
        home.ensure()
        registry = Registry(home.db_path)
        registry.attach_log_key()  # events are sealed with a key kept outside the database
        return cls(home=home, registry=registry)

    @property
    def store(self):
        """The content-addressed file store under ``home/files``."""
        if self._store is None:
            from .intake.storage import FileStore

            self._store = FileStore(self.home.root)
        return self._store

    @property
    def keys(self):
        """The committee's signing keys under ``home/keys``."""
        if self._keys is None:
            from .decision.signing import KeyStore

            self._keys = KeyStore(self.home.root, demo_registry=lambda: self.registry.get_meta("demo") == "1")
        return self._keys

    def close(self) -> None:
        self.registry.close()
