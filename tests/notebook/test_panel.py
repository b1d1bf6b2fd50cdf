"""The login panel built headless: what the user sees, what is sent, and where keys go."""

from __future__ import annotations

import ipywidgets as widgets
import pytest
from ipykernel.comm import Comm
from ipykernel.kernelbase import Kernel

from kiwoom_nb import LoginPanel
from kiwoom_nb.notebook.panel._panel import RECEIVED
from kiwoom_nb.notebook._magics import describe
from kiwoom_nb.auth._session import Session
from kiwoom_nb.testing import FakeKiwoom

from support import CANARY

APPKEY, SECRETKEY = CANARY["production"]
MOCK_APPKEY, MOCK_SECRETKEY = CANARY["mock"]


class RecordingComm(Comm):
    """A kernel comm that records what a widget would put on IOPub instead of sending it.

    A real ipykernel Comm of an unconnected Kernel, not a stand-in: ipywidgets 8.0.0-8.0.4 accept only
    an ``ipykernel.comm.Comm``, and every 8.x sends nothing through a comm without a kernel.
    """

    def __init__(self) -> None:
        super().__init__(target_name="jupyter.widget", primary=False, show_warning=False, kernel=Kernel())
        self.sent: list[dict] = []

    def send(self, data=None, metadata=None, buffers=None) -> None:
        self.sent.append(data)


def sent_blank_value(comm: RecordingComm) -> bool:
    """Whether the widget told the frontend to empty the field (alone, or batched with other traits)."""
    return any(msg.get("method") == "update" and msg["state"].get("value") == "" for msg in comm.sent)


@pytest.fixture
def fake_kiwoom():
    return FakeKiwoom(keys=dict(CANARY))


@pytest.fixture
def panel(fake_kiwoom):
    session = Session(transport=fake_kiwoom.transport)

    def login(appkey: str, secretkey: str, mock: bool) -> str:
        entry, reused = session.login(appkey, secretkey, var="kiwoom_token", mock=mock, source="login panel")
        return describe(entry, reused=reused)

    def logout() -> str:
        session.logout("kiwoom_token")
        return "logged out"

    built = LoginPanel(login=login, logout=logout)
    built.session = session
    return built


def type_keys(panel: LoginPanel, appkey: str, secretkey: str) -> None:
    """What a browser does: one state update per field (on blur, as continuous_update is off)."""
    panel._appkey.set_state({"value": appkey})
    panel._secretkey.set_state({"value": secretkey})


def test_fields_labels_and_toggle():
    panel = LoginPanel(login=lambda *a: "")
    assert "App key" in panel._appkey.description and "앱키" in panel._appkey.description
    assert "Secret key" in panel._secretkey.description and "시크릿키" in panel._secretkey.description
    assert isinstance(panel._secretkey, widgets.Password)
    assert [label for label, _ in panel._environment.options] == ["실전투자 (production)", "모의투자 (mock)"]
    assert panel._environment.value is False
    assert LoginPanel(login=lambda *a: "", mock=True)._environment.value is True
    assert "Log in" in panel._login_button.description


def test_login_success_blanks_fields_and_swaps_the_form(panel, fake_kiwoom):
    type_keys(panel, APPKEY, SECRETKEY)
    panel._login_button.click()

    assert len(fake_kiwoom.issues) == 1
    assert fake_kiwoom.issues[0].body == {"grant_type": "client_credentials", "appkey": APPKEY, "secretkey": SECRETKEY}
    assert panel._appkey.value == "" and panel._secretkey.value == ""
    assert "logged in as kiwoom_token" in panel.status and "실전투자" in panel.status
    assert "kiwoom-ok" in panel._status.value
    assert panel._appkey not in panel.children and panel._secretkey not in panel.children
    assert panel._logout_button in panel.children
    token = fake_kiwoom.live_tokens()[0]
    for child in panel.children:
        state = str(child.get_state())
        assert APPKEY not in state and SECRETKEY not in state and token not in state


def test_double_click_sends_one_request(panel, fake_kiwoom):
    type_keys(panel, APPKEY, SECRETKEY)
    panel._login_button.click()
    panel._login_button.click()
    assert len(fake_kiwoom.issues) == 1
    assert "logged in" in panel.status


