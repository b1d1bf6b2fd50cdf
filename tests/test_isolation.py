"""No result depends on which tests ran before (issue 28, item 8): the process-global state that tests sharing the
canary keys would pass on (learned pace limits, the day's stock lists in memory, hosts named as mock) is reset by
one autouse fixture in tests/conftest.py. These two tests run in file order: the second sees nothing of the first."""

from __future__ import annotations

import pytest

from support import CANARY

from kiwoom_nb.auth import _client
from kiwoom_nb.rest import _codes, _pace

KEY = CANARY["production"][0]


def test_1_a_test_teaches_the_pacer_a_limit_and_names_a_mock_host():
    _pace.pacer_for(KEY, False).learn("ka10001", 1)
    _codes._memory[object()] = ("20260101", [])
    _client.set_mock_hosts("proxy.example.com")
    assert _pace.pacer_for(KEY, False).learned == {"ka10001": 1}


def test_2_the_next_test_starts_without_any_of_it():
    assert _pace.pacer_for(KEY, False).learned == {}
    assert _codes._memory == {}
    assert not _client.is_mock_destination("https://proxy.example.com")


def test_a_test_kernel_that_dies_as_it_starts_leaves_no_ipc_folder(start_kernel, monkeypatch):
    """A test's kernel talks over IPC sockets in a folder of its own; one that never answers is stopped and its folder
    removed, though the fixture never gets it to close (break review of the IPC change)."""
    import os
    import tempfile

    made, real = [], tempfile.mkdtemp
    monkeypatch.setattr(tempfile, "mkdtemp", lambda *a, **k: made.append(real(*a, **k)) or made[-1])
    with pytest.raises(RuntimeError):
        start_kernel(extra_arguments=["--IPKernelApp.exec_lines=['import os; os._exit(3)']"])
    assert made and not os.path.exists(made[0])
