"""Accounts and sessions over the real WebSocket and HTTP endpoints.

Covers each auth.* and account.* method's success and failures (wrong
password, unknown handle, revoked and logged-out tokens, handle taken, bad
handle, short and common passwords, reset token reused), cookie auth of the
WebSocket upgrade through POST /api/session, logout and revoke closing the
session's other connections with 4001, a password change ending every other
session, bans closing connections with 4003, account deletion, the admin
commands, and finally that no password or token used here appears in clear
in the database files or the server log.

Login failures from 127.0.0.1 are kept under the per-address limit (5 a
minute) here; test_auth_limits.py drives the limits themselves.
"""
import re
import time

import pytest

from wsclient import Client, Closed

PW = "correct horse battery"
# every secret sent to the server; none may be found in clear afterwards
SECRETS = set()


def remember(*values):
    for v in values:
        if v:
            SECRETS.add(v)
    return values[0]


def register(server, handle, password=PW, **extra):
    c = server.client()
    params = {"handle": handle, "password": password}
    params.update(extra)
    r = c.call("auth.register", params)
    remember(password, r["token"])
    c.account = r["account"]
    c.token = r["token"]
    return c, r


def login(server, handle, password=PW):
    c = server.client()
    r = c.call("auth.login", {"handle": handle, "password": password})
    remember(r["token"])
    c.account = r["account"]
    c.token = r["token"]
    return c, r


def reset_token(out):
    m = re.search(r"/#/reset/([A-Za-z0-9_-]+)", out)
    assert m, out
    return remember(m.group(1))


def test_register_login_resume(server):
    a, r = register(server, "reader_one", "Quiet-Lantern-4471 river",
                    display_name="Reader One")
    assert r["account"]["handle"] == "reader_one"
    assert r["account"]["display_name"] == "Reader One"
    assert r["account"]["is_admin"] is False
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", r["expires_at"])
    assert re.match(r"^[A-Za-z0-9_-]{43}$", r["token"])
    me = a.call("account.get")
    assert me["id"] == r["account"]["id"]
    assert me["handle"] == "reader_one"

    b, r2 = login(server, "reader_one", "Quiet-Lantern-4471 river")
    assert r2["token"] != r["token"]
    assert r2["account"] == r["account"]

    c = server.client()
    res = c.call("auth.resume", {"token": r["token"]})
    assert res["account"]["id"] == r["account"]["id"]
    assert c.call("account.get")["handle"] == "reader_one"
    for x in (a, b, c):
        x.close()


def test_register_failures(server):
    c = server.client()
    for bad in ("ab", "Upper", "has-dash", "x" * 33, "sp ace"):
        e = c.error("auth.register", {"handle": bad, "password": PW})
        assert e["code"] == -32602 and e["data"]["field"] == "handle", bad
    e = c.error("auth.register", {"handle": "shorty", "password": "tiny"})
    assert e["code"] == -32602 and e["data"]["field"] == "password"
    e = c.error("auth.register", {"handle": "shorty", "password": "x" * 1025})
    assert e["code"] == -32602 and e["data"]["field"] == "password"
    for common in ("password1234", "qwertyuiop", "iloveyou12"):
        e = c.error("auth.register", {"handle": "shorty", "password": common})
        assert e["code"] == -32602 and e["data"]["field"] == "password", common
    e = c.error("auth.register", {"handle": "shorty", "password": PW,
                                  "display_name": "x" * 101})
    assert e["code"] == -32602 and e["data"]["field"] == "display_name"
    register(server, "taken_name")[0].close()
    e = c.error("auth.register", {"handle": "taken_name", "password": PW})
    assert e["code"] == -32009
    # nothing registered by the failures, and no session was set
    assert c.error("account.get")["code"] == -32001
    c.close()


def test_wrong_password_and_unknown_handle_answer_alike(server):
    register(server, "known_one")[0].close()
    c = server.client()
    e1 = c.error("auth.login", {"handle": "known_one",
                                "password": "not the password"})
    e2 = c.error("auth.login", {"handle": "nobody_here",
                                "password": "not the password"})
    assert e1["code"] == e2["code"] == -32001
    assert e1["message"] == e2["message"]
    assert c.error("account.get")["code"] == -32001
    c.close()


