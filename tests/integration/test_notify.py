"""The notification inbox over real WebSockets: replies to my annotation or
reply, @mentions, new threads in a followed chapter, live push of
notification.created to the account alone, unread counts, marking read,
and the visibility rule applied to every recipient (private annotations,
non-members).
"""
import pytest

from harness import Server



@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server for the file, with the post rate limit (SPEC §5, tested by
    the moderation tests) raised so that many posts in a minute pass."""
    srv = Server(tmp_path_factory.mktemp("scholia"),
                 env={"SCHOLIA_POSTS_PER_MINUTE": "100000"})
    srv.start()
    yield srv
    srv.stop()
    srv.assert_clean_exit()


@pytest.fixture(scope="module")
def world(make_world):
    return make_world(owner="nowner", circle_name="Inbox",
                      members={"ann": "nann", "ben": "nben"},
                      outsider="nout")


def post(w, client, body, chapter=None, visibility="circle"):
    return client.call("annotation.create", {
        "circle": w.circle, "chapter": chapter or w.chapters[0], "body": body,
        "target": None, "visibility": visibility})


def inbox(client, **kw):
    return client.call("notification.list", kw)


def about(items, annotation, kind=None):
    return [n for n in items if n["data"].get("annotation") == annotation and
            (kind is None or n["kind"] == kind)]


def test_reply_notifies_authors_live(world, server):
    w = world
    a = post(w, w.ann, "ann's thread")
    second = server.client()            # another connection of ann's
    second.call("auth.resume", {"token": w.ann.token})
    r = w.ben.call("reply.create", {"annotation": a["id"], "body": "ben here"})
    for c in (w.ann, second):
        ev = c.next_event("notification.created")
        n = ev["data"]
        assert n["kind"] == "reply" and n["read"] is False
        assert n["data"]["annotation"] == a["id"] and n["data"]["reply"] == r["id"]
        assert n["data"]["actor"]["id"] == w.ben.account["id"]
        assert n["circle"] == w.circle
    # nobody else hears of it, and the writer is not told about himself
    assert about(inbox(w.ben)["items"], a["id"]) == []
    assert about(inbox(w.owner)["items"], a["id"]) == []
    # an answer to ben's reply notifies ben and ann, once each
    w.owner.call("reply.create", {"annotation": a["id"], "body": "both of you",
                                  "parent": r["id"]})
    assert len(about(inbox(w.ben)["items"], a["id"], "reply")) == 1
    assert len(about(inbox(w.ann)["items"], a["id"], "reply")) == 2
    second.close()


def test_unread_count_and_read(world):
    w = world
    a = post(w, w.ben, "ben's thread")
    w.ann.call("reply.create", {"annotation": a["id"], "body": "one"})
    w.owner.call("reply.create", {"annotation": a["id"], "body": "two"})
    r = inbox(w.ben)
    assert r["unread"] >= 2
    mine = about(r["items"], a["id"])
    assert len(mine) == 2 and all(not n["read"] for n in mine)
    left = w.ben.call("notification.read", {"ids": [mine[0]["id"]]})
    assert left["unread"] == r["unread"] - 1
    unread = inbox(w.ben, unread=True)
    assert mine[0]["id"] not in [n["id"] for n in unread["items"]]
    assert mine[1]["id"] in [n["id"] for n in unread["items"]]
    assert w.ben.call("notification.read", {"all": True})["unread"] == 0
    assert inbox(w.ben, unread=True)["items"] == []
    assert inbox(w.ben)["unread"] == 0
    # someone else's ids change nothing of theirs
    other = inbox(w.ann)
    w.ben.call("notification.read", {"ids": [n["id"] for n in other["items"]]})
    assert inbox(w.ann)["unread"] == other["unread"]
    e = w.ben.error("notification.read", {})
    assert e["code"] == -32602
    e = w.ben.error("notification.read", {"ids": ["x"]})
    assert e["code"] == -32602 and e["data"]["field"] == "ids"


def test_mentions(world):
    w = world
    a = post(w, w.ann, "what do you think, @%s? and @%s (not a member), "
                       "and mail@%s is no mention" % (
                           w.ben.handle.upper(), w.outsider.handle, w.owner.handle))
    got = about(inbox(w.ben)["items"], a["id"], "mention")
    assert len(got) == 1 and got[0]["data"]["actor"]["handle"] == w.ann.handle
    assert about(inbox(w.outsider)["items"], a["id"]) == []
    assert about(inbox(w.owner)["items"], a["id"]) == []
    # an edit notifies only handles that are new
    w.ann.call("annotation.update", {"annotation": a["id"], "body":
                                     "@%s and now @%s" % (w.ben.handle, w.owner.handle)})
    assert len(about(inbox(w.ben)["items"], a["id"], "mention")) == 1
    assert len(about(inbox(w.owner)["items"], a["id"], "mention")) == 1


def test_private_annotation_never_notifies(world):
    w = world
    a = post(w, w.ann, "private: @%s @%s" % (w.ben.handle, w.owner.handle),
             visibility="private")
    w.ann.call("reply.create", {"annotation": a["id"], "body": "@%s" % w.ben.handle})
    for c in (w.ben, w.owner):
        assert about(inbox(c)["items"], a["id"]) == []


def test_follow_chapter_new_threads(world):
    w = world
    ch = w.chapters[1]
    r = w.ben.call("chapter.follow", {"circle": w.circle, "chapter": ch, "on": True})
    assert r == {"circle": w.circle, "chapter": ch, "on": True}
    a = post(w, w.ann, "new thread in a followed chapter", chapter=ch)
    while True:   # skip pushes left over from earlier tests
        ev = w.ben.next_event("notification.created")
        if ev["data"]["data"].get("annotation") == a["id"]:
            break
    assert ev["data"]["kind"] == "new_thread"
    assert ev["data"]["data"]["annotation"] == a["id"]
    assert ev["data"]["data"]["chapter"] == ch
    p = post(w, w.ann, "a private one there", chapter=ch, visibility="private")
    assert about(inbox(w.ben)["items"], p["id"]) == []
    own = post(w, w.ben, "my own thread there", chapter=ch)
    assert about(inbox(w.ben)["items"], own["id"]) == []
    w.ben.call("chapter.follow", {"circle": w.circle, "chapter": ch, "on": False})
    b = post(w, w.ann, "after unfollowing", chapter=ch)
    assert about(inbox(w.ben)["items"], b["id"]) == []
    e = w.ben.error("chapter.follow", {"circle": w.circle, "chapter": 99999999, "on": True})
    assert e["code"] == -32602 and e["data"]["field"] == "chapter"
    e = w.outsider.error("chapter.follow", {"circle": w.circle, "chapter": ch, "on": True})
    assert e["code"] == -32004
    e = w.ben.error("chapter.follow", {"circle": w.circle, "chapter": ch})
    assert e["code"] == -32602 and e["data"]["field"] == "on"


def test_pagination(world):
    w = world
    a = post(w, w.owner, "many replies")
    for i in range(55):
        w.ann.call("reply.create", {"annotation": a["id"], "body": "r%d" % i})
    first = inbox(w.owner)
    assert len(first["items"]) == 50 and first["next"] is not None
    second = inbox(w.owner, cursor=first["next"])
    seen = [n["id"] for n in first["items"]] + [n["id"] for n in second["items"]]
    assert len(seen) == len(set(seen))
    assert seen == sorted(seen, reverse=True)
    assert len(about(first["items"] + second["items"], a["id"])) == 55


def test_needs_auth(server):
    c = server.client()
    assert c.error("notification.list", {})["code"] == -32001
    c.close()


def test_spoiler_guard_withholds_notifications(world):
    w = world
    book = w.owner.call("book.list", {})["items"][0]["id"]
    circle = w.owner.call("circle.create", {"name": "Guarded", "book": book})["id"]
    w.owner.call("circle.update", {"circle": circle, "spoiler_guard": True})
    code = w.owner.call("circle.invite", {"circle": circle})["code"]
    w.ann.call("circle.join", {"code": code})
    w.ben.call("circle.join", {"code": code})
    late = w.chapters[5]
    w.ben.call("chapter.follow", {"circle": circle, "chapter": late, "on": True})

    def mention():
        return w.ann.call("annotation.create", {
            "circle": circle, "chapter": late, "target": None,
            "visibility": "circle", "body": "ahead: @%s" % w.ben.handle})["id"]

    ahead = mention()
    assert about(inbox(w.ben)["items"], ahead) == []
    w.ben.call("progress.set", {"circle": circle, "chapter": late})
    now = mention()
    kinds = sorted(n["kind"] for n in about(inbox(w.ben)["items"], now))
    assert kinds == ["mention"]   # once, though both a mention and a follow
