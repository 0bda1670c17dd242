"""`search` over real WebSockets: FTS5 over the annotations and replies the
caller may see and over the book's text, with snippets and locations.

Visibility is the point: another member's private annotation never appears,
a hidden post never reaches a member (not even as a snippet-less hit) but
does reach moderators and its author, a non-member gets -32004 for a real
circle exactly as for a missing one, the spoiler guard withholds threads on
chapters past a member's progress; and the index follows edits and
deletions. Hostile queries are not FTS5 syntax errors.
"""
import pytest

from wsclient import RpcError

NOT_FOUND = -32004
INVALID = -32602


def quote_target(text, word):
    start = text.index(word)
    end = start + len(word)
    return {"selector": [
        {"type": "TextQuoteSelector", "exact": word,
         "prefix": text[max(0, start - 12):start],
         "suffix": text[end:end + 12]},
        {"type": "TextPositionSelector", "start": start, "end": end}]}


def search(client, circle, q, **kw):
    p = {"circle": circle, "q": q}
    p.update(kw)
    return client.call("search", p)


def posts(res):
    return [(it["kind"], it["id"]) for it in res["items"]
            if it["kind"] != "text"]


@pytest.fixture(scope="module")
def world(server, make_world):
    w = make_world(owner="sro", circle_name="Searchers",
                   members={"alice": "sra", "bob": "srb"},
                   moderators={"mod": "srd"}, outsider="srx")
    w.ch = w.chapters[0]
    w.text = w.owner.call("chapter.get", {"chapter": w.ch})["text"]
    w.word = next(x for x in w.text.split() if len(x) > 5 and x.isalpha())

    def post(who, body, visibility="circle", chapter=None):
        return who.call("annotation.create", {
            "circle": w.circle, "chapter": chapter or w.ch,
            "target": quote_target(w.text, w.word), "body": body,
            "visibility": visibility})

    w.post = post
    w.open = post(w.alice, "The flannelweavers of Toad Lane")
    w.private = post(w.bob, "flannelweavers zebraprivate musing", "private")
    w.hidden = post(w.bob, "flannelweavers quokkahidden rant")
    w.mod.call("mod.hide", {"target": {"annotation": w.hidden["id"]},
                            "reason": "uncivil"})
    w.reply = w.bob.call("reply.create", {"annotation": w.open["id"],
                                          "body": "Yes, the wombatreply"})
    w.reply_on_hidden = w.alice.call(
        "reply.create", {"annotation": w.hidden["id"],
                         "body": "numbatreply under a hidden post"})
    return w


def test_finds_visible_annotation_with_snippet(world):
    res = search(world.bob, world.circle, "flannelweavers")
    hits = [it for it in res["items"] if it["kind"] == "annotation"
            and it["id"] == world.open["id"]]
    assert len(hits) == 1
    h = hits[0]
    assert h["annotation"] == world.open["id"]
    assert h["chapter"] == world.ch
    assert "flannelweavers" in h["snippet"].lower()
    # the thread's passage, to jump to, and the block it starts in
    assert world.text[h["start"]:].startswith(world.word)
    blocks = world.bob.call("chapter.get", {"chapter": world.ch})["blocks"]
    holder = [b for b in blocks if b["start"] <= h["start"] < b["end"]]
    assert holder and h["block"] == holder[0]["id"]
    # highlights are code point ranges into the snippet
    s, e = h["highlights"][0]
    assert h["snippet"][s:e].lower() == "flannelweavers"
    assert res["next"] is None


def test_stemming_and_prefix(world):
    assert ("annotation", world.open["id"]) in \
        posts(search(world.bob, world.circle, "flannelweav*"))
    assert ("annotation", world.open["id"]) in \
        posts(search(world.bob, world.circle, "toad LANE"))


def test_replies_are_found(world):
    res = search(world.alice, world.circle, "wombatreply")
    assert posts(res) == [("reply", world.reply["id"])]
    assert res["items"][0]["annotation"] == world.open["id"]
    assert world.text[res["items"][0]["start"]:].startswith(world.word)
    # a reply under a hidden annotation stays visible (SPEC §3)
    assert posts(search(world.bob, world.circle, "numbatreply")) == \
        [("reply", world.reply_on_hidden["id"])]


def test_private_never_reaches_others(world):
    for c in (world.alice, world.mod, world.owner):
        res = search(c, world.circle, "zebraprivate")
        assert res["items"] == [], c.handle
        res = search(c, world.circle, "flannelweavers")
        assert ("annotation", world.private["id"]) not in posts(res)
        assert "zebraprivate" not in str(res)


def test_hidden_only_for_moderators_and_author(world):
    res = search(world.alice, world.circle, "quokkahidden")
    assert res["items"] == []
    res = search(world.alice, world.circle, "flannelweavers")
    assert ("annotation", world.hidden["id"]) not in posts(res)
    assert "quokkahidden" not in str(res)
    assert ("annotation", world.hidden["id"]) in \
        posts(search(world.mod, world.circle, "quokkahidden"))
    assert ("annotation", world.hidden["id"]) in \
        posts(search(world.bob, world.circle, "quokkahidden"))


