"""AccessToken and parse_expires_dt: the raw value only where the user asks for it, expiry in Korea time."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from IPython.core.formatters import DisplayFormatter
from IPython.lib.pretty import pretty

from kiwoom_nb import AccessToken
from kiwoom_nb.auth._token import parse_expires_dt

RAW = "RAWTOKEN-Zq9Xw8Vu7Ts6Rr5Qp4Oo3Nn2Mm1Ll0Kk"
EXPIRES = datetime(2026, 11, 26, 6, 30, tzinfo=timezone.utc)  # 2026-11-26 15:30 KST


def make_token(value: str = RAW, **kwargs) -> AccessToken:
    kwargs.setdefault("expires_at", EXPIRES)
    return AccessToken(value, **kwargs)


def run_python(code: str, tz: str) -> dict:
    """Run ``code`` in a fresh venv interpreter with TZ set; it prints one JSON object."""
    env = dict(os.environ, TZ=tz)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


# -- the raw value where the user asks for it ---------------------------------------------------


def test_str_and_fstring_give_the_raw_value():
    token = make_token()

    assert str(token) == RAW
    assert f"Bearer {token}" == f"Bearer {RAW}"
    assert "%s" % token == RAW
    assert token == RAW
    assert token.value == RAW and type(token.value) is str
    assert token.authorization == f"Bearer {RAW}"


# -- masked everywhere it is merely displayed ---------------------------------------------------

RENDERERS = {
    "repr": repr,
    "ipython-pretty": pretty,
    "repr_html": lambda t: t._repr_html_(),
    "notebook-display": lambda t: " ".join(DisplayFormatter().format(t)[0].values()),
    "repr-of-list": lambda t: repr([t]),
    "pretty-of-dict": lambda t: pretty({"token": t}),
}


def windows(secret: str, size: int) -> list[str]:
    return [secret[i : i + size] for i in range(len(secret) - size + 1)]


@pytest.mark.parametrize("render", RENDERERS.values(), ids=RENDERERS.keys())
@pytest.mark.parametrize("raw", [RAW, "abcdefgh", "abcdefghi"], ids=["long", "8-chars", "9-chars"])
def test_displays_show_at_most_the_last_4_characters(render, raw):
    shown = render(make_token(raw))

    assert raw not in shown
    leaked = [w for w in windows(raw, 5) if w in shown]
    assert not leaked, f"{shown!r} shows more than 4 characters of the token"


@pytest.mark.parametrize("render", RENDERERS.values(), ids=RENDERERS.keys())
def test_displays_name_the_token_by_its_last_4_characters_and_expiry(render):
    shown = render(make_token(mock=True))

    assert RAW[-4:] in shown
    assert "mock" in shown
    assert "2026-11-26 15:30 KST" in shown


# -- attributes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("given", ["bearer", "BEARER", "Bearer", "bEaReR"])
def test_token_type_bearer_is_normalised(given):
    token = make_token(token_type=given)

    assert token.token_type == "Bearer"
    assert token.authorization == f"Bearer {RAW}"


def test_other_token_types_are_kept():
    assert make_token(token_type="MAC").token_type == "MAC"


@pytest.mark.parametrize("mock, environment", [(False, "production"), (True, "mock")])
def test_environment(mock, environment):
    token = make_token(mock=mock)

    assert token.mock is mock
    assert token.environment == environment


def test_naive_expires_at_is_refused():
    with pytest.raises(ValueError):
        AccessToken(RAW, expires_at=datetime(2026, 11, 26, 15, 30))


# -- parse_expires_dt ---------------------------------------------------------------------------


def test_expires_dt_is_korea_time():
    parsed = parse_expires_dt("20261126153000")

    assert parsed.tzinfo is not None
    assert parsed.utcoffset() == timedelta(hours=9)
    assert parsed == datetime(2026, 11, 26, 6, 30, tzinfo=timezone.utc)


def test_expires_dt_tolerates_surrounding_whitespace():
    assert parse_expires_dt(" 20261126153000\n") == datetime(2026, 11, 26, 6, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "tomorrow",
        "2026112615300",  # 13 digits
        "202611261530000",  # 15 digits
        "2026-11-26 15:30",
        "20261126T153000",
        "20261326153000",  # month 13
        "20260230120000",  # 30 February
        "20261126253000",  # hour 25
        None,
    ],
)
def test_invalid_expires_dt_raises_value_error(value):
    with pytest.raises(ValueError):
        parse_expires_dt(value)


PARSE_IN_SUBPROCESS = """
import json
from datetime import datetime, timezone
from kiwoom_nb import AccessToken
from kiwoom_nb.auth._token import parse_expires_dt

