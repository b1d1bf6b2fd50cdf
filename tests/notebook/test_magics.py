"""The magics in-process: configuration through traitlets, argument handling, login(), reload."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout

import pytest
from IPython.testing.globalipapp import start_ipython
from traitlets.config import Config

import kiwoom_nb.notebook._load
from kiwoom_nb import KiwoomError
from kiwoom_nb.notebook._magics import KiwoomMagics
from support import CANARY

APPKEY, SECRETKEY = CANARY["production"]


@pytest.fixture(autouse=True)
def literal_key_warning_not_given_yet(monkeypatch):
    """The literal-key warning is given once per process (a module global): each test starts before it, and
    whatever a test does to it is undone afterwards, so no test depends on which ran earlier."""
    monkeypatch.setattr(kiwoom_nb.notebook._load, "_warned_literal", False)


@pytest.fixture
def ip(fake, monkeypatch, tmp_path):
    """A shell with the extension loaded, pointed at the fake; unloaded (tokens revoked) afterwards."""
    for key in list(__import__("os").environ):
        if key.startswith("KIWOOM_"):
            monkeypatch.delenv(key)
    for key, value in fake.environ("production").items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    shell = start_ipython() or __import__("IPython").get_ipython()
    original = shell.config
    shell.extension_manager.load_extension("kiwoom_nb")
    yield shell
    shell.extension_manager.unload_extension("kiwoom_nb")
    shell.config = original


def magics(shell) -> KiwoomMagics:
    return next(c for c in shell.configurables if isinstance(c, KiwoomMagics))


def run(shell, line: str) -> str:
    out = io.StringIO()
    with redirect_stdout(out):
        shell.run_line_magic(*line.split(" ", 1)) if " " in line else shell.run_line_magic(line, "")
    return out.getvalue()


def test_config_object_and_reload_extension(ip, fake):
    config = Config()
    config.KiwoomMagics.var = "tok"
    config.KiwoomMagics.mock = True
    config.KiwoomMagics.timeout = 3.5
    ip.config = config
    ip.extension_manager.reload_extension("kiwoom_nb")
    current = magics(ip)
    assert (current.var, current.mock, current.timeout) == ("tok", True, 3.5)
    assert current.session.timeout == 3.5
    assert [c for c in ip.configurables if isinstance(c, KiwoomMagics)] == [current]  # no stale copy

    monkey_env = fake.environ("mock")
    import os

    os.environ.update({k: v for k, v in monkey_env.items() if "MOCK" in k})
    try:
        line = run(ip, "kiwoom_login")
    finally:
        for key in ("KIWOOM_MOCK_APPKEY", "KIWOOM_MOCK_SECRETKEY"):
            os.environ.pop(key, None)
    assert "logged in as tok" in line and "모의투자" in line
    assert fake.issues[-1].environment == "mock"
    assert ip.user_ns["tok"].mock is True


def test_percent_config_changes_take_effect(ip, fake):
    ip.run_line_magic("config", "KiwoomMagics.var = 'other'")
    assert "logged in as other" in run(ip, "kiwoom_login")
    ip.run_line_magic("config", "KiwoomMagics.var = 'not a name'")  # %config logs the refusal
    assert magics(ip).var == "other"


def test_config_output_holds_no_secret(ip, fake):
    run(ip, "kiwoom_login")
    out = run(ip, "config KiwoomMagics")
    assert "KiwoomMagics.timeout" in out
    for secret in (APPKEY, SECRETKEY, fake.live_tokens()[0]):
        assert secret not in out


def test_keys_on_the_magic_line_are_refused_without_echo(ip, fake):
    with pytest.raises(KiwoomError) as info:
        ip.run_line_magic("kiwoom_login", f"{APPKEY} {SECRETKEY}")
    assert APPKEY not in str(info.value) and SECRETKEY not in str(info.value)
    assert "KIWOOM_APPKEY" in str(info.value)
    assert fake.issues == []


def test_no_variable_expansion_on_the_line(ip, fake):
    ip.user_ns["secret"] = SECRETKEY
    with pytest.raises(KiwoomError) as info:
        ip.run_line_magic("kiwoom_login", "--var {secret}")
    assert SECRETKEY not in str(info.value)


HELP = """
import json
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
shell.run_line_magic("load_ext", "kiwoom_nb")
print(json.dumps({name: shell.object_inspect_text("%" + name) for name in ("kiwoom_login", "kiwoom_logout", "kiwoom_status")}))
"""


def test_help_shows_every_option_in_a_fresh_shell(tmp_path):
    """What ``%kiwoom_login?`` (and Shift-Tab) show before any magic ran: the parsers are built on first use."""
    env = {**__import__("os").environ, "IPYTHONDIR": str(tmp_path / "ipython")}
    done = subprocess.run([sys.executable, "-c", HELP], env=env, capture_output=True, text=True, timeout=60, check=True)
    shown = json.loads(done.stdout.splitlines()[-1])
    login = shown["kiwoom_login"]
    assert "%kiwoom_login [--mock]" in login and "KIWOOM_APPKEY" in login
    for option in ("--mock", "--production", "--var NAME", "--force", "--prompt", "--panel", "--remember"):
        assert option in login, option
    assert "--all" in shown["kiwoom_logout"] and "--forget" in shown["kiwoom_logout"]
    assert "%kiwoom_status" in shown["kiwoom_status"] and "List this kernel" in shown["kiwoom_status"]


def test_reload_leaves_one_set_of_hooks(ip, fake):
    ip.extension_manager.reload_extension("kiwoom_nb")
    ip.extension_manager.reload_extension("kiwoom_nb")
    ours = [cb for cb in ip.events.callbacks["pre_run_cell"] if getattr(cb, "__self__", None).__class__ is KiwoomMagics]
    assert len(ours) == 1


def test_unload_revokes_and_removes_the_variable(ip, fake):
    run(ip, "kiwoom_login")
    token = fake.live_tokens()[0]
    ip.extension_manager.unload_extension("kiwoom_nb")
    assert [r.body["token"] for r in fake.revokes] == [token]
    assert "kiwoom_token" not in ip.user_ns
    assert not any(getattr(cb, "__self__", None).__class__ is KiwoomMagics for cb in ip.events.callbacks["pre_run_cell"])
    ip.extension_manager.load_extension("kiwoom_nb")  # for the fixture's unload


def test_plain_http_to_a_remote_host_is_refused(ip, fake):
    ip.run_line_magic("config", "KiwoomMagics.base_url = 'http://example.com'")
    with pytest.raises(KiwoomError, match="refusing plain http"):
        ip.run_line_magic("kiwoom_login", "")
    assert fake.issues == []


def test_login_function_warns_once_about_literal_keys(ip, fake):
    err = io.StringIO()
    with redirect_stderr(err), redirect_stdout(io.StringIO()):
        ip.run_cell(f"import kiwoom_nb; t = kiwoom_nb.login('{APPKEY}', '{SECRETKEY}')", store_history=True)
        ip.run_cell(f"t = kiwoom_nb.login('{APPKEY}', '{SECRETKEY}', force=True)", store_history=True)
    assert err.getvalue().count("saved in the notebook and in IPython history") == 1
    assert APPKEY not in err.getvalue() and SECRETKEY not in err.getvalue()
    assert ip.user_ns["t"] == ip.user_ns["kiwoom_token"] and len(fake.issues) == 2


def test_login_function_reads_the_environment_silently(ip, fake):
    err = io.StringIO()
    with redirect_stderr(err), redirect_stdout(io.StringIO()) as out:
        ip.run_cell("import kiwoom_nb; t = kiwoom_nb.login()", store_history=True)
    assert "environment" in out.getvalue() and err.getvalue() == ""
    assert ip.user_ns["t"].value == fake.live_tokens()[0]


def test_login_error_renders_as_one_line(ip, fake):
    fake.fail_next("wrong_keys")
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        ip.run_cell("import kiwoom_nb; kiwoom_nb.login('a-wrong-key', 'b-wrong-key')")
    shown = captured.stdout + captured.stderr
    assert "CredentialsError: Login (au10001) failed" in shown
    assert "Traceback" not in shown and "a-wrong-key" not in shown


def test_colab_secrets_come_after_the_environment(ip, fake, monkeypatch):
    """Colab cannot run here: a stand-in for google.colab.userdata with Colab's get() contract."""
    import types

    class SecretNotFoundError(Exception):
        pass

    secrets = {"KIWOOM_APPKEY": APPKEY, "KIWOOM_SECRETKEY": SECRETKEY}

    def get(name: str) -> str:
        if name not in secrets:
            raise SecretNotFoundError(name)
        return secrets[name]

    google, colab, userdata = (types.ModuleType(n) for n in ("google", "google.colab", "google.colab.userdata"))
    userdata.get = get
    colab.userdata = userdata
    google.colab = colab
    for name, module in (("google", google), ("google.colab", colab), ("google.colab.userdata", userdata)):
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.delenv("KIWOOM_APPKEY")
    monkeypatch.delenv("KIWOOM_SECRETKEY")

    line = run(ip, "kiwoom_login")
    assert "keys from Colab secrets KIWOOM_APPKEY/KIWOOM_SECRETKEY" in line
    assert fake.issues[0].body["appkey"] == APPKEY

    monkeypatch.setenv("KIWOOM_APPKEY", APPKEY)
    monkeypatch.setenv("KIWOOM_SECRETKEY", SECRETKEY)
    assert "keys from environment" in run(ip, "kiwoom_login --force")


