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
