"""Running Scholia as a service (docs/operations.md): the config file and its
precedence, `config check`, reload on SIGHUP, dated backups with retention,
restore into a stopped server, the admin's first-hour tasks, and an install
into a temporary root whose systemd unit's command line is started as the
unit starts it.
"""
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import time

import pytest

from harness import BIN, FAST_ENV, SOURCE, Server, free_port

PASSWORD = "correct horse battery"


def run(*args, env=None, input=None):
    e = dict(os.environ)
    e.update(FAST_ENV)
    e.pop("SCHOLIA_CONFIG", None)
    e.update(env or {})
    return subprocess.run([BIN] + list(args), capture_output=True, text=True,
                          env=e, input=input, timeout=120)


def raw_upgrade_status(port):
    """The status line a WebSocket upgrade gets (read from the socket, so
    that a refusal's status is seen whatever the client library makes of
    it)."""
    import socket
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n" % port).encode())
    data = b""
    while b"\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    return data.split(b"\r\n", 1)[0].decode("latin-1")


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return str(path)


# ---------------------------------------------------------------- config file

def test_config_check_reports_every_problem_with_its_line(tmp_path):
    bad = write(tmp_path / "bad.conf",
                "# a comment\nport = 9123\nbogus = 1\n\nregistration = maybe\n"
                "workers = many\nno equals sign here\ndry-run = 1\n")
    r = run("config", "check", "--config", bad)
    assert r.returncode == 2, r
    err = r.stderr
    assert "bad.conf:3: unknown setting 'bogus'" in err
    assert "bad.conf:5: registration: 'maybe'" in err
    assert "bad.conf:6: workers wants a number" in err
    assert "bad.conf:7: expected `key = value`" in err
    assert "bad.conf:8: 'dry-run' is a command-line option" in err
    assert "5 problems" in err
    assert "bad.conf:2" not in err  # a good line is not reported

    good = write(tmp_path / "good.conf",
                 "port = 9123\nlog-level = \"debug\"\n# public-url = x\n")
    r = run("config", "check", "--config", good)
    assert r.returncode == 0 and "OK" in r.stdout, r

    # a server refuses to start on a file with problems
    r = run("migrate", "--config", bad, "--db", str(tmp_path / "x.db"))
    assert r.returncode == 2 and "config check" in r.stderr, r


def test_help_names_the_config_file():
    r = run("--help")
    assert r.returncode == 0
    assert "/etc/scholia/scholia.conf" in r.stdout
    assert "--config" in r.stdout and "SCHOLIA_CONFIG" in r.stdout


def test_precedence_flag_environment_file_default(tmp_path):
    conf = write(tmp_path / "s.conf",
                 "port = 9001\nregistration = closed\nlog-level = debug\n"
                 "public-url = https://file.example\n")
    r = run("config", "show", "--config", conf, "--registration", "invite",
            env={"SCHOLIA_PORT": "9002", "SCHOLIA_PUBLIC_URL": ""})
    assert r.returncode == 0, r
    lines = dict(re.findall(r"^([a-z-]+) = (.*)$", r.stdout, re.M))
    assert lines["port"] == "9002  # environment"
    assert lines["registration"] == "invite  # flag"
    assert lines["log-level"] == "debug  # file"
    assert lines["durability"] == "full  # default"
    # an empty environment variable still overrides the file
    assert lines["public-url"] == "  # environment"


def test_the_file_drives_serve_and_sighup_reloads_it(tmp_path):
    conf = tmp_path / "scholia.conf"
    write(conf, "posts-per-minute = 11\nmax-connections = 100\n")
    srv = Server(tmp_path, extra_args=["--config", str(conf)])
    srv.start()
    try:
        c = srv.client()
        assert c.call("server.info", {})["limits"]["posts_per_minute"] == 11
        # a bad file on reload changes nothing
        write(conf, "posts-per-minute = lots\n")
        srv.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while "nothing changed" not in srv.log() and time.time() < deadline:
            time.sleep(0.05)
        assert "nothing changed" in srv.log()
        assert c.call("server.info", {})["limits"]["posts_per_minute"] == 11
        # a good one is applied without a restart, connections kept
        write(conf, "posts-per-minute = 7\nmax-connections = 2\n")
        srv.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while time.time() < deadline:
            if c.call("server.info", {})["limits"]["posts_per_minute"] == 7:
                break
            time.sleep(0.05)
        assert c.call("server.info", {})["limits"]["posts_per_minute"] == 7
        # the connection limit is 2 now: c and one more
        d = srv.client()
        d.call("server.info", {})
        assert " 503 " in raw_upgrade_status(srv.port)
        c.close()
        d.close()
    finally:
        srv.stop()
    srv.assert_clean_exit()