token = AccessToken("x" * 40, expires_at=parse_expires_dt("20261126153000"))
print(json.dumps({
    "timestamp": token.expires_at.timestamp(),
    "utc": token.expires_at.astimezone(timezone.utc).isoformat(),
    "local_offset": datetime.now().astimezone().utcoffset().total_seconds(),
}))
"""

# The machine's own offset under each TZ: proves the subprocess really ran in that timezone.
TIMEZONES = {
    "UTC": {0.0},
    "Asia/Seoul": {9 * 3600.0},
    "America/New_York": {-5 * 3600.0, -4 * 3600.0},
}


@pytest.mark.parametrize("tz", TIMEZONES)
def test_expiry_is_the_same_instant_whatever_the_machine_timezone(tz):
    seen = run_python(PARSE_IN_SUBPROCESS, tz)

    assert seen["local_offset"] in TIMEZONES[tz]
    assert seen["timestamp"] == datetime(2026, 11, 26, 6, 30, tzinfo=timezone.utc).timestamp()
    assert seen["utc"] == "2026-11-26T06:30:00+00:00"


ISSUE_IN_SUBPROCESS = """
import json
from datetime import datetime
from kiwoom_nb import issue_token
from kiwoom_nb.testing import DEMO_KEYS, FakeKiwoom

token = issue_token(*DEMO_KEYS["production"], transport=FakeKiwoom().transport)
print(json.dumps({
    "expires_in": token.expires_in().total_seconds(),
    "local_offset": datetime.now().astimezone().utcoffset().total_seconds(),
}))
"""


def test_issued_token_lives_about_a_day_on_a_new_york_machine():
    seen = run_python(ISSUE_IN_SUBPROCESS, "America/New_York")

    assert seen["local_offset"] in TIMEZONES["America/New_York"]
    assert abs(seen["expires_in"] - 24 * 3600) < 120


# -- expiry arithmetic --------------------------------------------------------------------------

NOW = datetime(2026, 11, 26, 6, 0, tzinfo=timezone.utc)  # 30 minutes before EXPIRES


def test_expires_in():
    token = make_token()

    assert token.expires_in(NOW) == timedelta(minutes=30)
    assert token.expires_in(EXPIRES + timedelta(seconds=5)) == timedelta(seconds=-5)


def test_expires_in_defaults_to_now():
    token = make_token(expires_at=datetime.now(timezone.utc) + timedelta(hours=1))

    assert timedelta(minutes=59) < token.expires_in() <= timedelta(hours=1)


@pytest.mark.parametrize(
    "margin, expired",
    [
        (0, False),
        (60, False),
        (29 * 60, False),
        (30 * 60, True),
        (31 * 60, True),
        (timedelta(minutes=29), False),
        (timedelta(minutes=31), True),
    ],
)
def test_is_expired_with_margin(margin, expired):
    assert make_token().is_expired(margin, now=NOW) is expired


def test_is_expired_once_past():
    assert make_token().is_expired(now=EXPIRES + timedelta(seconds=1))
    assert make_token(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)).is_expired()
    assert not make_token(expires_at=datetime.now(timezone.utc) + timedelta(hours=1)).is_expired()


# -- pickle -------------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_round_trip_keeps_attributes(protocol):
    token = make_token(token_type="bearer", mock=True)

    copy = pickle.loads(pickle.dumps(token, protocol=protocol))

    assert type(copy) is AccessToken
    assert str(copy) == RAW
    assert copy.expires_at == token.expires_at and copy.expires_at.tzinfo is not None
    assert copy.token_type == "Bearer"
    assert copy.mock is True
    assert RAW not in repr(copy)
