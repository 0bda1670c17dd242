"""Books over the real server: the sample book imported at start, book.list,
book.toc and chapter.get over the WebSocket, `scholia import --dry-run`, and
a re-import of an edited copy of the sample book while the server runs:
chapter.get shows the new edition without a restart, and annotations made
through the API are re-anchored (moved, fuzzy, orphaned) with offsets that
hold their quotes in the new text.
"""
import json
import os
import shutil
from html.parser import HTMLParser

import pytest

from harness import SOURCE
from wsclient import RpcError

SAMPLE = os.path.join(SOURCE, "content", "the-rochdale-pioneers")
FIXTURE = os.path.join(SOURCE, "tests", "fixtures", "books", "md-book")


def sample_slug():
    with open(os.path.join(SAMPLE, "book.json")) as f:
        return json.load(f)["slug"]


def book_by_slug(c, slug):
    items = c.call("book.list", {})["items"]
    for b in items:
        if b["slug"] == slug:
            return b
    return None


def flat_chapters(toc):
    return [ch for p in toc["parts"] for ch in p["chapters"]]


def target(text, start, end):
    return {"selector": [
        {"type": "TextQuoteSelector", "exact": text[start:end],
         "prefix": text[max(0, start - 32):start],
         "suffix": text[end:end + 32]},
        {"type": "TextPositionSelector", "start": start, "end": end}]}


def selectors(ann):
    q, p = ann["target"]["selector"]
    return q["exact"], p["start"], p["end"]


class BlockText(HTMLParser):
    """textContent of every element carrying data-block, and any text
    that sits outside such elements."""

    VOID = {"img", "br", "hr"}

    def __init__(self):
        super().__init__()
        self.stack = []        # open tags, with the block id or None
        self.blocks = {}
        self.outside = ""

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        bid = dict(attrs).get("data-block")
        if bid:
            assert not any(b for _, b in self.stack), "nested blocks"
            self.blocks[bid] = ""
        self.stack.append((tag, bid))

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        assert self.stack and self.stack[-1][0] == tag, tag
        self.stack.pop()

    def handle_data(self, data):
        cur = [b for _, b in self.stack if b]
        if cur:
            self.blocks[cur[-1]] += data
        else:
            self.outside += data


def test_block_elements_hold_exactly_their_text(server):
    c = server.new_account("reader")
    book = book_by_slug(c, sample_slug())
    toc = c.call("book.toc", {"book": book["id"]})
    for chap in flat_chapters(toc):
        ch = c.call("chapter.get", {"chapter": chap["id"]})
        p = BlockText()
        p.feed(ch["html"])
        p.close()
        assert p.stack == []
        assert p.outside.strip() == ""
        assert len(p.blocks) == len(ch["blocks"])
        for b in ch["blocks"]:
            assert p.blocks[b["id"]] == ch["text"][b["start"]:b["end"]], \
                (chap["title"], b)
    c.close()


def test_sample_book_imported_at_start(server):
    c = server.new_account("reader")
    book = book_by_slug(c, sample_slug())
    assert book is not None
    toc = c.call("book.toc", {"book": book["id"]})
    assert toc["book"]["id"] == book["id"]
    assert toc["book"]["slug"] == sample_slug()
    assert toc["book"]["edition"] == book["edition"]
    parts = toc["parts"]
    assert parts[0]["title"] is None           # front matter
    assert any(p["title"] for p in parts)      # real parts
    chapters = flat_chapters(toc)
    assert len(chapters) >= 6
    numbered = [ch for ch in chapters if ch["number"] is not None]
    assert [ch["number"] for ch in numbered] == \
        list(range(1, len(numbered) + 1))
    assert sum(ch["words"] for ch in chapters) >= 15000
    with open(os.path.join(SAMPLE, "book.json")) as f:
        meta = json.load(f)
    assert [p["title"] for p in parts] == [p["title"] for p in meta["parts"]]

    ch = c.call("chapter.get", {"chapter": numbered[0]["id"]})
    assert ch["id"] == numbered[0]["id"] and ch["book"] == book["id"]
    assert ch["title"] == numbered[0]["title"]
    assert ch["edition"] == book["edition"]
    text, html = ch["text"], ch["html"]
    assert text.startswith(ch["title"])
    prev = None
    for b in ch["blocks"]:
        assert 0 <= b["start"] < b["end"] <= len(text)
        if prev is not None:
            assert b["start"] == prev + 2
            assert text[prev:b["start"]] == "\n\n"
        prev = b["end"]
        assert 'data-block="%s"' % b["id"] in html
        assert b["type"] in ("paragraph", "heading", "quote", "cell",
                             "caption", "note")
    assert prev == len(text)
    assert "<script" not in html.lower()
    # every block id is unique in the chapter
    ids = [b["id"] for b in ch["blocks"]]
    assert len(ids) == len(set(ids))

    # a restart does not import the book again
    n = len(c.call("book.list", {})["items"])
    c.close()
    server.restart()
    c = server.new_account("reader")
    assert len(c.call("book.list", {})["items"]) == n
    assert book_by_slug(c, sample_slug())["edition"] == book["edition"]
    c.close()


