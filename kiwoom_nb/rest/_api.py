"""The TR client: call / pages / rows / frame for any api-id, with pacing, retries, token recovery and the order guard.

No IPython, no printing (a progress bar aside), no environment. The wire goes through _client.post_tr, so
URL checks, error classification and scrubbing are the login's own; pandas is only touched via _frame.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, Iterator

from ..auth._client import configured, is_mock_destination, post_tr, resolve_base_url
from .._errors import KiwoomError, OrderNotConfirmed, RateLimitError, RequestError, ServerError, NetworkError, KiwoomTimeout
from ..auth._checks import MAX_MARGIN, MAX_PACE, MAX_PAGES, MAX_WAIT, check_number
from ._frame import rows_of
from ._pace import DEFAULT_PACE, paced_note, pacer_for, rate_in
from ..auth._tokens import KeyTokens, SessionTokens
from ._trs import is_order, lookup


__all__ = ["Answer", "Calls", "KeyTokens", "SessionTokens"]

log = logging.getLogger("kiwoom_nb")

#: Back-off after a rate-limit refusal (429 / 1700-1702), in seconds, one per retry; then RateLimitError.
BACKOFF = (1.1, 2.2, 3.3)
#: seconds a request must have waited for its pace before a progress bar says ``paced N/s``
PACED = 0.05

#: Kiwoom codes that mean "this token will not do": re-issue once and retry the request once.
#: 8103 (device authentication) is left out on purpose: a new token from the same machine is refused the same way.
TOKEN_REJECTED = (8005, 8010, 8031)


class Answer(dict):
    """One TR answer: the JSON body as a dict, plus ``api_id``, ``cont`` (more pages?) and ``next_key``."""

    def __init__(self, data: dict[str, Any], *, api_id: str, cont: bool, next_key: str) -> None:
        super().__init__(data)
        self.api_id = api_id
        self.cont = cont
        self.next_key = next_key


# -- the client -----------------------------------------------------------------------------------


class Calls:
    """The TR calls of kiwoom_nb.Client (kiwoom_nb.rest._client composes it): ``call`` one request, ``pages`` follow
    continuation, ``rows`` / ``frame`` gather them; its token, pacing, retries and the order guard; closing."""

    def __init__(self, appkey: str, secretkey: str, *, mock: bool = False, base_url: str | None = None,
                 timeout: float = 10.0, transport: Any = None, pace: float | None = DEFAULT_PACE,
                 refresh_margin: float = 600.0, progress: str | None = None) -> None:
        _check_options(mock=mock, base_url=base_url, timeout=timeout, pace=pace, refresh_margin=refresh_margin)
        base_url = configured(base_url, mock)  # KIWOOM_BASE_URL / KIWOOM_MOCK_BASE_URL, as %kiwoom_login reads them
        tokens = KeyTokens(appkey, secretkey, mock=mock, base_url=base_url, timeout=timeout, transport=transport,
                           margin=refresh_margin)
        resolve_base_url(base_url, mock)  # a bad base URL fails here, not at the first call
        self._setup(tokens, pace=pace, progress=progress if progress is not None else _default_progress())

    @classmethod
    def bound(cls, tokens: Any, *, pace: float | None = DEFAULT_PACE, progress: str | None = None) -> "Calls":
        """A client using ``tokens`` (e.g. :class:`SessionTokens`) instead of keys of its own."""
        self = cls.__new__(cls)
        self._setup(tokens, pace=pace, progress=progress)
        return self

    def _setup(self, tokens: Any, *, pace: float | None, progress: str | None) -> None:
        self.tokens = tokens
        self.pace = pace
        self.progress = progress
        self.last: list[Answer] = []
        self.paced: float | None = None  # requests per second the latest request waited for, when it waited
        self.turn = 0.0  # seconds it waited for other processes' requests on the key (kiwoom_nb.pace)
        self.closed = False
        self.backoff = BACKOFF  # seconds to wait before each retry after a rate-limit refusal

    @property
    def mock(self) -> bool:
        return self.tokens.mock

    def __repr__(self) -> str:
        env = "mock" if self.mock else "production"
        where = f"bound to {self.tokens.var}" if isinstance(self.tokens, SessionTokens) else "own token"
        return f"<kiwoom_nb.Client {env}, {where}{', closed' if self.closed else ''}>"

    # -- one request --------------------------------------------------------------------------

    def call(self, api_id: str, path: str | None = None, *, confirm: bool = False, check: bool = True,
             **fields: Any) -> Answer:
        """Send one TR request (``fields`` are sent as strings) and return its :class:`Answer`.

        ``check=False`` skips the checks against the field catalogue (missing, unknown, codes), for TRs newer
        than it.
        """
        api_id = _checked(api_id, confirm=confirm, check=check)
        body = self._named(api_id, _body(fields, api_id, check), check=check)
        answer = self._request(api_id, path, body, confirm=confirm, check=check)
        self.last = [answer]
        return answer

    def _named(self, api_id: str, body: dict[str, Any], *, fetch: bool = True, check: bool = True) -> dict[str, Any]:
        """``body`` with a stock name in stk_cd replaced by its code (kiwoom_nb.rest._codes); codes pass untouched, a
        malformed one (0059300) is refused unless ``check`` is False."""
        if "stk_cd" not in body:
            return body
        from ._codes import resolve_names

        return resolve_names(self, str(api_id).strip(), body, fetch=fetch, check=check)

    def _request(self, api_id: str, path: str | None, body: dict[str, Any], *, confirm: bool,
                 cont: bool = False, next_key: str = "", check: bool = False) -> Answer:
        if self.closed:
            raise KiwoomError("this kiwoom_nb.Client is closed (its token was revoked); create a new one")
        api_id = str(api_id).strip()
        tr = lookup(api_id)
        what = f"{api_id} ({tr.name})" if tr else api_id
        order = is_order(api_id, path)
        mock = self.tokens.mock
        # the guard keys on where the request goes, never on the label: only a known mock server is mock
        if order and not confirm and not (mock and is_mock_destination(self._route(mock)[0])):
            from ._preview import preview_line  # what would have been sent, to the production host

            raise OrderNotConfirmed(preview_line(self, api_id, path, body), api_id=api_id)
        if check:  # after the guard: an unconfirmed order is refused as such, whatever its fields
            _check(api_id, path, body)
        path = path or (tr.path if tr else None)
        if not path:
            from ._trs import closest

            near = closest(api_id)
            raise RequestError(
                f"{api_id} is not in kiwoom_nb's TR table" + (f"; did you mean {near}?" if near else "") +
                " (kiwoom_nb.find_trs() searches it, as %kiwoom --find does); "
                "for a TR newer than the table pass its URL path, e.g. path='/api/dostk/stkinfo'", api_id=api_id)
        base, pacer = self._route(mock)
        url = base + (path if path.startswith("/") else "/" + path)
        content = json.dumps(body, ensure_ascii=False).encode("utf-8")
        reissued = retried = False
        refusals, waited = 0, 0.0
        while True:
            token = self.tokens.current()
            headers = {"authorization": f"Bearer {token.value}", "cont-yn": "Y" if cont else "N",
                       "next-key": next_key if cont else ""}
            asked = time.monotonic()
            ticket = pacer.acquire(api_id, self.pace, group="/" + path.lstrip("/"),  # the group: its URL path
                                   timeout=self.tokens.timeout)
            # the progress bar says so when this request waited for its pace: a paced fetch is not a slow product
            self.paced = pacer.rate(api_id, self.pace) if time.monotonic() - asked > PACED else None
            self.turn = pacer.waited if ticket[2] is not None and pacer.waited > PACED else 0.0  # other processes
            try:
                try:
                    data, _, answered = post_tr(api_id, what, url, content, headers=headers,
                                                secrets=(token.value, *self.tokens.secrets),
                                                timeout=self.tokens.timeout, transport=self.tokens.transport)
                finally:
                    pacer.release(ticket)
            except RateLimitError as exc:  # Kiwoom refused before doing anything: safe to resend, orders too
                scope = pacer.scope(ticket, exc.code)  # 1700: the api-id, 1701: all of them, 1702: its group
                learned = rate_in(exc.return_msg)
                if learned:
                    pacer.learn(scope, learned)
                if refusals >= len(self.backoff):
                    wait = max(self.backoff[-1] if self.backoff else 1.0, 1.0 / learned if learned else 0)
                    raise RateLimitError(
                        f"{what} failed: Kiwoom still refused after {refusals} retries over {waited:.1f} s (too many "
                        f"requests); wait about {wait:.0f} s and try again, or lower the pace",
                        code=exc.code, return_code=exc.return_code, return_msg=exc.return_msg,
                        status_code=exc.status_code, api_id=api_id) from None
                # a limit Kiwoom has stated needs only a slot at that rate; an unknown one, the full back-off
                pause = min(self.backoff[refusals], 2.0 / learned) if learned else self.backoff[refusals]
                pacer.hold(scope, pause)
                waited += pause
                refusals += 1
                continue
            except KiwoomError as exc:
                if not reissued and (exc.code in TOKEN_REJECTED or exc.status_code == 401):
                    reissued = True  # once per request: a second rejection surfaces
                    self.tokens.reissue(token, exc.code)
                    continue
                transient = isinstance(exc, NetworkError) and not isinstance(exc, KiwoomTimeout) or (
                    isinstance(exc, ServerError) and (exc.status_code or 0) >= 500)
                if transient and not order and not retried:  # a query is safe to resend; an order may have been placed
                    retried = True
                    pacer.hold(api_id, 1.0)
                    continue
                raise
            more = str(answered.get("cont-yn", "")).strip().upper() == "Y"
            return Answer(data, api_id=answered.get("api-id") or api_id, cont=more,
                          next_key=answered.get("next-key", "") or "")

    def _route(self, mock: bool) -> tuple[str, Any]:
        """The base URL and the pacer for the current login, cached while it stays the same."""
        key = (self.tokens.base_url, mock, self.tokens.app_key)
        cached = self.__dict__.get("_routed")
        if cached is None or cached[0] != key:
            cached = self._routed = (key, resolve_base_url(key[0], mock), pacer_for(key[2], mock))
        return cached[1], cached[2]

    # -- many requests ------------------------------------------------------------------------

    def pages(self, api_id: str, path: str | None = None, *, confirm: bool = False, max_pages: int | None = None,
              check: bool = True, **fields: Any) -> Iterator[Answer]:
        """Yield the answer of every page, following ``cont-yn`` / ``next-key`` until the end or ``max_pages``.

        Each page is also appended to ``last`` as it arrives, so Ctrl-C keeps what was fetched.
        """
        api_id = _checked(api_id, confirm=confirm, check=check)
        check_number("max_pages", max_pages, minimum=1, none=True, integer=True, maximum=MAX_PAGES)
        body = self._named(api_id, _body(fields, api_id, check), check=check)
        self.last = fetched = []
        cont, key = False, ""
        while max_pages is None or len(fetched) < max_pages:
            answer = self._request(api_id, path, body, confirm=confirm, cont=cont, next_key=key,
                                   check=check and not cont)
            fetched.append(answer)
            yield answer
            if not answer.cont or not answer.next_key:  # an empty next-key would only fetch page 1 again
                return
            if cont and answer.next_key == key:  # the same request again would get this same page, forever
                log.warning("kiwoom_nb: %s answered next-key %r for the page asked with it; stopped after %d pages "
                            "(the next would repeat it)", api_id, key, len(fetched))
                return
            cont, key = True, answer.next_key

    def rows(self, api_id: str, path: str | None = None, *, confirm: bool = False, max_pages: int | None = None,
             list_key: str | None = None, check: bool = True, **fields: Any) -> list[dict[str, Any]]:
        """The list data of every page, concatenated (a flat answer is one row)."""
        key = list_key or _table_key(api_id)
        rows: list[dict[str, Any]] = []
        for answer in self._fetch(api_id, path, confirm=confirm, max_pages=max_pages, check=check, fields=fields):
            rows.extend(rows_of(answer, key))
        return rows

    def frame(self, api_id: str, path: str | None = None, *, pages: int | None = None, numeric: bool = True,
              confirm: bool = False, list_key: str | None = None, check: bool = True, labels: str | None = None,
              **fields: Any) -> Any:
        """A pandas DataFrame of every page (``pages=N`` stops after N); ``numeric=False`` keeps Kiwoom's strings.

        The numeric rules are in kiwoom_nb.rest._frame. Summary scalars of a mixed answer are in ``df.attrs``.
        """
        from ._frame import require_pandas, to_frame

        require_pandas()
        check_number("pages", pages, minimum=1, none=True, integer=True, maximum=MAX_PAGES)
        _checked(api_id, numeric=numeric)
        if labels not in (None, "ko"):
            raise KiwoomError(f"labels={labels!r}: use labels='ko' for Korean column names, or leave it out")
        answers = list(self._fetch(api_id, path, confirm=confirm, max_pages=pages, check=check, fields=fields))
        frame = to_frame(answers, list_key or _table_key(api_id), numeric=numeric)
        return frame.rename(columns=_korean_columns(frame)) if labels == "ko" else frame

    def to_frame(self, answers: list[Answer] | None = None, *, numeric: bool = True, list_key: str | None = None) -> Any:
        """A DataFrame of ``answers`` (default: ``last``, e.g. the pages fetched before a Ctrl-C)."""
        from ._frame import to_frame

        answers = self.last if answers is None else answers
        key = list_key or (_table_key(answers[0].api_id) if answers and hasattr(answers[0], "api_id") else "")
        return to_frame(answers, key, numeric=numeric)

    def _bar(self, desc: str, total: int | None, unit: str = "page") -> Any:
        """A tqdm bar, or None where this client shows none (nbclient, papermill, nbval, scripts)."""
        return _progress_bar(self.progress, desc, total, unit) if self.progress else None

    def _fetch(self, api_id: str, path: str | None, *, confirm: bool, max_pages: int | None, check: bool,
               fields: dict[str, Any]) -> Iterator[Answer]:
        bar = None
        rows = 0
        key = _table_key(api_id)
        try:
            for answer in self.pages(api_id, path, confirm=confirm, max_pages=max_pages, check=check, **fields):
                rows += len(rows_of(answer, key, strict=False))
                if bar is None and answer.cont and self.progress and (max_pages is None or max_pages > 1):
                    bar = _progress_bar(self.progress, api_id, max_pages)
                if bar is not None:
                    bar.set_postfix_str(f"{rows} rows{paced_note(self)}", refresh=False)
                    bar.update(1)
                yield answer
        finally:
            if bar is not None:
                bar.close()

    # -- closing ------------------------------------------------------------------------------

    def close(self) -> None:
        """Revoke this client's own token (au10002); a client bound to a login leaves it to the session."""
        if self.closed:
            return
        self.closed = True
        self.tokens.close()  # at exit, the own-key session's guard revokes what was never closed

    def __enter__(self) -> "Calls":
        return self

    def __exit__(self, exc_type: Any, *rest: Any) -> None:
        try:
            self.close()
        except KiwoomError:
            if exc_type is None:
                raise
            log.warning("kiwoom_nb: could not revoke a Client's token")


