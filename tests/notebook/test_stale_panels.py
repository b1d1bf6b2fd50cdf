"""Every panel on screen tells the truth about the session: after a logout by magic, a re-login into the
same variable, a refresh, an unload, and a kernel restart (real kernel, over the widget protocol)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from kiwoom_nb.auth._lines import KERNEL_RESTARTED, KERNEL_SHUT_DOWN, UNLOADED
from support import CANARY, wait_for
from test_leaks import drain, model, send_to_widget, widget_models
from test_magics import ip, magics, run  # noqa: F401 - the in-process shell fixture

APPKEY, SECRETKEY = CANARY["production"]


def panels(shell, var: str = "kiwoom_token") -> list:
    return magics(shell)._panels[var]


def show_panel(shell) -> object:
    run(shell, "kiwoom_login --panel")
    return panels(shell)[-1]


def log_in(panel, appkey: str = APPKEY, secretkey: str = SECRETKEY) -> None:
    panel._appkey.set_state({"value": appkey})
    panel._secretkey.set_state({"value": secretkey})
    panel._login_button.click()


def logged_in_form(panel) -> bool:
    return panel._logout_button in panel.children and panel._login_button not in panel.children


def expiry_of(line: str) -> str:
    return re.search(r"expires (\S+ \S+) KST", line).group(1)


def test_a_panel_login_shows_on_every_panel_for_that_variable(ip, fake):  # noqa: F811
    first, second = show_panel(ip), show_panel(ip)
    log_in(second)
    assert "logged in as kiwoom_token" in second.status
    assert first.status == second.status and logged_in_form(first)


def test_logout_by_magic_puts_earlier_panels_back_to_the_form(ip, fake):  # noqa: F811
    panel = show_panel(ip)
    log_in(panel)
    run(ip, "kiwoom_logout")
    assert not logged_in_form(panel) and panel._login_button in panel.children
    assert panel.status.startswith("Kiwoom 실전투자 (production): logged out kiwoom_token")

    # a click on the old Log out button that was already on its way: one line, no raw exception text
    panel._on_logout_click()
    assert panel.status == "kiwoom_token is not logged in (already logged out?); %kiwoom_login logs in again"
    assert "'kiwoom_token'" not in panel.status and "KeyError" not in panel.status
    # and the panel still logs in
    log_in(panel)
    assert "logged in as kiwoom_token" in panel.status


def test_a_re_login_into_the_same_variable_shows_the_new_expiry(ip, fake):  # noqa: F811
    fake.lifetime = timedelta(hours=1)
    panel = show_panel(ip)
    log_in(panel)
    before = panel.status
    fake.lifetime = timedelta(hours=5)
    line = run(ip, "kiwoom_login --force").strip()  # keys from the environment this time
    # the magic's line ends with the base-URL notice; the panel's line goes without it (a 760 px window)
    assert line == panel.status + f" (using KIWOOM_BASE_URL={fake.url})" and expiry_of(line) != expiry_of(before)
    assert logged_in_form(panel)


def test_a_refresh_before_a_cell_shows_the_new_expiry(ip, fake):  # noqa: F811
    fake.lifetime = timedelta(minutes=5)  # inside the 10-minute refresh margin: due at the next cell
    panel = show_panel(ip)
    log_in(panel)
    before = panel.status
    fake.lifetime = timedelta(hours=24)
    magics(ip).on_pre_run_cell()
    assert len(fake.issues) == 2
    assert "23h" in panel.status and expiry_of(panel.status) != expiry_of(before)


def test_unloading_the_extension_leaves_panels_inert_and_saying_so(ip, fake):  # noqa: F811
    panel = show_panel(ip)
    log_in(panel)
    ip.extension_manager.unload_extension("kiwoom_nb")
    try:
        assert panel.status == UNLOADED
        assert panel._logout_button.disabled and panel._login_button.disabled
        panel._on_logout_click()
        assert panel.status == UNLOADED and len(fake.revokes) == 1  # the unload revoked; the click did nothing
    finally:
        ip.extension_manager.load_extension("kiwoom_nb")  # for the fixture's unload


# -- a real kernel: restart and shutdown reach the panel before the kernel goes ----------------------------


def panel_state_update(text: str):
    def matches(msg) -> bool:
        return msg["msg_type"] == "comm_msg" and text in json.dumps(msg["content"]["data"], ensure_ascii=False)
    return matches


@pytest.mark.kernel
@pytest.mark.parametrize("restart", [True, False], ids=["restart", "shutdown"])
def test_a_kernel_restart_or_shutdown_disables_the_panel_with_a_line(start_kernel, kernel_env, fake, restart):
    env = {k: v for k, v in kernel_env.items() if k not in ("KIWOOM_APPKEY", "KIWOOM_SECRETKEY")}
    kernel = start_kernel(env=env)
    kernel.ok("%load_ext kiwoom_nb\n%kiwoom_login", allow_stdin=True)
    models = widget_models(kernel)
    send_to_widget(kernel, model(models, "TextModel", "App key"), {"method": "update", "state": {"value": APPKEY}})
    send_to_widget(kernel, model(models, "PasswordModel", "Secret key"), {"method": "update", "state": {"value": SECRETKEY}})
    send_to_widget(kernel, model(models, "ButtonModel", "Log in"), {"method": "custom", "content": {"event": "click"}})
    drain(kernel, panel_state_update("logged in as kiwoom_token"))

    kernel.kc.shutdown(restart=restart)
    line = KERNEL_RESTARTED if restart else KERNEL_SHUT_DOWN
    drain(kernel, panel_state_update(line))
    logout_button = model(widget_models(kernel), "ButtonModel", "Log out")
    disabled = [m for m in kernel.iopub if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == logout_button
                and m["content"]["data"].get("state", {}).get("disabled") is True]
    assert disabled, "the Log out button was not disabled before the kernel went"
    wait_for(lambda: fake.revokes, 10, "the revoke at shutdown")


# -- issue 19 (3): what the restarted kernel needs to log in ---------------------------------------------------


@pytest.mark.kernel
@pytest.mark.parametrize("loaded_by", ["a cell", "ipython_kernel_config.py", "--IPKernelApp.extensions"])
def test_after_a_restart_the_panel_says_load_ext_unless_the_configuration_loads_kiwoom_nb(
        start_kernel, kernel_env, fake, loaded_by):
    """A restarted kernel has no %kiwoom_login ("Line magic function not found") until %load_ext kiwoom_nb,
    unless its configuration loads the extension: the panel's line says which, on both ways it can arrive."""
    env = {k: v for k, v in kernel_env.items() if k not in ("KIWOOM_APPKEY", "KIWOOM_SECRETKEY")}
    arguments = []
    if loaded_by == "ipython_kernel_config.py":
        profile = Path(env["IPYTHONDIR"]) / "profile_default"
        profile.mkdir(parents=True, exist_ok=True)
        (profile / "ipython_kernel_config.py").write_text('c.InteractiveShellApp.extensions = ["kiwoom_nb"]\n')
    elif loaded_by == "--IPKernelApp.extensions":
        arguments = ["--IPKernelApp.extensions=kiwoom_nb"]
    kernel = start_kernel(env=env, extra_arguments=arguments)
    shown = kernel.ok(("%load_ext kiwoom_nb\n" if loaded_by == "a cell" else "") + "%kiwoom_login", allow_stdin=True)
    how = "%load_ext kiwoom_nb then %kiwoom_login" if loaded_by == "a cell" else "%kiwoom_login"
    line = f"the kernel restarted: run {how} to log in again"

    # what the browser shows from CSS alone when it drops the widgets first (JupyterLab's Kernel > Restart)
    titles = [m["content"]["data"]["state"]["value"] for m in kernel.iopub if m["msg_type"] == "comm_open"
              and "kiwoom-gone" in str(m["content"]["data"]["state"].get("value", ""))]
    assert len(titles) == 1 and line in titles[0], titles
    assert (loaded_by == "a cell") == ("%load_ext" in titles[0])
    # what a frontend without widgets shows
    assert f"run {how} (or %kiwoom_login --prompt)" in shown.data("text/plain")[0]
    # what the kernel itself says before it goes
    kernel.kc.shutdown(restart=True)
    update = drain(kernel, panel_state_update("the kernel restarted"))
    assert line in json.dumps(update["content"]["data"], ensure_ascii=False)