def test_sessions_list_and_revoke(server):
    a, _ = register(server, "multi_dev")
    b, _ = login(server, "multi_dev")
    s = a.call("auth.sessions")
    assert s["next"] is None
    assert len(s["items"]) == 2
    cur = [i for i in s["items"] if i["current"]]
    other = [i for i in s["items"] if not i["current"]]
    assert len(cur) == 1 and len(other) == 1
    for i in s["items"]:
        assert set(i) >= {"id", "created_at", "last_seen", "user_agent",
                          "current", "expires_at"}
    # someone else cannot revoke it
    x, _ = register(server, "stranger")
    assert x.error("auth.revoke", {"session": other[0]["id"]})["code"] == -32004
    x.close()
    assert a.call("auth.revoke", {"session": other[0]["id"]}) == {}
    assert b.wait_closed() == 4001
    # the revoked token is dead
    c = server.client()
    assert c.error("auth.resume", {"token": b.token})["code"] == -32001
    assert [i["id"] for i in a.call("auth.sessions")["items"]] == [cur[0]["id"]]
    assert a.error("auth.revoke", {"session": 999999})["code"] == -32004
    a.close()
    c.close()


def test_logout_closes_other_connections(server):
    a, r = register(server, "leaving_soon")
    b = server.client()
    b.call("auth.resume", {"token": r["token"]})
    bystander, _ = login(server, "leaving_soon")
    assert a.call("auth.logout") == {}
    assert b.wait_closed() == 4001
    # another session of the same account is untouched
    assert bystander.call("account.get")["handle"] == "leaving_soon"
    c = server.client()
    assert c.error("auth.resume", {"token": r["token"]})["code"] == -32001
    for x in (a, bystander, c):
        x.close()


def test_reset_link_once(server):
    old, _ = register(server, "forgetful")
    out = server.cmd("admin", "reset-link", "--handle", "forgetful").stdout
    token = reset_token(out)
    c = server.client()
    e = c.error("auth.reset", {"reset_token": token, "password": "short"})
    assert e["code"] == -32602 and e["data"]["field"] == "password"
    new_pw = remember("Amber-Meadow 9182 cobalt")
    r = c.call("auth.reset", {"reset_token": token, "password": new_pw})
    remember(r["token"])
    assert r["account"]["handle"] == "forgetful"
    # every older session ended; its connection is closed
    assert old.wait_closed() == 4001
    d = server.client()
    e = d.error("auth.reset", {"reset_token": token,
                               "password": "Another-Field 5521 pine"})
    assert e["code"] == -32001
    e = d.error("auth.reset", {"reset_token": "A" * 43, "password": new_pw})
    assert e["code"] == -32001
    x, _ = login(server, "forgetful", new_pw)
    x.close()
    c.close()
    d.close()
    r = server.cmd("admin", "reset-link", "--handle", "no_such_one", check=False)
    assert r.returncode != 0


def test_cookie_session_over_http(server):
    register(server, "cookie_fan", "Paper-Kettle 3390 drift")[0].close()
    status, hdrs, body = server.http("POST", "/api/session",
                                     {"handle": "cookie_fan",
                                      "password": "Paper-Kettle 3390 drift"})
    assert status == 200, body
    import json
    data = json.loads(body)
    remember(data["token"])
    assert data["account"]["handle"] == "cookie_fan"
    assert "expires_at" in data
    cookie = hdrs["set-cookie"]
    assert cookie.startswith("scholia_session=%s;" % data["token"])
    for attr in ("HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="):
        assert attr in cookie
    assert "Secure" not in cookie  # plain HTTP here

    c = Client(server.ws_url, cookie="scholia_session=" + data["token"])
    assert c.call("account.get")["handle"] == "cookie_fan"

    # wrong password over HTTP: 401, no cookie
    status, hdrs, body = server.http("POST", "/api/session",
                                     {"handle": "cookie_fan",
                                      "password": "wrong wrong wrong"})
    assert status == 401
    assert "set-cookie" not in hdrs
    status, _, _ = server.http("POST", "/api/session", "not json")
    assert status == 400

    # DELETE ends the cookie's session, clears the cookie, closes the socket
    status, hdrs, body = server.http(
        "DELETE", "/api/session",
        headers={"Cookie": "scholia_session=" + data["token"],
                 "Content-Type": "application/json"})
    assert status == 200
    assert "Max-Age=0" in hdrs["set-cookie"]
    assert c.wait_closed() == 4001
    d = Client(server.ws_url, cookie="scholia_session=" + data["token"])
    assert d.error("account.get")["code"] == -32001
    d.close()


