"""Live circles over several real WebSocket clients: member.*, circle.updated
and plan.changed delivered to every subscriber, catch-up with since_seq, the
spoiler guard and post first withholding threads live and in catch-up (and
releasing them when the member reads on, asks to see, posts or marks the
chapter read), removal stopping delivery, and presence.

To prove that an event was withheld from one client without timing, each
test follows it with an event that client may see (a "sentinel") and checks
that the sentinel arrives with nothing withheld before it: the server sends
one connection's events in seq order.
"""
import json

import pytest


NOT_FOUND = -32004


@pytest.fixture(scope="module")
def book(server):
    c = server.new_account("bk")
    bid = c.call("book.list", {})["items"][0]["id"]
    toc = c.call("book.toc", {"book": bid})
    chapters = [ch["id"] for part in toc["parts"] for ch in part["chapters"]]
    assert len(chapters) >= 4
    c.close()
    return bid, chapters


def setup_circle(server, book, n_members=2, **opts):
    owner = server.new_account("own")
    c = owner.call("circle.create", {"name": "Live", "book": book[0]})
    if opts:
        owner.call("circle.update", dict(opts, circle=c["id"]))
    code = owner.call("circle.invite", {"circle": c["id"]})["code"]
    members = []
    for _ in range(n_members):
        m = server.new_account("mem")
        m.call("circle.join", {"code": code})
        members.append(m)
    return owner, c["id"], members


def until(client, pred, timeout=5):
    """Events up to and including the first that pred accepts."""
    seen = []
    while True:
        ev = client.next_event(timeout=timeout)
        seen.append(ev)
        if pred(ev):
            return seen


def post(client, cid, chapter, body):
    return client.call("annotation.create", {
        "circle": cid, "chapter": chapter, "target": None, "body": body,
        "visibility": "circle"})


def bodies(events):
    return [e["data"].get("body") for e in events
            if e["type"] == "annotation.created"]


def test_member_circle_plan_events_reach_every_subscriber(server, book):
    owner, cid, (a, b) = setup_circle(server, book)
    subs = [owner, a, b]
    seqs = [s.call("circle.subscribe", {"circle": cid})["seq"] for s in subs]
    assert len(set(seqs)) == 1

    c = server.new_account("late")
    code = owner.call("circle.invite", {"circle": cid})["code"]
    c.call("circle.join", {"code": code})
    for s in subs:
        ev = s.next_event("member.joined")
        assert ev["circle"] == cid and ev["seq"] > seqs[0]
        assert ev["data"]["account"]["id"] == c.account["id"]
        assert ev["data"]["role"] == "member"

    owner.call("circle.update", {"circle": cid, "name": "Renamed live"})
    for s in subs:
        ev = s.next_event("circle.updated")
        assert ev["data"]["name"] == "Renamed live"
        assert "role" not in ev["data"]

    owner.call("plan.set", {"circle": cid, "entries": [
        {"chapter": book[1][0], "due": "2026-12-01", "prompt": "Go"}]})
    for s in subs:
        ev = s.next_event("plan.changed")
        assert ev["data"]["entries"][0]["prompt"] == "Go"

    owner.call("circle.set_role", {"circle": cid, "account": a.account["id"],
                                   "role": "moderator"})
    for s in subs:
        ev = s.next_event("member.role_changed")
        assert ev["data"]["account"]["id"] == a.account["id"]
        assert ev["data"]["role"] == "moderator"
        assert ev["data"]["previous_role"] == "member"

    c.call("circle.leave", {"circle": cid})
    for s in subs:
        ev = s.next_event("member.left")
        assert ev["data"]["account"]["id"] == c.account["id"]

    # seqs grow with every stored event
    ev_seqs = [e["seq"] for e in owner.drain_events(0.1)]
    assert ev_seqs == sorted(ev_seqs)


