"""Issue 14, R2-F4 and the upgrade status-line deviation: the per-address
WebSocket limit (429 before the upgrade, loopback not exempt), the
unauthenticated socket's lifetime (--auth-timeout), and --trusted-proxy
(client address from Forwarded / X-Forwarded-For, only for connections
from a trusted proxy; every per-address rule uses it).

One server: --max-connections-per-address 3 --auth-timeout 2
--trusted-proxy 127.0.0.2. Connections from 127.0.0.1 are not from a proxy
(their forwarding headers are ignored); connections bound to 127.0.0.2 are.
"""
import socket

import pytest

from harness import Server

LIMIT = 3


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("scholia"),
                 extra_args=["--max-connections-per-address", str(LIMIT),
                             "--auth-timeout", "2",
                             "--trusted-proxy", "127.0.0.2"])
    srv.start()
    yield srv
    srv.stop()
    srv.assert_clean_exit()


def upgrade(server, src="127.0.0.1", headers=None):
    """A raw upgrade request; returns (status line, socket left open)."""
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10,
                                 source_address=(src, 0))
    req = ("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           "Sec-WebSocket-Version: 13\r\n"
           "Sec-WebSocket-Protocol: scholia.v1\r\n" % server.port)
    for k, v in (headers or {}).items():
        req += "%s: %s\r\n" % (k, v)
    s.sendall((req + "\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n", 1)[0].decode(), s


def hold(server, n, src="127.0.0.1", headers=None):
    socks = []
    for _ in range(n):
        status, s = upgrade(server, src, headers)
        assert status.startswith("HTTP/1.1 101"), status
        socks.append(s)
    return socks


def close_all(socks):
    for s in socks:
        s.close()


def wait_refused_then_ok(server, src="127.0.0.1", headers=None):
    """After closing, the count drops (the server sees the close a moment
    later): retry the upgrade until it is accepted."""
    for _ in range(100):
        status, s = upgrade(server, src, headers)
        s.close()
        if status.startswith("HTTP/1.1 101"):
            return
        import time
        time.sleep(0.05)
    raise AssertionError("the address stayed full")


def test_loopback_is_limited_with_429_http11(server):
    socks = hold(server, LIMIT)
    status, s = upgrade(server)
    s.close()
    assert status == "HTTP/1.1 429 Too Many Requests" or \
        status.startswith("HTTP/1.1 429"), status
    # a forged X-Forwarded-For from a peer that is not a proxy changes
    # nothing: the header is ignored
    status, s = upgrade(server, headers={"X-Forwarded-For": "10.0.0.1",
                                         "Forwarded": "for=10.0.0.1"})
    s.close()
    assert status.startswith("HTTP/1.1 429"), status
    close_all(socks)
    wait_refused_then_ok(server)


def test_foreign_origin_refusal_is_http11(server):
    status, s = upgrade(server, headers={"Origin": "https://evil.example"})
    s.close()
    assert status.startswith("HTTP/1.1 403"), status


def test_trusted_proxy_forwards_the_client_address(server):
    xff = {"X-Forwarded-For": "10.0.0.1"}
    socks = hold(server, LIMIT, "127.0.0.2", xff)
    status, s = upgrade(server, "127.0.0.2", xff)
    s.close()
    assert status.startswith("HTTP/1.1 429"), status
    # another client behind the same proxy is its own address; the
    # right-most hop that is not a trusted proxy counts
    more = hold(server, LIMIT, "127.0.0.2",
                {"X-Forwarded-For": "10.0.0.1, 10.0.0.2, 127.0.0.2"})
    status, s = upgrade(server, "127.0.0.2",
                        {"X-Forwarded-For": "10.0.0.2"})
    s.close()
    assert status.startswith("HTTP/1.1 429"), status
    # Forwarded wins over X-Forwarded-For
    fwd = hold(server, LIMIT, "127.0.0.2",
               {"Forwarded": 'for="10.0.0.3:4711";proto=http',
                "X-Forwarded-For": "10.0.0.1"})
    status, s = upgrade(server, "127.0.0.2", {"Forwarded": "for=10.0.0.3"})
    s.close()
    assert status.startswith("HTTP/1.1 429"), status
    # and the proxy's own connections without headers are its own
    own = hold(server, 1, "127.0.0.2")
    close_all(socks + more + fwd + own)


def test_login_limit_uses_the_forwarded_address(server):
    # through the proxy: 10.9.9.1 exhausts its own address limit only
    codes = [login_fail_via(server, "nobody%d" % i, "10.9.9.1")
             for i in range(8)]
    assert -32029 in codes
    assert login_fail_via(server, "someone", "10.9.9.2") != -32029
    log = server.log()
    assert "10.9.9.1" in log


def login_fail_via(server, handle, xff):
    """auth.login over a WebSocket from the trusted proxy 127.0.0.2."""
    import asyncio
    import websockets
    from wsclient import _get_loop
    import json

    async def go():
        ws = await websockets.connect(
            server.ws_url, subprotocols=["scholia.v1"],
            extra_headers={"X-Forwarded-For": xff},
            local_addr=("127.0.0.2", 0), compression=None)
        try:
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1,
                                      "method": "auth.login",
                                      "params": {"handle": handle,
                                                 "password": "wrong pw 123"}}))
            return json.loads(await ws.recv())
        finally:
            await ws.close()
    r = asyncio.run_coroutine_threadsafe(go(), _get_loop()).result(30)
    return r["error"]["code"]


def test_unauthenticated_socket_is_closed(server):
    idle = server.client()
    user = server.new_account("authto")
    assert idle.wait_closed(30) == 1008
    assert "authentication" in (idle.close_reason or "")
    # the signed-in one stays
    assert user.call("server.info", {})
    user.close()