def test_login_function_remembers_and_forget_keys_forgets(ip, fake, monkeypatch, tmp_path):
    import json

    import keyring

    import kiwoom_nb
    from keyring_backends import FileKeyring

    monkeypatch.setenv("KIWOOM_TEST_KEYRING", str(tmp_path / "keyring.json"))
    store = FileKeyring()
    keyring.set_keyring(store)
    with redirect_stdout(io.StringIO()) as out:
        kiwoom_nb.login(remember=True)
    assert "keys saved in the OS keyring (kiwoom_nb, production)" in out.getvalue()
    assert json.loads(store.get_password("kiwoom_nb", "production")) == {"appkey": APPKEY, "secretkey": SECRETKEY}

    monkeypatch.delenv("KIWOOM_APPKEY")
    monkeypatch.delenv("KIWOOM_SECRETKEY")
    line = run(ip, "kiwoom_login --force --remember")
    assert "keys from OS keyring (kiwoom_nb, production)" in line
    assert "already saved in the OS keyring (kiwoom_nb, production)" in line
    assert kiwoom_nb.forget_keys() == ["production"]
    assert store.get_password("kiwoom_nb", "production") is None


def test_remember_without_a_secure_keyring_refuses_before_logging_in(ip, fake):
    import kiwoom_nb

    for call in (lambda: kiwoom_nb.login(remember=True), lambda: ip.run_line_magic("kiwoom_login", "--remember")):
        with pytest.raises(kiwoom_nb.KeyringUnavailableError) as info:
            call()
        assert "no secure OS keyring is available here (keyring offers keyring.backends.fail.Keyring)" in str(info.value)
        assert APPKEY not in str(info.value) and SECRETKEY not in str(info.value)
    assert fake.issues == [] and "kiwoom_token" not in ip.user_ns


