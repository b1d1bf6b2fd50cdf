"""The stream hub, the default (issue 34), in real kernels: a cell's ``async for`` works through it; every way a
kernel ends (shutdown, VS Code's bare SIGTERM, SIGKILL) and %kiwoom_logout stay fast, the notebook's token is revoked,
and the hub notices its client gone: once its last client left, it closes its socket to Kiwoom and then revokes its
own token. What the fake saw, with deadlines; no sleeps."""

from __future__ import annotations

import signal
import time

import pytest

from support import hub_tokens, logged_in, the_token, wait_for

pytestmark = pytest.mark.kernel
pytest.importorskip("pandas")

OPEN = "live = kiwoom_nb.stream(); live.watch(['005930'], '0B'); print(str(live.status).split()[0])"


def opened(start_kernel):
    kernel = logged_in(start_kernel)
    kernel.ok("import kiwoom_nb")
    assert kernel.ok(OPEN).stdout.strip() == "connected"
    assert kernel.ok("print(type(live._socket).__name__)").stdout.strip() == "HubSocket"  # the default
    return kernel


def revoked_at(fake, token):
    return [r.at for r in fake.revokes if r.body["token"] == token]


def hub_closed_then_revoked(fake, hub_token):
    """The hub's socket closed (a close frame, or the connection gone) before its own token's revoke arrived."""
    wait_for(lambda: fake.ws.closes and revoked_at(fake, hub_token), 30, "the hub's close and then its revoke")
    [(_, _, closed_at)] = fake.ws.closes
    assert closed_at <= revoked_at(fake, hub_token)[0]
    assert not fake.ws.live()


def test_a_kernels_stream_goes_through_the_hub_with_its_own_token_and_async_for_works(fake, start_kernel):
    kernel = opened(start_kernel)
    token = the_token(fake)

    [hub_token] = hub_tokens(fake)
    assert hub_token != token  # the notebook's token never goes to the hub
    got = kernel.ok("items = []\nasync for event in live:\n    items.append(event.item)\n    if len(items) == 3: break\n"
                    "print(items, live.frame('0B')['cur_prc'].gt(0).all())")
    assert got.stdout.strip() == "['005930', '005930', '005930'] True"
    assert got.stderr == ""


@pytest.mark.parametrize("how", ["shutdown", "sigterm", "sigkill"])
def test_when_the_kernel_ends_its_token_is_revoked_and_the_hub_closes_then_revokes_its_own(fake, start_kernel, how):
    kernel = opened(start_kernel)
    token = the_token(fake)
    [hub_token] = hub_tokens(fake)
    process = kernel.process
    started = time.monotonic()
    if how == "sigterm":  # how VS Code stops a kernel
        kernel.km.signal_kernel(signal.SIGTERM)
        kernel.wait_exit()
    elif how == "sigkill":
        kernel.km.signal_kernel(signal.SIGKILL)
        kernel.wait_exit()
    else:
        kernel.shutdown()
    assert process.poll() is not None

    # the kernel's own token: at its exit, or (SIGKILL) by its revoker process
    wait_for(lambda: revoked_at(fake, token), 20, "the notebook token's revoke")
    if how != "sigkill":
        assert revoked_at(fake, token)[0] - started < 2.5  # Jupyter's shutdown budget: nothing waits on the hub
    hub_closed_then_revoked(fake, hub_token)


def test_a_silent_server_holds_neither_the_kernels_exit_revoke_nor_the_hubs_exit(fake, start_kernel):
    kernel = opened(start_kernel)
    kernel.ok("live.watch_condition('1')")
    token = the_token(fake)
    [hub_token] = hub_tokens(fake)
    fake.ws.hang = True  # CNSRCLR and REMOVE go unanswered
    started = time.monotonic()
    kernel.km.signal_kernel(signal.SIGTERM)
    kernel.wait_exit()

    [revoke] = revoked_at(fake, token)
    assert revoke - started < 2.5  # Jupyter's shutdown budget
    wait_for(lambda: revoked_at(fake, hub_token), 40, "the hub's own revoke once its client left")


def test_kiwoom_logout_stops_the_stream_and_the_hub_lets_go_of_the_socket(fake, start_kernel):
    kernel = opened(start_kernel)
    token = the_token(fake)
    [hub_token] = hub_tokens(fake)
    kernel.ok("%kiwoom_logout")

    assert revoked_at(fake, token)
    assert kernel.ok("print(live.status)").stdout.startswith("stopped")
    hub_closed_then_revoked(fake, hub_token)


@pytest.mark.parametrize("how", ["config", "environment"])
def test_turning_the_hub_off_keeps_the_kernels_own_socket_logged_in_with_its_token(fake, start_kernel, kernel_env, how):
    if how == "config":
        kernel = logged_in(start_kernel, "%config KiwoomMagics.stream_hub = False", "%kiwoom_login")
    else:
        kernel = logged_in(start_kernel, env={**kernel_env, "KIWOOM_STREAM_HUB": "off"})
    kernel.ok("import kiwoom_nb")
    assert kernel.ok(OPEN).stdout.strip() == "connected"

    assert kernel.ok("print(type(live._socket).__name__)").stdout.strip() == "Socket"
    assert [f.data["token"] for f in fake.ws.received("LOGIN")] == [the_token(fake)]  # the notebook's own
    assert len(fake.tokens) == 1  # no hub, no token of its own

