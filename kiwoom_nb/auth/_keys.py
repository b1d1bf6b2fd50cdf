"""Where Kiwoom keys come from: the environment, Colab secrets, the OS keyring, a terminal prompt.

No IPython and no printing (notes go to a ``warn`` callable). The one thing ever written is kiwoom_nb's
own keyring entry, on request; the official toolkit's (kiwoomcli) entries and files are only read.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any, Callable

from .._errors import CredentialsError, KeyringUnavailableError

__all__ = ["ENV_NAMES", "NO_OS_KEYRING", "SERVICE", "find_keys", "forget_keys", "keyring_note", "keyring_problem",
           "prompt_keys", "remember_keys"]

log = logging.getLogger("kiwoom_nb")

ENV_NAMES = {False: ("KIWOOM_APPKEY", "KIWOOM_SECRETKEY"), True: ("KIWOOM_MOCK_APPKEY", "KIWOOM_MOCK_SECRETKEY")}

#: kiwoom_nb's own keyring service; the user name is the environment, the password a small JSON
#: object holding both keys, so one entry is saved and removed at once.
SERVICE = "kiwoom_nb"

#: A keyring can block (D-Bus without a session, a locked store waiting for a dialog): reads give up
#: after READ_TIMEOUT, a save or removal after WRITE_TIMEOUT. The thread doing it is a daemon.
READ_TIMEOUT = 2.0
WRITE_TIMEOUT = 10.0

HEADLESS = (
    "no Kiwoom keys found and this frontend cannot ask for them (nbclient, papermill, nbval): "
    "set KIWOOM_APPKEY and KIWOOM_SECRETKEY in the environment"
)
HEADLESS_MOCK = (
    "no Kiwoom mock-trading keys found and this frontend cannot ask for them (nbclient, papermill, nbval): "
    "set KIWOOM_MOCK_APPKEY and KIWOOM_MOCK_SECRETKEY in the environment"
)
#: --mock with only production keys in the environment: said at once, rather than asking in a panel.
ONLY_PRODUCTION = (
    "no mock-trading keys: KIWOOM_APPKEY / KIWOOM_SECRETKEY are production keys and are never used for mock "
    "trading; set KIWOOM_MOCK_APPKEY and KIWOOM_MOCK_SECRETKEY (or type them: %kiwoom_login --mock --panel)"
)

# The official toolkit (PyPI kwcli, command kiwoomcli). Verified by reading kwcli 1.0.3's source
# (kiwoom/core/secrets.py, profiles.py, settings.py, platform_paths.py, runtime.py):
# - mode entries: service "kiwoom-real" / "kiwoom-demo", user names "appkey" and "secretkey";
# - profile entries: service "kiwoom-profile-" + sha256(alias as UTF-8).hexdigest()[:16], same user names;
# - profiles live in Path(platformdirs.user_config_dir("kiwoom")) / "settings.json" as
#   {"profiles": {alias: {"mode": "real" | "demo"}}, "current_profile": alias}, the alias stripped;
# - KIWOOM_PROFILE names a profile and wins over current_profile.
# Assumed, not verified: that later kwcli versions keep this layout (it is not a documented interface).
KWCLI_MODE = {False: "real", True: "demo"}


def entry_name(mock: bool) -> str:
    return "mock" if mock else "production"


# -- environment and Colab ---------------------------------------------------------------------


def _pairs(mock: bool) -> list[tuple[str, str]]:
    """Mock uses only the mock names: production keys are never borrowed (they would log in to production)."""
    return [ENV_NAMES[mock]]


def only_production_keys(mock: bool) -> bool:
    """Mock keys asked for while the environment holds only production ones: a mistake worth one line."""
    app, secret = ENV_NAMES[False]
    return mock and bool(os.environ.get(app, "").strip() and os.environ.get(secret, "").strip())


def environment_appkey(mock: bool) -> str | None:
    """An app key set in the environment without its secret key (the panel then asks only for the secret)."""
    return next((os.environ[a].strip() for a, _ in _pairs(mock) if os.environ.get(a, "").strip()), None)


def _environment_keys(mock: bool) -> tuple[str, str, str] | None:
    for app_name, secret_name in _pairs(mock):
        appkey, secretkey = os.environ.get(app_name, "").strip(), os.environ.get(secret_name, "").strip()
        if appkey and secretkey:
            return appkey, secretkey, f"environment {app_name}/{secret_name}"
    return None


def _colab_keys(mock: bool) -> tuple[str, str, str] | None:
    if "google.colab" not in sys.modules:
        return None
    try:
        from google.colab import userdata  # type: ignore[import-not-found]
    except ImportError:
        return None
    for app_name, secret_name in _pairs(mock):
        try:
            appkey, secretkey = userdata.get(app_name), userdata.get(secret_name)
        except Exception:  # noqa: BLE001 - SecretNotFoundError, NotebookAccessError, ...
            continue
        if appkey and secretkey:
            return appkey.strip(), secretkey.strip(), f"Colab secrets {app_name}/{secret_name}"
    return None


def find_keys(mock: bool, *, warn: Callable[[str], None] | None = None) -> tuple[str | None, str | None, str]:
    """(appkey, secretkey, source), first found: environment, Colab secrets, the OS keyring.

    ``source`` names where they came from, never a value. When no pair is found it is
    (an app key set alone in the environment or None, None, ""). The keyring is imported and read
    only when the environment and Colab gave nothing, and never for longer than READ_TIMEOUT.
    """
    found = _environment_keys(mock) or _colab_keys(mock) or _keyring_keys(mock, warn or log.warning)
    if found:
        return found
    return environment_appkey(mock), None, ""


# -- the OS keyring ----------------------------------------------------------------------------


class _NoAnswer(Exception):
    pass


_stuck: threading.Thread | None = None  # a keyring call that never returned; later calls skip at once


def _bounded(job: Callable[[], Any], timeout: float) -> Any:
    """Run ``job`` in a daemon thread and return its result; raise _NoAnswer after ``timeout`` seconds."""
    global _stuck
    if _stuck is not None and _stuck.is_alive():
        raise _NoAnswer
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = job()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            box["error"] = exc

    thread = threading.Thread(target=run, name="kiwoom_nb keyring", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        _stuck = thread
        raise _NoAnswer
    if "error" in box:
        raise box["error"]
    return box.get("value")


_NO_SECURE = "no secure OS keyring is available here"

#: What the login panel says when there is no secure keyring: a fact about the machine, not an error. Which backends
#: keyring offers (the technical detail --remember's error keeps) goes to the log.
NO_OS_KEYRING = "이 환경에는 OS 키링이 없습니다 — no OS keyring here (headless Linux, containers, the demo): keys are not saved"


def _is_secure(backend: Any) -> bool:
    from keyring.backends import chainer, fail, null

    if isinstance(backend, (fail.Keyring, null.Keyring, chainer.ChainerBackend)):
        return False
    cls = type(backend)
    # keyrings.alt's backends (plaintext file, "encrypted" file asking for a password on stdin,
    # Windows registry) are not the OS's secure store; neither is anything calling itself plaintext.
    name = f"{cls.__module__}.{cls.__name__}".lower()
    return not (cls.__module__.startswith("keyrings.alt") or "plaintext" in name or "insecure" in name)


def _secure_backends() -> tuple[list[Any], str]:
    """The keyring backends that keep keys in the OS's secure store, best first, or ([], why none)."""
    try:
        import keyring
        from keyring.backends import chainer
    except ImportError:
        return [], "the keyring package is not installed (pip install keyring)"
    current = keyring.get_keyring()
    candidates = list(current.backends) if isinstance(current, chainer.ChainerBackend) else [current]
    secure = [backend for backend in candidates if _is_secure(backend)]
    if secure:
        return secure, ""
    names = ", ".join(f"{type(b).__module__}.{type(b).__name__}" for b in candidates) or "nothing"
    return [], f"{_NO_SECURE} (keyring offers {names})"


