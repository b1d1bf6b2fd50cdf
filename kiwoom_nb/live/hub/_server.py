"""The stream hub process: one Kiwoom WebSocket (kiwoom_nb.live._socket's Socket, with its own token) for every
process of this user streaming with one app key at one server.

Each client (a kernel's HubSocket) is a "stream" on that socket: its REGs are sent on (an item stays registered while
any client watches it; REMOVE goes to Kiwoom only when the last one stops), condition searches are its own, and it
gets only the REAL entries it watches. A client that goes (even SIGKILLed: its connection ends) is dropped. The hub
exits GRACE seconds after its last client left, on SIGTERM, or when Kiwoom stops the socket; it closes the socket,
then revokes its token. Logs go to a 0600 file, never with a key, a token or a frame.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import sys
import threading
import time
from typing import Any

from ..._errors import KiwoomError, KiwoomTimeout
from .._conn import close_quietly
from .._socket import Socket
from .._taking import ACCOUNT, EXCHANGES
from .._traffic import KICKED
from .._wire import _chunks, reg_frame
from ._log import Bounded

log = logging.getLogger("kiwoom_nb")

#: seconds the hub stays after its last client left (a kernel restarting comes back to it); KIWOOM_HUB_GRACE of the
#: process that starts it sets another
GRACE = 3.0
#: seconds a new hub waits for its first client (the process that started it may be slow to connect on a loaded
#: machine, and Kiwoom's login may have taken longer than the grace period)
FIRST = 10.0
#: seconds between the hub's PINGs to each client (they carry how many other processes share the hub)
PING_EVERY = 20.0
ENTRIES = 100_000  # REAL entries kept for a client that does not read, however big its frames; the rest lost
#: the hub's GIL switch interval (s; default 0.005): a thread woken by a hand-off waits less (no user code runs here)
SWITCH = 0.0005


class Client:
    """One connected process, seen by the Socket as a stream: ``_take`` only filters and queues."""

    def __init__(self, hub: "Hub", conn: Any) -> None:
        self.hub, self.conn, self.pid = hub, conn, 0
        self.watched: dict[str, set[str]] = {}
        self.conditions: set[str] = set()
        self.out: queue.SimpleQueue = queue.SimpleQueue()
        self.lost, self.queued = 0, 0  # queued: entries in ``out`` (ENTRIES), under _count_lock (_take and pump)
        self._count_lock = threading.Lock()
        self._send_lock = threading.Lock()
        self.gone = False

    def _take(self, entries: list[dict[str, Any]], joined: list[str], at: Any) -> None:
        """One REAL frame's entries (checked by _wire.read_frame): the client's, queued as one item, in order."""
        mine = []
        for entry in entries:
            kind = entry["type"]
            items = self.watched.get(kind)
            if items is None and not (kind == "02" and self.conditions):
                continue
            item = entry["item"]
            if items and "" not in items and kind not in ACCOUNT and item not in items \
                    and not (item[:6] in items and item[6:] in EXCHANGES):
                continue
            mine.append(entry)
        if not mine:
            return
        with self._count_lock:
            if self.queued >= ENTRIES:
                self.lost += len(mine)
                return
            self.queued += len(mine)
        self.out.put(mine)

    def _socket_stopped(self) -> None:
        self.out.put(None)

    def _socket_rejoined(self) -> None:
        """The hub's socket logged in again: the client counts a reconnect, as an in-process socket's streams would."""
        try:
            peers = {c.pid or id(c) for c in self.hub.others(self)} - {self.pid or id(self)}
            self.send({"trnm": "PING", "peers": len(peers), "rejoined": True})
        except (OSError, ValueError):
            pass

    def send(self, message: dict[str, Any]) -> None:
        with self._send_lock:
            self.conn.send_bytes(json.dumps(message, ensure_ascii=False).encode())

    def pump(self) -> None:
        """The client's sender: REAL entries in frames of about 100 at most, in order."""
        try:
            while True:
                batch = self.out.get()
                if batch is None:
                    break
                while len(batch) < 100:  # what queued meanwhile goes in the same frame
                    try:
                        more = self.out.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        self.out.put(None)
                        break
                    batch += more
                with self._count_lock:
                    self.queued -= len(batch)
                with self._send_lock:  # orjson when installed: the frame is encoded once per batch, ~5x faster
                    self.conn.send_bytes(_encode({"trnm": "REAL", "data": batch}))
        except (OSError, ValueError):
            pass

    def serve(self) -> None:
        """The client's requests, one at a time, until it goes."""
        try:
            while True:
                message = json.loads(self.conn.recv_bytes().decode())
                rid = message.pop("rid", None)  # the client's, for its answer; never sent on to Kiwoom
                answer = self.hub.handle(self, message)
                if answer is not None:
                    self.send(answer if rid is None else {**answer, "rid": rid})
        except (OSError, EOFError, ValueError):
            pass
        except Exception as exc:  # noqa: BLE001 - a frame of the wrong shape ends this client, never the hub
            log.info("kiwoom_nb hub: dropped a client after a bad request (%s)", type(exc).__name__)
        finally:
            self.hub.drop(self)


