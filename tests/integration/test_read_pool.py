"""The read pool over real sockets (server/exec/exec.c): reads run on
read-only connections and follow the one visibility rule there; a
connection's read sent right behind its own write (pipelined, or in one
JSON-RPC batch) sees that write.

Which path a call took is read from /metrics (`scholia_calls_total{path}`):
the tests assert that the reads they check ran on the read pool, so the
visibility checks below are checks of the read path. (Holding a write batch
open while a read runs is tested in tests/unit/test_exec.c, where a test
method can block the executor.)
"""
import json
import re

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


def pool_calls(server):
    status, _, body = server.http("GET", "/metrics")
    assert status == 200
    m = re.search(r'scholia_calls_total\{path="read_pool"\} (\d+)', body)
    assert m, body
    return int(m.group(1))


@pytest.fixture(scope="module")
def world(server):
    owner = server.new_account("rpo")
    book = owner.call("book.list", {})["items"][0]["id"]
    toc = owner.call("book.toc", {"book": book})
    chapters = [c["id"] for p in toc["parts"] for c in p["chapters"]]
    assert len(chapters) >= 4
    w = type("World", (), {})()
    w.owner, w.book, w.chapters = owner, book, chapters
    return w


def circle_with(server, w, n=2, **opts):
    cid = w.owner.call("circle.create", {"name": "Pool", "book": w.book})["id"]
    if opts:
        w.owner.call("circle.update", dict(opts, circle=cid))
    code = w.owner.call("circle.invite", {"circle": cid})["code"]
    members = []
    for _ in range(n):
        m = server.new_account("rpm")
        m.call("circle.join", {"code": code})
        members.append(m)
    return cid, members


def post(client, cid, chapter, body, visibility="circle"):
    return client.call("annotation.create", {
        "circle": cid, "chapter": chapter, "target": None, "body": body,
        "visibility": visibility})


def listed(client, cid, chapter):
    return [x["body"] for x in client.call(
        "annotation.list", {"circle": cid, "chapter": chapter})["items"]]


def test_pipelined_write_then_read_sees_it(server, world):
    cid, (a,) = circle_with(server, world, 1)
    ch = world.chapters[0]
    for k in range(20):
        # sent back to back, without waiting for the create's reply
        a.send_text(json.dumps({"jsonrpc": "2.0", "id": 1000 + k,
                                "method": "annotation.create", "params": {
                                    "circle": cid, "chapter": ch,
                                    "target": None, "body": "p%d" % k,
                                    "visibility": "circle"}}))
        a.send_text(json.dumps({"jsonrpc": "2.0", "id": 2000 + k,
                                "method": "annotation.list", "params": {
                                    "circle": cid, "chapter": ch}}))
    got = {}
    order = []
    while len(got) < 40:
        m = a.recv_json()
        if isinstance(m, dict) and "id" in m:
            got[m["id"]] = m
            order.append(m["id"])
    for k in range(20):
        bodies = [x["body"] for x in got[2000 + k]["result"]["items"]]
        assert "p%d" % k in bodies
        # replies leave in the order the calls came
        assert order.index(1000 + k) < order.index(2000 + k)
    # the same inside one JSON-RPC batch
    a.send_text(json.dumps([
        {"jsonrpc": "2.0", "id": 1, "method": "annotation.create",
         "params": {"circle": cid, "chapter": ch, "target": None,
                    "body": "in batch", "visibility": "circle"}},
        {"jsonrpc": "2.0", "id": 2, "method": "annotation.list",
         "params": {"circle": cid, "chapter": ch}}]))
    while True:
        m = a.recv_json()
        if isinstance(m, list):
            break
    assert "in batch" in [x["body"] for x in m[1]["result"]["items"]]


def test_private_and_hidden_on_the_read_path(server, world):
    cid, (a, b) = circle_with(server, world, 2)
    ch = world.chapters[0]
    mine = post(a, cid, ch, "a private note", visibility="private")
    shown = post(a, cid, ch, "a circle note")
    hidden = post(a, cid, ch, "an uncivil note")
    world.owner.call("mod.hide", {"target": {"annotation": hidden["id"]},
                                  "reason": "uncivil"})
    before = pool_calls(server)
    assert "a private note" in listed(a, cid, ch)
    seen = b.call("annotation.list", {"circle": cid, "chapter": ch})["items"]
    assert mine["id"] not in [x["id"] for x in seen]
    assert shown["id"] in [x["id"] for x in seen]
    red = [x for x in seen if x["id"] == hidden["id"]]
    # a hidden post is a placeholder for other members
    assert red and red[0]["hidden"] is True and red[0]["body"] is None
    assert b.error("annotation.get", {"annotation": mine["id"]})["code"] \
        == -32004
    got = b.call("annotation.get", {"annotation": hidden["id"]})
    assert got["body"] is None and got["hidden"] is True
    # its author still sees it
    assert a.call("annotation.get",
                  {"annotation": hidden["id"]})["body"] == "an uncivil note"
    assert pool_calls(server) >= before + 4


def test_spoiler_guard_and_post_first_on_the_read_path(server, world):
    chs = world.chapters
    cid, (reader, writer) = circle_with(server, world, 2, spoiler_guard=True)
    writer.call("progress.set", {"circle": cid, "chapter": chs[3]})
    post(writer, cid, chs[2], "ahead of the reader")
    before = pool_calls(server)
    assert listed(reader, cid, chs[2]) == []
    assert pool_calls(server) > before
    reader.call("progress.set", {"circle": cid, "chapter": chs[2]})
    # the progress write committed before this read ran (its reply came)
    assert listed(reader, cid, chs[2]) == ["ahead of the reader"]

    cid, (reader, writer) = circle_with(server, world, 2, post_first=True)
    post(writer, cid, chs[0], "the writer's view")
    before = pool_calls(server)
    assert listed(reader, cid, chs[0]) == []
    assert pool_calls(server) > before
    post(reader, cid, chs[0], "my view first")
    assert sorted(listed(reader, cid, chs[0])) == [
        "my view first", "the writer's view"]
