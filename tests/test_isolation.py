"""No result depends on which tests ran before (issue 28, item 8): the process-global state that tests sharing the
canary keys would pass on (learned pace limits, the day's stock lists in memory, hosts named as mock) is reset by
one autouse fixture in tests/conftest.py. These two tests run in file order: the second sees nothing of the first."""

from __future__ import annotations

from support import CANARY

from kiwoom_nb import _client, _codes, _pace

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
