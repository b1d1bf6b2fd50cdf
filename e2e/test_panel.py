"""The login panel in a real browser: JupyterLab 4 (every scenario) and Notebook 7 (the core one)."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from kiwoom_nb._lines import KERNEL_RESTARTED, KERNEL_SHUT_DOWN
from kiwoom_nb._panel import RECEIVED, REMEMBER

from conftest import REPO, Notebook, Panel, keep_evidence, wait_until, write_notebook

KA10001 = """\
import os

import httpx

base_url = os.environ.get("KIWOOM_BASE_URL", "https://api.kiwoom.com")
response = httpx.post(
    f"{base_url}/api/dostk/stkinfo",
    headers={
        "authorization": f"Bearer {kiwoom_token}",
        "api-id": "ka10001",
        "Content-Type": "application/json;charset=UTF-8",
    },
    json={"stk_cd": "005930"},
)
info = response.json()
print(info["return_msg"], "|", info.get("stk_nm"), info.get("cur_prc"))"""

CELLS = [
    "%load_ext kiwoom_nb",
    "%kiwoom_login",
    "print('token works:', len(kiwoom_token) > 20)",
    KA10001,
]
LOAD, LOGIN, CHECK, STOCK = range(4)

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


@pytest.fixture
def open_notebook(page, fake, request):
    """open_notebook(server) -> Notebook: a fresh copy of the test notebook, opened, kernel idle."""
    servers = []

    def open_(server, cells=CELLS) -> Notebook:
        name = re.sub(r"[^\w.-]", "_", request.node.name) + ".ipynb"
        write_notebook(server.root, name, cells)
        servers.append(server)
        return Notebook(page, server, name).open()

    yield open_
    keep_evidence(page, request)
    page.close()  # before the kernels go, so the page does not react to their loss
    for server in servers:
        server.shutdown_kernels()


def show_panel(notebook: Notebook) -> Panel:
    notebook.run(LOAD)
    notebook.run(LOGIN)
    panel = Panel(notebook.cell(LOGIN))
    expect(panel.root).to_be_visible()
    expect(panel.login_button).to_be_enabled()
    return panel


def log_in(panel: Panel, fake, environment: str = "production") -> str:
    """Log in through the panel with the fake's keys; returns the token the fake issued."""
    before = len(fake.tokens)
    panel.log_in(*fake.keys[environment])
    expect(panel.ok).to_contain_text("logged in as kiwoom_token")
    issued = wait_until(lambda: fake.tokens[before:], 10, "the fake to issue a token")
    assert len(issued) == 1, issued
    assert issued[0].environment == environment
    return issued[0].value


def assert_revoked(fake, token: str, what: str) -> None:
    wait_until(lambda: any(isinstance(r.body, dict) and r.body.get("token") == token for r in fake.revokes),
               20, f"the fake to receive the revoke after {what}")
    assert not fake.is_live(token)


def secrets_of(fake) -> list[str]:
    return [value for pair in fake.keys.values() for value in pair] + [t.value for t in fake.tokens]


# -- JupyterLab 4 ------------------------------------------------------------------------------------


def test_lab_login_use_token_and_save(lab_server, open_notebook, fake):
    notebook = open_notebook(lab_server)
    panel = show_panel(notebook)
    expect(panel.appkey).to_have_value("")
    expect(panel.secretkey).to_have_value("")
    expect(panel.environment("실전투자 (production)")).to_have_class(re.compile(r"\bmod-active\b"))
    notebook.select(CHECK)  # the screenshot shows the login cell unselected
    panel.screenshot("panel-empty.png")

    token = log_in(panel, fake)
    expect(panel.ok).to_contain_text("실전투자 (production)")
    expect(panel.logout_button).to_be_visible()
    expect(panel.appkey).to_have_count(0)  # the form is gone
    notebook.select(CHECK)  # the screenshot shows the login cell unselected
    panel.screenshot("panel-success.png")

    notebook.run(CHECK)
    expect(notebook.cell(CHECK).locator(".jp-OutputArea")).to_have_text("token works: True")
    notebook.run(STOCK)
    expect(notebook.cell(STOCK).locator(".jp-OutputArea")).to_contain_text(
        re.compile(r"정상적으로 처리되었습니다 \| 삼성전자 [+-]?\d{4,}"))  # the market's price at the fake's clock
    stock = fake.received("/api/dostk/stkinfo")[-1]
    assert stock.headers["authorization"] == f"Bearer {token}"

    # "Save Widget State Automatically" is on: the saved file carries widget state, and no secret
    notebook.save()
    text = (lab_server.root / notebook.name).read_text()
    saved = json.loads(text)
    state = saved["metadata"]["widgets"][WIDGET_STATE]["state"]
    panels = [m for m in state.values() if "kiwoom-login-panel" in m["state"].get("_dom_classes", [])]
    assert panels, "the login panel's widget state was not saved"
    assert any("logged in as kiwoom_token" in str(m["state"].get("value", "")) for m in state.values())  # a checkbox's is a bool
    for secret in secrets_of(fake):
        assert secret not in text, "a key or a token was saved in the notebook"


