"""Annotations, replies, reactions and their events over real WebSockets.

One server for the file. A circle on the sample book with an owner, two
members and an outsider who owns another circle; real passages come from
chapter.get's text. Covers every threads method's success and errors, live
delivery to other subscribers, private annotations never reaching anyone
else (list, get, events), tombstones, edit history, the SPEC §5 limits and
locked threads (through mod.lock).
"""
import pytest

from harness import Server
from wsclient import Closed


BODY_MAX = 10000
EXACT_MAX = 4000


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
    w = make_world(owner="owner", members=("alice", "bob"), outsider="eve",
                   texts=True)
    w.eve = w.outsider
    # the longest chapter holds passages and an over-long quote
    w.chapter = max(w.texts, key=lambda k: len(w.texts[k]))
    w.text = w.texts[w.chapter]
    w.other_chapter = [c for c in w.chapters if c != w.chapter][0]
    w.other = w.eve.call("circle.create", {"name": "Elsewhere",
                                           "book": w.book})["id"]
    return w


def target(text, start, end):
    return {"selector": [
        {"type": "TextQuoteSelector", "exact": text[start:end],
         "prefix": text[max(0, start - 32):start],
         "suffix": text[end:end + 32]},
        {"type": "TextPositionSelector", "start": start, "end": end}]}


def create(w, client, body="A thought", start=None, end=None, **kw):
    p = {"circle": w.circle, "chapter": w.chapter, "body": body,
         "visibility": "circle", "target": None}
    if start is not None:
        p["target"] = target(w.text, start, end)
    p.update(kw)
    return client.call("annotation.create", p)


def subscribe(client, circle):
    r = client.call("circle.subscribe", {"circle": circle})
    client.drain_events(0.05)
    return r


def wait_event(client, type, pred=lambda ev: True, timeout=5):
    """The next event of this type satisfying pred (earlier ones skipped)."""
    while True:
        ev = client.next_event(type, timeout)
        if pred(ev):
            return ev


def ids(items):
    return [i["id"] for i in items]


def test_create_passage_annotation_shape(world):
    w = world
    a = create(w, w.alice, "On *this* passage", 100, 140)
    assert a["circle"] == w.circle and a["chapter"] == w.chapter
    assert a["author"]["id"] == w.alice.account["id"]
    assert a["author"]["handle"] == w.alice.handle
    assert a["body"] == "On *this* passage"
    assert a["body_html"] == "<p>On <em>this</em> passage</p>\n"
    assert a["visibility"] == "circle"
    sel = a["target"]["selector"]
    assert [s["type"] for s in sel] == ["TextQuoteSelector", "TextPositionSelector"]
    assert sel[0]["exact"] == w.text[100:140]
    assert (sel[1]["start"], sel[1]["end"]) == (100, 140)
    assert a["anchor"] == "exact"
    assert a["reactions"] == {"agree": 0, "insightful": 0, "question": 0,
                              "disagree": 0}
    assert a["my_reactions"] == [] and a["reply_count"] == 0
    for k in ("edited", "pinned", "locked", "hidden", "deleted"):
        assert a[k] is False, k
    assert a["created_at"].endswith("Z") and "T" in a["created_at"]
    got = w.bob.call("annotation.get", {"annotation": a["id"]})
    assert got["body"] == a["body"] and got["replies"] == []


def test_chapter_level_thread(world):
    w = world
    a = create(w, w.bob, "About the whole chapter")
    assert a["target"] is None
    assert a["anchor"] == "exact"


def test_target_relocated_from_quote(world):
    w = world
    t = target(w.text, 200, 230)
    t["selector"][1]["start"] += 7   # wrong offsets, right quote
    t["selector"][1]["end"] += 7
    a = w.alice.call("annotation.create", {
        "circle": w.circle, "chapter": w.chapter, "body": "x", "target": t,
        "visibility": "circle"})
    assert a["target"]["selector"][1]["start"] == 200


