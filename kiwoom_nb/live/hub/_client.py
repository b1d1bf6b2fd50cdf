"""The kernel's side of the stream hub: where it listens, starting it on demand, and the link a Socket speaks over.

A ``HubSocket`` is kiwoom_nb.live._socket's Socket whose connection is a local link to the hub instead of Kiwoom's
WebSocket: LOGIN, REG / REMOVE, condition searches and PINGs keep their frames and their code paths (reconnects,
re-REG after one). The LOGIN sent to the hub carries no token: the hub logs in to Kiwoom with its own.

The keys go to a hub being started through its stdin pipe, never argv or the environment. On by default;
KIWOOM_STREAM_HUB=0 (false, no, off) or ``enabled(False)`` turns it off, and anything that stops the hub from starting
or answering falls back to the in-process socket (with one line saying so).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import secrets as _secrets
import socket as _socketmod
import stat
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ..._errors import CredentialsError, KiwoomError, KiwoomTimeout, NetworkError
from .._socket import Socket, TokenShare

__all__ = ["HubSocket", "enabled", "hub_dir", "hub_name", "open_link"]

log = logging.getLogger("kiwoom_nb")

_setting: bool | None = None  # enabled(); None: KIWOOM_STREAM_HUB decides
#: the values of KIWOOM_STREAM_HUB that turn the hub off (anything else, or nothing, leaves it on)
OFF = ("0", "false", "no", "off")
#: the one line a process falls back with (said once per process)
FALLBACK = ("kiwoom_nb: the stream hub is not available ({why}); this process keeps its own WebSocket, and another "
            "process streaming with the same app key will stop it (Kiwoom R10001)")
_fallback_said = False


def enabled(value: bool | None = None) -> bool:
    """Whether streams share the machine's hub; ``enabled(True / False)`` sets it for this process."""
    global _setting
    if value is not None:
        _setting = bool(value)
    if _setting is not None:
        return _setting
    return os.environ.get("KIWOOM_STREAM_HUB", "").strip().lower() not in OFF


def hub_dir() -> Path:
    """The per-user directory (0700, ours) holding the hubs' sockets, the authkey and their logs."""
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")  # a relative one is ignored (XDG's rule): the hub runs elsewhere
    base = Path(runtime) if os.path.isabs(runtime) and Path(runtime).is_dir() else Path(tempfile.gettempdir())
    path = base / f"kiwoom_nb-hub-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    info = path.lstat()
    if info.st_uid != os.getuid() or (info.st_mode & 0o077) or not path.is_dir() or path.is_symlink():
        raise OSError(f"{path} is not a private directory of this user")
    return path


def authkey(folder: Path) -> bytes:
    """The hubs' authkey (mode 0600), made on first use. It appears whole (written aside, then linked into place):
    a process starting at the same moment never reads it half written. One that is not whole (a crash of an older
    version between creating and writing it) is made again."""
    path = folder / "authkey"
    for _ in range(2):
        try:
            info = path.lstat()
        except FileNotFoundError:
            pass
        else:
            if info.st_uid != os.getuid() or (info.st_mode & 0o077) or not stat.S_ISREG(info.st_mode):
                raise OSError(f"{path} is not private")
            key = path.read_bytes().strip()
            if len(key) >= 32:
                return key
            path.unlink(missing_ok=True)  # empty or cut short: no key to trust
        key = _secrets.token_hex(32).encode()
        aside = folder / f"authkey.{os.getpid()}.{_secrets.token_hex(4)}"
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key)
        try:
            os.link(aside, path)  # fails if another process's key got there first: then that one is read
            return key
        except FileExistsError:
            pass
        finally:
            aside.unlink(missing_ok=True)
    raise OSError(f"{path} could not be made")


