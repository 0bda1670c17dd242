"""Circles over real WebSockets: create, list, get, update, invitations,
joining, members and roles, leaving, cohorts (clone), the reading plan and
progress, and the permission table of SPEC §4 for each of them, including a
non-member guessing another circle's ids.

Live delivery, catch-up, the spoiler guard, post first and presence are in
test_circles_live.py.
"""
import time

import pytest


NOT_FOUND = -32004
FORBIDDEN = -32003
CONFLICT = -32009
INVALID = -32602


def err(client, method, params):
    return client.error(method, params)["code"]


@pytest.fixture(scope="module")
def book(server):
    """(book id, [chapter ids in reading order]) of the sample book."""
    c = server.new_account("bk")
    books = c.call("book.list", {})["items"]
    assert books, "the sample book should be imported on first start"
    bid = books[0]["id"]
    toc = c.call("book.toc", {"book": bid})
    chapters = [ch["id"] for part in toc["parts"] for ch in part["chapters"]]
    assert len(chapters) >= 3
    c.close()
    return bid, chapters


def make_circle(server, book, **opts):
    owner = server.new_account("own")
    c = owner.call("circle.create", {"name": "Tuesday readers",
                                     "book": book[0],
                                     "description": "We read slowly."})
    if opts:
        params = {"circle": c["id"]}
        params.update(opts)
        c = owner.call("circle.update", params)
    return owner, c


def invite_join(server, owner, circle_id, role="member", prefix="mem"):
    code = owner.call("circle.invite", {"circle": circle_id, "role": role})["code"]
    m = server.new_account(prefix)
    joined = m.call("circle.join", {"code": code})
    assert joined["id"] == circle_id
    assert joined["role"] == role
    return m


def test_create_get_list(server, book):
    owner, c = make_circle(server, book)
    assert c["name"] == "Tuesday readers"
    assert c["description"] == "We read slowly."
    assert c["book"] == book[0]
    assert c["role"] == "owner"
    assert c["member_count"] == 1
    assert c["spoiler_guard"] is False and c["post_first"] is False
    assert c["members_can_invite"] is False
    assert c["current"] is None
    assert c["created_at"].endswith("Z")

    got = owner.call("circle.get", {"circle": c["id"]})
    assert got["id"] == c["id"] and got["role"] == "owner"

    second = owner.call("circle.create", {"name": "Second", "book": book[0]})
    assert second["description"] == ""
    listed = owner.call("circle.list", {})
    assert [x["id"] for x in listed["items"]] == [c["id"], second["id"]]
    assert listed["next"] is None
    assert all(x["role"] == "owner" for x in listed["items"])

    # someone else's list does not show them
    other = server.new_account("oth")
    assert other.call("circle.list", {})["items"] == []


def test_create_validation(server, book):
    c = server.new_account("val")
    assert err(c, "circle.create", {"book": book[0]}) == INVALID
    e = c.error("circle.create", {"name": "", "book": book[0]})
    assert e["code"] == INVALID and e["data"]["field"] == "name"
    e = c.error("circle.create", {"name": "x" * 101, "book": book[0]})
    assert e["data"]["field"] == "name"
    e = c.error("circle.create", {"name": "ok", "book": "one"})
    assert e["code"] == INVALID and e["data"]["field"] == "book"
    assert err(c, "circle.create", {"name": "ok", "book": 987654}) == NOT_FOUND
    assert err(c, "circle.create", {"name": "ok", "book": book[0],
                                    "colour": "red"}) == INVALID
    assert c.call("circle.list", {})["items"] == []


def test_needs_authentication(server):
    anon = server.client()
    assert err(anon, "circle.list", {}) == -32001
    assert err(anon, "circle.get", {"circle": 1}) == -32001