def test_create_errors(world):
    w = world
    base = {"circle": w.circle, "chapter": w.chapter, "body": "x",
            "visibility": "circle", "target": None}

    def err(client, **kw):
        p = dict(base)
        p.update(kw)
        return client.error("annotation.create", p)

    e = err(w.alice, body="")
    assert e["code"] == -32602 and e["data"]["field"] == "body"
    e = err(w.alice, body="   \n ")
    assert e["code"] == -32602 and e["data"]["field"] == "body"
    e = err(w.alice, visibility="public")
    assert e["code"] == -32602 and e["data"]["field"] == "visibility"
    e = err(w.alice, chapter=99999999)
    assert e["code"] == -32602 and e["data"]["field"] == "chapter"
    e = err(w.alice, target="nope")
    assert e["code"] == -32602 and e["data"]["field"] == "target"
    e = err(w.alice, target={"selector": [{"type": "CssSelector"}]})
    assert e["code"] == -32602 and e["data"]["field"].startswith("target")
    bogus = target(w.text, 100, 140)
    bogus["selector"][0]["exact"] = "words that are not in this chapter at all, zq"
    bogus["selector"][0]["prefix"] = bogus["selector"][0]["suffix"] = ""
    e = err(w.alice, target=bogus)
    assert e["code"] == -32602 and e["data"]["field"].startswith("target")
    e = err(w.alice, surprise=1)
    assert e["code"] == -32602 and e["data"]["field"] == "surprise"
    e = err(w.alice, circle=99999999)
    assert e["code"] == -32004


def test_body_limit_counts_code_points(world):
    w = world
    ok = create(w, w.alice, "\u00e9" * BODY_MAX)   # 20,000 bytes, 10,000 cp
    assert len(ok["body"]) == BODY_MAX
    e = w.alice.error("annotation.create", {
        "circle": w.circle, "chapter": w.chapter, "target": None,
        "visibility": "circle", "body": "\u00e9" * (BODY_MAX + 1)})
    assert e["code"] == -32013
    e = w.alice.error("reply.create", {"annotation": ok["id"],
                                       "body": "b" * (BODY_MAX + 1)})
    assert e["code"] == -32013
    e = w.alice.error("annotation.update", {"annotation": ok["id"],
                                            "body": "b" * (BODY_MAX + 1)})
    assert e["code"] == -32013


def test_exact_limit(world):
    w = world
    assert len(w.text) > EXACT_MAX + 100, "need a long chapter"
    e = w.alice.error("annotation.create", {
        "circle": w.circle, "chapter": w.chapter, "body": "long quote",
        "visibility": "circle", "target": target(w.text, 10, 10 + EXACT_MAX + 1)})
    assert e["code"] == -32013
    ok = create(w, w.alice, "just at the limit", 10, 10 + EXACT_MAX)
    assert len(ok["target"]["selector"][0]["exact"]) == EXACT_MAX


def test_list_order_and_pagination_shape(world):
    w = world
    late = create(w, w.bob, "late passage", 3000, 3010)
    early = create(w, w.bob, "early passage", 50, 60)
    r = w.alice.call("annotation.list", {"circle": w.circle, "chapter": w.chapter})
    assert r["next"] is None
    got = ids(r["items"])
    assert got.index(early["id"]) < got.index(late["id"])
    starts = [i["target"]["selector"][1]["start"] if i["target"] else -1
              for i in r["items"] if not i["pinned"]]
    assert starts == sorted(starts)
    # pinned threads come first
    w.owner.call("mod.pin", {"annotation": late["id"], "on": True})
    r = w.alice.call("annotation.list", {"circle": w.circle, "chapter": w.chapter})
    assert r["items"][0]["id"] == late["id"] and r["items"][0]["pinned"] is True
    w.owner.call("mod.pin", {"annotation": late["id"], "on": False})
    e = w.alice.error("annotation.list", {"circle": w.circle, "chapter": 99999999})
    assert e["code"] == -32602 and e["data"]["field"] == "chapter"


