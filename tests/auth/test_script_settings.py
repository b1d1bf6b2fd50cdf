"""Issue 30, item 3: a script follows the settings the magics follow. kiwoom_nb.Client(appkey, secretkey) and
kiwoom_nb.Stream(...) read KIWOOM_BASE_URL / KIWOOM_MOCK_BASE_URL / KIWOOM_WS_URL / KIWOOM_MOCK_WS_URL as
%kiwoom_login does; explicit arguments win; the order guard still decides by where a request goes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import kiwoom_nb
from kiwoom_nb import KiwoomError, NetworkError, OrderNotConfirmed
from support import CANARY, wait_for

SCRIPT = textwrap.dedent("""
    import os, kiwoom_nb
    env = os.environ
    mock = env.get("MOCK") == "1"
    appkey, secretkey = (env["KIWOOM_MOCK_APPKEY"], env["KIWOOM_MOCK_SECRETKEY"]) if mock else \\
        (env["KIWOOM_APPKEY"], env["KIWOOM_SECRETKEY"])
    with kiwoom_nb.Client(appkey, secretkey, mock=mock) as api:
        print("TR", api.call("ka10001", stk_cd="005930")["stk_nm"])
    with kiwoom_nb.Stream(appkey, secretkey, mock=mock) as live:
        live.watch(["005930"], "0B")
        for event in live.events(timeout=30, type="0B"):
            print("TICK", event.item)
            break
""")


@pytest.mark.parametrize("environment", ["production", "mock"])
def test_a_script_with_the_fakes_exports_goes_to_the_fake(fake, environment, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIWOOM_")}
    env.update(fake.environ(environment))
    env["MOCK"] = "1" if environment == "mock" else "0"
    env["KIWOOM_HUB_GRACE"] = os.environ["KIWOOM_HUB_GRACE"]  # the stream hub's (conftest's hub_runtime)
    script = tmp_path / "script.py"
    script.write_text(SCRIPT, encoding="utf-8")

    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    assert "TR 삼성전자" in done.stdout and "TICK 005930" in done.stdout, done.stdout
    assert [(r.environment, r.api_id) for r in fake.received("/api/dostk/stkinfo")] == [(environment, "ka10001")]
    # the client's token and the stream's (its hub's, revoked once the hub's grace period passed), both revoked
    wait_for(lambda: len(fake.revokes) == 2, 20, "both revokes")
    assert len(fake.issues) == 2
    assert fake.ws.received("LOGIN")


def test_explicit_arguments_win_over_the_settings(fake, monkeypatch):
    for name, value in fake.environ("production").items():
        monkeypatch.setenv(name, value)
    with pytest.raises(NetworkError):
        kiwoom_nb.Client(*CANARY["production"], base_url="http://127.0.0.1:9", timeout=2).call("ka10001", stk_cd="005930")
    assert not fake.received()  # nothing went to the configured server


def test_the_order_guard_still_decides_by_destination(fake, monkeypatch):
    for name, value in fake.environ("production").items():
        monkeypatch.setenv(name, value)
    # production keys, production's configured server: an order needs confirm=True; nothing is sent
    with kiwoom_nb.Client(*CANARY["production"]) as api, pytest.raises(OrderNotConfirmed):
        api.call("kt10000", dmst_stex_tp="KRX", stk_cd="005930", ord_qty="1", trde_tp="3")
    assert not [r for r in fake.received() if r.path.endswith("/ordr")]
    # a mock setting that names production's server is refused before anything is sent
    monkeypatch.setenv("KIWOOM_MOCK_BASE_URL", fake.url)
    issued = len(fake.issues)
    with pytest.raises(KiwoomError, match="production server"):
        kiwoom_nb.Client(*CANARY["mock"], mock=True)
    with pytest.raises(KiwoomError, match="production server"):
        kiwoom_nb.Stream(*CANARY["mock"], mock=True)
    assert len(fake.issues) == issued
