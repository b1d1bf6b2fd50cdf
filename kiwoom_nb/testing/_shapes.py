"""How Kiwoom writes its values, as answers recorded from its servers show (tests/fixtures/recorded/README.md):
functions that take the fake's numbers and give back Kiwoom's strings (signs, double signs, widths, zero padding,
labels, times), and the touches that bring made-up answers (``_synth``) to the recorded shapes.

Formats and keys only: where the numbers come from is ``_stocks`` / ``_charts`` / ``_synth`` (and the market's
own module); nothing here decides a price. Stdlib only, deterministic.
"""

from __future__ import annotations

from typing import Any

#: return_msg of the account enquiries Kiwoom was recorded answering; every other domestic account enquiry says
#: :data:`ENQUIRY_DONE`. The leading space and the periods are Kiwoom's.
ACCOUNT_MESSAGES = {"ka10075": " 조회가 완료되었습니다.", "ka10076": " 조회가 완료되었습니다.",
                    "ka10085": " 조회가 완료되었습니다.", "kt00001": "조회가 완료되었습니다.",
                    "kt00017": "조회가 완료되었습니다..", "kt00007": "조회가 완료되었습니다",
                    "kt00018": "조회가 완료되었습니다"}
ENQUIRY_DONE = "조회가 완료되었습니다"

#: Keys Kiwoom was recorded sending that the guide's tables lack, by api-id (the fake sends them too).
OBSERVED = {"ka10080": {"acc_trde_qty"}}

#: The names REAL entries carry, by type (recorded: 0B 0D 0G 0I 0J).
REAL_NAMES = {"0B": "주식체결", "0D": "주식호가잔량", "0G": "ETF NAV", "0I": "선물기초자산시세", "0J": "업종지수",
              "0A": "주식기세", "0C": "주식우선호가", "0H": "주식예상체결"}

#: kt00007's labels: trde_tp by order type, acpt_tp by state, io_tp_nm by side (1 buy, 2 sell).
ORDER_KINDS = {"0": "지정가", "3": "시장가"}
ORDER_SIDES = {"1": "현금매수", "2": "현금매도"}


def signed(value: int, reference: int) -> str:
    """A price as a direction against ``reference`` (the previous close): +above, -below, bare when equal."""
    return f"+{value}" if value > reference else f"-{value}" if value < reference else str(value)


def change(value: int) -> str:
    """A change with its sign (+8700, -8700, 0)."""
    return f"+{value}" if value > 0 else str(value)


def double(value: int) -> str:
    """A change the way some of Kiwoom's fields write a fall: the direction sign, then the signed value (--2)."""
    return f"+{value}" if value > 0 else f"-{value}" if value < 0 else "0"


def padded(value: int, width: int) -> str:
    """Zero-padded to ``width``; a negative value keeps its minus in the first place (-00000000087000)."""
    return f"{value:0{width}d}" if value >= 0 else f"-{-value:0{width - 1}d}"


def rate(value: float) -> str:
    """A rate with two decimals and its sign (+0.35, -5.14, 0.00)."""
    return f"{value:+.2f}" if round(value, 2) else "0.00"


def hundredths(value: int, reference: int = 0) -> str:
    """``value`` hundredths written with two decimals, signed against ``reference`` (an index: -2512.30)."""
    sign = "+" if value > reference else "-" if value < reference else ""
    return f"{sign}{abs(value) // 100}.{abs(value) % 100:02d}"


