"""annotation.import {circle, format, data} (SPEC §3, issue 19): highlights
from Kindle ("My Clippings.txt"), KOReader (its JSON export) and W3C files
become the caller's private annotations, anchored by quote with the
re-anchoring matcher after normalising what e-readers change (ligatures,
curly quotes, white space, a word hyphenated across a line), and reported
placed / ambiguous / not_found per highlight. The fixtures are the
project's own (tests/fixtures/import/); the expected offsets are computed
here from chapter.get's text.
"""
import json
import os

import pytest

from harness import SOURCE

FIX = os.path.join(SOURCE, "tests", "fixtures", "import")

FLANNEL = ("The characteristic product of the district was flannel \u2014 a "
           "light, soft woollen cloth \u2014 and by the eighteenth century "
           "Rochdale flannel was sold across the country and abroad.")
JEER = ("a crowd of boys from the mills gathered outside to jeer at the "
        "\"owd weavers' shop\".")
OWEN = ("Owen was born in 1771 in Newtown, in mid-Wales, the son of a "
        "saddler and ironmonger.")
TWICE = "the largest businesses in the country"


def fixture(name):
    with open(os.path.join(FIX, name), encoding="utf-8", newline="") as f:
        return f.read()


class World:
    pass


@pytest.fixture(scope="module")
def w(server):
    w = World()
    w.owner = server.new_account("imo")
    book = w.owner.call("book.list", {})["items"][0]["id"]
    toc = w.owner.call("book.toc", {"book": book})
    w.texts = {}
    for p in toc["parts"]:
        for c in p["chapters"]:
            w.texts[c["id"]] = w.owner.call("chapter.get",
                                            {"chapter": c["id"]})["text"]
    w.circle = w.owner.call("circle.create", {"name": "Imports",
                                              "book": book})["id"]
    code = w.owner.call("circle.invite", {"circle": w.circle})["code"]
    w.member = server.new_account("imm")
    w.member.call("circle.join", {"code": code})
    w.other = server.new_account("imn")
    w.other.call("circle.join", {"code": code})
    w.outsider = server.new_account("imx")
    return w


def where(w, passage, nth=0):
    """(chapter, start, end) in code points of the nth occurrence."""
    hits = []
    for ch, text in w.texts.items():
        i = text.find(passage)
        while i >= 0:
            hits.append((ch, i, i + len(passage)))
            i = text.find(passage, i + 1)
    return hits


def check_placed(w, item, passage, note=None):
    assert item["status"] == "placed", item
    a = item["annotation"]
    [(ch, s, e)] = where(w, passage)
    assert a["chapter"] == ch
    quote, pos = a["target"]["selector"]
    assert (pos["start"], pos["end"]) == (s, e)
    assert quote["exact"] == passage
    assert a["visibility"] == "private"
    assert a["author"]["id"] == w.member.account["id"]
    if note is not None:
        assert a["body"] == note
    return a


def test_fixture_facts(w):
    """The fixtures test what they claim to: one passage occurs twice."""
    assert len(where(w, TWICE)) == 2
    assert len(where(w, FLANNEL)) == 1 and len(where(w, JEER)) == 1
    clip = fixture("My Clippings.txt")
    assert "\ufb02annel" in clip and "eigh-\r\nteenth" in clip
    assert "\u201cowd weavers\u2019 shop\u201d" in clip


def test_kindle(server, w):
    r = w.member.call("annotation.import", {
        "circle": w.circle, "format": "kindle",
        "data": fixture("My Clippings.txt")})
    items = r["items"]
    # the bookmark and the other book's clipping are left out
    assert [i["status"] for i in items] == [
        "placed", "placed", "ambiguous", "not_found"]
    a = check_placed(w, items[0], FLANNEL,
                     "Flannel before cotton: worth a word at the meeting.")
    assert items[0]["quote"].startswith("The characteristic product")
    check_placed(w, items[1], JEER)
    assert items[2]["quote"] == TWICE and "annotation" not in items[2]
    assert "annotation" not in items[3]
    # private: the other member cannot see it
    err = w.other.error("annotation.get", {"annotation": a["id"]})
    assert err["code"] == -32004
    # the member shares it with the circle in one call
    up = w.member.call("annotation.update", {"annotation": a["id"],
                                             "visibility": "circle"})
    assert up["visibility"] == "circle" and up["body"] == a["body"]
    got = w.other.call("annotation.get", {"annotation": a["id"]})
    assert got["target"] == up["target"]
    # and cannot take it back
    err = w.member.error("annotation.update", {"annotation": a["id"],
                                               "visibility": "private"})
    assert err["code"] == -32602


def test_koreader(server, w):
    r = w.member.call("annotation.import", {
        "circle": w.circle, "format": "koreader",
        "data": fixture("koreader.json")})
    items = r["items"]
    assert [i["status"] for i in items] == [
        "placed", "ambiguous", "not_found"]
    # not verbatim (a comma and a hyphen differ): placed by the matcher
    # above its score floor, on the book's own text
    check_placed(w, items[0], OWEN,
                 "Check the date against the *Dictionary of National "
                 "Biography*.")
    assert len(where(w, items[1]["quote"])) == 3


def test_w3c_collection(server, w):
    r = w.member.call("annotation.import", {
        "circle": w.circle, "format": "w3c",
        "data": fixture("w3c-collection.json")})
    items = r["items"]
    assert [i["status"] for i in items] == [
        "placed", "placed", "not_found"]
    # the prefix picks the second of the two occurrences
    a = items[0]["annotation"]
    hits = where(w, TWICE)
    ch7 = [h for h in hits if "Scottish Wholesale were among " + TWICE
           in w.texts[h[0]]]
    assert len(ch7) == 1
    assert (a["chapter"], a["target"]["selector"][1]["start"]) == \
        (ch7[0][0], ch7[0][1])
    assert a["body"] == "The Wholesale, **again**."
    check_placed(w, items[1], "a wool town")
    # an annotation list in place of a collection works too
    coll = json.loads(fixture("w3c-collection.json"))
    r = w.member.call("annotation.import", {
        "circle": w.circle, "format": "w3c",
        "data": json.dumps(coll["first"]["items"][1:2])})
    assert [i["status"] for i in r["items"]] == ["placed"]


def test_refusals(server, w):
    err = w.member.error("annotation.import", {
        "circle": w.circle, "format": "koreader", "data": "not json"})
    assert err["code"] == -32602 and err["data"]["field"] == "data"
    err = w.member.error("annotation.import", {
        "circle": w.circle, "format": "pdf", "data": "x"})
    assert err["code"] == -32602 and err["data"]["field"] == "format"
    err = w.outsider.error("annotation.import", {
        "circle": w.circle, "format": "kindle",
        "data": fixture("My Clippings.txt")})
    assert err["code"] == -32004
    many = [{"type": "Annotation"}] * 1001
    err = w.member.error("annotation.import", {
        "circle": w.circle, "format": "w3c",
        "data": json.dumps(many, separators=(",", ":"))})
    assert err["code"] == -32013
