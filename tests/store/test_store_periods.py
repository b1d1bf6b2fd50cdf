"""The store (issue 32) and the bars whose period is over: a weekend has no session, so a week is finished after
Friday's close, a month or year after its last weekday's, and a re-run then is answered from the store with no
request; a week still in progress is asked for again (one page). Against the fake Kiwoom with its clock held still."""

from __future__ import annotations

import pytest

import kiwoom_nb
from test_candles import chart_requests
from test_store import client_of, fake_at

pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")

FRIDAY_EVENING = "2026-12-04 18:30"  # the week of 30 November is over (KRX's after-hours session ended at 18:00)
SUNDAY = "2026-12-06 12:00"
WEDNESDAY = "2026-12-02 10:00"  # a session: this week's bar is growing


@pytest.mark.parametrize("interval", ["D", "W"])
def test_after_fridays_close_a_weekend_rerun_sends_nothing(tmp_path, capsys, interval):
    fake = fake_at(FRIDAY_EVENING)
    with client_of(fake) as api:
        first = api.candles("005930", interval, start="2026-06-01", store=tmp_path)
        sent = len(chart_requests(fake))
        fake.clock.set(SUNDAY)
        capsys.readouterr()
        again = api.candles("005930", interval, start="2026-06-01", store=tmp_path)
        assert len(chart_requests(fake)) == sent  # the weekend re-run: 0 requests
        fresh = api.candles("005930", interval, start="2026-06-01", store=False)
    pd.testing.assert_frame_equal(again, fresh, check_freq=False)  # and the server's answer, this week included
    pd.testing.assert_frame_equal(again, first, check_freq=False)
    unit = "days" if interval == "D" else "bars"
    assert capsys.readouterr().err.splitlines()[0] == f"005930: {len(again):,} rows from the store, 0 pages fetched (0 new {unit})"
    last = kiwoom_nb.store.read("005930", interval, store=tmp_path).index.max()
    assert last == pd.Timestamp("2026-12-04" if interval == "D" else "2026-11-30")  # the finished week is kept


def test_a_week_in_progress_is_asked_for_again_and_not_kept(tmp_path):
    fake = fake_at(WEDNESDAY)
    with client_of(fake) as api:
        api.candles("005930", "W", start="2026-06-01", store=tmp_path)
        sent = len(chart_requests(fake))
        again = api.candles("005930", "W", start="2026-06-01", store=tmp_path)
        assert len(chart_requests(fake)) == sent + 1  # this week's bar may still grow: its page, once
    assert again.index.max() == pd.Timestamp("2026-11-30")  # in the answer
    assert kiwoom_nb.store.read("005930", "W", store=tmp_path).index.max() < pd.Timestamp("2026-11-30")  # not kept


def test_a_month_is_over_after_its_last_weekdays_close(tmp_path):
    fake = fake_at("2026-11-30 18:30")  # Monday 30 November: November's last session is over
    with client_of(fake) as api:
        api.candles("005930", "M", start="2026-01-01", store=tmp_path)
        sent = len(chart_requests(fake))
        fake.clock.set("2026-11-30 23:00")
        again = api.candles("005930", "M", start="2026-01-01", store=tmp_path)
        assert len(chart_requests(fake)) == sent
        fresh = api.candles("005930", "M", start="2026-01-01", store=False)
    pd.testing.assert_frame_equal(again, fresh, check_freq=False)
    assert kiwoom_nb.store.read("005930", "M", store=tmp_path).index.max() == pd.Timestamp("2026-11-02")  # a month is dated by its first session


@pytest.mark.parametrize(("now", "us", "interval", "live", "cut"), [
    ("2026-12-05 08:00", False, "W", False, "2026-12-07"),  # Saturday morning in Seoul: KRX's week is over
    ("2026-12-05 08:00", True, "W", True, "2026-11-30"),    # = Friday 18:00 in New York: its session runs to 20:00
    ("2026-12-05 11:00", True, "W", False, "2026-12-07"),   # = Friday 21:00 in New York: over
    ("2026-12-06 23:00", False, "D", False, "2026-12-07"),  # Sunday night: nothing until Monday's session
    ("2026-12-07 08:00", False, "W", True, "2026-12-07"),   # Monday before the open: a new week may begin
    ("2026-12-31 18:30", False, "Y", False, "2027-01-01"),  # the year's last weekday has closed
    ("2027-01-29 18:30", False, "M", False, "2027-02-01"),  # Friday 29 January: the 30th and 31st are a weekend
])
def test_which_period_is_over(now, us, interval, live, cut):
    from datetime import datetime

    from kiwoom_nb.store._clock import cut_of, live_now

    moment = datetime.fromisoformat(now)  # naive: Korea time, as the fake's clock is
    assert live_now(interval, us, moment) is live
    assert cut_of(pd, interval, us, moment) == pd.Timestamp(cut)
