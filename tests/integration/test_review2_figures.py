"""Issue 14, R2-F1 (and the SVG item of "Smaller"): figures are copied into
the database at import and served from there only, to signed-in accounts.

Before the fix GET /books/SLUG/PATH read the live import folder, followed
symlinks (x.png -> the database) and answered anonymous requests.
"""
import json
import os
import struct
import zlib

from harness import SOURCE

SAMPLE = os.path.join(SOURCE, "content", "the-rochdale-pioneers")


def png_bytes():
    """A valid 1x1 PNG."""
    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) +
            chunk(b"IEND", b""))


def make_book(root, slug, figures):
    """A one-chapter Markdown folder referencing each name in figures."""
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "book.json"), "w") as f:
        json.dump({"slug": slug, "title": "Figures", "parts": [
            {"title": None, "chapters": [{"file": "01.md", "number": 1}]}]}, f)
    body = "# One\n\nSome text.\n\n"
    for name in figures:
        body += "![A figure called %s](%s)\n\nMore text.\n\n" % (name, name)
    with open(os.path.join(root, "01.md"), "w") as f:
        f.write(body)


def bearer(c):
    return {"Authorization": "Bearer " + c.token}


def test_sample_figure_needs_a_session(server):
    with open(os.path.join(SAMPLE, "book.json")) as f:
        slug = json.load(f)["slug"]
    name = sorted(os.listdir(os.path.join(SAMPLE, "figures")))[0]
    path = "/books/%s/figures/%s" % (slug, name)
    status, _, _ = server.http("GET", path)
    assert status == 401
    c = server.new_account("fig")
    status, headers, body = server.http("GET", path, headers=bearer(c),
                                        raw=True)
    assert status == 200
    assert headers["content-type"] == "image/svg+xml"
    assert headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" in headers
    with open(os.path.join(SAMPLE, "figures", name), "rb") as f:
        assert body == f.read()
    # the browser's way: the session cookie
    status, _, _ = server.http(
        "GET", path, headers={"Cookie": "scholia_session=" + c.token})
    assert status == 200
    c.close()


def test_symlinks_and_later_files_are_not_served(server, tmp_path):
    root = str(tmp_path / "book")
    make_book(root, "fig-links", ["good.png", "db.png", "passwd.png",
                                  "fake.png", "evil.svg", "late.png"])
    with open(os.path.join(root, "good.png"), "wb") as f:
        f.write(png_bytes())
    os.symlink(server.db, os.path.join(root, "db.png"))
    os.symlink("/etc/passwd", os.path.join(root, "passwd.png"))
    with open(os.path.join(root, "fake.png"), "w") as f:
        f.write("<html><script>alert(1)</script></html>")
    with open(os.path.join(root, "evil.svg"), "w") as f:
        f.write('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
                '<rect width="1" height="1"/></svg>')
    r = server.cmd("import", root)
    assert "figure db.png left out" in r.stdout
    assert "figure passwd.png left out" in r.stdout
    assert "figure fake.png left out" in r.stdout
    assert "figure evil.svg left out" in r.stdout
    # a file added after the import is not served either
    with open(os.path.join(root, "late.png"), "wb") as f:
        f.write(png_bytes())
    c = server.new_account("fig")
    status, headers, body = server.http(
        "GET", "/books/fig-links/good.png", headers=bearer(c), raw=True)
    assert status == 200
    assert headers["content-type"] == "image/png"
    assert body == png_bytes()
    for name in ("db.png", "passwd.png", "fake.png", "evil.svg", "late.png",
                 "book.json", "01.md"):
        status, _, body = server.http(
            "GET", "/books/fig-links/" + name, headers=bearer(c), raw=True)
        assert status == 404, name
        assert b"SQLite" not in body and b"root:" not in body
    # the stored copy outlives the folder
    os.remove(os.path.join(root, "good.png"))
    status, _, body = server.http(
        "GET", "/books/fig-links/good.png", headers=bearer(c), raw=True)
    assert status == 200 and body == png_bytes()
    c.close()


def test_epub_images_are_stored_and_served(server, tmp_path):
    import zipfile
    path = str(tmp_path / "pics.epub")
    container = ('<?xml version="1.0"?><container version="1.0" xmlns="urn:'
                 'oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
                 '<rootfile full-path="OEBPS/content.opf" media-type="'
                 'application/oebps-package+xml"/></rootfiles></container>')
    opf = ('<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/'
           'opf" version="2.0" unique-identifier="u"><metadata xmlns:dc='
           '"http://purl.org/dc/elements/1.1/"><dc:identifier id="u">p'
           '</dc:identifier><dc:title>Pictures Book</dc:title><dc:language>'
           'en</dc:language></metadata><manifest><item id="c" href="text/'
           'c.xhtml" media-type="application/xhtml+xml"/></manifest><spine>'
           '<itemref idref="c"/></spine></package>')
    doc = ('<html xmlns="http://www.w3.org/1999/xhtml"><body><h1>Pictures'
           '</h1><p>Before the picture.</p>'
           '<p><img src="../images/pic.png" alt="A pic"/></p>'
           '<figure><img src="../images/evil.svg"/><figcaption>Evil'
           '</figcaption></figure>'
           '<div><img src="../images/fake.png"/></div>'
           '<p>After the picture.</p></body></html>')
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/epub+zip")
        z.writestr("META-INF/container.xml", container)
        z.writestr("OEBPS/content.opf", opf)
        z.writestr("OEBPS/text/c.xhtml", doc)
        z.writestr("OEBPS/images/pic.png", png_bytes())
        z.writestr("OEBPS/images/evil.svg",
                   '<svg xmlns="http://www.w3.org/2000/svg" onload="x()"/>')
        z.writestr("OEBPS/images/fake.png", "<script>x()</script>")
    r = server.cmd("import", path)
    assert "figure OEBPS/images/evil.svg left out" in r.stdout
    assert "figure OEBPS/images/fake.png left out" in r.stdout
    c = server.new_account("epubfig")
    book = [b for b in c.call("book.list", {})["items"]
            if b["slug"] == "pictures-book"][0]["id"]
    toc = c.call("book.toc", {"book": book})
    ch = [x for p in toc["parts"] for x in p["chapters"]][0]["id"]
    html = c.call("chapter.get", {"chapter": ch})["html"]
    url = "/books/pictures-book/OEBPS/images/pic.png"
    assert '<img src="%s" alt="A pic">' % url in html
    assert "evil.svg" not in html and "fake.png" not in html
    status, headers, body = server.http("GET", url, headers=bearer(c),
                                        raw=True)
    assert status == 200 and body == png_bytes()
    assert headers["content-type"] == "image/png"
    assert server.http("GET", url)[0] == 401
    c.close()