def test_lab_wrong_secret_then_the_corrected_secret_alone_logs_in(lab_server, open_notebook, fake):
    notebook = open_notebook(lab_server)
    panel = show_panel(notebook)
    appkey, _secret = fake.keys["production"]
    panel.log_in(appkey, "WRONG-SECRET")
    expect(panel.error).to_contain_text("8001")
    message = panel.error.inner_text()
    assert "\n" not in message.strip() and "Traceback" not in message
    assert "WRONG-SECRET" not in message and appkey not in message
    # both fields are blanked; the app key stays received in the kernel, shown by its last 4 characters (which key
    # is held can be checked), and the secret is asked for again
    expect(panel.appkey).to_have_value("")
    expect(panel.appkey).to_have_attribute("placeholder", f"입력됨 …{appkey[-4:]}")
    expect(panel.secretkey).to_have_value("")
    expect(panel.secretkey).not_to_have_attribute("placeholder", RECEIVED)
    expect(notebook.cell(LOGIN).locator("[data-mime-type='application/vnd.jupyter.stderr']")).to_have_count(0)
    notebook.select(CHECK)  # the screenshot shows the login cell unselected
    panel.screenshot("panel-error.png")

    # only the corrected secret is typed: the received app key is used with it
    before = len(fake.issues)
    panel.secretkey.fill(fake.keys["production"][1])
    panel.login_button.click()
    expect(panel.ok).to_contain_text("logged in as kiwoom_token")
    retry = fake.issues[before:]
    assert [r.body["appkey"] for r in retry] == [appkey], "the retry did not send the received app key"
    token = fake.tokens[-1].value
    notebook.run(CHECK)
    expect(notebook.cell(CHECK).locator(".jp-OutputArea")).to_have_text("token works: True")
    assert fake.is_live(token)


def test_lab_enter_in_the_secret_field_logs_in(lab_server, open_notebook, fake):
    notebook = open_notebook(lab_server)
    panel = show_panel(notebook)
    appkey, secretkey = fake.keys["production"]
    before = len(fake.issues)  # the fake serves the whole module
    panel.appkey.fill(appkey)
    panel.secretkey.fill(secretkey)
    panel.secretkey.press("Enter")
    expect(panel.ok).to_contain_text("logged in as kiwoom_token")
    assert len(fake.issues) - before == 1


def test_lab_mock_environment(lab_server, open_notebook, fake):
    notebook = open_notebook(lab_server)
    panel = show_panel(notebook)
    mock = panel.environment("모의투자 (mock)")
    mock.click()
    expect(mock).to_have_class(re.compile(r"\bmod-active\b"))
    before = len(fake.issues)
    token = log_in(panel, fake, "mock")
    expect(panel.ok).to_contain_text("모의투자 (mock)")
    issues = fake.issues[before:]
    assert [r.environment for r in issues] == ["mock"]
    assert issues[0].body["appkey"] == fake.keys["mock"][0]
    notebook.run(CHECK)
    expect(notebook.cell(CHECK).locator(".jp-OutputArea")).to_have_text("token works: True")
    assert fake.is_live(token)


def test_lab_shutdown_from_menu_revokes(lab_server, open_notebook, fake):
    notebook = open_notebook(lab_server)
    token = log_in(show_panel(notebook), fake)
    notebook.menu("Kernel", "Shut Down Kernel")
    assert_revoked(fake, token, "Kernel > Shut Down Kernel")
    wait_until(lambda: not lab_server.api("GET", "/api/kernels"), 20, "the kernel to be gone")
    panel = Panel(notebook.cell(LOGIN))
    expect(panel.root.get_by_text(KERNEL_SHUT_DOWN)).to_be_visible()
    assert "logged in as" not in panel.visible_text() and "restarted" not in panel.visible_text(), panel.visible_text()
    assert panel.usable_controls() == 0


