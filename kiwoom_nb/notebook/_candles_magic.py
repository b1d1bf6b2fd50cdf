"""%kiwoom_candles: its line (codes and options), parsed here, and the frame it asks Client.candles for.

No traits, no login: the login class (KiwoomMagics) hands over a client bound to a login.
"""

from __future__ import annotations

from typing import Any

from IPython.core.magic import Magics, line_magic, magics_class

from .._errors import KiwoomError
from ..auth._lines import warn as _warn

#: %kiwoom_candles's options: those that take a value (with an example), and the flags.
CANDLE_VALUES = {"--from": "2026-01-01", "--to": "2026-06-30", "--interval": "5m", "--exchange": "ND",
                 "--var": "kiwoom_token"}
CANDLE_FLAGS = ("--unadjusted", "--krw", "--no-store")


def parse_candles_line(line: str) -> dict[str, Any]:
    """``005930 000660 --from 2026-01-01 [--to …] [--interval D] [--unadjusted] [--exchange ND] [--krw] [--no-store] [--var NAME]``."""
    import shlex

    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise KiwoomError(f"%kiwoom_candles could not read the line ({exc})") from None
    args: dict[str, Any] = {"codes": [], "from": None, "to": None, "interval": "D", "exchange": None, "var": None,
                            "unadjusted": False, "krw": False, "no-store": False}
    i = 0
    while i < len(words):
        name, has_value, inline = words[i].partition("=") if words[i].startswith("--") else (words[i], "", "")
        if name in CANDLE_VALUES:
            value = inline if has_value else (words[i + 1] if i + 1 < len(words) else "")
            i += 0 if has_value else 1
            if not value or value.startswith("--"):
                raise KiwoomError(f"%kiwoom_candles {name} needs a value, e.g. {name} {CANDLE_VALUES[name]}")
            args[name[2:]] = value
        elif name in CANDLE_FLAGS:
            args[name[2:]] = True
        elif name.startswith("-"):
            raise KiwoomError(f"%kiwoom_candles does not know the option {name}; %kiwoom_candles? lists the options")
        else:
            args["codes"] += [code for code in name.replace(",", " ").split() if code]
        i += 1
    if not args["codes"]:
        raise KiwoomError("%kiwoom_candles needs stock codes, e.g. %kiwoom_candles 005930 000660 --from 2026-01-01")
    return args


def run_candles(api: Any, args: dict[str, Any]) -> Any:
    """The frame a parsed %kiwoom_candles line asks for (one stock: a ``date`` index; several: ``(code, date)``)."""
    codes = args["codes"]
    try:
        return api.candles(codes[0] if len(codes) == 1 else codes, args["interval"], args["from"], args["to"],
                           adjusted=not args["unadjusted"], exchange=args["exchange"], krw=args["krw"],
                           store=not args["no-store"])
    except KeyboardInterrupt:
        got = len(api.last)
        where = f"kiwoom_nb.client({'' if args['var'] is None else repr(args['var'])})"
        _warn(f"interrupted after {got} page{'s' * (got != 1)}; {where}.last holds the answers")
        raise


@magics_class
class CandleMagics(Magics):
    """%kiwoom_candles, with the logins of the shell's KiwoomMagics."""

    def __init__(self, shell: Any, logins: Any) -> None:
        super().__init__(shell=shell)
        self.logins = logins

    @line_magic
    def kiwoom_candles(self, line: str = "") -> Any:
        """Candles of one or more stocks with the login in kiwoom_token: a DataFrame of open high low close volume
        (value where Kiwoom gives it) on an ascending date index; several stocks give a (code, date) index.

            df = %kiwoom_candles 005930 --from 2026-01-01
            df = %kiwoom_candles 005930 000660 035420 --from 2026-01-01 --to 2026-06-30 --interval W
            df = %kiwoom_candles AAPL --exchange ND --interval 5m --from 2026-11-30

        Options: --from DATE (fetch pages back to this day; without it, the latest page only), --to DATE, --interval
        D|W|M|Y (days and longer), 1m|3m|5m|10m|15m|30m|45m|60m (minutes), tick|1t|3t|5t|10t|30t (ticks), or pandas /
        yfinance names (1d 1wk 1mo 1y 5min 1h),
        --unadjusted (prices not adjusted for splits), --exchange ND|NY|NA (a US ticker's exchange: NASDAQ, NYSE,
        AMEX), --krw (US prices in won), --no-store (read and keep nothing in the candle store, kiwoom_nb.store;
        by default finished bars are kept and a re-run fetches only what is new), --var NAME (another login). A stock Kiwoom refuses is left out and named in
        df.attrs["failed"]; an error that ends everything (the token, the network, the rate limit) stops at once.
        Same as kiwoom_nb.client().candles(...).
        """
        args = parse_candles_line(line)
        return run_candles(self.logins.client_for(args["var"]), args)
