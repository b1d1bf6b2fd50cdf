"""Key resolution as plain library code: environment, Colab, the OS keyring (ours and kiwoomcli's), saving.

A real keyring backend that stores in a temp file (tests/keyring_backends.py), set with
``keyring.set_keyring``; never the developer's own keyring.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import keyring
import keyring.core
import pytest
from keyring.backends import fail, null
from keyrings.alt.file import PlaintextKeyring

from kiwoom_nb import KeyringUnavailableError
from kiwoom_nb.auth import _keys
from keyring_backends import FileKeyring, HangingKeyring, LockedKeyring
from support import CANARY

APPKEY, SECRETKEY = CANARY["production"]
MOCK_APPKEY, MOCK_SECRETKEY = CANARY["mock"]


@pytest.fixture
def store(monkeypatch, tmp_path):
    """A FileKeyring in tmp_path as the current keyring; returns it."""
    for name in [n for n in __import__("os").environ if n.startswith("KIWOOM_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("KIWOOM_TEST_KEYRING", str(tmp_path / "keyring.json"))
    monkeypatch.setattr(_keys, "_stuck", None)
    backend = FileKeyring()
    keyring.set_keyring(backend)
    return backend


def use(monkeypatch, backend) -> None:
    monkeypatch.setattr(keyring.core, "_keyring_backend", backend)


def kwcli_settings(tmp_path: Path, profiles: dict[str, str], current: str | None) -> None:
    """settings.json where kiwoomcli keeps it: platformdirs' user config dir "kiwoom" (XDG_CONFIG_HOME is tmp)."""
    directory = tmp_path / "config" / "kiwoom"
    directory.mkdir(parents=True, exist_ok=True)
    payload: dict = {"profiles": {alias: {"mode": mode} for alias, mode in profiles.items()}}
    if current is not None:
        payload["current_profile"] = current
    (directory / "settings.json").write_text(json.dumps(payload, ensure_ascii=True), "utf-8")


def profile_service(alias: str) -> str:
    return "kiwoom-profile-" + hashlib.sha256(alias.encode("utf-8")).hexdigest()[:16]


def put_kwcli(backend, service: str, appkey: str, secretkey: str) -> None:
    backend.set_password(service, "appkey", appkey)
    backend.set_password(service, "secretkey", secretkey)


def notes() -> tuple[list[str], object]:
    seen: list[str] = []
    return seen, seen.append


# -- reading ----------------------------------------------------------------------------------------


def test_the_environment_wins_and_the_keyring_is_not_read(store, monkeypatch):
    store.set_password(_keys.SERVICE, "production", json.dumps({"appkey": "other", "secretkey": "other"}))
    monkeypatch.setenv("KIWOOM_APPKEY", APPKEY)
    monkeypatch.setenv("KIWOOM_SECRETKEY", SECRETKEY)
    use(monkeypatch, LockedKeyring())  # reading it would leave a note
    seen, warn = notes()
    assert _keys.find_keys(False, warn=warn) == (APPKEY, SECRETKEY, "environment KIWOOM_APPKEY/KIWOOM_SECRETKEY")
    assert seen == []


def test_nothing_anywhere_gives_no_keys_and_no_note(store):
    seen, warn = notes()
    assert _keys.find_keys(False, warn=warn) == (None, None, "")
    assert seen == []


def test_our_entry_is_read_per_environment(store):
    _keys.remember_keys(APPKEY, SECRETKEY, mock=False)
    assert _keys.find_keys(False) == (APPKEY, SECRETKEY, "OS keyring (kiwoom_nb, production)")
    assert _keys.find_keys(True) == (None, None, "")
    _keys.remember_keys(MOCK_APPKEY, MOCK_SECRETKEY, mock=True)
    assert _keys.find_keys(True) == (MOCK_APPKEY, MOCK_SECRETKEY, "OS keyring (kiwoom_nb, mock)")
    # one entry per environment, holding both keys
    assert sorted(store.entries()[_keys.SERVICE]) == ["mock", "production"]


def test_kwcli_mode_entries_match_the_environment(store):
    put_kwcli(store, "kiwoom-real", APPKEY, SECRETKEY)
    put_kwcli(store, "kiwoom-demo", MOCK_APPKEY, MOCK_SECRETKEY)
    assert _keys.find_keys(False) == (APPKEY, SECRETKEY, "OS keyring (kiwoomcli kiwoom-real)")
    assert _keys.find_keys(True) == (MOCK_APPKEY, MOCK_SECRETKEY, "OS keyring (kiwoomcli kiwoom-demo)")


def test_kwcli_current_profile_is_used_when_its_mode_matches(store, tmp_path, monkeypatch):
    put_kwcli(store, profile_service("실전계좌"), APPKEY, SECRETKEY)
    put_kwcli(store, profile_service("모의계좌"), MOCK_APPKEY, MOCK_SECRETKEY)
    put_kwcli(store, "kiwoom-real", "mode-app", "mode-secret")
    kwcli_settings(tmp_path, {"실전계좌": "real", "모의계좌": "demo"}, current="실전계좌")

    assert _keys.find_keys(False) == (APPKEY, SECRETKEY, "OS keyring (kiwoomcli profile 실전계좌)")
    # the current profile is a real one: mock does not use it, and there is no kiwoom-demo entry
    assert _keys.find_keys(True) == (None, None, "")

    monkeypatch.setenv("KIWOOM_PROFILE", "모의계좌")  # kiwoomcli's own override of current_profile
    assert _keys.find_keys(True) == (MOCK_APPKEY, MOCK_SECRETKEY, "OS keyring (kiwoomcli profile 모의계좌)")
    assert _keys.find_keys(False) == ("mode-app", "mode-secret", "OS keyring (kiwoomcli kiwoom-real)")


