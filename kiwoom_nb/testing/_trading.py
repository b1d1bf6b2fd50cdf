"""The fake's TR answers that read the market's order book and orders (``_market``): buy / sell orders placed
(kt10000, kt10001; US: ust20000, ust20001, modified by ust20002, cancelled by ust20003, listed by ust21510, held in ust21070), cancels
(kt10003), the unfilled orders (ka10075, 미체결), orders and fills (kt00007, 체결), the
quote book (ka10004). Stdlib only.

Values come from the market; the shapes are the recorded ones (``_shapes``: kt00007's rows) or the catalogue's
(``_synth``), so a field this module does not fill keeps its made-up value and its format.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .market import _shapes
from .market._stocks import stock
from .market._synth import US_LISTED

if TYPE_CHECKING:
    from . import FakeKiwoom
    from .market._market import Order

#: Order types (trde_tp) the fake fills at the market's price; any other type with a price is a limit order.
AT_MARKET = {"3", "13", "23", "61", "62", "81"}
ACCOUNT = "1234567890"


def _signed(value: int, reference: int) -> str:
    return f"+{value}" if value > reference else f"-{value}" if value < reference else str(value)


def _int(value: Any) -> int:
    try:
        return abs(int(float(str(value).strip() or 0)))
    except ValueError:
        return 0


def refusal(api_id: str, body: dict[str, Any]) -> str | None:
    """Kiwoom's words (after 입력 값 오류입니다) for an order no one can place, or None: a quantity or price that is
    no quantity or price (kiwoom_nb.rest._describe.order_problems: the library's own check, so check=False meets the
    same refusal), a limit order without its price, a price off the price step (호가단위) of its market."""
    from decimal import Decimal

    from ..rest._describe import order_problems
    from .market._clock import tick_size

    for name, _ in order_problems(api_id, body):
        if not str(body.get(name, "")).strip():
            return f"[1511:필수 입력 값에 값이 존재하지 않습니다 필드={name}]"
        return f"[1517:입력 값 형식이 올바르지 않습니다 필드={name}]"
    us = api_id.startswith("ust")
    for name in ("ord_uv", "mdfy_uv") if not api_id.startswith("kt5") else ():  # gold has steps of its own
        text = str(body.get(name, "")).strip()
        price = Decimal(text) if text else Decimal(0)
        if price <= 0:
            continue  # at market
        step = (Decimal("0.01") if price >= 1 else Decimal("0.0001")) if us else Decimal(tick_size(float(price)))
        if price % step:
            return f"[1517:호가단위가 올바르지 않습니다 필드={name}]"
    return None


def place(fake: "FakeKiwoom", api_id: str, environment: str, number: str, body: dict[str, Any], appkey: str) -> None:
    """Put an accepted kt10000 / kt10001 order in the market's book (a 접수 event; a 체결 when it fills)."""
    price = _int(body.get("ord_uv"))
    at_market = str(body.get("trde_tp", "")).strip() in AT_MARKET or not price
    fake.market.orders.place(number, "buy" if api_id == "kt10000" else "sell", str(body.get("stk_cd", "")).split("_")[0],
                             _int(body.get("ord_qty")), None if at_market else price, environment=environment,
                             appkey=appkey)


def acknowledge(fake: "FakeKiwoom", api_id: str, environment: str, number: str, body: dict[str, Any],
                appkey: str) -> None:
    """Any other order TR (a modify, a cancel, a credit or US order): a 접수 event, nothing matched."""
    side = "sell" if any(w in api_id for w in ("10001", "10008", "20001")) else "buy"
    fake.market.orders.place(number, side, str(body.get("stk_cd", "")).split("_")[0], _int(body.get("ord_qty")),
                             _int(body.get("ord_uv")) or None, environment=environment, appkey=appkey, matched=False,
                             us=api_id.startswith("ust"))


# -- US orders (ust20000 buy, ust20001 sell, ust20002 modify, ust20003 cancel, ust21510 today's orders, ust21070 holdings) ------------

US_AT_MARKET = {"03", "33", "36", "37"}  # 시장가, MOC, VWAP / TWAP 시장가


def _cents(value: Any) -> int:
    """A dollar price (``"185.2"``) in the market's ten-thousandths of a dollar; 0 for none."""
    from decimal import Decimal, InvalidOperation

    try:
        return abs(int(Decimal(str(value).strip() or 0) * 10000))
    except InvalidOperation:
        return 0


