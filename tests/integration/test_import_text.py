"""A pdftotext book imported as a user would (issue 14): `scholia import
book.txt` on a fixture the project wrote (tests/fixtures/books/text/
red-years.txt: a title page, letter-spaced headings, running heads, glued
note markers, a caption, a timeline in columns over three pages), then
book.list / book.toc / chapter.get over the WebSocket. `--title` and
`--author` replace what the text says.
"""
import os
import shutil

from harness import SOURCE

FIXTURE = os.path.join(SOURCE, "tests", "fixtures", "books", "text",
                       "red-years.txt")


def book_by_slug(c, slug):
    for b in c.call("book.list", {})["items"]:
        if b["slug"] == slug:
            return b
    return None


def chapters(c, book):
    toc = c.call("book.toc", {"book": book})
    return [ch for p in toc["parts"] for ch in p["chapters"]]


def test_text_book_as_a_user_imports_it(server, tmp_path):
    # the name a user's file would have: the title comes from the text
    path = tmp_path / "book.txt"
    shutil.copy(FIXTURE, path)
    r = server.cmd("import", str(path))
    assert "The Red Years" in r.stdout, r.stdout
    c = server.new_account("textreader")
    book = book_by_slug(c, "book")
    assert book["title"] == "The Red Years"
    assert book["author"] == "Anna Writer"
    chs = chapters(c, book["id"])
    # numbers once, matter by the word it spells, one timeline
    assert [(ch["number"], ch["title"]) for ch in chs] == [
        (1, "The Regime"), (2, "The War"), (None, "Timeline"),
        (None, "Epilogue")]
    timeline = c.call("chapter.get", {"chapter": chs[2]["id"]})
    assert timeline["html"].count("<table>") == 1
    assert timeline["html"].count("<th ") == 3
    assert "<p " not in timeline["html"]
    first = c.call("chapter.get", {"chapter": chs[0]["id"]})
    assert "advisor.\u00b9 was" in first["text"]
    assert "<figcaption" in first["html"]


def test_title_and_author_flags(server, tmp_path):
    path = tmp_path / "red.txt"
    shutil.copy(FIXTURE, path)
    server.cmd("import", str(path), "--book", "red-flags", "--title",
               "Red Years (Revised)", "--author", "A. N. Other")
    c = server.new_account("flagreader")
    book = book_by_slug(c, "red-flags")
    assert book["title"] == "Red Years (Revised)"
    assert book["author"] == "A. N. Other"
    # without the flags a re-import takes the title page's again
    server.cmd("import", str(path), "--book", "red-flags")
    book = book_by_slug(c, "red-flags")
    assert book["title"] == "The Red Years"
    assert book["author"] == "Anna Writer"
