"""Moderation over real WebSockets (issue 6, SPEC §3 moderation, §4, §5).

One server for the file. A module-scoped "world" holds circle A with an
owner, a moderator and members, a site admin who is not a member of A, a
non-member, and two moderators of another circle B: one not in A at all
(-32004 in A: nothing leaks) and one who is a plain member of A (-32003).

Every test that posts uses its own members or circles, so the per-member
limit of 20 posts a minute never interferes between tests.
"""
import json
import time
from datetime import datetime, timedelta, timezone

import pytest

SECRET = "zebrafish-secret-4821"


# ---------------------------------------------------------------- helpers

def code_of(client, method, params):
    """The error code of a call, or 0 when it succeeded."""
    r = client.request(method, params)
    if "error" in r:
        return r["error"]["code"]
    return 0


def new_circle(owner, book, name="circle"):
    return owner.call("circle.create", {"name": name, "book": book})["id"]


def join(owner, client, circle, role="member"):
    code = owner.call("circle.invite", {"circle": circle, "role": role})["code"]
    client.call("circle.join", {"code": code})


def post(c, circle, chapter, body="a thought", visibility="circle"):
    return c.call("annotation.create", {
        "circle": circle, "chapter": chapter, "target": None,
        "body": body, "visibility": visibility})["id"]


def reply(c, annotation, body="a reply"):
    return c.call("reply.create", {"annotation": annotation, "body": body})["id"]