def test_catch_up_with_since_seq(server, book):
    owner, cid, (a,) = setup_circle(server, book, 1)
    first = a.call("circle.subscribe", {"circle": cid})
    assert first["events"] == [] and first["circle"] == cid
    s0 = first["seq"]
    a.close()  # a misses what follows

    owner.call("circle.update", {"circle": cid, "description": "one"})
    owner.call("plan.set", {"circle": cid, "entries": [
        {"chapter": book[1][1], "due": "2026-12-02"}]})
    owner.call("circle.update", {"circle": cid, "description": "three"})

    a2 = server.client()
    a2.call("auth.resume", {"token": a.token})
    r = a2.call("circle.subscribe", {"circle": cid, "since_seq": s0})
    types = [e["type"] for e in r["events"]]
    assert types == ["circle.updated", "plan.changed", "circle.updated"]
    seqs = [e["seq"] for e in r["events"]]
    assert seqs == sorted(seqs) and seqs[0] > s0 and seqs[-1] == r["seq"]
    assert r["events"][2]["data"]["description"] == "three"
    assert all(e["circle"] == cid for e in r["events"])

    # nothing missed since the last seq; live events follow the replay
    again = a2.call("circle.subscribe", {"circle": cid, "since_seq": r["seq"]})
    assert again["events"] == []
    owner.call("circle.update", {"circle": cid, "description": "four"})
    ev = a2.next_event("circle.updated")
    assert ev["seq"] == r["seq"] + 1

    a2.call("circle.unsubscribe", {"circle": cid})
    owner.call("circle.update", {"circle": cid, "description": "five"})
    assert owner.call("circle.subscribe", {"circle": cid, "since_seq": r["seq"] + 1})[
        "events"][0]["data"]["description"] == "five"
    assert a2.drain_events(0.3) == []


def test_spoiler_guard_live_and_catch_up(server, book):
    chs = book[1]
    owner, cid, (reader, writer) = setup_circle(server, book, 2,
                                                spoiler_guard=True)
    # writer has read far; reader has not started (chapter 1 is open)
    writer.call("progress.set", {"circle": cid, "chapter": chs[3]})
    s0 = reader.call("circle.subscribe", {"circle": cid})["seq"]
    owner.call("circle.subscribe", {"circle": cid})

    post(writer, cid, chs[2], "spoiler in chapter three zanzibarquux")
    post(writer, cid, chs[0], "fine in chapter one")
    seen = until(reader, lambda e: e["type"] == "annotation.created")
    assert bodies(seen) == ["fine in chapter one"]
    # the owner is exempt
    assert bodies(until(owner, lambda e: e.get("data", {}).get("body") ==
                        "fine in chapter one")) == [
        "spoiler in chapter three zanzibarquux", "fine in chapter one"]
    # search withholds it too
    q = {"circle": cid, "q": "zanzibarquux"}
    assert "zanzibarquux" in json.dumps(owner.call("search", q))
    assert "zanzibarquux" not in json.dumps(reader.call("search", q))

    # not in the list or in catch-up either
    listed = reader.call("annotation.list", {"circle": cid, "chapter": chs[2]})
    assert listed["items"] == []
    r = reader.call("circle.subscribe", {"circle": cid, "since_seq": s0})
    assert bodies(r["events"]) == ["fine in chapter one"]

    # reading on releases the chapter: list, catch-up and live
    reader.call("progress.set", {"circle": cid, "chapter": chs[2]})
    listed = reader.call("annotation.list", {"circle": cid, "chapter": chs[2]})
    assert [x["body"] for x in listed["items"]] == [
        "spoiler in chapter three zanzibarquux"]
    r = reader.call("circle.subscribe", {"circle": cid, "since_seq": s0})
    assert bodies(r["events"]) == ["spoiler in chapter three zanzibarquux",
                                   "fine in chapter one"]
    assert "zanzibarquux" in json.dumps(reader.call("search", q))
    post(writer, cid, chs[2], "live in chapter three")
    post(writer, cid, chs[3], "still ahead")
    post(writer, cid, chs[1], "sentinel")
    seen = until(reader, lambda e: e.get("data", {}).get("body") == "sentinel")
    assert bodies(seen) == ["live in chapter three", "sentinel"]

    # asking to see everything
    reader.call("progress.set", {"circle": cid, "show_all": True})
    post(writer, cid, chs[3], "now visible")
    ev = reader.next_event("annotation.created")
    assert ev["data"]["body"] == "now visible"
    assert reader.call("circle.get", {"circle": cid})["me"]["show_all"] is True
    reader.call("progress.set", {"circle": cid, "show_all": False})
    post(writer, cid, chs[3], "hidden again")
    post(writer, cid, chs[0], "sentinel 2")
    seen = until(reader, lambda e: e.get("data", {}).get("body") == "sentinel 2")
    assert bodies(seen) == ["sentinel 2"]

    # turning the option off shows everything at once
    owner.call("circle.update", {"circle": cid, "spoiler_guard": False})
    post(writer, cid, chs[3], "option off")
    ev = reader.next_event("annotation.created")
    assert ev["data"]["body"] == "option off"


