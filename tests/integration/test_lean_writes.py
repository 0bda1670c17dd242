"""The lean write path (server/exec/later.h, server/moderation/pace.c): a
new post's search entry and its post time are written at the end of the
executor's batch, and the rate limit and slow mode of annotation.create and
reply.create are checked on a copy the executor keeps in memory. These
tests check that nothing of the SPEC's behaviour moved with them: the
limits count exactly the posts that were made (also inside one JSON-RPC
batch, where the calls share one transaction), a refused or failed post is
not counted, the limits survive a restart, and a search sent right behind
a post (pipelined or in the same batch) finds it.
"""
import json

import pytest


def create(cid, ch, body, rid, target=None):
    return {"jsonrpc": "2.0", "id": rid, "method": "annotation.create",
            "params": {"circle": cid, "chapter": ch, "target": target,
                       "body": body, "visibility": "circle"}}


def batch(client, reqs):
    client.send_text(json.dumps(reqs))
    while True:
        m = client.recv_json()
        if isinstance(m, list):
            return {x["id"]: x for x in m}


@pytest.fixture(scope="module")
def world(server, make_world):
    w = make_world(owner="lwo", circle_name="Lean",
                   moderators={"mod": "lwd"}, texts=True)
    w.ch = w.chapters[0]
    return w


def codes(replies):
    return [r["error"]["code"] if "error" in r else 0
            for _, r in sorted(replies.items())]


def test_limit_counts_posts_inside_one_batch(server, world):
    m = world.join("lwa")
    got = batch(m, [create(world.circle, world.ch, "post %d" % i, i + 1)
                    for i in range(23)])
    # twenty a minute (SPEC limits): the batch's own posts count
    assert codes(got) == [0] * 20 + [-32029] * 3
    assert 0 < got[21]["error"]["data"]["retry_after_ms"] <= 60000
    # the refused ones were not counted either: still refused, not more
    e = m.error("reply.create", {"annotation": got[1]["result"]["id"],
                                 "body": "one more"})
    assert e["code"] == -32029


def test_failed_posts_are_not_counted(server, world):
    m = world.join("lwb")
    bad = {"selector": [{"type": "TextQuoteSelector",
                         "exact": "no such words in this chapter qqq"}]}
    reqs = []
    for i in range(19):
        reqs.append(create(world.circle, world.ch, "ok %d" % i, 2 * i + 1))
        # passes the limits, then fails on its target: not a post
        reqs.append(create(world.circle, world.ch, "bad %d" % i, 2 * i + 2,
                           target=bad))
    got = batch(m, reqs)
    assert [c for c in codes(got)] == [0, -32602] * 19
    # one more post is allowed (19 made), the one after is not
    m.call("annotation.create", {"circle": world.circle, "chapter": world.ch,
                                 "target": None, "body": "twentieth",
                                 "visibility": "circle"})
    e = m.error("annotation.create", {"circle": world.circle,
                                      "chapter": world.ch, "target": None,
                                      "body": "21st", "visibility": "circle"})
    assert e["code"] == -32029


def test_slow_mode_inside_one_batch(server, world):
    m = world.join("lwc")
    c = world.owner.call("circle.create", {"name": "Slow lean",
                                           "book": world.book})["id"]
    code = world.owner.call("circle.invite", {"circle": c})["code"]
    m.call("circle.join", {"code": code})
    world.owner.call("mod.slow", {"circle": c, "seconds": 120})
    got = batch(m, [create(c, world.ch, "first", 1),
                    create(c, world.ch, "second", 2)])
    assert codes(got) == [0, -32010]
    assert 0 < got[2]["error"]["data"]["retry_after_ms"] <= 120000
    # the owner is exempt, in a batch too
    got = batch(world.owner, [create(c, world.ch, "o1", 1),
                              create(c, world.ch, "o2", 2)])
    assert codes(got) == [0, 0]


def test_search_right_behind_a_post_finds_it(server, world):
    m = world.join("lwe")
    got = batch(m, [
        create(world.circle, world.ch, "zanzibarquokka in a batch", 1),
        {"jsonrpc": "2.0", "id": 2, "method": "search",
         "params": {"circle": world.circle, "q": "zanzibarquokka"}}])
    assert [it["id"] for it in got[2]["result"]["items"]
            if it["kind"] == "annotation"] == [got[1]["result"]["id"]]
    # pipelined: the search goes behind the post in the executor
    m.send_text(json.dumps(create(world.circle, world.ch,
                                  "pipelinedwombat here", 10)))
    m.send_text(json.dumps({"jsonrpc": "2.0", "id": 11, "method": "search",
                            "params": {"circle": world.circle,
                                       "q": "pipelinedwombat"}}))
    seen = {}
    while len(seen) < 2:
        x = m.recv_json()
        if isinstance(x, dict) and x.get("id") in (10, 11):
            seen[x["id"]] = x
    assert [it["id"] for it in seen[11]["result"]["items"]
            if it["kind"] == "annotation"] == [seen[10]["result"]["id"]]
    # a failed post leaves no entry
    bad = {"selector": [{"type": "TextQuoteSelector",
                         "exact": "not in the chapter at all zzz"}]}
    got = batch(m, [create(world.circle, world.ch, "ghostnumbat", 1,
                           target=bad),
                    {"jsonrpc": "2.0", "id": 2, "method": "search",
                     "params": {"circle": world.circle, "q": "ghostnumbat"}}])
    assert "error" in got[1]
    assert got[2]["result"]["items"] == []