def _dollars(value: int) -> str:
    return f"{value / 10000:.4f}"


def place_us(fake: "FakeKiwoom", api_id: str, environment: str, number: str, body: dict[str, Any],
             appkey: str) -> None:
    """ust20000 / ust20001: the order in the market's book on the US price path, matched as a domestic one is."""
    price = _cents(body.get("ord_uv"))
    at_market = str(body.get("trde_tp", "")).strip() in US_AT_MARKET or not price
    fake.market.orders.place(number, "buy" if api_id == "ust20000" else "sell", str(body.get("stk_cd", "")).strip(),
                             _int(body.get("ord_qty")), None if at_market else price, environment=environment,
                             appkey=appkey, us=True)


def _original(fake: "FakeKiwoom", environment: str, body: dict[str, Any]) -> "Order | None":
    original = str(body.get("orig_ord_no", "")).strip().lstrip("0")
    return next((o for o in fake.market.orders.of(environment)
                 if original and o.us and o.matched and o.number.lstrip("0") == original), None)


def modify_us(fake: "FakeKiwoom", environment: str, number: str, body: dict[str, Any], appkey: str) -> bool:
    """ust20002: all that remains of the original goes on at ``mdfy_uv`` under the new number (the TR has no
    quantity). False: no such order, or nothing left of it."""
    orders = fake.market.orders
    with orders._lock:
        found = _original(fake, environment, body)
        if found is None or found.remaining <= 0:
            return False
        qty, found.quantity = found.remaining, found.filled
        orders.place(number, found.side, found.code, qty, _cents(body.get("mdfy_uv")) or None,
                     environment=environment, appkey=appkey, us=True)
    return True


def cancel_us(fake: "FakeKiwoom", environment: str, body: dict[str, Any]) -> None:
    """ust20003: what remains of the original order is cancelled."""
    found = _original(fake, environment, body)
    if found is not None:
        found.cancelled = True


def us_orders(fake: "FakeKiwoom", environment: str, body: dict[str, Any], made: dict[str, Any]) -> dict[str, Any]:
    """ust21510 (당일 주문체결 확인): every US order of ``environment``, newest first, in the catalogue's row shape:
    quantities, dollar prices with four decimals, ord_stat 접수 / 체결 / 취소 / 거부."""
    code = str(body.get("stk_cd", "")).strip()
    side = str(body.get("slby_tp", "0")).strip()  # 0 전체, 1 매도, 2 매수
    orders = [o for o in fake.market.orders.of(environment) if o.us and o.matched and (not code or o.code == code)
              and (side not in ("1", "2") or o.side == ("sell" if side == "1" else "buy"))]
    template = (made.get("result_list") or [{}])[0]
    rows = []
    for o in reversed(orders):
        state = "거부" if o.rejected else "취소" if o.cancelled else "체결" if o.filled else "접수"
        where = {"NA": "AMEX", "ND": "NASDAQ", "NY": "NYSE"}.get((US_LISTED.get(o.code) or ("", "", "ND"))[2], "NASDAQ")
        row = {"ord_no": o.number, "orig_ord_no": "", "stex_nm": where, "crnc_code": "USD", "stk_cd": o.code,
               "frgn_trde_tp": "03" if o.price is None else "00", "frgn_trde_nm": "시장가" if o.price is None else "지정가",
               "slby_tp": "2" if o.side == "buy" else "1", "slby_tp_nm": "매수" if o.side == "buy" else "매도",
               "ord_qty": str(o.quantity), "ord_uv": _dollars(o.price or 0), "stop_pric": _dollars(0),
               "cntr_qty": str(o.filled), "cntr_uv": _dollars(o.fill_price), "cnfm_qty": str(o.quantity),
               "ord_remnq": str(o.remaining), "ord_time": o.placed.strftime("%H%M%S"),
               "ord_resp_time": o.placed.strftime("%H%M%S"), "ord_stat": state,
               "cntr_time": o.fill_time.strftime("%H%M%S") if o.fill_time else ""}
        rows.append({k: row.get(k, v) for k, v in template.items()} if template else row)
    return {**made, "result_list": rows}


#: The fake's US account to begin with: code -> (shares, price paid a share in ten-thousandths of a dollar).
US_HOLDINGS = {"AAPL": (5, 1_802_500), "NVDA": (12, 1_255_000), "KO": (20, 621_300)}