def test_live_delivery_to_other_subscribers(world, server):
    w = world
    c1 = server.client()
    c1.call("auth.resume", {"token": w.bob.token})
    subscribe(c1, w.circle)
    subscribe(w.owner, w.circle)
    a = create(w, w.alice, "live one", 400, 420)
    for c in (c1, w.owner):
        ev = wait_event(c, "annotation.created", lambda e: e["data"]["id"] == a["id"])
        assert ev["circle"] == w.circle and ev["seq"] > 0
        assert ev["data"]["body"] == "live one"
        assert ev["data"]["author"]["id"] == w.alice.account["id"]
    r = w.owner.call("reply.create", {"annotation": a["id"], "body": "welcome"})
    ev = wait_event(c1, "reply.created", lambda e: e["data"]["id"] == r["id"])
    assert ev["data"]["annotation"] == a["id"] and ev["data"]["parent"] is None
    w.owner.call("reaction.toggle", {"target": {"annotation": a["id"]},
                                     "kind": "insightful"})
    ev = wait_event(c1, "reaction.changed",
                    lambda e: e["data"]["target"] == {"annotation": a["id"]})
    assert ev["data"]["reactions"]["insightful"] == 1
    # catch-up: the events after a seq replay in order
    seq = ev["seq"]
    w.alice.call("annotation.update", {"annotation": a["id"], "body": "live two"})
    ev2 = wait_event(c1, "annotation.updated", lambda e: e["data"]["id"] == a["id"])
    assert ev2["seq"] > seq and ev2["data"]["body"] == "live two"
    r = w.bob.call("circle.subscribe", {"circle": w.circle, "since_seq": seq})
    types = [e["type"] for e in r["events"]]
    assert "annotation.updated" in types
    c1.close()


def test_private_never_reaches_others(world, server):
    w = world
    watcher = server.client()
    watcher.call("auth.resume", {"token": w.bob.token})
    subscribe(watcher, w.circle)
    owner_watch = server.client()
    owner_watch.call("auth.resume", {"token": w.owner.token})
    subscribe(owner_watch, w.circle)
    priv = create(w, w.alice, "my secret note @%s @%s" % (w.bob.handle, w.owner.handle),
                  500, 520, visibility="private")
    assert priv["visibility"] == "private"
    pub = create(w, w.alice, "public after the private one", 530, 540)
    # the first annotation.created either watcher sees is the public one
    for c in (watcher, owner_watch):
        ev = c.next_event("annotation.created")
        assert ev["data"]["id"] == pub["id"], ev
    for c in (w.bob, w.owner):       # member and owner (a moderator) alike
        e = c.error("annotation.get", {"annotation": priv["id"]})
        assert e["code"] == -32004
        items = c.call("annotation.list", {"circle": w.circle,
                                           "chapter": w.chapter})["items"]
        assert priv["id"] not in ids(items)
        r = c.call("circle.subscribe", {"circle": w.circle, "since_seq": 0})
        if not r.get("resync"):
            assert all(e["data"].get("id") != priv["id"] or
                       not e["type"].startswith("annotation.")
                       for e in r["events"])
        e = c.error("reply.create", {"annotation": priv["id"], "body": "hi"})
        assert e["code"] == -32004
        e = c.error("reaction.toggle", {"target": {"annotation": priv["id"]},
                                        "kind": "agree"})
        assert e["code"] == -32004
        # nobody was told about the mention in a private note
        notes = c.call("notification.list", {})["items"]
        assert all(n["data"].get("annotation") != priv["id"] for n in notes)
    # the author sees it everywhere
    mine = w.alice.call("annotation.get", {"annotation": priv["id"]})
    assert mine["body"].startswith("my secret note")
    items = w.alice.call("annotation.list", {"circle": w.circle,
                                             "chapter": w.chapter})["items"]
    assert priv["id"] in ids(items)
    reply = w.alice.call("reply.create", {"annotation": priv["id"], "body": "note to self"})
    e = w.bob.error("reply.update", {"reply": reply["id"], "body": "x"})
    assert e["code"] == -32004
    watcher.close()
    owner_watch.close()


