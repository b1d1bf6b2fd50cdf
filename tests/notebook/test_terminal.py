"""Terminal IPython through a pty (pexpect) and in tmux: the password prompt, exit, hang-ups, what history keeps,
and Tab in %kiwoom."""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import pexpect
import pytest
from support import CANARY, COMPLETION_NAMES, gone, hub_tokens, wait_for

KEYS = CANARY["production"]
IPYTHON = Path(sys.executable).with_name("ipython")
PROMPT = r"In \[\d+\]: "

pytestmark = pytest.mark.skipif(not IPYTHON.exists(), reason="IPython's terminal script is not installed")


@contextmanager
def terminal_ipython(env: dict[str, str]) -> Iterator[pexpect.spawn]:
    """Terminal IPython with the extension loaded; typing ``exit`` at the end is left to the test."""
    child = pexpect.spawn(
        str(IPYTHON), ["--no-banner", "--colors=NoColor", "--simple-prompt"],
        env=env, encoding="utf-8", timeout=30, dimensions=(40, 250),
        use_poll=True,  # select() fails once the test process holds 1024 descriptors (pexpect 4.8 in test-min)
    )
    child.logfile_read = io.StringIO()
    try:
        child.expect(PROMPT)
        child.sendline("%load_ext kiwoom_nb")
        child.expect(PROMPT)
        yield child
    finally:
        child.close(force=True)


def exit_ipython(child: pexpect.spawn) -> str:
    """Type ``exit``, wait for the process to end, and return everything the terminal showed."""
    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.wait()
    return child.logfile_read.getvalue()


def history_sources(ipythondir: str) -> list[str]:
    with sqlite3.connect(Path(ipythondir) / "profile_default" / "history.sqlite") as db:
        return [row[0] for row in db.execute("SELECT source FROM history")]


def one_revoke_of_the_only_token(fake) -> None:
    wait_for(lambda: fake.revokes, 10, "a revoke")
    [issued] = fake.tokens
    [request] = fake.revokes
    assert request.body == {"appkey": KEYS[0], "secretkey": KEYS[1], "token": issued.value}
    assert fake.live_tokens() == []


def test_terminal_login_prompts_for_the_keys_without_echo_and_keeps_them_out_of_history(fake, kernel_env):
    env = {k: v for k, v in kernel_env.items() if k not in ("KIWOOM_APPKEY", "KIWOOM_SECRETKEY")}
    with terminal_ipython(env) as child:
        child.sendline("%kiwoom_login")
        child.expect(r"app key \(앱키\): ")
        child.sendline(KEYS[0])
        child.expect(r"secret key \(시크릿키\): ")
        child.sendline(KEYS[1])
        child.expect("logged in as kiwoom_token")
        child.expect(PROMPT)
        transcript = exit_ipython(child)

    assert "keys from prompt" in transcript
    assert not [key for key in KEYS if key in transcript], "a typed key was echoed"
    one_revoke_of_the_only_token(fake)

    sources = history_sources(env["IPYTHONDIR"])
    assert any("kiwoom_login" in source for source in sources), sources
    assert not [s for s in sources if any(key in s for key in KEYS)]
    history_file = Path(env["IPYTHONDIR"]) / "profile_default" / "history.sqlite"
    assert not [key for key in KEYS if key.encode() in history_file.read_bytes()]


def test_terminal_login_with_keys_in_the_environment_does_not_prompt(fake, kernel_env):
    with terminal_ipython(kernel_env) as child:
        child.sendline("%kiwoom_login")
        index = child.expect(["logged in as kiwoom_token", "app key"])
        child.expect(PROMPT)
        transcript = exit_ipython(child)

    assert index == 0, "asked for a key although KIWOOM_APPKEY / KIWOOM_SECRETKEY are set"
    assert "keys from environment" in transcript
    assert not [key for key in KEYS if key in transcript]
    one_revoke_of_the_only_token(fake)