def test_post_first(server, book):
    chs = book[1]
    owner, cid, (reader, writer) = setup_circle(server, book, 2,
                                                post_first=True)
    reader.call("circle.subscribe", {"circle": cid})
    post(writer, cid, chs[0], "writer's view of one")
    post(writer, cid, chs[1], "writer's view of two")
    owner.call("plan.set", {"circle": cid, "entries": [
        {"chapter": chs[0], "due": "2026-12-01"}]})
    seen = until(reader, lambda e: e["type"] == "plan.changed")
    assert bodies(seen) == []
    assert reader.call("annotation.list", {"circle": cid,
                                           "chapter": chs[0]})["items"] == []

    # posting in chapter one opens chapter one only
    mine = post(reader, cid, chs[0], "my own view first")
    listed = reader.call("annotation.list", {"circle": cid, "chapter": chs[0]})
    assert sorted(x["body"] for x in listed["items"]) == [
        "my own view first", "writer's view of one"]
    assert reader.call("annotation.list", {"circle": cid,
                                           "chapter": chs[1]})["items"] == []
    post(writer, cid, chs[0], "live reply-worthy")
    ev = reader.next_event("annotation.created")
    # the reader's own post came first
    if ev["data"]["id"] == mine["id"]:
        ev = reader.next_event("annotation.created")
    assert ev["data"]["body"] == "live reply-worthy"

    # marking chapter two read opens it too
    reader.call("progress.set", {"circle": cid, "chapter": chs[1],
                                 "read": True})
    listed = reader.call("annotation.list", {"circle": cid, "chapter": chs[1]})
    assert [x["body"] for x in listed["items"]] == ["writer's view of two"]
    r = reader.call("circle.subscribe", {"circle": cid, "since_seq": 0})
    got = bodies(r["events"])
    assert "writer's view of two" in got and "writer's view of one" in got


def test_removed_member_stops_receiving(server, book):
    owner, cid, (a, b) = setup_circle(server, book)
    a.call("circle.subscribe", {"circle": cid})
    b.call("circle.subscribe", {"circle": cid})
    owner.call("mod.remove", {"circle": cid, "account": a.account["id"],
                              "reason": "spam"})
    ev = b.next_event("member.removed")
    assert ev["data"]["account"]["id"] == a.account["id"]
    owner.call("circle.update", {"circle": cid, "description": "after"})
    assert b.next_event("circle.updated")["data"]["description"] == "after"
    assert [e for e in a.drain_events(0.5)
            if e["type"] == "circle.updated"] == []
    assert a.error("circle.get", {"circle": cid})["code"] == NOT_FOUND
    assert a.error("circle.subscribe", {"circle": cid})["code"] == NOT_FOUND


def test_presence(server, book):
    chs = book[1]
    owner, cid, (a, b) = setup_circle(server, book)
    b.call("circle.subscribe", {"circle": cid})
    r = a.call("presence.set", {"circle": cid, "chapter": chs[1], "block": 4})
    assert r["online"] is True and r["chapter"] == chs[1]
    ev = b.next_event("presence.changed")
    assert "seq" not in ev or ev["seq"] is None
    assert ev["data"]["account"]["id"] == a.account["id"]
    assert ev["data"]["chapter"] == chs[1] and ev["data"]["block"] == 4
    assert ev["data"]["online"] is True

    # a late subscriber learns who is here
    sub = owner.call("circle.subscribe", {"circle": cid})
    here = {p["account"]["id"]: p for p in sub["presence"]}
    assert here[a.account["id"]]["chapter"] == chs[1]

    a.call("presence.set", {"circle": cid, "chapter": chs[2]})
    ev = b.next_event("presence.changed")
    assert ev["data"]["chapter"] == chs[2] and ev["data"]["block"] is None

    # progress is shared with the circle too
    a.call("progress.set", {"circle": cid, "chapter": chs[2]})
    ev = b.next_event("progress.changed")
    assert ev["data"]["account"]["id"] == a.account["id"]
    assert ev["data"]["progress"]["chapter"] == chs[2]

    # validation and permission
    assert a.error("presence.set", {"circle": cid, "chapter": 99999999})["code"] == -32602
    outsider = server.new_account("out")
    assert outsider.error("presence.set", {"circle": cid,
                                           "chapter": chs[0]})["code"] == NOT_FOUND

    # closing the connection ends the presence
    a.close()
    ev = b.next_event("presence.changed")
    assert ev["data"]["account"]["id"] == a.account["id"]
    assert ev["data"]["online"] is False
    sub = b.call("circle.subscribe", {"circle": cid})
    assert [p for p in sub["presence"]
            if p["account"]["id"] == a.account["id"]] == []