def test_non_member_sees_nothing(world):
    w = world
    a = create(w, w.alice, "members only", 600, 610)
    r = w.alice.call("reply.create", {"annotation": a["id"], "body": "r"})
    eve = w.eve
    calls = [
        ("annotation.list", {"circle": w.circle, "chapter": w.chapter}),
        ("annotation.get", {"annotation": a["id"]}),
        ("annotation.update", {"annotation": a["id"], "body": "x"}),
        ("annotation.delete", {"annotation": a["id"]}),
        ("annotation.create", {"circle": w.circle, "chapter": w.chapter,
                               "body": "x", "target": None, "visibility": "circle"}),
        ("reply.create", {"annotation": a["id"], "body": "x"}),
        ("reply.update", {"reply": r["id"], "body": "x"}),
        ("reply.delete", {"reply": r["id"]}),
        ("reaction.toggle", {"target": {"annotation": a["id"]}, "kind": "agree"}),
        ("reaction.toggle", {"target": {"reply": r["id"]}, "kind": "agree"}),
        ("chapter.follow", {"circle": w.circle, "chapter": w.chapter, "on": True}),
        ("anchor.review", {"circle": w.circle}),
        ("anchor.resolve", {"annotation": a["id"], "accept": True}),
    ]
    for method, params in calls:
        e = eve.error(method, params)
        assert e["code"] == -32004, (method, e)
    # ids of this circle used with eve's own circle reveal nothing either
    e = eve.error("annotation.list", {"circle": 987654, "chapter": w.chapter})
    assert e["code"] == -32004
    e = eve.error("annotation.get", {"annotation": 987654})
    assert e["code"] == -32004
    # and a member of this circle cannot reach into eve's circle
    theirs = eve.call("annotation.create", {
        "circle": w.other, "chapter": w.chapter, "body": "eve's",
        "target": None, "visibility": "circle"})
    e = w.alice.error("annotation.get", {"annotation": theirs["id"]})
    assert e["code"] == -32004
    e = w.alice.error("reply.create", {"annotation": theirs["id"], "body": "x"})
    assert e["code"] == -32004
    e = w.alice.error("reply.create", {"annotation": a["id"], "body": "x",
                                       "parent": 987654})
    assert e["code"] == -32602 and e["data"]["field"] == "parent"


def test_update_keeps_history(world, server):
    w = world
    a = create(w, w.alice, "first words", 700, 720)
    e = w.bob.error("annotation.update", {"annotation": a["id"], "body": "bob's"})
    assert e["code"] == -32003
    e = w.owner.error("annotation.update", {"annotation": a["id"], "body": "own"})
    assert e["code"] == -32003
    u = w.alice.call("annotation.update", {"annotation": a["id"], "body": "second words"})
    assert u["edited"] is True and u["body"] == "second words"
    u = w.alice.call("annotation.update", {"annotation": a["id"], "body": "third"})
    got = w.bob.call("annotation.get", {"annotation": a["id"]})
    assert got["body"] == "third" and got["edited"] is True
    assert [v["body"] for v in got["versions"]] == ["first words", "second words"]
    r = w.bob.call("reply.create", {"annotation": a["id"], "body": "reply v1"})
    e = w.alice.error("reply.update", {"reply": r["id"], "body": "not mine"})
    assert e["code"] == -32003
    r2 = w.bob.call("reply.update", {"reply": r["id"], "body": "reply v2"})
    assert r2["edited"] is True and r2["body"] == "reply v2"
    got = w.alice.call("annotation.get", {"annotation": a["id"]})
    assert got["replies"][0]["body"] == "reply v2"
    assert [v["body"] for v in got["replies"][0]["versions"]] == ["reply v1"]


