"""Idle and stale connections (issue 9, item 6).

One server with a fast ping/hang-up policy (--idle-ping 1 --idle-hangup 3),
short sliding sessions (--session-idle 4) and a low connection limit
(--max-connections 6):

- a WebSocket that never answers pings is dropped after the hang-up time,
  while a client that answers them (python-websockets does) stays;
- no permessage-deflate is negotiated even when the client offers it;
- a session revoked from another connection (auth.revoke) or banned by a
  site admin is cut off at once (4001 revoked, 4003 banned);
- a session that expires while its socket sits open is cut off by the
  periodic re-check (every 30 s) with 4001;
- connection attempts past --max-connections get 503 on the upgrade while
  the server keeps answering everyone else, and a slot frees when a client
  leaves.
"""
import base64
import os
import socket
import struct
import time

import pytest

from harness import Server
from wsclient import Client

MAX_CONNECTIONS = 6


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("idle"),
                 extra_args=["--idle-ping", "1", "--idle-hangup", "3",
                             "--session-idle", "4",
                             "--max-connections", str(MAX_CONNECTIONS)])
    srv.start()
    yield srv
    srv.stop()
    srv.assert_clean_exit()


def raw_upgrade(port, extra=""):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Protocol: scholia.v1\r\n%s\r\n"
               % (port, key, extra)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)
        if not chunk:
            break
        head += chunk
    return s, head.decode("latin-1")


def test_unresponsive_websocket_is_dropped_after_idle_hangup(server):
    good = server.client()  # answers pings by itself
    s, head = raw_upgrade(server.port)
    assert head.startswith("HTTP/1.1 101"), head
    s.settimeout(1)
    pings = 0
    buf = b""
    closed_at = None
    start = time.time()
    while time.time() - start < 15:
        try:
            chunk = s.recv(4096)
        except socket.timeout:
            continue
        except OSError:
            chunk = b""
        if not chunk:
            closed_at = time.time() - start
            break
        buf += chunk
        # count ping frames (opcode 9; server frames are unmasked)
        while len(buf) >= 2:
            n = buf[1] & 0x7F
            hl = 2 + (2 if n == 126 else 8 if n == 127 else 0)
            if len(buf) < hl:
                break
            if n == 126:
                n = struct.unpack("!H", buf[2:4])[0]
            elif n == 127:
                n = struct.unpack("!Q", buf[2:10])[0]
            if len(buf) < hl + n:
                break
            if buf[0] & 0x0F == 9:
                pings += 1
            buf = buf[hl + n:]
    s.close()
    assert pings >= 1, "the server never pinged an idle connection"
    assert closed_at is not None, "an unresponsive socket was kept 15 s"
    # by the hang-up policy (about 1 s idle + 3 s), not by some later
    # catch-all such as the 10 s header timeout
    assert closed_at < 9, closed_at
    # the responsive client outlived the hang-up time and still works
    assert good.call("server.info", {})["version"]
    good.close()


def test_no_permessage_deflate(server):
    s, head = raw_upgrade(server.port,
                          "Sec-WebSocket-Extensions: permessage-deflate; "
                          "client_max_window_bits\r\n")
    s.close()
    assert head.startswith("HTTP/1.1 101"), head
    assert "permessage-deflate" not in head.lower()
    assert "sec-websocket-extensions" not in head.lower()


def _sessions(c):
    r = c.call("auth.sessions", {})
    return r["items"] if isinstance(r, dict) else r


def test_revoked_session_is_cut_off(server):
    a = server.new_account("revokee")
    b = server.client()
    b.call("auth.login", {"handle": a.handle, "password": a.password})
    mine = [x for x in _sessions(b) if not x.get("current")]
    assert len(mine) == 1, _sessions(b)
    b.call("auth.revoke", {"session": mine[0]["id"]})
    assert a.closed.wait(5), "the revoked session's socket stayed open"
    assert a.close_code == 4001
    # the revoking connection is untouched, and the token is dead
    assert b.call("account.get", {})["handle"] == a.handle
    c = server.client()
    assert c.error("auth.resume", {"token": a.token})["code"] == -32001
    c.close()
    b.close()


def test_banned_account_is_cut_off(server):
    admin = server.new_account("admin", admin=True)
    victim = server.new_account("banned")
    admin.call("admin.ban", {"account": victim.account["id"],
                             "reason": "testing the cut-off"})
    assert victim.closed.wait(5), "a banned account's socket stayed open"
    assert victim.close_code == 4003  # banned: forbidden, not just signed out
    c = server.client()
    e = c.error("auth.login", {"handle": victim.handle,
                               "password": victim.password})
    assert e["code"] in (-32001, -32003, -32010)  # -32010: banned
    c.close()
    admin.close()


def test_expired_session_is_cut_off_by_the_recheck(server):
    a = server.new_account("expiring")
    # idle past --session-idle 4; the re-check runs every 30 s
    assert a.closed.wait(45), "an expired session's socket stayed open"
    assert a.close_code == 4001
    c = server.client()
    assert c.error("auth.resume", {"token": a.token})["code"] == -32001
    c.close()


def test_connection_limit_answers_503_and_stays_responsive(server):
    # wait for the sockets of earlier tests to be gone
    deadline = time.time() + 10
    clients = []
    while time.time() < deadline:
        try:
            clients = [server.client() for _ in range(MAX_CONNECTIONS)]
            break
        except Exception:
            for c in clients:
                c.close()
            clients = []
            time.sleep(0.5)
    assert len(clients) == MAX_CONNECTIONS
    refused = []
    for _ in range(5):
        s, head = raw_upgrade(server.port)
        s.close()
        refused.append(head.split("\r\n")[0])
    assert all(" 503" in line for line in refused), refused
    # plain HTTP and the connected clients are still served
    assert server.http("GET", "/healthz")[0] == 200
    for c in clients:
        assert c.call("server.info", {}, timeout=5)["version"]
    # a slot frees when one leaves
    clients.pop().close()
    deadline = time.time() + 5
    while True:
        try:
            c = Client(server.ws_url)
            break
        except Exception:
            assert time.time() < deadline, "the freed slot never came back"
            time.sleep(0.2)
    assert c.call("server.info", {})["version"]
    c.close()
    for c in clients:
        c.close()