# ------------------------------------------------------- backups and restore

def test_backups_restore_and_the_lock(tmp_path):
    srv = Server(tmp_path / "live")
    os.makedirs(srv.tmpdir, exist_ok=True)
    srv.start()
    backups = tmp_path / "backups"
    backups.mkdir()
    try:
        alice = srv.new_account("keeper")
        circle = alice.call("circle.create", {
            "name": "Kept circle", "book": alice.call("book.list", {})
            ["items"][0]["id"]})
        made = []
        for _ in range(3):
            r = srv.cmd("backup", "--keep", "2", str(backups))
            made.append(re.search(r"to (\S+)", r.stdout).group(1))
            time.sleep(1.1)  # names carry the second they were made
        left = sorted(os.listdir(backups))
        assert len(left) == 2, left
        assert [os.path.join(str(backups), n) for n in left] == made[1:]
        assert "removed old backup" in r.stdout

        # restore refuses while the server runs
        r = srv.cmd("restore", made[-1], check=False)
        assert r.returncode == 3 and "running" in r.stderr, r
        # a second serve on the same database is refused as well
        r = run("serve", "--db", srv.db, "--port", str(free_port()))
        assert r.returncode == 3 and "another scholia serve" in r.stderr, r
    finally:
        srv.stop()
    srv.assert_clean_exit()

    # into a fresh state folder
    fresh = Server(tmp_path / "fresh")
    os.makedirs(fresh.tmpdir, exist_ok=True)
    r = fresh.cmd("restore", made[-1])
    assert "restored" in r.stdout
    assert stat.S_IMODE(os.stat(fresh.db).st_mode) == 0o600
    fresh.start()
    try:
        c = fresh.client()
        c.call("auth.login", {"handle": alice.handle, "password": PASSWORD})
        names = [x["name"] for x in c.call("circle.list", {})["items"]]
        assert "Kept circle" in names and circle["id"]
    finally:
        fresh.stop()
    fresh.assert_clean_exit()

    # over an existing database: the old one is kept aside, not lost
    r = fresh.cmd("restore", made[1])
    aside = [n for n in os.listdir(fresh.tmpdir) if ".replaced-" in n]
    assert any(n.startswith("scholia.db.replaced-") and n.endswith("Z")
               for n in aside), aside

    # a file that is not a database is refused and changes nothing
    junk = write(tmp_path / "junk.db", "not a database at all" * 100)
    before = os.stat(fresh.db).st_mtime_ns
    r = fresh.cmd("restore", junk, check=False)
    assert r.returncode != 0 and "not" in r.stderr, r
    assert os.stat(fresh.db).st_mtime_ns == before


# ----------------------------------------------------- the admin's first hour

