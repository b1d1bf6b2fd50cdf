"""kiwoom_nb.Client: rest/'s Client (every TR, names, previews, candles) plus trading — ``buy``, ``sell``, ``orders``,
``positions`` — delegated to this client's :class:`~kiwoom_nb.orders._book.Book`. Nothing but the delegation here.

No IPython; the book (and pandas) is imported at the first order.
"""

from __future__ import annotations

from typing import Any

from ..rest._client import Client as _Client

__all__ = ["Client"]


class Client(_Client):
    __doc__ = _Client.__doc__ + """
    ``buy`` / ``sell`` place an order and return a live :class:`kiwoom_nb.orders._order.Order` (production: only with
    ``confirm=True``; without it the preview line comes back and nothing is sent); ``orders()`` lists today's
    orders, ``positions()`` the holdings (kt00018; ``us=True``: ust21070).
    """

    def _book(self) -> Any:
        from ._book import book_of

        return book_of(self)

    def buy(self, code: str, qty: int, price: Any = None, *, confirm: bool = False) -> Any:
        """Buy ``qty`` of ``code`` at ``price`` (a limit), or at market when ``price`` is None."""
        return self._book().place("buy", code, qty, price, confirm=confirm)

    def sell(self, code: str, qty: int, price: Any = None, *, confirm: bool = False) -> Any:
        """Sell ``qty`` of ``code`` at ``price`` (a limit), or at market when ``price`` is None."""
        return self._book().place("sell", code, qty, price, confirm=confirm)

    def orders(self) -> list[Any]:
        """Today's orders (kt00007) as live objects, open ones first; the objects this client placed are reused."""
        return self._book().today()

    def positions(self, us: bool = False, labels: str | None = None) -> Any:
        """The holdings as a DataFrame: domestic (kt00018), or with ``us=True`` the US account's (ust21070, dollars);
        ``labels="ko"`` names the columns in Korean, as ``frame(..., labels="ko")`` does."""
        from .._errors import KiwoomError

        if not (labels is None or isinstance(labels, str) and labels == "ko"):
            shown = repr(labels) if isinstance(labels, str) else f"<a {type(labels).__name__}>"  # a frame's repr: lines
            raise KiwoomError(f"labels={shown}: use labels='ko' for Korean column names, or leave it out — nothing "
                              "was sent")
        frame = self._book().positions(us)
        if labels is None:
            return frame
        from ..rest._frame import labels_of

        korean = labels_of("ust21070" if us is True else "kt00018")  # a row a 04 event added has no attrs of its own
        named = [korean.get(str(c), str(c)) for c in frame.columns]
        return frame.rename(columns={str(c): n if named.count(n) == 1 else f"{n} ({c})"
                                     for c, n in zip(frame.columns, named)})