def test_ours_come_before_kwcli_and_a_broken_settings_file_is_ignored(store, tmp_path):
    put_kwcli(store, "kiwoom-real", "cli-app", "cli-secret")
    (tmp_path / "config" / "kiwoom").mkdir(parents=True)
    (tmp_path / "config" / "kiwoom" / "settings.json").write_text("{not json", "utf-8")
    assert _keys.find_keys(False)[2] == "OS keyring (kiwoomcli kiwoom-real)"
    _keys.remember_keys(APPKEY, SECRETKEY, mock=False)
    assert _keys.find_keys(False) == (APPKEY, SECRETKEY, "OS keyring (kiwoom_nb, production)")


def test_an_env_app_key_alone_is_kept_for_the_panel(store, monkeypatch):
    monkeypatch.setenv("KIWOOM_APPKEY", APPKEY)
    assert _keys.find_keys(False) == (APPKEY, None, "")
    assert _keys.environment_appkey(False) == APPKEY


# -- a keyring that fails or hangs ---------------------------------------------------------------


def test_a_keyring_that_raises_is_skipped_with_one_note(store, monkeypatch):
    use(monkeypatch, LockedKeyring())
    seen, warn = notes()
    assert _keys.find_keys(False, warn=warn) == (None, None, "")
    assert seen == ["the OS keyring could not be read (KeyringLocked); skipped it"]


def test_a_keyring_that_hangs_is_given_up_on_and_then_skipped_at_once(store, monkeypatch):
    monkeypatch.setattr(_keys, "READ_TIMEOUT", 0.2)
    use(monkeypatch, HangingKeyring())
    seen, warn = notes()
    assert _keys.find_keys(False, warn=warn) == (None, None, "")
    assert seen == ["the OS keyring did not answer within 0.2 s; skipped it"]
    stuck = _keys._stuck
    assert stuck is not None and stuck.is_alive() and stuck.daemon  # it cannot keep the kernel from exiting
    # the next try does not start another thread that would hang too
    assert _keys.find_keys(True, warn=warn) == (None, None, "")
    assert _keys._stuck is stuck and len(seen) == 2
    assert "did not answer" in _keys.keyring_problem()


# -- saving, and where it is refused -------------------------------------------------------------


@pytest.mark.parametrize("backend", [fail.Keyring, null.Keyring, PlaintextKeyring], ids=lambda b: b.__module__)
def test_no_secure_backend_means_nothing_is_read_or_written(store, monkeypatch, tmp_path, backend):
    store.set_password(_keys.SERVICE, "production", json.dumps({"appkey": APPKEY, "secretkey": SECRETKEY}))
    use(monkeypatch, backend())
    problem = _keys.keyring_problem()
    assert problem.startswith("no secure OS keyring is available here") and backend.__name__ in problem
    seen, warn = notes()
    assert _keys.find_keys(False, warn=warn) == (None, None, "") and seen == []
    with pytest.raises(KeyringUnavailableError) as info:
        _keys.remember_keys(MOCK_APPKEY, MOCK_SECRETKEY, mock=True)
    assert "\n" not in str(info.value) and MOCK_APPKEY not in str(info.value)
    assert _keys.forget_keys() == []
    # the plaintext backend would write under XDG_DATA_HOME (tmp): nothing is there, nor anywhere in tmp
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "keyring.json"]
    assert not [p for p in written if MOCK_SECRETKEY.encode() in p.read_bytes()]
    assert "mock" not in store.entries()[_keys.SERVICE]


def test_a_chainer_uses_only_its_secure_backends(store, monkeypatch, tmp_path):
    from keyring.backends import chainer

    plaintext = PlaintextKeyring()
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [plaintext, store])
    use(monkeypatch, chainer.ChainerBackend())
    assert _keys.keyring_problem() == ""
    _keys.remember_keys(APPKEY, SECRETKEY, mock=False)
    assert _parse(store.get_password(_keys.SERVICE, "production")) == {"appkey": APPKEY, "secretkey": SECRETKEY}
    assert not Path(plaintext.file_path).exists()


def _parse(raw):
    return json.loads(raw)


def test_forget_removes_only_our_entries(store):
    put_kwcli(store, "kiwoom-real", "cli-app", "cli-secret")
    _keys.remember_keys(APPKEY, SECRETKEY, mock=False)
    _keys.remember_keys(MOCK_APPKEY, MOCK_SECRETKEY, mock=True)
    assert _keys.forget_keys(mock=True) == ["mock"]
    assert _keys.find_keys(True) == (None, None, "")
    assert _keys.find_keys(False)[2] == "OS keyring (kiwoom_nb, production)"
    assert _keys.forget_keys() == ["production"]
    assert _keys.forget_keys() == []
    assert store.entries()["kiwoom-real"] == {"appkey": "cli-app", "secretkey": "cli-secret"}
    assert _keys.find_keys(False) == ("cli-app", "cli-secret", "OS keyring (kiwoomcli kiwoom-real)")


def test_a_keyring_that_fails_to_save_says_so_in_one_line(store, monkeypatch):
    class RefusingKeyring(FileKeyring):
        def set_password(self, service, username, password):
            raise keyring.errors.PasswordSetError(f"refused {password}")

    use(monkeypatch, RefusingKeyring())
    with pytest.raises(KeyringUnavailableError) as info:
        _keys.remember_keys(APPKEY, SECRETKEY, mock=False)
    assert str(info.value) == "cannot save the keys: the OS keyring failed (PasswordSetError)"