def hub_name(app_key: str, url: str, base_url: str | None, mock: bool, secret_key: str = "") -> str:
    """The hub of one app key and secret key at one WebSocket and REST server: a digest (no key is ever in a path).
    The secret key is in it: a process with another secret key (a wrong one) gets a hub of its own, which Kiwoom
    refuses, and never streams through the hub another secret key logged in."""
    text = "\n".join((app_key, url, base_url or "", "mock" if mock else "production", secret_key))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Link:
    """One connection to the hub, shaped as the websockets connection Socket uses: send, recv(timeout), close,
    ``socket.shutdown`` (to wake a reader), ``close_timeout``. ``peers``: other processes on the hub;
    ``on_rejoined``: called (on the reading thread) when the hub's own socket to Kiwoom reconnected."""

    def __init__(self, conn: Any) -> None:
        self.conn, self.close_timeout, self.peers = conn, 1.0, 0
        self.socket = self
        self.on_rejoined: Any = None
        self._lock = threading.Lock()

    def send(self, text: str) -> None:
        message = json.loads(text)
        if message.get("trnm") == "LOGIN":  # the hub logs in with its own token: ours stays here
            text = json.dumps({"trnm": "LOGIN", "pid": os.getpid()})
        try:
            with self._lock:
                self.conn.send_bytes(text.encode())
        except (OSError, EOFError, ValueError) as exc:
            raise OSError(f"the stream hub went away ({type(exc).__name__})") from None

    def recv(self, timeout: float | None = None) -> str:
        try:
            if not self.conn.poll(timeout):
                raise TimeoutError("no frame from the stream hub")
            text = self.conn.recv_bytes().decode()
        except (EOFError, ValueError) as exc:
            raise OSError(f"the stream hub went away ({type(exc).__name__})") from None
        if text.startswith('{"trnm": "PING"'):
            ping = json.loads(text)
            self.peers = int(ping.get("peers", 0))
            if ping.get("rejoined") and self.on_rejoined is not None:
                self.on_rejoined()  # the hub's own socket reconnected
        return text

    def shutdown(self, how: int = _socketmod.SHUT_RDWR) -> None:
        try:
            fd = os.dup(self.conn.fileno())
        except (OSError, ValueError):
            return
        with _socketmod.socket(fileno=fd) as sock:
            try:
                sock.shutdown(how)
            except OSError:
                pass

    def close(self) -> None:
        self.shutdown()
        try:
            self.conn.close()
        except OSError:
            pass


class _HubTokens(TokenShare):
    """The streams' token share, asked for no token to log in with: the hub logs in with its own (an own-key
    stream then issues one only if a REST call needs it, e.g. to look a name up)."""

    def current(self) -> Any:
        return ""


class HubSocket(Socket):
    """A Socket whose connection is a Link to the machine's hub (started again if it went)."""

    def __init__(self, key: tuple, url: str, tokens: Any, *, timeout: float, silence: float, first: Link) -> None:
        super().__init__(key, url, tokens, timeout=timeout, silence=silence)
        self.tokens = _HubTokens(tokens)
        self._first_link: Link | None = first
        self.link: Link | None = None
        self._rids = itertools.count(1)

    @property
    def peers(self) -> int:
        link = self.link
        return link.peers if link is not None and self.state == "connected" else 0

    def _connect(self) -> Any:
        link, self._first_link = self._first_link, None
        if link is None:
            link = open_link(self.tokens.source, self.url, self.timeout)
        self.link = link
        link.on_rejoined = self._hub_rejoined
        return link

    def _login(self) -> None:
        """As Socket's, except that a hub going away before the first LOGIN is answered (killed, or ending its grace
        period as this process connected) is not a network failure: a new link, and a new hub if need be."""
        for attempt in range(3):
            try:
                return super()._login()
            except TimeoutError:
                raise  # a hub that does not answer: starting another would not help
            except OSError:
                if self._first.is_set() or self._stop.is_set() or attempt == 2:
                    raise
                self._first_link = None

    @property
    def cut_late(self) -> bool:  # type: ignore[override]
        """A hub that answers with each request's ``rid`` (it says so at LOGIN): a late answer answers nobody, and the
        link stays (cutting it would drop this process's items at the hub while another's request holds it up). A hub
        of an older version: the link is cut, as a connection to Kiwoom is."""
        return not self.login_answer.get("rids")

    def _send(self, frame: dict[str, Any], trnm: str, match: Any = None) -> Any:
        if self.cut_late:  # an older hub would send the rid on to Kiwoom
            return super()._send(frame, trnm, match)
        rid = next(self._rids)
        return super()._send({**frame, "rid": rid}, trnm, lambda m: m.get("rid") == rid and (match is None or match(m)))

    def request(self, frame: dict[str, Any], trnm: str, match: Any = None, timeout: float | None = None) -> dict[str, Any]:
        """As Socket's; the hub's own request failing (its connection dropped, no answer) is raised as it would be in
        process, not read as Kiwoom refusing."""
        answer = super().request(frame, trnm, match, timeout)
        if answer.get("failed"):
            raise (KiwoomTimeout if answer["failed"] == "KiwoomTimeout" else NetworkError)(str(answer.get("return_msg")))
        return answer

    def _hub_rejoined(self) -> None:
        """The hub reconnected to Kiwoom (and registered everything again): one reconnect here too, told to the
        streams as their own socket's would be (boards mark rows stale, orders re-read Kiwoom's state)."""
        self.reconnects += 1
        for stream in list(self.streams):
            stream._socket_rejoined()