class Hub:
    def __init__(self, socket: Socket) -> None:
        self.socket = socket
        self.lock = threading.RLock()
        self.clients: list[Client] = []
        self.left_at = time.monotonic()
        self.served = False  # a client came once: from then on the grace period, not FIRST, ends the hub
        self.stop = threading.Event()

    def others(self, client: Client) -> list[Client]:
        return [c for c in self.clients if c is not client]

    def handle(self, client: Client, message: dict[str, Any]) -> dict[str, Any] | None:
        trnm = str(message.get("trnm", ""))
        socket = self.socket
        if trnm == "LOGIN":  # answered without the lock: another client's request may be waiting on Kiwoom with it
            client.pid = int(message.get("pid") or 0)
            self.tell_peers()
            if socket.stopped:
                return {"trnm": "LOGIN", "return_code": 1, "return_msg": socket.why or "the hub stopped"}
            return {"trnm": "LOGIN", "return_code": 0, "return_msg": "", "rids": 1}  # answers carry the request's rid
        with self.lock:
            try:
                if trnm == "REG":  # watched before it goes: Kiwoom may send first entries before its answer
                    before, answer = {kind: set(items) for kind, items in client.watched.items()}, None
                    parts = [(kind, p.get("item") or ()) for p in message.get("data") or () for kind in p.get("type") or ()]
                    for kind, items in parts:  # a new set: the reading thread never meets a half-made one
                        client.watched[kind] = client.watched.get(kind, set()) | set(items)
                    try:
                        answer = socket.request(message, "REG")
                    finally:  # refused: not watched; no answer: kept, so the hub's reconnect registers it (a client
                        if answer is not None and str(answer.get("return_code", "0")).strip() not in ("0", ""):
                            client.watched = before  # that gave up on it REMOVEs it; its restoring REGs stay)
                        else:
                            with socket._send_lock:
                                for kind, items in parts:
                                    socket.regs.setdefault(kind, set()).update(items)
                    return answer
                if trnm == "REMOVE":
                    for part in message.get("data") or ():
                        for kind in part.get("type") or ():
                            self.remove(client, kind, list(part.get("item") or ()))
                    return {"trnm": "REMOVE", "return_code": 0, "return_msg": ""}
                if trnm.endswith("CNSRCLR"):
                    seq = str(message.get("seq", ""))
                    client.conditions.discard(seq)
                    if any(seq in c.conditions for c in self.others(client)):
                        return {"trnm": trnm, "return_code": 0, "return_msg": "", "seq": seq}
                    socket.conditions.discard(seq)
                    return socket.request(message, trnm)
                if trnm.endswith("CNSRREQ"):
                    if not socket.listed:  # logged in again since the client's CNSRLST: Kiwoom wants one per connection
                        socket.request({"trnm": socket.prefix + "CNSRLST"}, socket.prefix + "CNSRLST")
                        socket.listed = True
                    seq = str(message.get("seq", "")).strip()
                    answer = socket.request(message, trnm, match=lambda m: str(m.get("seq", "")).strip() == seq)
                    if str(message.get("search_type")) == "1":
                        client.conditions.add(seq)
                        socket.conditions.add(seq)
                    return answer
                if trnm.endswith("CNSRLST"):
                    socket.listed = True
                    return socket.request(message, trnm)
            except KiwoomError as exc:  # the hub's own request failed (a drop, no answer): not Kiwoom's refusal
                return {"trnm": trnm, "return_code": 1, "return_msg": str(exc), "seq": message.get("seq", ""),
                        "failed": "KiwoomTimeout" if isinstance(exc, KiwoomTimeout) else "NetworkError"}
        return None  # the echo of a PING, or a frame the hub does not serve

    def remove(self, client: Client, kind: str, codes: list[str]) -> None:
        """``client`` stops watching ``codes`` of ``kind``: REMOVE those nobody else watches (with the lock)."""
        if left := client.watched.get(kind, set()) - set(codes):  # one assignment: an empty set would let all in
            client.watched[kind] = left
        else:
            client.watched.pop(kind, None)
        others = set().union(*(c.watched.get(kind, set()) for c in self.others(client)))
        gone = [c for c in codes if c not in others]
        with self.socket._send_lock:
            self.socket.regs.get(kind, set()).difference_update(gone)
        if gone and self.socket.state == "connected":
            for chunk in _chunks(gone):
                self.socket.request(reg_frame(chunk, kind, "REMOVE"), "REMOVE")

    def add(self, client: Client) -> None:
        """Without the lock (appends are atomic): a request waiting on Kiwoom with it must not hold new clients."""
        self.served = True
        self.clients.append(client)
        self.socket.streams.append(client)

    def drop(self, client: Client) -> None:
        with self.lock:
            if client.gone:
                return
            client.gone = True
            if client in self.clients:
                self.clients.remove(client)
            if client in self.socket.streams:
                self.socket.streams.remove(client)
            client.out.put(None)
            try:
                for kind, items in list(client.watched.items()):
                    self.remove(client, kind, sorted(items))
                for seq in sorted(client.conditions - set().union(*(c.conditions for c in self.clients))):
                    self.socket.conditions.discard(seq)
                    if self.socket.state == "connected":
                        self.socket.request({"trnm": self.socket.prefix + "CNSRCLR", "seq": seq},
                                            self.socket.prefix + "CNSRCLR")
            except KiwoomError as exc:
                log.info("kiwoom_nb hub: dropping a client: %s", exc)
            close_quietly(client.conn)
            if not self.clients:
                self.left_at = time.monotonic()
            self.tell_peers()
            log.info("kiwoom_nb hub: a client left; %d remain", len(self.clients))

    def tell_peers(self) -> None:
        """A PING to every client, with how many other processes share the hub."""
        for client in list(self.clients):
            pids = {c.pid or id(c) for c in self.clients if c is not client} - {client.pid or id(client)}
            try:
                client.send({"trnm": "PING", "peers": len(pids)})
            except (OSError, ValueError):
                pass

    def kicked(self) -> None:
        """Kiwoom stopped the socket: a kick is told to every client as one (they stop); otherwise they reconnect."""
        with self.lock:
            clients = list(self.clients)
        for client in clients:
            try:
                if self.socket.why == KICKED:
                    client.send({"trnm": "SYSTEM", "code": "R10001", "message": "kicked"})
            except (OSError, ValueError):
                pass
            self.drop(client)


