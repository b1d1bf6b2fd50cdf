"""The stream hub (issue 34): real processes with the same app key, each with its own Stream, against the fake's
WebSocket. What the fake saw (LOGINs, REG / REMOVE, revokes) and what each process printed. No sleeps."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from support import CANARY, wait_for

pytest.importorskip("pandas")

#: one process: a Stream watching argv's items of 0B; says what it got, closes on "close", exits.
SCRIPT = textwrap.dedent("""
    import json, sys, time
    from kiwoom_nb.live._stream import Stream
    appkey, secretkey, base_url, ws_url, items = sys.argv[1:6]
    items = items.split(",")
    live = Stream(appkey, secretkey, base_url=base_url, ws_url=ws_url)
    live.watch(items, "0B")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        seen = set(live.frame("0B")["item"]) if live.status.received else set()
        if set(items) <= seen:
            break
        time.sleep(0.05)
    print(json.dumps({"seen": sorted(seen), "hub": type(live._socket).__name__}), flush=True)
    base = {}
    for line in sys.stdin:
        if line.strip() == "mark":
            base = {k: len(v) for k, v in live._buffers.items()}
            print("{}", flush=True)
        elif line.strip() == "fresh":  # items with an event since "mark"
            rows = list(live._buffers.get("0B", ()))[base.get("0B", 0):]
            print(json.dumps({"fresh": sorted({row[1] for row in rows})}), flush=True)  # (type, item, ...)
        elif line.strip() == "status":
            print(json.dumps({"status": str(live.status),
                              "seen": sorted(set(live.frame("0B")["item"])), "n": live.status.received}), flush=True)
        elif line.strip() == "close":
            break
    live.close()
    print(json.dumps({"closed": True}), flush=True)