def clock(seconds: int) -> str:
    """HH:MM:SS, kt00007's ord_tm."""
    return f"{seconds // 3600 % 24:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def order_detail(no: int, code: str, name: str, side: str, kind: str, qty: int, price: int, filled: int,
                 fill_price: int, at: int, state: str = "접수") -> dict[str, str]:
    """One kt00007 row: side "1" buy / "2" sell, kind "0" limit / "3" market (Kiwoom's trde_tp codes), ``at``
    seconds after midnight (Korea time). Quantities and prices 10 wide, labels in Korean."""
    return {"ord_no": f"{no:07d}", "stk_cd": f"A{code}", "trde_tp": ORDER_KINDS.get(kind, "지정가"),
            "crd_tp": "보통매매", "ord_qty": padded(qty, 10), "ord_uv": padded(price if kind != "3" else 0, 10),
            "cnfm_qty": padded(0, 10), "acpt_tp": state, "rsrv_tp": "", "ord_tm": clock(at), "ori_ord": "0000000",
            "stk_nm": name, "io_tp_nm": ORDER_SIDES.get(side, "현금매수"), "loan_dt": "",
            "cntr_qty": padded(filled, 10), "cntr_uv": padded(fill_price if filled else 0, 10),
            "ord_remnq": padded(qty - filled if state == "접수" else 0, 10), "comm_ord_tp": "REST API",
            "mdfy_cncl": "", "cnfm_tm": "", "dmst_stex_tp": "KRX", "cond_uv": padded(0, 10)}


