"""Issue 34: buffered rows are compact (the FIDs shared, the values joined), and what users get is unchanged: Event
values, DataFrames, what callbacks and iterators see. Frames are decoded by orjson when installed and by json
otherwise, with the same verdicts. Memory is measured with tracemalloc; waits have deadlines."""

from __future__ import annotations

import json
import threading
import tracemalloc
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings, strategies as st

from kiwoom_nb.live import _wire
from kiwoom_nb.live._reading import SEP, Event, compact, pack, unpack
from kiwoom_nb.live._stream import Stream
from kiwoom_nb.live._stream_frame import events_frame
from support import CANARY, wait_for

pytest.importorskip("pandas")

ITEMS = [f"{n:06d}" for n in range(5930, 5940)]


@pytest.fixture
def live(fake):
    fake.ws.rate = 0.001  # only the burst
    stream = Stream(*CANARY["production"], base_url=fake.url, ws_url=fake.ws_url, buffer=20_000)
    yield stream
    stream.close()


def test_a_buffered_0b_row_takes_under_300_bytes_not_4400(fake, live):
    """44 FIDs as Kiwoom sends 0B: a dict of 44 fresh strings took ~4,400 bytes a row; joined ~530, packed ~270.
    The fake's own allocations (its market path grows as the burst moves prices) are not the stream's."""
    live.watch(ITEMS, "0B")
    not_fake = [tracemalloc.Filter(False, "*/kiwoom_nb/testing/*")]

    def traced():
        return sum(s.size for s in tracemalloc.take_snapshot().filter_traces(not_fake).statistics("filename"))

    tracemalloc.start()
    try:
        before = traced()
        fake.ws.burst(1000, ITEMS, per_frame=10)  # 10,000 rows
        wait_for(lambda: live.status.received >= 10_000, 60, "the rows buffered")
        grown = traced() - before
    finally:
        tracemalloc.stop()
    row = Event(*next(iter(live._buffers["0B"])))
    assert len(row.values) == 44 and row.values["9081"] == "KRX"
    assert grown / 10_000 < 300, f"{grown / 10_000:.0f} bytes a row"


def test_buffered_rows_leave_the_collectors_passes(fake, live):
    """100,000 buffered Events (a class) were each tracked by the cyclic collector, and its passes over them cost the
    ingest ~0.5 µs an entry (BENCHMARKS.md §14). Buffered rows are plain tuples of strings, bytes and a datetime,
    which the collector stops tracking after its first look."""
    import gc

    live.watch(ITEMS, "0B")
    fake.ws.burst(100, ITEMS, per_frame=10)
    wait_for(lambda: live.status.received >= 1000, 30, "the rows buffered")
    gc.collect()
    with live._lock:
        rows = list(live._buffers["0B"]) + list(live._latest["0B"].values())
    assert len(rows) >= 1010 and not [row for row in rows if gc.is_tracked(row)]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=12) | st.text("0123456789+-. \x1e\x1ffKRXOo/_", max_size=12), min_size=1,
                max_size=50))
def test_a_packed_row_unpacks_to_the_values_as_sent(values):
    """Numbers, signs, spaces, letters (9081's KRX), the escape character itself, Hangul, Latin-1: whatever was sent
    comes back, in order, however many values."""
    joined = SEP.join(values)
    if joined.count(SEP) != len(values) - 1:
        return  # a value holding SEP: compact keeps such an entry a dict (the test below)
    kept = pack(joined)
    assert unpack(kept)[:len(values)] == values
    if all(ord(c) < 256 for c in joined):
        assert isinstance(kept, bytes) and len(kept) <= len(joined) * 1.5 + 1


def test_the_frame_callbacks_and_iterators_see_the_values_as_sent(fake, live):
    seen, lock = [], threading.Lock()

    def on_tick(event):
        with lock:
            seen.append(dict(event.values))
        event.values["10"] = "changed by a callback"  # the callback's own Event: never the buffered row

    live.on("0B", on_tick)
    live.watch(ITEMS, "0B")
    events, got = live.events(timeout=10, type="0B"), []
    reader = threading.Thread(target=lambda: got.extend(next(events) for _ in range(30)), daemon=True)
    reader.start()
    wait_for(lambda: live._sinks, 5, "the iterator to start")
    fake.ws.burst(3, ITEMS, per_frame=10)
    reader.join(20)
    assert len(got) == 30
    wait_for(lambda: len(seen) == 30, 10, "the callbacks")
    frame = live.frame("0B")
    assert len(frame) == 30 and list(frame["item"]) == [e.item for e in got]
    assert [dict(e.values) for e in got] == seen
    assert [Event(*row).values["10"] for row in live._buffers["0B"]] == [values["10"] for values in seen]
    assert all(e.values["9999"].isdigit() for e in got) and len({e.values["9999"] for e in got}) == 30
    assert int(frame["cur_prc"].iloc[0]) == abs(int(seen[0]["10"]))
    assert all(isinstance(e.values, dict) and e.values is e.values for e in got)  # one dict per Event, kept


