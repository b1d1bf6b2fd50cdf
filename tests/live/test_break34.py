"""Break attempts on issue 34's packed rows (hostile frames)."""

from __future__ import annotations

import json

import pytest

from kiwoom_nb.live._reading import SEP, Event, pack, unpack
from kiwoom_nb.live._stream import Stream
from support import CANARY, wait_for

pytest.importorskip("pandas")


@pytest.fixture
def live(fake):
    fake.ws.rate = 0.001
    stream = Stream(*CANARY["production"], base_url=fake.url, ws_url=fake.ws_url, buffer=1000)
    yield stream
    stream.close()


def test_a_frame_holding_a_lone_surrogate_is_kept_as_sent():
    """pack() raised UnicodeEncodeError on such a frame's values (one bytes encode for the frame)."""
    joined = SEP.join(["+1", "2", "\ud800", "x\udc00"])
    assert pack(joined) == joined and unpack(pack(joined)) == ["+1", "2", "\ud800", "x\udc00"]


def test_a_lone_surrogate_value_is_buffered_and_the_stream_goes_on(fake, live):
    """read_frame lets json take what orjson refuses (lone surrogates). Through the hub (a Stream's default) the
    hub's pump died encoding it (orjson JSONEncodeError / json UnicodeEncodeError): the client got no frame again.
    In the client, packing raised UnicodeEncodeError on the reading thread. The row must be buffered as sent, with
    the frame's other rows and the frames after it."""
    live.watch(["005930", "000660"], "0B")
    wait_for(lambda: any(c.logged_in for c in fake.ws.live()), 10, "the login")
    fake.ws.send_raw('{"trnm": "REAL", "data": [{"type": "0B", "item": "005930", "values": {"10": "+1"}},'
                     ' {"type": "0B", "item": "000660", "values": {"10": "\\ud800", "20": "090000"}}]}')
    fake.ws.send_raw(json.dumps({"trnm": "REAL", "data": [{"type": "0B", "item": "005930", "values": {"10": "+2"}}]}))
    wait_for(lambda: live.status.received >= 3, 10, "all three rows")
    rows = [(event.item, event.values) for event in (Event(*row) for row in live._buffers["0B"])]
    assert rows == [("005930", {"10": "+1"}), ("000660", {"10": "\ud800", "20": "090000"}), ("005930", {"10": "+2"})]


def test_a_hub_client_that_stops_reading_holds_at_most_100000_entries_however_big_the_frames():
    """The queue bound once counted frames (20,000), not entries: with Kiwoom sending 100 watched entries a frame, a client that
    stops reading kept 2,000,000 entries in the hub (20x the old bound; a hostile frame of thousands of entries,
    far more). The bound must stay one of entries, the rest counted lost."""
    from kiwoom_nb.live.hub._server import Client

    client = Client(None, None)
    client.watched = {"0B": {"005930"}}
    frame = [{"type": "0B", "item": "005930", "values": {"10": "+1"}}] * 100
    for _ in range(25_000):
        client._take(frame, ["+1"] * 100, None)
    queued = client.out.qsize() * 100
    assert queued <= 100_000, f"{queued:,} entries queued"
    assert queued + client.lost == 2_500_000