def test_delete_tombstone_and_gone(world):
    w = world
    lone = create(w, w.alice, "short-lived", 800, 810)
    e = w.bob.error("annotation.delete", {"annotation": lone["id"]})
    assert e["code"] == -32003
    w.alice.call("annotation.delete", {"annotation": lone["id"]})
    for c in (w.alice, w.bob):
        e = c.error("annotation.get", {"annotation": lone["id"]})
        assert e["code"] == -32004
    items = w.bob.call("annotation.list", {"circle": w.circle, "chapter": w.chapter})["items"]
    assert lone["id"] not in ids(items)

    a = create(w, w.alice, "will be a tombstone", 820, 830)
    r1 = w.bob.call("reply.create", {"annotation": a["id"], "body": "first reply"})
    r2 = w.owner.call("reply.create", {"annotation": a["id"], "body": "answering bob",
                                       "parent": r1["id"]})
    assert r2["parent"] == r1["id"]
    t = w.alice.call("annotation.delete", {"annotation": a["id"]})
    assert t["deleted"] is True and t["body"] is None
    got = w.bob.call("annotation.get", {"annotation": a["id"]})
    assert got["deleted"] is True and got["body"] is None and got["body_html"] is None
    assert got["reply_count"] == 2
    assert [x["id"] for x in got["replies"]] == [r1["id"], r2["id"]]
    e = w.alice.error("annotation.update", {"annotation": a["id"], "body": "back"})
    assert e["code"] == -32004
    # a reply with an answer becomes a tombstone too
    t1 = w.bob.call("reply.delete", {"reply": r1["id"]})
    assert t1["deleted"] is True and t1["body"] is None
    got = w.bob.call("annotation.get", {"annotation": a["id"]})
    assert got["replies"][0]["deleted"] is True
    # the last live reply goes: the tombstones under it go too
    w.owner.call("reply.delete", {"reply": r2["id"]})
    e = w.bob.error("annotation.get", {"annotation": a["id"]})
    assert e["code"] == -32004


def test_replies_and_parent_rules(world):
    w = world
    a = create(w, w.alice, "thread a", 900, 910)
    b = create(w, w.alice, "thread b", 920, 930)
    ra = w.bob.call("reply.create", {"annotation": a["id"], "body": "in a"})
    e = w.bob.error("reply.create", {"annotation": b["id"], "body": "x",
                                     "parent": ra["id"]})
    assert e["code"] == -32602 and e["data"]["field"] == "parent"
    nested = w.alice.call("reply.create", {"annotation": a["id"], "body": "to bob",
                                           "parent": ra["id"]})
    got = w.owner.call("annotation.get", {"annotation": a["id"]})
    assert [r["id"] for r in got["replies"]] == [ra["id"], nested["id"]]
    assert got["replies"][1]["parent"] == ra["id"]
    assert got["reply_count"] == 2
    e = w.bob.error("reply.create", {"annotation": a["id"], "body": ""})
    assert e["code"] == -32602 and e["data"]["field"] == "body"


def test_reactions(world):
    w = world
    a = create(w, w.alice, "react to me", 1000, 1010)
    r = w.bob.call("reaction.toggle", {"target": {"annotation": a["id"]}, "kind": "agree"})
    assert r["reactions"]["agree"] == 1 and r["my_reactions"] == ["agree"]
    r = w.owner.call("reaction.toggle", {"target": {"annotation": a["id"]}, "kind": "agree"})
    assert r["reactions"]["agree"] == 2
    r = w.bob.call("reaction.toggle", {"target": {"annotation": a["id"]}, "kind": "question"})
    assert r["my_reactions"] == ["agree", "question"]
    r = w.bob.call("reaction.toggle", {"target": {"annotation": a["id"]}, "kind": "agree"})
    assert r["reactions"]["agree"] == 1 and r["my_reactions"] == ["question"]
    got = w.bob.call("annotation.get", {"annotation": a["id"]})
    assert got["my_reactions"] == ["question"] and got["reactions"]["agree"] == 1
    rep = w.alice.call("reply.create", {"annotation": a["id"], "body": "ok"})
    r = w.bob.call("reaction.toggle", {"target": {"reply": rep["id"]}, "kind": "insightful"})
    assert r["reactions"]["insightful"] == 1
    for bad in ({"annotation": "x"}, {"post": 1}, {"annotation": 1, "reply": 2}, []):
        e = w.bob.error("reaction.toggle", {"target": bad, "kind": "agree"})
        assert e["code"] == -32602 and e["data"]["field"] == "target"
    e = w.bob.error("reaction.toggle", {"target": {"annotation": a["id"]}, "kind": "love"})
    assert e["code"] == -32602 and e["data"]["field"] == "kind"
    e = w.bob.error("reaction.toggle", {"target": {"annotation": 99999999}, "kind": "agree"})
    assert e["code"] == -32004