def _check(api_id: str, path: str | None, body: dict[str, Any]) -> None:
    from ._describe import check_fields  # with the catalogue, on first use

    check_fields(str(api_id).strip(), path, body)


def _body(fields: dict[str, Any], api_id: str = "", check: bool = True) -> dict[str, Any]:
    """Kiwoom's examples send every value as a string; None means "leave the field out". A stock code must be a
    string (5930 has lost its zeros); a field the catalogue types as a date takes dates and "2024-01-01" too."""
    from ..auth._checks import check_code, date_field

    dates = _date_fields(api_id) if api_id else ()
    body = {}
    for name, value in fields.items():
        if value is None:
            continue
        if isinstance(value, bool):
            raise KiwoomError(f"field {name}={value!r}: Kiwoom fields are strings or numbers, not True/False")
        if name == "stk_cd" and not isinstance(value, str):
            check_code(value, "stk_cd")
        if name in dates:
            value = date_field(api_id, name, value, check=check)
        body[name] = value if isinstance(value, (str, list, dict)) else str(value)
    return body


def _date_fields(api_id: str) -> tuple[str, ...]:
    from ._trs import fields_of

    spec = fields_of(api_id)
    return tuple(f.name for f in spec.request if f.format == "YYYYMMDD") if spec is not None else ()


