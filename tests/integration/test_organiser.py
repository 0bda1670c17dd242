"""The organiser's tools (issue 20): circle.dashboard and meeting mode.

One circle on the sample book: an owner and four members at different
places in the plan - one ahead, one on track, one behind, and one who
writes only private notes (whose activity nobody else may see). Then a
meeting's whole life: proposals, the agenda set by the owner (audited),
live meeting.current reaching members over their WebSocket (and not
reaching a member who may not see the current thread), raised hands,
attendance, outcomes posted as replies marked with the meeting, and the
meeting's record in the chapter's digest and in both exports.
"""
import datetime
import json
import os
import subprocess

import pytest

from harness import SOURCE, Server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("scholia"),
                 env={"SCHOLIA_POSTS_PER_MINUTE": "100000"})
    srv.start()
    yield srv
    srv.stop()
    srv.assert_clean_exit()


def day(offset):
    d = datetime.datetime.now(datetime.timezone.utc).date()
    return (d + datetime.timedelta(days=offset)).isoformat()


def target(text, start, end):
    return {"selector": [
        {"type": "TextQuoteSelector", "exact": text[start:end],
         "prefix": text[max(0, start - 32):start],
         "suffix": text[end:end + 32]},
        {"type": "TextPositionSelector", "start": start, "end": end}]}


class World:
    pass


@pytest.fixture(scope="module")
def world(server):
    w = World()
    w.owner = server.new_account("owner")
    w.ahead = server.new_account("ahead")
    w.ontrack = server.new_account("ontrack")
    w.behind = server.new_account("behind")
    w.quiet = server.new_account("quiet")  # only private notes
    book = w.owner.call("book.list", {})["items"][0]["id"]
    toc = w.owner.call("book.toc", {"book": book})
    w.chapters = [c["id"] for p in toc["parts"] for c in p["chapters"]]
    w.ch = w.chapters[:4]
    w.text = {c: w.owner.call("chapter.get", {"chapter": c})["text"]
              for c in w.ch}
    w.circle = w.owner.call("circle.create",
                            {"name": "Organised", "book": book})["id"]
    code = w.owner.call("circle.invite", {"circle": w.circle})["code"]
    for m in (w.ahead, w.ontrack, w.behind, w.quiet):
        m.call("circle.join", {"code": code})
    # due: ch0 ten days ago, ch1 two days ago, ch2 in five days, ch3 in 12
    w.owner.call("plan.set", {"circle": w.circle, "entries": [
        {"chapter": w.ch[0], "due": day(-10), "prompt": "Why cotton?",
         "notes": "Start with the map."},
        {"chapter": w.ch[1], "due": day(-2)},
        {"chapter": w.ch[2], "due": day(5)},
        {"chapter": w.ch[3], "due": day(12)}]})
    w.ahead.call("progress.set", {"circle": w.circle, "chapter": w.ch[2]})
    w.ontrack.call("progress.set", {"circle": w.circle, "chapter": w.ch[1]})
    w.behind.call("progress.set", {"circle": w.circle, "chapter": w.ch[0]})

    def post(who, ch, start, body, vis="circle"):
        t = w.text[ch]
        return who.call("annotation.create", {
            "circle": w.circle, "chapter": ch, "body": body,
            "target": target(t, start, start + 25), "visibility": vis})["id"]

    w.t1 = post(w.ahead, w.ch[0], 10, "The mills, first.")
    w.t2 = post(w.ahead, w.ch[0], 60, "Nobody answers this one?")
    w.t3 = post(w.behind, w.ch[1], 10, "A question on Owen.")
    w.r1 = w.ontrack.call("reply.create", {"annotation": w.t1,
                                           "body": "Agreed."})["id"]
    w.p1 = post(w.quiet, w.ch[0], 20, "private one", "private")
    w.p2 = post(w.quiet, w.ch[1], 20, "private two", "private")
    return w


def line_of(dash, client):
    got = [m for m in dash["members"]
           if m["account"]["id"] == client.account["id"]]
    assert len(got) == 1, dash["members"]
    return got[0]


