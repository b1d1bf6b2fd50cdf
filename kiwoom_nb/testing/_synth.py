"""Made-up answers for every TR of the field catalogue, in its documented shape (the fake's TRs without a hand-made
answer): the list with a few rows, the top-level fields, return_code and return_msg.

Stdlib only, deterministic: each value comes from sha256 of the api-id, the request body and the field, never from
``random``. A listed stock's price and change are the market's at the fake's clock (``_market``). A value's kind (date, time,
price, rate, quantity, code, name …) is read off the field's name and Korean
name by the few rules of :func:`kind`; Kiwoom's conventions follow: every value a string, prices signed as a
direction, domestic account amounts zero-padded to the field's length, US prices with four decimals.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from ._stocks import STOCKS, stock

_OK = "정상적으로 처리되었습니다"

#: US stocks the made-up US answers use: code -> (Korean name, English name, exchange).
US_STOCKS = {"AAPL": ("애플", "Apple Inc", "ND"), "NVDA": ("엔비디아", "NVIDIA Corp", "ND"),
             "MSFT": ("마이크로소프트", "Microsoft Corp", "ND"), "TSLA": ("테슬라", "Tesla Inc", "ND"),
             "KO": ("코카콜라", "Coca-Cola Co", "NY")}
#: The fake's US stock list (usa10099): the stocks above and a few more, code -> (name, English name, exchange,
#: industry, ETF Y/N).
US_LISTED = {"AAPL": ("애플", "APPLE INC", "ND", "하드웨어", "N"), "NVDA": ("엔비디아", "NVIDIA CORP", "ND", "반도체", "N"),
             "MSFT": ("마이크로소프트", "MICROSOFT CORP", "ND", "소프트웨어", "N"),
             "TSLA": ("테슬라", "TESLA INC", "ND", "자동차", "N"), "AMZN": ("아마존닷컴", "AMAZON.COM INC", "ND", "유통", "N"),
             "SPY": ("SPDR S&P 500 ETF", "SPDR S&P 500 ETF TRUST", "NA", "ETF", "Y"),
             "KO": ("코카콜라", "COCA-COLA CO", "NY", "음료", "N"), "JPM": ("JP모건체이스", "JPMORGAN CHASE & CO", "NY", "은행", "N"),
             "BRK.B": ("버크셔해서웨이 B", "BERKSHIRE HATHAWAY INC CL B", "NY", "보험", "N")}
_EXCHANGES = {"NA": "AMEX", "ND": "NASDAQ", "NY": "NYSE"}


def us_stock_list(stex_tp: str = "%") -> dict[str, Any]:
    """usa10099: the stocks of :data:`US_LISTED` on exchange ``stex_tp`` (% for all)."""
    rows = [{"stex_tp": where, "stk_cd": code, "stk_nm": name, "stk_enm": english, "mkgb": _EXCHANGES[where],
             "upgb": industry, "isEtf": etf}
            for code, (name, english, where, industry, etf) in US_LISTED.items() if stex_tp in ("%", where)]
    return {"list": rows, "return_code": 0, "return_msg": _OK}
#: The domestic codes list rows cycle through when the request names no stock (any listed code has data).
DOMESTIC_CODES = (*STOCKS, "051910", "006400", "005380", "035720", "068270")

_BASE_DAY = date(2026, 12, 1)  # the newest made-up date when the request names none
_SIG = {"+": "2", "-": "5", "": "3"}  # pred_pre_sig: 2 상승, 5 하락, 3 보합


def number(*parts: object) -> int:
    """A deterministic number from ``parts`` (the same in every process)."""
    return int(hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:15], 16)


@lru_cache(maxsize=None)
def kind(name: str, korean: str) -> str:
    """What a response field holds, from its name and Korean name: sign, yn, stock, stock_name, english, name,
    date, time, change, rate, fx, price, quantity, amount, code or number."""
    n, k = re.sub(r"_(n|\d+)$", "", name.lower()), korean.replace(" ", "")  # cur_prc_n, sel_trde_ori_cd_5
    if n.endswith("_sig") or n.startswith("sign") or "기호" in k or "부호" in k:
        return "sign"
    if n.endswith("_yn") or "여부" in k:
        return "yn"
    if n in ("stk_cd", "code", "cod2") or k.endswith(("종목코드", "종목번호")):
        return "stock"
    if (n in ("stk_nm", "name") and "종목" in k) or k == "종목명":
        return "stock_name"
    if "영문" in k:
        return "english"
    if n.endswith(("_nm", "name")) or re.search(r"명\d*$", k):
        return "name"
    if k.endswith("일수"):
        return "quantity"
    if n in ("dt", "date") or n.endswith(("_dt", "_date", "day")) or k.endswith(("일자", "날짜", "연도", "년월")):
        return "date"
    if n in ("tm", "time") or n.endswith(("_tm", "_time")) or (k.endswith(("시간", "시각")) and "시간외" not in k):
        return "time"
    if "환율" in k:
        return "fx"
    if re.search(r"[률율]|\(%\)", k) or re.search(r"_rt(_|\d|$)|rate$", n):
        return "rate"
    if re.search(r"대비|등락폭|증감|손익", k) or n == "pred_pre" or n.endswith("_pre"):
        return "change"
    if re.search(r"(량|수|주)\d*$", k) or n.endswith(("qty", "_req", "cnt")):
        return "quantity"
    if re.search(r"(가|가격|단가|호가)\d*($|\()", k) and not re.search(r"(평|증|참)가", k):
        return "price"
    if re.search(r"(금|액|금액|대금|자산|수수료|세|이자|비용)\d*($|\()", k):
        return "amount"
    if n.endswith(("_cd", "_tp", "_no", "_id", "seq")) or re.search(r"코드|구분|번호|유형|순위", k):
        return "code"
    return "number"


def answer(api_id: str, body: dict[str, Any], fields: Any, *, market: str, category: str,
           prices: Any = None) -> dict[str, Any]:
    """The made-up answer to ``api_id`` for ``body``: every documented response field, the list with 3 to 20 rows.
    A listed stock's price and change are the market's now (``prices``: a ``_market.Market``; default: one on a
    default clock)."""
    seed = number(api_id, json.dumps(body, sort_keys=True, ensure_ascii=False, default=str))
    maker = _Maker(seed, body, market, padded=market == "domestic" and category == "계좌", prices=prices)
    top: dict[str, Any] = {}
    lists: dict[str, list[dict[str, str]]] = {}
    for field in fields.response if fields else ():
        if field.type == "LIST":
            top[field.name] = lists.setdefault(field.name, [{} for _ in range(3 + seed % 18)])
        elif field.list_key:
            rows = lists.setdefault(field.list_key, [{} for _ in range(3 + seed % 18)])
            for i, row in enumerate(rows):
                row[field.name] = maker.value(field, i)
        else:
            top[field.name] = maker.value(field, -1)
    return {**top, "return_code": 0, "return_msg": _OK}


class _Maker:
    """The values of one answer: row ``i`` (-1 = the top level) is about one stock, on one day, moving one way."""

    def __init__(self, seed: int, body: dict[str, Any], market: str, padded: bool, prices: Any = None) -> None:
        self.seed, self.us, self.padded = seed, market == "us", padded
        self.prices = prices
        self.code = str(body.get("stk_cd") or "").strip()
        self.day = _BASE_DAY
        for name, value in body.items():  # the newest day is the one the request asks about
            if isinstance(value, str) and re.fullmatch(r"(19|20)\d{6}", value) and name.endswith(("dt", "date")):
                try:
                    self.day = datetime.strptime(value, "%Y%m%d").date()
                    break
                except ValueError:
                    pass

    def stock_of(self, i: int) -> str:
        """The stock the request names, else one of the pool per row."""
        if self.code:
            return self.code
        pool = tuple(US_STOCKS) if self.us else DOMESTIC_CODES
        return pool[(self.seed + i + 1) % len(pool)]

    def move_of(self, i: int) -> tuple[int, int]:
        """Row ``i``'s (price, change against the previous close): won, or 1/10000 dollar for US stocks.

        A listed domestic stock at the top level or in a list of stocks has its close and change from ``_stocks``
        (ka10001's); the rows of one stock (a chart) and US stocks move by made-up steps."""
        code = self.stock_of(i)
        walk = bool(self.code) and i > 0
        listed = not self.us and stock(code) is not None
        if listed:
            from ._market import default_market

            quote = (self.prices or default_market()).quote(code.split("_")[0])
            if not walk:
                return quote["price"], quote["price"] - quote["previous"]
        price = (20 + number(code, "usd") % 480) * 10000 + number(code, "cents") % 100 * 100 if self.us else \
            quote["price"] if listed else 1000 + number(code, "close") % 3000 * 100
        if walk:
            price = max(price + (number(self.seed, i, "walk") % 21 - 10) * max(price // 100, 1), 100)
        step = price // 100 * (number(self.seed, i, "step") % 5) // 2
        return price, (step, -step, step, -step, 0)[number(self.seed, i, "sign") % 5]

    def value(self, field: Any, i: int) -> str:
        length = field.length
        h = number(self.seed, i, field.name)
        text = self._value(kind(field.name, field.korean), field, i, h)
        return text[:length] if length and len(text) > length else text

    def _value(self, what: str, field: Any, i: int, h: int) -> str:
        length, code, korean = field.length, self.stock_of(i), field.korean.replace(" ", "")
        words = f"{field.name.lower()} {korean}"
        price, change = self.move_of(i)
        sign = "+" if change > 0 else "-" if change < 0 else ""
        decimals = 4 if self.us else 0
        if what == "sign":
            return _SIG[sign]
        if what == "yn":
            return "YN"[h % 2]
        if what == "stock":  # domestic account answers prefix the code with A (A005930)
            return f"A{code}" if self.padded and re.fullmatch(r"\d{6}", code) else code
        if what == "stock_name":
            return US_STOCKS.get(code, (code,))[0] if self.us else (stock(code) or (code,))[0]
        if what == "english":
            return US_STOCKS.get(code, ("", f"{code} Inc"))[1] if self.us else f"Company {code}"
        if what == "name":
            stem = re.sub(r"명\d*$", "", korean) or "항목"
            return f"{stem}{max(i, 0) + 1}"
        if what == "date":
            day = self.day - timedelta(days=max(i, 0))
            while day.weekday() >= 5:
                day -= timedelta(days=1)
            width = 4 if re.search("연도|년도", korean) else 6 if "년월" in korean or length == 6 else 8
            return day.strftime("%Y%m%d")[:width]
        if what == "time":
            return f"{9 + h % 7:02d}{h // 7 % 60:02d}{h // 420 % 60:02d}"
        if what == "fx":
            return f"{1300 + h % 150}.{h // 150 % 100:02d}"
        if what == "rate":
            if re.search(r"등락|flu", words):  # the row's change, in per cent of the previous close
                return self._number(abs(change) * 10000 // max(price - change, 1), sign, length, decimals=2)
            moves = re.search(r"대비|수익|손익|^(pred|prft|pl)", words)
            return self._number(h % 3000, "+-"[h // 3000 % 2] if moves else "", length, decimals=2)
        if what == "price":  # the sign is a direction against the previous close, not arithmetic
            tick = max(price // 200, 1)
            if re.search(r"고가|최고|상한|high|hgst", words):
                price += 6 * tick
            elif re.search(r"저가|최저|하한|low|lwst", words):
                price = max(price - 6 * tick, 1)
            elif field.name not in ("cur_prc", "curr_pric"):
                price = max(price + (h % 11 - 5) * tick, 1)
            unsigned = re.search(r"기준가|전일종가|매입가|평균|단가", korean)
            return self._number(price, "" if unsigned else sign, length, decimals=decimals)
        if what == "change":
            if re.search(r"전일대비|^pred_pre", words):
                return self._number(abs(change), sign, length, decimals=decimals)
            return self._number(h % 1_000_000, "+-"[h // 1_000_000 % 2], length, decimals=2 if self.us else 0)
        if what == "quantity":
            return self._number(h % 10_000_000, "", length)
        if what == "amount":
            if self.us and "원" not in korean:
                return self._number(h % 100_000_000, "", length, decimals=2)
            return self._number(h % 10_000_000_000, "", length)
        if what == "code":
            if "거래소" in korean:
                return US_STOCKS.get(code, ("", "", "ND"))[2] if self.us else "KRX"
            if field.name.endswith("_no") or "번호" in korean:
                return f"{h % 10_000_000:07d}"
            return str(h % 4 + 1)
        return self._number(h % 100_000, "", length, decimals=2 if re.fullmatch(r"[A-Z/]+", korean) else 0)

    def _number(self, value: int, sign: str, length: int | None, *, decimals: int = 0) -> str:
        """``value`` (in units of 10**-decimals) as Kiwoom writes it: ``sign`` in front, zero-padded to the field's
        length in a domestic account answer, never longer than the field."""
        if length:
            room = length - len(sign) - (decimals + 1 if decimals else 0)
            if room < 1:
                value, decimals, room = value // 10 ** decimals, 0, length - len(sign)
            if room < 1:
                sign, room = "", length
            value %= 10 ** min(room + decimals, 18)
        digits = f"{value // 10 ** decimals}.{value % 10 ** decimals:0{decimals}d}" if decimals else str(value)
        if self.padded and length and not decimals:
            digits = digits.zfill(length - len(sign))
        return sign + digits


__all__ = ["DOMESTIC_CODES", "US_LISTED", "US_STOCKS", "answer", "kind", "number", "us_stock_list"]
