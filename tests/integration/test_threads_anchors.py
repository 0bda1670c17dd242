"""anchor.review and anchor.resolve after a corrected edition.

The sample book is copied, the words around an annotated passage are
rewritten and the quote is written twice there (the quote itself is kept,
so the best candidates have the right text but the wrong context: below the
score floor; a quote that occurred once and still occurs once would be
taken as moved, books/anchor.c), and the copy is re-imported with
`scholia import` while the server runs. The annotation
must then wait for a moderator: anchor.review lists it with the old quote
and the proposed passage, members may not see the queue, and accepting moves
the thread to the proposed passage (anchor.changed to subscribers) while
rejecting orphans it. Nothing is moved without a moderator.
"""
import os
import shutil

import pytest

from harness import Server, SOURCE

BOOK_DIR = os.path.join(SOURCE, "content", "the-rochdale-pioneers")
CONTEXT = 40
NEW_BEFORE = "Quite other words, put here by the editor of the new edition; "
NEW_AFTER = " - and so the corrected edition reads differently from here on,"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("scholia"),
                 env={"SCHOLIA_POSTS_PER_MINUTE": "100000"})
    srv.start()
    yield srv
    srv.stop()
    srv.assert_clean_exit()


def sources():
    out = {}
    for name in sorted(os.listdir(BOOK_DIR)):
        if name.endswith(".md"):
            with open(os.path.join(BOOK_DIR, name), encoding="utf-8") as f:
                out[name] = f.read()
    return out


def find_passages(text, files, want, length=30):
    """Passages [start, end) of text whose quote occurs once in the chapter
    and whose quote plus CONTEXT each side occurs verbatim once in one
    source file (so the source can be edited around it). Spread out."""
    found = []
    pos = 200
    while pos + length + CONTEXT < len(text) and len(found) < want:
        s, e = pos, pos + length
        window = text[s - CONTEXT:e + CONTEXT]
        quote = text[s:e]
        if text.count(quote) == 1 and "\n" not in window:
            homes = [n for n, src in files.items() if src.count(window) == 1]
            if len(homes) == 1:
                found.append((s, e, homes[0]))
                pos += 1500
                continue
        pos += 37
    return found


def target(text, start, end):
    return {"selector": [
        {"type": "TextQuoteSelector", "exact": text[start:end],
         "prefix": text[max(0, start - 32):start],
         "suffix": text[end:end + 32]},
        {"type": "TextPositionSelector", "start": start, "end": end}]}


@pytest.fixture(scope="module")
def world(server, make_world, tmp_path_factory):
    w = make_world(owner="aowner", circle_name="Editions",
                   members={"member": "amember"})
    owner, member, circle = w.owner, w.member, w.circle
    slug = w.toc["book"]["slug"]
    files = sources()
    chapter = text = passages = None
    for ch in w.chapters:
        t = owner.call("chapter.get", {"chapter": ch})["text"]
        ps = find_passages(t, files, 3)
        if len(ps) == 3:
            chapter, text, passages = ch, t, ps
            break
    assert passages, "no chapter with three editable passages"
    anns = []
    for s, e, _ in passages:
        anns.append(member.call("annotation.create", {
            "circle": circle, "chapter": chapter, "body": "on %d" % s,
            "target": target(text, s, e), "visibility": "circle"})["id"])
    # a private one on the first passage: its author alone resolves it
    s, e, _ = passages[0]
    private = member.call("annotation.create", {
        "circle": circle, "chapter": chapter, "body": "mine",
        "target": target(text, s, e), "visibility": "private"})["id"]

    # the corrected edition: new words around each quote, quote kept (and
    # repeated, so that no single occurrence identifies it)
    copy = str(tmp_path_factory.mktemp("edition2") / "the-rochdale-pioneers")
    shutil.copytree(BOOK_DIR, copy)
    for s, e, home in passages:
        path = os.path.join(copy, home)
        with open(path, encoding="utf-8") as f:
            src = f.read()
        window = text[s - CONTEXT:e + CONTEXT]
        src = src.replace(window, NEW_BEFORE + text[s:e] + NEW_AFTER + " " +
                          text[s:e] + NEW_AFTER, 1)
        with open(path, "w", encoding="utf-8") as f:
            f.write(src)
    subscribe = member.call("circle.subscribe", {"circle": circle})
    assert "seq" in subscribe
    server.cmd("import", copy, "--book", slug)
    w.chapter = chapter
    w.text, w.passages, w.anns, w.private = text, passages, anns, private
    w.seq0 = subscribe["seq"]
    return w