def test_locked_thread(world):
    w = world
    a = create(w, w.alice, "to be locked", 1100, 1110)
    w.owner.call("mod.lock", {"annotation": a["id"]})
    got = w.bob.call("annotation.get", {"annotation": a["id"]})
    assert got["locked"] is True
    e = w.bob.error("reply.create", {"annotation": a["id"], "body": "too late"})
    assert e["code"] == -32010
    e = w.alice.error("annotation.update", {"annotation": a["id"], "body": "edit"})
    assert e["code"] == -32010
    e = w.bob.error("reaction.toggle", {"target": {"annotation": a["id"]}, "kind": "agree"})
    assert e["code"] == -32010
    # moderators may still answer in a locked thread
    w.owner.call("reply.create", {"annotation": a["id"], "body": "closing note"})
    w.owner.call("mod.unlock", {"annotation": a["id"]})
    w.bob.call("reply.create", {"annotation": a["id"], "body": "open again"})


def test_hidden_is_redacted_for_members(world, server):
    w = world
    a = create(w, w.alice, "something uncivil", 1200, 1210)
    r = w.bob.call("reply.create", {"annotation": a["id"], "body": "a fine reply"})
    watcher = server.client()
    watcher.call("auth.resume", {"token": w.bob.token})
    subscribe(watcher, w.circle)
    w.owner.call("mod.hide", {"target": {"annotation": a["id"]}, "reason": "uncivil"})
    ev = wait_event(watcher, "annotation.hidden", lambda e: e["data"]["id"] == a["id"])
    assert ev["data"]["hidden"] is True and ev["data"]["body"] is None
    got = w.bob.call("annotation.get", {"annotation": a["id"]})
    assert got["hidden"] is True and got["body"] is None and got["body_html"] is None
    assert got["replies"][0]["body"] == "a fine reply"   # replies stay visible
    mine = w.alice.call("annotation.get", {"annotation": a["id"]})
    assert mine["hidden"] is True and mine["body"] == "something uncivil"
    mod = w.owner.call("annotation.get", {"annotation": a["id"]})
    assert mod["body"] == "something uncivil"
    items = w.bob.call("annotation.list", {"circle": w.circle, "chapter": w.chapter})["items"]
    hid = [i for i in items if i["id"] == a["id"]][0]
    assert hid["hidden"] is True and hid["body"] is None
    # replay follows the hidden state: the stored created event is redacted
    rp = w.bob.call("circle.subscribe", {"circle": w.circle, "since_seq": 0})
    if not rp.get("resync"):
        for e in rp["events"]:
            if e["type"] == "annotation.created" and e["data"]["id"] == a["id"]:
                assert e["data"]["body"] is None
    e = w.bob.error("reaction.toggle", {"target": {"annotation": a["id"]}, "kind": "agree"})
    assert e["code"] == -32003
    w.owner.call("mod.unhide", {"target": {"annotation": a["id"]}})
    got = w.bob.call("annotation.get", {"annotation": a["id"]})
    assert got["hidden"] is False and got["body"] == "something uncivil"
    assert r["id"] in [x["id"] for x in got["replies"]]
    watcher.close()


def test_markdown_is_rendered_safely(world):
    w = world
    a = create(w, w.alice, "<script>alert(1)</script> [x](javascript:alert(1)) "
                           "![i](http://e.org/i.png) [ok](https://example.org)")
    h = a["body_html"]
    assert "<script" not in h and "&lt;script&gt;" in h
    assert "javascript" not in h and "<img" not in h
    assert '<a href="https://example.org" rel="nofollow noopener noreferrer">ok</a>' in h
    assert a["body"].startswith("<script>")   # the source is kept for editing


