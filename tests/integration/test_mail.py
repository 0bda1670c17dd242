"""Email out: verified addresses, password reset by mail, invitations by
mail, notification mails (instant, batched, digest) and one-click
unsubscribe, against a real SMTP server on loopback (tests/integration/
smtpsink.py, aiosmtpd) that the test starts itself."""
import json
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
    # saving the same address again keeps it verified
    assert c.call("account.update", {"email": addr})["email_verified"] is True
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


# ---- notification mails ----

class World:
    pass


@pytest.fixture(scope="module")
def world(env):
    srv, sink = env
    w = World()
    w.ann = verified(srv, sink, "ann")    # owner, instant
    w.ben = verified(srv, sink, "ben")    # member, instant
    w.cat = verified(srv, sink, "cat")    # member, daily (the default)
    book = book_id(w.ann)
    w.circle = w.ann.call("circle.create", {"name": "Mail Circle",
                                            "book": book})["id"]
    code = w.ann.call("circle.invite", {"circle": w.circle})["code"]
    w.ben.call("circle.join", {"code": code})
    w.cat.call("circle.join", {"code": code})
    toc = w.ann.call("book.toc", {"book": book})
    w.chapters = [c["id"] for p in toc["parts"] for c in p["chapters"]]
    for c in (w.ann, w.ben):
        assert c.call("circle.notify", {"circle": w.circle,
                                        "email": "instant"})["email"] == "instant"
    assert w.cat.call("circle.notify", {"circle": w.circle})["email"] == "daily"
    return w


def post(client, w, body, chapter=None, visibility="circle"):
    return client.call("annotation.create", {
        "circle": w.circle, "chapter": chapter or w.chapters[0],
        "target": None, "body": body, "visibility": visibility})["id"]


def about(sink, addr, needle):
    return [m for m in sink.to(addr) if needle in text_of(m)]


def test_reply_mails_at_once_then_batches_the_thread(env, world):
    srv, sink = env
    w = world
    text = w.ann.call("chapter.get", {"chapter": w.chapters[0]})["text"]
    quote = text[40:90]
    thread = w.ann.call("annotation.create", {
        "circle": w.circle, "chapter": w.chapters[0],
        "body": "What did the **Pioneers** sell first?",
        "visibility": "circle", "target": {"selector": [
            {"type": "TextQuoteSelector", "exact": quote,
             "prefix": text[8:40], "suffix": text[90:122]},
            {"type": "TextPositionSelector", "start": 40, "end": 90}]}})["id"]
    # three replies in one JSON-RPC batch (one transaction, one instant):
    # the first is mailed at once, the two others wait for the window
    bodies = ["Flour and *butter*, first reply", "second reply", "third reply"]
    w.ben.send_text(json.dumps([
        {"jsonrpc": "2.0", "id": "b%d" % i, "method": "reply.create",
         "params": {"annotation": thread, "body": b}}
        for i, b in enumerate(bodies)]))
    while True:
        r = w.ben.recv_json()
        if isinstance(r, list):
            assert all("result" in x for x in r), r
            break
    first = sink.wait_for(lambda m: m.to == w.ann.email and
                          "first reply" in text_of(m))[0]
    assert "second reply" not in text_of(first)
    batch = sink.wait_for(lambda m: m.to == w.ann.email and
                          "second reply" in text_of(m))[0]
    assert "third reply" in text_of(batch)
    assert "first reply" not in text_of(batch)
    assert "2 new" in batch["Subject"]
    # the first mail: both parts, the rendered Markdown, the passage link,
    # one-click unsubscribe and a reply address for this reader and thread
    html = text_of(first, "html")
    assert "<em>butter</em>" in html
    # the passage the thread is anchored to is quoted
    assert "> " + quote.split("\n")[0] in text_of(first)
    link = "%s/#/read/%d/%d?a=%d" % (PUBLIC, w.circle, w.chapters[0], thread)
    assert link in text_of(first) and link in html
    assert first["List-Unsubscribe"].startswith("<%s/api/mail/unsubscribe?t="
                                                % PUBLIC)
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.match(r"<?reply\+%d-%d-[0-9a-f]{20}@reply\.scholia\.test>?$" %
                    (w.ann.account["id"], thread), first["Reply-To"])
    assert first["Message-ID"] != batch["Message-ID"]


