"""US orders: which codes are US stocks, and Kiwoom's US order TRs — ust20000 buy, ust20001 sell, ust20002 modify,
ust20003 cancel, ust21510 today's orders and fills (당일 주문체결 확인) — as the bodies the book sends and the rows
it reads. Prices are dollars with cents, sent as written (``185.2``), never rounded.

Sends nothing itself (the book does, through ``Client.call`` and its guard); no IPython, no pandas.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from .._errors import KiwoomError, UnknownStockError

log = logging.getLogger("kiwoom_nb")

__all__ = ["BUY", "CANCEL", "MODIFY", "SELL", "STATUS", "dollars", "row", "ticker"]

BUY, SELL, MODIFY, CANCEL, STATUS = "ust20000", "ust20001", "ust20002", "ust20003", "ust21510"


def ticker(api: Any, code: str) -> tuple[str, str] | None:
    """(ticker, exchange stex_tp) when ``code`` is a US stock of the day's usa10099 list — its ticker in any case
    (aapl), or, when no domestic stock has that name, its name (애플, Apple Inc) — else None (a domestic code or
    name). A code that looks domestic (005930) is never looked up."""
    from ..rest._codes import find_code, listing, looks_like_code

    text = code.strip()
    if looks_like_code(text, us=False):
        return None
    try:
        rows = listing(api, "us") or []
    except KiwoomError as exc:  # no US list today (a US outage, an account without it): domestic names still work
        log.info("kiwoom_nb: the US stock list could not be read (%s); %r is taken as domestic", exc, text)
        return None
    found = next((r for r in rows if r["code"].casefold() == text.casefold()), None)
    if found is None:
        try:
            find_code(api, text)  # a domestic name (NAVER, 삼성전자) stays domestic
            return None
        except UnknownStockError:
            try:
                us_code = find_code(api, text, "us")
            except UnknownStockError:
                return None  # the domestic path says what is unknown, with its hint
            found = next(r for r in rows if r["code"] == us_code)
    return found["code"], str(found.get("stex_tp", "")).strip()


def dollars(price: Any) -> str:
    """A dollar price as sent: the number as written (185.2 -> "185.2"); the TR's check refuses what is no price."""
    return format(Decimal(str(price)), "f")


def row(found: dict[str, Any]) -> dict[str, Any]:
    """One ust21510 row in the names the order objects read (kt00007's): number, quantities, average fill price in
    dollars, and a cancel or refusal (ord_stat 취소 / 거부)."""
    state = str(found.get("ord_stat", ""))
    return {"ord_no": found.get("ord_no"), "stk_cd": str(found.get("stk_cd", "")).strip(),
            "ord_qty": found.get("ord_qty"), "ord_uv": found.get("ord_uv"), "cntr_qty": found.get("cntr_qty"),
            "cntr_uv": found.get("cntr_uv"), "io_tp_nm": "매도" if str(found.get("slby_tp")).strip() == "1" else "매수",
            "mdfy_cncl": "취소" if "취소" in state else "", "acpt_tp": "거부" if "거부" in state else "",
            "stex_tp": _EXCHANGES.get(str(found.get("stex_nm", "")).strip().upper(), ""), "us": True}


_EXCHANGES = {"NASDAQ": "ND", "NYSE": "NY", "AMEX": "NA"}