def test_wrong_keys_show_one_line_and_reenable(panel, fake_kiwoom):
    type_keys(panel, APPKEY, "WRONG-SECRET-0000")
    panel._login_button.click()
    panel._login_button.click()  # the second half of a double click: no request, message kept

    assert len(fake_kiwoom.issues) == 1
    assert "8001" in panel.status and "\n" not in panel.status
    assert "kiwoom-error" in panel._status.value
    assert "WRONG-SECRET-0000" not in panel._status.value and APPKEY not in panel._status.value
    assert panel._login_button.disabled is False
    assert panel._appkey.value == "" and panel._secretkey.value == ""
    assert panel._secretkey in panel.children  # the form stays for a retry

    type_keys(panel, APPKEY, SECRETKEY)
    panel._login_button.click()
    assert len(fake_kiwoom.issues) == 2 and "logged in" in panel.status


def test_after_a_failed_login_the_corrected_secret_alone_logs_in(panel, fake_kiwoom):
    type_keys(panel, APPKEY, "WRONG-SECRET-0000")
    panel._login_button.click()
    assert "8001" in panel.status
    # the app key stays received (blank in the browser, shown by its last 4 characters); the secret is asked again
    assert panel._appkey.value == "" and panel._appkey.placeholder == f"입력됨 …{APPKEY[-4:]}"
    assert panel._secretkey.value == "" and panel._secretkey.placeholder == "Secret key"

    panel._secretkey.set_state({"value": SECRETKEY})
    panel._login_button.click()
    assert "logged in" in panel.status
    assert [r.body["appkey"] for r in fake_kiwoom.issues] == [APPKEY, APPKEY]
    assert panel._received == {}  # nothing kept once logged in


def test_a_held_app_key_shows_its_last_4_characters_and_no_more(panel, fake_kiwoom):
    """Issue 19 (9): which app key the panel holds can be checked, like a token (…0001); the rest of it never
    reaches the widget state or a comm message, and nothing of the secret key does."""
    appkey_comm = panel._appkey.comm = RecordingComm()
    secret_comm = panel._secretkey.comm = RecordingComm()
    type_keys(panel, APPKEY, "WRONG-SECRET-0000")
    panel._login_button.click()
    assert "8001" in panel.status
    assert panel._appkey.placeholder == f"입력됨 …{APPKEY[-4:]}"
    shown = str(appkey_comm.sent) + str(panel._appkey.get_state())
    assert APPKEY[-4:] in shown and APPKEY[-5:] not in shown

    panel._secretkey.set_state({"value": SECRETKEY})  # the corrected secret arrives: shown as received, nothing of it
    assert panel._secretkey.placeholder == RECEIVED
    sent = str(secret_comm.sent) + str(panel._secretkey.get_state())
    assert SECRETKEY[-4:] not in sent and "0000" not in sent
    panel._login_button.click()
    assert "logged in" in panel.status


def test_a_changed_app_key_replaces_the_kept_one(panel, fake_kiwoom):
    type_keys(panel, "WRONG-APPKEY-0000", SECRETKEY)
    panel._login_button.click()
    assert "8001" in panel.status
    type_keys(panel, APPKEY, SECRETKEY)
    panel._login_button.click()
    assert [r.body["appkey"] for r in fake_kiwoom.issues] == ["WRONG-APPKEY-0000", APPKEY]


def test_empty_keys_ask_for_both_without_a_request(panel, fake_kiwoom):
    panel._login_button.click()
    assert fake_kiwoom.issues == []
    assert "enter both" in panel.status


def test_mock_toggle_logs_in_to_mock(panel, fake_kiwoom):
    panel._environment.value = True
    type_keys(panel, MOCK_APPKEY, MOCK_SECRETKEY)
    panel._login_button.click()
    assert fake_kiwoom.issues[0].environment == "mock"
    assert "모의투자" in panel.status


def test_unexpected_exception_is_shown_not_swallowed():
    def broken(appkey: str, secretkey: str, mock: bool) -> str:
        raise RuntimeError(f"boom {appkey} {secretkey}")

    panel = LoginPanel(login=broken)
    type_keys(panel, APPKEY, SECRETKEY)
    panel._login_button.click()
    assert "unexpected RuntimeError" in panel.status
    assert APPKEY not in panel.status and SECRETKEY not in panel.status
    assert panel._login_button.disabled is False


def test_logout_button_revokes_and_shows_the_form_again(panel, fake_kiwoom):
    type_keys(panel, APPKEY, SECRETKEY)
    panel._login_button.click()
    panel._logout_button.click()
    assert len(fake_kiwoom.revokes) == 1 and fake_kiwoom.live_tokens() == []
    assert panel._secretkey in panel.children and panel.status == "logged out"