def test_two_tabs_one_presence(server, book):
    chs = book[1]
    owner, cid, (a,) = setup_circle(server, book, 1)
    owner.call("circle.subscribe", {"circle": cid})
    tab2 = server.client()
    tab2.call("auth.resume", {"token": a.token})
    a.call("presence.set", {"circle": cid, "chapter": chs[0]})
    assert owner.next_event("presence.changed")["data"]["chapter"] == chs[0]
    tab2.call("presence.set", {"circle": cid, "chapter": chs[1]})
    assert owner.next_event("presence.changed")["data"]["chapter"] == chs[1]
    here = owner.call("circle.subscribe", {"circle": cid})["presence"]
    assert len(here) == 1 and here[0]["chapter"] == chs[1]
    # closing the newer tab shows the member where the other tab is
    tab2.close()
    ev = owner.next_event("presence.changed")
    assert ev["data"]["online"] is True and ev["data"]["chapter"] == chs[0]
    a.close()
    ev = owner.next_event("presence.changed")
    assert ev["data"]["online"] is False


def test_presence_moves_are_throttled_but_the_last_arrives(server, book):
    chs = book[1]
    owner, cid, (a,) = setup_circle(server, book, 1)
    owner.call("circle.subscribe", {"circle": cid})
    moves = 30
    for i in range(moves - 1):
        a.call("presence.set", {"circle": cid, "chapter": chs[i % 3],
                                "block": i})
    a.call("presence.set", {"circle": cid, "chapter": chs[3]})
    seen = until(owner, lambda e: e["type"] == "presence.changed" and
                 e["data"]["chapter"] == chs[3] and e["data"]["block"] is None,
                 timeout=10)
    assert 1 <= len([e for e in seen if e["type"] == "presence.changed"]) < moves


def test_too_old_since_seq_asks_for_resync(server, book):
    owner, cid, (a,) = setup_circle(server, book, 1)
    s0 = a.call("circle.subscribe", {"circle": cid})["seq"]
    # more stored events than one catch-up replays (5,000), in batches
    n = 0
    for batch in range(51):
        msgs = [{"jsonrpc": "2.0", "id": 100000 + batch * 100 + i,
                 "method": "circle.update",
                 "params": {"circle": cid, "description": "d%d" % (batch * 100 + i)}}
                for i in range(100)]
        owner.send_text(json.dumps(msgs))
        replies = owner.recv_json(timeout=30)
        assert isinstance(replies, list) and len(replies) == 100
        assert all("result" in r for r in replies)
        n += 100
    fresh = server.client()
    fresh.call("auth.resume", {"token": a.token})
    r = fresh.call("circle.subscribe", {"circle": cid, "since_seq": s0})
    assert r["resync"] is True and r["seq"] >= s0 + n
    assert "events" not in r
    # the subscription is live all the same
    owner.call("circle.update", {"circle": cid, "description": "after"})
    ev = fresh.next_event("circle.updated")
    assert ev["data"]["description"] == "after" and ev["seq"] == r["seq"] + 1


def test_spoiler_guard_withholds_notifications(server, book):
    chs = book[1]
    owner, cid, (reader, writer) = setup_circle(server, book, 2,
                                                spoiler_guard=True)
    writer.call("progress.set", {"circle": cid, "chapter": chs[3]})
    reader.call("chapter.follow", {"circle": cid, "chapter": chs[3], "on": True})
    reader.call("chapter.follow", {"circle": cid, "chapter": chs[0], "on": True})
    # a mention in a chapter past the reader's progress: no notification
    post(writer, cid, chs[3], "@%s look at this twist" % reader.handle)
    # the sentinel, in chapter one, which the reader follows
    post(writer, cid, chs[0], "a thread in chapter one")
    ev = reader.next_event("notification.created")
    assert ev["data"]["data"]["chapter"] == chs[0]
    listed = reader.call("notification.list", {})["items"]
    assert [n["data"]["chapter"] for n in listed] == [chs[0]]