def rfc3339(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def notifications(c, kind):
    items = c.call("notification.list", {})["items"]
    return [n for n in items if n["kind"] == kind]


@pytest.fixture(scope="module")
def world(server, make_world):
    # the first account is the site admin
    admin = server.new_account("admin", admin=True)
    assert admin.account["is_admin"] is True
    w = make_world(owner="owner", circle_name="Circle A",
                   moderators=("mod",),
                   members={"member": "member", "author": "author",
                            "modb_mem": "modbmem"},
                   outsider="outsider")
    assert len(w.chapters) >= 2
    w.admin, w.a = admin, w.circle
    w.modb_out = server.new_account("modbout")
    w.b = new_circle(w.modb_out, w.book, "Circle B")
    join(w.modb_out, w.modb_mem, w.b, "moderator")
    w.roles = {
        "nonmember": w.outsider,
        "mod_other_circle": w.modb_out,
        "member": w.member,
        "member_and_mod_elsewhere": w.modb_mem,
        "moderator": w.mod,
        "owner": w.owner,
        "admin": w.admin,
    }
    return w


# SPEC §4 row "hide, lock, pin, mute, remove, slow mode, queue, log"
EXPECTED = {
    "nonmember": -32004,
    "mod_other_circle": -32004,
    "member": -32003,
    "member_and_mod_elsewhere": -32003,
    "moderator": 0,
    "owner": 0,
    "admin": 0,
}
ORDER = ["nonmember", "mod_other_circle", "member",
         "member_and_mod_elsewhere", "moderator", "owner", "admin"]


# ---------------------------------------------------------------- the table

def test_every_action_by_every_role(server, world):
    w = world
    ch = w.chapters[0]
    thread = post(w.author, w.a, ch, "a thread to moderate")
    rep = reply(w.member, thread, "a reply to moderate")
    # members to mute and remove: one per role that may do it
    victims = {}
    for role in ORDER:
        if EXPECTED[role] == 0:
            v = server.new_account("victim")
            join(w.owner, v, w.a)
            victims[role] = v
    bystander = server.new_account("bystander")
    join(w.owner, bystander, w.a)
    # flags to resolve, one flagged thread per role that may resolve
    flagged = {}
    for role in ORDER:
        if EXPECTED[role] == 0:
            t = post(w.author, w.a, ch, "flag me (%s)" % role)
            flagged[role] = w.member.call("flag.create", {
                "target": {"annotation": t}, "reason": "spam"})["id"]
    spare = post(w.author, w.a, ch, "flag me too")
    spare_flag = w.member.call("flag.create", {
        "target": {"annotation": spare}, "reason": "other"})["id"]

    def calls(role):
        victim = victims.get(role, bystander)
        return [
            ("mod.hide", {"target": {"annotation": thread}, "reason": "r"}),
            ("mod.hide", {"target": {"reply": rep}, "reason": "r"}),
            ("mod.unhide", {"target": {"annotation": thread}}),
            ("mod.unhide", {"target": {"reply": rep}, "reason": "ok"}),
            ("mod.lock", {"annotation": thread, "reason": "heated"}),
            ("mod.unlock", {"annotation": thread}),
            ("mod.pin", {"annotation": thread, "on": True}),
            ("mod.pin", {"annotation": thread, "on": False}),
            ("mod.slow", {"circle": w.a, "seconds": 0}),
            ("mod.queue", {"circle": w.a}),
            ("mod.log", {"circle": w.a}),
            ("mod.mute", {"circle": w.a, "account": victim.account["id"],
                          "reason": "cool down"}),
            ("mod.unmute", {"circle": w.a, "account": victim.account["id"]}),
            ("mod.resolve", {"flag": flagged.get(role, spare_flag),
                             "action": "dismiss"}),
            ("mod.remove", {"circle": w.a, "account": victim.account["id"],
                            "reason": "gone"}),
        ]

    failures = []
    for role in ORDER:
        c = w.roles[role]
        for method, params in calls(role):
            got = code_of(c, method, params)
            if got != EXPECTED[role]:
                failures.append((role, method, params, got))
    assert not failures, failures

    # the forbidden attempts changed nothing; the allowed ones did
    assert code_of(bystander, "annotation.list",
                   {"circle": w.a, "chapter": ch}) == 0
    for role, v in victims.items():
        assert code_of(v, "annotation.list",
                       {"circle": w.a, "chapter": ch}) == -32004, role
    st = w.mod.call("annotation.get", {"annotation": spare})
    assert st["hidden"] is False

    # admin.ban: site admins only
    target = server.new_account("bantarget")
    for role in ORDER:
        if role == "admin":
            continue
        assert code_of(w.roles[role], "admin.ban", {
            "account": target.account["id"], "reason": "x"}) == -32003, role
        assert code_of(w.roles[role], "admin.unban", {
            "account": target.account["id"]}) == -32003, role
    assert target.call("account.get", {})  # still alive


def test_anchor_review_permission(world):
    w = world
    for role in ORDER:
        got = code_of(w.roles[role], "anchor.review", {"circle": w.a})
        assert got == EXPECTED[role], (role, got)


def test_member_cannot_resolve_own_flag(server, world):
    w = world
    t = post(w.author, w.a, w.chapters[0], "flag target")
    f = w.member.call("flag.create", {"target": {"annotation": t},
                                      "reason": "off_topic"})
    assert f["status"] == "open" and f["reason"] == "off_topic"
    assert code_of(w.member, "mod.resolve",
                   {"flag": f["id"], "action": "dismiss"}) == -32003
    assert code_of(w.member, "mod.resolve",
                   {"flag": f["id"], "action": "hide"}) == -32003
    assert code_of(w.outsider, "mod.resolve",
                   {"flag": f["id"], "action": "hide"}) == -32004
    # still open: the moderator can resolve it
    r = w.mod.call("mod.resolve", {"flag": f["id"], "action": "dismiss"})
    assert r["resolved"] == 1
    # twice: conflict
    assert code_of(w.mod, "mod.resolve",
                   {"flag": f["id"], "action": "dismiss"}) == -32009


# ---------------------------------------------------------------- flags

def test_flags_queue_and_outcome(server, world):
    w = world
    ch = w.chapters[0]
    author = server.new_account("fauthor")
    f1c = server.new_account("flagger")
    join(w.owner, author, w.a)
    join(w.owner, f1c, w.a)
    t1 = post(author, w.a, ch, "first flagged")
    t2 = post(author, w.a, ch, "second flagged")
    r2 = reply(author, t1, "a flagged reply")

    # bad input, then the rules
    assert code_of(f1c, "flag.create", {"target": {"annotation": t1},
                                        "reason": "rude"}) == -32602
    assert code_of(f1c, "flag.create", {"target": {"thing": t1},
                                        "reason": "spam"}) == -32602
    assert code_of(f1c, "flag.create", {"target": {"annotation": 10 ** 9},
                                        "reason": "spam"}) == -32004
    assert code_of(w.outsider, "flag.create", {
        "target": {"annotation": t1}, "reason": "spam"}) == -32004
    assert code_of(author, "flag.create", {
        "target": {"annotation": t1}, "reason": "spam"}) == -32003

    a = f1c.call("flag.create", {"target": {"annotation": t1},
                                 "reason": "uncivil", "note": "name-calling"})
    assert a["target"] == {"annotation": t1} and a["note"] == "name-calling"
    # one open flag per member per target
    assert code_of(f1c, "flag.create", {"target": {"annotation": t1},
                                        "reason": "spam"}) == -32009
    b = w.member.call("flag.create", {"target": {"annotation": t2},
                                      "reason": "off_topic"})
    c = w.member.call("flag.create", {"target": {"reply": r2},
                                      "reason": "spam"})
    d = w.member.call("flag.create", {"target": {"annotation": t1},
                                      "reason": "other", "note": "see above"})

    q = w.mod.call("mod.queue", {"circle": w.a})
    mine = [it for it in q["items"]
            if it["target"] in ({"annotation": t1}, {"annotation": t2},
                                {"reply": r2})]
    # grouped by target, oldest first
    assert [it["target"] for it in mine] == [
        {"annotation": t1}, {"annotation": t2}, {"reply": r2}]
    g1 = mine[0]
    assert [f["id"] for f in g1["flags"]] == [a["id"], d["id"]]
    assert [f["reason"] for f in g1["flags"]] == ["uncivil", "other"]
    assert g1["flags"][0]["note"] == "name-calling"
    assert g1["flags"][0]["flagger"]["id"] == f1c.account["id"]
    assert g1["content"]["id"] == t1
    assert g1["content"]["body"] == "first flagged"
    assert mine[2]["content"]["body"] == "a flagged reply"
    assert code_of(w.member, "mod.queue", {"circle": w.a}) == -32003

    # hide through the queue: every open flag on the target closes, the
    # flaggers learn the outcome, the author is told
    r = w.mod.call("mod.resolve", {"flag": d["id"], "action": "hide"})
    assert r["resolved"] == 2 and r["hidden"] is True
    assert w.member.call("annotation.get", {"annotation": t1})["body"] is None
    fr = [n for n in notifications(f1c, "flag_resolved")
          if n["data"]["flag"] == a["id"]]
    assert fr and fr[0]["data"]["outcome"] == "hidden"
    assert any(n["data"]["target"] == {"annotation": t1}
               for n in notifications(author, "moderation"))
    # dismiss: the post stays visible
    r = w.mod.call("mod.resolve", {"flag": b["id"], "action": "dismiss"})
    assert r["hidden"] is False
    assert w.member.call("annotation.get",
                         {"annotation": t2})["body"] == "second flagged"
    fr = [n for n in notifications(w.member, "flag_resolved")
          if n["data"]["flag"] == b["id"]]
    assert fr and fr[0]["data"]["outcome"] == "dismissed"
    # a member may flag again once their flag is closed
    w.member.call("flag.create", {"target": {"annotation": t2},
                                  "reason": "spam"})
    q = w.mod.call("mod.queue", {"circle": w.a})
    targets = [it["target"] for it in q["items"]]
    assert {"annotation": t1} not in targets
    assert {"annotation": t2} in targets and {"reply": r2} in targets
    w.mod.call("mod.resolve", {"flag": c["id"], "action": "dismiss"})


def test_autohide_after_three_members(server, world):
    w = world
    ch = w.chapters[0]
    author = server.new_account("ahauthor")
    join(w.owner, author, w.a)
    flaggers = []
    for _ in range(3):
        f = server.new_account("ahflag")
        join(w.owner, f, w.a)
        flaggers.append(f)
    word = "wombat-autohide-1937"
    t = post(author, w.a, ch, "provocative " + word)
    r1 = flaggers[0].call("flag.create", {"target": {"annotation": t},
                                          "reason": "uncivil"})
    r2 = flaggers[1].call("flag.create", {"target": {"annotation": t},
                                          "reason": "spam"})
    assert r1["hidden"] is False and r2["hidden"] is False
    assert w.member.call("annotation.get", {"annotation": t})["hidden"] is False
    r3 = flaggers[2].call("flag.create", {"target": {"annotation": t},
                                          "reason": "uncivil"})
    assert r3["hidden"] is True
    seen = w.member.call("annotation.get", {"annotation": t})
    assert seen["hidden"] is True and seen["body"] is None
    assert seen["body_html"] is None
    assert word not in json.dumps(seen)
    # the author sees the body, marked hidden, and is told why
    own = author.call("annotation.get", {"annotation": t})
    assert own["hidden"] is True and word in own["body"]
    told = [n for n in notifications(author, "moderation")
            if n["data"]["target"] == {"annotation": t}]
    assert told and told[0]["data"]["auto"] is True
    assert "uncivil" in told[0]["data"]["reason"]
    # the log names the system as actor
    log = w.mod.call("mod.log", {"circle": w.a})["items"]
    auto = [e for e in log if e["action"] == "auto_hide"
            and e["target"] == {"annotation": t}]
    assert auto and auto[0]["actor"] is None
    # a moderator dismisses: unhidden, and no longer auto-hidden after that
    q = w.mod.call("mod.queue", {"circle": w.a})
    entry = [it for it in q["items"] if it["target"] == {"annotation": t}][0]
    assert entry["auto_hidden"] is True and entry["count"] == 3
    w.mod.call("mod.resolve", {"flag": r1["id"], "action": "dismiss"})
    assert w.member.call("annotation.get", {"annotation": t})["hidden"] is False
    for f in flaggers:
        again = f.call("flag.create", {"target": {"annotation": t},
                                       "reason": "spam"})
    assert again["hidden"] is False
    assert w.member.call("annotation.get", {"annotation": t})["hidden"] is False


# ---------------------------------------------------------------- hidden

def test_hidden_body_never_reaches_members(server, world):
    w = world
    ch = w.chapters[1]
    author = server.new_account("hauthor")
    watcher = server.new_account("watcher")
    join(w.owner, author, w.a)
    join(w.owner, watcher, w.a)
    start = watcher.call("circle.subscribe", {"circle": w.a})["seq"]
    w.mod.call("circle.subscribe", {"circle": w.a})
    t = post(author, w.a, ch, "hidden thread " + SECRET)
    rp = reply(author, t, "hidden reply " + SECRET)
    keep = reply(w.member, t, "a visible reply")
    watcher.drain_events(0.3)
    w.mod.drain_events(0.3)

    w.mod.call("mod.hide", {"target": {"annotation": t}, "reason": "uncivil"})
    ev = watcher.next_event("annotation.hidden")
    assert ev["data"]["id"] == t and ev["data"]["hidden"] is True
    assert SECRET not in json.dumps(ev)
    mev = w.mod.next_event("annotation.hidden")
    assert SECRET in json.dumps(mev)  # moderators see it, marked hidden
    w.mod.call("mod.hide", {"target": {"reply": rp}, "reason": "uncivil"})
    ev = watcher.next_event("reply.hidden")
    assert SECRET not in json.dumps(ev)

    # list and get: placeholder, replies under a hidden thread stay
    items = watcher.call("annotation.list", {"circle": w.a, "chapter": ch})
    assert SECRET not in json.dumps(items)
    ours = [a for a in items["items"] if a["id"] == t]
    assert ours and ours[0]["hidden"] is True and ours[0]["body"] is None
    got = watcher.call("annotation.get", {"annotation": t})
    assert SECRET not in json.dumps(got)
    bodies = [r["body"] for r in got["replies"]]
    assert "a visible reply" in bodies
    hid = [r for r in got["replies"] if r["id"] == rp][0]
    assert hid["hidden"] is True and hid["body"] is None
    assert keep in [r["id"] for r in got["replies"]]
    # moderators and the author see the body marked hidden
    for c in (w.mod, author, w.owner):
        full = c.call("annotation.get", {"annotation": t})
        assert full["hidden"] is True and SECRET in full["body"]

    # replay with since_seq, for a member and for a new connection
    replay = watcher.call("circle.subscribe",
                          {"circle": w.a, "since_seq": start})
    assert "events" in replay and replay["events"]
    assert SECRET not in json.dumps(replay)
    created = [e for e in replay["events"] if e["type"] == "annotation.created"
               and e["data"]["id"] == t]
    assert created and created[0]["data"]["body"] is None
    fresh = server.client()
    fresh.call("auth.resume", {"token": w.member.token})
    replay = fresh.call("circle.subscribe", {"circle": w.a, "since_seq": 0})
    assert SECRET not in json.dumps(replay)
    fresh.close()
    # moderators still get it on replay
    mreplay = w.mod.call("circle.subscribe", {"circle": w.a,
                                              "since_seq": start})
    assert SECRET in json.dumps(mreplay)

    # unhide: back for everyone
    w.mod.call("mod.unhide", {"target": {"annotation": t}})
    ev = watcher.next_event("annotation.unhidden")
    assert SECRET in json.dumps(ev)
    assert SECRET in watcher.call("annotation.get", {"annotation": t})["body"]
    w.mod.call("mod.hide", {"target": {"annotation": t}, "reason": "again"})
    watcher.call("circle.unsubscribe", {"circle": w.a})
    w.mod.call("circle.unsubscribe", {"circle": w.a})


def test_hidden_body_not_in_search_export_digest(server, world):
    w = world
    ch = w.chapters[1]
    author = server.new_account("sauthor")
    join(w.owner, author, w.a)
    word = "quokkasecret%d" % int(time.time() * 1000 % 100000)
    t = post(author, w.a, ch, "searchable " + word)
    # visible first, so each path is shown to carry it
    res = w.member.call("search", {"circle": w.a, "q": word})
    assert word in json.dumps(res)
    w.mod.call("mod.hide", {"target": {"annotation": t}, "reason": "spam"})
    res = w.member.call("search", {"circle": w.a, "q": word})
    assert word not in json.dumps(res)
    res = w.mod.call("search", {"circle": w.a, "q": word})
    assert word in json.dumps(res)

    auth = {"Authorization": "Bearer " + w.member.token}
    status, _, body = server.http("GET", "/api/circles/%d/annotations" % w.a,
                                  headers=auth)
    assert status == 200
    assert word not in body
    status, _, body = server.http(
        "GET", "/api/circles/%d/digest.md?chapter=%d" % (w.a, ch),
        headers=auth)
    assert status == 200
    assert word not in body


# ---------------------------------------------------------------- threads

def test_lock_refuses_replies(server, world):
    w = world
    m = server.new_account("locker")
    join(w.owner, m, w.a)
    t = post(w.author, w.a, w.chapters[0], "to be locked")
    reply(m, t, "before the lock")
    locked = w.mod.call("mod.lock", {"annotation": t, "reason": "heated"})
    assert locked["locked"] is True
    e = m.error("reply.create", {"annotation": t, "body": "after the lock"})
    assert e["code"] == -32010
    e = m.error("flag.create", {"target": {"annotation": t},
                                "reason": "spam"})
    assert e["code"] == -32010
    assert w.member.call("annotation.get", {"annotation": t})["locked"] is True
    w.mod.call("mod.unlock", {"annotation": t})
    reply(m, t, "after the unlock")
    # lock is for threads: a reply id in its place is not found
    assert code_of(w.mod, "mod.lock", {"annotation": 10 ** 9}) == -32004


def test_pin_orders_first(server, world):
    w = world
    owner = server.new_account("pinowner")
    c = new_circle(owner, w.book, "Pins")
    ch = w.chapters[0]
    ids = [post(owner, c, ch, "thread %d" % i) for i in range(3)]
    before = owner.call("annotation.list", {"circle": c, "chapter": ch})
    assert [a["id"] for a in before["items"]][0] != ids[2]
    r = owner.call("mod.pin", {"annotation": ids[2], "on": True})
    assert r["pinned"] is True
    after = owner.call("annotation.list", {"circle": c, "chapter": ch})
    assert after["items"][0]["id"] == ids[2]
    assert after["items"][0]["pinned"] is True
    owner.call("mod.pin", {"annotation": ids[2], "on": False})
    again = owner.call("annotation.list", {"circle": c, "chapter": ch})
    assert [a["id"] for a in again["items"]] == [a["id"] for a in before["items"]]


# ---------------------------------------------------------------- members

def test_mute_for_a_time_and_until_lifted(server, world):
    w = world
    m = server.new_account("mutee")
    join(w.owner, m, w.a)
    watcher = server.new_account("mwatch")
    join(w.owner, watcher, w.a)
    watcher.call("circle.subscribe", {"circle": w.a})
    t = post(w.author, w.a, w.chapters[0], "talk")
    until = datetime.now(timezone.utc) + timedelta(minutes=10)
    r = w.mod.call("mod.mute", {"circle": w.a, "account": m.account["id"],
                                "until": rfc3339(until), "reason": "heated"})
    assert r["until"] == rfc3339(until)
    ev = watcher.next_event("member.muted")
    assert ev["data"]["account"]["id"] == m.account["id"]
    e = m.error("annotation.create", {"circle": w.a, "chapter": w.chapters[0],
                                      "target": None, "body": "x",
                                      "visibility": "circle"})
    assert e["code"] == -32010
    left = e["data"]["retry_after_ms"]
    assert 0 < left <= 600000
    e = m.error("reply.create", {"annotation": t, "body": "x"})
    assert e["code"] == -32010 and e["data"]["retry_after_ms"] > 0
    assert m.error("flag.create", {"target": {"annotation": t},
                                   "reason": "spam"})["code"] == -32010
    # a muted member still reads
    m.call("annotation.list", {"circle": w.a, "chapter": w.chapters[0]})
    told = notifications(m, "moderation")
    assert any(n["data"]["action"] == "muted" and
               n["data"]["reason"] == "heated" for n in told)

    # until lifted: no end to wait for
    w.mod.call("mod.mute", {"circle": w.a, "account": m.account["id"],
                            "reason": "again"})
    e = m.error("reply.create", {"annotation": t, "body": "x"})
    assert e["code"] == -32010
    assert "retry_after_ms" not in (e.get("data") or {})
    assert e["data"]["until"] is None

    w.mod.call("mod.unmute", {"circle": w.a, "account": m.account["id"]})
    ev = watcher.next_event("member.unmuted")
    assert ev["data"]["account"]["id"] == m.account["id"]
    reply(m, t, "I am back")
    watcher.call("circle.unsubscribe", {"circle": w.a})

    # bad times
    assert code_of(w.mod, "mod.mute", {
        "circle": w.a, "account": m.account["id"], "until": "tomorrow",
        "reason": "x"}) == -32602
    assert code_of(w.mod, "mod.mute", {
        "circle": w.a, "account": m.account["id"],
        "until": "2001-01-01T00:00:00Z", "reason": "x"}) == -32602


def test_who_may_be_muted_or_removed(server, world):
    w = world
    other_mod = server.new_account("mod2")
    join(w.owner, other_mod, w.a, "moderator")
    for method in ("mod.mute", "mod.remove"):
        # nobody mutes or removes an owner
        assert code_of(w.mod, method, {"circle": w.a,
                                       "account": w.owner.account["id"],
                                       "reason": "x"}) == -32003
        # nor themselves
        assert code_of(w.mod, method, {"circle": w.a,
                                       "account": w.mod.account["id"],
                                       "reason": "x"}) == -32003
        # a moderator does not act on another moderator
        assert code_of(w.mod, method, {"circle": w.a,
                                       "account": other_mod.account["id"],
                                       "reason": "x"}) == -32003
        # not a member of the circle
        assert code_of(w.mod, method, {"circle": w.a,
                                       "account": w.outsider.account["id"],
                                       "reason": "x"}) == -32004
    # the owner may mute a moderator
    w.owner.call("mod.mute", {"circle": w.a, "account": other_mod.account["id"],
                              "reason": "x"})
    w.owner.call("mod.unmute", {"circle": w.a,
                                "account": other_mod.account["id"]})


def test_remove_keeps_content(server, world):
    w = world
    m = server.new_account("leaver")
    join(w.owner, m, w.a)
    t = post(m, w.a, w.chapters[0], "my words stay")
    r = w.mod.call("mod.remove", {"circle": w.a, "account": m.account["id"],
                                  "reason": "trolling"})
    assert r["removed"] is True
    assert code_of(m, "annotation.list", {"circle": w.a,
                                          "chapter": w.chapters[0]}) == -32004
    assert code_of(m, "annotation.create", {
        "circle": w.a, "chapter": w.chapters[0], "target": None,
        "body": "x", "visibility": "circle"}) == -32004
    kept = w.member.call("annotation.get", {"annotation": t})
    assert kept["body"] == "my words stay"
    assert kept["author"]["id"] == m.account["id"]
    members = w.owner.call("circle.members", {"circle": w.a})
    ids = [x["account"]["id"] for x in members["items"]]
    assert m.account["id"] not in ids


# ---------------------------------------------------------------- pace

def test_slow_mode(server, world):
    w = world
    owner = server.new_account("slowowner")
    c = new_circle(owner, w.book, "Slow")
    m = server.new_account("slowmember")
    mod = server.new_account("slowmod")
    join(owner, m, c)
    join(owner, mod, c, "moderator")
    ch = w.chapters[0]
    r = mod.call("mod.slow", {"circle": c, "seconds": 120})
    assert r["seconds"] == 120
    t = post(m, c, ch, "first")
    e = m.error("reply.create", {"annotation": t, "body": "too soon"})
    assert e["code"] == -32010
    assert 0 < e["data"]["retry_after_ms"] <= 120000
    e = m.error("annotation.create", {"circle": c, "chapter": ch,
                                      "target": None, "body": "too soon",
                                      "visibility": "circle"})
    assert e["code"] == -32010
    # moderators and owners are exempt
    reply(mod, t, "mod one")
    reply(mod, t, "mod two")
    reply(owner, t, "owner one")
    reply(owner, t, "owner two")
    # out of range, then off
    assert code_of(mod, "mod.slow", {"circle": c, "seconds": -1}) == -32602
    mod.call("mod.slow", {"circle": c, "seconds": 0})
    reply(m, t, "free again")
    reply(m, t, "and again")


def test_rate_limit_twenty_a_minute(server, world):
    w = world
    owner = server.new_account("rateowner")
    c = new_circle(owner, w.book, "Rate")
    m = server.new_account("ratemember")
    join(owner, m, c)
    t = post(owner, c, w.chapters[0], "thread")
    for i in range(20):
        reply(m, t, "reply %d" % i)
    e = m.error("reply.create", {"annotation": t, "body": "one too many"})
    assert e["code"] == -32029
    assert 0 < e["data"]["retry_after_ms"] <= 60000
    e = m.error("annotation.create", {"circle": c, "chapter": w.chapters[0],
                                      "target": None, "body": "no",
                                      "visibility": "circle"})
    assert e["code"] == -32029
    # reactions are not posts
    m.call("reaction.toggle", {"target": {"annotation": t}, "kind": "agree"})
    # per member: others still post
    reply(owner, t, "the owner may")


# ---------------------------------------------------------------- ban

def test_ban_closes_sockets_and_refuses_login(server, world):
    w = world
    victim = server.new_account("banned")
    join(w.owner, victim, w.a)
    second = server.client()
    second.call("auth.resume", {"token": victim.token})
    assert code_of(w.mod, "admin.ban", {"account": victim.account["id"],
                                        "reason": "spam"}) == -32003
    assert code_of(w.admin, "admin.ban", {"account": 10 ** 9,
                                          "reason": "x"}) == -32004
    assert code_of(w.admin, "admin.ban", {"account": w.admin.account["id"],
                                          "reason": "x"}) == -32003
    r = w.admin.call("admin.ban", {"account": victim.account["id"],
                                   "reason": "spam bot"})
    assert r["banned"] is True
    victim.wait_closed(10)
    second.wait_closed(10)
    c = server.client()
    e = c.error("auth.login", {"handle": victim.handle,
                               "password": victim.password})
    assert e["code"] == -32010
    assert e.get("message")
    e = c.error("auth.resume", {"token": victim.token})
    assert e["code"] in (-32001, -32010)
    # logged site-wide (circle null), readable by admins
    log = w.admin.call("admin.log", {})["items"]
    assert any(x["action"] == "ban" and
               x["target"] == {"account": victim.account["id"]} and
               x["reason"] == "spam bot" for x in log)
    assert code_of(w.mod, "admin.log", {}) == -32003
    w.admin.call("admin.unban", {"account": victim.account["id"]})
    r = c.call("auth.login", {"handle": victim.handle,
                              "password": victim.password})
    assert r["account"]["id"] == victim.account["id"]
    c.close()


# ---------------------------------------------------------------- the log

def test_log_records_actions_newest_first(server, world):
    w = world
    owner = server.new_account("logowner")
    c = new_circle(owner, w.book, "Logged")
    m = server.new_account("logmember")
    join(owner, m, c)
    t = post(m, c, w.chapters[0], "logged thread")
    owner.call("mod.lock", {"annotation": t, "reason": "calm down"})
    owner.call("mod.hide", {"target": {"annotation": t}, "reason": "rude"})
    owner.call("mod.mute", {"circle": c, "account": m.account["id"],
                            "reason": "shouting"})
    log = owner.call("mod.log", {"circle": c})
    acts = [(e["action"], e["target"], e["reason"]) for e in log["items"]]
    assert acts[:3] == [
        ("mute", {"account": m.account["id"]}, "shouting"),
        ("hide", {"annotation": t}, "rude"),
        ("lock", {"annotation": t}, "calm down"),
    ]
    e = log["items"][0]
    assert e["actor"]["id"] == owner.account["id"]
    assert e["at"].endswith("Z") and e["id"] > log["items"][1]["id"]
    assert log["next"] is None
    assert code_of(m, "mod.log", {"circle": c}) == -32003
    # pages of 50, newest first, with a cursor
    for i in range(60):
        owner.call("mod.slow", {"circle": c, "seconds": i % 2})
    p1 = owner.call("mod.log", {"circle": c})
    assert len(p1["items"]) == 50 and p1["next"]
    p2 = owner.call("mod.log", {"circle": c, "cursor": p1["next"]})
    ids = [e["id"] for e in p1["items"] + p2["items"]]
    # 60 + lock, hide, mute + the invitation join() made (audited since
    # issue 14 R2-F10)
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 64
    assert p2["next"] is None
    # no method edits or deletes it
    for method in ("mod.log.delete", "mod.log.update", "mod.unlog"):
        assert code_of(owner, method, {"circle": c}) == -32601


def test_ui_facts_flag_badge_mute_state_notification_context(server, world):
    """What the web app's moderation screen and inbox need (issue 17):
    moderators are notified of a new flag; circle.members shows who is
    muted and until when; moderation and flag notifications name the
    actor (never for an automatic hide), the thread, its chapter and quote."""
    w = world
    c = new_circle(w.owner, w.book, "UI facts")
    join(w.owner, w.mod, c, "moderator")
    a, f = server.new_account("uiauth"), server.new_account("uiflag")
    join(w.owner, a, c)
    join(w.owner, f, c)
    text = a.call("chapter.get", {"chapter": w.chapters[1]})["text"]
    exact = text[:40].split("\n")[0]
    ann = a.call("annotation.create", {
        "circle": c, "chapter": w.chapters[1], "body": "flag me",
        "visibility": "circle", "target": {"source": "x", "selector": [
            {"type": "TextQuoteSelector", "exact": exact},
            {"type": "TextPositionSelector", "start": 0,
             "end": len(exact)}]}})["id"]
    fl = f.call("flag.create", {"target": {"annotation": ann},
                                "reason": "spam"})
    for m in (w.owner, w.mod):
        got = [n for n in notifications(m, "moderation")
               if n["data"].get("action") == "flagged"
               and n["data"]["annotation"] == ann]
        assert len(got) == 1, m.handle
        d = got[0]["data"]
        assert d["chapter"] == w.chapters[1] and d["reason"] == "spam"
        assert d["quote"] == exact
        assert d["actor"]["id"] == f.account["id"]
    # neither the flagger nor the author hears of the flag itself
    for m in (a, f):
        assert not [n for n in notifications(m, "moderation")
                    if n["data"].get("action") == "flagged"]
    w.mod.call("mod.resolve", {"flag": fl["id"], "action": "hide"})
    hid = [n for n in notifications(a, "moderation")
           if n["data"].get("annotation") == ann]
    assert hid and hid[0]["data"]["actor"]["id"] == w.mod.account["id"]
    assert hid[0]["data"]["chapter"] == w.chapters[1]
    assert hid[0]["data"]["quote"] == exact
    res = [n for n in notifications(f, "flag_resolved")
           if n["data"].get("annotation") == ann]
    assert res and res[0]["data"]["quote"] == exact
    # mute state in circle.members
    until = datetime.now(timezone.utc) + timedelta(hours=3)
    w.mod.call("mod.mute", {"circle": c, "account": f.account["id"],
                            "until": rfc3339(until), "reason": "calm"})
    w.mod.call("mod.mute", {"circle": c, "account": a.account["id"],
                            "reason": "calm"})
    ms = {m["account"]["id"]: m for m in
          a.call("circle.members", {"circle": c})["items"]}
    assert ms[f.account["id"]]["muted"] == {"until": rfc3339(until)}
    assert ms[a.account["id"]]["muted"] == {"until": None}
    assert ms[w.owner.account["id"]]["muted"] is None
    w.mod.call("mod.unmute", {"circle": c, "account": a.account["id"]})
    ms = {m["account"]["id"]: m for m in
          a.call("circle.members", {"circle": c})["items"]}
    assert ms[a.account["id"]]["muted"] is None