def main(argv: list[str] | None = None) -> int:
    from ...auth._tokens import KeyTokens

    argv = sys.argv[1:] if argv is None else argv
    sys.setswitchinterval(SWITCH)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", handlers=[Bounded(sys.stderr)])
    settings = json.loads(sys.stdin.read())
    sys.stdin.close()
    with open(settings["authkey"], "rb") as file:
        authkey = file.read().strip()
    address, url, timeout = settings["address"], settings["url"], float(settings["timeout"])
    grace = _number(settings.get("grace"), GRACE)
    tokens = KeyTokens(settings["appkey"], settings["secretkey"], mock=settings["mock"],
                       base_url=settings["base_url"], timeout=timeout, transport=None, margin=600.0, kind="Stream")
    del settings
    socket = Socket((tokens.app_key, url), url, tokens, timeout=timeout, silence=120.0)
    hub = Hub(socket)
    signal.signal(signal.SIGTERM, lambda *_: hub.stop.set())
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        socket.start()
    except KiwoomError as exc:
        log.warning("kiwoom_nb hub: %s could not log in: %s", type(exc).__name__, exc)
        _revoke(tokens)
        return 1
    listener = None
    try:  # whatever ends the hub from here (its socket file cannot be made, ...) closes the socket and revokes
        listener = _serve(hub, address, authkey, grace)
    finally:
        try:
            if listener is not None:
                listener.close()  # no new client from now on (it unlinks the socket file too)
        except OSError:  # the file went already (a new hub's start took its place): ours is closed all the same
            pass
        for client in list(hub.clients):
            hub.drop(client)
        socket.close(2.0)
        _revoke(tokens)
        log.info("kiwoom_nb hub: closed the socket and revoked its token; exiting")
    return 0