""")


@pytest.fixture
def runtime(hub_runtime):
    """The test's private runtime dir (conftest's hub_runtime: a short path, its hubs checked gone afterwards)."""
    return hub_runtime


@pytest.fixture
def hub_env(fake, runtime):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIWOOM_")}
    env.update(XDG_RUNTIME_DIR=runtime, KIWOOM_STREAM_HUB="1", KIWOOM_HUB_GRACE="1", PYTHONUNBUFFERED="1")
    import kiwoom_nb  # the processes import the kiwoom_nb under test

    env["PYTHONPATH"] = os.pathsep.join([str(Path(kiwoom_nb.__file__).resolve().parents[1]), env.get("PYTHONPATH", "")])
    yield env
    for log in Path(runtime).glob("kiwoom_nb-hub-*/*.log"):  # the hub's log: no key, no token
        text = log.read_text()
        assert not [s for s in (*CANARY["production"], *(t.value for t in fake.tokens)) if s in text]


class Proc:
    def __init__(self, fake, env, items):
        appkey, secretkey = CANARY["production"]
        self.p = subprocess.Popen([sys.executable, "-c", SCRIPT, appkey, secretkey, fake.url, fake.ws_url,
                                   ",".join(items)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                  env=env)

    def read(self):
        line = self.p.stdout.readline()
        assert line, f"the process ended ({self.p.wait()})"
        return json.loads(line)

    def ask(self, what):
        self.p.stdin.write(what + "\n")
        self.p.stdin.flush()
        return self.read()

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()


@pytest.fixture
def procs(fake, hub_env):
    made = []

    def start(items):
        made.append(Proc(fake, hub_env, items))
        return made[-1]

    yield start
    for proc in made:
        proc.kill()


def logins(fake):
    return [f for f in fake.ws.received("LOGIN")]


def regs(fake, trnm):
    return [(f.data["data"][0]["type"][0], sorted(f.data["data"][0]["item"])) for f in fake.ws.received(trnm)]


def test_two_processes_share_one_websocket_none_is_kicked_and_each_gets_its_own_items(fake, procs):
    a, b = procs(["005930", "000660"]), procs(["000660", "035720"])
    got_a, got_b = a.read(), b.read()

    assert len(logins(fake)) == 1 and not fake.ws.received("SYSTEM")  # one socket: nobody kicked
    assert set(got_a["seen"]) >= {"005930", "000660"} and set(got_b["seen"]) >= {"000660", "035720"}
    assert got_a["hub"] == got_b["hub"] == "HubSocket"
    state_a, state_b = a.ask("status"), b.ask("status")
    assert state_a["status"].startswith("connected (shared with 1 other process)")
    assert state_b["status"].startswith("connected (shared with 1 other process)")
    assert set(state_a["seen"]) == {"005930", "000660"} and set(state_b["seen"]) == {"000660", "035720"}

    assert a.ask("close") == {"closed": True}  # only 005930 was a's alone
    wait_for(lambda: regs(fake, "REMOVE"), 10, "the REMOVE of a's own item")
    assert regs(fake, "REMOVE") == [("0B", ["005930"])]
    before = b.ask("status")["n"]
    wait_for(lambda: b.ask("status")["n"] > before + 3, 10, "b still getting events")
    [hub_token] = [f.data["token"] for f in logins(fake)]
    assert hub_token not in [r.body["token"] for r in fake.revokes]  # the hub's token stays while b streams
    assert b.ask("close") == {"closed": True}
    wait_for(lambda: hub_token in [r.body["token"] for r in fake.revokes], 20, "the hub's revoke")


def test_the_hub_exits_after_the_last_client_and_revokes_its_token(fake, procs, hub_env):
    a = procs(["005930"])
    a.read()
    assert len(fake.tokens) == 1  # the hub's: a logs in to the hub, not to Kiwoom
    assert a.ask("close") == {"closed": True}
    a.p.wait(10)
    wait_for(lambda: len(fake.revokes) == 1, 20, "the hub's revoke after its grace period")
    [log] = Path(hub_env["XDG_RUNTIME_DIR"]).glob("kiwoom_nb-hub-*/*.log")
    assert "grace 1 s)" in log.read_text()
    assert {r.body["token"] for r in fake.revokes} == {t.value for t in fake.tokens}
    wait_for(lambda: not fake.ws.live(), 10, "the socket closed")
    [(_, code, closed_at)] = fake.ws.closes
    assert code == 1000 and closed_at <= fake.revokes[0].at  # a clean close first, then the revoke
    wait_for(lambda: "revoked its token; exiting" in log.read_text(), 10, "the hub's last line")
    assert "Traceback" not in log.read_text()  # it ended as it says, not by a crash (and the exit revoke)


def test_a_sigkilled_client_is_dropped_and_its_items_removed(fake, procs):
    a, b = procs(["005930"]), procs(["000660"])
    a.read(), b.read()
    a.p.send_signal(signal.SIGKILL)
    a.p.wait()
    wait_for(lambda: regs(fake, "REMOVE") == [("0B", ["005930"])], 10, "the dead client's REMOVE")
    assert b.ask("status")["status"].startswith("connected (") and "shared" not in b.ask("status")["status"]
    assert len(logins(fake)) == 1


def test_the_hub_directory_is_private_and_a_connection_without_the_authkey_is_refused(fake, procs, hub_env):
    from multiprocessing.connection import Client

    a = procs(["005930"])
    a.read()
    [folder] = Path(hub_env["XDG_RUNTIME_DIR"]).glob("kiwoom_nb-hub-*")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "authkey").stat().st_mode) == 0o600
    [sock] = folder.glob("*.sock")
    assert CANARY["production"][0] not in sock.name
    with pytest.raises(Exception) as refused:
        Client(str(sock), family="AF_UNIX", authkey=b"not the key")
    assert "AuthenticationError" in type(refused.value).__name__ or isinstance(refused.value, (OSError, EOFError))
    assert a.ask("status")["status"].startswith("connected")


def test_a_sigkilled_hub_is_replaced_and_every_client_registers_again(fake, procs, hub_env):
    a, b = procs(["005930"]), procs(["000660"])
    a.read(), b.read()
    [log] = Path(hub_env["XDG_RUNTIME_DIR"]).glob("kiwoom_nb-hub-*/*.log")
    pid = int(log.read_text().split("serving (pid ")[1].split(",")[0])
    os.kill(pid, signal.SIGKILL)

    for proc in (a, b):
        wait_for(lambda: (lambda st: st.startswith("connected") and "1 reconnects" in st)(proc.ask("status")["status"]),
                 20, "one reconnect through a new hub")
    assert len(logins(fake)) == 2  # the new hub's, after the old one's socket went
    second = max(f.connection for f in fake.ws.received("LOGIN"))
    again = sorted(tuple(f.data["data"][0]["item"]) for f in fake.ws.received("REG") if f.connection == second)
    assert again == [("000660",), ("005930",)]
    [first] = [f.data["token"] for f in logins(fake) if f.connection != second]
    wait_for(lambda: first in [r.body["token"] for r in fake.revokes], 20, "the killed hub's token revoked (revoker)")
    a.ask("mark"), b.ask("mark")
    wait_for(lambda: a.ask("fresh")["fresh"] == ["005930"] and b.ask("fresh")["fresh"] == ["000660"], 10,
             "events through the new hub")


def test_sigterm_ends_the_hub_cleanly_and_its_client_moves_to_a_new_one(fake, procs, hub_env):
    a = procs(["005930"])
    a.read()
    [log] = Path(hub_env["XDG_RUNTIME_DIR"]).glob("kiwoom_nb-hub-*/*.log")
    pid = int(log.read_text().split("serving (pid ")[1].split(",")[0])
    [first] = [f.data["token"] for f in logins(fake)]
    os.kill(pid, signal.SIGTERM)

    wait_for(lambda: first in [r.body["token"] for r in fake.revokes], 20, "the old hub's revoke")
    wait_for(lambda: a.ask("status")["status"].startswith("connected") and len(logins(fake)) == 2, 20, "a new hub")
    assert "1 reconnects" in a.ask("status")["status"]
    a.ask("mark")
    wait_for(lambda: a.ask("fresh")["fresh"] == ["005930"], 10, "events through the new hub")


def test_a_hub_folder_that_is_not_private_falls_back_in_process_with_one_line(fake, monkeypatch, caplog, runtime):
    from kiwoom_nb.live._stream import Stream
    from kiwoom_nb.live.hub import _client

    runtime = Path(runtime)
    (runtime / f"kiwoom_nb-hub-{os.getuid()}").mkdir(mode=0o755)
    os.chmod(runtime / f"kiwoom_nb-hub-{os.getuid()}", 0o755)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("KIWOOM_STREAM_HUB", "1")
    monkeypatch.setattr(_client, "_fallback_said", False)
    appkey, secretkey = CANARY["production"]
    with caplog.at_level("WARNING", logger="kiwoom_nb"):
        live = Stream(appkey, secretkey, base_url=fake.url, ws_url=fake.ws_url)
    try:
        live.watch(["005930"], "0B")
        wait_for(lambda: live.status.received > 0, 10, "events in process")
        lines = [r.getMessage() for r in caplog.records if "stream hub" in r.getMessage()]
        assert len(lines) == 1 and "not a private directory" in lines[0] and "R10001" in lines[0]
        assert type(live._socket).__name__ == "Socket" and str(live.status).startswith("connected (")
        assert not list((runtime / f"kiwoom_nb-hub-{os.getuid()}").iterdir())  # no authkey in a shared folder
    finally:
        live.close()


@pytest.mark.kernel
def test_two_kernels_with_the_setting_on_share_the_hub_and_both_get_their_items(fake, start_kernel, kernel_env,
                                                                                  runtime):
    from support import logged_in

    env = dict(kernel_env, XDG_RUNTIME_DIR=runtime, KIWOOM_HUB_GRACE="1")
    kernels = [logged_in(start_kernel, "%config KiwoomMagics.stream_hub = True", "%kiwoom_login", env=env)
               for _ in range(2)]
    for kernel, code in zip(kernels, ("005930", "000660")):
        kernel.ok(f"import kiwoom_nb\nlive = kiwoom_nb.stream(); live.watch(['{code}'], '0B')")
    for kernel, code in zip(kernels, ("005930", "000660")):
        wait_for(lambda: kernel.ok("print(sorted(set(live.frame('0B')['item'])) if live.status.received else [])")
                 .stdout.strip() == f"['{code}']", 15, "the kernel's own item")
    assert len(fake.ws.received("LOGIN")) == 1 and not fake.ws.received("SYSTEM")
    assert "shared with 1 other process" in kernels[0].ok("print(live.status)").stdout


def test_a_process_without_the_hub_still_kicks_the_hubs_socket_and_its_clients_say_so(fake, procs):
    from kiwoom_nb.live._stream import Stream
    from kiwoom_nb.live.hub import _client

    a = procs(["005930"])
    a.read()
    _client.enabled(False)
    try:
        appkey, secretkey = CANARY["production"]
        with Stream(appkey, secretkey, base_url=fake.url, ws_url=fake.ws_url) as old:
            wait_for(lambda: a.ask("status")["status"].startswith("stopped"), 15, "the hub's client told")
            assert "another program or notebook connected" in a.ask("status")["status"]
            assert str(old.status).startswith("connected")
    finally:
        _client.enabled(None)


def test_three_processes_remove_only_what_nobody_else_watches(fake, procs):
    a, b, c = procs(["005930", "000660"]), procs(["000660", "035720"]), procs(["035720"])
    for proc in (a, b, c):
        proc.read()
    assert len(logins(fake)) == 1 and not fake.ws.received("SYSTEM")
    wait_for(lambda: "shared with 2 other processes" in c.ask("status")["status"], 10, "c sees two others")
    assert set(c.ask("status")["seen"]) == {"035720"}

    assert b.ask("close") == {"closed": True}
    c.ask("mark"), a.ask("mark")
    wait_for(lambda: c.ask("fresh")["fresh"] == ["035720"] and a.ask("fresh")["fresh"] == ["000660", "005930"], 10,
             "a and c still getting theirs")
    assert regs(fake, "REMOVE") == []  # 000660 is a's too, 035720 c's
    assert c.ask("close") == {"closed": True}
    wait_for(lambda: regs(fake, "REMOVE") == [("0B", ["035720"])], 10, "the REMOVE of c's last item")


def test_a_client_sending_a_malformed_request_is_dropped_and_the_others_stream_on(fake, procs, hub_env):
    from multiprocessing.connection import Client

    a = procs(["005930"])
    a.read()
    [folder] = Path(hub_env["XDG_RUNTIME_DIR"]).glob("kiwoom_nb-hub-*")
    [sock] = folder.glob("*.sock")
    key = (folder / "authkey").read_bytes().strip()
    for bad in (b'{"trnm": "REMOVE", "data": "not a list of parts"}', b"not json at all", b"[1, 2]"):
        rogue = Client(str(sock), family="AF_UNIX", authkey=key)
        rogue.send_bytes(b'{"trnm": "LOGIN", "pid": 1}')
        rogue.send_bytes(bad)  # the hub may hang up at once: each bad request gets a connection of its own
        with pytest.raises((EOFError, ConnectionResetError)):  # the hub hangs up on it
            while True:
                rogue.recv_bytes()
        rogue.close()
    a.ask("mark")
    wait_for(lambda: a.ask("fresh")["fresh"] == ["005930"], 10, "a still streaming")
    assert len(logins(fake)) == 1 and regs(fake, "REMOVE") == []


def test_a_new_hub_that_kiwoom_refuses_stops_its_clients_with_kiwooms_reason(fake, procs, hub_env):
    a = procs(["005930"])
    a.read()
    [log] = Path(hub_env["XDG_RUNTIME_DIR"]).glob("kiwoom_nb-hub-*/*.log")
    pid = int(log.read_text().split("serving (pid ")[1].split(",")[0])
    fake.ws.refuse_next_login(times=2)  # the new hub's LOGIN, and the one after its re-issue
    os.kill(pid, signal.SIGKILL)

    wait_for(lambda: a.ask("status")["status"].startswith("stopped"), 20, "a stopped")
    assert "Kiwoom refused the stream's LOGIN" in a.ask("status")["status"]
    assert len(logins(fake)) == 3  # the first hub's, then the new one's two; no endless retries


def test_streams_of_one_key_opened_from_many_threads_at_once_start_one_hub_and_each_gets_its_items(fake):
    """The hub is started while the in-process registry lock is held: threads opening streams of one key at once
    neither deadlock nor start two hubs; each stream gets data, and the fake sees one LOGIN."""
    from kiwoom_nb.live._stream import Stream
    from support import in_threads

    appkey, secretkey = CANARY["production"]
    codes = ["005930", "000660", "035720", "035420", "051910", "006400"]

    def open_and_watch(code):
        live = Stream(appkey, secretkey, base_url=fake.url, ws_url=fake.ws_url)
        live.watch([code], "0B")
        return live

    streams, errors = in_threads(open_and_watch, [(code,) for code in codes], timeout=60)
    try:
        assert errors == []
        assert {type(live._socket).__name__ for live in streams} == {"HubSocket"}
        assert len({id(live._socket) for live in streams}) == 1  # one socket in this process, to one hub
        for live, code in zip(streams, codes):
            wait_for(lambda: live.status.received and set(live.frame("0B")["item"]) == {code}, 15, f"{code}'s events")
        assert len(logins(fake)) == 1 and not fake.ws.received("SYSTEM")
    finally:
        for live in streams:
            if live is not None:
                live.close()
    [hub_token] = [f.data["token"] for f in logins(fake)]
    wait_for(lambda: hub_token in [r.body["token"] for r in fake.revokes], 20, "the hub's revoke after the last close")


def test_a_drop_of_the_hubs_own_socket_is_one_reconnect_in_every_client(fake, procs):
    """The hub reconnects to Kiwoom by itself; each client counts it as one reconnect (a board marks its rows stale,
    orders read Kiwoom's state again), as it would with a socket of its own, and streams on."""
    a, b = procs(["005930"]), procs(["000660"])
    a.read(), b.read()
    fake.ws.drop()

    for proc in (a, b):
        wait_for(lambda: (lambda st: st.startswith("connected") and "1 reconnects" in st)(proc.ask("status")["status"]),
                 20, "one reconnect told by the hub")
    assert len(logins(fake)) == 2 and len({f.data["token"] for f in logins(fake)}) == 1  # the hub again, its token
    a.ask("mark"), b.ask("mark")
    wait_for(lambda: a.ask("fresh")["fresh"] == ["005930"] and b.ask("fresh")["fresh"] == ["000660"], 10,
             "events after the hub's reconnect")


@pytest.mark.parametrize("value", ["0", "false", "No", " off "])
def test_the_hub_is_on_unless_kiwoom_stream_hub_says_off(monkeypatch, value):
    from kiwoom_nb.live.hub import _client
    from kiwoom_nb.notebook._settings import Settings

    monkeypatch.setattr(_client, "_setting", None)
    monkeypatch.delenv("KIWOOM_STREAM_HUB", raising=False)
    assert _client.enabled() is True and Settings().stream_hub is True
    monkeypatch.setenv("KIWOOM_STREAM_HUB", value)
    assert _client.enabled() is False and Settings().stream_hub is False
    monkeypatch.setenv("KIWOOM_STREAM_HUB", "1")
    assert _client.enabled() is True


def test_entries_kiwoom_sends_before_a_regs_answer_reach_the_stream(fake, open_stream):
    """The REG's first entry comes before its answer, and with a still market it is the only one. The hub once took
    the client's items only at the answer and dropped it (b8a2dd1 fixed that)."""
    fake.ws.real_before_answer = True  # and no ticks (open_stream): the entry before the answer is all there is
    live = open_stream()
    try:
        got: list = []
        live.on("0B", got.append)
        live.watch(["005930"], "0B")
        assert type(live._socket).__name__ == ("Socket" if os.environ.get("KIWOOM_STREAM_HUB") == "0" else "HubSocket")
        wait_for(lambda: got, 10, "the entry sent before the REG's answer")
        assert [e.item for e in got] == ["005930"]
    finally:
        live.close()


def test_a_refused_reg_leaves_nothing_watched(fake, open_stream):
    """Items are watched from before the REG goes: Kiwoom's refusal takes them back, and the items watched before it
    still arrive."""
    from kiwoom_nb import RequestError

    live = open_stream()
    try:
        got: list = []
        live.on("0B", got.append)
        live.on("0D", got.append)
        live.watch(["005930"], "0B")
        fake.ws.refuse_types = {"0B", "0D"}
        with pytest.raises(RequestError):
            live.watch(["000660"], "0B")
        with pytest.raises(RequestError):
            live.watch(["000660"], "0D")
        entry = lambda kind, item: {"type": kind, "item": item, "name": "", "values": {"10": "+60500"}}  # noqa: E731
        fake.ws.send_raw(json.dumps({"trnm": "REAL", "data": [entry("0B", "000660"), entry("0D", "000660"),
                                                               entry("0D", "005930"), entry("0B", "005930")]}))
        wait_for(lambda: got, 10, "the watched item's entry")
        assert [(e.type, e.item) for e in got] == [("0B", "005930")]
        assert live.status.received == 1
    finally:
        live.close()
