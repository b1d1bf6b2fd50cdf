"""The stream hub under a hostile user, OS and network (review of issue 34): other secret keys on the same app key, a
hub that cannot listen after its login, a log or an authkey file left in a bad state, paths AF_UNIX cannot take.
Real processes against the fake's WebSocket; what the fake saw (LOGINs, tokens, revokes) and what each process got."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from support import CANARY, wait_for

pytest.importorskip("pandas")

#: one process: a Stream with argv's keys (then: seconds to wait for an event, the Stream's timeout) watching 005930
#: of 0B; says what it got (or why not), waits for stdin's end.
SCRIPT = textwrap.dedent("""
    import json, sys, time
    from kiwoom_nb.live._stream import Stream
    appkey, secretkey, base_url, ws_url = sys.argv[1:5]
    timeout = float(sys.argv[6]) if len(sys.argv) > 6 else 10.0
    try:
        live = Stream(appkey, secretkey, base_url=base_url, ws_url=ws_url, timeout=timeout)
        live.watch(["005930"], "0B")
    except Exception as exc:
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}", "n": 0}), flush=True)
        sys.stdin.read()
        raise SystemExit(0)
    deadline = time.monotonic() + float(sys.argv[5])
    while time.monotonic() < deadline and not live.status.received and not str(live.status).startswith("stopped"):
        time.sleep(0.05)
    print(json.dumps({"n": live.status.received, "status": str(live.status),
                      "hub": type(live._socket).__name__}), flush=True)
    sys.stdin.read()
    live.close()
""")


@pytest.fixture
def hub_env(fake, hub_runtime):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIWOOM_")}
    env.update(XDG_RUNTIME_DIR=hub_runtime, KIWOOM_HUB_GRACE="0.5", PYTHONUNBUFFERED="1")
    import kiwoom_nb  # the processes import the kiwoom_nb under test

    env["PYTHONPATH"] = os.pathsep.join([str(Path(kiwoom_nb.__file__).resolve().parents[1]), env.get("PYTHONPATH", "")])
    yield env
    for log in Path(hub_runtime).glob("kiwoom_nb-hub-*/*.log"):  # the hub's log: no key, no token
        text = log.read_text()
        assert not [s for s in (*CANARY["production"], *(t.value for t in fake.tokens)) if s in text]


@pytest.fixture
def start(fake, hub_env):
    made = []

    def run(secretkey=CANARY["production"][1], wait=20.0, env=None):
        p = subprocess.Popen([sys.executable, "-c", SCRIPT, CANARY["production"][0], secretkey, fake.url,
                              fake.ws_url, str(wait)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             env=env or hub_env)
        made.append(p)
        line = p.stdout.readline()
        assert line, f"the process ended ({p.wait()})"
        return p, json.loads(line)

    yield run
    for p in made:
        if p.poll() is None:
            p.stdin.close()
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def test_a_wrong_secret_key_on_the_same_app_key_does_not_stream_through_the_right_ones_hub(fake, start):
    """The hub was logged in with the right secret key: a process with another one must be refused as Kiwoom
    would refuse it in process, not handed the first one's live data."""
    good, said = start()
    assert said["n"] > 0 and said["hub"] == "HubSocket"

    wrong, said = start(secretkey="NOT-THE-SECRET-KEY", wait=5.0)
    assert said["n"] == 0, said  # no live data without the right secret key
    assert "error" in said or said["status"].startswith("stopped"), said
    assert len([t for t in fake.tokens]) == 1  # only the right secret key got a token


