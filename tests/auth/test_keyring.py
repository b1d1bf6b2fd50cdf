"""Keys from the OS keyring in real kernels: kiwoomcli's entries, --remember / --forget, no secure keyring,
a keyring that fails or hangs, and a .env file through python-dotenv.

The kernels use a real keyring backend that stores in this test's temp dir (tests/keyring_backends.py,
selected with PYTHON_KEYRING_BACKEND), or keyring's own fail backend, or keyrings.alt's plaintext one
pointed at the temp dir (XDG_DATA_HOME); never the developer's keyring.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support import CANARY, Kernel, Result

pytestmark = pytest.mark.kernel

APPKEY, SECRETKEY = CANARY["production"]
MOCK_APPKEY, MOCK_SECRETKEY = CANARY["mock"]
ALL_KEYS = (APPKEY, SECRETKEY, MOCK_APPKEY, MOCK_SECRETKEY)
PANEL = "application/vnd.jupyter.widget-view+json"


def without_keys(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in ("KIWOOM_APPKEY", "KIWOOM_SECRETKEY")}


def write_keyring(env: dict[str, str], entries: dict[str, dict[str, str]]) -> Path:
    path = Path(env["KIWOOM_TEST_KEYRING"])
    path.write_text(json.dumps(entries), "utf-8")
    return path


def read_keyring(env: dict[str, str]) -> dict[str, dict[str, str]]:
    path = Path(env["KIWOOM_TEST_KEYRING"])
    return json.loads(path.read_text("utf-8")) if path.exists() else {}


def saved(env: dict[str, str], environment: str = "production") -> dict[str, str] | None:
    raw = read_keyring(env).get("kiwoom_nb", {}).get(environment)
    return json.loads(raw) if raw else None


def loaded(start_kernel, env: dict[str, str]) -> Kernel:
    kernel = start_kernel(env=env)
    kernel.ok("%load_ext kiwoom_nb")
    return kernel


def answer_with(appkey: str, secretkey: str):
    asked: list[str] = []

    def answer(request: dict[str, Any]) -> str:
        asked.append(request["content"]["prompt"])
        return appkey if "app key" in request["content"]["prompt"] else secretkey

    answer.asked = asked  # type: ignore[attr-defined]
    return answer


def error_line(result: Result) -> str:
    """The cell failed with one line (KiwoomError's rendering, or a UsageError on stderr); returns it."""
    assert result.reply["status"] == "error", result.stdout
    message = result.reply["evalue"]
    assert message and "\n" not in message
    shown = result.error["traceback"] if result.error and result.error["traceback"] else result.stderr.splitlines()
    assert len(shown) == 1 and message in shown[0], shown
    return message


def leaks(text: str) -> list[str]:
    return [key[:14] + "…" for key in ALL_KEYS if key in text]


def iopub_text(kernel: Kernel) -> str:
    return json.dumps([m["content"] for m in kernel.iopub], ensure_ascii=False, default=str)


def files_holding_keys(root: Path, *, but: tuple[Path, ...] = ()) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and p not in but
            and any(key.encode() in p.read_bytes() for key in ALL_KEYS)]


# -- (a) kiwoomcli's entries ----------------------------------------------------------------------


def profile_service(alias: str) -> str:
    return "kiwoom-profile-" + hashlib.sha256(alias.encode("utf-8")).hexdigest()[:16]


