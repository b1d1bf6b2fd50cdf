"""Keyring backends for tests. They store in the JSON file named by $KIWOOM_TEST_KEYRING, never in the
developer's own keyring. Real kernels select one with PYTHON_KEYRING_BACKEND=keyring_backends.FileKeyring
and tests/ on PYTHONPATH (see tests/conftest.py ``keyring_env``).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import KeyringLocked, PasswordDeleteError


class FileKeyring(KeyringBackend):
    """A keyring in one JSON file: {service: {username: password}}."""

    priority = 1  # type: ignore[assignment]

    @staticmethod
    def path() -> Path:
        return Path(os.environ["KIWOOM_TEST_KEYRING"])

    def entries(self) -> dict[str, dict[str, str]]:
        try:
            return json.loads(self.path().read_text("utf-8"))
        except FileNotFoundError:
            return {}

    def _save(self, entries: dict[str, dict[str, str]]) -> None:
        self.path().write_text(json.dumps(entries), "utf-8")

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries().get(service, {}).get(username)

    def set_password(self, service: str, username: str, password: str) -> None:
        entries = self.entries()
        entries.setdefault(service, {})[username] = password
        self._save(entries)

    def delete_password(self, service: str, username: str) -> None:
        entries = self.entries()
        if username not in entries.get(service, {}):
            raise PasswordDeleteError(f"{service}/{username} not found")
        del entries[service][username]
        self._save(entries)


class LockedKeyring(FileKeyring):
    """A keyring whose every read fails, like a locked store."""

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("the test keyring is locked")


class HangingKeyring(FileKeyring):
    """A keyring whose reads do not come back (a D-Bus call with nobody answering)."""

    def get_password(self, service: str, username: str) -> str | None:
        threading.Event().wait()  # never set: the call never returns, the reader must give up on its own
        return None