def test_non_member_guessing_ids(server, book):
    owner, c = make_circle(server, book)
    cid = c["id"]
    outsider = server.new_account("out")
    probes = [
        ("circle.get", {"circle": cid}),
        ("circle.update", {"circle": cid, "name": "mine now"}),
        ("circle.invite", {"circle": cid}),
        ("circle.members", {"circle": cid}),
        ("circle.set_role", {"circle": cid, "account": outsider.account["id"],
                             "role": "owner"}),
        ("circle.leave", {"circle": cid}),
        ("circle.clone", {"circle": cid, "name": "stolen"}),
        ("circle.subscribe", {"circle": cid}),
        ("circle.subscribe", {"circle": cid, "since_seq": 0}),
        ("plan.get", {"circle": cid}),
        ("plan.set", {"circle": cid, "entries": []}),
        ("progress.set", {"circle": cid, "chapter": book[1][0]}),
        ("presence.set", {"circle": cid, "chapter": book[1][0]}),
    ]
    for method, params in probes:
        e = outsider.error(method, params)
        assert e["code"] == NOT_FOUND, (method, e)
        # and the same answer as for a circle that does not exist at all
        ghost = dict(params, circle=cid + 100000)
        assert outsider.error(method, ghost)["code"] == NOT_FOUND, method
    # nothing changed
    assert owner.call("circle.get", {"circle": cid})["name"] == "Tuesday readers"
    assert owner.call("circle.get", {"circle": cid})["member_count"] == 1


def test_update_permissions_by_role(server, book):
    owner, c = make_circle(server, book)
    cid = c["id"]
    member = invite_join(server, owner, cid, "member")
    mod = invite_join(server, owner, cid, "moderator", "mod")
    for who in (member, mod):
        assert err(who, "circle.update", {"circle": cid, "name": "x"}) == FORBIDDEN
        assert err(who, "circle.update",
                   {"circle": cid, "spoiler_guard": True}) == FORBIDDEN
    up = owner.call("circle.update", {"circle": cid, "name": "Renamed",
                                      "description": "new",
                                      "spoiler_guard": True,
                                      "post_first": True,
                                      "members_can_invite": True})
    assert up["name"] == "Renamed" and up["description"] == "new"
    assert up["spoiler_guard"] and up["post_first"] and up["members_can_invite"]
    got = member.call("circle.get", {"circle": cid})
    assert got["name"] == "Renamed" and got["role"] == "member"
    assert got["member_count"] == 3
    # only the given fields change
    up = owner.call("circle.update", {"circle": cid, "post_first": False})
    assert up["post_first"] is False and up["spoiler_guard"] is True
    assert up["name"] == "Renamed"
    e = owner.error("circle.update", {"circle": cid, "spoiler_guard": "yes"})
    assert e["code"] == INVALID and e["data"]["field"] == "spoiler_guard"


def test_invites(server, book):
    owner, c = make_circle(server, book)
    cid = c["id"]
    inv = owner.call("circle.invite", {"circle": cid})
    assert inv["url"].endswith("/#/join/" + inv["code"])
    assert len(inv["code"]) >= 20
    assert inv["role"] == "member" and inv["max_uses"] is None
    # default expiry: 7 days
    exp = time.mktime(time.strptime(inv["expires_at"], "%Y-%m-%dT%H:%M:%SZ"))
    now = time.mktime(time.gmtime())
    assert 6.9 * 86400 < exp - now < 7.1 * 86400

    # unlimited uses by default
    a = server.new_account("inv")
    b = server.new_account("inv")
    assert a.call("circle.join", {"code": inv["code"]})["role"] == "member"
    assert b.call("circle.join", {"code": inv["code"]})["role"] == "member"
    # joining twice is a conflict
    assert err(a, "circle.join", {"code": inv["code"]}) == CONFLICT

    # max_uses
    once = owner.call("circle.invite", {"circle": cid, "max_uses": 1})
    assert once["max_uses"] == 1
    d = server.new_account("inv")
    d.call("circle.join", {"code": once["code"]})
    e = server.new_account("inv")
    assert err(e, "circle.join", {"code": once["code"]}) == NOT_FOUND

    # expiry
    short = owner.call("circle.invite", {"circle": cid, "expires_in_s": 1})
    time.sleep(2.1)
    assert err(e, "circle.join", {"code": short["code"]}) == NOT_FOUND
    # unknown code
    assert err(e, "circle.join", {"code": "nosuchcodeatall"}) == NOT_FOUND
    assert err(e, "circle.get", {"circle": cid}) == NOT_FOUND

    # bad parameters
    assert err(owner, "circle.invite", {"circle": cid, "role": "king"}) == INVALID
    assert err(owner, "circle.invite", {"circle": cid, "max_uses": 0}) == INVALID
    assert err(owner, "circle.invite", {"circle": cid, "expires_in_s": -5}) == INVALID

    # roles through invitations
    mod = invite_join(server, owner, cid, "moderator", "mod")
    co = invite_join(server, owner, cid, "owner", "coown")
    assert co.call("circle.get", {"circle": cid})["role"] == "owner"
    # a moderator invites members only: only owners set roles (issue 14
    # R2-F10)
    assert mod.call("circle.invite", {"circle": cid})["role"] == "member"
    assert err(mod, "circle.invite", {"circle": cid,
                                      "role": "moderator"}) == FORBIDDEN
    assert err(mod, "circle.invite", {"circle": cid, "role": "owner"}) == FORBIDDEN

    # members only when members_can_invite, and only as members
    assert err(a, "circle.invite", {"circle": cid}) == FORBIDDEN
    owner.call("circle.update", {"circle": cid, "members_can_invite": True})
    mi = a.call("circle.invite", {"circle": cid})
    assert mi["role"] == "member"
    assert err(a, "circle.invite", {"circle": cid, "role": "moderator"}) == FORBIDDEN
    f = server.new_account("inv")
    assert f.call("circle.join", {"code": mi["code"]})["member_count"] == 7