def test_book_methods_need_an_account(server):
    c = server.client()
    for method, params in (("book.list", {}), ("book.toc", {"book": 1}),
                           ("chapter.get", {"chapter": 1})):
        with pytest.raises(RpcError) as e:
            c.call(method, params)
        assert e.value.code == -32001
    c.close()
    c = server.new_account("reader")
    with pytest.raises(RpcError) as e:
        c.call("chapter.get", {"chapter": 987654})
    assert e.value.code == -32004
    with pytest.raises(RpcError) as e:
        c.call("book.toc", {"book": "one"})
    assert e.value.code == -32602
    c.close()


def test_import_dry_run_writes_nothing(server, tmp_path):
    c = server.new_account("reader")
    before = c.call("book.list", {})["items"]
    r = server.cmd("import", FIXTURE, "--dry-run")
    out = r.stdout
    assert "Part: Part One: Beginnings" in out
    assert "The Store on Toad Lane" in out
    assert "Preface" in out and "Epilogue" in out
    assert "2 footnotes" in out
    assert "Dry run" in out
    assert c.call("book.list", {})["items"] == before
    # a book that is not there fails with a message
    r = server.cmd("import", str(tmp_path / "missing"), check=False)
    assert r.returncode != 0
    c.close()


def _pick_paragraphs(ch, source, n):
    """Paragraph blocks whose text appears once, verbatim, at the start of
    a line of the Markdown source."""
    text = ch["text"]
    out = []
    for b in ch["blocks"]:
        if b["type"] != "paragraph":
            continue
        t = text[b["start"]:b["end"]]
        if len(t) < 120 or "[" in t:
            continue
        i = source.find(t)
        if i <= 0 or source[i - 1] != "\n" or source.count(t) != 1 or \
                text.count(t) != 1:
            continue
        out.append(b)
    assert len(out) >= n, "the sample chapter has too few plain paragraphs"
    return out