def _serve(hub: Hub, address: str, authkey: bytes, grace: float) -> Any:
    """Listen at ``address`` and serve until the hub is idle past ``grace``, told to stop, or stopped by Kiwoom;
    returns the listener (still open)."""
    from multiprocessing.connection import Listener

    socket = hub.socket
    try:
        os.unlink(address)  # a hub killed before leaves its file; the starting client holds the lock
    except FileNotFoundError:
        pass
    listener = Listener(address, family="AF_UNIX", authkey=authkey)
    os.chmod(address, 0o600)
    with hub.lock:
        hub.left_at = time.monotonic()  # the wait for the first client starts now, not before the login
    log.info("kiwoom_nb hub: serving (pid %d, grace %g s)", os.getpid(), grace)
    threading.Thread(target=_accept, args=(hub, listener), name="kiwoom-hub-accept", daemon=True).start()
    last_ping = time.monotonic()
    while not hub.stop.wait(0.2):
        if socket.stopped:
            hub.kicked()
            break
        with hub.lock:
            idle = not hub.clients and time.monotonic() - hub.left_at >= (grace if hub.served else max(grace, FIRST))
        if idle:
            break
        if time.monotonic() - last_ping >= PING_EVERY:
            last_ping = time.monotonic()
            with hub.lock:
                hub.tell_peers()
    return listener


try:  # the REAL batches: orjson when installed, ~5x faster
    from orjson import dumps as _dumps
except ImportError:
    def _dumps(message: Any) -> bytes:
        return json.dumps(message, ensure_ascii=False).encode()


def _encode(message: Any) -> bytes:
    """JSON bytes; a lone surrogate (json reads "\\ud800") is escaped instead of ending a client's pump."""
    try:
        return _dumps(message)
    except (TypeError, ValueError):  # orjson's JSONEncodeError is a TypeError, json's UnicodeEncodeError a ValueError
        return json.dumps(message).encode()


def _accept(hub: Hub, listener: Any) -> None:
    while not hub.stop.is_set():
        try:
            conn = listener.accept()
        except Exception as exc:  # noqa: BLE001 - OSError, EOFError, AuthenticationError (no authkey; not an OSError)
            if hub.stop.is_set() or getattr(listener, "_listener", None) is None:
                return
            log.info("kiwoom_nb hub: refused a connection (%s)", type(exc).__name__)
            continue
        client = Client(hub, conn)
        hub.add(client)
        threading.Thread(target=client.pump, name="kiwoom-hub-send", daemon=True).start()
        threading.Thread(target=client.serve, name="kiwoom-hub-client", daemon=True).start()


def _revoke(tokens: Any) -> None:
    try:
        tokens.close(timeout=5.0)
    except KiwoomError as exc:
        log.warning("kiwoom_nb hub: could not revoke the hub's token now (%s)", exc)


def _number(text: Any, default: float) -> float:
    try:
        return float(text) if 0 <= float(text) <= 3600 else default
    except (TypeError, ValueError):
        return default