def test_force_whose_old_token_fails_to_revoke_warns_once_and_puts_the_new_token_in_the_variable(ip, fake):
    run(ip, "kiwoom_login")
    old = ip.user_ns["kiwoom_token"]
    fake.fail_next("server_error", path="/oauth2/revoke")
    err = io.StringIO()
    with redirect_stderr(err):
        line = run(ip, "kiwoom_login --force")
    new = ip.user_ns["kiwoom_token"]
    assert "logged in as kiwoom_token" in line
    assert new != old and new == fake.tokens[-1].value and magics(ip).session.find("kiwoom_token").token == new
    warnings = [text for text in err.getvalue().splitlines() if text.startswith("kiwoom_nb:")]
    assert len(warnings) == 1 and "could not revoke the replaced token" in warnings[0]
    assert old not in err.getvalue() and new not in err.getvalue()
    assert fake.is_live(old)  # kept for the exit revoke
    ip.extension_manager.unload_extension("kiwoom_nb")  # the exit path of this shell: both go
    ip.extension_manager.load_extension("kiwoom_nb")
    assert not fake.is_live(old) and not fake.is_live(new)


def test_config_mock_hosts_names_a_mock_server_for_the_order_guard(ip, fake, monkeypatch):
    from kiwoom_nb import Client, OrderNotConfirmed

    monkeypatch.delenv("KIWOOM_MOCK_HOSTS", raising=False)
    proxy = "https://kiwoom-proxy.example.com/mock"
    order = {"dmst_stex_tp": "KRX", "stk_cd": "005930", "ord_qty": "1", "trde_tp": "3"}
    with Client(*CANARY["mock"], mock=True, base_url=proxy, transport=fake.transport, pace=None) as api:
        with pytest.raises(OrderNotConfirmed):
            api.call("kt10000", **order)
        assert fake.orders == []
        ip.run_line_magic("config", "KiwoomMagics.mock_hosts = 'kiwoom-proxy.example.com'")
        api.call("kt10000", **order)
        assert len(fake.orders) == 1
        ip.extension_manager.unload_extension("kiwoom_nb")  # the setting leaves with the extension
        with pytest.raises(OrderNotConfirmed):
            api.call("kt10000", **order)
    assert len(fake.orders) == 1


