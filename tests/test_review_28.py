"""Review of issue 28: breaks found by trying the landed streams as a hostile user and network would. Each test
failed before its fix. Waits have deadlines."""

from __future__ import annotations

import pytest

from kiwoom_nb import _socket
from kiwoom_nb._stream import Stream
from support import CANARY, wait_for

pytest.importorskip("pandas")


def open_stream(fake):
    return Stream(*CANARY["production"], base_url=fake.url, ws_url=fake.ws_url)


def test_a_stream_opened_while_the_last_one_on_its_socket_closes_gets_a_live_socket(fake, monkeypatch):
    """The socket registry hands out a socket whose last stream is closing it: the new stream attached to a socket
    about to stop, and was dead on arrival ("this stream is stopped: closed")."""
    first = open_stream(fake)
    first.watch(["005930"], "0B")
    opened = []
    close = _socket.Socket.close

    def close_and_meanwhile_open(self, timeout=2.0):  # another thread opens a stream in the close's window
        if not opened:
            opened.append(open_stream(fake))
        close(self, timeout)

    monkeypatch.setattr(_socket.Socket, "close", close_and_meanwhile_open)
    first.close()
    monkeypatch.setattr(_socket.Socket, "close", close)
    [second] = opened
    try:
        second.watch(["000660"], "0B")
        wait_for(lambda: second.status.received > 0, 10, "events on the new stream")
        assert second.status.state == "connected"
    finally:
        second.close()
    assert sorted(r.body["token"] for r in fake.revokes) == sorted(t.value for t in fake.tokens)