def test_dashboard_for_the_owner(world):
    w = world
    d = w.owner.call("circle.dashboard", {"circle": w.circle})
    assert len(d["members"]) == 5
    a = line_of(d, w.ahead)
    assert (a["status"], a["ahead_by"], a["behind_by"]) == ("ahead", 1, 0)
    assert a["chapters_read"] == 3
    assert (a["threads"], a["replies"], a["threads_week"]) == (2, 0, 2)
    assert a["progress"]["chapter"] == w.ch[2]
    assert a["last_seen"] is not None
    assert sum(a["activity"]) == 2 and len(a["activity"]) == len(d["weeks"])
    o = line_of(d, w.ontrack)
    assert (o["status"], o["behind_by"], o["ahead_by"]) == ("on_track", 0, 0)
    assert (o["threads"], o["replies"]) == (0, 1)
    b = line_of(d, w.behind)
    assert (b["status"], b["behind_by"]) == ("behind", 1)
    # private notes count for nobody but their author
    q = line_of(d, w.quiet)
    assert (q["threads"], q["replies"], sum(q["activity"])) == (0, 0, 0)
    assert (q["status"], q["behind_by"], q["progress"]) == ("behind", 2, None)
    t = d["totals"]
    assert (t["members"], t["threads"], t["replies"]) == (5, 3, 1)
    assert (t["ahead"], t["on_track"], t["behind"]) == (1, 1, 3)
    assert sum(x["threads"] for x in t["activity"]) == 3
    assert [p["chapter"] for p in d["plan"]] == w.ch
    ch0 = d["chapters"][0]
    assert ch0["chapter"] == w.ch[0]
    assert (ch0["threads"], ch0["replies"], ch0["unanswered"]) == (2, 1, 1)
    assert ch0["read_by"] == 3
    assert set(ch0["readers"]) == {w.ahead.account["id"],
                                   w.ontrack.account["id"],
                                   w.behind.account["id"]}
    # the most discussed passage first; no private passage anywhere
    assert ch0["passages"][0]["annotation"] == w.t1
    every = {p["annotation"] for c in d["chapters"] for p in c["passages"]}
    assert every == {w.t1, w.t2, w.t3}
    ch1 = d["chapters"][1]
    assert (ch1["threads"], ch1["unanswered"], ch1["read_by"]) == (1, 1, 2)
    assert "notes" not in json.dumps(d)


def test_dashboard_for_members(world):
    w = world
    d = w.ontrack.call("circle.dashboard", {"circle": w.circle})
    assert [m["account"]["id"] for m in d["members"]] == \
        [w.ontrack.account["id"]]
    assert d["totals"]["threads"] == 3 and d["totals"]["members"] == 5
    assert "readers" not in d["chapters"][0]
    # the author alone sees her private notes counted
    d = w.quiet.call("circle.dashboard", {"circle": w.circle})
    q = line_of(d, w.quiet)
    assert len(d["members"]) == 1
    assert (q["threads"], sum(q["activity"])) == (2, 2)
    assert d["totals"]["threads"] == 5


def test_plan_notes_for_owners_and_moderators_only(world):
    w = world
    p = w.owner.call("plan.get", {"circle": w.circle})
    assert p["entries"][0]["notes"] == "Start with the map."
    p = w.ahead.call("plan.get", {"circle": w.circle})
    assert "notes" not in p["entries"][0]
    assert p["entries"][0]["prompt"] == "Why cotton?"
    # plan.changed carries no notes: members receive it
    w.ahead.call("circle.subscribe", {"circle": w.circle})
    w.ahead.drain_events(0.1)
    w.owner.call("plan.set", {"circle": w.circle, "entries": p["entries"][:1]
                              + [dict(e, notes="n%d" % i) for i, e in
                                 enumerate(w.owner.call("plan.get", {
                                     "circle": w.circle})["entries"][1:])]})
    ev = w.ahead.next_event("plan.changed")
    assert "notes" not in json.dumps(ev["data"])
    # a cohort keeps the organiser's notes
    clone = w.owner.call("circle.clone", {"circle": w.circle,
                                          "name": "Next cohort"})["id"]
    got = w.owner.call("plan.get", {"circle": clone})["entries"]
    assert [e.get("notes") for e in got] == [None, "n0", "n1", "n2"]