def test_admin_tasks_from_the_shell_and_the_site_methods(tmp_path):
    srv = Server(tmp_path)
    srv.start()
    try:
        root = srv.new_account("root", admin=True)
        bob = srv.new_account("bob")
        r = srv.cmd("admin", "list-accounts")
        assert root.handle in r.stdout and bob.handle in r.stdout
        assert re.search(r"%s\s+admin" % root.handle, r.stdout)

        r = srv.cmd("admin", "set-admin", "--handle", bob.handle)
        assert "now a site admin" in r.stdout
        r = srv.cmd("admin", "set-admin", "--handle", "nobody_here",
                    check=False)
        assert r.returncode == 4, r
        r = srv.cmd("admin", "log")
        assert "admin_grant" in r.stdout and "shell" in r.stdout

        # the site methods: admins only, audited
        items = root.call("admin.accounts", {})["items"]
        by = {a["handle"]: a for a in items}
        assert by[bob.handle]["is_admin"] is True
        assert "email" not in by[bob.handle]
        res = root.call("admin.set_admin", {"account": bob.account["id"],
                                             "on": False})
        assert res == {"account": bob.account["id"], "is_admin": False}
        log = root.call("admin.log", {})["items"]
        assert log[0]["action"] == "admin_revoke"
        assert log[0]["target"] == {"account": bob.account["id"]}
        assert log[0]["actor"]["id"] == root.account["id"]
        carol = srv.new_account("carol")
        with pytest.raises(Exception) as e:
            carol.call("admin.accounts", {})
        assert "-32003" in str(e.value)

        # the last site admin stays
        r = srv.cmd("admin", "set-admin", "--remove", "--handle", root.handle,
                    check=False)
        assert r.returncode != 0 and "last site admin" in r.stderr, r
        with pytest.raises(Exception) as e:
            root.call("admin.set_admin", {"account": root.account["id"],
                                          "on": False})
        assert "-32009" in str(e.value)
    finally:
        srv.stop()
    srv.assert_clean_exit()


# ------------------------------------------------------------------- install

def build_dir():
    return os.path.dirname(os.path.abspath(BIN))


def install_into(root):
    env = dict(os.environ, DESTDIR=str(root))
    return subprocess.run(["cmake", "--install", build_dir()],
                          capture_output=True, text=True, env=env,
                          timeout=300)


def unit_exec_start(unit_text):
    m = re.search(r"^ExecStart=(.*)$", unit_text, re.M)
    assert m, unit_text
    return m.group(1).split()