def _kwcli_profile(mock: bool) -> str | None:
    """kiwoomcli's current profile (or $KIWOOM_PROFILE) when its mode is this environment's."""
    try:
        from platformdirs import user_config_dir

        payload = json.loads((Path(user_config_dir("kiwoom")) / "settings.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("profiles"), dict):
        return None
    alias = os.environ.get("KIWOOM_PROFILE", "").strip() or payload.get("current_profile")
    if not isinstance(alias, str) or not alias.strip():
        return None
    profile = payload["profiles"].get(alias.strip())
    return alias.strip() if isinstance(profile, dict) and profile.get("mode") == KWCLI_MODE[mock] else None


def _read_keyring(mock: bool) -> tuple[str, str, str] | None:
    backends, _ = _secure_backends()
    if not backends:
        return None
    for backend in backends:
        saved = _parse_entry(backend.get_password(SERVICE, entry_name(mock)))
        if saved:
            return (*saved, f"OS keyring (kiwoom_nb, {entry_name(mock)})")
    services = []
    alias = _kwcli_profile(mock)
    if alias:
        import hashlib  # here, not at the top: %load_ext stays cheap

        digest = hashlib.sha256(alias.encode("utf-8")).hexdigest()[:16]
        services.append((f"kiwoom-profile-{digest}", f"OS keyring (kiwoomcli profile {alias})"))
    services.append((f"kiwoom-{KWCLI_MODE[mock]}", f"OS keyring (kiwoomcli kiwoom-{KWCLI_MODE[mock]})"))
    for service, source in services:
        for backend in backends:
            appkey, secretkey = backend.get_password(service, "appkey"), backend.get_password(service, "secretkey")
            if appkey and secretkey and appkey.strip() and secretkey.strip():
                return appkey.strip(), secretkey.strip(), source
    return None


def _parse_entry(raw: str | None) -> tuple[str, str] | None:
    try:
        entry = json.loads(raw) if raw else None
    except ValueError:
        return None
    if not isinstance(entry, dict):
        return None
    appkey, secretkey = entry.get("appkey"), entry.get("secretkey")
    if isinstance(appkey, str) and isinstance(secretkey, str) and appkey.strip() and secretkey.strip():
        return appkey.strip(), secretkey.strip()
    return None


def _keyring_keys(mock: bool, warn: Callable[[str], None]) -> tuple[str, str, str] | None:
    try:
        return _bounded(lambda: _read_keyring(mock), READ_TIMEOUT)
    except _NoAnswer:
        warn(f"the OS keyring did not answer within {READ_TIMEOUT:g} s; skipped it")
    except Exception as exc:  # noqa: BLE001 - a locked or broken keyring must not stop the login
        warn(f"the OS keyring could not be read ({type(exc).__name__}); skipped it")
    return None


def keyring_problem() -> str:
    """Why keys cannot be saved here, or "" when a secure OS keyring is available."""
    try:
        return _bounded(lambda: _secure_backends()[1], READ_TIMEOUT)
    except _NoAnswer:
        return f"the OS keyring did not answer within {READ_TIMEOUT:g} s"
    except Exception as exc:  # noqa: BLE001
        return f"the OS keyring failed ({type(exc).__name__})"


def keyring_note() -> str:
    """keyring_problem() in the panel's words: "" when keys can be saved, NO_OS_KEYRING when no secure keyring
    exists here (the backends on offer are logged at INFO), else the problem (a keyring that fails or hangs)."""
    problem = keyring_problem()
    if problem.startswith(_NO_SECURE):
        log.info("kiwoom_nb: keys cannot be saved: %s", problem)
        return NO_OS_KEYRING
    return problem


def _write(job: Callable[[list[Any]], Any], what: str, *, required: bool = True) -> Any:
    def run() -> Any:
        backends, problem = _secure_backends()
        if not backends and required:
            raise KeyringUnavailableError(f"cannot {what}: {problem}")
        return job(backends)

    try:
        return _bounded(run, WRITE_TIMEOUT)
    except KeyringUnavailableError:
        raise
    except _NoAnswer:
        raise KeyringUnavailableError(
            f"cannot {what}: the OS keyring did not answer within {WRITE_TIMEOUT:g} s") from None
    except Exception as exc:  # noqa: BLE001 - keyring errors carry backend text; the type name is enough
        raise KeyringUnavailableError(f"cannot {what}: the OS keyring failed ({type(exc).__name__})") from None


def remember_keys(appkey: str, secretkey: str, *, mock: bool) -> str:
    """Save the keys in the OS keyring under kiwoom_nb's own entry for this environment; returns where.

    Raises KeyringUnavailableError (and writes nothing anywhere) when no secure keyring is available.
    """
    value = json.dumps({"appkey": appkey.strip(), "secretkey": secretkey.strip()})
    _write(lambda backends: backends[0].set_password(SERVICE, entry_name(mock), value), "save the keys")
    return f"OS keyring (kiwoom_nb, {entry_name(mock)})"


def forget_keys(mock: bool | None = None) -> list[str]:
    """Remove the keys kiwoom_nb saved in the OS keyring: both environments, or only ``mock``'s.

    Returns the environments removed ("production", "mock"). kiwoomcli's entries are never touched.
    With no secure keyring nothing can have been saved, so nothing is removed.
    """
    names = [entry_name(False), entry_name(True)] if mock is None else [entry_name(mock)]

    def remove(backends: list[Any]) -> list[str]:
        removed = []
        for backend in backends:
            for name in names:
                if backend.get_password(SERVICE, name) is not None:
                    backend.delete_password(SERVICE, name)
                    removed.append(name)
        return sorted(set(removed), key=names.index)

    return _write(remove, "remove the saved keys", required=False)


# -- asking in a terminal ----------------------------------------------------------------------


def prompt_keys(mock: bool, appkey: str | None, *, stdin_allowed: bool) -> tuple[str, str, str]:
    """Ask for the keys with getpass (the app key only when not given). Raises CredentialsError."""
    if not stdin_allowed:
        raise CredentialsError(HEADLESS_MOCK if mock else HEADLESS)
    import getpass  # here, not at the top: %load_ext stays cheap

    label = "모의투자 (mock)" if mock else "실전투자 (production)"
    try:
        if not appkey:
            appkey = getpass.getpass(f"Kiwoom {label} app key (앱키): ")
        secretkey = getpass.getpass(f"Kiwoom {label} secret key (시크릿키): ")
    except (EOFError, KeyboardInterrupt):
        raise CredentialsError("login cancelled; no keys were read; run %kiwoom_login again") from None
    except Exception as exc:  # StdinNotImplementedError and friends: nobody can answer
        if type(exc).__name__ == "StdinNotImplementedError":
            raise CredentialsError(HEADLESS_MOCK if mock else HEADLESS) from None
        raise
    if not appkey.strip() or not secretkey.strip():
        raise CredentialsError("an empty key was entered; run %kiwoom_login again and paste both keys")
    return appkey, secretkey, "prompt"
