"""The fake's TR answers that read the market's order book and orders (``_market``): buy / sell orders placed
(kt10000, kt10001), cancels (kt10003), the unfilled orders (ka10075, 미체결), orders and fills (kt00007, 체결), the
quote book (ka10004), and the holdings valued at the market's prices (kt00018). Stdlib only.

Values come from the market; the shape of each answer is the catalogue's (``_synth``), so a field this module does
not fill keeps its made-up value and Kiwoom's format.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._stocks import stock

if TYPE_CHECKING:
    from . import FakeKiwoom
    from ._market import Order

_OK = "조회가 완료되었습니다"
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
                             _int(body.get("ord_uv")) or None, environment=environment, appkey=appkey, matched=False)


def cancel(fake: "FakeKiwoom", environment: str, body: dict[str, Any]) -> None:
    """kt10003: what remains of the original order is cancelled."""
    original = str(body.get("orig_ord_no", "")).strip()
    for order in fake.market.orders.of(environment):  # the cancel itself is acknowledged by the caller
        if order.number.lstrip("0") == original.lstrip("0") and original:
            order.cancelled = True


def unfilled(fake: "FakeKiwoom", environment: str, body: dict[str, Any], made: dict[str, Any]) -> dict[str, Any]:
    """ka10075: one row per order of ``environment`` with something left to fill."""
    code = str(body.get("stk_cd", "")).strip()
    side = str(body.get("trde_tp", "0")).strip()  # 0 전체, 1 매도, 2 매수
    orders = [o for o in fake.market.orders.of(environment) if o.remaining > 0 and (not code or o.code == code)
              and (side not in ("1", "2") or o.side == ("sell" if side == "1" else "buy"))]
    return _listed(made, "oso", [_unfilled_row(fake, o) for o in reversed(orders)])


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
    orders = [o for o in fake.market.orders.of(environment) if o.matched and (not code or o.code == code)
              and (side not in ("1", "2") or o.side == ("sell" if side == "1" else "buy"))]
    rows = [{"ord_no": o.number, "stk_cd": o.code, "trde_tp": "시장가" if o.price is None else "보통매매",
             "crd_tp": "보통매매", "ord_qty": str(o.quantity), "ord_uv": str(o.price or 0),
             "cnfm_qty": str(o.quantity), "acpt_tp": "접수", "rsrv_tp": "", "ord_tm": o.placed.strftime("%H:%M:%S"),
             "ori_ord": "0000000", "stk_nm": (stock(o.code) or ("",))[0],
             "io_tp_nm": "현금매수" if o.side == "buy" else "현금매도", "loan_dt": "", "cntr_qty": str(o.filled),
             "cntr_uv": str(o.fill_price), "ord_remnq": str(o.remaining), "comm_ord_tp": "REST API",
             "mdfy_cncl": "취소" if o.cancelled else "", "cnfm_tm": (o.fill_time or o.placed).strftime("%H:%M:%S"),
             "dmst_stex_tp": "KRX", "cond_uv": "0"} for o in reversed(orders)]
    return _listed(made, "acnt_ord_cntr_prps_dtl", rows)


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


def holdings(fake: "FakeKiwoom", made: dict[str, Any]) -> dict[str, Any]:
    """kt00018 valued at the market's prices now: each holding's current price, previous close, evaluation, profit
    and rate, and the totals; every value written in the format the answer already has (width, zero padding, sign)."""
    out = dict(made)
    rows, evaluated, profit, paid = [], 0, 0, 0
    for row in made.get("acnt_evlt_remn_indv_tot") or []:
        code = str(row.get("stk_cd", "")).lstrip("AJQ")
        quote = fake.market.quote(code) if stock(code) else None
        if quote is None or "rmnd_qty" not in row or "pur_amt" not in row:
            rows.append(row)
            continue
        qty, cost = _int(row["rmnd_qty"]), _int(row["pur_amt"])
        value = quote["price"] * qty
        changed = {"cur_prc": _like(row.get("cur_prc"), quote["price"], quote["previous"]),
                   "pred_close_pric": _like(row.get("pred_close_pric"), quote["previous"]),
                   "evlt_amt": _like(row.get("evlt_amt"), value),
                   "evltv_prft": _like(row.get("evltv_prft"), value - cost, 0),
                   "prft_rt": f"{(value - cost) * 100 / cost:.2f}" if cost else "0.00"}
        rows.append({**row, **{k: v for k, v in changed.items() if k in row}})
        evaluated, profit, paid = evaluated + value, profit + value - cost, paid + cost
    if rows:
        out["acnt_evlt_remn_indv_tot"] = rows
    if paid:
        for name, number in (("tot_evlt_amt", evaluated), ("tot_evlt_pl", profit)):
            if name in out:
                out[name] = _like(out[name], number, 0 if name == "tot_evlt_pl" else None)
        if "tot_prft_rt" in out:
            out["tot_prft_rt"] = f"{profit * 100 / paid:.2f}"
    return out


def _like(template: Any, value: int, reference: int | None = None) -> str:
    """``value`` written as ``template`` is: zero-padded to its width when it is padded, and signed against
    ``reference`` (a direction; for an amount, 0) when the template carries a sign."""
    text = str(template or "")
    padded = text.lstrip("+-").startswith("0") and len(text.lstrip("+-")) > 1
    if reference == 0:  # an amount: a minus when negative, the padding to the template's whole width
        sign = "-" if value < 0 else ""
        return sign + (str(abs(value)).zfill(len(text) - len(sign)) if padded else str(abs(value)))
    body = str(abs(value))
    if padded:
        body = body.zfill(len(text.lstrip("+-")))
    if reference is not None and text[:1] in "+-":  # a price: its sign is a direction against the previous close
        return ("+" if value > reference else "-" if value < reference else "") + body
    return body


def _listed(made: dict[str, Any], key: str, rows: list[dict[str, str]]) -> dict[str, Any]:
    """``made`` (the catalogue's shape) with its list ``key`` replaced by ``rows``; each row keeps the documented
    fields only, those this module does not fill taken from the made-up first row."""
    template = (made.get(key) or [{}])[0]
    out = dict(made)
    out[key] = [{name: row.get(name, value) for name, value in template.items()} if template else row for row in rows]
    if "return_msg" in out:
        out["return_msg"] = _OK
    return out


__all__ = ["ACCOUNT", "AT_MARKET", "acknowledge", "cancel", "holdings", "orders_and_fills", "place", "quote_book", "unfilled"]