def test_a_value_holding_the_separator_keeps_its_dict_and_reads_back_as_sent():
    at = datetime.now(timezone.utc)
    odd = ({"10": f"a{SEP}b", "11": "1"}, {}, {"10": ""}, {"10": "", "11": ""}, {"302": "삼성전자", "10": "-5"})
    for values in odd:
        fids, kept = compact(dict(values))
        event = Event("0B", "005930", kept, at, fids)
        assert event.values == values and list(event.values) == list(values)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["10", "11", "12", "20", "302", "9999", "1890"]),
                                st.text(max_size=6), max_size=7), min_size=1, max_size=8))
def test_a_frame_of_compact_events_is_the_frame_of_plain_ones(rows):
    at = datetime.now(timezone.utc)
    plain = [Event("0B", "005930", dict(values), at) for values in rows]
    packed = [Event("0B", "005930", kept, at, fids) for fids, kept in map(compact, rows)]
    ours, theirs = events_frame("0B", packed), events_frame("0B", plain)
    assert list(ours.columns) == list(theirs.columns)
    assert ours.astype(str).equals(theirs.astype(str))
    joined = [e for e, values in zip(packed, rows) if values and SEP not in "".join(values.values())]
    assert all(isinstance(e._values, (bytes, str)) for e in joined)  # the frame made no dict of a compact row


FRAMES = [
    json.dumps({"trnm": "REAL", "data": [{"type": "0B", "item": "005930", "values": {"10": "+1"}}]}),
    '{"trnm": "REAL", "data": [{"type": "0B", "item": "005930", "values": {"10": "\\ud800"}}]}',  # lone surrogate
    '{"trnm": "REG", "return_code": 123456789012345678901234567890}',  # beyond 64 bits
    '{"trnm": "REAL", "data": [{"type": "0B", "item": "005930", "values": {"10": 1}}]}',
    '{"trnm": "REAL", "data": [{"type": "0B", "item": "005930", "values": {"10": "1"}}, 5]}',
    '{"trnm": "PING"', "[]", '{"trnm": "NOPE"}', "NaN", '{"trnm": "REAL", "data": {}}',
]


@pytest.mark.parametrize("text", FRAMES)
def test_orjson_and_json_give_each_frame_the_same_verdict(monkeypatch, text):
    pytest.importorskip("orjson")
    fast = _wire.read_frame(text)
    monkeypatch.setattr(_wire, "_loads", json.loads)
    assert _wire.read_frame(text) == fast


def test_a_callback_changing_an_entry_kept_as_a_dict_leaves_the_buffered_row_alone(fake, live):
    """A value holding the separator keeps its entry a dict: the callback's Event still has a dict of its own."""
    live.on("0B", lambda event: event.values.update({"10": "changed"}))
    live.watch(["005930"], "0B")
    called = []
    live.on("0B", called.append)
    fake.ws.send_raw(json.dumps({"trnm": "REAL", "data": [{"type": "0B", "item": "005930",
                                                            "values": {"10": f"+1{SEP}2", "20": "090000"}}]}))
    wait_for(lambda: called, 10, "the callbacks")
    [row] = live._buffers["0B"]
    assert Event(*row).values == {"10": f"+1{SEP}2", "20": "090000"} and called[0].values["10"] == "changed"


def test_threads_reading_rows_while_frames_arrive_all_see_whole_rows(fake, live):
    live.watch(ITEMS, "0B")
    fake.ws.burst(5, ITEMS, per_frame=10)
    wait_for(lambda: live.status.received >= 50, 10, "the first rows")
    errors, stop = [], threading.Event()

    def read():
        try:
            while not stop.is_set():
                rows = list(live._latest["0B"].values())
                assert all(len(Event(*row).values) == 44 for row in rows)
                frame = live.frame("0B")
                assert frame["cur_prc"].notna().all() and len(frame.columns) > 44
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))

    readers = [threading.Thread(target=read, daemon=True) for _ in range(4)]
    for reader in readers:
        reader.start()
    fake.ws.burst(300, ITEMS, per_frame=10)
    wait_for(lambda: live.status.received >= 3050, 30, "the rows")
    stop.set()
    for reader in readers:
        reader.join(30)
    assert not errors and live.status.bad_frames == 0