def test_meeting_limits_and_roles(world):
    w = world
    e = w.ahead.error("meeting.create", {"circle": w.circle,
                                         "at": "2026-12-10T19:00:00Z"})
    assert e["code"] == -32003
    e = w.owner.error("meeting.create", {"circle": w.circle,
                                         "at": "next tuesday"})
    assert (e["code"], e["data"]["field"]) == (-32602, "at")
    e = w.owner.error("meeting.create", {"circle": w.circle,
                                         "at": "2026-12-10T19:00:00Z",
                                         "title": "x" * 201})
    assert (e["code"], e["data"]["field"]) == (-32602, "title")
    e = w.owner.error("meeting.create", {"circle": w.circle,
                                         "at": "2026-12-10T19:00:00Z",
                                         "chapter": 999999})
    assert (e["code"], e["data"]["field"]) == (-32602, "chapter")


def test_meeting_life(world, server):
    w = world
    m = w.owner.call("meeting.create", {
        "circle": w.circle, "at": "2026-12-10T19:30:00+01:00",
        "chapter": w.ch[0], "title": "Week one"})
    mid = m["id"]
    assert m["at"] == "2026-12-10T18:30:00Z" and m["status"] == "scheduled"
    assert m["agenda"] == [] and m["current"] is None
    # the organiser is offered the week's discussed and unanswered threads
    sug = {s["annotation"]: s["reason"] for s in m["suggestions"]}
    assert sug == {w.t1: "discussed", w.t2: "unanswered"}
    assert w.owner.call("meeting.list", {"circle": w.circle})["items"][0][
        "id"] == mid

    # members propose; a private note cannot be proposed, even by its author
    for cl in (w.ahead, w.behind, w.ontrack, w.quiet):
        cl.call("circle.subscribe", {"circle": w.circle})
    w.ahead.drain_events(0.1)
    got = w.behind.call("meeting.propose", {"meeting": mid,
                                            "annotation": w.t3})
    assert [p["annotation"] for p in got["proposals"]] == [w.t3]
    e = w.quiet.error("meeting.propose", {"meeting": mid, "annotation": w.p1})
    assert e["code"] == -32602
    ev = w.ahead.next_event("meeting.changed")
    assert ev["data"]["id"] == mid and ev["data"]["change"] == "proposals"
    assert "agenda" not in ev["data"]

    # the owner edits the agenda; members may not
    e = w.ahead.error("meeting.agenda", {"meeting": mid,
                                         "annotations": [w.t1]})
    assert e["code"] == -32003
    e = w.owner.error("meeting.agenda", {"meeting": mid,
                                         "annotations": [w.t1, w.p1]})
    assert (e["code"], e["data"]["field"]) == (-32602, "annotations[1]")
    e = w.owner.error("meeting.agenda", {"meeting": mid,
                                         "annotations": [w.t1] * 51})
    assert e["code"] == -32013
    m = w.owner.call("meeting.agenda", {"meeting": mid,
                                        "annotations": [w.t3, w.t1, w.t2]})
    assert [i["annotation"] for i in m["agenda"]] == [w.t3, w.t1, w.t2]
    assert m["proposals"] == []
    assert m["agenda"][0]["proposed_by"]["id"] == w.behind.account["id"]
    m = w.owner.call("meeting.agenda", {"meeting": mid,
                                        "annotations": [w.t1, w.t3]})
    assert [i["annotation"] for i in m["agenda"]] == [w.t1, w.t3]
    log = w.owner.call("mod.log", {"circle": w.circle})["items"]
    assert [x["action"] for x in log[:2]] == ["meeting.agenda"] * 2
    assert log[0]["target"] == {"meeting": mid}

    # live: the owner advances, members' screens follow
    for cl in (w.ahead, w.behind):
        cl.drain_events(0.1)
    e = w.ahead.error("meeting.advance", {"meeting": mid, "item": w.t1})
    assert e["code"] == -32003
    e = w.owner.error("meeting.advance", {"meeting": mid, "item": w.t2})
    assert (e["code"], e["data"]["field"]) == (-32602, "item")
    m = w.owner.call("meeting.advance", {"meeting": mid, "item": w.t1})
    assert (m["current"], m["status"]) == (w.t1, "live")
    for cl in (w.ahead, w.behind):
        ev = w.ahead.next_event("meeting.current") if cl is w.ahead \
            else cl.next_event("meeting.current")
        assert ev["data"] == {"meeting": mid, "circle": w.circle,
                              "item": w.t1, "chapter": w.ch[0]}
        assert ev["seq"] > 0

    # hands and attendance
    m = w.ontrack.call("meeting.hand", {"meeting": mid, "up": True})
    assert m["my_hand"]["item"] == w.t1
    m = w.behind.call("meeting.hand", {"meeting": mid, "up": True})
    queue = [h["account"]["id"] for h in m["agenda"][0]["hands"]]
    assert queue == [w.ontrack.account["id"], w.behind.account["id"]]
    ev = w.ahead.next_event("meeting.changed")
    assert ev["data"]["change"] == "hands"
    e = w.ahead.error("meeting.hand", {"meeting": mid, "up": False,
                                       "account": w.behind.account["id"]})
    assert e["code"] == -32003
    m = w.owner.call("meeting.hand", {"meeting": mid, "up": False,
                                      "account": w.ontrack.account["id"]})
    assert [h["account"]["id"] for h in m["agenda"][0]["hands"]] == \
        [w.behind.account["id"]]
    for cl in (w.ahead, w.behind):
        m = cl.call("meeting.attend", {"meeting": mid, "present": True})
        assert m["present"] is True
    assert {a["id"] for a in m["attendees"]} == {w.ahead.account["id"],
                                                 w.behind.account["id"]}

    # the outcome is a reply in the thread, marked with the meeting
    e = w.ahead.error("meeting.outcome", {"meeting": mid, "annotation": w.t1,
                                          "body": "no"})
    assert e["code"] == -32003
    w.ahead.drain_events(0.1)
    m = w.owner.call("meeting.outcome", {
        "meeting": mid, "annotation": w.t1,
        "body": "We agreed the mills came *first*."})
    reply = m["reply"]
    assert m["agenda"][0]["outcomes"][0]["body"] == \
        "We agreed the mills came *first*."
    ev = w.ahead.next_event("reply.created")
    assert ev["data"]["id"] == reply
    assert ev["data"]["meeting_outcome"] == mid
    thread = w.ahead.call("annotation.get", {"annotation": w.t1})
    marked = [r for r in thread["replies"] if r["id"] == reply]
    assert marked and marked[0]["meeting_outcome"] == mid
    assert "meeting_outcome" not in [r for r in thread["replies"]
                                     if r["id"] == w.r1][0]
    log = w.owner.call("mod.log", {"circle": w.circle})["items"]
    assert log[0]["action"] == "meeting.outcome"
    assert log[0]["target"] == {"annotation": w.t1}
    acts = [(x["action"], x["target"]) for x in log]
    assert ("meeting.advance", {"meeting": mid}) in acts
    assert ("meeting.lower_hand",
            {"account": w.ontrack.account["id"]}) in acts
    w.owner.call("meeting.outcome", {"meeting": mid, "annotation": w.t3,
                                     "body": "Owen next week."})
    w.owner.call("meeting.update", {"meeting": mid, "status": "ended"})

    # the record: in the chapter's digest and in the exports
    st, _, body = server.http(
        "GET", "/api/circles/%d/digest.md?chapter=%d" % (w.circle, w.ch[0]),
        headers={"Authorization": "Bearer " + w.ahead.token})
    assert st == 200
    rec = body[body.index("## Meetings"):]
    assert "### Week one · 2026-12-10T18:30:00Z" in rec
    assert "Present: " in rec and "(@%s)" % w.ahead.handle in rec
    assert "(@%s)" % w.behind.handle in rec
    assert "(@%s)" % w.ontrack.handle not in rec.split("\n\n")[1]
    assert "> We agreed the mills came *first*." in rec
    assert rec.index("thread %d" % w.t1) < rec.index("thread %d" % w.t3)
    st, _, body = server.http(
        "GET", "/api/circles/%d/digest.md?chapter=%d" % (w.circle, w.ch[2]),
        headers={"Authorization": "Bearer " + w.ahead.token})
    assert st == 200 and "## Meetings" not in body
    md = server.cmd("export", "--circle", str(w.circle),
                    "--format", "markdown").stdout
    assert "## Meetings" in md and "Owen next week." in md
    st, _, md = server.http(
        "GET", "/api/circles/%d/export.md" % w.circle,
        headers={"Authorization": "Bearer " + w.behind.token})
    assert st == 200
    assert "## Meetings" in md and "Owen next week." in md
    doc = json.loads(server.cmd("export", "--circle", str(w.circle),
                                "--format", "w3c").stdout)
    recs = doc["scholia:meetings"]
    assert recs[0]["id"] == mid and recs[0]["title"] == "Week one"
    assert [i["annotation"] for i in recs[0]["agenda"]] == [w.t1, w.t3]
    assert recs[0]["agenda"][1]["outcomes"][0]["body"] == "Owen next week."
    st, _, body = server.http(
        "GET", "/api/circles/%d/annotations" % w.circle,
        headers={"Authorization": "Bearer " + w.ahead.token})
    assert st == 200
    coll = json.loads(body)
    assert coll["scholia:meetings"][0]["id"] == mid
    # the extension property keeps the collection W3C-valid (tests/w3c)
    r = subprocess.run(
        ["node", os.path.join(SOURCE, "tests", "w3c", "validate.mjs"),
         "collection"], input=json.dumps(coll), capture_output=True,
        text=True, cwd=os.path.join(SOURCE, "tests", "w3c"), timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_agenda_respects_visibility(world):
    """With the spoiler guard on, a thread past a member's progress is on
    the agenda for the owner but not for that member: not in meeting.get,
    not in the record, and meeting.current about it does not reach them."""
    w = world
    w.owner.call("circle.update", {"circle": w.circle, "spoiler_guard": True})
    t = w.text[w.ch[3]]
    late = w.owner.call("annotation.create", {
        "circle": w.circle, "chapter": w.ch[3], "body": "the end",
        "target": target(t, 5, 30), "visibility": "circle"})["id"]
    m = w.owner.call("meeting.create", {"circle": w.circle,
                                        "at": "2026-12-17T19:00:00Z"})
    mid = m["id"]
    w.owner.call("meeting.agenda", {"meeting": mid,
                                    "annotations": [w.t1, late]})
    got = w.behind.call("meeting.get", {"meeting": mid})
    assert [i["annotation"] for i in got["agenda"]] == [w.t1]
    assert "suggestions" not in got
    # nor in the dashboard's figures and passages
    d_owner = w.owner.call("circle.dashboard", {"circle": w.circle})
    d_behind = w.behind.call("circle.dashboard", {"circle": w.circle})
    assert d_owner["totals"]["threads"] == d_behind["totals"]["threads"] + 1
    ch3 = [c for c in d_behind["chapters"] if c["chapter"] == w.ch[3]][0]
    assert (ch3["threads"], ch3["passages"]) == (0, [])
    assert late in [p["annotation"] for c in d_owner["chapters"]
                    for p in c["passages"]]
    got = w.ahead.call("meeting.get", {"meeting": mid})
    assert [i["annotation"] for i in got["agenda"]] == [w.t1]
    e = w.behind.error("meeting.propose", {"meeting": mid, "annotation": late})
    assert e["code"] == -32602
    for cl in (w.behind, w.ahead):
        cl.call("circle.subscribe", {"circle": w.circle})
        cl.drain_events(0.1)
    w.owner.call("meeting.advance", {"meeting": mid, "item": late})
    w.owner.call("meeting.advance", {"meeting": mid, "item": w.t1})
    evs = [e for e in w.behind.drain_events(1.0)
           if e["type"] == "meeting.current"]
    assert [e["data"]["item"] for e in evs] == [w.t1]
    # and replay holds the same rule
    r = w.behind.call("circle.subscribe", {"circle": w.circle,
                                           "since_seq": 0})
    items = [e["data"]["item"] for e in r.get("events", [])
             if e["type"] == "meeting.current" and
             e["data"]["meeting"] == mid]
    assert late not in items
    st, _, body = server_digest(w, w.behind)
    assert "the end" not in body
    w.owner.call("circle.update", {"circle": w.circle,
                                   "spoiler_guard": False})


def server_digest(w, who):
    return w.server.http(
        "GET", "/api/circles/%d/annotations" % w.circle,
        headers={"Authorization": "Bearer " + who.token})


@pytest.fixture(autouse=True)
def _server_on_world(world, server):
    world.server = server


def test_meeting_delete(world):
    w = world
    m = w.owner.call("meeting.create", {"circle": w.circle,
                                        "at": "2026-12-24T19:00:00Z"})
    e = w.ahead.error("meeting.delete", {"meeting": m["id"]})
    assert e["code"] == -32003
    assert w.owner.call("meeting.delete", {"meeting": m["id"]}) == {}
    e = w.owner.error("meeting.get", {"meeting": m["id"]})
    assert e["code"] == -32004
