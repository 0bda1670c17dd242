"""Issue 14: R2-F7 (EPUB import memory is bounded: per entry, in all, and
entries read; a clear error and nothing written) and the re-import report
printing ids only for private annotations (smaller items).
"""
import os
import zipfile

CONTAINER = """<?xml version="1.0"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
<rootfiles><rootfile full-path="OEBPS/content.opf"
 media-type="application/oebps-package+xml"/></rootfiles></container>"""


def make_epub(path, title, docs, spine):
    """docs: {name: bytes}; spine: list of names (repeats allowed)."""
    items = "".join('<item id="d%d" href="%s" media-type="application/'
                    'xhtml+xml"/>' % (i, n) for i, n in enumerate(docs))
    ids = {n: "d%d" % i for i, n in enumerate(docs)}
    refs = "".join('<itemref idref="%s"/>' % ids[n] for n in spine)
    opf = ('<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/'
           'opf" version="2.0" unique-identifier="u"><metadata xmlns:dc='
           '"http://purl.org/dc/elements/1.1/"><dc:identifier id="u">x'
           '</dc:identifier><dc:title>%s</dc:title><dc:language>en'
           '</dc:language></metadata><manifest>%s</manifest><spine>%s'
           '</spine></package>' % (title, items, refs))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")
        z.writestr("META-INF/container.xml", CONTAINER)
        z.writestr("OEBPS/content.opf", opf)
        for n, data in docs.items():
            z.writestr("OEBPS/" + n, data)


def big_doc(mib):
    para = b"<p>" + b"word " * 200 + b"</p>\n"
    body = para * (mib * 1024 * 1024 // len(para) + 1)
    return (b'<html xmlns="http://www.w3.org/1999/xhtml"><body><h1>Big</h1>'
            + body + b"</body></html>")


def slugs(server):
    c = server.new_account("imp")
    s = [b["slug"] for b in c.call("book.list", {})["items"]]
    c.close()
    return s


def test_one_huge_entry_is_refused(server, tmp_path):
    path = str(tmp_path / "huge.epub")
    make_epub(path, "Huge Entry", {"a.xhtml": big_doc(20)}, ["a.xhtml"])
    assert os.path.getsize(path) < 2 * 1024 * 1024
    r = server.cmd("import", path, check=False)
    assert r.returncode != 0
    assert "over 16 MiB" in (r.stdout + r.stderr)
    assert "huge-entry" not in slugs(server)


def test_total_uncompressed_is_bounded(server, tmp_path):
    path = str(tmp_path / "many.epub")
    docs = {"p%d.xhtml" % i: big_doc(12) for i in range(6)}
    make_epub(path, "Many Big", docs, list(docs))
    r = server.cmd("import", path, check=False)
    assert r.returncode != 0
    assert "64 MiB" in (r.stdout + r.stderr)
    assert "many-big" not in slugs(server)


def test_repeated_spine_entry_is_read_once(server, tmp_path):
    path = str(tmp_path / "rep.epub")
    small = (b'<html xmlns="http://www.w3.org/1999/xhtml"><body><h1>One'
             b'</h1><p>Some words here.</p></body></html>')
    make_epub(path, "Repeated", {"a.xhtml": small}, ["a.xhtml"] * 4)
    r = server.cmd("import", path)
    assert "repeated" in r.stdout
    assert "repeated" in slugs(server)


def write_book(root, chapters):
    import json
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "book.json"), "w") as f:
        json.dump({"slug": "orphan-book", "title": "Orphans", "parts": [
            {"title": None, "chapters": [
                {"file": "%02d.md" % i, "number": i + 1}
                for i in range(len(chapters))]}]}, f)
    for i, (title, text) in enumerate(chapters):
        with open(os.path.join(root, "%02d.md" % i), "w") as f:
            f.write("# %s\n\n%s\n" % (title, text))


def test_reimport_report_names_orphans_by_id_only(server, tmp_path):
    root = str(tmp_path / "book")
    secret = "the lighthouse keeper hid the ledger"
    write_book(root, [("One", "A first chapter with words."),
                      ("Two", "Here %s under the stairs." % secret)])
    server.cmd("import", root)
    c = server.new_account("reader")
    book = [b for b in c.call("book.list", {})["items"]
            if b["slug"] == "orphan-book"][0]["id"]
    toc = c.call("book.toc", {"book": book})
    ch = [x for p in toc["parts"] for x in p["chapters"]][1]["id"]
    text = c.call("chapter.get", {"chapter": ch})["text"]
    start = text.index(secret)
    circle = c.call("circle.create", {"name": "O", "book": book})["id"]
    a = c.call("annotation.create", {
        "circle": circle, "chapter": ch, "body": "mine", "visibility":
        "private", "target": {"selector": [
            {"type": "TextQuoteSelector", "exact": secret},
            {"type": "TextPositionSelector", "start": start,
             "end": start + len(secret)}]}})
    c.close()
    write_book(root, [("One", "A first chapter with words.")])
    r = server.cmd("import", root)
    assert "annotation %d" % a["id"] in r.stdout
    assert "lighthouse" not in r.stdout


def test_reset_link_uses_the_configured_address(server):
    server.cmd("admin", "create-account", "--handle", "forgetful",
               input="correct horse battery\n")
    r = server.cmd("admin", "reset-link", "--handle", "forgetful",
                   "--port", "8123")
    assert "http://127.0.0.1:8123/" in r.stdout
    r = server.cmd("admin", "reset-link", "--handle", "forgetful",
                   env={"SCHOLIA_PORT": "9345"})
    assert ":9345/" in r.stdout and ":8080" not in r.stdout
    r = server.cmd("admin", "reset-link", "--handle", "forgetful",
                   "--public-url", "https://read.example.org/")
    assert "https://read.example.org/" in r.stdout