def stock_info(code: str, name: str, *, price: int, base: int, open_: int, high: int, low: int, volume: int,
               listed: int = 5_969_783, fav: int = 100) -> dict[str, Any]:
    """ka10001's 45 flat fields as recorded, from the fake's numbers: ``price`` now, ``base`` the previous close,
    today's ``open_`` / ``high`` / ``low``, ``volume`` shares, ``listed`` thousand shares. Prices signed against
    ``base``; cap, fav and trde_qty plain integers; the expected price "-0" outside an auction."""
    moved = price - base
    hgst, lwst = price + price // 10, price // 2
    return {
        "stk_cd": code, "stk_nm": name, "setl_mm": "12", "fav": str(fav), "cap": str(listed * fav // 100_000 or 1),
        "flo_stk": str(listed), "crd_rt": "+0.12", "oyr_hgst": signed(hgst, base), "oyr_lwst": signed(lwst, base),
        "mac": str(listed * price // 1_000_000), "mac_wght": "", "for_exh_rt": "+51.43", "repl_pric": str(base * 7 // 10),
        "per": "18.23", "eps": str(price * 100 // 1823), "roe": "9.3", "pbr": "1.71", "ev": "6.42",
        "bps": str(price * 100 // 171), "sale_amt": "3008709", "bus_pro": "327260", "cup_nga": "344514",
        "250hgst": signed(hgst, base), "250lwst": signed(lwst, base), "open_pric": signed(open_, base),
        "high_pric": signed(high, base), "low_pric": signed(low, base), "upl_pric": signed(base * 13 // 10 // 100 * 100, base),
        "lst_pric": signed(base * 7 // 10 // 100 * 100, base), "base_pric": str(base), "exp_cntr_pric": "-0",
        "exp_cntr_qty": "0", "250hgst_pric_dt": "20261015", "250hgst_pric_pre_rt": "-11.58",
        "250lwst_pric_dt": "20260105", "250lwst_pric_pre_rt": rate((price - lwst) * 100 / lwst),
        "cur_prc": signed(price, base), "pre_sig": "2" if moved > 0 else "5" if moved < 0 else "3",
        "pred_pre": change(moved), "flu_rt": rate(moved * 100 / base) if base else "0.00", "trde_qty": str(volume),
        "trde_pre": "-12.40", "fav_unit": "원", "dstr_stk": str(listed * 77 // 100), "dstr_rt": "76.9",
        "return_code": 0, "return_msg": "정상적으로 처리되었습니다"}


def listed_stock(code: str, name: str, market: str, *, last: int, count: int = 5_969_783, day: str = "19750611",
                 sector: str = "", size: str = "", state: str = "증거금20%|담보대출|신용가능",
                 audit: str = "정상", nxt: str = "Y") -> dict[str, str]:
    """One ka10099 row, the 15 keys recorded: listCount 16 wide, lastPrice 8 wide, kind A."""
    return {"code": code, "name": name, "listCount": padded(count, 16), "auditInfo": audit, "regDay": day,
            "lastPrice": padded(last, 8), "state": state, "marketCode": market,
            "marketName": {"0": "거래소", "10": "코스닥", "8": "ETF", "60": "ETN"}.get(market, "거래소"),
            "upName": sector, "upSizeName": size, "companyClassName": "", "orderWarning": "0", "nxtEnable": nxt,
            "kind": "A"}


def holding(code: str, name: str, qty: int, buy: int, previous: int, price: int, *, bought: int | None = None,
            worth: int | None = None, prefix: str = "A") -> dict[str, str]:
    """One kt00018 row, all 23 keys recorded: ``qty`` shares bought at ``buy`` a share (``bought`` won in all, when
    not qty * buy), worth ``price`` a share now (``worth`` in all, when not qty * price), ``previous`` at the last close. Prices 12 wide and unsigned, amounts and
    quantities 15 wide (a loss keeps its minus in front), the code with its per-row prefix (A, or Q for an ETN)."""
    bought = qty * buy if bought is None else bought
    worth = qty * price if worth is None else worth
    buy_fee, sell_fee, tax = bought * 15 // 100_000 // 10 * 10, worth * 15 // 100_000 // 10 * 10, worth * 2 // 1000
    return {"stk_cd": f"{prefix}{code}", "stk_nm": name, "evltv_prft": padded(worth - bought, 15),
            "prft_rt": f"{(worth - bought) * 100 / bought:.2f}" if bought else "0.00",
            "pur_pric": padded(buy, 15), "pred_close_pric": padded(previous, 12), "rmnd_qty": padded(qty, 15),
            "trde_able_qty": padded(qty, 15), "cur_prc": padded(price, 12), "pred_buyq": padded(0, 15),
            "pred_sellq": padded(0, 15), "tdy_buyq": padded(0, 15), "tdy_sellq": padded(0, 15),
            "pur_amt": padded(bought, 15), "pur_cmsn": padded(buy_fee, 15), "evlt_amt": padded(worth, 15),
            "sell_cmsn": padded(sell_fee, 15), "tax": padded(tax, 15), "sum_cmsn": padded(buy_fee + sell_fee, 15),
            "poss_rt": "0.00", "crd_tp": "00", "crd_tp_nm": "", "crd_loan_dt": ""}


def holdings(rows: list[dict[str, str]], deposit: int) -> dict[str, Any]:
    """kt00018's answer around ``rows`` (:func:`holding`): each row's share of the account (poss_rt), the totals
    15 wide (tot_prft_rt unsigned unless a loss), the three loan totals, and the recorded return_msg."""
    bought = sum(int(r["pur_amt"]) for r in rows)
    worth = sum(int(r["evlt_amt"]) for r in rows)
    for row in rows:
        row["poss_rt"] = f"{int(row['evlt_amt']) * 100 / worth:.2f}" if worth else "0.00"
    return {"tot_pur_amt": padded(bought, 15), "tot_evlt_amt": padded(worth, 15),
            "tot_evlt_pl": padded(worth - bought, 15),
            "tot_prft_rt": f"{(worth - bought) * 100 / bought:.2f}" if bought else "0.00",
            "prsm_dpst_aset_amt": padded(deposit + worth, 15), "tot_loan_amt": padded(0, 15),
            "tot_crd_loan_amt": padded(0, 15), "tot_crd_ls_amt": padded(0, 15), "acnt_evlt_remn_indv_tot": rows,
            "return_code": 0, "return_msg": ACCOUNT_MESSAGES["kt00018"]}


def trade_fids(*, time: str, price: int, base: int, open_: int, high: int, low: int, volume: int, qty: int,
               value: int, ask: int, bid: int) -> dict[str, str]:
    """The 43 FIDs of a 0B entry Kiwoom was recorded sending, from the fake's numbers: ``time`` HHMMSS, ``price``
    the last trade, ``base`` the previous close, ``volume`` the day's quantity so far, ``qty`` this trade's (signed:
    + bought at the ask, - sold at the bid), ``value`` the day's value in million won, ``ask`` / ``bid`` the best
    quotes. Prices are signed against ``base`` (FID 16, the open, too); 567/568 are "000000" when unset."""
    moved = price - base
    strength = 100.0 + abs(qty) % 50 * (1 if qty > 0 else -1)  # 228 체결강도
    return {
        "20": time, "10": signed(price, base), "11": change(moved), "12": rate(moved * 100 / base if base else 0),
        "27": signed(ask, base), "28": signed(bid, base), "15": change(qty), "13": str(volume), "14": str(value),
        "16": signed(open_, base), "17": signed(high, base), "18": signed(low, base),
        "25": "2" if moved > 0 else "5" if moved < 0 else "3", "26": change(volume - volume * 5 // 4),
        "29": change(-(volume // 4) * price), "30": rate(-20.0), "31": f"{volume * 100 / 5_000_000_000:.2f}",
        "32": str(max(volume // 50_000, 1)), "228": f"{strength:.2f}", "311": str(price * 5_919 // 100),
        "290": "2", "691": "0", "567": "000000", "568": "000000", "851": str(9000 + volume % 100),
        "1890": "090015", "1891": "091030", "1892": "093045", "1030": str(volume * 45 // 100),
        "1031": str(volume * 55 // 100), "1032": rate(-10.0), "1071": str(volume // 200), "1072": str(volume // 170),
        "1313": change(int(qty * price / 1000)), "1315": change(qty) if qty < 0 else " 0", "1316": change(qty) if qty > 0 else " 0",
        "1314": change(qty), "1497": str(price), "1498": str(price * 4 // 5), "620": str((high + low) // 2),
        "732": str(price // 200), "852": str(price // 250), "9081": "KRX"}


def book_fids(*, time: str, asks: list[tuple[int, int, int]], bids: list[tuple[int, int, int]], base: int,
              expected: int, expected_qty: int) -> dict[str, str]:
    """The 139 FIDs of a 0D entry, from ten (price, quantity, change of quantity) levels a side (best first):
    41-50 / 61-70 / 81-90 the asks, 51-60 / 71-80 / 91-100 the bids, prices signed against ``base``, then the
    totals, the expected fill (23/24), 128-139, 200/201, 238, 291-295, 6044-6087 and 6100-6115 as recorded
    (blank-valued ones written " 0")."""
    fids = {"21": time}
    for n, ((ap, aq, ad), (bp, bq, bd)) in enumerate(zip(asks, bids), 1):
        fids.update({str(40 + n): signed(ap, base), str(60 + n): str(aq), str(80 + n): change(ad),
                     str(50 + n): signed(bp, base), str(70 + n): str(bq), str(90 + n): change(bd)})
    sell, buy = sum(q for _, q, _ in asks), sum(q for _, q, _ in bids)
    fids.update({"121": str(sell), "122": change(sum(d for *_, d in asks)), "125": str(buy),
                 "126": change(sum(d for *_, d in bids)), "23": signed(expected, base), "24": str(expected_qty),
                 "128": change(buy - sell), "129": f"{buy * 100 / max(sell, 1):.2f}", "138": change(sell - buy),
                 "139": f"{sell * 100 / max(buy, 1):.2f}", "200": change(expected - base),
                 "201": rate((expected - base) * 100 / base if base else 0), "238": "2", "291": " 0", "292": "0",
                 "293": "3", "294": " 0", "295": "0.00"})
    fids.update({str(f): "0" for f in range(6044, 6088)})
    middle = (asks[0][0] + bids[0][0]) // 2
    fids.update({"6100": " 0", "6101": "0", "6102": signed(middle, base), "6103": "0", "6104": " 0", "6105": " 0",
                 "6106": "0", "6107": " 0", "6108": "0", "6109": " 0", "6110": change(middle - base),
                 "6111": "2" if middle > base else "5" if middle < base else "3",
                 "6112": rate((middle - base) * 100 / base if base else 0), "6113": " 0", "6114": "3",
                 "6115": "0.00"})
    return fids


def reshape(api_id: str, body: dict[str, Any], made: dict[str, Any], *, enquiry: bool = False) -> dict[str, Any]:
    """A made-up answer (``_synth``) brought to the shape Kiwoom was recorded sending for ``api_id``: its labels,
    widths, double signs, empty lists; ``enquiry`` (a domestic account enquiry) also its return_msg."""
    touch = _TOUCHES.get(api_id)
    if touch is not None:
        touch(body, made)
    if enquiry:
        made["return_msg"] = ACCOUNT_MESSAGES.get(api_id, ENQUIRY_DONE)
    return made


def _doubles(made: dict[str, Any], suffix: str) -> None:
    """Quantity changes of an order book: small, and a fall written with a double sign (--2)."""
    for key, value in made.items():
        if key.endswith(suffix) and isinstance(value, str):
            digits = value.lstrip("+-")
            step = int(digits) % 12 - 5 if digits.isdigit() else 0
            made[key] = double(step)


def _ka10004(body: dict[str, Any], made: dict[str, Any]) -> None:
    _doubles(made, "_req_pre")
    _doubles(made, "_jub_pre")


def _ka10007(body: dict[str, Any], made: dict[str, Any]) -> None:
    _doubles(made, "_jub_pre")
    made["trde_strt_dt"] = "00000000"  # recorded: a stock traded long before has no start date
    for key in list(made):
        if key.endswith("bid_cnt") or key == "tot_buy_cnt":
            made[key] = ""


def _industry(body: dict[str, Any], made: dict[str, Any]) -> None:
    made["inds_cd"] = str(body.get("inds_cd") or "001")


def _ka20005(body: dict[str, Any], made: dict[str, Any]) -> None:
    _industry(body, made)
    day = str(body.get("base_dt") or "20261201")
    for row in made.get("inds_min_pole_qry") or []:
        if len(row.get("cntr_tm", "")) == 6:
            row["cntr_tm"] = day + row["cntr_tm"]
        moved = row.get("pred_pre", "")
        if moved.startswith("-") and not moved.startswith("--"):
            row["pred_pre"] = "-" + moved


def _ka20006(body: dict[str, Any], made: dict[str, Any]) -> None:
    _industry(body, made)
    for row in made.get("inds_dt_pole_qry") or []:
        for key in ("cur_prc", "open_pric", "high_pric", "low_pric"):
            row[key] = row.get(key, "").lstrip("+-")


def _kt00001(body: dict[str, Any], made: dict[str, Any]) -> None:
    made["stk_entr_prst"] = []  # no foreign-currency deposits
    made["crd_grnt_rt"] = "0.00"
    made["min_ord_alow_yn"] = padded(0, 15)


def _ka10075(body: dict[str, Any], made: dict[str, Any]) -> None:
    made["oso"] = []  # the fake keeps no open orders


def _kt00007(body: dict[str, Any], made: dict[str, Any]) -> None:
    rows = made.get("acnt_ord_cntr_prps_dtl") or []
    for i, row in enumerate(rows):
        no = int(row.get("ord_no") or 0) if str(row.get("ord_no", "")).isdigit() else i + 1
        kind, side = ("3", "0")[i % 2], "12"[i % 2]
        qty = int(row.get("ord_qty", "0").lstrip("+-") or 0) % 100 + 1
        price = int(row.get("ord_uv", "0").lstrip("+-") or 0)
        at = 9 * 3600 + (no + i * 97) % 23_400
        rows[i] = order_detail(no, row.get("stk_cd", "").lstrip("A"), row.get("stk_nm", ""), side, kind, qty, price,
                               qty if kind == "3" else 0, price, at)


def _ka90003(body: dict[str, Any], made: dict[str, Any]) -> None:
    for row in made.get("prm_netprps_upper_50") or []:  # net = bought - sold: a net sale is negative, as recorded
        row["prm_netprps_amt"] = str(int(row.get("prm_buy_amt") or 0) - int(row.get("prm_sell_amt") or 0))


_TOUCHES = {"ka10004": _ka10004, "ka10007": _ka10007, "ka10075": _ka10075, "ka20005": _ka20005,
            "ka20006": _ka20006, "kt00001": _kt00001, "kt00007": _kt00007, "ka90003": _ka90003}

__all__ = ["ACCOUNT_MESSAGES", "ENQUIRY_DONE", "OBSERVED", "REAL_NAMES", "book_fids", "change", "clock", "double",
           "holding", "hundredths", "holdings", "listed_stock", "order_detail", "padded", "rate", "reshape", "signed", "stock_info", "trade_fids"]