@pytest.mark.parametrize("shape", ["mode", "profile"])
def test_kiwoomcli_entries_log_in_with_zero_typing_and_the_line_names_them(fake, keyring_env, start_kernel, shape):
    env = without_keys(keyring_env)
    if shape == "mode":
        entries = {"kiwoom-real": {"appkey": APPKEY, "secretkey": SECRETKEY},
                   "kiwoom-demo": {"appkey": MOCK_APPKEY, "secretkey": MOCK_SECRETKEY}}
        sources = ("OS keyring (kiwoomcli kiwoom-real)", "OS keyring (kiwoomcli kiwoom-demo)")
    else:
        entries = {profile_service("실전계좌"): {"appkey": APPKEY, "secretkey": SECRETKEY},
                   profile_service("모의계좌"): {"appkey": MOCK_APPKEY, "secretkey": MOCK_SECRETKEY}}
        sources = ("OS keyring (kiwoomcli profile 실전계좌)", "OS keyring (kiwoomcli profile 모의계좌)")
    settings = Path(env["XDG_CONFIG_HOME"]) / "kiwoom" / "settings.json"  # platformdirs' user config dir
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps({"profiles": {"실전계좌": {"mode": "real"}, "모의계좌": {"mode": "demo"}},
                                    "current_profile": "실전계좌"}), "utf-8")
    store = write_keyring(env, entries)
    before = (store.read_bytes(), settings.read_bytes())

    kernel = loaded(start_kernel, env)
    result = kernel.ok("%kiwoom_login", allow_stdin=True)  # a notebook that could show the panel
    assert not result.data(PANEL)
    [line] = result.stdout.splitlines()
    assert "logged in as kiwoom_token" in line and f"keys from {sources[0]}" in line
    assert fake.issues[0].body["appkey"] == APPKEY and fake.issues[0].body["secretkey"] == SECRETKEY

    if shape == "profile":  # the current profile is the real one; mock follows $KIWOOM_PROFILE, as kiwoomcli does
        kernel.ok("import os; os.environ['KIWOOM_PROFILE'] = '모의계좌'")
    mock = kernel.ok("%kiwoom_login --mock --var mock_token", allow_stdin=True)
    assert f"keys from {sources[1]}" in mock.stdout and "모의투자" in mock.stdout
    assert fake.issues[1].environment == "mock" and fake.issues[1].body["appkey"] == MOCK_APPKEY

    status = kernel.ok("%kiwoom_status")
    for table in (*status.data("text/plain"), *status.data("text/html")):
        assert sources[0] in table and sources[1] in table
    assert leaks(iopub_text(kernel)) == []
    assert (store.read_bytes(), settings.read_bytes()) == before  # kiwoomcli's store and file: read, never written


def test_keyring_is_imported_only_when_the_environment_has_no_keys(fake, keyring_env, start_kernel):
    probe = "import sys; print('keyring' in sys.modules)"
    with_keys = loaded(start_kernel, keyring_env)
    with_keys.ok("%kiwoom_login")
    assert with_keys.ok(probe).stdout.strip() == "False"
    without = loaded(start_kernel, without_keys(keyring_env))
    assert without.ok(probe).stdout.strip() == "False"  # %load_ext alone does not import it
    assert without.ok("%kiwoom_login", allow_stdin=True).data(PANEL)
    assert without.ok(probe).stdout.strip() == "True"  # the probe can see it


# -- (b) remember, then forget -----------------------------------------------------------------


def test_remember_then_a_new_kernel_logs_in_from_the_keyring_and_forget_asks_again(fake, keyring_env, start_kernel):
    env = without_keys(keyring_env)
    first = loaded(start_kernel, env)
    answer = answer_with(APPKEY, SECRETKEY)
    lines = first.ok("%kiwoom_login --prompt --remember", stdin=answer).stdout.splitlines()
    assert len(answer.asked) == 2
    assert "keys from prompt" in lines[0]
    assert lines[1] == ("kiwoom_nb: keys saved in the OS keyring (kiwoom_nb, production); "
                        "%kiwoom_logout --forget removes them")
    assert saved(env) == {"appkey": APPKEY, "secretkey": SECRETKEY}
    assert list(read_keyring(env)) == ["kiwoom_nb"] and list(read_keyring(env)["kiwoom_nb"]) == ["production"]
    first.shutdown()

    second = loaded(start_kernel, env)
    result = second.ok("%kiwoom_login", allow_stdin=True)
    assert not result.data(PANEL)
    assert "keys from OS keyring (kiwoom_nb, production)" in result.stdout
    assert fake.issues[-1].body["appkey"] == APPKEY
    [status] = second.ok("%kiwoom_status").data("text/plain")
    assert "OS keyring (kiwoom_nb, production)" in status
    forgot = second.ok("%kiwoom_logout --forget").stdout.splitlines()
    assert "logged out kiwoom_token" in forgot[0]
    assert forgot[1] == "kiwoom_nb: removed the saved keys (production) from the OS keyring"
    assert saved(env) is None
    assert second.ok("%kiwoom_logout --forget").stdout.strip() == "kiwoom_nb: no keys saved by kiwoom_nb in the OS keyring"
    second.shutdown()

    issued = len(fake.issues)
    third = loaded(start_kernel, env)
    assert third.ok("%kiwoom_login", allow_stdin=True).data(PANEL)  # asks again
    assert len(fake.issues) == issued
    assert leaks(iopub_text(first) + iopub_text(second) + iopub_text(third)) == []


