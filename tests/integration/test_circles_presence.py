"""Presence idle timeout: with --presence-idle 1, a member who stops calling
presence.set is announced gone (online false) by the server's tick.

This file starts its own server (one per file) with the short timeout.
"""
import pytest

from harness import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("scholia"),
                 extra_args=["--presence-idle", "1"])
    srv.start()
    yield srv
    srv.stop()
    srv.assert_clean_exit()


def make_circle(server):
    owner = server.new_account("own")
    bid = owner.call("book.list", {})["items"][0]["id"]
    toc = owner.call("book.toc", {"book": bid})
    chs = [ch["id"] for part in toc["parts"] for ch in part["chapters"]]
    cid = owner.call("circle.create", {"name": "P", "book": bid})["id"]
    code = owner.call("circle.invite", {"circle": cid})["code"]
    a = server.new_account("mem")
    a.call("circle.join", {"code": code})
    owner.call("circle.subscribe", {"circle": cid})
    return owner, cid, chs, a


def test_idle_presence_is_dropped(server):
    owner, cid, chs, a = make_circle(server)
    r = a.call("presence.set", {"circle": cid, "chapter": chs[0]})
    assert r["idle_timeout_s"] == 1
    ev = owner.next_event("presence.changed")
    assert ev["data"]["online"] is True
    # a stays connected but silent: the tick drops the entry
    ev = owner.next_event("presence.changed", timeout=10)
    assert ev["data"]["account"]["id"] == a.account["id"]
    assert ev["data"]["online"] is False
    assert a.call("circle.subscribe", {"circle": cid})["presence"] == []