def test_reimport_edited_copy_reanchors(server, tmp_path):
    owner = server.new_account("owner")
    slug = sample_slug()
    book = book_by_slug(owner, slug)
    copy = tmp_path / "edited"
    shutil.copytree(SAMPLE, copy)
    with open(copy / "book.json") as f:
        meta = json.load(f)
    files = [ch["file"] for p in meta["parts"] for ch in p["chapters"]]
    toc = owner.call("book.toc", {"book": book["id"]})
    chapters = flat_chapters(toc)
    assert len(chapters) == len(files)
    idx = next(i for i, ch in enumerate(chapters) if ch["number"] == 1)
    chap = chapters[idx]
    path = copy / files[idx]
    source = path.read_text()
    ch = owner.call("chapter.get", {"chapter": chap["id"]})
    text = ch["text"]
    paras = _pick_paragraphs(ch, source, 4)
    first, typo, gone, later = paras[0], paras[1], paras[2], paras[-1]

    circle = owner.call("circle.create", {"name": "Edition readers",
                                          "book": book["id"]})

    def annotate(block, offset, length, body):
        s = block["start"] + offset
        return owner.call("annotation.create", {
            "circle": circle["id"], "chapter": chap["id"],
            "target": target(text, s, s + length), "body": body,
            "visibility": "circle"})

    a_moved = annotate(later, 20, 40, "unchanged paragraph after an insert")
    a_fuzzy = annotate(typo, 10, 60, "a typo gets fixed in here")
    a_gone = annotate(gone, 5, 50, "this paragraph is deleted")
    a_first = annotate(first, 0, 30, "first paragraph, also unchanged")
    for a in (a_moved, a_fuzzy, a_gone, a_first):
        assert a["anchor"] == "exact"
        exact, s, e = selectors(a)
        assert text[s:e] == exact

    # the edited edition: a paragraph inserted before `later`, one letter
    # changed inside the fuzzy quote, the `gone` paragraph deleted
    later_text = text[later["start"]:later["end"]]
    typo_text = text[typo["start"]:typo["end"]]
    gone_text = text[gone["start"]:gone["end"]]
    quote = text[typo["start"] + 10:typo["start"] + 70]
    k = len(quote) // 2
    while not quote[k].isalpha():
        k += 1
    swapped = quote[:k] + ("x" if quote[k] != "x" else "y") + quote[k + 1:]
    new_typo = typo_text.replace(quote, swapped)
    inserted = ("An editor's note added to the second edition, long "
                "enough to move everything that follows it.")
    source = source.replace(later_text, inserted + "\n\n" + later_text)
    source = source.replace(typo_text, new_typo)
    source = source.replace(gone_text + "\n", "")
    path.write_text(source)

    r = server.cmd("import", str(copy), "--book", slug)
    assert "new edition" in r.stdout
    assert "Re-anchoring:" in r.stdout
    assert "annotation %d in" % a_gone["id"] in r.stdout

    # the running server serves the new edition at once
    ch2 = owner.call("chapter.get", {"chapter": chap["id"]})
    assert ch2["edition"] != ch["edition"]
    assert inserted in ch2["text"]
    assert gone_text not in ch2["text"]
    toc2 = owner.call("book.toc", {"book": book["id"]})
    assert toc2["book"]["edition"] == ch2["edition"]
    assert [c["id"] for c in flat_chapters(toc2)] == \
        [c["id"] for c in chapters]
    new_text = ch2["text"]

    moved = owner.call("annotation.get", {"annotation": a_moved["id"]})
    assert moved["anchor"] == "moved"
    exact, s, e = selectors(moved)
    assert new_text[s:e] == exact == selectors(a_moved)[0]
    assert s == new_text.find(later_text) + 20

    first_a = owner.call("annotation.get", {"annotation": a_first["id"]})
    exact, s, e = selectors(first_a)
    assert first_a["anchor"] in ("exact", "moved")
    assert new_text[s:e] == exact == selectors(a_first)[0]

    fuzzy = owner.call("annotation.get", {"annotation": a_fuzzy["id"]})
    assert fuzzy["anchor"] == "fuzzy"
    exact, s, e = selectors(fuzzy)
    assert new_text[s:e] == exact
    assert exact == swapped

    gone_a = owner.call("annotation.get", {"annotation": a_gone["id"]})
    assert gone_a["anchor"] == "orphaned"
    assert selectors(gone_a)[0] == selectors(a_gone)[0]   # old quote kept
    owner.close()


def test_figures_are_served_safely(server):
    slug = sample_slug()
    figures = sorted(os.listdir(os.path.join(SAMPLE, "figures")))
    assert figures
    c = server.new_account("figures")
    auth = {"Authorization": "Bearer " + c.token}
    c.close()
    status, headers, body = server.http(
        "GET", "/books/%s/figures/%s" % (slug, figures[0]), raw=True,
        headers=auth)
    assert status == 200
    assert headers["content-type"].startswith("image/")
    with open(os.path.join(SAMPLE, "figures", figures[0]), "rb") as f:
        assert body == f.read()
    for bad in ("/books/%s/../book.json" % slug,
                "/books/%s/book.json" % slug,
                "/books/%s/figures/missing.svg" % slug,
                "/books/no-such-book/figures/%s" % figures[0]):
        status, _, _ = server.http("GET", bad, headers=auth)
        assert status == 404, bad