def test_unhide_needs_no_reindexing(world, server):
    a = world.post(world.bob, "dingoword soon hidden")
    world.mod.call("mod.hide", {"target": {"annotation": a["id"]},
                                "reason": "spam"})
    assert posts(search(world.alice, world.circle, "dingoword")) == []
    world.mod.call("mod.unhide", {"target": {"annotation": a["id"]}})
    assert posts(search(world.alice, world.circle, "dingoword")) == \
        [("annotation", a["id"])]


def test_removed_member_finds_nothing(world, server):
    code = world.owner.call("circle.invite", {"circle": world.circle})["code"]
    leaver = server.new_account("srq")
    leaver.call("circle.join", {"code": code})
    assert posts(search(leaver, world.circle, "flannelweavers"))
    leaver.call("circle.leave", {"circle": world.circle})
    e = leaver.error("search", {"circle": world.circle,
                                "q": "flannelweavers"})
    assert e["code"] == NOT_FOUND


def test_non_member_gets_not_found(world):
    e = world.outsider.error("search", {"circle": world.circle,
                                        "q": "flannelweavers"})
    assert e["code"] == NOT_FOUND
    e2 = world.outsider.error("search", {"circle": 987654,
                                         "q": "flannelweavers"})
    assert e2["code"] == NOT_FOUND
    assert e["message"] == e2["message"]
    # a circle of one's own never shows another circle's posts
    mine = world.outsider.call("circle.create", {"name": "Mine",
                                                 "book": world.book})["id"]
    assert posts(search(world.outsider, mine, "flannelweavers")) == []


def test_query_validation(world):
    for q in ("", "   ", "* * *", '""', "... (-)"):
        e = world.alice.error("search", {"circle": world.circle, "q": q})
        assert e["code"] == INVALID, q
        assert e["data"]["field"] == "q"
    e = world.alice.error("search", {"circle": world.circle})
    assert e["code"] == INVALID and e["data"]["field"] == "q"
    e = world.alice.error("search", {"circle": world.circle, "q": "x" * 501})
    assert e["code"] == INVALID
    e = world.alice.error("search", {"circle": "1", "q": "x"})
    assert e["code"] == INVALID and e["data"]["field"] == "circle"


def test_hostile_queries_are_not_errors(world):
    for q in ('"', 'NEAR(a b', 'a OR', 'body:x', '{body}:x', '-x', '^x',
              "' OR 1=1 --", 'x" OR "y', "AND", "(((", "*prefix", "a*b",
              "x\u0001y", "🙂"):
        r = world.alice.request("search", {"circle": world.circle, "q": q})
        if "error" in r:
            # punctuation alone holds no word: a parameter error, never
            # an internal one
            assert r["error"]["code"] == INVALID, (q, r)
            assert r["error"]["data"]["field"] == "q"
        else:
            assert isinstance(r["result"]["items"], list), q


def test_book_text(world):
    res = search(world.alice, world.circle, world.word)
    texts = [it for it in res["items"] if it["kind"] == "text"]
    assert texts, res
    h = texts[0]
    assert h["chapter"] in world.chapters
    assert "block" in h and h["block"] is not None
    assert isinstance(h["start"], int) and h["start"] >= 0
    text = world.alice.call("chapter.get", {"chapter": h["chapter"]})["text"]
    # the block starts at `start` and holds the word
    block = text[h["start"]:].split("\n\n")[0]
    assert world.word.lower()[:4] in block.lower()
    s, e = h["highlights"][0]
    assert h["snippet"][s:e]


def test_edit_and_delete_follow(world):
    a = world.post(world.alice, "ephemeral platypusword")
    assert ("annotation", a["id"]) in \
        posts(search(world.bob, world.circle, "platypusword"))
    world.alice.call("annotation.update", {"annotation": a["id"],
                                           "body": "now echidnaword"})
    assert posts(search(world.bob, world.circle, "platypusword")) == []
    assert ("annotation", a["id"]) in \
        posts(search(world.bob, world.circle, "echidnaword"))
    world.alice.call("annotation.delete", {"annotation": a["id"]})
    assert posts(search(world.bob, world.circle, "echidnaword")) == []


def test_pages(world, server):
    # 25 matching posts from two writers (20 posts a minute each)
    writers = [world.owner, world.mod]
    made = set()
    for i in range(25):
        made.add(world.post(writers[i % 2], "kiwipage %d" % i)["id"])
    first = search(world.alice, world.circle, "kiwipage")
    assert len(first["items"]) == 20
    assert first["next"] is not None
    second = search(world.alice, world.circle, "kiwipage",
                    cursor=first["next"])
    got = {it["id"] for it in first["items"] + second["items"]
           if it["kind"] == "annotation"}
    assert got == made
    assert second["next"] is None


