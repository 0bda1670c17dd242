"""Plan kits (issue 20 item 3): plan.export from one circle, plan.import
into another on the same book, and onto a re-imported edition whose
chapter was renamed (matched by its number), with what does not match
reported rather than guessed."""
import json
import os
import shutil

import pytest

from harness import Server, SOURCE

BOOK_DIR = os.path.join(SOURCE, "content", "the-rochdale-pioneers")
RENAMED = "02-robert-owen-and-the-new-moral-world.md"
NEW_TITLE = "Owen, Lanark and the Millennium"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("scholia"))
    srv.start()
    yield srv
    srv.stop()
    srv.assert_clean_exit()


class World:
    pass


@pytest.fixture(scope="module")
def world(server):
    w = World()
    w.owner = server.new_account("kowner")
    w.other = server.new_account("kother")  # organiser of the second circle
    w.member = server.new_account("kmember")
    w.book = w.owner.call("book.list", {})["items"][0]["id"]
    w.toc = w.owner.call("book.toc", {"book": w.book})
    w.chapters = [c for p in w.toc["parts"] for c in p["chapters"]]
    w.by_number = {c["number"]: c for c in w.chapters if c["number"]}
    w.intro = [c for c in w.chapters if c["title"].startswith("Introduction")][0]
    w.source = w.owner.call("circle.create",
                            {"name": "Source", "book": w.book})["id"]
    code = w.owner.call("circle.invite", {"circle": w.source})["code"]
    w.member.call("circle.join", {"code": code})
    w.owner.call("plan.set", {"circle": w.source, "entries": [
        {"chapter": w.intro["id"], "due": "2027-01-04",
         "prompt": "What did the boys jeer at?"},
        {"chapter": w.by_number[1]["id"], "due": "2027-01-11",
         "prompt": "Flannel and cotton", "notes": "Bring the map."},
        {"chapter": w.by_number[2]["id"], "due": "2027-01-18",
         "notes": "Owen divides people; keep it civil."},
        {"chapter": w.by_number[3]["id"], "due": "2027-01-25"}]})
    return w


def test_export_is_a_kit_without_ids(world):
    w = world
    kit = w.owner.call("plan.export", {"circle": w.source})
    w.kit = kit
    assert kit["scholia_plan_kit"] == 1
    b = kit["book"]
    assert b["title"] == w.toc["book"]["title"]
    assert b["author"] == w.toc["book"]["author"]
    assert b["edition"] == w.toc["book"]["edition"]
    assert b["content_hash"].startswith("fnv1a64:")
    assert len(b["content_hash"]) == len("fnv1a64:") + 16
    e = kit["entries"]
    assert [x["offset_days"] for x in e] == [0, 7, 14, 21]
    assert e[0]["chapter"] == {"number": None, "title": w.intro["title"]}
    assert e[2]["chapter"] == {"number": 2, "title": w.by_number[2]["title"]}
    assert e[1]["prompt"] == "Flannel and cotton"
    assert e[1]["notes"] == "Bring the map."
    assert "prompt" not in e[3] and "notes" not in e[3]
    assert "chapter\": " not in str(kit) and w.intro["id"] not in [
        x["chapter"].get("id") for x in e]
    # a kit carries facilitator notes: members may not export one
    assert w.member.error("plan.export", {"circle": w.source})["code"] == \
        -32003


def test_import_on_the_same_book(world):
    w = world
    w.target = w.other.call("circle.create",
                            {"name": "Target", "book": w.book})["id"]
    r = w.other.call("plan.import", {"circle": w.target, "kit": w.kit,
                                     "start": "2027-03-01"})
    assert r["unmatched"] == []
    assert [m["by"] for m in r["matched"]] == ["title+number"] * 4
    assert r["same_book"] is True and r["same_content"] is True
    entries = r["plan"]["entries"]
    assert [x["due"] for x in entries] == \
        ["2027-03-01", "2027-03-08", "2027-03-15", "2027-03-22"]
    assert [x["chapter"] for x in entries] == \
        [w.intro["id"]] + [w.by_number[n]["id"] for n in (1, 2, 3)]
    assert entries[1]["notes"] == "Bring the map."
    assert entries[1]["prompt"] == "Flannel and cotton"
    got = w.other.call("plan.get", {"circle": w.target})
    assert got["entries"] == entries
    # only an owner imports
    code = w.other.call("circle.invite", {"circle": w.target})["code"]
    w.member.call("circle.join", {"code": code})
    e = w.member.error("plan.import", {"circle": w.target, "kit": w.kit,
                                       "start": "2027-03-01"})
    assert e["code"] == -32003
    assert "notes" not in w.member.call(
        "plan.get", {"circle": w.target})["entries"][1]


