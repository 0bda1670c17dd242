"""TLS served by libwebsockets (issue 9, item 7).

A self-signed certificate and key are made with the openssl command line for
this test; the server runs with --tls-cert/--tls-key and --redirect-http on
one port. Checked: HTTPS /healthz with the security headers and HSTS, a
WebSocket over TLS (wss) that logs in and calls a method, the session cookie
marked Secure over TLS, and a plain-HTTP request on the same port answered
with a 301 to https:// (what libwebsockets' REDIRECT_HTTP_TO_HTTPS does: it
sends every plain request to the site's root, see docs/security.md).
"""
import asyncio
import http.client
import json
import os
import ssl
import subprocess
import time

import pytest
import websockets

from harness import Server


class TlsServer(Server):
    @property
    def url(self):
        return "https://127.0.0.1:%d" % self.port

    @property
    def ws_url(self):
        return "wss://127.0.0.1:%d/ws" % self.port

    def https(self, method, path, body=None, headers=None):
        conn = http.client.HTTPSConnection(
            "127.0.0.1", self.port, timeout=10,
            context=ssl._create_unverified_context())
        h = dict(headers or {})
        if body is not None:
            body = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        hdrs = {}
        for k, v in r.getheaders():
            if k.lower() == "set-cookie" and v.startswith("scholia_session="):
                hdrs["set-cookie"] = v   # the device cookie comes too
            hdrs.setdefault(k.lower(), v)
        conn.close()
        return r.status, hdrs, data

    def wait_ready(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("server exited with %d:\n%s" %
                                     (self.proc.returncode, self.log()))
            try:
                if self.https("GET", "/healthz")[0] == 200:
                    return
            except (OSError, ssl.SSLError):
                pass
            time.sleep(0.05)
        raise AssertionError("TLS server did not become ready:\n" + self.log())


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    cert, key = str(d / "cert.pem"), str(d / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    srv = TlsServer(d, extra_args=["--tls-cert", cert, "--tls-key", key,
                                   "--redirect-http"])
    srv.start()
    yield srv
    srv.stop()
    srv.assert_clean_exit()


def test_https_healthz_with_hsts_and_security_headers(server):
    status, h, body = server.https("GET", "/healthz")
    assert status == 200
    assert json.loads(body)["status"] == "ok"
    assert h["strict-transport-security"].startswith("max-age=")
    assert int(h["strict-transport-security"].split("=")[1].split(";")[0]) \
        >= 15552000
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in h["content-security-policy"]
    assert "listening on https://" in server.log()


def test_certificate_is_the_configured_one(server):
    ctx = ssl._create_unverified_context()
    import socket
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
            der = t.getpeercert(binary_form=True)
            assert t.version() in ("TLSv1.2", "TLSv1.3")
    pem = ssl.DER_cert_to_PEM_cert(der)
    with open(os.path.join(server.tmpdir, "cert.pem")) as f:
        assert "".join(pem.split()) == "".join(f.read().split())


def test_wss_login_and_call(server):
    server.cmd("admin", "create-account", "--handle", "tlsuser",
               input="correct horse battery\n")

    async def go():
        async with websockets.connect(
                server.ws_url, ssl=ssl._create_unverified_context(),
                subprotocols=["scholia.v1"], compression=None) as ws:
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1,
                                      "method": "auth.login", "params": {
                                          "handle": "tlsuser",
                                          "password": "correct horse battery"}}))
            login = json.loads(await asyncio.wait_for(ws.recv(), 20))
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": 2,
                                      "method": "account.get", "params": {}}))
            me = json.loads(await asyncio.wait_for(ws.recv(), 10))
            return ws.subprotocol, login, me

    proto, login, me = asyncio.run(go())
    assert proto == "scholia.v1"
    assert login["result"]["token"]
    assert me["result"]["handle"] == "tlsuser"


def test_session_cookie_is_secure_over_tls(server):
    server.cmd("admin", "create-account", "--handle", "cookieuser",
               input="correct horse battery\n")
    status, h, body = server.https("POST", "/api/session", {
        "handle": "cookieuser", "password": "correct horse battery"})
    assert status == 200, body
    cookie = h["set-cookie"]
    assert cookie.startswith("scholia_session=")
    attrs = [a.strip().lower() for a in cookie.split(";")]
    assert "secure" in attrs and "httponly" in attrs
    assert "samesite=strict" in attrs


def test_plain_http_is_redirected_to_https(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", "/healthz", headers={
        "Host": "127.0.0.1:%d" % server.port})
    r = conn.getresponse()
    r.read()
    conn.close()
    assert r.status == 301
    loc = r.getheader("Location")
    # libwebsockets sends the client to the site's root over https
    assert loc.startswith("https://127.0.0.1:%d/" % server.port), loc
    # and nothing is served in the clear
    assert r.getheader("Strict-Transport-Security") is None
