"""kiwoom_nb.Client: the TR calls (kiwoom_nb.rest._api.Calls) and what a client does beyond one TR — names and codes,
order previews, candles — composed here, in a module above both: the helpers (_codes, _preview, _candles) take the
client they are given and never import it back, and the calls never import this module.

No IPython, no printing; the helpers are imported at first use (``import kiwoom_nb`` stays cheap).
"""

from __future__ import annotations

from typing import Any

from ._api import Calls, _body, _checked

__all__ = ["Client"]


class Client(Calls):
    """Call any Kiwoom TR: ``call`` one request, ``pages`` follow continuation, ``rows`` / ``frame`` gather them.

    ``Client(appkey, secretkey, mock=...)`` issues its own token on first use and revokes it on
    ``close()`` / leaving a ``with`` block / interpreter exit. Without ``base_url`` it goes where %kiwoom_login
    goes: KIWOOM_BASE_URL (mock: KIWOOM_MOCK_BASE_URL), else Kiwoom's host. ``kiwoom_nb.client()`` gives one bound to
    the notebook's login instead. ``last`` holds the answers of the latest fetch, also after Ctrl-C.
    ``codes()`` / ``code(name)`` turn stock names into codes (a name in stk_cd is sent as its code), and
    ``preview()`` says what an order would send.
    """

    #: The market clock the store judges finished bars by: None is the real time; a callable returning a datetime
    #: (naive: Korea time) stands in for it, e.g. ``lambda: fake.market.clock.now()`` against the fake Kiwoom.
    clock: Any = None

    # -- names and codes, previews ------------------------------------------------------------

    def codes(self, market: str | None = None) -> Any:
        """A DataFrame of the listed stocks (code, name, market) from ka10099, cached for the day (Korea date) in the
        user's cache directory. ``market``: None for KOSPI and KOSDAQ, or "kospi", "kosdaq", "us" (usa10099;
        adds ``stex_tp``, the exchange code NA / ND / NY to pass to US TRs, and ``name_en``)."""
        from ._codes import stock_codes

        return stock_codes(self, market)

    def code(self, name: str, market: str | None = None) -> str:
        """The code of the stock called ``name`` (``"삼성전자"`` -> ``"005930"``; ``market="us"``: ``"애플"`` ->
        ``"AAPL"``, case-insensitive, English names too). An unknown or ambiguous name raises UnknownStockError,
        one line with the closest names. Uses :meth:`codes`' daily cache."""
        from ._codes import find_code

        return find_code(self, name, market)

    def preview(self, api_id: str, path: str | None = None, **fields: Any) -> str:
        """The line an unconfirmed order is refused with (``not sent: BUY 10 × 005930 삼성전자 @ 160,400 (limit),
        production …``), for any environment; sends nothing (a name in stk_cd is looked up in the day's cached list
        only)."""
        from ._preview import preview_line

        api_id = _checked(api_id)
        return preview_line(self, api_id, path, self._named(api_id, _body(fields, api_id), fetch=False))

    # -- candles (issue 21) ---------------------------------------------------------------------

    def candles(self, codes: Any, interval: str = "D", start: Any = None, end: Any = None, *, adjusted: bool = True,
                exchange: str | None = None, krw: bool = False, store: Any = True) -> Any:
        """Candles of one stock, or of several, as a DataFrame of open high low close volume (and value, the trading
        value, where the chart has it) on an ascending ``date`` index.

        ``interval``: D W M Y (ka10081 ka10082 ka10083 ka10094), minutes 1m 3m 5m 10m 15m 30m 45m 60m (ka10080),
        ticks tick 1t 3t 5t 10t 30t (ka10079); pandas' and yfinance's names work too (1d 1wk 1mo 1y 5min 1h); a US ticker ("AAPL") goes through usa06010-usa06015 on
        ``exchange`` ND (NASDAQ) / NY (NYSE) / NA (AMEX), in dollars unless ``krw=True``. Days and longer are
        dates; minutes and ticks are Korea time (US: New York time). ``start`` / ``end`` ("2026-01-01", "20260101",
        a date, datetime or Timestamp; never "01-02-2026", which reads two ways) bound the rows; pages are fetched only until ``start`` is reached (without it, the
        latest page only); ``end`` is the chart's base_dt. ``adjusted=False`` asks for unadjusted prices.

        A list of codes gives one frame indexed by (code, date): a stock Kiwoom refuses (unknown code, a bad field)
        is left out, named in ``df.attrs["failed"]`` and in one printed line; an error that ends everything (the
        token, the network, the rate limit, Ctrl-C) stops at once, and ``last`` holds the pages fetched.
        ``df.attrs`` has the code, interval, api_id and request. When the server's history starts after ``start``,
        one line says so (``005930: history starts 2025-10-14; nothing earlier on this server``) and
        ``df.attrs["history_starts"]`` holds that day; a ``start`` after ``end`` is refused.

        ``store`` (issue 32): True keeps finished bars in the candle store (kiwoom_nb.store) and fetches only what it
        lacks — the newest pages back to the last kept bar, the older part when ``start`` precedes the first —;
        today's growing bar is fetched and merged, never kept. False reads and writes nothing; a folder is another
        store. Ticks are never kept.
        """
        from ._candles import candles

        return candles(self, codes, interval, start, end, adjusted=adjusted, exchange=exchange, krw=krw, store=store)

    def update(self, codes: Any, interval: str = "D", start: Any = None, *, adjusted: bool = True,
               store: Any = True) -> Any:
        """Bring ``codes`` to their last finished bar in the candle store, one code at a time (a killed run resumes
        where it stopped): one progress bar, one summary line; a DataFrame of code, rows, pages, last, with the codes
        Kiwoom refused in ``attrs["failed"]``."""
        from ..store._update import update
        from ._candles import _interval, _moment
        from ._frame import require_pandas

        interval, _ = _interval(interval), _moment(require_pandas(), start, "start")  # one line, before any code
        return update(self, codes, interval, start, adjusted=adjusted, store=store)