def test_import_checks_the_kit(world):
    w = world
    bad = dict(w.kit, entries=[dict(w.kit["entries"][0], offset_days=-1)])
    e = w.other.error("plan.import", {"circle": w.target, "kit": bad,
                                      "start": "2027-03-01"})
    assert (e["code"], e["data"]["field"]) == \
        (-32602, "kit.entries[0].offset_days")
    e = w.other.error("plan.import", {"circle": w.target, "kit": w.kit,
                                      "start": "2027-02-30"})
    assert (e["code"], e["data"]["field"]) == (-32602, "start")
    e = w.other.error("plan.import", {"circle": w.target,
                                      "kit": {"entries": []},
                                      "start": "2027-03-01"})
    assert (e["code"], e["data"]["field"]) == (-32602, "kit.scholia_plan_kit")
    big = dict(w.kit, entries=[dict(w.kit["entries"][3],
                                    notes="n" * 10001)])
    e = w.other.error("plan.import", {"circle": w.target, "kit": big,
                                      "start": "2027-03-01"})
    assert (e["code"], e["data"]["field"]) == \
        (-32013, "kit.entries[0].notes")
    # 2001 entries do not fit one 64 KiB message: the transport refuses
    # the message before plan.import's own count limit is reached
    many = dict(w.kit, entries=[{"chapter": {"number": 1},
                                 "offset_days": 0}] * 2001)
    w.other.send_text(json.dumps({
        "jsonrpc": "2.0", "id": 77, "method": "plan.import",
        "params": {"circle": w.target, "kit": many, "start": "2027-03-01"}}))
    r = w.other.recv_json()
    assert r["id"] is None and r["error"]["code"] == -32013
    # the plan is untouched by refused imports
    assert len(w.other.call("plan.get", {"circle": w.target})["entries"]) == 4


def test_import_onto_a_new_edition_with_a_renamed_chapter(world, server,
                                                          tmp_path_factory):
    w = world
    copy = str(tmp_path_factory.mktemp("edition2") / "the-rochdale-pioneers")
    shutil.copytree(BOOK_DIR, copy)
    path = os.path.join(copy, RENAMED)
    with open(path, encoding="utf-8") as f:
        src = f.read()
    old = w.by_number[2]["title"]
    assert src.startswith("# " + old + "\n")
    with open(path, "w", encoding="utf-8") as f:
        f.write("# " + NEW_TITLE + "\n" + src[len("# " + old + "\n"):])
    out = server.cmd("import", copy, "--book", w.toc["book"]["slug"]).stdout
    assert NEW_TITLE in out
    toc = w.owner.call("book.toc", {"book": w.book})
    renamed = [c for p in toc["parts"] for c in p["chapters"]
               if c["number"] == 2][0]
    assert renamed["title"] == NEW_TITLE

    # a kit that also names a chapter this book does not have
    kit = dict(w.kit, entries=w.kit["entries"] + [
        {"chapter": {"number": 42, "title": "The Lost Chapter"},
         "offset_days": 28, "prompt": "?"}])
    third = w.other.call("circle.create",
                         {"name": "Third", "book": w.book})["id"]
    r = w.other.call("plan.import", {"circle": third, "kit": kit,
                                     "start": "2027-05-03"})
    assert r["same_book"] is True and r["same_content"] is False
    by = {m["index"]: m for m in r["matched"]}
    assert by[2]["by"] == "number" and by[2]["to"] == renamed["id"]
    assert by[2]["title"] == NEW_TITLE
    assert [by[i]["by"] for i in (0, 1, 3)] == ["title+number"] * 3
    assert r["unmatched"] == [{"index": 4, "chapter": {
        "number": 42, "title": "The Lost Chapter"}}]
    dues = {x["chapter"]: x["due"] for x in r["plan"]["entries"]}
    assert dues[renamed["id"]] == "2027-05-17"
    assert len(dues) == 4
    # the new kit from the new edition names the new title
    k2 = w.owner.call("plan.export", {"circle": w.source})
    assert k2["entries"][2]["chapter"] == {"number": 2, "title": NEW_TITLE}
    assert k2["book"]["content_hash"] != w.kit["book"]["content_hash"]