def test_mention_and_moderation_mails(env, world):
    srv, sink = env
    w = world
    thread = post(w.ben, w, "Hello @%s, look at this" % w.ann.handle)
    sink.wait_for(lambda m: m.to == w.ann.email and
                  "mentioned you" in text_of(m) and
                  "look at this" in text_of(m))
    w.ann.call("mod.hide", {"target": {"annotation": thread},
                            "reason": "off topic here"})
    m = sink.wait_for(lambda m: m.to == w.ben.email and
                      "A moderator" in text_of(m))[0]
    assert "off topic here" in text_of(m)
    assert "look at this" not in text_of(m)  # never a hidden body


def test_daily_members_get_no_instant_mail(env, world):
    srv, sink = env
    w = world
    post(w.ann, w, "Calling @%s for the digest" % w.cat.handle)
    time.sleep(2.5)
    assert about(sink, w.cat.email, "Calling") == []


def test_nothing_is_mailed_for_private_hidden_or_withheld_posts(env, world):
    srv, sink = env
    w = world
    # private: nobody else may know of it
    post(w.ben, w, "secret note for @%s" % w.ann.handle, visibility="private")
    # hidden before the mail that would carry it went out: cat (daily)
    # is mentioned twice; one of the posts is hidden before the digest
    hid = post(w.ben, w, "to be hidden soon, @%s" % w.cat.handle)
    w.ann.call("mod.hide", {"target": {"annotation": hid}, "reason": "spam"})
    post(w.ben, w, "visible for the digest, @%s" % w.cat.handle)
    mail_cmd(srv, sink, "mail", "digests")
    digest = sink.wait_for(lambda m: m.to == w.cat.email and
                           "digest" in m["Subject"])[0]
    assert "visible for the digest" in text_of(digest)
    assert "to be hidden soon" not in text_of(digest)
    assert "to be hidden soon" not in text_of(digest, "html")
    # withheld by the spoiler guard: ben (a member) has not read that far
    w.ann.call("circle.update", {"circle": w.circle, "spoiler_guard": True})
    w.ben.call("progress.set", {"circle": w.circle, "chapter": w.chapters[0]})
    post(w.ann, w, "spoiler for @%s" % w.ben.handle, chapter=w.chapters[-1])
    time.sleep(3.5)
    w.ann.call("circle.update", {"circle": w.circle, "spoiler_guard": False})
    assert about(sink, w.ann.email, "secret note") == []
    assert about(sink, w.ben.email, "spoiler for") == []


def test_one_click_unsubscribe(env, world):
    srv, sink = env
    w = world
    thread = post(w.ben, w, "Unsubscribe test thread")
    w.ann.call("reply.create", {"annotation": thread, "body": "ann answers"})
    m = sink.wait_for(lambda m: m.to == w.ben.email and
                      "ann answers" in text_of(m))[0]
    url = m["List-Unsubscribe"].strip("<>")
    path = url[len(PUBLIC):]
    # a GET (a link scanner) does not unsubscribe; an altered token fails
    st, _, body = srv.http("GET", path)
    assert st == 200 and "<form" in body
    assert w.ben.call("circle.notify", {"circle": w.circle})["email"] == "instant"
    st, _, _ = srv.http("POST", path[:-3] + "000",
                        body="List-Unsubscribe=One-Click",
                        headers={"Content-Type":
                                 "application/x-www-form-urlencoded"})
    assert st == 404
    st, _, _ = srv.http("POST", path, body="List-Unsubscribe=One-Click",
                        headers={"Content-Type":
                                 "application/x-www-form-urlencoded"})
    assert st == 200
    assert w.ben.call("circle.notify", {"circle": w.circle})["email"] == "off"
    w.ann.call("reply.create", {"annotation": thread, "body": "after unsub"})
    time.sleep(2.5)
    assert about(sink, w.ben.email, "after unsub") == []
    w.ben.call("circle.notify", {"circle": w.circle, "email": "instant"})


# ---- the daily digest ----

def label(ch):
    return "chapter %d" % ch["number"] if ch["number"] is not None \
        else '"%s"' % ch["title"]


def mail_cmd(srv, sink, *args, **kw):
    return srv.cmd(*args, env={
        "SCHOLIA_SMTP_URL": "smtp://127.0.0.1:%d" % sink.port,
        "SCHOLIA_MAIL_FROM": "Scholia <noreply@scholia.test>",
        "SCHOLIA_PUBLIC_URL": PUBLIC}, **kw)


