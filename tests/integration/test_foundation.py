"""The foundation over a real socket: JSON-RPC framing and errors, limits,
Origin checks, HTTP endpoints, static files, and graceful shutdown."""
import json
import os
import signal
import socket
import time

import pytest

from harness import Server, SOURCE
from wsclient import Client


def ws_handshake(port, origin=None, extra=""):
    """A raw upgrade request; returns (status line, headers text)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    req = ("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" % port)
    if origin:
        req += "Origin: %s\r\n" % origin
    req += extra + "\r\n"
    s.sendall(req.encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    head = data.decode("latin-1")
    return head.split("\r\n", 1)[0], head


def test_roundtrip_server_info(server):
    with server.client() as c:
        assert c.subprotocol == "scholia.v1"
        info = c.call("server.info")
        assert info["version"]
        assert info["limits"]["message_bytes"] == 65536
        assert info["limits"]["json_depth"] == 32


def test_upgrade_without_subprotocol(server):
    with Client(server.ws_url, subprotocol=None) as c:
        assert c.call("server.info")["version"]


def test_jsonrpc_errors(server):
    with server.client() as c:
        c.send_text("{nope")
        r = c.recv_json()
        assert r["error"]["code"] == -32700 and r["id"] is None

        r = c.request("no.such.method", {})
        assert r["error"]["code"] == -32601

        c.send_text(json.dumps({"jsonrpc": "2.0", "id": 4, "method": 5}))
        r = c.recv_json()
        assert r["error"]["code"] == -32600

        c.send_text(json.dumps({"jsonrpc": "1.0", "id": 5, "method": "server.info"}))
        r = c.recv_json()
        assert r["error"]["code"] == -32600

        c.send_text(json.dumps({"jsonrpc": "2.0", "id": 6,
                                "method": "server.info", "params": [1]}))
        r = c.recv_json()
        assert r["error"]["code"] == -32602

        # a method that needs an account, called anonymously
        r = c.request("account.get", {})
        assert r["error"]["code"] == -32001

        # -32602 names the field
        r = c.request("book.toc", {"book": "seven"})
        assert r["error"]["code"] in (-32602, -32001)


def test_params_field_named(server):
    c = server.new_account()
    try:
        r = c.request("book.toc", {"book": "seven"})
        assert r["error"]["code"] == -32602
        assert r["error"]["data"]["field"] == "book"
    finally:
        c.close()


def test_batch(server):
    with server.client() as c:
        c.send_text(json.dumps([
            {"jsonrpc": "2.0", "id": 1, "method": "server.info"},
            {"jsonrpc": "2.0", "method": "server.info"},  # notification
            {"jsonrpc": "2.0", "id": 3, "method": "nope"},
            1,
        ]))
        r = c.recv_json()
        assert isinstance(r, list) and len(r) == 3
        assert r[0]["id"] == 1 and "result" in r[0]
        assert r[1]["error"]["code"] == -32601
        assert r[2]["error"]["code"] == -32600 and r[2]["id"] is None
        c.send_text("[]")
        assert c.recv_json()["error"]["code"] == -32600


def test_notification_gets_no_reply(server):
    with server.client() as c:
        c.send_text(json.dumps({"jsonrpc": "2.0", "method": "server.info"}))
        c.send_text(json.dumps({"jsonrpc": "2.0", "method": "nope"}))
        r = c.request("server.info")
        assert r["id"] == 1  # the first and only reply is this one


def test_oversize_message_kept_connection(server):
    with server.client() as c:
        big = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "server.info",
                          "params": {"pad": "x" * (70 * 1024)}})
        c.send_text(big)
        r = c.recv_json()
        assert r["error"]["code"] == -32013 and r["id"] is None
        # the connection is kept
        assert c.call("server.info")["version"]


def test_deep_nesting(server):
    with server.client() as c:
        c.send_text("[" * 33 + "]" * 33)
        r = c.recv_json()
        assert r["error"]["code"] == -32600 and r["id"] is None
        assert c.call("server.info")


def test_foreign_origin_refused(server):
    status, _ = ws_handshake(server.port, origin="http://evil.example")
    assert " 403 " in status
    status, _ = ws_handshake(server.port, origin="http://127.0.0.1:%d" % server.port)
    assert " 101 " in status
    # no Origin at all (non-browser clients) is accepted
    status, _ = ws_handshake(server.port)
    assert " 101 " in status


def test_healthz(server):
    status, hdrs, body = server.http("GET", "/healthz")
    assert status == 200
    j = json.loads(body)
    assert j["status"] == "ok" and j["db"] == "ok" and j["version"]


def test_metrics(server):
    with server.client() as c:
        c.call("server.info")
        c.request("no.such", {})
        status, hdrs, body = server.http("GET", "/metrics")
    assert status == 200
    assert hdrs["content-type"].startswith("text/plain")
    assert "scholia_connections " in body
    assert 'scholia_rpc_calls_total{method="server.info"}' in body
    assert 'scholia_rpc_errors_total{method="(unknown)",code="-32601"}' in body
    assert 'scholia_rpc_duration_seconds_bucket{method="server.info",le="+Inf"}' in body
    assert "scholia_events_total " in body
    assert "scholia_db_busy_total " in body


def test_static_files_and_headers(server):
    status, hdrs, body = server.http("GET", "/")
    assert status == 200
    assert hdrs["content-type"].startswith("text/html")
    csp = hdrs["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert hdrs["x-content-type-options"] == "nosniff"
    assert "cache-control" in hdrs
    # a real asset with its MIME type
    names = os.listdir(os.path.join(SOURCE, "web"))
    js = [n for n in names if n.endswith(".js")]
    css = [n for n in names if n.endswith(".css")]
    if js:
        status, hdrs, _ = server.http("GET", "/" + js[0])
        assert status == 200 and hdrs["content-type"].startswith("text/javascript")
    if css:
        status, hdrs, _ = server.http("GET", "/" + css[0])
        assert status == 200 and hdrs["content-type"].startswith("text/css")
    status, _, _ = server.http("GET", "/no-such-file.js")
    assert status == 404


def test_traversal(server):
    for path in ["/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
                 "/..%2f..%2fetc/passwd", "/web/../../etc/passwd",
                 "//etc/passwd", "/%00index.html"]:
        s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
        data = s.recv(65536).decode("latin-1")
        s.close()
        assert "root:" not in data, path
        status = data.split("\r\n", 1)[0]
        assert " 200 " not in status or "root:" not in data, path


def test_connection_limit_and_sigterm(tmp_path):
    srv = Server(tmp_path, extra_args=["--max-connections", "3"])
    srv.start()
    try:
        clients = [srv.client() for _ in range(3)]
        status, _ = ws_handshake(srv.port)
        assert " 503 " in status
        # the server stays responsive
        assert clients[0].call("server.info")
        status, _, _ = srv.http("GET", "/healthz")
        assert status == 200
        # SIGTERM: every client is closed with 1001 and the exit code is 0
        srv.proc.send_signal(signal.SIGTERM)
        for c in clients:
            assert c.wait_closed(10) == 1001
        assert srv.proc.wait(15) == 0
        assert "shutting down" in srv.log()
    finally:
        srv.stop()


def test_migrate_status_and_backup(server, tmp_path):
    r = server.cmd("migrate", "--status")
    assert "applied" in r.stdout and "0001_core.sql" in r.stdout
    assert "pending" not in r.stdout
    out = str(tmp_path / "backup.db")
    r = server.cmd("backup", out)
    assert os.path.getsize(out) > 0
    # the copy is a complete, migrated database
    import sqlite3
    con = sqlite3.connect(out)
    names = [r[0] for r in con.execute("SELECT name FROM schema_migrations")]
    assert "0001_core.sql" in names
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()


def test_newer_database_refused(tmp_path):
    srv = Server(tmp_path)
    srv.cmd("migrate")
    import sqlite3
    con = sqlite3.connect(srv.db)
    con.execute("INSERT INTO schema_migrations VALUES (9999, '9999_future.sql', 0)")
    con.commit()
    con.close()
    r = srv.cmd("serve", "--port", "0", check=False)
    assert r.returncode == 3
    assert "newer" in r.stderr


def test_help_lists_env(server):
    r = server.cmd("--help")
    assert "SCHOLIA_PORT" in r.stdout and "SCHOLIA_DB" in r.stdout
    assert "--durability" in r.stdout


def test_batch_limit(server):
    with server.client() as c:
        ok = [{"jsonrpc": "2.0", "id": i, "method": "server.info"} for i in range(100)]
        c.send_text(json.dumps(ok))
        assert len(c.recv_json()) == 100
        c.send_text(json.dumps(ok + [{"jsonrpc": "2.0", "id": 100,
                                      "method": "server.info"}]))
        r = c.recv_json()
        assert r["error"]["code"] == -32600 and r["id"] is None
        assert "batch" in r["error"]["message"]


def test_flooding_client_does_not_starve_others(server):
    """A client that pipelines thousands of calls is read only as fast as
    it is served (backpressure): every call is still answered, in order,
    and a bystander is answered meanwhile. (How long the bystander waits
    is a figure for tests/bench, not a pass/fail test.)"""
    flood = server.client()
    other = server.client()
    msg = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "server.info"})
    for _ in range(3000):
        flood.send_text(msg)
    assert other.call("server.info", timeout=10)["version"]
    for _ in range(3000):
        r = flood.recv_json(timeout=30)
        assert r["id"] == 1 and r["result"]["version"]
    flood.close(), other.close()