def test_forget_from_python_and_for_one_environment(fake, keyring_env, start_kernel):
    env = {**without_keys(keyring_env), **fake.environ("mock")}
    kernel = loaded(start_kernel, env)
    kernel.ok("%kiwoom_login --mock --var mock_token --remember")
    assert saved(env, "mock") == {"appkey": MOCK_APPKEY, "secretkey": MOCK_SECRETKEY}
    write_keyring(env, {**read_keyring(env), "kiwoom-demo": {"appkey": "cli-app", "secretkey": "cli-secret"}})
    assert kernel.ok("import kiwoom_nb; print(kiwoom_nb.forget_keys(mock=False))").stdout.strip() == "[]"
    assert kernel.ok("print(kiwoom_nb.forget_keys(mock=True))").stdout.strip() == "['mock']"
    assert read_keyring(env)["kiwoom-demo"] == {"appkey": "cli-app", "secretkey": "cli-secret"}  # not ours: kept
    assert saved(env, "mock") is None


# -- (c) a failed login saves nothing ----------------------------------------------------------


def test_a_failed_login_with_remember_saves_nothing(fake, keyring_env, start_kernel):
    env = without_keys(keyring_env)
    kernel = loaded(start_kernel, env)
    fake.fail_next("wrong_keys", path="/oauth2/token")
    message = error_line(kernel.run("%kiwoom_login --prompt --remember", stdin=answer_with(APPKEY, "WRONG-SECRET-1")))
    assert message.startswith("Login (au10001) failed") and "8001" in message
    assert saved(env) is None
    assert kernel.run("kiwoom_token").reply["ename"] == "NameError"


# -- (d) no secure keyring -------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["keyring.backends.fail.Keyring", "keyrings.alt.file.PlaintextKeyring"])
def test_without_a_secure_keyring_remember_is_one_line_and_nothing_is_written(fake, kernel_env, start_kernel,
                                                                               tmp_path, backend):
    env = {**kernel_env, **fake.environ("mock"), "PYTHON_KEYRING_BACKEND": backend}
    home_store = Path.home() / ".local" / "share" / "python_keyring"
    existed = home_store.exists()
    kernel = loaded(start_kernel, env)
    for line in ("%kiwoom_login --remember", "%kiwoom_login --mock --var mock_token --remember"):
        result = kernel.run(line)
        message = error_line(result)
        assert result.reply["ename"] == "KeyringUnavailableError"
        assert message.startswith("--remember cannot save the keys: no secure OS keyring is available here")
        assert backend in message and "nothing was saved" in message
    answer = answer_with(APPKEY, SECRETKEY)
    error_line(kernel.run("%kiwoom_login --prompt --remember", stdin=answer))
    assert answer.asked == []  # refused before asking
    assert fake.issues == []  # and before logging in
    kernel.ok("import kiwoom_nb; print(kiwoom_nb.forget_keys())")
    kernel.shutdown()

    # the temp dirs are the kernel's cache, config, data, IPython and keyring dirs (XDG_*, IPYTHONDIR)
    assert files_holding_keys(tmp_path) == []
    assert not list((tmp_path / "data").rglob("*.cfg"))  # keyrings.alt's plaintext file was never made
    assert home_store.exists() == existed
    assert leaks(iopub_text(kernel)) == []


