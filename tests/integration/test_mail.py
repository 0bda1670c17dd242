"""Email out: verified addresses, password reset by mail, invitations by
mail, notification mails (instant, batched, digest) and one-click
unsubscribe, against a real SMTP server on loopback (tests/integration/
smtpsink.py, aiosmtpd) that the test starts itself."""
import re
import time

import pytest

from mailhelp import PUBLIC, link_in, mail_server, verified
from smtpsink import text_of


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    srv, sink = mail_server(tmp_path_factory.mktemp("mail"))
    srv.start()
    yield srv, sink
    srv.stop()
    sink.stop()
    srv.assert_clean_exit()


def book_id(c):
    return c.call("book.list")["items"][0]["id"]


def test_server_info_says_mail_is_on(env):
    srv, _ = env
    assert srv.client().call("server.info")["mail"] is True


def test_address_is_used_only_once_verified(env):
    srv, sink = env
    c = srv.new_account("verif")
    addr = c.handle + "@example.org"
    e = c.error("account.update", {"email": "not an address"})
    assert e["code"] == -32602 and e["data"]["field"] == "email"
    r = c.call("account.update", {"email": addr})
    assert r["email"] == addr and r["email_verified"] is False
    msg = sink.wait_for(lambda m: m.to == addr)[0]
    assert msg["Message-ID"] and "Confirm" in msg["Subject"]
    assert msg.get_body(preferencelist=("html",)) is not None
    token = link_in(msg, "verify")
    # the address is not used before it is verified: no reset mail
    anon = srv.client()
    assert anon.call("auth.forgot", {"handle": c.handle}) == {}
    assert anon.error("auth.verify_email",
                      {"token": token[:-2] + "xx"})["code"] == -32004
    assert anon.call("auth.verify_email", {"token": token}) == \
        {"email_verified": True}
    # a link works once
    assert anon.error("auth.verify_email", {"token": token})["code"] == -32004
    got = c.call("account.get")
    assert got["email"] == addr and got["email_verified"] is True
    time.sleep(1.5)
    assert [m for m in sink.to(addr) if "Reset" in m["Subject"]] == []
    # the export carries the address
    assert c.call("account.export")["email"]["email"] == addr


def test_other_members_never_see_an_address(env):
    srv, sink = env
    a = verified(srv, sink, "hidden")
    b = srv.new_account("peer")
    circle = a.call("circle.create", {"name": "Private addresses",
                                      "book": book_id(a)})
    inv = a.call("circle.invite", {"circle": circle["id"]})
    b.call("circle.join", {"code": inv["code"]})
    for method, params in [("circle.members", {"circle": circle["id"]}),
                           ("circle.get", {"circle": circle["id"]})]:
        assert a.email not in str(b.call(method, params))


def test_forgot_mails_a_reset_link_that_works(env):
    srv, sink = env
    c = verified(srv, sink, "forgetful")
    anon = srv.client()
    assert anon.call("auth.forgot", {"handle": "nobody_here"}) == {}
    assert anon.call("auth.forgot", {"handle": c.handle}) == {}
    msg = sink.wait_for(lambda m: m.to == c.email and
                        "Reset" in m["Subject"])[0]
    token = link_in(msg, "reset")
    anon.call("auth.reset", {"reset_token": token,
                             "password": "a brand new passphrase 9"})
    r = srv.client().call("auth.login", {"handle": c.handle,
                                         "password": "a brand new passphrase 9"})
    assert r["account"]["id"] == c.account["id"]


def test_forgot_past_its_limit_answers_the_same_and_sends_nothing(env):
    srv, sink = env
    c = verified(srv, sink, "limited")
    anon = srv.client()
    for _ in range(5):
        assert anon.call("auth.forgot", {"handle": c.handle}) == {}
    sink.wait_for(lambda m: m.to == c.email and "Reset" in m["Subject"],
                  count=3)
    time.sleep(1.5)
    assert len([m for m in sink.to(c.email) if "Reset" in m["Subject"]]) == 3


def test_invitation_by_mail(env):
    srv, sink = env
    owner = srv.new_account("inviter")
    owner.call("account.update", {"display_name": "Ada Inviter"})
    circle = owner.call("circle.create", {"name": "Thursday Readers",
                                          "book": book_id(owner)})
    inv = owner.call("circle.invite", {"circle": circle["id"],
                                       "email": "friend@example.org"})
    msg = sink.wait_for(lambda m: m.to == "friend@example.org")[0]
    body = text_of(msg)
    assert inv["url"] in body and inv["url"].startswith(PUBLIC)
    assert "Thursday Readers" in body and "Ada Inviter" in body
    title = owner.call("book.list")["items"][0]["title"]
    assert title and title in body
    e = owner.error("circle.invite", {"circle": circle["id"],
                                      "email": "bad@@x"})
    assert e["code"] == -32602


def test_metrics_count_mail(env):
    srv, _ = env
    _, _, body = srv.http("GET", "/metrics")
    sent = re.search(r"^scholia_mail_sent_total (\d+)$", body, re.M)
    assert sent and int(sent.group(1)) >= 3
    assert re.search(r"^scholia_mail_queued_total \d+$", body, re.M)
    assert re.search(r"^scholia_mail_deferred_total \d+$", body, re.M)
    assert re.search(r"^scholia_mail_failed_total \d+$", body, re.M)