def test_progress_is_the_furthest_point_read(server, book):
    """SPEC progress.set: looking back never lowers progress (and so never
    withholds again what the spoiler guard released); rewind does."""
    chs = book[1]
    owner, cid, (reader, writer) = setup_circle(server, book, 2,
                                                spoiler_guard=True)
    writer.call("progress.set", {"circle": cid, "chapter": chs[3]})
    post(writer, cid, chs[2], "third chapter thoughts")

    def listed(ch):
        return [x["body"] for x in reader.call(
            "annotation.list", {"circle": cid, "chapter": ch})["items"]]

    # read through chapter three (no block: the whole chapter)
    p = reader.call("progress.set", {"circle": cid, "chapter": chs[2]})
    assert p["progress"]["chapter"] == chs[2] and p["progress"]["block"] is None
    assert listed(chs[2]) == ["third chapter thoughts"]
    # looking back at chapter one, or at the start of chapter three, is
    # ignored: progress stays, the threads stay released
    for back in ({"chapter": chs[0]}, {"chapter": chs[0], "block": 5},
                 {"chapter": chs[2], "block": 0}):
        p = reader.call("progress.set", dict(back, circle=cid))
        assert p["progress"]["chapter"] == chs[2], back
        assert p["progress"]["block"] is None, back
    assert listed(chs[2]) == ["third chapter thoughts"]
    me = reader.call("circle.get", {"circle": cid})["me"]
    assert me["progress"]["chapter"] == chs[2]
    # within a chapter, a later block moves it on, an earlier one does not
    reader.call("progress.set", {"circle": cid, "chapter": chs[3], "block": 4})
    p = reader.call("progress.set", {"circle": cid, "chapter": chs[3],
                                     "block": 2})
    assert p["progress"]["block"] == 4
    p = reader.call("progress.set", {"circle": cid, "chapter": chs[3],
                                     "block": 7})
    assert p["progress"]["block"] == 7
    # a deliberate rewind moves it back and withholds again
    p = reader.call("progress.set", {"circle": cid, "chapter": chs[1],
                                     "rewind": True})
    assert p["progress"]["chapter"] == chs[1]
    assert listed(chs[2]) == []
    assert reader.error("progress.set", {"circle": cid, "chapter": chs[1],
                                         "rewind": "yes"})["code"] == -32602


def test_withheld_counts(server, book):
    """annotation.list says how many threads are held back, and why."""
    chs = book[1]
    owner, cid, (reader, writer) = setup_circle(server, book, 2,
                                                spoiler_guard=True)
    writer.call("progress.set", {"circle": cid, "chapter": chs[3]})
    for i in range(3):
        post(writer, cid, chs[2], "ahead %d" % i)
    post(reader, cid, chs[2], "my own note ahead")
    post(writer, cid, chs[0], "in chapter one")
    r = reader.call("annotation.list", {"circle": cid, "chapter": chs[2]})
    assert [x["body"] for x in r["items"]] == ["my own note ahead"]
    assert r["withheld"] == {"count": 3, "reason": "spoiler_guard"}
    r = reader.call("annotation.list", {"circle": cid, "chapter": chs[0]})
    assert r["withheld"] is None
    # the owner (a moderator) sees everything: nothing withheld
    r = owner.call("annotation.list", {"circle": cid, "chapter": chs[2]})
    assert r["withheld"] is None and len(r["items"]) == 4
    # post first: withheld until the member posts there
    owner.call("circle.update", {"circle": cid, "spoiler_guard": False,
                                 "post_first": True})
    r = reader.call("annotation.list", {"circle": cid, "chapter": chs[0]})
    assert r["items"] == []
    assert r["withheld"] == {"count": 1, "reason": "post_first"}
    post(reader, cid, chs[0], "now I have posted")
    r = reader.call("annotation.list", {"circle": cid, "chapter": chs[0]})
    assert r["withheld"] is None and len(r["items"]) == 2


def test_markdown_preview_renders_as_a_post(server, book):
    owner, cid, (a,) = setup_circle(server, book, 1)
    body = "Why **bold**? <script>x</script> [l](javascript:alert(1)) *em*"
    prev = a.call("markdown.preview", {"body": body})["body_html"]
    made = post(a, cid, book[1][0], body)
    assert prev == made["body_html"]
    assert "<strong>bold</strong>" in prev and "<script>" not in prev
    assert a.error("markdown.preview", {"body": "  \n"})["code"] == -32602
    assert a.error("markdown.preview", {"body": "x" * 10001})["code"] in (
        -32602, -32013)
    assert a.error("markdown.preview", {})["code"] == -32602
