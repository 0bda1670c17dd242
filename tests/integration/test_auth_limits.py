"""Login limits, session expiry and invite-only registration, on a server
started with a 2-second idle session lifetime and --registration invite.

Login failures are limited per handle and per peer address (SPEC §5). To
tell the two apart the tests connect from several loopback addresses
(127.0.0.2, 127.0.0.3, ...), which the server sees as different peers.
"""
import concurrent.futures
import json
import time

import pytest

from harness import Server

PW = "correct horse battery"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("scholia"),
                 env={"SCHOLIA_SESSION_IDLE": "2",
                      "SCHOLIA_REGISTRATION": "invite"})
    srv.start()
    yield srv
    srv.stop()
    srv.assert_clean_exit()


def call_from(server, addr, method, params):
    return server.call_from(addr, method, params)


def create(server, handle):
    server.create_account(handle, PW)


def test_invite_only_registration(server):
    c = server.client()
    e = c.error("auth.register", {"handle": "walk_in", "password": PW})
    assert e["code"] == -32003
    e = c.error("auth.register", {"handle": "walk_in", "password": PW,
                                  "invite": "no-such-code"})
    assert e["code"] == -32602 and e["data"]["field"] == "invite"
    c.close()


def test_idle_session_expires(server):
    create(server, "sleepy")
    c = server.client()
    r = c.call("auth.login", {"handle": "sleepy", "password": PW})
    d = server.client()
    assert d.call("auth.resume", {"token": r["token"]})["account"]["handle"] == "sleepy"
    time.sleep(3.5)  # idle lifetime is 2 s
    e = server.client()
    assert e.error("auth.resume", {"token": r["token"]})["code"] == -32001
    for x in (c, d, e):
        x.close()


def test_per_handle_limit_refuses_even_the_right_password(server):
    create(server, "target_one")
    for _ in range(5):
        r = call_from(server, "127.0.0.2", "auth.login",
                      {"handle": "target_one", "password": "wrong guess 123"})
        assert r["error"]["code"] == -32001
    # from a fresh address, with the right password: still refused
    r = call_from(server, "127.0.0.3", "auth.login",
                  {"handle": "target_one", "password": PW})
    assert r["error"]["code"] == -32029
    assert r["error"]["data"]["retry_after_ms"] > 1000
    # another handle from that fresh address is fine
    create(server, "innocent")
    r = call_from(server, "127.0.0.3", "auth.login",
                  {"handle": "innocent", "password": PW})
    assert "result" in r, r


def test_per_address_limit(server):
    create(server, "bystander_acct")
    for i in range(5):
        r = call_from(server, "127.0.0.4", "auth.login",
                      {"handle": "ghost_%d" % i, "password": "wrong guess 123"})
        assert r["error"]["code"] == -32001
    r = call_from(server, "127.0.0.4", "auth.login",
                  {"handle": "bystander_acct", "password": PW})
    assert r["error"]["code"] == -32029
    assert r["error"]["data"]["retry_after_ms"] > 1000
    # the account itself is not locked for others
    r = call_from(server, "127.0.0.5", "auth.login",
                  {"handle": "bystander_acct", "password": PW})
    assert "result" in r, r


def test_parallel_guesses_cannot_pass_the_limit(server):
    create(server, "burst_target")

    def guess(_):
        return call_from(server, "127.0.0.6", "auth.login",
                         {"handle": "burst_target", "password": "wrong guess 123"})
    with concurrent.futures.ThreadPoolExecutor(12) as ex:
        results = list(ex.map(guess, range(24)))
    codes = [r["error"]["code"] for r in results]
    assert set(codes) <= {-32001, -32029}
    # no more than the limit were ever checked against the hash
    assert codes.count(-32001) <= 5
    assert codes.count(-32029) >= 19


def test_http_login_is_limited_too(server):
    # 127.0.0.1 has had no failures yet
    create(server, "http_user")
    for _ in range(5):
        status, _, _ = server.http("POST", "/api/session",
                                   {"handle": "http_user",
                                    "password": "wrong guess 123"})
        assert status == 401
    status, hdrs, body = server.http("POST", "/api/session",
                                     {"handle": "http_user", "password": PW})
    assert status == 429
    assert json.loads(body)["error"]["data"]["retry_after_ms"] > 1000
    assert "set-cookie" not in hdrs