def us_holdings(fake: "FakeKiwoom", environment: str, body: dict[str, Any], made: dict[str, Any]) -> dict[str, Any]:
    """ust21070 (미국주식 원장잔고확인): the US account's holdings, US_HOLDINGS moved by the fills of ``environment``'s
    US orders (a buy adds at its fill price, a sell takes off at the average), valued at the US path's price now;
    dollars with four decimals, in the catalogue's row shape (the won columns as made up)."""
    code = str(body.get("stk_cd", "")).strip()
    held = {c: [qty, qty * paid] for c, (qty, paid) in US_HOLDINGS.items() if not code or c == code}  # shares, paid
    for o in fake.market.orders.of(environment):
        if not (o.us and o.filled) or (code and o.code != code):
            continue
        qty, paid = held.setdefault(o.code, [0, 0])
        if o.side == "buy":
            held[o.code] = [qty + o.filled, paid + o.filled * o.fill_price]
        else:
            sold = min(o.filled, qty)
            held[o.code] = [qty - sold, paid - (paid * sold // qty if qty else 0)]
    template = (made.get("result_list") or [{}])[0]
    rows, totals = [], [0, 0]
    for stock_code, (qty, paid) in held.items():
        if qty <= 0:
            continue
        name, _, where = (US_LISTED.get(stock_code) or (stock_code, "", "ND"))[:3]
        price = fake.market.quote(stock_code, True)["price"]
        value, gain = price * qty, price * qty - paid
        totals = [totals[0] + value, totals[1] + paid]
        row = {"stex_nm": {"NA": "AMEX", "ND": "NASDAQ", "NY": "NYSE"}.get(where, "NASDAQ"), "crnc_code": "USD",
               "stk_cd": stock_code, "frgn_stk_nm": name, "qty": str(qty), "poss_qty": str(qty), "sell_alowq": str(qty),
               "frgn_stk_book_uv": _dollars(paid // qty), "now_pric": _dollars(price), "evlt_amt": _dollars(value),
               "pl_amt": _dollars(gain), "pl_rt": f"{gain * 100 / paid:.2f}" if paid else "0.00",
               "frgn_stk_book_amt": _dollars(paid), "natn_nm": "미국"}
        rows.append({k: row.get(k, v) for k, v in template.items()} if template else row)
    value, paid = totals
    return {**made, "crnc_code": "USD", "tot_evlt_amt": _dollars(value), "tot_prch_amt": _dollars(paid),
            "tot_pl_amt": _dollars(value - paid), "result_list": rows}


def modify(fake: "FakeKiwoom", environment: str, number: str, body: dict[str, Any], appkey: str) -> bool:
    """kt10002 of a resting order: what remains of it leaves the book and a new order (``number``) for ``mdfy_qty`` at
    ``mdfy_uv`` takes its place, as Kiwoom gives a modified order a number of its own. False: no such order."""
    original = str(body.get("orig_ord_no", "")).strip().lstrip("0")
    orders = fake.market.orders
    with orders._lock:
        found = next((o for o in orders.of(environment) if o.number.lstrip("0") == original and original), None)
        if found is None or found.remaining <= 0:
            return False
        qty = min(_int(body.get("mdfy_qty")) or found.remaining, found.remaining)
        found.quantity = found.filled
        orders.place(number, found.side, found.code, qty, _int(body.get("mdfy_uv")) or None, environment=environment,
                     appkey=appkey)
    return True


def cancel(fake: "FakeKiwoom", environment: str, body: dict[str, Any]) -> None:
    """kt10003: what remains of the original order is cancelled."""
    original = str(body.get("orig_ord_no", "")).strip()
    for order in fake.market.orders.of(environment):  # the cancel itself is acknowledged by the caller
        if order.number.lstrip("0") == original.lstrip("0") and original:
            order.cancelled = True


def unfilled(fake: "FakeKiwoom", environment: str, body: dict[str, Any], made: dict[str, Any],
             shape: dict[str, Any]) -> dict[str, Any]:
    """ka10075: one row per order of ``environment`` with something left to fill, with the keys of ``shape`` (the
    catalogue's answer)."""
    code = str(body.get("stk_cd", "")).strip()
    side = str(body.get("trde_tp", "0")).strip()  # 0 전체, 1 매도, 2 매수
    orders = [o for o in fake.market.orders.of(environment)
              if o.remaining > 0 and not o.us and (not code or o.code == code)
              and (side not in ("1", "2") or o.side == ("sell" if side == "1" else "buy"))]
    template = (shape.get("oso") or [{}])[0]
    rows = [_unfilled_row(fake, o) for o in reversed(orders)]
    return {**made, "oso": [{k: row.get(k, v) for k, v in template.items()} if template else row for row in rows]}


def _unfilled_row(fake: "FakeKiwoom", order: "Order") -> dict[str, str]:
    quote = fake.market.quote(order.code)
    book = fake.market.book(order.code, 1)
    ref = quote["previous"]
    return {"acnt_no": ACCOUNT, "ord_no": order.number, "stk_cd": order.code, "tsk_tp": "", "ord_stt": "접수",
            "stk_nm": (stock(order.code) or ("",))[0], "ord_qty": str(order.quantity),
            "ord_pric": str(order.price or 0), "oso_qty": str(order.remaining),
            "cntr_tot_amt": str(order.fill_price * order.filled), "orig_ord_no": "0000000",
            "io_tp_nm": "+매수" if order.side == "buy" else "-매도", "trde_tp": "시장가" if order.price is None else "보통",
            "tm": order.placed.strftime("%H%M%S"), "cntr_no": "", "cntr_pric": str(order.fill_price or ""),
            "cntr_qty": str(order.filled or ""), "cur_prc": _signed(quote["price"], ref),
            "sel_bid": _signed(book["asks"][0][0], ref), "buy_bid": _signed(book["bids"][0][0], ref)}


def orders_and_fills(fake: "FakeKiwoom", environment: str, body: dict[str, Any], made: dict[str, Any]) -> dict[str, Any]:
    """kt00007: every order of ``environment``, newest first, with what filled and at what price."""
    code = str(body.get("stk_cd", "")).strip()
    side = str(body.get("sell_tp", "0")).strip()  # 0 전체, 1 매도, 2 매수
    orders = [o for o in fake.market.orders.of(environment) if o.matched and not o.us
              and (not code or o.code == code)
              and (side not in ("1", "2") or o.side == ("sell" if side == "1" else "buy"))]
    rows = []
    for o in reversed(orders):
        at = o.placed.hour * 3600 + o.placed.minute * 60 + o.placed.second
        row = _shapes.order_detail(int(o.number), o.code, (stock(o.code) or ("",))[0], "1" if o.side == "buy" else "2",
                                   "0" if o.price is not None else "3", o.quantity, o.price or 0, o.filled,
                                   o.fill_price, at, state="거부" if o.rejected else "접수")
        row["ord_remnq"] = _shapes.padded(o.remaining, len(row["ord_remnq"]))
        if o.cancelled:
            row["mdfy_cncl"] = "취소"
        rows.append(row)
    return {**made, "acnt_ord_cntr_prps_dtl": rows}


def quote_book(fake: "FakeKiwoom", body: dict[str, Any], made: dict[str, Any]) -> dict[str, Any]:
    """ka10004: ten levels each side around the market's last price, the best ask above it and the best bid below."""
    code = str(body.get("stk_cd", "")).split("_")[0]
    book = fake.market.book(code, 10)
    ref = fake.market.quote(code)["previous"]
    names = ["fpr"] + [f"{n}th_pre" for n in range(2, 11)]
    values = {"bid_req_base_tm": fake.clock.now().strftime("%H%M%S")}
    for name, (ask, ask_qty), (bid, bid_qty) in zip(names, book["asks"], book["bids"]):
        values[f"sel_{name}_bid"], values[f"sel_{name}_req"] = _signed(ask, ref), str(ask_qty)
        values[f"buy_{name}_bid"], values[f"buy_{name}_req"] = _signed(bid, ref), str(bid_qty)
    values["tot_sel_req"] = str(sum(q for _, q in book["asks"]))
    values["tot_buy_req"] = str(sum(q for _, q in book["bids"]))
    return {**made, **{k: v for k, v in values.items() if k in made}}


__all__ = ["ACCOUNT", "AT_MARKET", "US_AT_MARKET", "acknowledge", "cancel", "cancel_us", "modify", "modify_us",
           "orders_and_fills", "place", "place_us", "quote_book", "refusal", "unfilled", "us_orders"]