def test_anchor_review_permissions(world):
    w = world
    e = w.alice.error("anchor.review", {"circle": w.circle})
    assert e["code"] == -32003
    r = w.owner.call("anchor.review", {"circle": w.circle})
    assert r["items"] == [] and r["next"] is None
    a = create(w, w.alice, "anchored", 1300, 1310)
    e = w.alice.error("anchor.resolve", {"annotation": a["id"], "accept": True})
    assert e["code"] == -32003
    # nothing awaits review after a plain import: a conflict, not a change
    e = w.owner.error("anchor.resolve", {"annotation": a["id"], "accept": True})
    assert e["code"] in (-32009, -32004)


def test_unauthenticated(server):
    c = server.client()
    e = c.error("annotation.list", {"circle": 1, "chapter": 1})
    assert e["code"] == -32001
    c.close()


def test_account_export_and_delete(world, server):
    w = world
    dora = server.new_account("dora")
    code = w.owner.call("circle.invite", {"circle": w.circle})["code"]
    dora.call("circle.join", {"code": code})
    pub = create(w, dora, "dora's public note", 1400, 1410)
    priv = create(w, dora, "dora's private note", 1420, 1430, visibility="private")
    dora.call("annotation.update", {"annotation": pub["id"], "body": "dora's edited note"})
    rep = dora.call("reply.create", {"annotation": pub["id"], "body": "dora replies"})
    other = w.bob.call("reply.create", {"annotation": pub["id"], "body": "bob answers"})
    dora.call("reaction.toggle", {"target": {"reply": other["id"]}, "kind": "agree"})
    dora.call("chapter.follow", {"circle": w.circle, "chapter": w.chapter, "on": True})
    ex = dora.call("account.export", {})
    anns = {a["id"]: a for a in ex["annotations"]}
    assert set(anns) == {pub["id"], priv["id"]}
    assert anns[priv["id"]]["body"] == "dora's private note"
    assert [v["body"] for v in anns[pub["id"]]["versions"]] == ["dora's public note"]
    assert [r["id"] for r in ex["replies"]] == [rep["id"]]
    assert ex["reactions"] == [{"target": {"reply": other["id"]}, "kind": "agree",
                                "created_at": ex["reactions"][0]["created_at"]}]
    assert ex["follows"][0]["chapter"] == w.chapter
    # bob's export holds none of dora's posts
    bob_ex = w.bob.call("account.export", {})
    assert priv["id"] not in [a["id"] for a in bob_ex["annotations"]]
    try:
        # the reply may lose the race with closing the account's sockets
        assert dora.call("account.delete", {"password": dora.password}) == {}
    except Closed:
        pass
    assert dora.wait_closed() == 4001
    # the public thread stays for the others, under an anonymous author
    got = w.bob.call("annotation.get", {"annotation": pub["id"]})
    assert got["body"] == "dora's edited note"
    assert got["author"]["handle"] != dora.handle
    assert [r["id"] for r in got["replies"]] == [rep["id"], other["id"]]


def test_muted_member_may_not_post_or_react(world):
    w = world
    a = create(w, w.alice, "mute test", 1500, 1510)
    w.owner.call("mod.mute", {"circle": w.circle, "account": w.bob.account["id"],
                              "reason": "cooling off"})
    try:
        for method, params in (
                ("reply.create", {"annotation": a["id"], "body": "x"}),
                ("annotation.create", {"circle": w.circle, "chapter": w.chapter,
                                       "target": None, "visibility": "circle",
                                       "body": "x"}),
                ("reaction.toggle", {"target": {"annotation": a["id"]},
                                     "kind": "agree"})):
            e = w.bob.error(method, params)
            assert e["code"] == -32010, (method, e)
        # reading is still allowed
        w.bob.call("annotation.get", {"annotation": a["id"]})
    finally:
        w.owner.call("mod.unmute", {"circle": w.circle, "account": w.bob.account["id"]})
    w.bob.call("reaction.toggle", {"target": {"annotation": a["id"]}, "kind": "agree"})
