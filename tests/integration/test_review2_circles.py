"""Issue 14: R2-F6 (mod.remove sticks; circle.invites and
circle.invite_revoke), R2-F10 (moderators cannot make moderator invites;
invitations are audited) and the mod.log target naming deviation.
"""
import pytest

from harness import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("scholia"),
                 env={"SCHOLIA_POSTS_PER_MINUTE": "100000"})
    srv.start()
    yield srv
    srv.stop()
    srv.assert_clean_exit()


@pytest.fixture(scope="module")
def world(server):
    owner = server.new_account("owner")
    mod = server.new_account("mod")
    book = owner.call("book.list", {})["items"][0]["id"]
    circle = owner.call("circle.create", {"name": "R", "book": book})["id"]
    code = owner.call("circle.invite", {"circle": circle,
                                        "role": "moderator"})["code"]
    mod.call("circle.join", {"code": code})
    w = type("World", (), {})()
    w.owner, w.mod, w.circle, w.book = owner, mod, circle, book
    return w


def code_of(c, method, params):
    r = c.request(method, params)
    return r["error"]["code"] if "error" in r else "ok"


def test_removed_member_cannot_rejoin_with_an_old_invite(world, server):
    w = world
    code = w.owner.call("circle.invite", {"circle": w.circle})["code"]
    m = server.new_account("member")
    m.call("circle.join", {"code": code})
    w.mod.call("mod.remove", {"circle": w.circle,
                              "account": m.account["id"],
                              "reason": "trolling"})
    assert code_of(m, "circle.join", {"code": code}) == -32003
    # not a member: still nothing to see
    assert code_of(m, "circle.get", {"circle": w.circle}) == -32004
    # the invite still works for others
    other = server.new_account("other")
    other.call("circle.join", {"code": code})
    m.close()
    other.close()


def test_invites_listed_and_revoked(world, server):
    w = world
    code = w.owner.call("circle.invite", {"circle": w.circle,
                                          "max_uses": 3})["code"]
    items = w.mod.call("circle.invites", {"circle": w.circle})["items"]
    mine = [i for i in items if i["code"] == code]
    assert mine and mine[0]["role"] == "member"
    assert mine[0]["max_uses"] == 3 and mine[0]["uses"] == 0
    assert mine[0]["expires_at"].endswith("Z")
    w.mod.call("circle.invite_revoke", {"circle": w.circle, "code": code})
    items = w.owner.call("circle.invites", {"circle": w.circle})["items"]
    assert code not in [i["code"] for i in items]
    late = server.new_account("late")
    assert code_of(late, "circle.join", {"code": code}) == -32004
    assert code_of(w.mod, "circle.invite_revoke",
                   {"circle": w.circle, "code": code}) == -32004
    # a plain member may neither list nor revoke
    code2 = w.owner.call("circle.invite", {"circle": w.circle})["code"]
    late.call("circle.join", {"code": code2})
    assert code_of(late, "circle.invites", {"circle": w.circle}) == -32003
    assert code_of(late, "circle.invite_revoke",
                   {"circle": w.circle, "code": code2}) == -32003
    log = w.owner.call("mod.log", {"circle": w.circle})["items"]
    rev = [e for e in log if e["action"] == "invite_revoke"]
    assert rev and rev[0]["target"] == {"invite": code}
    assert rev[0]["actor"]["id"] == w.mod.account["id"]
    late.close()


def test_moderators_cannot_invite_moderators_and_invites_are_audited(world):
    w = world
    assert code_of(w.mod, "circle.invite", {"circle": w.circle,
                                            "role": "moderator"}) == -32003
    assert code_of(w.mod, "circle.invite", {"circle": w.circle,
                                            "role": "owner"}) == -32003
    code = w.mod.call("circle.invite", {"circle": w.circle})["code"]
    log = w.owner.call("mod.log", {"circle": w.circle})["items"]
    inv = [e for e in log if e["action"] == "invite"]
    assert inv[0]["actor"]["id"] == w.mod.account["id"]
    assert inv[0]["target"] == {"circle": w.circle}
    assert inv[0]["reason"] == "role member"
    # the code itself is not copied into the log
    assert all(code not in str(e) for e in log)


def test_mod_log_targets_are_named_like_content(world, server):
    w = world
    a = w.owner.call("annotation.create", {
        "circle": w.circle, "chapter": first_chapter(w), "body": "x",
        "visibility": "circle", "target": None})
    w.mod.call("mod.lock", {"annotation": a["id"], "reason": "calm"})
    log = w.owner.call("mod.log", {"circle": w.circle})["items"]
    lock = [e for e in log if e["action"] == "lock"][0]
    assert lock["target"] == {"annotation": a["id"]}
    remove = [e for e in log if e["action"] == "remove"][0]
    assert list(remove["target"]) == ["account"]
    assert isinstance(remove["target"]["account"], int)


def first_chapter(w):
    toc = w.owner.call("book.toc", {"book": w.book})
    return toc["parts"][0]["chapters"][0]["id"]