@pytest.mark.parametrize("config, expected", [
    ({}, False),
    ({"InteractiveShellApp": {"extensions": ["kiwoom_nb"]}}, True),
    ({"IPKernelApp": {"extensions": ["other", "kiwoom_nb"]}}, True),
    ({"TerminalIPythonApp": {"extra_extensions": ["kiwoom_nb"]}}, True),
    ({"InteractiveShellApp": {"exec_lines": ["%load_ext kiwoom_nb"]}}, True),
    ({"InteractiveShellApp": {"extensions": ["kiwoom_nb_extra"]}}, False),
], ids=["nothing", "InteractiveShellApp", "IPKernelApp", "--ext", "exec_lines", "another extension"])
def test_the_configuration_check_reads_a_shells_config_without_an_application(monkeypatch, config, expected):
    from traitlets.config import Application, Config

    from kiwoom_nb.notebook._startup import loaded_by_config

    monkeypatch.setattr(Application, "_instance", None)  # an embedded shell: no IPython application running
    assert loaded_by_config(SimpleNamespace(config=Config(config))) is expected


def test_the_configuration_check_reads_appended_extensions(monkeypatch):
    from traitlets.config import Application, Config

    from kiwoom_nb.notebook._startup import loaded_by_config

    monkeypatch.setattr(Application, "_instance", None)
    config = Config()
    config.InteractiveShellApp.extensions.append("kiwoom_nb")  # c.InteractiveShellApp.extensions.append(...)
    assert loaded_by_config(SimpleNamespace(config=config)) is True
