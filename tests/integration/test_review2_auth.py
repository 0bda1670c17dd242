"""Issue 14: R2-F5 (device cookies against lock-out), R2-F8 (login CSRF),
R2-F9 (0600 files) and the smaller auth items.

The server trusts 127.0.0.2 as a reverse proxy so that the tests can speak
from many client addresses (X-Forwarded-For) over loopback.
"""
import json
import os
import stat

import pytest

from harness import Server
from wsclient import Client

PW = "correct horse battery"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("scholia"),
                 extra_args=["--trusted-proxy", "127.0.0.2"])
    srv.start()
    yield srv
    srv.stop()
    srv.assert_clean_exit()


def via(server, addr):
    """A WebSocket client that the server sees as coming from addr."""
    return Client(server.ws_url, local_addr=("127.0.0.2", 0),
                  headers={"X-Forwarded-For": addr})


def login(server, addr, handle, password, device=None):
    c = via(server, addr)
    p = {"handle": handle, "password": password}
    if device is not None:
        p["device"] = device
    try:
        return c.request("auth.login", p)
    finally:
        c.close()


def make_account(server, handle):
    server.cmd("admin", "create-account", "--handle", handle, input=PW + "\n")


# ---- R2-F5 ----

def test_known_device_is_not_locked_out(server):
    make_account(server, "victim")
    make_account(server, "other")
    r = login(server, "10.5.0.1", "victim", PW)
    device = r["result"]["device"]
    other_dev = login(server, "10.5.0.1", "other", PW)["result"]["device"]
    # an attacker: five wrong passwords from five addresses
    for i in range(5):
        r = login(server, "10.6.0.%d" % (i + 1), "victim", "wrong guess 1")
        assert r["error"]["code"] == -32001
    # the handle is in back-off for clients it does not know
    r = login(server, "10.7.0.1", "victim", PW)
    assert r["error"]["code"] == -32029
    assert r["error"]["data"]["retry_after_ms"] > 0
    # ... a device value signed for another account, or forged, is unknown
    r = login(server, "10.7.0.2", "victim", PW, device=other_dev)
    assert r["error"]["code"] == -32029
    forged = device[:-4] + ("AAAA" if not device.endswith("AAAA") else "BBBB")
    r = login(server, "10.7.0.3", "victim", PW, device=forged)
    assert r["error"]["code"] == -32029
    # the member's own device, even from a new address, signs in
    r = login(server, "10.7.0.4", "victim", PW, device=device)
    assert "result" in r, r
    assert r["result"]["device"] == device
    # and the browser: the device cookie sent with POST /api/session
    status, headers, _ = server.http(
        "POST", "/api/session", {"handle": "victim", "password": PW},
        headers={"Cookie": "scholia_device=" + device})
    assert status == 200


def test_browser_gets_a_device_cookie(server):
    make_account(server, "browser")
    conn_headers = {}
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("POST", "/api/session",
                 body=b'{"handle":"browser","password":"%s"}' % PW.encode(),
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    cookies = r.msg.get_all("Set-Cookie")
    conn.close()
    assert r.status == 200
    assert any(c.startswith("scholia_session=") for c in cookies)
    dev = [c for c in cookies if c.startswith("scholia_device=")]
    assert dev and "HttpOnly" in dev[0] and "SameSite=Strict" in dev[0]
    del conn_headers


# ---- R2-F8: login CSRF ----

def test_session_post_needs_json_from_our_origin(server):
    make_account(server, "csrf")
    body = '{"handle":"csrf","password":"%s"}' % PW
    own = "http://127.0.0.1:%d" % server.port
    # a form post from a foreign page: text/plain, foreign Origin
    status, hdrs, _ = server.http("POST", "/api/session", body, headers={
        "Content-Type": "text/plain", "Origin": "https://evil.example"})
    assert status in (403, 415) and "set-cookie" not in hdrs
    status, hdrs, _ = server.http("POST", "/api/session", body, headers={
        "Content-Type": "text/plain"})
    assert status == 415 and "set-cookie" not in hdrs
    status, hdrs, _ = server.http("POST", "/api/session", body, headers={
        "Content-Type": "application/json",
        "Origin": "https://evil.example"})
    assert status == 403 and "set-cookie" not in hdrs
    status, hdrs, _ = server.http("POST", "/api/session", body, headers={
        "Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"})
    assert status == 403 and "set-cookie" not in hdrs
    # our own page (Origin or Sec-Fetch-Site), or a non-browser client
    for extra in ({"Origin": own}, {"Sec-Fetch-Site": "same-origin"}, {}):
        h = {"Content-Type": "application/json"}
        h.update(extra)
        status, hdrs, body_out = server.http("POST", "/api/session", body,
                                             headers=h)
        assert status == 200, (extra, body_out)
    token = json.loads(body_out)["token"]
    cookie = "scholia_session=" + token
    # DELETE with the cookie: same rules
    status, _, _ = server.http("DELETE", "/api/session", headers={
        "Cookie": cookie, "Origin": "https://evil.example",
        "Content-Type": "application/json"})
    assert status == 403
    status, _, _ = server.http("DELETE", "/api/session",
                               headers={"Cookie": cookie})
    assert status == 415
    c = Client(server.ws_url, cookie=cookie)
    assert c.call("account.get", {})["handle"] == "csrf"   # still signed in
    c.close()
    status, _, _ = server.http("DELETE", "/api/session", headers={
        "Cookie": cookie, "Origin": own,
        "Content-Type": "application/json"})
    assert status == 200


# ---- R2-F9: private files ----

def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_database_key_and_backups_are_0600(server, tmp_path):
    make_account(server, "files")   # writes: the WAL exists
    for suffix in ("", "-wal", "-shm", ".key"):
        path = server.db + suffix
        if suffix in ("", ".key"):
            assert os.path.exists(path), path
        if os.path.exists(path):
            assert mode(path) == 0o600, (path, oct(mode(path)))
    out = str(tmp_path / "backup.db")
    server.cmd("backup", out)
    assert mode(out) == 0o600, oct(mode(out))
    # a database left 0644 by an older version is made private at start
    os.chmod(server.db, 0o644)
    server.restart()
    assert mode(server.db) == 0o600