def test_change_password_ends_other_sessions(server):
    a, _ = register(server, "changer")
    b, _ = login(server, "changer")
    e = a.error("account.change_password",
                {"password": "not my password", "new_password": "Velvet-Stone 2288 moss"})
    assert e["code"] == -32003
    e = a.error("account.change_password",
                {"password": PW, "new_password": "short"})
    assert e["code"] == -32602 and e["data"]["field"] == "new_password"
    new_pw = remember("Velvet-Stone 2288 moss")
    assert a.call("account.change_password",
                  {"password": PW, "new_password": new_pw}) == {}
    assert b.wait_closed() == 4001
    # the caller's own session lives on
    assert a.call("account.get")["handle"] == "changer"
    c = server.client()
    assert c.error("auth.resume", {"token": b.token})["code"] == -32001
    x, _ = login(server, "changer", new_pw)
    for y in (a, c, x):
        y.close()


def test_update_export_delete(server):
    a, r = register(server, "short_stay")
    b = server.client()
    b.call("auth.resume", {"token": r["token"]})
    u = a.call("account.update", {"display_name": "Short Stay", "bio": "hello"})
    assert u["display_name"] == "Short Stay" and u["bio"] == "hello"
    e = a.error("account.update", {"display_name": ""})
    assert e["code"] == -32602 and e["data"]["field"] == "display_name"
    ex = a.call("account.export")
    assert ex["account"]["handle"] == "short_stay"
    assert ex["account"]["bio"] == "hello"
    assert ex["sessions"]
    assert a.error("account.delete", {"password": "not my password"})["code"] == -32003
    try:
        # the reply may lose the race with the close of the caller's socket
        assert a.call("account.delete", {"password": PW}) == {}
    except Closed:
        pass
    # every connection of the account is closed, the caller's too
    assert a.wait_closed() == 4001
    assert b.wait_closed() == 4001
    c = server.client()
    assert c.error("auth.resume", {"token": r["token"]})["code"] == -32001
    # the handle is free again
    register(server, "short_stay")[0].close()
    c.close()


def test_admin_commands(server):
    out = server.cmd("admin", "create-account", "--handle", "site_boss",
                     "--admin", input=PW + "\n").stdout
    assert "site_boss" in out
    boss, r = login(server, "site_boss")
    assert r["account"]["is_admin"] is True
    # no stdin: a one-time set-password link
    out = server.cmd("admin", "create-account", "--handle", "invited_one",
                     "--display-name", "Invited One", input="").stdout
    token = reset_token(out)
    c = server.client()
    pw = remember("Harbor-Willow 6604 slate")
    r = c.call("auth.reset", {"reset_token": token, "password": pw})
    assert r["account"]["display_name"] == "Invited One"
    r = server.cmd("admin", "create-account", "--handle", "site_boss",
                   input=PW + "\n", check=False)
    assert r.returncode != 0
    r = server.cmd("admin", "create-account", "--handle", "Bad-Handle",
                   input=PW + "\n", check=False)
    assert r.returncode != 0
    boss.close()
    c.close()


def test_ban_closes_connections_and_refuses_login(server):
    boss = server.new_account(prefix="banner", admin=True)
    remember(boss.token)
    victim, r = register(server, "trouble")
    e = boss.call("admin.ban", {"account": r["account"]["id"],
                                "reason": "spam"})
    assert e["banned"] is True
    assert victim.wait_closed() == 4003
    c = server.client()
    e = c.error("auth.login", {"handle": "trouble", "password": PW})
    assert e["code"] == -32010
    assert c.error("auth.resume", {"token": r["token"]})["code"] == -32001
    boss.call("admin.unban", {"account": r["account"]["id"]})
    x, _ = login(server, "trouble")
    for y in (boss, c, x):
        y.close()


def test_methods_need_an_account(server):
    c = server.client()
    for m in ("auth.logout", "auth.sessions", "account.get", "account.export"):
        assert c.error(m)["code"] == -32001, m
    assert c.error("auth.revoke", {"session": 1})["code"] == -32001
    assert c.error("auth.resume", {"token": "garbage"})["code"] == -32001
    c.close()


def test_no_secret_in_clear_in_database_or_log(server):
    """Runs last: every password and token used above is absent from the
    database, its WAL and the server log (hashes only)."""
    assert len(SECRETS) > 10
    time.sleep(0.2)
    blobs = {}
    files = server.database_files()
    assert files
    for path in files + [server.log_path]:
        with open(path, "rb") as f:
            blobs[path] = f.read()
    for secret in SECRETS:
        needle = secret.encode()
        for path, data in blobs.items():
            assert needle not in data, "secret found in %s" % path