def _checked(api_id: Any, **flags: Any) -> str:
    """``api_id`` stripped, once it and the True/False options are what they must be."""
    from ..auth._checks import check_api_id, check_flag

    for name, value in flags.items():
        check_flag(name, value)
    return check_api_id(api_id)


def _check_options(*, mock: Any, base_url: Any, timeout: Any, pace: Any, refresh_margin: Any) -> None:
    """A Client's or Stream's options, before anything is issued: one line for the first wrong one."""
    from ..auth._checks import check_flag

    check_flag("mock", mock)
    if base_url is not None and not isinstance(base_url, str):
        raise KiwoomError(f"base_url={base_url!r}: a URL string such as 'https://api.kiwoom.com', or None")
    check_number("timeout", timeout, minimum=0.001, maximum=MAX_WAIT)
    check_number("pace", pace, none=True, maximum=MAX_PACE)
    check_number("refresh_margin", refresh_margin, maximum=MAX_MARGIN)


def _korean_columns(frame: Any) -> dict[str, str]:
    """Column -> its Korean name for ``labels="ko"``; where two columns share one, each keeps its field name
    beside it (``현재가 (cur_prc)``): a frame never has two columns of one name."""
    labels = frame.attrs.get("labels", {})
    named = [labels.get(str(c), str(c)) for c in frame.columns]
    return {str(c): n if named.count(n) == 1 else f"{n} ({c})" for c, n in zip(frame.columns, named)}


def _table_key(api_id: str) -> str:
    tr = lookup(str(api_id).strip())
    return tr.list_key if tr else ""


def _default_progress() -> str | None:
    try:
        return "text" if sys.stderr.isatty() else None
    except (AttributeError, ValueError):
        return None


def _progress_bar(kind: str, api_id: str, total: int | None, unit: str = "page") -> Any:
    try:
        if kind == "notebook":
            from tqdm.notebook import tqdm
        else:
            from tqdm import tqdm
    except ImportError:  # progress is optional (the pandas extra brings tqdm)
        return None
    try:
        bar = tqdm(total=total, desc=api_id, unit=unit, leave=False)
    except Exception:  # noqa: BLE001 - no widget frontend: fall back to text, never fail the fetch
        from tqdm import tqdm as text_tqdm

        bar = text_tqdm(total=total, desc=api_id, unit=unit, leave=False, file=sys.stderr)
    return bar