def test_lab_restart_from_menu_revokes(lab_server, open_notebook, fake):
    notebook = open_notebook(lab_server)
    token = log_in(show_panel(notebook), fake)
    kernel_id = notebook.wait_kernel_idle()["id"]
    notebook.menu("Kernel", "Restart Kernel…")
    accept = notebook.page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept")
    expect(accept).to_have_text("Restart")
    accept.click()
    assert_revoked(fake, token, "Kernel > Restart Kernel")
    # the old panel says so instead of its old login, and nothing in it can be clicked or typed into any more
    old_panel = Panel(notebook.cell(LOGIN))
    expect(old_panel.root.get_by_text(KERNEL_RESTARTED)).to_be_visible()
    assert "logged in as" not in old_panel.visible_text(), old_panel.visible_text()
    assert old_panel.usable_controls() == 0
    notebook.wait_ui_idle()  # it showed "restarting" since the click; idle again means the new process is up
    assert notebook.wait_kernel_idle()["id"] == kernel_id  # same kernel, restarted
    # the restarted kernel has no token, and logging in again works
    notebook.run(CHECK)
    expect(notebook.cell(CHECK).locator(".jp-OutputArea")).to_contain_text("NameError")
    token = log_in(show_panel(notebook), fake)
    assert fake.is_live(token)


def disconnected_markers(panel: Panel) -> int:
    """How many broken-link icons (ipywidgets' "disconnected" marker: a ::before with Font Awesome's chain-broken
    glyph, U+F127, on each view it marks) the panel shows."""
    return panel.root.evaluate("""root => [root, ...root.querySelectorAll("*")].filter(el => {
            if (el.getClientRects().length === 0) return false;
            const before = getComputedStyle(el, "::before");
            return before.content.includes("\\uf127") && before.display !== "none" && before.visibility !== "hidden";
        }).length""")


@pytest.mark.parametrize("route", ["menu", "server"])
def test_lab_restarted_panel_says_load_ext_and_shows_one_disconnected_marker(lab_server, open_notebook, fake, route):
    """Issue 19 (3). "menu": Kernel > Restart Kernel… (the browser drops the widgets' comms first, so the panel's
    own CSS shows the line); "server": a restart the browser did not ask for (another tab, the REST API), which
    the kernel tells the panel about over the widget protocol before it goes."""
    notebook = open_notebook(lab_server)
    panel = show_panel(notebook)
    if route == "menu":
        token = log_in(panel, fake)
    else:  # the form after a failed login: every field and control of the form is on screen
        panel.log_in(fake.keys["production"][0], "WRONG-SECRET")
        expect(panel.error).to_contain_text("8001")
    kernel_id = notebook.wait_kernel_idle()["id"]
    if route == "menu":
        notebook.menu("Kernel", "Restart Kernel…")
        accept = notebook.page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept")
        expect(accept).to_have_text("Restart")
        accept.click()
        assert_revoked(fake, token, "Kernel > Restart Kernel")
    else:
        lab_server.api("POST", f"/api/kernels/{kernel_id}/restart")
    # what is on screen (use_inner_text: the panel also holds the line hidden, for the other route)
    expect(panel.root).to_contain_text("run %load_ext kiwoom_nb then %kiwoom_login", use_inner_text=True)
    expect(panel.root).to_contain_text(KERNEL_RESTARTED, use_inner_text=True)
    assert panel.visible_text().count("커널이 재시작되었습니다") == 1, panel.visible_text()
    assert panel.usable_controls() == 0
    try:  # the marker comes when the page notices the restart: wait for it, then for the others to stay hidden
        wait_until(lambda: disconnected_markers(panel) == 1, 20, "one disconnected marker on the panel")
    except AssertionError:
        raise AssertionError(f"the panel shows {disconnected_markers(panel)} disconnected markers, not 1") from None
    notebook.wait_ui_idle()
    notebook.select(CHECK)
    panel.screenshot(f"panel-restarted-{route}.png", docs=False)