def test_key_fields_neither_stream_nor_echo():
    """ipywidgets 8 echoes frontend updates on IOPub; ours must not, a stock Password does."""
    panel = LoginPanel(login=lambda *a: "ok")
    for field in (panel._appkey, panel._secretkey):
        assert field.continuous_update is False
        comm = RecordingComm()
        field.comm = comm
        field.set_state({"value": SECRETKEY})
        assert SECRETKEY not in str(comm.sent)

    stock = widgets.Password()
    stock.comm = comm = RecordingComm()
    stock.set_state({"value": SECRETKEY})
    assert SECRETKEY in str(comm.sent)  # the leak the panel avoids


def test_click_sends_only_blank_values_to_the_frontend():
    panel = LoginPanel(login=lambda *a: "ok")
    comms = {}
    for name in ("_appkey", "_secretkey"):
        comms[name] = getattr(panel, name).comm = RecordingComm()
    type_keys(panel, APPKEY, SECRETKEY)
    panel._login_button.click()
    for comm in comms.values():
        assert sent_blank_value(comm)
        assert APPKEY not in str(comm.sent) and SECRETKEY not in str(comm.sent)


def test_preset_app_key_stays_in_the_kernel(fake_kiwoom):
    calls = []
    panel = LoginPanel(login=lambda a, s, m: calls.append((a, s, m)) or "ok", appkey=APPKEY)
    assert APPKEY not in str(panel._appkey.get_state())
    assert "KIWOOM_APPKEY" in panel._appkey.placeholder
    panel._secretkey.set_state({"value": SECRETKEY})
    panel._login_button.click()
    assert calls == [(APPKEY, SECRETKEY, False)]


def test_a_typed_app_key_stays_shown_when_the_environment_is_switched():
    """With a preset app key in the environment, a typed one is held (and used) whatever the toggle says: its field
    keeps showing it rather than the preset's placeholder."""
    calls = []
    panel = LoginPanel(login=lambda a, s, m: calls.append((a, s, m)) or "ok", appkey=MOCK_APPKEY, mock=True)
    panel._appkey.set_state({"value": APPKEY})
    panel._environment.value = False
    panel._environment.value = True
    assert panel._appkey.placeholder == f"입력됨 …{APPKEY[-4:]}"
    panel._secretkey.set_state({"value": SECRETKEY})
    panel._login_button.click()
    assert calls == [(APPKEY, SECRETKEY, True)]


def test_plain_text_form_says_what_to_do():
    panel = LoginPanel(login=lambda *a: "")
    text = panel._repr_mimebundle_()["text/plain"]
    assert "KIWOOM_APPKEY" in text and "%kiwoom_login --prompt" in text
    # issue 19: read in a saved notebook, or under kiwoom_nb.LoginPanel() alone, %kiwoom_login is "not found"
    assert "run %load_ext kiwoom_nb then %kiwoom_login" in text
    assert "VBox" not in text and repr(panel) == text


def test_a_received_key_is_blanked_before_any_click():
    """A typed key must not wait in the browser for the click: a save would store it with the widget state."""
    calls = []
    panel = LoginPanel(login=lambda a, s, m: calls.append((a, s, m)) or "ok")
    comm = panel._secretkey.comm = RecordingComm()
    panel._secretkey.set_state({"value": SECRETKEY})  # the field lost focus: its value reached the kernel

    assert panel._secretkey.value == ""
    assert sent_blank_value(comm)
    assert "received" in panel._secretkey.placeholder
    assert SECRETKEY not in str(comm.sent) and SECRETKEY not in str(panel._secretkey.get_state())

    panel._appkey.set_state({"value": APPKEY})
    panel._login_button.click()
    assert calls == [(APPKEY, SECRETKEY, False)]
    assert panel._secretkey.placeholder == "Secret key"  # reset for the next login


def test_enter_in_the_secret_field_logs_in(panel, fake_kiwoom):
    """The browser sends the "submit" event first and the field's value right after it."""
    panel._appkey.set_state({"value": APPKEY})
    panel._secretkey._handle_msg({"content": {"data": {"method": "custom", "content": {"event": "submit"}}}, "buffers": []})
    assert fake_kiwoom.issues == []  # the value has not arrived yet
    panel._secretkey.set_state({"value": SECRETKEY})
    assert len(fake_kiwoom.issues) == 1 and "logged in" in panel.status


# -- the "remember on this computer" checkbox -----------------------------------------------------