def test_spoiler_guard(world, server):
    owner = server.new_account("srs")
    c = owner.call("circle.create", {"name": "Guarded",
                                     "book": world.book})["id"]
    owner.call("circle.update", {"circle": c, "spoiler_guard": True})
    code = owner.call("circle.invite", {"circle": c})["code"]
    ahead = server.new_account("srh")
    ahead.call("circle.join", {"code": code})
    behind = server.new_account("srl")
    behind.call("circle.join", {"code": code})
    last = world.chapters[-1]
    ahead.call("progress.set", {"circle": c, "chapter": last})
    text = ahead.call("chapter.get", {"chapter": last})["text"]
    word = next(x for x in text.split() if len(x) > 5 and x.isalpha())
    a = ahead.call("annotation.create", {
        "circle": c, "chapter": last, "target": quote_target(text, word),
        "body": "spoilerword ending", "visibility": "circle"})
    assert posts(search(behind, c, "spoilerword")) == []
    assert ("annotation", a["id"]) in posts(search(ahead, c, "spoilerword"))
    behind.call("progress.set", {"circle": c, "chapter": last})
    assert ("annotation", a["id"]) in posts(search(behind, c, "spoilerword"))


def test_needs_authentication(server):
    c = server.client()
    try:
        with pytest.raises(RpcError) as ei:
            c.call("search", {"circle": 1, "q": "x"})
        assert ei.value.code == -32001
    finally:
        c.close()


def test_new_edition_is_reindexed(world, server, tmp_path_factory):
    """Runs last: re-imports the book with one more paragraph while the
    server runs; the next search finds the new words in the book's text."""
    import os
    import shutil

    from harness import SOURCE

    toc = world.alice.call("book.toc", {"book": world.book})
    slug = toc["book"]["slug"]
    src = os.path.join(SOURCE, "content", slug)
    assert search(world.alice, world.circle, "zanzibarquux")["items"] == []
    copy = str(tmp_path_factory.mktemp("edition") / slug)
    shutil.copytree(src, copy)
    name = sorted(n for n in os.listdir(copy) if n.startswith("01-"))[0]
    with open(os.path.join(copy, name), "a", encoding="utf-8") as f:
        f.write("\n\nA new paragraph about the zanzibarquux looms.\n")
    server.cmd("import", copy, "--book", slug)
    res = search(world.alice, world.circle, "zanzibarquux")
    texts = [it for it in res["items"] if it["kind"] == "text"]
    assert len(texts) == 1, res
    h = texts[0]
    text = world.alice.call("chapter.get", {"chapter": h["chapter"]})["text"]
    assert text[h["start"]:].startswith("A new paragraph about the")
    # the posts are still found after the re-import
    assert ("annotation", world.open["id"]) in \
        posts(search(world.bob, world.circle, "flannelweavers"))


def test_threads_are_found_by_the_passage_they_quote(world):
    """A search for words of the passage finds the threads on it, not only
    the book's text (issue 17): the quote is indexed with the body."""
    words = [x for x in world.text.split() if x.isalpha() and len(x) > 3]
    far = next(x for x in words[40:] if x.lower() != world.word.lower())
    t = world.alice.call("annotation.create", {
        "circle": world.circle, "chapter": world.ch,
        "target": quote_target(world.text, far),
        "body": "Nothing of the passage in this body",
        "visibility": "circle"})
    res = search(world.bob, world.circle, far)
    hits = [it for it in res["items"]
            if it["kind"] == "annotation" and it["id"] == t["id"]]
    assert len(hits) == 1
    assert hits[0]["private"] is False
    # an edit re-indexes body and quote together
    world.alice.call("annotation.update", {"annotation": t["id"],
                                           "body": "Edited, still no words"})
    res = search(world.bob, world.circle, far)
    assert [it for it in res["items"] if it["kind"] == "annotation"
            and it["id"] == t["id"]]


def test_diacritics_are_folded(world):
    """Accents are folded in the index and in the query, for words,
    prefixes and phrases, on both engines (FTS5's remove_diacritics;
    PostgreSQL's unaccent dictionary, migrations/pg/0019): "cafe" finds
    "café" and "café" finds "cafe"."""
    accented = world.post(world.alice, "Au café de Zürich, près de "
                          "l'église Saint-Étienne")
    plain = world.post(world.alice, "Coffee at the cafe in Zurich, "
                       "by the eglise")
    a, p = ("annotation", accented["id"]), ("annotation", plain["id"])

    def found(q):
        return set(posts(search(world.mod, world.circle, q))) & {a, p}

    assert found("cafe") == {a, p}
    assert found("CAFÉ") == {a, p}
    assert found("Zurich") == {a, p}
    assert found("Zür*") == {a, p}
    assert found("zur*") == {a, p}
    # a phrase (words joined by punctuation), accents either side
    assert found("l'eglise") == {a}
    assert found("saint-etienne") == {a}
    assert found("SAINT-ÉTIENNE") == {a}
    assert found("église-l") == set()  # a phrase keeps its word order
    assert found("zürichx") == set()
    # the snippet marks the accented word a folded query found
    res = search(world.mod, world.circle, "cafe")
    hit = next(it for it in res["items"] if it["kind"] == "annotation"
               and it["id"] == accented["id"])
    marked = [hit["snippet"][s:e].lower() for s, e in hit["highlights"]]
    assert "café" in marked