def test_a_hub_that_cannot_listen_after_its_login_closes_its_socket_and_revokes_its_token(fake, tmp_path):
    """The hub logged in, then its socket file cannot be made (its folder went): the token must not be left."""
    key = tmp_path / "authkey"
    key.write_bytes(b"k" * 64)
    settings = {"appkey": CANARY["production"][0], "secretkey": CANARY["production"][1], "mock": False,
                "base_url": fake.url, "url": fake.ws_url, "timeout": 5, "grace": "0.5", "authkey": str(key),
                "address": str(tmp_path / "gone" / "hub.sock")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIWOOM_")}
    import kiwoom_nb

    env["PYTHONPATH"] = str(Path(kiwoom_nb.__file__).resolve().parents[1])
    hub = subprocess.run([sys.executable, "-m", "kiwoom_nb.live.hub", str(tmp_path / "log")],
                         input=json.dumps(settings), text=True, capture_output=True, env=env, timeout=60)
    assert hub.returncode != 0
    assert len(fake.tokens) == 1
    assert [r.body["token"] for r in fake.revokes] == [fake.tokens[0].value]  # revoked before it exited
    wait_for(lambda: not fake.ws.live(), 10, "the hub's socket closed")
    [(_, code, closed_at)] = fake.ws.closes
    assert code == 1000 and closed_at <= fake.revokes[0].at  # a clean close first, then the revoke
    assert "revoked its token" in hub.stderr
    assert fake.tokens[0].value not in hub.stderr and CANARY["production"][1] not in hub.stderr


def test_a_hub_log_left_readable_by_others_is_made_private_again(fake, start, hub_env):
    a, said = start()
    assert said["hub"] == "HubSocket"
    a.stdin.close()
    a.wait(20)
    wait_for(lambda: len(fake.revokes) == 1, 20, "the first hub gone")
    [log] = Path(hub_env["XDG_RUNTIME_DIR"]).glob("kiwoom_nb-hub-*/*.log")
    wait_for(lambda: "exiting" in log.read_text(), 10, "the first hub's last line")
    log.chmod(0o644)

    b, said = start()
    assert said["hub"] == "HubSocket" and said["n"] > 0
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_an_empty_authkey_left_by_a_crash_is_made_again_not_used(fake, start, hub_env):
    """An authkey file with nothing in it (a process died between creating and writing it, or a reader came between
    the two) is no key: it is made again and the stream goes through the hub (it used to fall back in every
    process for good: each kicking the others), which refuses connections knowing only the empty key."""
    from multiprocessing.connection import Client

    folder = Path(hub_env["XDG_RUNTIME_DIR"]) / f"kiwoom_nb-hub-{os.getuid()}"
    folder.mkdir(mode=0o700)
    (folder / "authkey").touch(mode=0o600)

    a, said = start()
    assert said["hub"] == "HubSocket" and said["n"] > 0
    assert len((folder / "authkey").read_bytes().strip()) >= 32
    [sock] = folder.glob("*.sock")
    with pytest.raises(Exception) as refused:
        Client(str(sock), family="AF_UNIX", authkey=b"")
    assert "AuthenticationError" in type(refused.value).__name__ or isinstance(refused.value, (OSError, EOFError))


def test_a_runtime_dir_too_long_for_af_unix_falls_back_in_process_with_one_line_saying_why(fake, start, hub_env,
                                                                                        tmp_path):
    deep = Path(hub_env["XDG_RUNTIME_DIR"]) / ("d" * 90)
    deep.mkdir()
    env = dict(hub_env, XDG_RUNTIME_DIR=str(deep))
    p = subprocess.Popen([sys.executable, "-c", SCRIPT, *CANARY["production"], fake.url, fake.ws_url, "20"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    said = json.loads(p.stdout.readline() or "{}")
    p.stdin.close()
    err = p.stderr.read()
    p.wait(20)
    assert said.get("hub") == "Socket" and said["n"] > 0  # the stream works in process
    [line] = [x for x in err.splitlines() if "stream hub is not available" in x]
    assert "too long for AF_UNIX" in line


def test_a_hub_whose_login_took_longer_than_the_grace_period_waits_for_its_first_client(fake, tmp_path):
    """Kiwoom's login was slow (2 s, the grace period 0.5 s) and the process that started the hub is slow to connect
    (a loaded machine): the hub must still be there for it, not exit as idle the moment it starts listening (the
    client would then fall back in process and kick the others)."""
    import time
    from multiprocessing.connection import Client

    key = tmp_path / "authkey"
    key.write_bytes(b"k" * 64)
    address = tmp_path / "hub.sock"
    settings = {"appkey": CANARY["production"][0], "secretkey": CANARY["production"][1], "mock": False,
                "base_url": fake.url, "url": fake.ws_url, "timeout": 5, "grace": "0.5", "authkey": str(key),
                "address": str(address)}
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIWOOM_")}
    import kiwoom_nb

    env["PYTHONPATH"] = str(Path(kiwoom_nb.__file__).resolve().parents[1])
    fake.fail_next(("slow", 2.0), path="/oauth2/token")
    hub = subprocess.Popen([sys.executable, "-m", "kiwoom_nb.live.hub", str(tmp_path / "log")],
                           stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        hub.stdin.write(json.dumps(settings))
        hub.stdin.close()
        wait_for(lambda: address.exists() or hub.poll() is not None, 30, "the hub listening")
        listening = time.monotonic()
        wait_for(lambda: time.monotonic() - listening > 1.0, 5, "a slow client's 1 s (twice the grace period)")
        conn = Client(str(address), family="AF_UNIX", authkey=key.read_bytes())
        conn.send_bytes(json.dumps({"trnm": "LOGIN", "pid": os.getpid()}).encode())
        wait_for(lambda: conn.poll(0.1) and b'"LOGIN"' in conn.recv_bytes(), 10, "the hub's answer to the LOGIN")
        conn.close()
        assert hub.wait(20) == 0  # the grace period after its client left, then a clean exit
        assert [r.body["token"] for r in fake.revokes] == [fake.tokens[0].value]
    finally:
        if hub.poll() is None:
            hub.kill()
            hub.wait()


@pytest.mark.parametrize("runtime", ["relative", "unwritable"])
def test_a_relative_runtime_dir_is_ignored_and_an_unwritable_one_falls_back_with_one_line(fake, hub_env, tmp_path,
                                                                                         runtime):
    """XDG_RUNTIME_DIR relative (XDG says: ignore it): the hub lives in the temp dir as when it is unset, instead of
    a hub started in another working directory that nobody finds (every process fell back in process). Not
    writable: the one fallback line, and the stream still works in process."""
    cwd = tmp_path / "cwd"
    (cwd / "rel").mkdir(parents=True)
    # /proc/self: a folder no user (root neither) can make a folder in, as a read-only file system
    env = dict(hub_env, TMPDIR=hub_env["XDG_RUNTIME_DIR"],
               XDG_RUNTIME_DIR="rel" if runtime == "relative" else "/proc/self")
    p = subprocess.Popen([sys.executable, "-c", SCRIPT, *CANARY["production"], fake.url, fake.ws_url, "20"], cwd=cwd,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    said = json.loads(p.stdout.readline() or "{}")
    p.stdin.close()
    err = p.stderr.read()
    p.wait(20)
    assert said.get("n", 0) > 0, (said, err)
    if runtime == "relative":
        assert said["hub"] == "HubSocket" and "not available" not in err
        assert not list(cwd.rglob("*.sock")) and not list(cwd.rglob("*.log"))
    else:
        assert said["hub"] == "Socket"
        assert len([x for x in err.splitlines() if "stream hub is not available" in x]) == 1


def test_a_hub_killed_between_the_connect_and_the_login_is_replaced_not_a_network_error(fake, hub_runtime,
                                                                                       monkeypatch, tmp_path):
    """The hub dies (SIGKILL, or the end of its grace period) after this process connected and before its LOGIN was
    answered: the stream opens through a new hub, instead of failing with "check the network and the URL"."""
    import signal

    from kiwoom_nb.live._stream import Stream
    from kiwoom_nb.live.hub import _client

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    real, links = _client.open_link, []

    def open_link(*args, **kwargs):
        link = real(*args, **kwargs)
        links.append(link)
        if len(links) == 1:  # the first hub goes now, with this process connected and its LOGIN not yet sent
            [log] = Path(hub_runtime).glob("kiwoom_nb-hub-*/*.log")
            pid = int(log.read_text().split("serving (pid ")[1].split(",")[0])
            os.kill(pid, signal.SIGKILL)
            wait_for(lambda: not Path(f"/proc/{pid}").exists() or Path(f"/proc/{pid}/stat").read_text().split()[2]
                     == "Z", 10, "the hub dead")
        return link

    monkeypatch.setattr(_client, "open_link", open_link)
    live = Stream(*CANARY["production"], base_url=fake.url, ws_url=fake.ws_url)
    try:
        live.watch(["005930"], "0B")
        wait_for(lambda: live.status.received, 20, "an event through the new hub")
        assert type(live._socket).__name__ == "HubSocket" and len(links) == 2
        assert str(live.status).startswith("connected")
    finally:
        live.close()
    wait_for(lambda: len(fake.revokes) == len(fake.tokens) == 2, 30, "both hubs' tokens revoked")


def test_the_same_keys_at_two_servers_get_two_hubs_each_logged_in_where_its_clients_stream(fake, start, hub_env):
    """One app key and secret key at two servers (two fakes on two ports, as mock and production are): each process
    streams through a hub logged in at its own server, never through the other's."""
    from kiwoom_nb.testing import FakeKiwoom

    with FakeKiwoom(keys=dict(CANARY)) as other:
        a, said_a = start()
        p = subprocess.Popen([sys.executable, "-c", SCRIPT, *CANARY["production"], other.url, other.ws_url, "20"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=hub_env)
        try:
            said_b = json.loads(p.stdout.readline() or "{}")
            assert said_a["hub"] == said_b.get("hub") == "HubSocket" and said_a["n"] > 0 and said_b["n"] > 0
            assert "shared" not in said_a["status"] and "shared" not in said_b["status"]
            assert len(fake.ws.received("LOGIN")) == len(other.ws.received("LOGIN")) == 1
            assert len(fake.tokens) == len(other.tokens) == 1
            assert {f.data["token"] for f in other.ws.received("LOGIN")} == {t.value for t in other.tokens}
            assert len(list(Path(hub_env["XDG_RUNTIME_DIR"]).glob("kiwoom_nb-hub-*/*.sock"))) == 2
        finally:
            p.stdin.close()
            p.wait(20)
        wait_for(lambda: len(other.revokes) == 1, 20, "the other server's hub revoked its token")


def test_the_hubs_log_is_bounded(tmp_path):
    """A hub runs as long as clients come and go (a line each): its log file starts over past its bound."""
    import logging

    from kiwoom_nb.live.hub._log import MAX_LOG, Bounded

    assert MAX_LOG <= 1 << 20
    with open(tmp_path / "hub.log", "w") as file:
        handler = Bounded(file)
        handler.limit = 1000
        record = logging.LogRecord("kiwoom_nb", logging.INFO, __file__, 1, "kiwoom_nb hub: a client left; %d remain",
                                   (0,), None)
        for _ in range(200):
            handler.emit(record)
        file.flush()
        size = (tmp_path / "hub.log").stat().st_size
    assert 0 < size <= 1000 + 100
    assert (tmp_path / "hub.log").read_text().startswith("kiwoom_nb hub: a client left")  # lines, not holes


def test_a_process_stuck_while_starting_the_hub_holds_the_others_only_for_a_start_s_time(fake, hub_env):
    """The process starting the hub holds its lock and stops there (Ctrl-Z in a terminal, SIGSTOP): another
    process's stream must not wait for ever (inside its registry lock, every stream of that process with it); after
    as long as a start may take it falls back in process with the one line."""
    import fcntl

    folder = Path(hub_env["XDG_RUNTIME_DIR"]) / f"kiwoom_nb-hub-{os.getuid()}"
    folder.mkdir(mode=0o700)
    from kiwoom_nb.live._wire import resolve_ws_url
    from kiwoom_nb.live.hub._client import hub_name

    name = hub_name(CANARY["production"][0], resolve_ws_url(fake.ws_url, False), fake.url, False,
                    CANARY["production"][1])
    with open(folder / f"{name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the stuck starter
        p = subprocess.Popen([sys.executable, "-c", SCRIPT, *CANARY["production"], fake.url, fake.ws_url, "20", "1"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=hub_env)
        try:
            out, err = p.communicate("", timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            pytest.fail("the stream waited for the stuck starter's lock for ever")
    said = json.loads(out.splitlines()[0])
    assert said["hub"] == "Socket" and said["n"] > 0
    [line] = [x for x in err.splitlines() if "stream hub is not available" in x]
    assert "did not finish" in line


@pytest.mark.parametrize("hub", ["1", "0"])
def test_a_wrong_secret_key_in_the_same_process_shares_nothing_with_the_right_ones_stream(fake, hub_runtime,
                                                                                         monkeypatch, tmp_path, hub):
    """Two Streams of one process with one app key, the second with another secret key: it must not ride the first's
    socket (with or without the hub); Kiwoom refuses it, and the first streams on."""
    from kiwoom_nb import KiwoomError
    from kiwoom_nb.live._stream import Stream

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("KIWOOM_STREAM_HUB", hub)
    right = Stream(*CANARY["production"], base_url=fake.url, ws_url=fake.ws_url)
    try:
        right.watch(["005930"], "0B")
        wait_for(lambda: right.status.received, 20, "the right key's first event")
        asked = len(fake.received("/oauth2/token"))
        with pytest.raises(KiwoomError, match="secret key was rejected"):
            wrong = Stream(CANARY["production"][0], "NOT-THE-SECRET-KEY", base_url=fake.url, ws_url=fake.ws_url)
            wrong.close()
        assert len(fake.tokens) == 1
        assert len(fake.received("/oauth2/token")) == asked + 1  # refused once (not by the hub, then in process)
        before = right.status.received
        wait_for(lambda: right.status.received > before, 20, "the right key's stream going on")
        assert str(right.status).startswith("connected")
    finally:
        right.close()


def test_a_clients_request_waiting_on_kiwoom_does_not_hold_another_processs_login(fake, hub_runtime, hub_env,
                                                                                   monkeypatch, tmp_path):
    """One client's request waits for Kiwoom's answer (a condition search Kiwoom does not answer): meanwhile another
    process opening a stream must still be let in and logged in by the hub (it timed out: "no LOGIN answer")."""
    import threading

    from kiwoom_nb.live._stream import Stream

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first = Stream(*CANARY["production"], base_url=fake.url, ws_url=fake.ws_url, timeout=30)
    try:
        first.watch(["005930"], "0B")
        fake.ws.hang = True
        searching = threading.Thread(target=lambda: _quietly(lambda: first.search("1")), daemon=True)
        searching.start()
        wait_for(lambda: first._socket._waiters, 10, "the search sent (the hub has it long before the process below)")
        opens = ("import sys, time; from kiwoom_nb.live._stream import Stream; t = time.monotonic(); "
                 "s = Stream(*sys.argv[1:3], base_url=sys.argv[3], ws_url=sys.argv[4], timeout=5); "
                 "print(type(s._socket).__name__, str(s.status).split(' (')[0], flush=True); s.close()")
        p = subprocess.run([sys.executable, "-c", opens, *CANARY["production"], fake.url, fake.ws_url],
                           capture_output=True, text=True, env=hub_env, timeout=60)
        assert p.stdout.split() == ["HubSocket", "connected"], p.stderr[-500:]
    finally:
        fake.ws.hang = False
        first.close()


def _quietly(call):
    try:
        call()
    except Exception:  # noqa: BLE001 - the unanswered search's timeout is not what this test looks at
        pass