def test_status_columns_line_up_in_a_terminal_with_korean_values(fake, kernel_env):
    """%kiwoom_status pads by terminal columns: 실전투자 takes 8 of them, not 4 (issue 19, finding 2)."""
    from kiwoom_nb.auth._lines import width

    with terminal_ipython(kernel_env) as child:
        child.sendline("%kiwoom_login --var 토큰")  # a Korean variable name too: Python allows it
        child.expect(PROMPT)
        child.sendline("%kiwoom_status")
        child.expect(r"Safety net: .*\r?\n")
        table = child.before
        child.expect(PROMPT)
        exit_ipython(child)

    header = next(line for line in table.splitlines() if line.startswith("environment"))
    [row] = [line for line in table.splitlines() if line.startswith("실전투자 (production)")]

    def columns(line: str) -> list[int]:
        """The terminal column where each cell starts (cells are set apart by two or more spaces)."""
        return [width(line[:m.start()]) for m in re.finditer(r"(?:^|(?<=  ))\S", line)]

    assert "토큰" in row and len(columns(header)) == 8
    assert columns(row) == columns(header), (header, row)

# -- hang-ups: the window closed, the SSH session dropped, the tmux session killed (issue 10) ----------


def logged_in(child: pexpect.spawn, *lines: str) -> int | None:
    """Run ``lines`` then log in; returns the revoker's pid from %kiwoom_status (None when it is off)."""
    for line in (*lines, "%kiwoom_login"):
        child.sendline(line)
        child.expect(PROMPT)
    assert "logged in as kiwoom_token" in child.before
    child.sendline("%kiwoom_status")
    child.expect(r"Safety net: (.*)\r?\n")
    found = re.search(r"revoker process (\d+)", child.match.group(1))
    child.expect(PROMPT)
    return int(found.group(1)) if found else None


@pytest.mark.parametrize("revoker", [True, False], ids=["with the revoker", "the SIGHUP handler alone"])
def test_sighup_revokes_once(fake, kernel_env, revoker):
    with terminal_ipython(kernel_env) as child:
        pid = logged_in(child, *([] if revoker else ["%config KiwoomMagics.revoker = False"]))
        assert (pid is not None) == revoker
        os.kill(child.pid, signal.SIGHUP)
        child.expect(pexpect.EOF)
        child.wait()
        assert child.signalstatus == signal.SIGHUP  # the default action still ends it, after the revoke
    one_revoke_of_the_only_token(fake)
    if pid is not None:
        wait_for(lambda: gone(pid), 5, "the revoker to exit")
    assert len(fake.revokes) == 1


@contextmanager
def tmux_ipython(env: dict[str, str], tmp_path: Path, *options: str) -> Iterator[tuple[Callable, Callable]]:
    """Terminal IPython in a tmux session named kiwoom, 250 x 50: yields ``tmux(*args)`` and ``screen()`` (what the
    pane shows). The tmux server is killed at the end."""
    tmux_path = shutil.which("tmux")
    assert tmux_path, "tmux is not installed: make test installs it (scripts/ensure-tmux.sh)"
    socket_path = str(tmp_path / "tmux.sock")

    def tmux(*args: str) -> str:
        done = subprocess.run([tmux_path, "-S", socket_path, "-f", "/dev/null", *args], env=env,
                              capture_output=True, text=True, timeout=30)
        return done.stdout

    def screen() -> str:
        return tmux("capture-pane", "-p", "-J", "-t", "kiwoom")

    command = " ".join([str(IPYTHON), "--no-banner", *options])
    tmux("new-session", "-d", "-s", "kiwoom", "-x", "250", "-y", "50", command)
    try:
        wait_for(lambda: "In [1]:" in screen(), 60, "the IPython prompt in tmux")
        yield tmux, screen
    finally:
        tmux("kill-server")


def test_killing_its_tmux_session_revokes_once(fake, kernel_env, tmp_path):
    with tmux_ipython(kernel_env, tmp_path, "--colors=NoColor", "--simple-prompt") as (tmux, screen):
        ipython = int(tmux("list-panes", "-t", "kiwoom", "-F", "#{pane_pid}"))
        for line in ("%load_ext kiwoom_nb", "%kiwoom_login", "%kiwoom_status"):
            tmux("send-keys", "-t", "kiwoom", "-l", line)
            tmux("send-keys", "-t", "kiwoom", "Enter")
        found = wait_for(lambda: re.search(r"revoker process (\d+)", screen()), 30, "the login and its status")
        assert "logged in as kiwoom_token" in screen()
        tmux("kill-session", "-t", "kiwoom")
        wait_for(lambda: gone(ipython), 10, "IPython to end with its tmux session")
        one_revoke_of_the_only_token(fake)
        wait_for(lambda: gone(int(found.group(1))), 5, "the revoker to exit")
        assert len(fake.revokes) == 1


