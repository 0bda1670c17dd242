"""Scholia behind a real nginx (Debian's package), as docs/operations.md
configures it: the test starts its own `nginx -c` on a free loopback port
(never the system's service) in front of a server started with
--trusted-proxy and --public-url, and checks the WebSocket upgrade through
the proxy, the session cookie, the client address that the per-address
limits use (taken from X-Forwarded-For, so that two clients behind the one
proxy are told apart), and the export's IRIs.
"""
import http.client
import json
import os
import shutil
import socket
import subprocess
import time

import pytest

from harness import Server, free_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

CONF = """
daemon off;
user root;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_bind 127.0.0.1;
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_read_timeout 3600s;
            proxy_send_timeout 3600s;
        }}
    }}
}}
"""


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    if not os.path.exists(NGINX):
        pytest.fail("nginx is not installed: scripts/install-deps.sh --test "
                    "installs it")
    d = tmp_path_factory.mktemp("nginx")
    port = free_port()
    public = "http://127.0.0.1:%d" % port
    srv = Server(tmp_path_factory.mktemp("scholia"),
                 extra_args=["--trusted-proxy", "127.0.0.1",
                             "--public-url", public,
                             "--max-connections-per-address", "2"])
    srv.start()
    conf = d / "nginx.conf"
    conf.write_text(CONF.format(d=d, port=port, upstream=srv.port))
    log = open(d / "nginx.out", "wb")
    proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(d)],
                            stdout=log, stderr=log)
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.05)
    if proc.poll() is not None:
        srv.stop()
        pytest.fail("nginx did not start: %s" % (d / "nginx.out").read_text()
                    + (d / "error.log").read_text())
    srv.proxy_port = port
    srv.public = public
    yield srv
    proc.terminate()
    proc.wait(20)
    log.close()
    srv.stop()
    srv.assert_clean_exit()


def via_proxy(srv, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", srv.proxy_port, timeout=10)
    h = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    conn.request(method, path, body=data, headers=h)
    r = conn.getresponse()
    payload = r.read()
    hdrs = {k.lower(): v for k, v in r.getheaders()}
    conn.close()
    return r.status, hdrs, payload


def upgrade_from(srv, source):
    """A WebSocket upgrade through nginx from a given loopback source
    address; returns (status line, open socket)."""
    s = socket.socket()
    s.bind((source, 0))
    s.settimeout(10)
    s.connect(("127.0.0.1", srv.proxy_port))
    s.sendall(("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n" % srv.proxy_port).encode())
    data = b""
    while b"\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n", 1)[0].decode("latin-1"), s


def test_websocket_and_cookie_through_the_proxy(proxied):
    srv = proxied
    owner = srv.new_account("prox")
    book = owner.call("book.list", {})["items"][0]["id"]
    circle = owner.call("circle.create", {"name": "Proxied", "book": book})
    chapter = owner.call("book.toc", {"book": book})["parts"][0]["chapters"][0]["id"]

    status, hdrs, body = via_proxy(
        srv, "POST", "/api/session",
        {"handle": owner.handle, "password": owner.password},
        headers={"Origin": srv.public})
    assert status == 200, body
    cookie = hdrs["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    pair = cookie.split(";", 1)[0]

    from wsclient import Client
    c = Client("ws://127.0.0.1:%d/ws" % srv.proxy_port, origin=srv.public,
               cookie=pair)
    try:
        assert c.call("account.get", {})["handle"] == owner.handle
        c.call("circle.subscribe", {"circle": circle["id"]})
        owner.call("annotation.create", {
            "circle": circle["id"], "chapter": chapter, "target": None,
            "body": "through the proxy", "visibility": "circle"})
        ev = c.next_event(type="annotation.created", timeout=10)
        assert ev["data"]["body"] == "through the proxy"
    finally:
        c.close()


def test_limits_use_the_forwarded_client_address(proxied):
    srv = proxied
    held = []
    try:
        # two connections from 127.0.0.2 are its share ...
        for _ in range(2):
            line, s = upgrade_from(srv, "127.0.0.2")
            held.append(s)
            assert " 101 " in line, line
        line, s = upgrade_from(srv, "127.0.0.2")
        held.append(s)
        assert " 429 " in line, line
        # ... while 127.0.0.3, behind the same proxy, is another client
        line, s = upgrade_from(srv, "127.0.0.3")
        held.append(s)
        assert " 101 " in line, line
    finally:
        for s in held:
            s.close()
    assert "127.0.0.2" in srv.log()


def test_export_iris_use_the_public_url(proxied):
    srv = proxied
    owner = srv.new_account("iri")
    book = owner.call("book.list", {})["items"][0]["id"]
    circle = owner.call("circle.create", {"name": "IRIs", "book": book})
    chapter = owner.call("book.toc", {"book": book})["parts"][0]["chapters"][0]["id"]
    owner.call("annotation.create", {
        "circle": circle["id"], "chapter": chapter, "target": None,
        "body": "an IRI", "visibility": "circle"})
    status, hdrs, body = via_proxy(
        srv, "GET", "/api/circles/%d/annotations" % circle["id"],
        headers={"Authorization": "Bearer " + owner.token})
    assert status == 200, body
    doc = json.loads(body)
    assert doc["id"].startswith(srv.public + "/api/circles/%d/annotations"
                                % circle["id"])
    items = doc["first"]["items"]
    assert items and all(a["id"].startswith(srv.public) for a in items)