def test_members_and_roles(server, book):
    owner, c = make_circle(server, book)
    cid = c["id"]
    m = invite_join(server, owner, cid)
    mod = invite_join(server, owner, cid, "moderator", "mod")
    members = m.call("circle.members", {"circle": cid})
    assert members["next"] is None
    roles = {x["account"]["id"]: x["role"] for x in members["items"]}
    assert roles == {owner.account["id"]: "owner", m.account["id"]: "member",
                     mod.account["id"]: "moderator"}
    one = [x for x in members["items"] if x["account"]["id"] == m.account["id"]][0]
    assert one["account"]["handle"] == m.handle
    assert one["joined_at"].endswith("Z") and one["progress"] is None

    # only owners set roles
    for who in (m, mod):
        assert err(who, "circle.set_role", {"circle": cid, "account": m.account["id"],
                                            "role": "moderator"}) == FORBIDDEN
    # the last owner cannot step down
    assert err(owner, "circle.set_role", {"circle": cid,
                                          "account": owner.account["id"],
                                          "role": "member"}) == CONFLICT
    # not a member
    stranger = server.new_account("str")
    assert err(owner, "circle.set_role", {"circle": cid,
                                          "account": stranger.account["id"],
                                          "role": "member"}) == NOT_FOUND
    assert err(owner, "circle.set_role", {"circle": cid, "account": m.account["id"],
                                          "role": "boss"}) == INVALID

    r = owner.call("circle.set_role", {"circle": cid, "account": m.account["id"],
                                       "role": "moderator"})
    assert r["role"] == "moderator"
    assert m.call("circle.get", {"circle": cid})["role"] == "moderator"
    # the new moderator can now invite
    assert m.call("circle.invite", {"circle": cid})["code"]

    # hand over ownership, then the old owner may step down
    owner.call("circle.set_role", {"circle": cid, "account": mod.account["id"],
                                   "role": "owner"})
    r = owner.call("circle.set_role", {"circle": cid,
                                       "account": owner.account["id"],
                                       "role": "member"})
    assert r["role"] == "member"
    assert err(owner, "circle.update", {"circle": cid, "name": "x"}) == FORBIDDEN
    assert mod.call("circle.update", {"circle": cid, "name": "New hands"})["name"] == "New hands"


def test_leave(server, book):
    owner, c = make_circle(server, book)
    cid = c["id"]
    m = invite_join(server, owner, cid)
    # the sole owner hands over first
    assert err(owner, "circle.leave", {"circle": cid}) == CONFLICT
    r = m.call("circle.leave", {"circle": cid})
    assert r["circle"] == cid
    assert err(m, "circle.get", {"circle": cid}) == NOT_FOUND
    assert err(m, "circle.leave", {"circle": cid}) == NOT_FOUND
    assert m.call("circle.list", {})["items"] == []
    assert owner.call("circle.get", {"circle": cid})["member_count"] == 1
    # with another owner the first may leave
    co = invite_join(server, owner, cid, "owner", "coown")
    owner.call("circle.leave", {"circle": cid})
    assert co.call("circle.get", {"circle": cid})["member_count"] == 1