@pytest.mark.parametrize("trait, url", [("base_url", "http://[::1]:abc"), ("mock_base_url", "https://[::ffff:api]"),
                                        ("ws_url", "wss://api.kiwoom.com:99999")])
def test_config_refuses_a_url_no_request_could_go_to_in_one_line(ip, fake, caplog, trait, url):
    """Issue 28's review, item 4: it used to be taken, and the next login failed with a raw ValueError. %config
    shows a refused value as one logged line (its way with every trait it cannot set)."""
    before = getattr(magics(ip), trait)
    ip.run_line_magic("config", f"KiwoomMagics.{trait} = {url!r}")
    [line] = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert f"KiwoomMagics.{trait}={url!r}" in line and "\n" not in line
    assert getattr(magics(ip), trait) == before  # the setting it had is kept
    ip.run_line_magic("config", f"KiwoomMagics.{trait} = ''")  # unsetting is always fine
    assert fake.requests == []


def test_the_login_magic_names_a_malformed_kiwoom_base_url(ip, fake, monkeypatch):
    monkeypatch.setenv("KIWOOM_BASE_URL", "https://[::ffff:api]")
    ip.extension_manager.reload_extension("kiwoom_nb")  # the trait's default is read from the environment
    with pytest.raises(KiwoomError) as caught:
        ip.run_line_magic("kiwoom_login", "")
    assert "KIWOOM_BASE_URL='https://[::ffff:api]'" in str(caught.value) and "\n" not in str(caught.value)
    assert fake.requests == [] and "kiwoom_token" not in ip.user_ns


@pytest.mark.parametrize("setting", ["refresh_margin = float('inf')", "refresh_margin = 10**9", "pace = float('nan')",
                                     "timeout = float('inf')", "exit_timeout = 1e12", "board_rate = float('inf')"])
def test_config_refuses_numbers_past_any_sense_and_the_token_is_kept(ip, fake, caplog, setting):
    """Issue 28's review, item 3: refresh_margin = inf was taken, and every later cell failed with a raw
    OverflowError in the before-cell refresh."""
    run(ip, "kiwoom_login")
    token = ip.user_ns["kiwoom_token"]
    name = setting.split(" ")[0]
    before = getattr(magics(ip), name)
    ip.run_line_magic("config", f"KiwoomMagics.{setting}")
    [line] = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert f"KiwoomMagics.{name}=" in line and "at most" in line and "\n" not in line
    assert getattr(magics(ip), name) == before
    result = ip.run_cell("x = 1")  # the before-cell refresh runs with the margin it had
    assert result.success and ip.user_ns["kiwoom_token"] == token and len(fake.issues) == 1
