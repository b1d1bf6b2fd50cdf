"""Bounded means bounded: the callback queue and every events() / async for queue hold at most ``buffer`` events, what
a slow consumer did not get is counted per consumer in ``status``, and a board let go of stops its timer and its
callbacks. Waits have deadlines; memory is measured with tracemalloc."""

from __future__ import annotations

import threading
import tracemalloc

import pytest

from kiwoom_nb._stream import Stream
from support import CANARY, wait_for

pytest.importorskip("pandas")

ITEMS = [f"{n:06d}" for n in range(5930, 5940)]


@pytest.fixture
def live(fake):
    fake.ws.rate = 0.001  # only the burst
    stream = Stream(*CANARY["production"], base_url=fake.url, ws_url=fake.ws_url, buffer=100)
    yield stream
    stream.close()


def test_a_slow_callback_and_an_abandoned_iterator_keep_memory_bounded_and_say_what_they_missed(fake, live):
    release = threading.Event()
    live.on("0B", lambda event: release.wait(0.05))  # a callback that takes 50 ms
    live.watch(ITEMS, "0B")
    abandoned, first = live.events(), []
    reader = threading.Thread(target=lambda: first.append(next(abandoned)), daemon=True)
    reader.start()
    wait_for(lambda: live._sinks, 5, "the iterator to start")
    fake.ws.burst(1, ITEMS)
    reader.join(10)
    assert first  # it read one event and stopped, still registered

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        fake.ws.burst(2000, ITEMS, per_frame=10)  # 20,000 events
        wait_for(lambda: live.status.received == 20_001, 60, "all 20,000 events taken in")
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
        release.set()

    assert grown < 10 * 2 ** 20, f"grew {grown / 2 ** 20:.1f} MiB"
    status = live.status
    assert status.lost["callbacks"] > 15_000 and status.lost["events()#1"] > 15_000
    assert "not delivered callbacks=" in str(status) and "events()#1=" in str(status)
    assert live._calls.qsize() <= 101
    abandoned.close()


def test_async_for_is_bounded_too(fake, live):
    import asyncio

    live.watch(ITEMS, "0B")

    async def main():
        stream = live.__aiter__()
        first = asyncio.ensure_future(stream.__anext__())
        while not live._sinks:  # the generator registers when it first runs
            await asyncio.sleep(0.01)
        await asyncio.to_thread(fake.ws.burst, 1, ITEMS)
        await first
        # the loop runs on, but nobody reads the stream: 5,000 events arrive meanwhile
        await asyncio.to_thread(fake.ws.burst, 500, ITEMS, "0B", 10)
        await asyncio.to_thread(wait_for, lambda: live.status.received >= 5001, 30, "the burst taken in")
        await stream.aclose()

    asyncio.run(asyncio.wait_for(main(), 60))
    assert live.status.lost["async for#1"] >= 4000


# -- boards ------------------------------------------------------------------------------------------------------------

def board_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "kiwoom-board"]


def test_a_board_whose_widget_is_closed_stops_its_timer_and_closes_the_stream_it_opened(fake, live):
    pytest.importorskip("ipywidgets")
    from kiwoom_nb._board import Board

    live.watch(["005930"], "0B")
    before = len(board_threads())
    board = Board(live, rate=20, own=True)
    assert len(board_threads()) == before + 1
    board.close()

    wait_for(lambda: len(board_threads()) == before, 5, "the board's timer to stop")
    assert live.closed and not live._callbacks.get("0B")
    wait_for(lambda: not fake.ws.live(), 5, "the socket closed with its last stream")


def test_a_board_displayed_for_a_stream_removes_its_callbacks_when_it_stops(fake, live):
    pytest.importorskip("ipywidgets")
    from kiwoom_nb._board import Board

    live.watch(["005930"], "0B")
    board = Board(live, rate=20)  # what display(live) shows
    assert live._callbacks["0B"]
    board.stop("stopped (logged out)")

    assert live._callbacks["0B"] == [] and not live.closed  # the stream is the user's: it stays open
    board.close()