STALE_CELLS = [
    "%load_ext kiwoom_nb",
    "%kiwoom_login",
    "%kiwoom_logout",
    "%kiwoom_login --force",
]
FIRST, LOGOUT, SECOND = 1, 2, 3
RAW_ERRORS = ("'kiwoom_token'", "KeyError", "Traceback", "Exception")


def test_lab_earlier_panel_follows_logout_relogin_and_its_own_logout(lab_server, open_notebook, fake):
    notebook = open_notebook(lab_server, STALE_CELLS)
    first = show_panel(notebook)
    token = log_in(first, fake)

    # %kiwoom_logout in another cell: the earlier panel goes back to the form and says it was logged out
    notebook.run(LOGOUT)
    logged_out = "logged out kiwoom_token; token revoked"
    expect(notebook.cell(LOGOUT).locator(".jp-OutputArea")).to_contain_text(logged_out)
    assert_revoked(fake, token, "%kiwoom_logout")
    expect(first.status).to_contain_text(logged_out)
    first.expect_form()

    # it logs in again from there ...
    token = log_in(first, fake)
    first.expect_logged_in()
    old_line = first.ok.text_content()

    # ... and a re-login into the same variable from a second panel shows the new expiry on the first
    lifetime = fake.lifetime
    fake.lifetime = timedelta(hours=12)  # so the new expiry differs from the old one
    try:
        notebook.run(SECOND)
        second = Panel(notebook.cell(SECOND))
        expect(second.login_button).to_be_enabled()
        new_token = log_in(second, fake)
    finally:
        fake.lifetime = lifetime
    assert new_token != token
    assert_revoked(fake, token, "%kiwoom_login --force")
    new_line = second.ok.text_content()
    assert "11h" in new_line and new_line != old_line, new_line
    expect(first.ok).to_have_text(new_line)
    first.expect_logged_in()

    # the earlier panel's Log out button logs out the new token, and both panels say so
    first.logout_button.click()
    assert_revoked(fake, new_token, "the earlier panel's Log out button")
    for panel in (first, second):
        expect(panel.status).to_contain_text(logged_out)
        panel.expect_form()
        shown = panel.status.inner_text()
        assert not any(raw in shown for raw in RAW_ERRORS), shown
    assert not fake.live_tokens()


def test_lab_typed_but_unsubmitted_keys_are_not_saved(lab_server, open_notebook, fake):
    notebook = open_notebook(lab_server)
    panel = show_panel(notebook)
    panel.appkey.fill("UNSENT-APPKEY-3e1f")
    panel.secretkey.fill("UNSENT-SECRET-8c2d")
    panel.secretkey.press("Tab")  # focus moves on: both values are sent to the kernel
    # the kernel keeps them and blanks both fields at once; the user sees the app key's last 4 characters and
    # that the secret was received
    expect(panel.appkey).to_have_attribute("placeholder", "입력됨 …3e1f")
    expect(panel.secretkey).to_have_attribute("placeholder", RECEIVED)
    for field in (panel.appkey, panel.secretkey):
        expect(field).to_have_value("")
    notebook.save()
    text = (lab_server.root / notebook.name).read_text()
    assert WIDGET_STATE in json.loads(text)["metadata"]["widgets"]
    assert "UNSENT-APPKEY-3e1f" not in text and "UNSENT-SECRET-8c2d" not in text
    assert "UNSENT-APPKEY" not in text and "8c2d" not in text  # of the app key its last 4 only, of the secret nothing

    panel.login_button.click()  # the received keys are used: they are wrong, so the panel says so
    expect(panel.error).to_contain_text("8001")


def fits(locator) -> dict:
    """How a text or an input's placeholder fits its box: widths in CSS pixels, and the lines it takes."""
    return locator.evaluate("""el => {
        const style = getComputedStyle(el);
        const context = document.createElement("canvas").getContext("2d");
        context.font = style.font;
        const padding = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
        return {
            text: el.tagName === "INPUT" ? context.measureText(el.placeholder).width : null,
            room: el.clientWidth - padding,
            scroll: el.scrollWidth, client: el.clientWidth,
            lines: new Set([...el.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top))).size,
        };
    }""")