def test_tab_completes_api_ids_and_fields_in_the_terminal(kernel_env, tmp_path):
    """Issue 20, item 4, in terminal IPython's own prompt (prompt_toolkit, not --simple-prompt): Tab lists the
    api-ids in a menu, and the selected one's Korean name shows under it (IPython >= 8.6)."""
    with tmux_ipython(kernel_env, tmp_path, "--colors=NoColor") as (tmux, screen):
        def typed(*keys: str, literal: bool = False) -> None:
            tmux("send-keys", "-t", "kiwoom", *(["-l"] if literal else []), *keys)

        def shows(pattern: str, what: str) -> str:
            return wait_for(lambda: re.search(pattern, screen()), 20, what).group()

        typed("%load_ext kiwoom_nb", literal=True)
        typed("Enter")
        shows(r"In \[2\]:", "the second prompt")
        typed("%kiwoom ka1008", literal=True)
        typed("Tab")
        shows(r"\n\s+[^\n]*ka10081", "the menu of api-ids under the line")
        typed("Tab")  # selects the first, ka10080
        shows(r"In \[2\]: %kiwoom ka10080", "ka10080 selected")
        typed("Tab")
        shows(r"In \[2\]: %kiwoom ka10081", "ka10081 selected")
        assert ("주식일봉차트조회요청" in screen()) == COMPLETION_NAMES, screen()
        typed(" stk", literal=True)
        typed("Tab")  # the one field that starts so is put in at once
        shows(r"In \[2\]: %kiwoom ka10081 stk_cd=", "stk_cd= completed")


def test_a_stream_in_terminal_ipython_delivers_events_and_exit_closes_it_before_the_revoke(fake, kernel_env):
    """No event loop is touched: the stream works at the terminal prompt, and `exit` closes the socket, then revokes."""
    with terminal_ipython(kernel_env) as child:
        child.sendline("%kiwoom_login")
        child.expect("logged in as kiwoom_token")
        child.expect(PROMPT)
        child.sendline("import kiwoom_nb; live = kiwoom_nb.stream()")
        child.expect(PROMPT)
        child.sendline('live.watch(["005930"], "0B"); print("got", next(iter(live.events(timeout=10))).item)')
        child.expect(r"got 005930")
        child.expect(PROMPT)
        transcript = exit_ipython(child)

    [socket_token] = hub_tokens(fake)  # the token the socket logged in with: the stream hub's (the default)
    wait_for(lambda: fake.ws.closes and not fake.live_tokens(), 20, "the socket's close and every revoke")
    [(_, _, closed_at)] = fake.ws.closes
    [revoke] = [r.at for r in fake.revokes if r.body["token"] == socket_token]
    assert closed_at <= revoke, "the token was revoked before the socket closed"
    assert "Traceback" not in transcript
    assert not [key for key in KEYS if key in transcript]


def test_kiwoom_watch_at_the_terminal_says_boards_need_a_notebook_and_hands_over_the_stream(fake, kernel_env):
    """Issue 30: not one status line and silence, but a line saying how to read the stream, and the stream."""
    with terminal_ipython(kernel_env) as child:
        child.sendline("%kiwoom_login")
        child.expect("logged in as kiwoom_token")
        child.expect(PROMPT)
        child.sendline("%kiwoom_watch 005930")
        child.expect("boards need a notebook frontend")
        child.expect(r'live\.latest\("0B"\)')
        child.expect(PROMPT)
        child.sendline('live = _; print("got", next(iter(live.events(timeout=10))).item, len(live.latest("0B")))')
        child.expect(r"got 005930 1")
        child.expect(PROMPT)
        transcript = exit_ipython(child)

    wait_for(lambda: fake.ws.closes and fake.revokes, 10, "the socket's close and the revoke")
    assert "Traceback" not in transcript