@pytest.fixture
def remembering(fake_kiwoom):
    """A panel whose remember() records what it was asked to save (a KeyringUnavailableError when told to)."""
    session = Session(transport=fake_kiwoom.transport)
    saved: list[tuple[str, str, bool]] = []

    def login(appkey: str, secretkey: str, mock: bool) -> str:
        entry, reused = session.login(appkey, secretkey, var="kiwoom_token", mock=mock, source="login panel")
        return describe(entry, reused=reused)

    def remember(appkey: str, secretkey: str, mock: bool) -> str:
        saved.append((appkey, secretkey, mock))
        return "OS keyring (kiwoom_nb, mock)" if mock else "OS keyring (kiwoom_nb, production)"

    def build(**kwargs):
        panel = LoginPanel(login=login, logout=lambda: "logged out", remember=kwargs.pop("remember", remember), **kwargs)
        panel.saved = saved
        return panel

    return build


def test_the_checkbox_is_off_by_default_and_saves_only_when_ticked(remembering, fake_kiwoom):
    panel = remembering()
    box = panel._remember_box
    assert box in panel.children and box.value is False and box.disabled is False
    assert box.description == "이 컴퓨터에 저장 — remember on this computer (OS keyring)"
    type_keys(panel, APPKEY, SECRETKEY)
    panel._login_button.click()
    assert "logged in" in panel.status and panel.saved == []  # unticked: nothing saved

    ticked = remembering()
    ticked._remember_box.set_state({"value": True})  # what the browser sends when it is ticked
    ticked._environment.value = True
    type_keys(ticked, MOCK_APPKEY, MOCK_SECRETKEY)
    ticked._login_button.click()
    assert ticked.saved == [(MOCK_APPKEY, MOCK_SECRETKEY, True)]
    assert "logged in" in ticked.status and "keys saved in the OS keyring (kiwoom_nb, mock)" in ticked.status
    assert MOCK_SECRETKEY not in ticked._status.value


def test_a_failed_login_saves_nothing(remembering, fake_kiwoom):
    panel = remembering(remember_checked=True)
    assert panel._remember_box.value is True  # --remember ticks it
    type_keys(panel, APPKEY, "WRONG-SECRET-0000")
    panel._login_button.click()
    assert "8001" in panel.status and panel.saved == []
    panel._secretkey.set_state({"value": SECRETKEY})  # the app key was kept; retype the secret only
    panel._login_button.click()
    assert panel.saved == [(APPKEY, SECRETKEY, False)]


def test_without_a_keyring_the_checkbox_is_disabled_and_says_why(remembering, fake_kiwoom):
    panel = remembering(remember_problem="no secure OS keyring is available here (keyring offers nothing)",
                        remember_checked=True)
    box = panel._remember_box
    assert box.disabled is True and box.value is False
    assert panel._remember_note in panel.children
    assert "not available: no secure OS keyring is available here" in panel._remember_note.value
    box.set_state({"value": True})  # a frontend that ticks it anyway
    type_keys(panel, APPKEY, SECRETKEY)
    panel._login_button.click()
    assert "logged in" in panel.status and panel.saved == []


NO_OS_KEYRING = "이 환경에는 OS 키링이 없습니다 — no OS keyring here (headless Linux, containers, the demo): keys are not saved"


def test_without_an_os_keyring_the_default_panel_says_so_in_the_users_words(monkeypatch, caplog):
    """Issue 19 (8): the demo's null backend is a choice, not an error: the panel says what it means for the user,
    and the backend's name goes to the log."""
    import keyring.core

    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")  # what `make demo` sets
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    with caplog.at_level("INFO", logger="kiwoom_nb"):
        panel = LoginPanel()
    note = panel._remember_note.value
    assert NO_OS_KEYRING in note
    assert "keyring.backends" not in note and "not available" not in note
    assert panel._remember_box.disabled is True and panel._remember_note in panel.children
    assert "keyring.backends.null.Keyring" in caplog.text


def test_a_save_that_fails_keeps_the_login_and_says_so(remembering, fake_kiwoom):
    from kiwoom_nb import KeyringUnavailableError

    def refuse(appkey: str, secretkey: str, mock: bool) -> str:
        raise KeyringUnavailableError("cannot save the keys: the OS keyring failed (PasswordSetError)")

    panel = remembering(remember=refuse, remember_checked=True)
    type_keys(panel, APPKEY, SECRETKEY)
    panel._login_button.click()
    assert panel.status.splitlines()[0].startswith("Kiwoom 실전투자 (production): logged in as kiwoom_token")
    assert panel.status.splitlines()[1] == "저장하지 못함 — not saved: cannot save the keys: the OS keyring failed (PasswordSetError)"
    assert "kiwoom-note-error" in panel._status.value and "kiwoom-ok" in panel._status.value
    assert panel._logout_button in panel.children


def test_no_checkbox_without_a_remember_function():
    panel = LoginPanel(login=lambda *a: "ok")
    assert panel._remember_box not in panel.children