def test_lab_panel_and_status_fit_a_760px_window_without_the_sidebar(lab_server, open_notebook, page, fake):
    appkey, secretkey = fake.keys["production"]
    cells = ["%load_ext kiwoom_nb", f"import os\nos.environ['KIWOOM_APPKEY'] = {appkey!r}  # the fake's demo key",
             "%kiwoom_login", "%kiwoom_status"]
    notebook = open_notebook(lab_server, cells)
    # after opening: at 760 px the toolbar hides the kernel indicator that open() waits for
    page.set_viewport_size({"width": 760, "height": 900})
    page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").click()  # the file browser closed
    page.mouse.move(0, 0)
    for index in (0, 1, 2):
        notebook.run(index)
    panel = Panel(notebook.cell(2))
    expect(panel.appkey).to_have_attribute("placeholder", re.compile("KIWOOM_APPKEY"))
    placeholder = fits(panel.appkey)
    assert placeholder["text"] <= placeholder["room"], f"the environment placeholder is cut off: {placeholder}"
    notebook.select(3)
    panel.screenshot("panel-environment.png", docs=False)

    before = len(fake.issues)
    panel.secretkey.fill(secretkey)  # the app key comes from the environment
    panel.login_button.click()
    expect(panel.ok).to_contain_text("keys from login panel")
    assert [r.body["appkey"] for r in fake.issues[before:]] == [appkey]
    line = fits(panel.ok)
    assert line["lines"] == 2, f"the success line wraps: {line}"  # split once after the variable, on purpose

    notebook.run(3)
    output = notebook.cell(3).locator(".jp-OutputArea-output")
    expect(output.locator("table")).to_be_visible()
    table = fits(output)
    assert table["scroll"] <= table["client"], f"the %kiwoom_status table is clipped: {table}"
    notebook.select(0)
    notebook.cell(3).screenshot(path=str(REPO / "test-results" / "status-760px.png"))
    panel.screenshot("panel-760px.png", docs=False)


def saved_keys(server) -> dict:
    entries = json.loads(server.keyring.read_text()) if server.keyring.exists() else {}
    return {user: json.loads(value) for user, value in entries.get("kiwoom_nb", {}).items()}


def test_lab_remember_checkbox_saves_and_the_next_kernel_logs_in_without_typing(lab_server, open_notebook, fake, page):
    assert saved_keys(lab_server) == {}  # the other tests logged in with the box unticked: nothing was saved
    notebook = open_notebook(lab_server)
    panel = show_panel(notebook)
    try:
        expect(panel.root).to_contain_text(REMEMBER)
        expect(panel.remember).to_be_enabled()
        expect(panel.remember).not_to_be_checked()  # off by default
        panel.remember.check()
        log_in(panel, fake)
        expect(panel.note).to_contain_text("keys saved in the OS keyring (kiwoom_nb, production)")
        appkey, secretkey = fake.keys["production"]
        assert saved_keys(lab_server) == {"production": {"appkey": appkey, "secretkey": secretkey}}
        notebook.save()
        for secret in secrets_of(fake):
            assert secret not in (lab_server.root / notebook.name).read_text()

        # another notebook, another kernel: logged in from the keyring, no panel, nothing typed
        second = "second-" + notebook.name
        write_notebook(lab_server.root, second, CELLS)
        other = Notebook(page, lab_server, second).open()
        other.run(LOAD)
        other.run(LOGIN)
        expect(other.cell(LOGIN).locator(".jp-OutputArea")).to_contain_text(
            "keys from OS keyring (kiwoom_nb, production)")
        expect(other.cell(LOGIN).locator(".kiwoom-login-panel")).to_have_count(0)
    finally:
        lab_server.keyring.write_text("{}")  # the next tests see the panel again


# -- Notebook 7 ---------------------------------------------------------------------------------------


def test_notebook7_login_use_token_and_shutdown(notebook_server, open_notebook, fake):
    notebook = open_notebook(notebook_server)
    panel = show_panel(notebook)
    token = log_in(panel, fake)
    notebook.run(CHECK)
    expect(notebook.cell(CHECK).locator(".jp-OutputArea")).to_have_text("token works: True")
    notebook.run(STOCK)
    expect(notebook.cell(STOCK).locator(".jp-OutputArea")).to_contain_text("정상적으로 처리되었습니다 | 삼성전자")

    notebook.save()
    text = (notebook_server.root / notebook.name).read_text()
    assert WIDGET_STATE in json.loads(text)["metadata"]["widgets"]
    for secret in secrets_of(fake):
        assert secret not in text

    notebook.menu("Kernel", "Shut Down Kernel")
    assert_revoked(fake, token, "Notebook 7 Kernel > Shut Down Kernel")
