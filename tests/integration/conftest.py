"""Shared fixtures for integration tests.

Each test file gets one real `scholia serve` process (module scope) on a free
loopback port with a temporary database, the repository's web/ and content/,
and cheap Argon2id limits so that tests stay fast. Talk to it with
`server.client()` (a WebSocket JSON-RPC client, see wsclient.py) or
`server.http(...)`.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from harness import Server  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("scholia"))
    srv.start()
    yield srv
    srv.stop()
    srv.assert_clean_exit()