def test_created_object_is_the_stored_one(server, world):
    m = world.join("lwf")
    text = world.texts[world.ch]
    word = next(x for x in text.split() if len(x) > 5 and x.isalpha())
    start = text.index(word)
    target = {"selector": [
        {"type": "TextQuoteSelector", "exact": word},
        {"type": "TextPositionSelector", "start": start,
         "end": start + len(word)}]}
    for t in (None, target):
        a = m.call("annotation.create", {
            "circle": world.circle, "chapter": world.ch, "target": t,
            "body": "**bold** claim", "visibility": "circle"})
        got = m.call("annotation.get", {"annotation": a["id"]})
        got.pop("replies", None)
        got.pop("versions", None)
        assert a == got
        assert a["body_html"].startswith("<p><strong>bold</strong>")
        assert a["reactions"] == {"agree": 0, "insightful": 0,
                                  "question": 0, "disagree": 0}
        assert a["my_reactions"] == [] and a["reply_count"] == 0


def test_created_reply_is_the_stored_one(server, world):
    m = world.join("lwh")
    a = m.call("annotation.create", {
        "circle": world.circle, "chapter": world.ch, "target": None,
        "body": "a thread", "visibility": "circle"})
    r1 = m.call("reply.create", {"annotation": a["id"], "body": "_first_"})
    r2 = world.owner.call("reply.create", {"annotation": a["id"],
                                           "body": "second",
                                           "parent": r1["id"]})
    got = m.call("annotation.get", {"annotation": a["id"]})
    stored = {r["id"]: r for r in got["replies"]}
    for r in (r1, r2):
        s = dict(stored[r["id"]])
        s.pop("versions", None)
        s.pop("replies", None)
        mine = dict(r)
        # the caller's reactions are the caller's: none on a new reply
        assert mine["my_reactions"] == []
        if r is r2:
            mine["my_reactions"] = s["my_reactions"]
        assert mine == s
    assert r1["body_html"].startswith("<p><em>first</em>")
    assert r2["parent"] == r1["id"] and r2["annotation"] == a["id"]
    assert got["reply_count"] == 2


def test_viewer_kept_in_a_batch_follows_changes(server, world):
    """Lean writes of one batch reuse the poster's viewer: any other call
    (here circle.leave) ends that, and a new chapter mark updates it."""
    m = world.join("lwi")
    # its mark in the chapter exists: the batch's first post keeps the
    # viewer it loaded
    m.call("annotation.create", {"circle": world.circle, "chapter": world.ch,
                                 "target": None, "body": "first",
                                 "visibility": "circle"})
    got = batch(m, [
        create(world.circle, world.ch, "before leaving", 1),
        {"jsonrpc": "2.0", "id": 2, "method": "circle.leave",
         "params": {"circle": world.circle}},
        create(world.circle, world.ch, "after leaving", 3)])
    assert "result" in got[1] and "result" in got[2]
    # no longer a member: refused at once, in the same transaction
    assert got[3]["error"]["code"] in (-32004, -32003)
    # post first: a member's first post in a chapter opens the others'
    # threads there to it, for the next call of the same batch too
    c = world.owner.call("circle.create", {"name": "First lean",
                                           "book": world.book})["id"]
    world.owner.call("circle.update", {"circle": c, "post_first": True})
    code = world.owner.call("circle.invite", {"circle": c})["code"]
    a = world.join("lwj")
    b = world.join("lwk")
    for x in (a, b):
        x.call("circle.join", {"code": code})
    ch2 = world.chapters[1]
    t = a.call("annotation.create", {"circle": c, "chapter": ch2,
                                     "target": None, "body": "withheld",
                                     "visibility": "circle"})
    e = b.error("reply.create", {"annotation": t["id"], "body": "too soon"})
    assert e["code"] == -32004
    # b posts in another chapter first (its viewer is kept), then in ch2,
    # then replies to a's thread there: all in one batch
    got = batch(b, [
        create(c, world.ch, "elsewhere", 1),
        create(c, ch2, "my own view", 2),
        {"jsonrpc": "2.0", "id": 3, "method": "reply.create",
         "params": {"annotation": t["id"], "body": "now I may"}}])
    assert codes(got) == [0, 0, 0]


# last: it restarts the server (the world's connections close)
def test_limits_survive_a_restart(server, world):
    m = world.join("lwg")
    got = batch(m, [create(world.circle, world.ch, "r %d" % i, i + 1)
                    for i in range(20)])
    assert codes(got) == [0] * 20
    server.restart()
    m2 = server.client()
    m2.call("auth.login", {"handle": m.handle,
                           "password": "correct horse battery"})
    e = m2.error("annotation.create", {"circle": world.circle,
                                       "chapter": world.ch, "target": None,
                                       "body": "after restart",
                                       "visibility": "circle"})
    assert e["code"] == -32029