def test_plan_and_progress(server, book):
    owner, c = make_circle(server, book)
    cid = c["id"]
    chs = book[1]
    m = invite_join(server, owner, cid)
    mod = invite_join(server, owner, cid, "moderator", "mod")
    entries = [{"chapter": chs[1], "due": "2026-12-01",
                "prompt": "What did **Owen** want?"},
               {"chapter": chs[0], "due": "2026-11-20"},
               {"chapter": chs[2], "due": "2099-01-01", "prompt": "Far ahead"}]
    for who in (m, mod):
        assert err(who, "plan.set", {"circle": cid, "entries": entries}) == FORBIDDEN
    plan = owner.call("plan.set", {"circle": cid, "entries": entries})
    assert [e["chapter"] for e in plan["entries"]] == [chs[0], chs[1], chs[2]]
    assert plan["entries"][0]["prompt"] is None
    assert plan["entries"][1]["prompt"] == "What did **Owen** want?"
    got = m.call("plan.get", {"circle": cid})
    assert got["entries"] == plan["entries"]
    # what is due now: the first entry not yet past
    cur = m.call("circle.get", {"circle": cid})["current"]
    assert cur is not None and cur["chapter"] in (chs[1], chs[2])

    # validation
    bad = [
        [{"chapter": chs[0], "due": "2026-02-30"}],
        [{"chapter": chs[0], "due": "tomorrow"}],
        [{"chapter": 99999999, "due": "2026-12-01"}],
        [{"chapter": chs[0], "due": "2026-12-01"},
         {"chapter": chs[0], "due": "2026-12-02"}],
        [{"chapter": chs[0], "due": "2026-12-01", "extra": 1}],
        ["not an object"],
    ]
    for entries_bad in bad:
        e = owner.error("plan.set", {"circle": cid, "entries": entries_bad})
        assert e["code"] == INVALID, entries_bad
        assert e["data"]["field"].startswith("entries[")
    e = owner.error("plan.set", {"circle": cid, "entries": [
        {"chapter": chs[0], "due": "2026-12-01", "prompt": "x" * 10001}]})
    assert e["code"] == -32013
    # a failed set leaves the plan as it was
    assert m.call("plan.get", {"circle": cid})["entries"] == plan["entries"]

    # progress
    p = m.call("progress.set", {"circle": cid, "chapter": chs[1], "block": 3})
    assert p["progress"]["chapter"] == chs[1] and p["progress"]["block"] == 3
    p = m.call("progress.set", {"circle": cid, "chapter": chs[2], "block": 0})
    assert p["progress"]["block"] == 0
    assert err(m, "progress.set", {"circle": cid, "chapter": 99999999}) == INVALID
    assert err(m, "progress.set", {"circle": cid}) == INVALID
    assert err(m, "progress.set", {"circle": cid, "chapter": chs[0],
                                   "block": -1}) == INVALID
    everyone = owner.call("plan.get", {"circle": cid})["progress"]
    mine = [x for x in everyone if x["account"]["id"] == m.account["id"]]
    assert len(mine) == 1 and mine[0]["chapter"] == chs[2]
    assert mine[0]["account"]["handle"] == m.handle
    members = owner.call("circle.members", {"circle": cid})["items"]
    mm = [x for x in members if x["account"]["id"] == m.account["id"]][0]
    assert mm["progress"]["chapter"] == chs[2]
    assert m.call("circle.get", {"circle": cid})["me"]["progress"]["chapter"] == chs[2]

    # an empty plan clears it
    assert owner.call("plan.set", {"circle": cid, "entries": []})["entries"] == []
    assert m.call("circle.get", {"circle": cid})["current"] is None