def test_install_into_a_temporary_root_and_start_the_units_command(tmp_path):
    root = tmp_path / "root"
    r = install_into(root)
    assert r.returncode == 0, r.stdout + r.stderr
    share = root / "usr/local/share/scholia"
    for path in [root / "usr/local/bin/scholia", share / "web/index.html",
                 share / "migrations/0001_core.sql", share / "content",
                 root / "etc/scholia/scholia.conf",
                 root / "etc/systemd/system/scholia.service",
                 root / "etc/systemd/system/scholia-backup.service",
                 root / "etc/systemd/system/scholia-backup.timer"]:
        assert path.exists(), path
    unit = (root / "etc/systemd/system/scholia.service").read_text()
    for need in ["User=scholia", "StateDirectory=scholia",
                 "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
                 "NoNewPrivileges=yes", "RestrictAddressFamilies=",
                 "SystemCallFilter=@system-service",
                 "MemoryDenyWriteExecute=yes", "Restart=on-failure",
                 "ExecReload="]:
        assert need in unit, need
    assert not re.search(r"^DynamicUser=", unit, re.M)

    # the config file is created once and never overwritten
    conf = root / "etc/scholia/scholia.conf"
    conf.write_text(conf.read_text() + "\n# mine\n")
    r = install_into(root)
    assert r.returncode == 0 and "Kept" in r.stdout, r.stdout
    assert conf.read_text().endswith("# mine\n")
    r = run("config", "check", "--config", str(conf))
    assert r.returncode == 0, r

    # systemd's own check of the units, their paths mapped into the root
    analyze = shutil.which("systemd-analyze")
    if analyze:
        mapped = tmp_path / "units"
        mapped.mkdir()
        for name in ["scholia.service", "scholia-backup.service",
                     "scholia-backup.timer"]:
            text = (root / "etc/systemd/system" / name).read_text()
            text = text.replace("/usr/local/bin/scholia",
                                str(root / "usr/local/bin/scholia"))
            (mapped / name).write_text(text)
        r = subprocess.run([analyze, "verify"] +
                           [str(mapped / n) for n in os.listdir(mapped)],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "Unknown" not in r.stdout + r.stderr, r.stdout + r.stderr

    # the unit's command line, its state folder and paths mapped: the
    # environment (which beats the file) points it at the temporary root
    argv = unit_exec_start(unit)
    assert argv[0] == "/usr/local/bin/scholia" and argv[1] == "serve"
    argv[0] = str(root / "usr/local/bin/scholia")
    argv[argv.index("--config") + 1] = str(conf)
    state = tmp_path / "var-lib-scholia"
    state.mkdir()
    port = free_port()
    env = dict(os.environ, SCHOLIA_DB=str(state / "scholia.db"),
               SCHOLIA_PORT=str(port), SCHOLIA_WEB=str(share / "web"),
               SCHOLIA_CONTENT=str(share / "content"),
               SCHOLIA_MIGRATIONS=str(share / "migrations"))
    env.pop("SCHOLIA_CONFIG", None)
    log = open(tmp_path / "unit.log", "wb")
    proc = subprocess.Popen(argv, cwd=str(state), stdout=log, stderr=log,
                            env=env)
    try:
        import http.client
        deadline = time.time() + 30
        status = None
        while time.time() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                c.request("GET", "/")
                resp = c.getresponse()
                status, body = resp.status, resp.read()
                break
            except OSError:
                time.sleep(0.1)
        assert status == 200 and b"<html" in body.lower(), (status, (tmp_path / "unit.log").read_text())
        # the sample book came from the installed content folder
        out = subprocess.run([str(root / "usr/local/bin/scholia"), "migrate",
                              "--status", "--db", str(state / "scholia.db"),
                              "--migrations", str(share / "migrations")],
                             capture_output=True, text=True, env=env)
        assert "applied" in out.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        log.close()
    assert proc.returncode == 0, (tmp_path / "unit.log").read_text()


# ------------------------------------------------------ TLS certificate reload

def make_cert(dirpath, cn):
    cert, key = os.path.join(dirpath, cn + ".pem"), os.path.join(dirpath, cn + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=" + cn], check=True, capture_output=True)
    return cert, key


def served_cert(port):
    import ssl
    ctx = ssl._create_unverified_context()
    with socket_to(port) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            return s.getpeercert(binary_form=True)


def socket_to(port):
    import socket
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def der(pem_path):
    import ssl
    with open(pem_path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def test_sighup_reloads_a_renewed_certificate_without_dropping(tmp_path):
    import asyncio
    import ssl
    import websockets
    from test_tls import TlsServer

    live_cert = str(tmp_path / "live.pem")
    live_key = str(tmp_path / "live.key")
    a_cert, a_key = make_cert(str(tmp_path), "alpha")
    b_cert, b_key = make_cert(str(tmp_path), "beta")
    shutil.copy(a_cert, live_cert)
    shutil.copy(a_key, live_key)
    srv = TlsServer(tmp_path, extra_args=["--tls-cert", live_cert,
                                          "--tls-key", live_key])
    srv.start()
    try:
        assert served_cert(srv.port) == der(a_cert)

        async def scenario():
            ctx = ssl._create_unverified_context()
            async with websockets.connect(
                    "wss://127.0.0.1:%d/ws" % srv.port, ssl=ctx,
                    subprotocols=["scholia.v1"],
                    origin="https://127.0.0.1:%d" % srv.port) as ws:
                await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1,
                                          "method": "server.info"}))
                assert "result" in json.loads(await ws.recv())
                # renew: new files in place, then reload
                shutil.copy(b_cert, live_cert)
                shutil.copy(b_key, live_key)
                srv.proc.send_signal(signal.SIGHUP)
                deadline = time.time() + 10
                while ("reloaded the TLS certificate" not in srv.log()
                       and time.time() < deadline):
                    await asyncio.sleep(0.05)
                assert "reloaded the TLS certificate" in srv.log()
                # the open connection goes on ...
                await ws.send(json.dumps({"jsonrpc": "2.0", "id": 2,
                                          "method": "server.info"}))
                assert json.loads(await ws.recv())["id"] == 2
        asyncio.run(scenario())
        # ... and a new one gets the renewed certificate
        assert served_cert(srv.port) == der(b_cert)
    finally:
        srv.stop()
    srv.assert_clean_exit()
