"""Issue 14, R2-F2: one member cannot make a chapter unreadable.

Before the fix a body of 9,990 ">" rendered to 270 KB of HTML, and a few
such posts pushed annotation.list (and the circle.subscribe replay) past the
1 MiB send queue, so the reader's connection was closed with 1008.
"""
import json

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
    book = owner.call("book.list", {})["items"][0]["id"]
    toc = owner.call("book.toc", {"book": book})
    chapters = [c["id"] for p in toc["parts"] for c in p["chapters"]]
    circle = owner.call("circle.create", {"name": "R", "book": book})["id"]
    w = type("World", (), {})()
    w.owner, w.circle, w.chapters = owner, circle, chapters
    return w


def post(w, chapter, body):
    return w.owner.call("annotation.create", {
        "circle": w.circle, "chapter": chapter, "body": body,
        "visibility": "circle", "target": None})


def test_deep_nesting_is_capped(world):
    a = post(world, world.chapters[0], ">" * 9990 + " deep")
    html = a["body_html"]
    assert "deep" in html
    assert html.count("<blockquote>") <= 16
    assert len(html) < 8192, len(html)


def test_rendered_size_is_capped(world):
    # every kind of nesting at once; each line a new list inside a quote
    body = "".join("%s- > * x\n" % ("  " * i) for i in range(900))[:9900]
    a = post(world, world.chapters[0], body)
    assert len(a["body_html"]) <= 70 * 1024


def test_list_and_replay_stay_under_the_send_queue(world, server):
    chapter = world.chapters[1]
    n = 16
    ids = [post(world, chapter, '"' * 9900)["id"] for _ in range(n)]
    reader = server.new_account("reader")
    code = world.owner.call("circle.invite", {"circle": world.circle})["code"]
    reader.call("circle.join", {"code": code})
    seen, cursor, pages = [], None, 0
    while True:
        p = {"circle": world.circle, "chapter": chapter}
        if cursor:
            p["cursor"] = cursor
        r = reader.request("annotation.list", p)
        assert "result" in r, r
        assert len(json.dumps(r)) < 768 * 1024
        seen += [a["id"] for a in r["result"]["items"]]
        pages += 1
        cursor = r["result"]["next"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids)
    assert pages >= 2
    # replay from the start: too many bytes to resend, so resync
    r = reader.request("circle.subscribe", {"circle": world.circle,
                                            "since_seq": 0})
    assert "result" in r, r
    assert r["result"].get("resync") is True
    assert len(json.dumps(r)) < 768 * 1024
    assert reader.call("server.info", {})   # still connected
    reader.close()


# ---- R2-F3 (search's rate limit) and the search deviation ----

def test_search_finds_own_private_annotations_only(world, server):
    w = world
    a = w.owner.call("annotation.create", {
        "circle": w.circle, "chapter": w.chapters[0],
        "body": "my secret quokkaword note", "visibility": "private",
        "target": None})
    hits = w.owner.call("search", {"circle": w.circle, "q": "quokkaword"})
    assert [h["id"] for h in hits["items"] if h["kind"] == "annotation"] \
        == [a["id"]]
    other = server.new_account("peer")
    code = w.owner.call("circle.invite", {"circle": w.circle})["code"]
    other.call("circle.join", {"code": code})
    hits = other.call("search", {"circle": w.circle, "q": "quokkaword"})
    assert hits["items"] == []
    other.close()


def test_search_is_rate_limited_per_member(world, server):
    w = world
    m = server.new_account("searcher")
    code = w.owner.call("circle.invite", {"circle": w.circle})["code"]
    m.call("circle.join", {"code": code})
    for i in range(30):
        m.call("search", {"circle": w.circle, "q": "word%d" % i})
    e = m.error("search", {"circle": w.circle, "q": "more"})
    assert e["code"] == -32029
    assert 0 < e["data"]["retry_after_ms"] <= 60000
    # a batch is no way around it
    import json
    m.send_text(json.dumps([{"jsonrpc": "2.0", "id": 900 + i,
                             "method": "search",
                             "params": {"circle": w.circle, "q": "x"}}
                            for i in range(5)]))
    r = m.recv_json()
    assert all(x["error"]["code"] == -32029 for x in r)
    # other members are not affected
    assert "items" in w.owner.call("search", {"circle": w.circle, "q": "x"})
    m.close()
