"""Reply by email: `scholia mail-in` reads a real multipart message (built
with Python's email package, as a mail client would send it) and posts
it, without the quote and the signature, as a reply; it refuses a forged
token, a wrong sender, a muted member and a locked thread (exit 65, with a
mail saying why) and asks the MTA to retry in slow mode (exit 75)."""
from email.message import EmailMessage

import pytest

from mailhelp import PUBLIC, REPLY_DOMAIN, mail_server, verified
from smtpsink import text_of


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    srv, sink = mail_server(tmp_path_factory.mktemp("mailin"))
    srv.start()
    yield srv, sink
    srv.stop()
    sink.stop()
    srv.assert_clean_exit()


class World:
    pass


@pytest.fixture(scope="module")
def w(env):
    srv, sink = env
    w = World()
    w.srv, w.sink = srv, sink
    w.ann = verified(srv, sink, "mann")   # owner
    w.ben = verified(srv, sink, "mben")   # member
    w.cat = verified(srv, sink, "mcat")   # member
    book = w.ann.call("book.list")["items"][0]["id"]
    w.circle = w.ann.call("circle.create", {"name": "Reply Circle",
                                            "book": book})["id"]
    code = w.ann.call("circle.invite", {"circle": w.circle})["code"]
    for c in (w.ben, w.cat):
        c.call("circle.join", {"code": code})
    for c in (w.ann, w.ben, w.cat):
        c.call("circle.notify", {"circle": w.circle, "email": "instant"})
    toc = w.ann.call("book.toc", {"book": book})
    w.chapter = toc["parts"][0]["chapters"][0]["id"]
    return w


def mail_in(w, msg):
    return w.srv.cmd("mail-in", input=msg.as_string(), check=False, env={
        "SCHOLIA_SMTP_URL": "smtp://127.0.0.1:%d" % w.sink.port,
        "SCHOLIA_MAIL_FROM": "Scholia <noreply@scholia.test>",
        "SCHOLIA_REPLY_TO_DOMAIN": REPLY_DOMAIN,
        "SCHOLIA_PUBLIC_URL": PUBLIC})


def thread_with_notice(w, author, replier, body):
    """author starts a thread, replier answers; returns the thread id and
    the notification mail author received (with its Reply-To)."""
    t = author.call("annotation.create", {
        "circle": w.circle, "chapter": w.chapter, "target": None,
        "body": body, "visibility": "circle"})["id"]
    replier.call("reply.create", {"annotation": t,
                                  "body": "answer to " + body})
    m = w.sink.wait_for(lambda m: m.to == author.email and
                        ("answer to " + body) in text_of(m))[0]
    return t, m


def reply_mail(frm, notice, text, to=None):
    msg = EmailMessage()
    msg["From"] = "Some Reader <%s>" % frm
    msg["To"] = to or notice["Reply-To"]
    msg["Subject"] = "Re: " + notice["Subject"]
    msg["In-Reply-To"] = notice["Message-ID"]
    quoted = "\n".join("> " + line for line in text_of(notice).splitlines())
    msg.set_content("%s\n\n-- \nSent from a test\n\nOn Sun, 6 Dec 2026 at "
                    "07:00, Scholia wrote:\n%s\n" % (text, quoted))
    msg.add_alternative("<p>%s</p><blockquote>%s</blockquote>" %
                        (text, "quoted"), subtype="html")
    return msg


def replies(w, client, t):
    return [r["body"] for r in
            client.call("annotation.get", {"annotation": t})["replies"]]


def test_a_reply_by_mail_is_posted_without_quote_or_signature(w):
    t, notice = thread_with_notice(w, w.ann, w.ben, "Posting by mail?")
    text = "Yes, **by mail** works, @%s." % w.cat.handle
    r = mail_in(w, reply_mail(w.ann.email, notice, text))
    assert r.returncode == 0, r.stderr
    bodies = replies(w, w.ann, t)
    assert bodies[-1] == text
    # what the posted reply causes goes out too: cat is mentioned
    w.sink.wait_for(lambda m: m.to == w.cat.email and
                    "mentioned you" in text_of(m) and
                    "by mail" in text_of(m))


def test_forged_token_and_wrong_sender_are_refused(w):
    t, notice = thread_with_notice(w, w.ann, w.ben, "Forgery target")
    good = notice["Reply-To"]
    local, domain = good.split("@")
    forged = local[:-4] + ("0000" if local[-4:] != "0000" else "1111")
    r = mail_in(w, reply_mail(w.ann.email, notice, "forged one",
                              to="%s@%s" % (forged, domain)))
    assert r.returncode == 65
    w.sink.wait_for(lambda m: m.to == w.ann.email and
                    "not one we gave out" in text_of(m))
    # another account's token moved to cat's own mail: refused too
    r = mail_in(w, reply_mail(w.cat.email, notice, "not my token"))
    assert r.returncode == 65
    w.sink.wait_for(lambda m: m.to == w.cat.email and
                    "Not posted" in m["Subject"])
    # a stranger gets no reply mail at all (no backscatter)
    r = mail_in(w, reply_mail("stranger@elsewhere.example", notice, "hi"))
    assert r.returncode == 65
    assert w.sink.to("stranger@elsewhere.example") == []
    assert "forged one" not in replies(w, w.ann, t)
    assert "not my token" not in replies(w, w.ann, t)


def test_muted_member_and_locked_thread_are_refused(w):
    t, notice = thread_with_notice(w, w.ben, w.ann, "Mute target")
    w.ann.call("mod.mute", {"circle": w.circle,
                            "account": w.ben.account["id"],
                            "reason": "cooling off"})
    r = mail_in(w, reply_mail(w.ben.email, notice, "while muted"))
    assert r.returncode == 65
    w.sink.wait_for(lambda m: m.to == w.ben.email and
                    "muted" in text_of(m) and "Not posted" in m["Subject"])
    w.ann.call("mod.unmute", {"circle": w.circle,
                              "account": w.ben.account["id"]})
    w.ann.call("mod.lock", {"annotation": t, "reason": "done"})
    r = mail_in(w, reply_mail(w.ben.email, notice, "while locked"))
    assert r.returncode == 65
    w.sink.wait_for(lambda m: m.to == w.ben.email and
                    "locked" in text_of(m) and "Not posted" in m["Subject"])
    assert not any(b in ("while muted", "while locked")
                   for b in replies(w, w.ann, t))


def test_slow_mode_asks_the_mta_to_retry(w):
    t, notice = thread_with_notice(w, w.cat, w.ann, "Slow target")
    w.ann.call("mod.slow", {"circle": w.circle, "seconds": 600})
    try:
        # cat posted the thread just now: slow mode holds the next post
        r = mail_in(w, reply_mail(w.cat.email, notice, "too soon"))
        assert r.returncode == 75
        assert "too soon" not in replies(w, w.cat, t)
    finally:
        w.ann.call("mod.slow", {"circle": w.circle, "seconds": 0})
