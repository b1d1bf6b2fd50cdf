"""The TR side of the fake Kiwoom (kiwoom_nb.testing.FakeKiwoom): /api/dostk/* and /api/us/* answered the way
Kiwoom answers.

Stdlib only. Token checks, api-id / path checks from the shipped TR table, a per-api-id rate limit, required fields
from the field catalogue, mock-unsupported TRs, orders. Every TR of the table answers: a few hand-made ones
(:data:`HANDMADE`: candle charts paged by date from ``_charts``, holdings, buy / sell from ``_stocks``), every other one in its
documented shape with made-up values (``_synth``), brought to the shape Kiwoom was recorded sending where there is a
recording (``_shapes``: labels, widths, double signs, empty lists, return_msg).
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..rest._trs import fields_of, is_order, lookup, table
from . import _trading
from ._replies import _answer
from .market import _charts, _shapes, _synth
from .market._charts import daily as candles
from .market._stocks import STOCKS, UNLISTED, holdings, stock, stock_info, stock_list

if TYPE_CHECKING:
    from . import FakeKiwoom
    from ._replies import _Reply

_OK = "정상적으로 처리되었습니다"
_INPUT = "입력 값 오류입니다"
_AUTH = "인증에 실패했습니다"
_RATE = "허용된 요청 개수를 초과하였습니다"

#: The TRs with hand-made answers (realistic data from the market, ``_market``: the charts of ``_charts`` paged by
#: date, the quote book and the account's orders of ``_trading``); every other TR of the table is made up from the
#: field catalogue (``_synth``).
HANDMADE = ("ka10001", "ka10004", "ka10075", "ka10099", "kt00007", "kt00018", "kt10000", "kt10001", "usa10099",
            "ust21070", "ust21510", *_charts.CHARTS)


def serves() -> str:
    """What the fake serves, in one sentence (the banners of ``python -m kiwoom_nb.testing`` and ``make demo``)."""
    markets = [tr.market for tr in table().values()]
    handmade = [a for a in HANDMADE if a not in _charts.CHARTS]
    return (f"every TR of kiwoom_nb's table ({markets.count('domestic')} domestic, {markets.count('us')} US) in its "
            f"documented shape with made-up data ({', '.join(handmade)} and the candle charts ka10079-ka10083, "
            f"ka10094 and usa06010-usa06015 hand-made, paged by date); any "
            f"6-digit stock code (also _NX / _AL) has data: one price path per code from its listing date to the "
            f"fake's clock, shared by every TR and the WebSocket ({', '.join(STOCKS)} close at their hand-picked "
            f"prices on 2026-12-01); mock orders fill against it; "
            f"{' and '.join(sorted(UNLISTED))} are unlisted (1902)")


#: TRs the fake refuses in mock trading with 8104 unless FakeKiwoom(mock_unsupported=...) says otherwise.
MOCK_UNSUPPORTED = frozenset({"ka10068", "ka10069", "ka20068", "ka90012"})


def _error(status: int, return_code: int, text: str) -> tuple[int, dict[str, Any]]:
    return status, {"return_code": return_code, "return_msg": text}


def answer(fake: "FakeKiwoom", environment: str, path: str, headers: dict[str, str], body: Any) -> "_Reply":
    """The reply to one TR request (already recorded by FakeKiwoom.handle)."""

    api_id = headers.get("api-id", "")
    status, payload, more = _decide(fake, environment, path, api_id, headers, body)
    reply = _answer(status, payload, "json", api_id)
    if more:
        reply.headers.update({"cont-yn": "Y", "next-key": more})
    return reply


def _decide(fake: "FakeKiwoom", environment: str, path: str, api_id: str, headers: dict[str, str],
            body: Any) -> tuple[int, dict[str, Any], str]:
    if not api_id:
        return (*_error(200, 2, f"{_INPUT}[1501:API ID가 없습니다]"), "")
    tr = lookup(api_id)
    if tr is None or tr.market not in ("domestic", "us"):  # the OAuth TRs live at /oauth2/…, not here
        return (*_error(200, 2, f"{_INPUT}[1505:존재하지 않는 API ID입니다 API ID={api_id}]"), "")
    if tr.path != path:
        return (*_error(200, 2, f"{_INPUT}[1504:해당 URL에서는 지원하지 않는 API ID입니다 API ID={api_id}]"), "")
    if not isinstance(body, dict):
        return (*_error(200, 2, f"{_INPUT}[1501:JSON 형식이 아닙니다]"), "")
    with fake._lock:
        refused = _check_token(fake, environment, headers)
        if refused:
            return (*refused, "")
        if environment == "mock" and api_id in fake.mock_unsupported:
            return (*_error(200, 2, f"{_INPUT}[8104:모의투자에서는 지원하지 않는 API입니다]"), "")
        limit = fake.rate_limit.get(api_id, fake.rate_limit.get("*")) if isinstance(fake.rate_limit, dict) \
            else fake.rate_limit
        if limit:
            window = fake._windows.setdefault(api_id, [])
            now = time.monotonic()
            window[:] = [t for t in window if now - t < 1.0]
            if len(window) >= limit:
                fake.rate_refusals += 1
                return (*_error(429, 5, f"{_RATE}[1700:{_RATE} 유량={limit:g}, API ID={api_id}]"), "")
            window.append(now)
        spec = fields_of(api_id)
        for field in spec.request if spec else ():
            if field.required and not str(body.get(field.name, "")).strip():
                return (*_error(200, 2, f"{_INPUT}[1511:필수 입력 값에 값이 존재하지 않습니다 필드={field.name}]"), "")
        wrong = _trading.refusal(api_id, body) if is_order(api_id, path) else None
        if wrong:  # refused as Kiwoom refuses it: nothing placed, no order number
            return (*_error(200, 2, f"{_INPUT}{wrong}"), "")
        stk_cd = str(body.get("stk_cd", ""))
        if tr.market == "domestic" and _names_a_stock(spec) and stock(stk_cd) is None:
            return (*_error(200, 2, f"{_INPUT}[1902:종목 정보가 없습니다 종목코드={stk_cd}]"), "")
        if api_id in _charts.CHARTS:
            return _chart(fake, api_id, body, headers, spec)
        if api_id == "ka10001":
            return 200, stock_info(stk_cd, fake.market), ""
        if api_id == "ka10099":
            return 200, stock_list(str(body.get("mrkt_tp", "")), fake.market), ""
        if api_id == "usa10099":
            return 200, _synth.us_stock_list(str(body.get("stex_tp", "%"))), ""
        if api_id == "kt00018":
            return 200, holdings(fake.market, environment), ""
        if api_id in ("kt10000", "kt10001"):
            fake.orders.append(_received(fake, headers))
            number = f"{len(fake.orders):07d}"
            _trading.place(fake, api_id, environment, number, body, _appkey(fake, headers))
            verb = "매수" if api_id == "kt10000" else "매도"
            return 200, {"ord_no": number, "dmst_stex_tp": body.get("dmst_stex_tp", "KRX"),
                         "return_code": 0, "return_msg": f"{verb}주문이 완료되었습니다"}, ""
        made = _synth.answer(api_id, body, spec, market=tr.market, category=tr.category, prices=fake.market)
        ordered = is_order(api_id, path)
        shape = {k: (list(v) if isinstance(v, list) else v) for k, v in made.items()}  # the catalogue's, untouched
        made = _shapes.reshape(api_id, body, made,
                               enquiry=tr.market == "domestic" and tr.category == "계좌" and not ordered)
        if api_id == "ka10004":  # values from the market, in the shapes above
            made = _trading.quote_book(fake, body, made)
        elif api_id == "ka10075":
            made = _trading.unfilled(fake, environment, body, made, shape)
        elif api_id == "kt00007":
            made = _trading.orders_and_fills(fake, environment, body, made)
        elif api_id == "ust21510":
            made = _trading.us_orders(fake, environment, body, made)
        elif api_id == "ust21070":
            made = _trading.us_holdings(fake, environment, body, made)
        elif api_id == "kt10003":
            _trading.cancel(fake, environment, body)
        elif api_id == "ust20003":
            _trading.cancel_us(fake, environment, body)
        if ordered:  # every order reaches fake.orders; its number goes where the guide has one (ust31302 has none)
            fake.orders.append(_received(fake, headers))
            number = f"{len(fake.orders):07d}"
            if "ord_no" in made:
                made["ord_no"] = number
            appkey = _appkey(fake, headers)
            if api_id in ("ust20000", "ust20001"):
                _trading.place_us(fake, api_id, environment, number, body, appkey)
            elif not (api_id == "kt10002" and _trading.modify(fake, environment, number, body, appkey)
                      or api_id == "ust20002" and _trading.modify_us(fake, environment, number, body, appkey)):
                _trading.acknowledge(fake, api_id, environment, number, body, appkey)
        return 200, made, ""


def _appkey(fake: "FakeKiwoom", headers: dict[str, str]) -> str:
    """The app key whose token sent these headers (its 00 events go to that app key's sockets)."""
    token = headers.get("authorization", "").partition(" ")[2]
    return next((t.appkey for t in fake.tokens if t.value == token), "")


def _names_a_stock(spec: Any) -> bool:
    """The TR requires a stock code in stk_cd (not one of a list of codes, like the gold spot TRs' M04020000)."""
    return spec is not None and any(f.name == "stk_cd" and f.required and not f.codes and not f.examples
                                    for f in spec.request)


def _received(fake: "FakeKiwoom", headers: dict[str, str]) -> Any:
    """The recorded request these headers came with (FakeKiwoom.handle records the very dict it passes on)."""
    return next(r for r in reversed(fake.requests) if r.headers is headers)


def _check_token(fake: "FakeKiwoom", environment: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]] | None:
    authorization = headers.get("authorization", "")
    if not authorization:
        return _error(200, 2, f"{_INPUT}[1514:authorization 헤더가 없습니다]")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value:
        return _error(200, 2, f"{_INPUT}[1516:authorization 헤더 형식이 올바르지 않습니다]")
    issued = next((t for t in fake.tokens if t.value == value), None)
    if issued is not None and fake._revoke_countdown is not None and not issued.revoked:
        fake._revoke_countdown -= 1
        if fake._revoke_countdown <= 0:  # revoke_after(n): this request finds its token revoked
            fake._revoke_countdown = None
            issued.revoked = True
    if issued is None or issued.revoked or issued.expires_at <= datetime.now(timezone.utc):
        return _error(200, 3, f"{_AUTH}[8005:Token이 유효하지 않습니다]")
    if issued.environment != environment:
        return _error(200, 3, f"{_AUTH}[8031:투자구분(실전/모의)이 달라서 Token을 사용할수 없습니다]")
    return None


