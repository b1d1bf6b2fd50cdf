"""The fake Kiwoom's made-up stocks: which codes exist, their names, the prices every path is pinned to (``_market``),
and the answers written from the market's numbers in the recorded shapes (``_shapes``): ka10001, ka10099, kt00018.
Knows no market of its own: the caller hands one in (``_market`` imports this module for the anchors).

Stdlib only, deterministic: the same code gives the same answer in every process (sha256, not hash()).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from . import _shapes

_OK = "정상적으로 처리되었습니다"

#: Stocks with hand-picked data (name, close on 2026-12-01, the close before it: ``_market.ANCHOR``); the tests and the
#: demo rely on them.
STOCKS = {"005930": ("삼성전자", 160400, 169100), "000660": ("SK하이닉스", 571000, 556000),
          "035420": ("NAVER", 251500, 251500)}

#: The fake's stock list (ka10099): code -> (name, market code: 0 KOSPI, 10 KOSDAQ). Names for kiwoom_nb.code();
#: 삼성전자우 beside 삼성전자 makes a near miss. Codes outside it still have made-up data (:func:`stock`).
LISTED = {"005930": ("삼성전자", "0"), "005935": ("삼성전자우", "0"), "000660": ("SK하이닉스", "0"),
          "035420": ("NAVER", "0"), "005380": ("현대차", "0"), "051910": ("LG화학", "0"), "006400": ("삼성SDI", "0"),
          "207940": ("삼성바이오로직스", "0"), "035720": ("카카오", "0"), "068270": ("셀트리온", "0"),
          "247540": ("에코프로비엠", "10"), "086520": ("에코프로", "10"), "196170": ("알테오젠", "10"),
          "028300": ("HLB", "10"), "263750": ("펄어비스", "10")}

#: Codes the fake documents as unlisted: they answer 1902, like a code Kiwoom does not know.
UNLISTED = frozenset({"000000", "999999"})

#: A well-formed stock code: six characters, a digit first (KRX's newer codes carry letters, e.g. 00088K),
#: optionally with Kiwoom's market suffix _NX (NXT) or _AL (SOR).
_CODE = re.compile(r"(\d[0-9A-Z]{5})(?:_NX|_AL)?")


def _number(code: str, salt: str) -> int:
    return int(hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()[:12], 16)


def stock(stk_cd: str) -> tuple[str, int, int] | None:
    """(name, close on 2026-12-01, the close before) of ``stk_cd`` (suffix allowed), or None when it is not listed.

    Any well-formed code outside :data:`STOCKS` and :data:`UNLISTED` is listed, with made-up data.
    """
    found = _CODE.fullmatch(str(stk_cd))
    if found is None or found.group(1) in UNLISTED:
        return None
    code = found.group(1)
    if code in STOCKS:
        return STOCKS[code]
    close = 1000 + _number(code, "close") % 300_000 // 100 * 100  # 1,000 to 300,900 won, on a 100-won tick
    previous = close + (_number(code, "previous") % 11 - 5) * (close // 100 // 100 * 100 or 100)
    name = LISTED[code][0] if code in LISTED else f"가상종목{code}"
    return name, close, max(previous, 100)


def stock_info(stk_cd: str, market: Any) -> dict[str, Any]:
    """ka10001 for a listed ``stk_cd``: the 45 fields Kiwoom sends, at the top level (``_shapes.stock_info``), its
    numbers the market's (a ``_market.Market``) at its clock: the price, today's open, high, low and volume, the
    year's high and low and their days."""
    name = stock(stk_cd)[0]  # type: ignore[index]  # the caller checked it is listed
    code = stk_cd.split("_")[0]
    q = market.quote(code)
    cur, ref = q["price"], q["previous"]
    made = _shapes.stock_info(stk_cd, name, price=cur, base=ref, open_=q["open"], high=q["high"], low=q["low"],
                              volume=q["volume"])
    path, last, _ = market.days(code)
    year = [path.bar(k) for k in range(max(last - 249, 0), last + 1)]
    top = max(year, key=lambda b: b.high) if year else None
    bottom = min(year, key=lambda b: b.low) if year else None
    hi = max(top.high if top else cur, q["high"])
    lo = min(bottom.low if bottom else cur, q["low"])
    limit = ref * 3 // 10
    made.update({
        "oyr_hgst": _shapes.signed(hi, ref), "oyr_lwst": _shapes.signed(lo, ref), "250hgst": _shapes.signed(hi, ref),
        "250lwst": _shapes.signed(lo, ref), "250hgst_pric_pre_rt": _shapes.rate((cur - hi) * 100 / hi),
        "250lwst_pric_pre_rt": _shapes.rate((cur - lo) * 100 / lo),
        "upl_pric": _shapes.signed((ref + limit) // tick(ref + limit) * tick(ref + limit), ref),
        "lst_pric": _shapes.signed(-(-(ref - limit) // tick(ref - limit)) * tick(ref - limit), ref)})
    if top and bottom:
        made["250hgst_pric_dt"] = top.at.strftime("%Y%m%d")
        made["250lwst_pric_dt"] = bottom.at.strftime("%Y%m%d")
    return made


def tick(price: int) -> int:
    """KRX's price step at ``price`` won (as ``_market.tick_size``; here so this module imports no market)."""
    for bound, step in ((2000, 1), (5000, 5), (20000, 10), (50000, 50), (200000, 100), (500000, 500)):
        if price < bound:
            return step
    return 1000


#: ka10099's industry (upName) and size (upSizeName) of the listed stocks; others have neither, like preferreds.
SECTORS = {"005930": ("전기/전자", "대형주"), "005935": ("전기/전자", ""), "000660": ("전기/전자", "대형주"),
           "035420": ("일반서비스", "대형주"), "005380": ("운송장비/부품", "대형주"), "051910": ("화학", "대형주"),
           "006400": ("전기/전자", "대형주"), "207940": ("제약", "대형주"), "035720": ("일반서비스", "대형주"),
           "068270": ("제약", "대형주"), "247540": ("전기/전자", "대형주"), "086520": ("화학", "대형주"),
           "196170": ("제약", "대형주"), "028300": ("제약", "대형주"), "263750": ("일반서비스", "중형주")}


def stock_list(mrkt_tp: str, market: Any) -> dict[str, Any]:
    """ka10099: the stocks of :data:`LISTED` in market ``mrkt_tp`` (0 KOSPI, 10 KOSDAQ; the others are empty); their
    listing days and previous closes the market's (a ``_market.Market``)."""
    rows = [_shapes.listed_stock(code, name, kind, last=market.quote(code)["previous"],
                                 day=market.listed(code).strftime("%Y%m%d"),
                                 sector=SECTORS.get(code, ("", ""))[0], size=SECTORS.get(code, ("", ""))[1])
            for code, (name, kind) in LISTED.items() if kind == str(mrkt_tp).strip()]
    return {"return_msg": _OK, "list": rows, "return_code": 0}


#: The fake account's holdings: code -> (name, shares, price paid a share, paid in all).
HOLDINGS = {"005930": ("삼성전자", 10, 169100, 1691000), "000660": ("SK하이닉스", 30, 530461, 15907258)}


def held(market: Any, environment: str = "production") -> dict[str, tuple[str, int, int, int]]:
    """code -> (name, quantity, buy price a share, bought in all): HOLDINGS moved by the fills of ``environment``'s
    orders (a buy adds at its fill price, a sell takes off at the average)."""
    now = {code: list(row) for code, row in HOLDINGS.items()}
    for order in market.orders.of(environment):
        if not order.filled or order.us:  # a US fill is held in the US account (ust21070), not here
            continue
        name, qty, _, bought = now.setdefault(order.code, [(stock(order.code) or ("",))[0], 0, 0, 0])
        if order.side == "buy":
            qty, bought = qty + order.filled, bought + order.filled * order.fill_price
        else:
            sold = min(order.filled, qty)
            bought, qty = bought - (bought * sold // qty if qty else 0), qty - sold
        now[order.code] = [name, qty, bought // qty if qty else 0, bought]
    return {code: (name, qty, buy, bought) for code, (name, qty, buy, bought) in now.items() if qty > 0}


def holdings(market: Any, environment: str = "production") -> dict[str, Any]:
    """kt00018: the holdings in the recorded shape (``_shapes.holding``: 12-wide prices, 15-wide amounts), valued at
    the market's prices now (a ``_market.Market``), with the fills of ``environment``'s orders."""
    rows = []
    for code, (name, qty, buy, bought) in held(market, environment).items():
        q = market.quote(code)
        rows.append(_shapes.holding(code, name, qty, buy, q["previous"], q["price"], bought=bought))
    return _shapes.holdings(rows, deposit=82598630)


__all__ = ["HOLDINGS", "LISTED", "STOCKS", "UNLISTED", "held", "holdings", "stock", "stock_info", "stock_list", "tick"]
