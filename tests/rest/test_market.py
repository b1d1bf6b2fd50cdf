"""The fake's market (issue 30, item 1): one price path per code that every TR and frame reads, the fake's own clock,
and mock orders that fill like a market. What a user of the fake observes: TR answers, candles frames, 0B / 0D / 00
events. No sleeps: every wait is for a condition, with a deadline."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import date, datetime, timedelta

import pytest

from kiwoom_nb import Client
from kiwoom_nb.live._reading import Event
from kiwoom_nb.live._stream import Stream
from kiwoom_nb.testing import FakeKiwoom
from kiwoom_nb.testing.market._market import KST, Clock, default_start, listing_date
from support import CANARY, in_threads, wait_for

pd = pytest.importorskip("pandas")

DAY = "2026-11-27"  # a Friday before the day the hand-picked prices are true


def still(when: str) -> Clock:
    """A clock held at ``when`` (Korea time)."""
    return Clock(when, speed=0)


def client(fake: FakeKiwoom, mock: bool = False) -> Client:
    return Client(*CANARY["mock" if mock else "production"], mock=mock, transport=fake.transport, pace=None)


def price(text: str) -> int:
    return int(str(text).lstrip("+-").lstrip("0") or 0)


def chart(api: Client, api_id: str, **fields) -> list[dict]:
    key = {"ka10081": "stk_dt_pole_chart_qry", "ka10080": "stk_min_pole_chart_qry",
           "ka10079": "stk_tic_chart_qry"}[api_id]
    return api.call(api_id, **fields)[key]


@pytest.fixture
def opened(fake):
    made = []

    def open_(mock: bool = False) -> Stream:
        appkey, secretkey = CANARY["mock" if mock else "production"]
        stream = Stream(appkey, secretkey, base_url=fake.mock_url if mock else fake.url,
                        ws_url=fake.mock_ws_url if mock else fake.ws_url)
        made.append(stream)
        return stream

    yield open_
    for stream in made:
        stream.close()


# -- one close through every route ---------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["005930", "123456"])
def test_a_days_close_is_the_same_through_every_route(code):
    fake = FakeKiwoom(keys=dict(CANARY), clock=still("2026-12-01 15:40"))
    with client(fake) as api:
        daily = chart(api, "ka10081", stk_cd=code, base_dt=DAY.replace("-", ""), upd_stkpc_tp="1")[0]
        frame = api.candles(code, "D", start="2026-11-20", end=DAY)
        minutes = api.candles(code, "1m", start=DAY, end=DAY)
        fives = api.candles(code, "5m", start=DAY, end=DAY)
        ticks = api.candles(code, "tick", start=f"{DAY} 15:20", end=f"{DAY} 15:30")
        fake.clock.set(f"{DAY} 15:40")  # ka10001 on that day's clock, after its close
        info = api.call("ka10001", stk_cd=code)

    close = price(daily["cur_prc"])
    assert daily["dt"] == DAY.replace("-", "")
    assert frame.index[-1] == pd.Timestamp(DAY) and frame["close"].iloc[-1] == close
    assert minutes.index[-1] == pd.Timestamp(f"{DAY} 15:29", tz="Asia/Seoul") and minutes["close"].iloc[-1] == close
    assert fives["close"].iloc[-1] == close and fives.index[-1].date() == date.fromisoformat(DAY)
    assert ticks.index[-1].date() == date.fromisoformat(DAY) and ticks["close"].iloc[-1] == close
    assert price(info["cur_prc"]) == close
    # the day's bar is its minutes added up: open, high, low, volume
    assert minutes["open"].iloc[0] == price(daily["open_pric"]) == frame["open"].iloc[-1]
    assert minutes["high"].max() == price(daily["high_pric"]) and minutes["low"].min() == price(daily["low_pric"])
    assert minutes["volume"].sum() == int(daily["trde_qty"]) == int(info["trde_qty"]) == fives["volume"].sum()


def test_the_stream_last_price_is_the_close_and_sits_inside_the_book(fake, opened):
    fake.clock.set(f"{DAY} 15:29:59")  # the last trade of the day has happened
    fake.clock.speed = 0
    with client(fake) as api:
        close = price(chart(api, "ka10081", stk_cd="005930", base_dt=DAY.replace("-", ""), upd_stkpc_tp="1")[0]["cur_prc"])
        info = api.call("ka10001", stk_cd="005930")
    live = opened()
    live.watch(["005930"], "0B")
    live.watch(["005930"], "0D")
    # the clock stands still: the day's last trade is sent once, maybe before an iterator would listen (it did, once,
    # in CI): read what arrived
    wait_for(lambda: all("005930" in live._latest.get(kind, {}) for kind in ("0B", "0D")), 10, "a trade and a book")
    trade, book = (Event(*live._latest[kind]["005930"]) for kind in ("0B", "0D"))

    last = price(trade.values["10"])
    assert last == close == price(info["cur_prc"])
    assert price(book.values["41"]) > last > price(book.values["51"])  # best ask above, best bid below
    asks = [price(book.values[str(f)]) for f in range(41, 51)]
    bids = [price(book.values[str(f)]) for f in range(51, 61)]
    assert asks == sorted(asks) and bids == sorted(bids, reverse=True) and min(asks) > max(bids)
    assert price(trade.values["27"]) == asks[0] and price(trade.values["28"]) == bids[0]


def test_cumulative_volume_only_rises_within_a_day(fake, opened):
    fake.clock.set(f"{DAY} 10:00")
    fake.clock.speed = 30  # thirty market seconds a second: many trades in a short test
    live = opened()
    live.watch(["005930", "000660"], "0B")
    seen: dict[str, list] = {"005930": [], "000660": []}
    for event in live.events(timeout=10, type="0B"):
        seen[event.item].append(event.values)
        if min(len(v) for v in seen.values()) >= 15:
            break

    for code, values in seen.items():
        totals = [int(v["13"]) for v in values]
        assert len(totals) >= 15 and totals == sorted(set(totals)), (code, totals)  # strictly rising
        assert [abs(int(v["15"])) for v in values[1:]] == [b - a for a, b in zip(totals, totals[1:])]
        assert all(price(v["18"]) <= price(v["10"]) <= price(v["17"]) for v in values)  # inside the day's range


# -- the clock --------------------------------------------------------------------------------------------------


def test_before_the_open_today_has_no_bar_and_then_it_grows_through_the_session():
    fake = FakeKiwoom(keys=dict(CANARY), clock=still("2026-12-02 08:30"))
    with client(fake) as api:
        before = chart(api, "ka10081", stk_cd="005930", base_dt="20261202", upd_stkpc_tp="1")
        info = api.call("ka10001", stk_cd="005930")
        minute = chart(api, "ka10080", stk_cd="005930", tic_scope="1", upd_stkpc_tp="1")[0]
        bars = []
        for when in ("09:00:30", "09:30", "11:00", "15:40"):
            fake.clock.set(f"2026-12-02 {when}")
            bars.append(chart(api, "ka10081", stk_cd="005930", base_dt="20261202", upd_stkpc_tp="1")[0])
        last_minute = chart(api, "ka10080", stk_cd="005930", tic_scope="1", upd_stkpc_tp="1")[0]

    assert before[0]["dt"] == "20261201" and price(before[0]["cur_prc"]) == 160400  # yesterday is the newest
    assert price(info["cur_prc"]) == 160400 and info["base_pric"] == "169100"  # before the open: yesterday's close
    assert minute["cntr_tm"] == "20261201152900"
    assert [b["dt"] for b in bars] == ["20261202"] * 4
    volumes = [int(b["trde_qty"]) for b in bars]
    highs, lows = [price(b["high_pric"]) for b in bars], [price(b["low_pric"]) for b in bars]
    assert volumes == sorted(volumes) and len(set(volumes)) == 4
    assert highs == sorted(highs) and lows == sorted(lows, reverse=True)
    assert last_minute["cntr_tm"] == "20261202152900" and price(last_minute["cur_prc"]) == price(bars[-1]["cur_prc"])


def test_the_series_stays_on_its_dates_whatever_base_dt_asks():
    fake = FakeKiwoom(keys=dict(CANARY), clock=still("2026-12-01 15:40"))
    with client(fake) as api:
        newest = chart(api, "ka10081", stk_cd="005930", base_dt="20261201", upd_stkpc_tp="1")
        earlier = chart(api, "ka10081", stk_cd="005930", base_dt="20261120", upd_stkpc_tp="1")
        old = chart(api, "ka10081", stk_cd="005930", base_dt="20240101", upd_stkpc_tp="1")
        future = chart(api, "ka10081", stk_cd="005930", base_dt="20271231", upd_stkpc_tp="1")

    by_day = {row["dt"]: row for row in newest}
    assert earlier[0]["dt"] == "20261120" and all(by_day[row["dt"]] == row for row in earlier if row["dt"] in by_day)
    assert old[0]["dt"] == "20240101" and old[0] != newest[0]
    assert future[0] == newest[0]  # nothing after the fake's clock


def test_history_reaches_back_to_a_fixed_listing_date_and_no_further():
    fake = FakeKiwoom(keys=dict(CANARY), clock=still("2026-12-01 15:40"))
    listed = listing_date("005930")
    with client(fake) as api:
        every = api.frame("ka10081", stk_cd="005930", base_dt="20261201", upd_stkpc_tp="1")
        before = api.frame("ka10081", stk_cd="005930",
                           base_dt=(listed - timedelta(days=3)).strftime("%Y%m%d"), upd_stkpc_tp="1")

    first = every["dt"].min()
    assert first.date() >= listed and (first.date() - listed).days < 3  # its first weekday on or after the listing
    assert every["dt"].max() - first > pd.Timedelta(days=3652)  # more than ten years of daily candles
    assert len(before) == 0  # a day before the listing: nothing, truly


def test_the_default_clock_runs_an_open_session_and_clock_sets_it():
    night = datetime(2026, 12, 7, 3, 0, tzinfo=KST)  # Monday 03:00 in Seoul: the demo at night
    assert default_start(night) == datetime(2026, 12, 7, 10, 0)
    assert default_start(datetime(2026, 12, 6, 14, 0, tzinfo=KST)) == datetime(2026, 12, 4, 10, 0)  # a Sunday
    assert default_start(datetime(2026, 12, 7, 11, 15, 5, tzinfo=KST)) == datetime(2026, 12, 7, 11, 15, 5)

    fake = FakeKiwoom(keys=dict(CANARY))
    first = fake.clock.now()
    with client(fake) as api:
        info = api.call("ka10001", stk_cd="005930")
        today = chart(api, "ka10081", stk_cd="005930", base_dt=first.strftime("%Y%m%d"), upd_stkpc_tp="1")[0]
    assert first.weekday() < 5 and 9 <= first.hour < 15  # open, whatever the machine's time
    # the same price; ka10001 signs it by its direction, the daily chart does not (it failed on days the price had moved)
    assert today["dt"] == first.strftime("%Y%m%d") and price(today["cur_prc"]) == price(info["cur_prc"])
    wait_for(lambda: fake.clock.now() > first, 5, "the clock to run")

    with pytest.raises(ValueError, match="2026-12-01 08:30"):
        FakeKiwoom(clock="yesterday")


def test_the_command_takes_clock_and_says_so_in_its_help():
    run = [sys.executable, "-m", "kiwoom_nb.testing"]
    shown = subprocess.run([*run, "--help"], capture_output=True, text=True, timeout=60)
    refused = subprocess.run([*run, "--clock", "soon"], capture_output=True, text=True, timeout=60)
    assert "--clock WHEN" in shown.stdout and "open session" in shown.stdout
    assert refused.returncode == 2 and "clock='soon'" in refused.stderr

    server = subprocess.Popen([*run, "--clock", "2026-12-01 08:30", "--quiet"], stdout=subprocess.PIPE, text=True)
    try:
        lines = [server.stdout.readline() for _ in range(4)]
    finally:
        server.terminate()
        server.communicate(timeout=30)
    assert "market clock 2026-12-01 08:30" in lines[3]


def test_generating_the_market_is_fast_enough_to_hit_constantly():
    # not a timing assertion: a guard against a walk that made every page from the listing date onwards
    fake = FakeKiwoom(keys=dict(CANARY), clock=still("2026-12-01 15:40"))
    started = time.process_time()
    for code in ("111110", "222220", "333330"):
        rows = list(fake.market.daily(code))
        minutes = fake.market.minutes(fake.market.path(code), len(rows) - 1)
        assert len(rows) > 2600 and len(minutes) == 390
    assert time.process_time() - started < 5  # about 30 ms here; 5 s would mean a regression of 100x


# -- mock orders -----------------------------------------------------------------------------------------------


def test_a_mock_market_order_fills_at_the_paths_price_and_shows_in_every_route(fake, opened):
    fake.clock.set("2026-12-01 10:00")
    fake.clock.speed = 0
    live = opened(mock=True)
    events: list = []
    live.on("00", lambda event: events.append(event.values))
    live.watch([], "00")
    with client(fake, mock=True) as api:
        now = price(api.call("ka10001", stk_cd="005930")["cur_prc"])
        number = api.call("kt10000", dmst_stex_tp="KRX", stk_cd="005930", ord_qty="2", trde_tp="3")["ord_no"]
        unfilled = api.call("ka10075", all_stk_tp="0", trde_tp="0", stex_tp="0")["oso"]
        done = api.call("kt00007", qry_tp="1", stk_bond_tp="0", sell_tp="0", dmst_stex_tp="KRX")[
            "acnt_ord_cntr_prps_dtl"]
    wait_for(lambda: len(events) >= 2, 10, "접수 and 체결")

    assert unfilled == []
    [row] = done
    assert row["ord_no"] == number and int(row["cntr_qty"]) == 2 and price(row["cntr_uv"]) == now
    assert [(e["9203"], e["913"]) for e in events] == [(number, "접수"), (number, "체결")]
    assert price(events[1]["910"]) == now and events[1]["911"] == "2" and events[1]["902"] == "0"


def test_a_limit_order_rests_until_the_path_crosses_it(fake, opened):
    fake.clock.set("2026-12-01 10:00")
    fake.clock.speed = 0
    live = opened(mock=True)
    events: list = []
    live.on("00", lambda event: events.append(event.values))
    live.watch([], "00")
    with client(fake, mock=True) as api:
        now = price(api.call("ka10001", stk_cd="005930")["cur_prc"])
        assert now > 160400  # the path comes down to its close of 160,400 by 15:30
        number = api.call("kt10000", dmst_stex_tp="KRX", stk_cd="005930", ord_qty="3", ord_uv="160400",
                          trde_tp="0")["ord_no"]
        resting = api.call("ka10075", all_stk_tp="0", trde_tp="0", stex_tp="0")["oso"]
        [accepted] = wait_for(lambda: events, 10, "접수")
        fake.clock.set("2026-12-01 15:40")
        after = api.call("ka10075", all_stk_tp="0", trde_tp="0", stex_tp="0")["oso"]
        [row] = api.call("kt00007", qry_tp="1", stk_bond_tp="0", sell_tp="0", dmst_stex_tp="KRX")[
            "acnt_ord_cntr_prps_dtl"]
        filled = wait_for(lambda: events[1:], 10, "체결")[0]

    assert [(r["ord_no"], int(r["oso_qty"]), price(r["ord_pric"])) for r in resting] == [(number, 3, 160400)]
    assert (accepted["9203"], accepted["913"]) == (number, "접수")
    assert after == [] and int(row["cntr_qty"]) == 3 and price(row["cntr_uv"]) == 160400
    assert (filled["9203"], filled["913"], price(filled["910"])) == (number, "체결", 160400)
    assert "10:00" < filled["908"][:2] + ":" + filled["908"][2:4] <= "15:30"  # when the path got there


def test_orders_held_by_the_test_fill_when_it_says_and_in_parts(fake):
    fake.clock.set("2026-12-01 10:00")
    fake.clock.speed = 0
    fake.market.orders.matching = False  # the hook later issues build on: the test decides the pace
    with client(fake, mock=True) as api:
        number = api.call("kt10001", dmst_stex_tp="KRX", stk_cd="000660", ord_qty="5", trde_tp="3")["ord_no"]
        fake.market.orders.fill(number, 2)
        part = api.call("ka10075", all_stk_tp="0", trde_tp="0", stex_tp="0")["oso"]
    assert [(r["ord_no"], int(r["oso_qty"]), int(r["cntr_qty"])) for r in part] == [(number, 3, 2)]
    assert [e.status for e in fake.market.orders.events] == ["접수", "체결"]


def test_a_cancel_takes_a_resting_order_off_the_book():
    fake = FakeKiwoom(keys=dict(CANARY), clock=still("2026-12-01 10:00"))
    with client(fake, mock=True) as api:
        number = api.call("kt10000", dmst_stex_tp="KRX", stk_cd="005930", ord_qty="4", ord_uv="100000",
                          trde_tp="0")["ord_no"]
        resting = api.call("ka10075", all_stk_tp="0", trde_tp="0", stex_tp="0")["oso"]
        api.call("kt10003", dmst_stex_tp="KRX", orig_ord_no=number, stk_cd="005930", cncl_qty="0")
        fake.clock.set("2026-12-01 15:40")
        after = api.call("ka10075", all_stk_tp="0", trde_tp="0", stex_tp="0")["oso"]
        rows = api.call("kt00007", qry_tp="1", stk_bond_tp="0", sell_tp="0", dmst_stex_tp="KRX")[
            "acnt_ord_cntr_prps_dtl"]
    assert [r["ord_no"] for r in resting] == [number] and after == []
    assert [(r["ord_no"], int(r["cntr_qty"]), r["mdfy_cncl"]) for r in rows] == [(number, 0, "취소")]


def test_orders_from_many_threads_each_fill_once():
    fake = FakeKiwoom(keys=dict(CANARY), clock=still("2026-12-01 11:00"))
    with client(fake, mock=True) as api:
        now = price(api.call("ka10001", stk_cd="000660")["cur_prc"])
        numbers, errors = in_threads(
            lambda: [api.call("kt10001", dmst_stex_tp="KRX", stk_cd="000660", ord_qty="1", trde_tp="3")["ord_no"]
                     for _ in range(5)], [()] * 8)
        rows = api.call("kt00007", qry_tp="1", stk_bond_tp="0", sell_tp="0", dmst_stex_tp="KRX")[
            "acnt_ord_cntr_prps_dtl"]
    assert errors == []
    placed = sorted(n for batch in numbers for n in batch)
    assert len(set(placed)) == 40 and sorted(r["ord_no"] for r in rows) == placed
    assert all(int(r["cntr_qty"]) == 1 and price(r["cntr_uv"]) == now for r in rows)
    events = fake.market.orders.events
    assert sorted((e.order.number, e.status) for e in events) == sorted((n, s) for n in placed for s in ("접수", "체결"))


@pytest.mark.parametrize("when", ["yesterday", "2026-13-45", "25:00", 2026])
def test_a_clock_that_is_not_a_time_is_refused_in_one_line(when):
    with pytest.raises(ValueError, match="write it like '2026-12-01 08:30'") as refused:
        FakeKiwoom(clock=when)
    assert "\n" not in str(refused.value)


def test_near_the_close_the_default_session_starts_earlier_so_it_runs_for_hours():
    assert default_start(datetime(2026, 12, 7, 15, 0, tzinfo=KST)) == datetime(2026, 12, 7, 10, 0)
    assert default_start(datetime(2026, 12, 7, 13, 59, tzinfo=KST)) == datetime(2026, 12, 7, 13, 59)


def test_before_its_listing_a_code_has_no_candles_and_no_trades():
    listed = listing_date("005930")
    fake = FakeKiwoom(keys=dict(CANARY), clock=still(f"{listed - timedelta(days=30)} 11:00"))
    with client(fake) as api:
        days = chart(api, "ka10081", stk_cd="005930", base_dt=(listed - timedelta(days=30)).strftime("%Y%m%d"),
                     upd_stkpc_tp="1")
        minutes = chart(api, "ka10080", stk_cd="005930", tic_scope="1", upd_stkpc_tp="1")
        info = api.call("ka10001", stk_cd="005930")
    assert days == [] and minutes == [] and int(info["trde_qty"]) == 0


def test_the_next_session_starts_its_volume_again_and_the_stream_goes_on(fake, opened):
    fake.clock.set(f"{DAY} 10:00")
    fake.clock.speed = 30
    live = opened()
    seen: list = []
    live.on("0B", lambda event: seen.append(event.values))
    live.watch(["005930"], "0B")
    wait_for(lambda: len(seen) >= 5, 10, "trades on the first day")
    first_day = len(seen)
    fake.clock.set("2026-11-30 09:05")  # the next trading day (a Monday), just after its open
    wait_for(lambda: len(seen) >= first_day + 5, 10, "trades on the next day")

    totals = [int(v["13"]) for v in seen]
    falls = [i for i, (a, b) in enumerate(zip(totals, totals[1:])) if b < a]
    assert len(falls) == 1 and totals[falls[0] + 1] < totals[0]  # once, at the new session: it started from little