def open_link(tokens: Any, url: str, timeout: float) -> Link:
    """A link to the hub of ``tokens``' key at ``url``, starting the hub if none answers. Raises OSError."""
    import fcntl
    from multiprocessing.connection import Client

    folder = hub_dir()
    key = authkey(folder)
    name = hub_name(tokens.app_key, url, tokens.base_url, tokens.mock, tokens.secrets[1])
    address = str(folder / f"{name}.sock")
    if len(os.fsencode(address)) >= 108:  # AF_UNIX's limit (sun_path)
        raise OSError(f"the hub's socket path would be too long for AF_UNIX ({folder})")

    def connect() -> Link | None:
        try:
            return Link(Client(address, family="AF_UNIX", authkey=key))
        except (FileNotFoundError, ConnectionRefusedError, ConnectionResetError, BrokenPipeError, EOFError):
            return None  # no hub, or one closing as we came: (start and) ask a new one
        except Exception as exc:  # noqa: BLE001 - AuthenticationError, EOFError: one line
            raise OSError(f"the stream hub refused this process ({type(exc).__name__})") from None

    link = connect()
    if link is not None:
        return link
    deadline = time.monotonic() + timeout * 2 + 10
    with open(folder / f"{name}.lock", "a") as lock:  # one process starts the hub; the others wait for it
        while True:  # for as long as a start may take: the holder may be stuck (a terminal's Ctrl-Z, SIGSTOP)
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise OSError("another process started the stream hub and did not finish") from None
                time.sleep(0.05)  # polling for the lock, bounded by the deadline
        link = connect()
        if link is not None:
            return link
        process = _spawn(folder, name, address, tokens, url, timeout)
        deadline = time.monotonic() + timeout * 2 + 10
        while time.monotonic() < deadline:
            link = connect()
            if link is not None:
                return link
            if process.poll() is not None:
                raise _why_not(folder / f"{name}.log")
            time.sleep(0.05)  # polling for the hub's socket file, bounded by the deadline
        raise OSError("the stream hub did not start in time")


def _why_not(log_path: Path) -> Exception:
    """Why the hub exited at start: Kiwoom's refusal of its login (a KiwoomError: the stream stops, as an in-process
    one does), else an OSError (the stream falls back, or tries again)."""
    try:
        lines = log_path.read_text("utf-8", "replace").splitlines()
    except OSError:
        lines = []
    said = [line.split(" hub: ", 1)[1].split(" could not log in: ", 1) for line in lines
            if " hub: " in line and " could not log in: " in line]
    if said:
        kind, why = said[-1]
        return (CredentialsError if kind in ("CredentialsError", "EnvironmentMismatchError") else KiwoomError)(why)
    return OSError(f"the stream hub exited at start (its log: {log_path})")


def _spawn(folder: Path, name: str, address: str, tokens: Any, url: str, timeout: float) -> Any:
    import subprocess

    appkey, secretkey = tokens.secrets
    log_path = folder / f"{name}.log"
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    os.fchmod(fd, 0o600)  # a log left with another mode is made private again
    env = {k: v for k, v in os.environ.items()
           if not k.upper().startswith("KIWOOM_") and appkey not in v and secretkey not in v}
    package_root = str(Path(__file__).resolve().parents[3])
    try:
        process = subprocess.Popen([sys.executable, "-m", "kiwoom_nb.live.hub", str(log_path)],
                                   stdin=subprocess.PIPE, stdout=fd, stderr=fd, close_fds=True, cwd=package_root,
                                   env=env, start_new_session=True)
    finally:
        os.close(fd)
    settings = {"appkey": appkey, "secretkey": secretkey, "mock": bool(tokens.mock), "base_url": tokens.base_url,
                "url": url, "timeout": timeout, "address": address, "authkey": str(folder / "authkey"),
                "grace": os.environ.get("KIWOOM_HUB_GRACE", "")}  # the hub's environment has no KIWOOM_*
    try:
        process.stdin.write(json.dumps(settings).encode())
        process.stdin.close()
    except OSError:
        pass
    return process


def hub_socket(key: tuple, url: str, tokens: Any, *, timeout: float, silence: float) -> Socket | None:
    """A HubSocket for ``tokens`` at ``url``, or None (with the one fallback line) when the hub is not there."""
    global _fallback_said
    if not enabled() or getattr(tokens, "transport", None) is not None or not hasattr(os, "getuid"):
        return None
    try:
        link = open_link(tokens, url, timeout)
    except CredentialsError:
        raise  # Kiwoom refused these keys: the stream would be refused in process too (and said so twice)
    except (OSError, KiwoomError) as exc:
        if not _fallback_said:
            _fallback_said = True
            log.warning(FALLBACK.format(why=str(exc)))
        return None
    return HubSocket(key, url, tokens, timeout=timeout, silence=silence, first=link)
