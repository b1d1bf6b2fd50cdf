"""The stream hub (issue 34): real processes with the same app key, each with its own Stream, against the fake's
WebSocket. What the fake saw (LOGINs, REG / REMOVE, revokes) and what each process printed. No sleeps."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
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
    for line in sys.stdin:
        if line.strip() == "status":
            print(json.dumps({"status": str(live.status),
                              "seen": sorted(set(live.frame("0B")["item"])), "n": live.status.received}), flush=True)
        elif line.strip() == "close":
            break
    live.close()
    print(json.dumps({"closed": True}), flush=True)
""")


@pytest.fixture
def hub_env(fake, monkeypatch):
    runtime = tempfile.mkdtemp(prefix="kh", dir="/tmp")  # short: an AF_UNIX path has ~100 characters
    os.chmod(runtime, 0o700)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIWOOM_")}
    env.update(XDG_RUNTIME_DIR=runtime, KIWOOM_STREAM_HUB="1", KIWOOM_HUB_GRACE="1", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH", "")])
    yield env
    for sock in Path(runtime).glob("kiwoom_nb-hub-*/*.log"):
        assert CANARY["production"][0] not in sock.read_text() and CANARY["production"][1] not in sock.read_text()


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

    assert got_a["hub"] == got_b["hub"] == "HubSocket"
    assert set(got_a["seen"]) >= {"005930", "000660"} and set(got_b["seen"]) >= {"000660", "035720"}
    assert len(logins(fake)) == 1 and not fake.ws.received("SYSTEM")  # one socket: nobody kicked
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


def test_the_hub_exits_after_the_last_client_and_revokes_its_token(fake, procs):
    a = procs(["005930"])
    a.read()
    assert len(fake.tokens) == 2  # a's own and the hub's
    assert a.ask("close") == {"closed": True}
    a.p.wait(10)
    wait_for(lambda: len(fake.revokes) == 2, 20, "the hub's revoke after its grace period")
    assert {r.body["token"] for r in fake.revokes} == {t.value for t in fake.tokens}
    wait_for(lambda: not fake.ws.live(), 10, "the socket closed")


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