#: What the environment may hold that leads keyring to a real store or configures it: D-Bus (Secret Service,
#: KWallet; libdbus can also autolaunch a bus from an X display), keyring's own variables.
DESKTOP = ("DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR", "DISPLAY", "WAYLAND_DISPLAY", "PYTHON_KEYRING_BACKEND")

#: keyring's choices that cannot reach the developer's keyring here: the fail backend, and keyrings.alt's
#: files (under XDG_DATA_HOME, this test's temp dir).
SAFE_CHOICES = ("keyring.backends.fail.Keyring", "keyrings.alt.file.")


@pytest.mark.skipif(sys.platform != "linux", reason="keyring's own choice here is the OS keychain, which no "
                                                    "environment variable keeps this test from reading")
def test_keyrings_own_choice_on_a_machine_without_a_keyring_config_prints_nothing(fake, kernel_env, start_kernel,
                                                                                 tmp_path):
    """What most users have: no PYTHON_KEYRING_BACKEND and no keyringrc.cfg. keyring 24.0.x logged
    "Keyring config file contains incorrect values" into the login cell then (keyring#635).

    keyring chooses for itself, on a Linux desktop without its session: an empty HOME and XDG dirs, no
    D-Bus, none of keyring's variables. So it never reaches the developer's keyring; that is checked in
    a separate process first, so the login cell is still where keyring starts up in the kernel.
    """
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in without_keys(kernel_env).items() if k not in DESKTOP and not k.startswith("KEYRING_")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(tmp_path / "empty-config"), XDG_DATA_HOME=str(tmp_path / "data"),
               XDG_STATE_HOME=str(tmp_path / "state"))
    choice = subprocess.run([sys.executable, "-c", "import keyring; k = keyring.get_keyring(); "
                             "print(f'{type(k).__module__}.{type(k).__qualname__}')"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert choice.returncode == 0, choice.stderr
    if not choice.stdout.strip().startswith(SAFE_CHOICES):
        pytest.skip(f"keyring's own choice here is {choice.stdout.strip()}, which may be a real keyring")

    kernel = loaded(start_kernel, env)
    result = kernel.run("%kiwoom_login")  # headless: the keyring is read, then the one-line error
    assert error_line(result).startswith("no Kiwoom keys found")
    assert result.stderr == ""
    assert not (tmp_path / "empty-config").exists()  # and nothing was written there


# -- (e) a keyring that fails or hangs does not stop the panel -------------------------------------


@pytest.mark.parametrize("backend, note", [
    ("keyring_backends.LockedKeyring", "kiwoom_nb: the OS keyring could not be read (KeyringLocked); skipped it"),
    ("keyring_backends.HangingKeyring", "kiwoom_nb: the OS keyring did not answer within 2 s; skipped it"),
])
def test_a_keyring_that_fails_or_hangs_still_shows_the_panel(fake, keyring_env, start_kernel, backend, note):
    env = {**without_keys(keyring_env), "PYTHON_KEYRING_BACKEND": backend}
    kernel = loaded(start_kernel, env)
    result = kernel.ok("%kiwoom_login", allow_stdin=True)
    assert result.data(PANEL)
    assert result.stderr.splitlines() == [note]
    again = kernel.ok("%kiwoom_login --var other", allow_stdin=True)  # a hung keyring is not waited for twice
    assert again.data(PANEL) and again.stderr.splitlines() == [note]
    process = kernel.process
    kernel.kc.shutdown()
    assert kernel.wait_exit() == 0  # the thread stuck in the keyring does not hold the kernel
    assert process.poll() == 0


# -- a .env file, the python-dotenv way --------------------------------------------------------


def test_a_dotenv_file_loaded_with_python_dotenv_logs_in(fake, kernel_env, start_kernel, tmp_path):
    dotenv = tmp_path / "kiwoom.env"
    dotenv.write_text(f"KIWOOM_APPKEY={APPKEY}\nKIWOOM_SECRETKEY={SECRETKEY}\n", "utf-8")
    kernel = start_kernel(env=without_keys(kernel_env))
    kernel.ok("%load_ext dotenv")
    kernel.ok(f"%dotenv {dotenv}")
    kernel.ok("%load_ext kiwoom_nb")
    [line] = kernel.ok("%kiwoom_login").stdout.splitlines()
    assert "keys from environment KIWOOM_APPKEY/KIWOOM_SECRETKEY" in line
    assert fake.issues[0].body["secretkey"] == SECRETKEY
    assert leaks(iopub_text(kernel)) == []


# -- the panel's checkbox, over the widget protocol ------------------------------------------------


def comm_state(kernel: Kernel, model_name: str) -> dict[str, Any]:
    [state] = [m["content"]["data"]["state"] for m in kernel.iopub if m["msg_type"] == "comm_open"
               and m["content"]["data"].get("state", {}).get("_model_name") == model_name]
    return state


def type_and_click(kernel: Kernel, models: dict[str, str], appkey: str, secretkey: str) -> None:
    from test_leaks import model, send_to_widget

    send_to_widget(kernel, model(models, "TextModel", "App key"), {"method": "update", "state": {"value": appkey}, "buffer_paths": []})
    send_to_widget(kernel, model(models, "PasswordModel", "Secret key"), {"method": "update", "state": {"value": secretkey}, "buffer_paths": []})
    send_to_widget(kernel, model(models, "ButtonModel", "Log in"), {"method": "custom", "content": {"event": "click"}})


@pytest.mark.parametrize("ticked", [True, False], ids=["ticked", "unticked"])
def test_the_panel_checkbox_saves_after_a_successful_login_only_when_ticked(fake, keyring_env, start_kernel, ticked):
    from test_leaks import drain, model, send_to_widget, status_update, widget_models

    env = without_keys(keyring_env)
    kernel = loaded(start_kernel, env)
    assert kernel.ok("%kiwoom_login", allow_stdin=True).data(PANEL)
    box = comm_state(kernel, "CheckboxModel")
    assert box["description"] == "이 컴퓨터에 저장 — remember on this computer (OS keyring)"
    assert box["value"] is False and box["disabled"] is False  # off by default
    models = widget_models(kernel)
    if ticked:
        send_to_widget(kernel, model(models, "CheckboxModel", "remember"),
                       {"method": "update", "state": {"value": True}, "buffer_paths": []})
    type_and_click(kernel, models, APPKEY, "WRONG-SECRET-123456")  # a failed login first: nothing saved
    drain(kernel, status_update("8001"))
    kernel.ok("pass")  # the click's handler has finished
    assert saved(env) is None
    type_and_click(kernel, models, APPKEY, SECRETKEY)
    drain(kernel, status_update("keys saved in the OS keyring" if ticked else "logged in as kiwoom_token"))
    kernel.ok("pass")
    assert saved(env) == ({"appkey": APPKEY, "secretkey": SECRETKEY} if ticked else None)
    kernel.shutdown()
    assert leaks(iopub_text(kernel)) == []

    later = loaded(start_kernel, env)
    result = later.ok("%kiwoom_login", allow_stdin=True)
    if ticked:
        assert "keys from OS keyring (kiwoom_nb, production)" in result.stdout and not result.data(PANEL)
    else:
        assert result.data(PANEL)


def test_without_a_secure_keyring_the_checkbox_is_disabled_with_the_reason(fake, kernel_env, start_kernel):
    kernel = loaded(start_kernel, without_keys(kernel_env))  # keyring's fail backend (tests/conftest.py)
    assert kernel.ok("%kiwoom_login", allow_stdin=True).data(PANEL)
    box = comm_state(kernel, "CheckboxModel")
    assert box["disabled"] is True and box["value"] is False
    notes = [s["value"] for s in (m["content"]["data"]["state"] for m in kernel.iopub if m["msg_type"] == "comm_open")
             if s.get("_model_name") == "HTMLModel" and "keys are not saved" in s.get("value", "")]
    # issue 19 (8): in the user's words; the backend's name is for the log and --remember's error, not the panel
    assert len(notes) == 1
    assert "이 환경에는 OS 키링이 없습니다 — no OS keyring here (headless Linux, containers, the demo)" in notes[0]
    assert "keyring.backends" not in notes[0] and "not available" not in notes[0]
