"""Invite-only registration through a circle invitation or a site
invitation (`scholia admin invite`), and a deleted sole owner handing the
circle over: the seams between the accounts and circles modules."""
import pytest

from harness import Server

PW = "plum orchard lantern 47"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("invites"),
                 extra_args=["--registration", "invite"])
    srv.start()
    yield srv
    srv.stop()
    srv.assert_clean_exit()


def book_id(c):
    return c.call("book.list")["items"][0]["id"]


def test_circle_invite_admits_and_joins(server):
    owner = server.new_account("owner")
    circle = owner.call("circle.create", {"name": "Tuesday group",
                                          "book": book_id(owner)})
    inv = owner.call("circle.invite", {"circle": circle["id"], "max_uses": 1})
    anon = server.client()
    r = anon.call("auth.register", {"handle": "newcomer", "password": PW,
                                    "invite": inv["code"]})
    assert r["account"]["handle"] == "newcomer"
    # the new account is a member of the circle, without circle.join
    mine = anon.call("circle.list")["items"]
    assert [c["id"] for c in mine] == [circle["id"]]
    members = owner.call("circle.members", {"circle": circle["id"]})["items"]
    assert any(m.get("handle") == "newcomer" or
               m.get("account", {}).get("handle") == "newcomer" for m in members)
    # the single use is spent: a second registration with it is refused
    other = server.client()
    e = other.error("auth.register", {"handle": "second", "password": PW,
                                      "invite": inv["code"]})
    assert e["code"] == -32602 and e["data"]["field"] == "invite"
    anon.close(), other.close(), owner.close()


def test_site_invite_from_the_command_line(server):
    r = server.cmd("admin", "invite", "--max-uses", "1")
    code = r.stdout.split("invite code:")[1].split()[0]
    c = server.client()
    r = c.call("auth.register", {"handle": "site_guest", "password": PW,
                                 "invite": code})
    assert r["account"]["handle"] == "site_guest"
    assert c.call("circle.list")["items"] == []
    e = server.client().error("auth.register", {"handle": "site_guest2",
                                                "password": PW, "invite": code})
    assert e["code"] == -32602
    c.close()


def test_deleted_sole_owner_hands_over(server):
    owner = server.new_account("solo")
    circle = owner.call("circle.create", {"name": "Handover",
                                          "book": book_id(owner)})
    inv = owner.call("circle.invite", {"circle": circle["id"]})
    member = server.new_account("heir")
    member.call("circle.join", {"code": inv["code"]})
    owner.call("account.delete", {"password": owner.password})
    got = member.call("circle.get", {"circle": circle["id"]})
    # the remaining member now owns the circle
    me = got.get("me") or {}
    role = me.get("role") or got.get("role")
    assert role == "owner", got
    member.close()