def _chart(fake: "FakeKiwoom", api_id: str, body: dict[str, Any], headers: dict[str, str],
           spec: Any) -> tuple[int, dict[str, Any], str]:
    """One page of a candle chart: ``fake.page_size`` rows from where the next-key says, and the next-key for the rest;
    recorded in ``fake.served``."""
    asked = (api_id, json.dumps(body, sort_keys=True))
    offset = 0
    if headers.get("cont-yn", "").upper() == "Y":
        key = headers.get("next-key", "")
        expected = fake._next_keys.get(key)
        if expected is None or expected[0] != asked:
            return (*_error(200, 2, f"{_INPUT}[1517:next-key 형식이 올바르지 않습니다]"), "")
        offset = expected[1]
    rows, further = _charts.page(api_id, body, fake.market, offset, fake.page_size, fake.candles)
    end = offset + len(rows)
    stk_cd = str(body.get("stk_cd", ""))
    more = ""
    if further:
        more = f"{stk_cd.split('_')[0]}{rows[-1].get('dt') or rows[-1]['cntr_tm']}{end:08d}"[:50]
        fake._next_keys[more] = (asked, end)
    list_key = lookup(api_id).list_key
    documented = {f.name for f in spec.response if f.list_key == list_key} | _shapes.OBSERVED.get(api_id, set())
    rows = [{k: v for k, v in row.items() if k in documented} for row in rows]
    fake.served.append({"api_id": api_id, "stk_cd": stk_cd, "rows": rows, "next_key": more,
                        "cont_yn": headers.get("cont-yn", ""), "next_key_in": headers.get("next-key", "")})
    top = {"stk_cd": stk_cd} if api_id.startswith("ka") else {}
    if api_id == "ka10079":
        top["last_tic_cnt"] = str(len(rows))
    return 200, {**top, list_key: rows, "return_code": 0, "return_msg": _OK}, more


__all__ = ["HANDMADE", "MOCK_UNSUPPORTED", "STOCKS", "answer", "candles", "serves"]