def test_clone(server, book):
    owner, c = make_circle(server, book, spoiler_guard=True)
    cid = c["id"]
    chs = book[1]
    owner.call("plan.set", {"circle": cid, "entries": [
        {"chapter": chs[0], "due": "2026-12-01", "prompt": "Start here"},
        {"chapter": chs[1], "due": "2026-12-08"}]})
    m = invite_join(server, owner, cid)
    mod = invite_join(server, owner, cid, "moderator", "mod")
    for who in (m, mod):
        assert err(who, "circle.clone", {"circle": cid, "name": "Next"}) == FORBIDDEN
    assert err(owner, "circle.clone", {"circle": cid}) == INVALID
    nc = owner.call("circle.clone", {"circle": cid, "name": "Spring cohort"})
    assert nc["id"] != cid
    assert nc["name"] == "Spring cohort" and nc["book"] == book[0]
    assert nc["role"] == "owner" and nc["member_count"] == 1
    assert nc["spoiler_guard"] is True and nc["cloned_from"] == cid
    p1 = owner.call("plan.get", {"circle": cid})["entries"]
    p2 = owner.call("plan.get", {"circle": nc["id"]})["entries"]
    assert p1 == p2 and len(p2) == 2 and p2[0]["prompt"] == "Start here"
    # members do not come along
    assert err(m, "circle.get", {"circle": nc["id"]}) == NOT_FOUND
    # changing the clone's plan leaves the original alone
    owner.call("plan.set", {"circle": nc["id"], "entries": []})
    assert len(owner.call("plan.get", {"circle": cid})["entries"]) == 2
    assert nc["annotations_copied"] == 0


def test_clone_with_annotations(server, book):
    owner, c = make_circle(server, book)
    cid = c["id"]
    ch = book[1][0]
    m = invite_join(server, owner, cid)

    def post(who, body, visibility="circle"):
        return who.call("annotation.create", {
            "circle": cid, "chapter": ch, "target": None, "body": body,
            "visibility": visibility})
    post(owner, "the owner's thread")
    post(owner, "the owner's private note", "private")
    post(m, "a member's thread")
    nc = owner.call("circle.clone", {"circle": cid, "name": "Cohort 2",
                                     "with_annotations": True})
    assert nc["annotations_copied"] == 1
    items = owner.call("annotation.list", {"circle": nc["id"],
                                           "chapter": ch})["items"]
    assert [x["body"] for x in items] == ["the owner's thread"]
    assert items[0]["author"]["id"] == owner.account["id"]
    assert items[0]["circle"] == nc["id"]
    # the original is untouched
    assert len(owner.call("annotation.list", {"circle": cid,
                                              "chapter": ch})["items"]) == 3


def test_list_pages(server, book):
    owner = server.new_account("many")
    ids = [owner.call("circle.create", {"name": "c%d" % i, "book": book[0]})["id"]
           for i in range(55)]
    seen = []
    cursor = None
    while True:
        params = {} if cursor is None else {"cursor": cursor}
        page = owner.call("circle.list", params)
        seen += [x["id"] for x in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == ids


def test_site_admin_sees_but_does_not_run_circles(server, book):
    owner, c = make_circle(server, book)
    cid = c["id"]
    admin = server.new_account("adm", admin=True)
    got = admin.call("circle.get", {"circle": cid})
    assert got["id"] == cid and got["role"] is None
    assert len(admin.call("circle.members", {"circle": cid})["items"]) == 1
    assert admin.call("plan.get", {"circle": cid})["entries"] == []
    assert admin.call("circle.subscribe", {"circle": cid})["events"] == []
    # SPEC §4: plan, roles, options and invitations are not the admin's
    for method, params in [
            ("circle.update", {"circle": cid, "name": "x"}),
            ("plan.set", {"circle": cid, "entries": []}),
            ("circle.set_role", {"circle": cid, "account": owner.account["id"],
                                 "role": "member"}),
            ("circle.invite", {"circle": cid}),
            ("progress.set", {"circle": cid, "chapter": book[1][0]})]:
        assert err(admin, method, params) == FORBIDDEN, method
    # and it is not "mine"
    assert admin.call("circle.list", {})["items"] == []


def test_progress_block_ids(server, book):
    owner, c = make_circle(server, book)
    cid = c["id"]
    ch = book[1][0]
    p = owner.call("progress.set", {"circle": cid, "chapter": ch,
                                    "block": "b3f2a-1"})
    assert p["progress"]["block"] == "b3f2a-1"
    p = owner.call("progress.set", {"circle": cid, "chapter": ch})
    assert p["progress"]["block"] is None
    for bad in ["", "x" * 65, "<script>", 1.5, True, {"id": 1}]:
        e = owner.error("progress.set", {"circle": cid, "chapter": ch,
                                         "block": bad})
        assert e["code"] == INVALID and e["data"]["field"] == "block", bad