def test_review_lists_what_needs_a_moderator(world):
    w = world
    for a in w.anns:
        got = w.member.call("annotation.get", {"annotation": a})
        assert got["anchor"] == "needs_review", got["anchor"]
    r = w.owner.call("anchor.review", {"circle": w.circle})
    listed = {i["id"]: i for i in r["items"]}
    assert set(w.anns) <= set(listed)
    assert w.private not in listed          # private: not even moderators
    item = listed[w.anns[0]]
    s, e, _ = w.passages[0]
    assert item["old"]["exact"] == w.text[s:e]
    assert item["proposed"]["exact"] == w.text[s:e]
    assert 0 <= item["score"] < 0.85
    assert item["anchor"] == "needs_review"
    e = w.member.error("anchor.review", {"circle": w.circle})
    assert e["code"] == -32003


def test_resolve_accept_and_reject(world):
    w = world
    e = w.member.error("anchor.resolve", {"annotation": w.anns[0], "accept": True})
    assert e["code"] == -32003
    before = w.member.call("annotation.get", {"annotation": w.anns[0]})
    old_start = before["target"]["selector"][1]["start"]
    # on PostgreSQL the import's own anchor.changed events (needs_review)
    # arrive live too, through the cross-node listener: not these
    w.member.drain_events(0.3)
    got = w.owner.call("anchor.resolve", {"annotation": w.anns[0], "accept": True})
    assert got["anchor"] == "fuzzy"
    chapter = w.owner.call("chapter.get", {"chapter": w.chapter})["text"]
    sel = got["target"]["selector"]
    s, e, _ = w.passages[0]
    assert chapter[sel[1]["start"]:sel[1]["end"]] == w.text[s:e]
    assert sel[0]["exact"] == w.text[s:e]
    assert sel[1]["start"] != old_start or chapter != w.text
    ev = w.member.next_event("anchor.changed")
    assert ev["data"]["id"] == w.anns[0] and ev["data"]["anchor"] == "fuzzy"

    got = w.owner.call("anchor.resolve", {"annotation": w.anns[1], "accept": False})
    assert got["anchor"] == "orphaned"
    still = w.member.call("annotation.get", {"annotation": w.anns[1]})
    assert still["anchor"] == "orphaned" and still["body"] == "on %d" % w.passages[1][0]

    r = w.owner.call("anchor.review", {"circle": w.circle})
    left = [i["id"] for i in r["items"]]
    assert w.anns[0] not in left and w.anns[1] not in left
    assert w.anns[2] in left
    e = w.owner.error("anchor.resolve", {"annotation": w.anns[0], "accept": True})
    assert e["code"] == -32009
    # the audit log records the decisions
    log = w.owner.call("mod.log", {"circle": w.circle})["items"]
    assert {"anchor.accept", "anchor.reject"} <= {x["action"] for x in log}


def test_private_resolved_by_its_author(world):
    w = world
    got = w.member.call("annotation.get", {"annotation": w.private})
    assert got["anchor"] == "needs_review"
    e = w.owner.error("anchor.resolve", {"annotation": w.private, "accept": True})
    assert e["code"] == -32004
    got = w.member.call("anchor.resolve", {"annotation": w.private, "accept": True})
    assert got["anchor"] == "fuzzy"


def test_reimport_events_reach_members_by_catch_up(world):
    """The import runs in another process: its anchor.changed events are
    stored with their seq, so a member catching up with since_seq sees
    every annotation of theirs whose anchor changed, and another member
    does not see the private one."""
    w = world
    r = w.member.call("circle.subscribe", {"circle": w.circle,
                                           "since_seq": w.seq0})
    changed = [e for e in r["events"] if e["type"] == "anchor.changed"]
    # the import's own events (later resolutions add accept/reject ones)
    got = {e["data"]["id"] for e in changed
           if e["data"]["anchor"] == "needs_review"}
    assert set(w.anns) | {w.private} <= got
    r = w.owner.call("circle.subscribe", {"circle": w.circle,
                                          "since_seq": w.seq0})
    seen = {e["data"]["id"] for e in r["events"]
            if e["type"] == "anchor.changed" and e["data"]["anchor"] == "needs_review"}
    assert set(w.anns) <= seen and w.private not in seen
