"""Hostile clients against one real server (issue 9, item 4).

The server here runs with a small send queue (--max-queue 256 KiB) and a
short HTTP timeout (--http-timeout 2) so that the limits are reached quickly
(the dribbled headers are in fact cut by libwebsockets' 10 s header timeout;
see docs/security.md, F6). The login flood runs last: it holds back logins
from 127.0.0.1 for a minute, as the per-address limit should.
Raw sockets speak WebSocket by hand (ws_* helpers below) so that the tests
can do what a well-behaved library never does: stop reading, fragment,
send invalid UTF-8, dribble bytes. In every test a bystander on an ordinary
connection keeps getting answers while the hostile client misbehaves.
"""
import base64
import json
import os
import socket
import struct
import threading
import time

import pytest

from harness import Server
from wsclient import RpcError

MAX_QUEUE = 256 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("hostile"),
                 extra_args=["--max-queue", str(MAX_QUEUE),
                             "--http-timeout", "2",
                             "--login-failures", "5"])
    srv.start()
    yield srv
    srv.stop()
    srv.assert_clean_exit()


# ---- a raw WebSocket client -------------------------------------------------

def ws_connect(port, proto="scholia.v1", timeout=10):
    """Opens a raw socket and completes the upgrade; returns the socket."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    req = ("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
           "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n\r\n"
           % (port, key, proto))
    s.sendall(req.encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)
        if not chunk:
            raise AssertionError("closed during the handshake: %r" % head)
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head
    return s


def ws_frame(opcode, payload, fin=True):
    """A masked client frame."""
    if isinstance(payload, str):
        payload = payload.encode()
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", b0, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", b0, 0x80 | 127, n)
    mask = os.urandom(4)
    body = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
    return head + mask + body


def _recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def ws_read(s):
    """Reads one frame: (fin, opcode, payload)."""
    b0, b1 = _recv_exact(s, 2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", _recv_exact(s, 2))[0]
    elif n == 127:
        n = struct.unpack("!Q", _recv_exact(s, 8))[0]
    return bool(b0 & 0x80), b0 & 0x0F, _recv_exact(s, n)


def ws_read_message(s):
    """Reads frames until a whole text message or a close; returns
    ("text", obj) or ("close", code)."""
    parts = []
    while True:
        fin, op, payload = ws_read(s)
        if op == 8:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
            return "close", code
        if op in (9, 10):
            continue
        parts.append(payload)
        if fin:
            return "text", json.loads(b"".join(parts))


def ws_close_code(s, limit=10000):
    """Reads (and drops) messages until the close frame; returns its code,
    or "eof" if the socket closed without one."""
    try:
        for _ in range(limit):
            kind, v = ws_read_message(s)
            if kind == "close":
                return v
    except (ConnectionError, OSError):
        return "eof"
    raise AssertionError("no close within %d messages" % limit)


def rpc(method, params=None, rid=1):
    return json.dumps({"jsonrpc": "2.0", "id": rid, "method": method,
                       "params": params if params is not None else {}},
                      separators=(",", ":"))


def assert_bystander_ok(server, client=None):
    """Another connection still gets an answer (bounded wait)."""
    c = client or server.client()
    try:
        r = c.call("server.info", {}, timeout=15)
        assert r["limits"]["message_bytes"] == 65536
    finally:
        if client is None:
            c.close()


# ---- the tests -------------------------------------------------------------

def test_client_that_never_reads_is_cut_off_with_1008(server):
    bystander = server.client()
    s = ws_connect(server.port)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    # 100 requests: the largest batch the server takes (RPC_MAX_BATCH)
    batch = json.dumps([{"jsonrpc": "2.0", "id": i, "method": "server.info"}
                        for i in range(100)])
    cut = False
    # ~25 KiB of replies per batch; the kernel buffers a few MiB at most,
    # so 1500 batches (37 MiB of answers) must pass the 256 KiB queue.
    s.settimeout(5)
    try:
        for i in range(1500):
            s.sendall(ws_frame(1, batch))
            if i % 100 == 99:
                # others are served while this one piles up
                assert_bystander_ok(server, bystander)
                if "send queue over" in server.log():
                    cut = True
                    break
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        cut = True
    assert cut or "send queue over" in server.log()
    deadline = time.time() + 10
    while "send queue over" not in server.log() and time.time() < deadline:
        time.sleep(0.1)
    assert "send queue over %d bytes, closing" % MAX_QUEUE in server.log()
    s.settimeout(10)
    code = ws_close_code(s, limit=10 ** 6)
    # 1008 when the close frame made it out behind the queued replies; a
    # reset is also a cut-off (the server dropped what it had queued).
    assert code in (1008, "eof")
    s.close()
    assert_bystander_ok(server, bystander)
    bystander.close()


def _dribble(server, payload, seconds=25):
    """Sends payload one byte every 0.25 s; returns the number of bytes sent
    before the server closed the connection (None if it never did)."""
    s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    s.settimeout(0.25)
    bystander = server.client()
    try:
        deadline = time.time() + seconds
        for i, b in enumerate(payload):
            if time.time() > deadline:
                return None
            try:
                s.sendall(bytes([b]))
            except OSError:
                return i
            try:
                if s.recv(4096) == b"":
                    return i
            except socket.timeout:
                pass
            except OSError:
                return i
            if i % 8 == 0:
                assert_bystander_ok(server, bystander)
        return None
    finally:
        bystander.close()
        s.close()


def test_slowloris_http_times_out(server):
    req = (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           + b"X-Pad: " + b"a" * 200 + b"\r\n\r\n")
    sent = _dribble(server, req)
    assert sent is not None, "the server kept a dribbling request open"
    assert sent < len(req)


def test_slowloris_upgrade_times_out(server):
    req = (b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
           b"Connection: Upgrade\r\nSec-WebSocket-Key: "
           b"dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
           b"Sec-WebSocket-Protocol: scholia.v1\r\n"
           + b"X-Pad: " + b"a" * 200 + b"\r\n\r\n")
    sent = _dribble(server, req)
    assert sent is not None, "the server kept a dribbling upgrade open"
    assert sent < len(req)


def test_fragmented_message_is_assembled(server):
    s = ws_connect(server.port)
    msg = rpc("server.info", rid=77).encode()
    parts = [msg[:5], msg[5:20], msg[20:]]
    s.sendall(ws_frame(1, parts[0], fin=False))
    # a ping between fragments is allowed by RFC 6455 and must not break it
    s.sendall(ws_frame(9, b"hi"))
    s.sendall(ws_frame(0, parts[1], fin=False))
    s.sendall(ws_frame(0, parts[2], fin=True))
    kind, r = ws_read_message(s)
    assert kind == "text"
    assert r["id"] == 77 and r["result"]["version"]
    s.close()


def test_oversize_fragmented_message_is_refused_and_connection_kept(server):
    s = ws_connect(server.port)
    chunk = b"x" * 30000
    s.sendall(ws_frame(1, b'{"jsonrpc":"2.0","id":1,"method":"server.info",'
                       b'"params":{"pad":"', fin=False))
    for _ in range(4):  # 120 KB, twice the limit
        s.sendall(ws_frame(0, chunk, fin=False))
    s.sendall(ws_frame(0, b'"}}', fin=True))
    kind, r = ws_read_message(s)
    assert kind == "text"
    assert r["error"]["code"] == -32013
    assert r["id"] is None
    # the connection is kept and still works
    s.sendall(ws_frame(1, rpc("server.info", rid=5)))
    kind, r = ws_read_message(s)
    assert kind == "text" and r["id"] == 5 and "result" in r
    s.close()


def test_invalid_utf8_closes_with_1007(server):
    s = ws_connect(server.port)
    s.sendall(ws_frame(1, b'{"jsonrpc":"2.0","id":1,"method":"\xff\xfe"}'))
    assert ws_close_code(s) == 1007
    s.close()
    assert_bystander_ok(server)


def test_invalid_utf8_split_across_fragments_closes_with_1007(server):
    s = ws_connect(server.port)
    # a valid 3-byte sequence cut in two is fine; a bad continuation is not
    s.sendall(ws_frame(1, b'{"a":"\xe2\x82', fin=False))
    s.sendall(ws_frame(0, b'\x41"}', fin=True))
    assert ws_close_code(s) == 1007
    s.close()


def test_json_bombs(server):
    c = server.client()
    # deep nesting: refused before parsing
    deep = '{"jsonrpc":"2.0","id":1,"method":"server.info","params":' \
        + "[" * 5000 + "]" * 5000 + "}"
    c.send_text(deep)
    r = c.recv_json()
    assert r["error"]["code"] == -32600
    # a huge string: over the message limit
    huge = rpc("server.info", {"s": "a" * 200000})
    c.send_text(huge)
    r = c.recv_json()
    assert r["error"]["code"] == -32013
    # as many keys as fit in 64 KiB (6000), and a 30,000-element array
    keys = {"k%x" % i: 0 for i in range(6000)}
    msg = rpc("server.info", keys, rid=3)
    assert len(msg) < 65536
    c.send_text(msg)
    # meanwhile a bystander is answered
    assert_bystander_ok(server)
    r = c.recv_json()
    assert r["id"] == 3 and ("result" in r or "error" in r)
    arr = '{"jsonrpc":"2.0","id":4,"method":"server.info","params":[' \
        + ",".join(["0"] * 30000) + "]}"
    assert len(arr) < 65536
    c.send_text(arr)
    r = c.recv_json()
    assert r["id"] == 4 and ("result" in r or "error" in r)
    # batch amplification is bounded: a batch of 1,000 tiny invalid
    # requests is refused whole (RPC_MAX_BATCH is 100), one of 100 is
    # answered entry by entry
    c.send_text("[" + ",".join(["1"] * 1000) + "]")
    r = c.recv_json(timeout=20)
    assert r["error"]["code"] == -32600 and r["id"] is None
    c.send_text("[" + ",".join(["1"] * 100) + "]")
    r = c.recv_json(timeout=20)
    assert isinstance(r, list) and len(r) == 100
    assert all(x["error"]["code"] == -32600 for x in r)
    assert c.call("server.info", {})["version"]
    c.close()


def test_login_flood_is_rate_limited_and_loop_stays_responsive(server):
    victim = server.new_account("victim")
    victim.close()
    bystander = server.client()
    flooders = [server.client() for _ in range(3)]
    limited = []
    stop = threading.Event()

    def flood(c):
        for _ in range(15):
            if stop.is_set():
                return
            try:
                c.call("auth.login", {"handle": victim.handle,
                                      "password": "wrong password here"},
                       timeout=20)
            except RpcError as e:
                if e.code == -32029:
                    limited.append(e.data)

    threads = [threading.Thread(target=flood, args=(c,)) for c in flooders]
    for t in threads:
        t.start()
    try:
        for _ in range(10):
            assert bystander.call("server.info", {}, timeout=5)["version"]
            time.sleep(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert limited, "45 wrong passwords in a few seconds were never limited"
    assert all(isinstance(d, dict) and d.get("retry_after_ms", 0) > 0
               for d in limited)
    # even the right password waits for the window: the account is
    # protected, not locked out forever (retry_after_ms says how long)
    e = pytest.raises(RpcError, bystander.call, "auth.login",
                      {"handle": victim.handle, "password": victim.password})
    assert e.value.code == -32029
    for c in flooders:
        c.close()
    bystander.close()
