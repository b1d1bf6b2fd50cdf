"""The fake Kiwoom's made-up market: which stock codes exist, their names and prices, daily candles, holdings.

Stdlib only, deterministic: the same code gives the same answer in every process (sha256, not hash()).
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, timedelta
from typing import Any

from . import _shapes

_OK = "정상적으로 처리되었습니다"

#: Stocks with hand-picked data (name, latest close, the close before it); the tests and the demo rely on them.
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
    """(name, latest close, previous close) of ``stk_cd`` (suffix allowed), or None when it is not listed.

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


def _change(value: int) -> str:
    return f"+{value}" if value > 0 else str(value)


def candles(stk_cd: str, base_dt: str, count: int) -> list[dict[str, str]]:
    """``count`` deterministic daily candles of ``stk_cd``, newest first, on weekdays up to ``base_dt``."""
    code = stk_cd.split("_")[0]
    _, close, previous = stock(stk_cd) or ("", 50000, 50000)
    closes = [close, previous]
    seed = int(hashlib.sha256(code.encode()).hexdigest()[:8], 16)
    while len(closes) < count + 1:
        seed = (seed * 1103515245 + 12345) % 2**31
        step = (seed % 41 - 20) * max(closes[-1] // 1000, 1)
        closes.append(max(closes[-1] - step, 100))
    try:
        day = datetime.strptime(base_dt, "%Y%m%d").date()
    except ValueError:
        day = date(2026, 12, 1)
    rows = []
    for i in range(count):
        while day.weekday() >= 5:
            day -= timedelta(days=1)
        cur, ref = closes[i], closes[i + 1]
        spread = max(cur // 100, 1)
        open_, high, low = (cur + ref) // 2, max(cur, ref) + spread, min(cur, ref) - spread
        qty = 1_000_000 + (cur * 7 + i * 13) % 9_000_000
        rows.append({
            "cur_prc": str(cur), "trde_qty": str(qty), "trde_prica": str(qty * cur // 1_000_000),
            "dt": day.strftime("%Y%m%d"), "open_pric": str(open_), "high_pric": str(high),
            "low_pric": str(low), "pred_pre": _change(cur - ref),
            "pred_pre_sig": "2" if cur > ref else "5" if cur < ref else "3",
            "trde_tern_rt": f"+{(qty % 300) / 100:.2f}",
        })
        day -= timedelta(days=1)
    return rows


def stock_info(stk_cd: str) -> dict[str, Any]:
    """ka10001 for a listed ``stk_cd``: the 45 fields Kiwoom sends, at the top level (``_shapes.stock_info``)."""
    name, cur, ref = stock(stk_cd)  # type: ignore[misc]  # the caller checked it is listed
    return _shapes.stock_info(stk_cd, name, price=cur, base=ref, open_=(cur + ref) // 2, high=max(cur, ref),
                              low=min(cur, ref) - 100, volume=35487451)


#: ka10099's industry (upName) and size (upSizeName) of the listed stocks; others have neither, like preferreds.
SECTORS = {"005930": ("전기/전자", "대형주"), "005935": ("전기/전자", ""), "000660": ("전기/전자", "대형주"),
           "035420": ("일반서비스", "대형주"), "005380": ("운송장비/부품", "대형주"), "051910": ("화학", "대형주"),
           "006400": ("전기/전자", "대형주"), "207940": ("제약", "대형주"), "035720": ("일반서비스", "대형주"),
           "068270": ("제약", "대형주"), "247540": ("전기/전자", "대형주"), "086520": ("화학", "대형주"),
           "196170": ("제약", "대형주"), "028300": ("제약", "대형주"), "263750": ("일반서비스", "중형주")}


def stock_list(mrkt_tp: str = "0") -> dict[str, Any]:
    """ka10099: the stocks of :data:`LISTED` in market ``mrkt_tp`` (0 KOSPI, 10 KOSDAQ; the others are empty)."""
    rows = [_shapes.listed_stock(code, name, market, last=stock(code)[2],  # type: ignore[index]
                                 sector=SECTORS.get(code, ("", ""))[0], size=SECTORS.get(code, ("", ""))[1])
            for code, (name, market) in LISTED.items() if market == str(mrkt_tp).strip()]
    return {"return_msg": _OK, "list": rows, "return_code": 0}


def holdings() -> dict[str, Any]:
    """kt00018: two holdings in the recorded shape (``_shapes.holding``): 12-wide prices, 15-wide amounts."""
    return _shapes.holdings([
        _shapes.holding("005930", "삼성전자", 10, 169100, 169100, 160400, bought=1691000, worth=1604000),
        _shapes.holding("000660", "SK하이닉스", 30, 530461, 556000, 571000, bought=15907258, worth=15797370),
    ], deposit=82598630)


__all__ = ["LISTED", "STOCKS", "UNLISTED", "candles", "holdings", "stock", "stock_info", "stock_list"]
