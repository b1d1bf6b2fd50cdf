"""Condition search on a Stream: the saved conditions (CNSRLST), a one-off search (CNSRREQ search_type 0, every page)
and a real-time one (search_type 1, whose entries and exits then arrive as 02 events).

Stream (kiwoom_nb.live._stream) inherits it; the socket's requests and frames are kiwoom_nb.live._socket's.
"""

from __future__ import annotations

from typing import Any

from .._errors import RequestError

__all__ = ["ConditionSearch"]


class ConditionSearch:
    """``conditions()``, ``search(seq)`` and ``watch_condition(seq)`` over the stream's socket."""

    def _list(self) -> list:
        p = self._socket.prefix
        answer = self._socket.request({"trnm": p + "CNSRLST"}, p + "CNSRLST")
        self._socket.listed = True
        _check_answer(answer, "the condition list")
        return answer.get("data") or []

    def conditions(self) -> list[tuple[str, str]]:
        """The saved conditions (made in 영웅문4) as [(seq, name)] (CNSRLST)."""
        self._check_open()
        return [(str(r[0]).strip(), str(r[1])) if isinstance(r, (list, tuple)) else
                (str(r.get("seq", "")).strip(), str(r.get("name", ""))) for r in self._list()]

    def _condition(self, seq: str, search_type: str, cont: str = "N", next_key: str = "") -> dict[str, Any]:
        socket = self._socket
        if not socket.listed:
            self._list()  # Kiwoom answers CNSRREQ only after CNSRLST on the same connection
        return socket.request(socket.condition_frame(seq, search_type, cont, next_key), socket.prefix + "CNSRREQ",
                              match=lambda m: str(m.get("seq", "")).strip() == seq)

    def search(self, seq: Any) -> Any:
        """One-off condition search (CNSRREQ search_type 0, every page) -> DataFrame of the hits."""
        self._check_open()
        seq, rows, cont, key = str(seq).strip(), [], "N", ""
        while True:
            answer = self._condition(seq, "0", cont, key)
            _check_answer(answer, f"condition {seq}")
            rows += answer.get("data") or []
            if str(answer.get("cont_yn", "N")).strip() != "Y" or not answer.get("next_key"):
                break
            cont, key = "Y", str(answer["next_key"])
        return _hits_frame(rows)

    def watch_condition(self, seq: Any) -> list[str]:
        """Real-time condition search: returns the current hits (codes); entries and exits then arrive as 02
        events (843: I entered, D left)."""
        self._check_open()
        seq = str(seq).strip()
        answer = self._condition(seq, "1")
        _check_answer(answer, f"condition {seq}")
        self._conditions.add(seq)
        self._socket.conditions.add(seq)
        from ..rest._frame import short_code

        return [short_code(str(r.get("jmcode", r.get("9001", "")))) for r in answer.get("data") or []]


def _check_answer(answer: dict[str, Any], what: str) -> None:
    if str(answer.get("return_code", "0")).strip() not in ("0", ""):
        raise RequestError(f"Kiwoom refused {what} (return_code {answer.get('return_code')}: "
                           f"{str(answer.get('return_msg', ''))[:120]})")


def _hits_frame(rows: list[dict[str, Any]]) -> Any:
    from ._stream_frame import hits_frame

    return hits_frame(rows)