def test_digest_follows_each_members_progress(env):
    import datetime
    srv, sink = env
    own = verified(srv, sink, "dgown")
    cat = verified(srv, sink, "dgcat")
    dan = verified(srv, sink, "dgdan")
    book = book_id(own)
    circle = own.call("circle.create", {"name": "Digest Circle",
                                        "book": book})["id"]
    own.call("circle.update", {"circle": circle, "spoiler_guard": True})
    code = own.call("circle.invite", {"circle": circle})["code"]
    cat.call("circle.join", {"code": code})
    dan.call("circle.join", {"code": code})
    toc = own.call("book.toc", {"book": book})
    chs = [c for p in toc["parts"] for c in p["chapters"]]
    c1, c2, c3 = chs[3], chs[4], chs[5]
    today = datetime.date.today()
    meet = today + datetime.timedelta(days=2)
    own.call("plan.set", {"circle": circle, "entries": [
        {"chapter": c1["id"], "due": str(today - datetime.timedelta(days=5))},
        {"chapter": c2["id"], "due": str(meet)},
        {"chapter": c3["id"], "due": str(today + datetime.timedelta(days=9))}]})
    cat.call("progress.set", {"circle": circle, "chapter": c1["id"]})
    dan.call("progress.set", {"circle": circle, "chapter": c2["id"]})

    def thread(ch, body):
        return own.call("annotation.create", {
            "circle": circle, "chapter": ch["id"], "target": None,
            "body": body, "visibility": "circle"})["id"]
    thread(c1, "Nobody answers this question?")
    t = thread(c1, "A discussed thread")
    dan.call("reply.create", {"annotation": t,
                              "body": "@%s what do you think?" % cat.handle})
    thread(c2, "Chapter two first")
    thread(c2, "Chapter two second")
    thread(c3, "Chapter three secret")
    r = mail_cmd(srv, sink, "mail", "digests")
    assert "queued" in r.stdout
    got = sink.wait_for(lambda m: m.to == cat.email and
                        "digest" in m["Subject"])
    body = text_of(got[0])
    assert ("You have read to %s; the circle meets %s on %s." %
            (label(c1), meet.strftime("%A"), label(c2))) in body.replace(
                " %d %s" % (meet.day, meet.strftime("%B")), "")
    assert "New in %s: 2 threads, 1 question nobody answered." % label(c1) in body
    assert "Waiting for you in %s: 2 threads." % label(c2) in body
    assert "what do you think?" in body  # the mention that waited
    assert "Nobody answers this question?" in body
    assert "Chapter two first" not in body  # withheld: a count only
    assert got[0]["List-Unsubscribe"]
    got = sink.wait_for(lambda m: m.to == dan.email and
                        "digest" in m["Subject"])
    body = text_of(got[0])
    assert "You have read to %s;" % label(c2) in body
    assert "New in %s: 2 threads, 2 questions nobody answered." % label(c2) in body
    assert "Waiting for you in %s: 1 thread." % label(c3) in body
    assert "Chapter three secret" not in body
    # a second run within 20 hours sends no second digest
    mail_cmd(srv, sink, "mail", "digests")
    time.sleep(1.5)
    assert len([m for m in sink.to(cat.email) if "digest" in m["Subject"]]) == 1


def test_plan_reminder_the_day_before(env, world):
    import datetime
    srv, sink = env
    w = world
    tomorrow = str(datetime.date.today() + datetime.timedelta(days=1))
    w.ann.call("plan.set", {"circle": w.circle, "entries": [
        {"chapter": w.chapters[1], "due": tomorrow}]})
    m = sink.wait_for(lambda m: m.to == w.ben.email and
                      "by tomorrow" in text_of(m))[0]
    assert tomorrow in text_of(m) and "Mail Circle" in text_of(m)
    assert "%s/#/read/%d/%d" % (PUBLIC, w.circle, w.chapters[1]) in text_of(m)
    time.sleep(2.5)  # checked again after a window: still one reminder
    assert len([x for x in sink.to(w.ben.email)
                if "by tomorrow" in text_of(x)]) == 1


def test_new_thread_in_a_followed_chapter(env, world):
    srv, sink = env
    w = world
    w.ben.call("chapter.follow", {"circle": w.circle,
                                  "chapter": w.chapters[2], "on": True})
    post(w.ann, w, "A fresh thread in a followed chapter", chapter=w.chapters[2])
    m = sink.wait_for(lambda m: m.to == w.ben.email and
                      "started a thread" in text_of(m))[0]
    assert "A fresh thread in a followed chapter" in text_of(m)
