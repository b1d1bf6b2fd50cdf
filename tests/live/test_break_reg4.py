"""Fourth break review of ad3f151 (the hub's answers carry each request's id; a timeout never cuts the link): with a
hub of the previous version, which echoes no id and passes every field on to Kiwoom, a late answer answered the next
watch() again, and the id reached Kiwoom. A hub now says at LOGIN that it echoes ids; with one that does not, a
process sends none and cuts the link on a timeout, as before."""

from __future__ import annotations

import subprocess
import textwrap
import threading

import pytest

from kiwoom_nb import KiwoomError, RequestError
from support import CANARY, wait_for
from test_break_reg import _gate, _raised

#: the hub as the previous version ran it: its LOGIN answer says nothing of ids, and it answers without one, sending
#: the client's frame on to Kiwoom as it came
OLD_HUB = textwrap.dedent("""
    import json
    from kiwoom_nb.live.hub import _server

    def serve(self):
        try:
            while True:
                answer = self.hub.handle(self, json.loads(self.conn.recv_bytes().decode()))
                if answer is not None:
                    self.send({k: v for k, v in answer.items() if k != "rids"})
        except (OSError, EOFError, ValueError):
            pass
        finally:
            self.hub.drop(self)

    _server.Client.serve = serve
    raise SystemExit(_server.main())
""")


@pytest.fixture
def old_hub(monkeypatch):
    """The hub this process starts speaks the previous version's protocol (a kernel not yet upgraded started it)."""
    real = subprocess.Popen

    def popen(args, *rest, **kw):
        if list(args[1:3]) == ["-m", "kiwoom_nb.live.hub"]:
            args = [args[0], "-c", OLD_HUB, *args[3:]]
        return real(args, *rest, **kw)

    monkeypatch.setattr(subprocess, "Popen", popen)  # kiwoom_nb.live.hub._client starts the hub so


def test_a_late_refusal_through_an_older_hub_does_not_answer_the_next_watch(fake, old_hub):
    from kiwoom_nb.live import _socket
    from kiwoom_nb.live._stream import Stream

    fake.ws.rate = 0
    first = Stream(*CANARY["production"], base_url=fake.url, ws_url=fake.ws_url, timeout=8)  # starts the (old) hub
    with _socket._registry_lock:
        _socket._sockets.clear()  # another process, timeout=2
    live = Stream(*CANARY["production"], base_url=fake.url, ws_url=fake.ws_url, timeout=2)
    gate = threading.Event()
    try:
        assert hasattr(live._socket, "link")
        live.watch(["005930"], "0B")
        arrived, gate = _gate(fake, "000660", refuse=True)  # Kiwoom is slow on 000660, then refuses it
        assert isinstance(_raised(lambda: live.watch(["000660"], "0B")), KiwoomError)
        out: list = []
        thread = threading.Thread(target=lambda: out.append(_raised(lambda: live.watch(["035420"], "0B"))))
        thread.start()
        wait_for(lambda: any(w.trnm == "REG" for w in list(live._socket._waiters)), 10, "watch(035420) waiting")
        gate.set()  # Kiwoom now refuses 000660; its answer comes while 035420's REG waits
        thread.join(15)
        [exc] = out
        assert not isinstance(exc, RequestError), f"{exc!r}; Kiwoom has {[c.regs for c in fake.ws.live()]}"
    finally:
        gate.set()
        live.close()
        first.close()


def test_no_request_id_reaches_kiwoom_through_an_older_hub(fake, old_hub):
    from kiwoom_nb.live._stream import Stream

    fake.ws.rate = 0
    live = Stream(*CANARY["production"], base_url=fake.url, ws_url=fake.ws_url)
    try:
        assert hasattr(live._socket, "link")
        live.watch(["005930"], "0B")
        live.conditions()
        frames = [f.data for f in fake.ws.received() if isinstance(f.data, dict)]
        assert {"REG", "CNSRLST"} <= {f.get("trnm") for f in frames}
        assert not [f["trnm"] for f in frames if "rid" in f]  # (the frames hold the LOGIN's token: not shown)
    finally:
        live.close()
