"""What an order would send, in one line: ``BUY 10 × 005930 삼성전자 @ 160,400 (limit)``; the text of
OrderNotConfirmed and of ``Client.preview``.

Sends nothing: a stock's name comes from the day's cached list (kiwoom_nb._codes) or is left out. No IPython.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from ._trs import fields_of, lookup

if TYPE_CHECKING:
    from ._api import Client

__all__ = ["describe_order", "preview_line"]

#: The side of an order, read off the TR's name (주식 매수주문, 신용 매도주문, 미국주식 정정 주문, 금현물 취소주문 …).
SIDES = (("매수", "BUY"), ("매도", "SELL"), ("정정", "MODIFY"), ("취소", "CANCEL"))
LIMIT, MARKET = ("0", "00"), ("3", "03")  # trde_tp 보통(지정가) and 시장가, domestic and US


def preview_line(api: "Client", api_id: str, path: str | None, body: dict[str, Any]) -> str:
    """``not sent: <what>, <environment> — <what to do>``; the OrderNotConfirmed text for a production order."""
    from ._client import is_mock_destination
    from ._trs import is_order

    base = api._route(api.mock)[0]
    host = _host(base)
    what = describe_order(api, api_id, body)
    if api.mock and is_mock_destination(base):
        return f"not sent: {what}, mock ({host})" + (" — sent without confirm=True: mock orders move no money"
                                                       if is_order(api_id, path) else "")
    where = f"production ({host}{', labelled mock but not a known mock server; KIWOOM_MOCK_HOSTS names one' if api.mock else ''})"
    if not is_order(api_id, path):
        return f"not sent: {what}, {where} — not an order: call() sends it"
    return f"not sent: {what}, {where} — pass confirm=True (--confirm on %kiwoom) to place it"


def describe_order(api: "Client", api_id: str, body: dict[str, Any]) -> str:
    """The order in words: side, quantity, code and name, price or market; the fields as sent for anything else."""
    api_id = str(api_id).strip()
    tr = lookup(api_id)
    us = tr is not None and tr.market == "us"
    if api_id == "ust31302":
        return _exchange(body)
    side = next((word for key, word in SIDES if tr is not None and key in tr.name.replace(" ", "")), None)
    if side is None:
        fields = " ".join(f"{k}={v}" for k, v in body.items())
        return f"{api_id}{f' ({tr.name})' if tr else ''} {fields}".strip()
    if tr is not None and tr.category == "신용주문":
        side += " (credit)"
    code = str(body.get("stk_cd", "")).strip()
    from ._codes import cached_name

    name = cached_name(api, code, us) if code else ""
    stock = f"{code} {name}".strip() or "?"
    qty = next((str(body[k]).strip() for k in ("ord_qty", "mdfy_qty", "cncl_qty") if k in body), "")
    amount = _number(qty) if qty else "?"
    price = (_dollars if us else _won)(str(body.get("ord_uv") or body.get("mdfy_uv") or "").strip())
    original = str(body.get("orig_ord_no", "")).strip()
    venue = _venue(api_id, body, us)
    if side.startswith("CANCEL"):
        many = "all remaining" if qty in ("", "0") else amount
        return f"{side} order {original}: {stock}" + ("" if us else f", {many}") + venue
    if side.startswith("MODIFY"):
        return f"{side} order {original}: " + ("" if us else f"{amount} × ") + f"{stock} @ {price}" + venue
    return f"{side} {amount} × {stock} {_priced(api_id, body, price, us)}{venue}"


def _priced(api_id: str, body: dict[str, Any], price: str, us: bool) -> str:
    """``@ 160,400 (limit)``, ``at market``, ``@ 158,000 (조건부지정가)``, with a stop or condition price if given."""
    kind = str(body.get("trde_tp", "")).strip()
    spec = fields_of(api_id)
    field = next((f for f in spec.request if f.name == "trde_tp"), None) if spec else None
    meaning = field.codes.get(kind, kind) if field else kind
    if "시장가" in meaning or kind in MARKET:
        text = "at market" + ("" if kind in MARKET or not meaning else f" ({meaning})")
    else:
        text = f"@ {price} ({'limit' if kind in LIMIT else meaning or 'trde_tp not given'})"
    extra = str(body.get("stop_pric") or body.get("cond_uv") or "").strip()
    if extra:
        text += f", {'stop' if us else 'condition'} {(_dollars if us else _won)(extra)}"
    return text


def _venue(api_id: str, body: dict[str, Any], us: bool) -> str:
    """`` on NASDAQ`` for US orders, `` on NXT`` / `` on SOR`` for a domestic one not sent to KRX."""
    if us:
        spec = fields_of(api_id)
        field = next((f for f in spec.request if f.name == "stex_tp"), None) if spec else None
        where = str(body.get("stex_tp", "")).strip()
        return f" on {field.codes.get(where, where) if field else where}" if where else ""
    where = str(body.get("dmst_stex_tp", "")).strip()
    return f" on {where}" if where and where != "KRX" else ""


def _exchange(body: dict[str, Any]) -> str:
    """ust31302 환전 신청: exch_tp 1 sells won for dollars, 2 dollars for won; fc_exmn_amt is in the currency sold."""
    kind, amount = str(body.get("exch_tp", "")).strip(), str(body.get("fc_exmn_amt", "")).strip()
    if kind == "1":
        return f"EXCHANGE {_won(amount)} KRW → USD"
    if kind == "2":
        return f"EXCHANGE {_dollars(amount)} → KRW"
    return f"EXCHANGE {amount or '?'} (exch_tp={kind or '?'})"


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _number(text: str) -> str:
    value = _decimal(text)
    return f"{value:,}" if value is not None else text


def _won(text: str) -> str:
    """``160400`` -> ``160,400`` (zero padding and a sign dropped); anything else as given, "?" when empty."""
    value = _decimal(text)
    return f"{abs(value).normalize():,f}" if value is not None else (text or "?")


def _dollars(text: str) -> str:
    """``185.25`` -> ``$185.25``, ``0.1234`` -> ``$0.1234``: at least cents, every decimal Kiwoom was sent."""
    value = _decimal(text)
    if value is None:
        return text or "?"
    places = max(2, -int(value.normalize().as_tuple().exponent))
    return f"${abs(value):,.{places}f}"


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).netloc or url
