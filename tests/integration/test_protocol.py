"""The W3C Web Annotation Protocol container of a circle
(/api/circles/{id}/annotations/, SPEC §2), over real HTTP: the MUSTs and
SHOULDs of the W3C protocol test suite (web-platform-tests
annotation-protocol/server/) written as our own checks, with the target
constraint (targets outside the circle's book are refused with 400), and
every created, fetched and paged object validated against the Web
Annotation WG's JSON schemas vendored in tests/w3c/annotation-model.

Writes are annotation.create / reply.create / ... in every respect, so the
tests also check parity with the WebSocket API: a muted member is refused,
a non-member gets 404, a private annotation is its author's alone, a POST
produces the live event, and a cookie-authenticated write from a foreign
Origin is refused.
"""
import json
import os
import subprocess

import pytest

from harness import SOURCE, Server

W3C_DIR = os.path.join(SOURCE, "tests", "w3c")
LD = "application/ld+json"
LD_TYPE = 'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"'
ALLOWED = "http://client.example"


def validate(kind, doc):
    r = subprocess.run(["node", os.path.join(W3C_DIR, "validate.mjs"), kind],
                       input=json.dumps(doc), capture_output=True, text=True,
                       cwd=W3C_DIR, timeout=120)
    assert r.returncode == 0, "W3C validation failed (%d):\n%s%s" % (
        r.returncode, r.stdout, r.stderr)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("scholia"),
                 extra_args=["--posts-per-minute", "1000",
                             "--allowed-origin", ALLOWED])
    srv.start()
    yield srv
    srv.stop()
    srv.assert_clean_exit()


class World:
    pass


@pytest.fixture(scope="module")
def w(server):
    w = World()
    w.owner = server.new_account("pro")
    w.book = w.owner.call("book.list", {})["items"][0]["id"]
    toc = w.owner.call("book.toc", {"book": w.book})
    w.chapters = [c["id"] for p in toc["parts"] for c in p["chapters"]]
    w.ch = w.chapters[1]
    w.text = w.owner.call("chapter.get", {"chapter": w.ch})["text"]
    w.circle = w.owner.call("circle.create",
                            {"name": "Protocol circle", "book": w.book})["id"]

    def join(prefix, role="member"):
        code = w.owner.call("circle.invite",
                            {"circle": w.circle, "role": role})["code"]
        c = server.new_account(prefix)
        c.call("circle.join", {"code": code})
        return c

    w.member = join("prm")
    w.other = join("prn")
    w.outsider = server.new_account("prx")
    w.path = "/api/circles/%d/annotations/" % w.circle
    w.base = "http://127.0.0.1:%d" % server.port
    w.container = w.base + w.path
    w.chapter_iri = "%s/#/read/%d/%d" % (w.base, w.circle, w.ch)
    return w


def req(server, method, path, client=None, body=None, headers=None):
    h = {"Host": "127.0.0.1:%d" % server.port}
    if client is not None:
        h["Authorization"] = "Bearer " + client.token
    if body is not None:
        h["Content-Type"] = LD
    h.update(headers or {})
    status, hdrs, payload = server.http(method, path, body=body, headers=h)
    doc = None
    if payload and hdrs.get("content-type", "").startswith(LD):
        doc = json.loads(payload)
    return status, hdrs, doc


def rel(iri, w):
    """A path from one of our IRIs."""
    assert iri.startswith(w.base), iri
    return iri[len(w.base):]


def quote(w, word, nth=0):
    start = -1
    for _ in range(nth + 1):
        start = w.text.index(word, start + 1)
    return start, start + len(word)


def anno(w, exact, start=None, end=None, body="A *note*", extra=None):
    sel = [{"type": "TextQuoteSelector", "exact": exact}]
    if start is not None:
        sel.append({"type": "TextPositionSelector", "start": start,
                    "end": end})
    a = {"@context": "http://www.w3.org/ns/anno.jsonld",
         "type": "Annotation", "motivation": "commenting",
         "body": {"type": "TextualBody", "value": body,
                  "format": "text/markdown"},
         "target": {"source": w.chapter_iri, "selector": sel}}
    a.update(extra or {})
    return a


def unique_word(w, n=0):
    """A word of 7+ letters that occurs once in the chapter."""
    seen = 0
    for word in sorted(set(w.text.replace("\n", " ").split(" "))):
        word = word.strip(".,;:!?\"'()[]")
        if len(word) >= 7 and word.isalpha() and w.text.count(word) == 1:
            if seen == n:
                return word
            seen += 1
    raise AssertionError("no unique word")


@pytest.fixture(scope="module")
def created(server, w):
    """One thread POSTed by the member (with canonical and via)."""
    word = unique_word(w)
    s, e = quote(w, word)
    status, hdrs, doc = req(server, "POST", w.path, w.member,
                            anno(w, word, s, e, extra={
                                "canonical": "urn:uuid:1d1f4f6e-5b4c-4c55"
                                             "-9a57-0d4b5a3c7e11",
                                "via": "http://elsewhere.example/a/1"}))
    assert status == 201, (status, doc)
    return {"status": status, "headers": hdrs, "doc": doc, "word": word,
            "start": s, "end": e}


# ---- the container ----

def test_container_get_headers_and_representation(server, w, created):
    status, h, doc = req(server, "GET", w.path, w.member)
    assert status == 200
    assert w.container.endswith("/")
    assert h["content-type"] == LD_TYPE
    for m in ("GET", "HEAD", "OPTIONS", "POST"):
        assert m in h["allow"]
    assert "application/ld+json" in h["accept-post"]
    assert '<http://www.w3.org/ns/ldp#BasicContainer>; rel="type"' in h["link"]
    assert ('<http://www.w3.org/TR/annotation-protocol/>; '
            'rel="http://www.w3.org/ns/ldp#constrainedBy"') in h["link"]
    assert h["etag"].startswith('"')
    assert "Accept" in h["vary"] and "Prefer" in h["vary"]
    assert h["content-location"] == doc["id"] == w.container
    assert "BasicContainer" in doc["type"]
    assert "AnnotationCollection" in doc["type"]
    assert doc["total"] >= 1
    # by default the first page is embedded with full descriptions
    assert doc["first"]["items"][0]["id"].startswith(w.container)
    assert "prefer" not in h
    validate("collection", doc)


def test_container_head_and_options(server, w, created):
    status, h, _ = req(server, "GET", w.path, w.member)
    hstatus, hh, body = req(server, "HEAD", w.path, w.member)
    assert hstatus == 200 and body is None
    assert hh["etag"] == h["etag"] and hh["link"] == h["link"]
    assert hh["content-length"] == h["content-length"]
    ostatus, oh, _ = req(server, "OPTIONS", w.path)
    assert ostatus == 200
    assert "POST" in oh["allow"] and "accept-post" in oh
    assert "ldp#BasicContainer" in oh["link"]


def test_prefer_minimal_container(server, w, created):
    status, h, doc = req(server, "GET", w.path, w.member, headers={
        "Prefer": 'return=representation;include="http://www.w3.org/ns/'
                  'ldp#PreferMinimalContainer"'})
    assert status == 200
    assert "items" not in doc and "ldp:contains" not in doc
    assert isinstance(doc["first"], str) and isinstance(doc["last"], str)
    assert "total" in doc
    assert h["preference-applied"] == "return=representation"
    assert "Prefer" in h["vary"]
    validate("collection", doc)
    # the page it names has full descriptions, each with @context
    status, ph, page = req(server, "GET", rel(doc["first"], w), w.member)
    assert status == 200
    assert page["partOf"]["id"] == w.container
    assert all("@context" in it for it in page["items"])
    validate("page", page)


def test_prefer_contained_iris(server, w, created):
    status, h, doc = req(server, "GET", w.path, w.member, headers={
        "Prefer": 'return=representation;include="http://www.w3.org/ns/'
                  'oa#PreferContainedIRIs"'})
    assert status == 200
    items = doc["first"]["items"]
    assert items and all(isinstance(i, str) for i in items)
    assert created["doc"]["id"] in items
    assert "iris=1" in doc["last"]
    validate("collection", doc)
    _, _, desc = req(server, "GET", w.path, w.member, headers={
        "Prefer": 'return=representation;include="http://www.w3.org/ns/'
                  'oa#PreferContainedDescriptions"'})
    assert isinstance(desc["first"]["items"][0], dict)


def test_paging(server, w, created):
    # 120 more threads: two pages of 100
    word = unique_word(w, 1)
    s, e = quote(w, word)
    for i in range(120):
        st, _, _ = req(server, "POST", w.path, w.other,
                       anno(w, word, s, e, body="paged %d" % i))
        assert st == 201
    status, h, doc = req(server, "GET", w.path, w.member)
    total = doc["total"]
    assert total >= 121
    first = doc["first"]
    assert first["startIndex"] == 0 and len(first["items"]) == 100
    assert "next" in first and "prev" not in first
    status, _, last = req(server, "GET", rel(doc["last"], w), w.member)
    assert status == 200
    assert last["type"] == "AnnotationPage"
    assert last["prev"] and "next" not in last
    assert last["startIndex"] == 100
    assert last["partOf"]["total"] == total
    assert len(last["items"]) == total - 100
    validate("page", last)
    status, _, p1 = req(server, "GET", rel(last["prev"], w), w.member)
    assert p1["id"] == first["id"] and p1["next"] == last["id"]
    status, _, _ = req(server, "GET", w.path + "?page=99", w.member)
    assert status == 404
    st, _, ipage = req(server, "GET", rel(last["id"], w) + "&iris=1",
                       w.member)
    assert st == 200, (st, ipage)
    assert all(isinstance(i, str) for i in ipage["items"])


# ---- creating ----

def test_post_creates(server, w, created):
    h, doc = created["headers"], created["doc"]
    assert created["status"] == 201
    assert doc["id"].startswith(w.container)
    assert h["location"] == doc["id"]
    assert doc["canonical"].startswith("urn:uuid:1d1f4f6e")
    assert doc["via"] == "http://elsewhere.example/a/1"
    assert doc["motivation"] == "commenting"
    assert doc["body"] == {"type": "TextualBody", "value": "A *note*",
                           "format": "text/markdown"}
    assert doc["target"]["source"] == w.chapter_iri
    sels = doc["target"]["selector"]
    assert sels[1] == {"type": "TextPositionSelector",
                       "start": created["start"], "end": created["end"]}
    assert "visibility" not in doc
    assert h["etag"] and "ldp#Resource" in h["link"]
    validate("annotation", doc)
    # the same thread through the WebSocket API
    aid = int(doc["id"].rsplit("/", 1)[1])
    a = w.member.call("annotation.get", {"annotation": aid})
    assert a["body"] == "A *note*" and a["visibility"] == "circle"
    assert a["target"]["selector"][0]["exact"] == created["word"]


def test_get_annotation_headers(server, w, created):
    path = rel(created["doc"]["id"], w)
    status, h, doc = req(server, "GET", path, w.other)
    assert status == 200
    assert h["content-type"] == LD_TYPE
    assert '<http://www.w3.org/ns/ldp#Resource>; rel="type"' in h["link"]
    for m in ("GET", "HEAD", "OPTIONS", "PUT", "DELETE"):
        assert m in h["allow"]
    assert "Accept" in h["vary"]
    assert h["etag"] == created["headers"]["etag"]
    assert doc == created["doc"]  # validated in test_post_creates
    hs, hh, _ = req(server, "HEAD", path, w.other)
    assert hs == 200 and hh["etag"] == h["etag"]
    os_, oh, _ = req(server, "OPTIONS", path)
    assert os_ == 200 and "PUT" in oh["allow"]


def test_quote_alone_is_anchored_by_the_server(server, w):
    word = unique_word(w, 2)
    s, e = quote(w, word)
    status, _, doc = req(server, "POST", w.path, w.member, anno(w, word))
    assert status == 201, doc
    assert doc["target"]["selector"][1] == {
        "type": "TextPositionSelector", "start": s, "end": e}
    validate("annotation", doc)
    # a quote that is not in the chapter, or occurs twice, is refused
    status, h, err = req(server, "POST", w.path, w.member,
                         anno(w, "no such words in this chapter at all"))
    assert status == 400 and err["constraint"] == "quote-in-chapter"
    twice = next(x for x in ("the", "and", "of") if w.text.count(
        " %s " % x) > 1)
    status, _, err = req(server, "POST", w.path, w.member,
                         anno(w, " %s " % twice))
    assert status == 400 and err["constraint"] == "quote-unambiguous"


def test_chapter_level_and_plain_text(server, w):
    a = {"@context": "http://www.w3.org/ns/anno.jsonld",
         "type": "Annotation",
         "body": {"type": "TextualBody", "value": "1. *not* a list",
                  "format": "text/plain"},
         "target": w.chapter_iri}
    status, _, doc = req(server, "POST", w.path, w.member, a)
    assert status == 201, doc
    assert doc["target"] == w.chapter_iri
    aid = int(doc["id"].rsplit("/", 1)[1])
    got = w.member.call("annotation.get", {"annotation": aid})
    assert got["target"] is None
    assert "<em>" not in got["body_html"] and "<ol>" not in got["body_html"]
    validate("annotation", doc)


def test_target_outside_the_book_is_refused(server, w):
    for target in ("http://www.example.com/index.html",
                   "%s/#/read/%d/%d" % (w.base, w.circle + 999, w.ch),
                   {"source": "http://other.example/", "selector": {
                       "type": "TextQuoteSelector", "exact": "x"}}):
        a = anno(w, "x")
        a["target"] = target
        status, h, err = req(server, "POST", w.path, w.member, a)
        assert status == 400, (target, err)
        assert h["content-type"].startswith(LD)
        assert err["constraint"] == "target-in-circle-book"
        assert err["constrainedBy"] == \
            "http://www.w3.org/TR/annotation-protocol/"
        assert "constrainedBy" in h["link"]


def test_reply_is_replying_to_the_parent_iri(server, w, created):
    parent = created["doc"]["id"]
    r = {"@context": "http://www.w3.org/ns/anno.jsonld",
         "type": "Annotation", "motivation": "replying",
         "body": {"type": "TextualBody", "value": "I agree",
                  "format": "text/markdown"},
         "target": parent}
    status, h, doc = req(server, "POST", w.path, w.other, r)
    assert status == 201, doc
    assert doc["motivation"] == "replying" and doc["target"] == parent
    assert h["location"] == doc["id"] and doc["id"].startswith(w.container)
    validate("annotation", doc)
    # a reply to that reply targets the reply
    r2 = dict(r, target=doc["id"], body={"type": "TextualBody",
                                         "value": "Me too"})
    status, _, doc2 = req(server, "POST", w.path, w.member, r2)
    assert status == 201 and doc2["target"] == doc["id"]
    aid = int(parent.rsplit("/", 1)[1])
    got = w.member.call("annotation.get", {"annotation": aid})
    bodies = [(x["body"], x["parent"]) for x in got["replies"]]
    rid = int(doc["id"].rsplit("r", 1)[1])
    assert ("I agree", None) in bodies and ("Me too", rid) in bodies
    # the container lists the discussion
    _, _, c = req(server, "GET", w.path, w.member, headers={
        "Prefer": 'return=representation;include="http://www.w3.org/ns/'
                  'oa#PreferContainedIRIs"'})
    status, _, full = req(server, "GET", rel(c["last"], w).replace(
        "iris=1&", ""), w.member)
    ids = c["first"]["items"]
    assert doc["id"] in ids and doc2["id"] in ids
    assert ids.index(parent) < ids.index(doc["id"]) < ids.index(doc2["id"])
    # a reply without the motivation, or replying to a chapter: 400
    status, _, _ = req(server, "POST", w.path, w.other,
                       dict(r, motivation="commenting"))
    assert status == 400
    status, _, _ = req(server, "POST", w.path, w.other,
                       dict(r, target=w.chapter_iri))
    assert status == 400


# ---- replacing and deleting ----

def test_put_replaces_and_if_match(server, w):
    word = unique_word(w, 3)
    s, e = quote(w, word)
    status, h, doc = req(server, "POST", w.path, w.member,
                         anno(w, word, s, e, body="first"))
    path = rel(doc["id"], w)
    old = h["etag"]
    doc["body"]["value"] = "second"
    # without If-Match it is accepted (as the W3C test page sends it)
    status, h2, doc2 = req(server, "PUT", path, w.member, doc)
    assert status == 200, doc2
    assert doc2["body"]["value"] == "second" and h2["etag"] != old
    validate("annotation", doc2)
    # with a stale one: 412, nothing changes
    doc2["body"]["value"] = "third"
    status, _, _ = req(server, "PUT", path, w.member, doc2,
                       headers={"If-Match": old})
    assert status == 412
    _, h3, cur = req(server, "GET", path, w.member)
    assert cur["body"]["value"] == "second"
    # with the current one: accepted
    status, _, doc3 = req(server, "PUT", path, w.member, doc2,
                          headers={"If-Match": h3["etag"]})
    assert status == 200 and doc3["body"]["value"] == "third"
    # the target cannot move (here: the W3C test page's foreign target)
    doc3["target"] = "http://other.example/"
    status, _, err = req(server, "PUT", path, w.member, doc3)
    assert status == 400
    # only the author edits, as annotation.update says
    doc3["target"] = doc["target"]
    status, _, err = req(server, "PUT", path, w.other, doc3)
    assert status == 403 and err["error"]["code"] == -32003
    # DELETE with a stale If-Match: 412; then 204 and gone
    status, _, _ = req(server, "DELETE", path, w.member,
                       headers={"If-Match": old})
    assert status == 412
    status, h, body = req(server, "DELETE", path, w.member)
    assert status == 204 and body is None
    status, _, _ = req(server, "GET", path, w.member)
    assert status == 404


# ---- permissions, parity with the WebSocket API ----

def test_auth_and_non_members(server, w, created):
    status, h, _ = req(server, "GET", w.path)
    assert status == 401
    status, _, _ = req(server, "GET", w.path, w.outsider)
    assert status == 404
    status, _, _ = req(server, "GET", rel(created["doc"]["id"], w),
                       w.outsider)
    assert status == 404
    status, _, _ = req(server, "POST", w.path, w.outsider,
                       anno(w, created["word"]))
    assert status == 404
    status, _, _ = req(server, "GET", "/api/circles/987654/annotations/",
                       w.member)
    assert status == 404


def test_private_annotation_is_the_authors_alone(server, w):
    word = unique_word(w, 4)
    status, _, doc = req(server, "POST", w.path, w.member,
                         anno(w, word, extra={"visibility": "private"}))
    assert status == 201 and doc["visibility"] == "private"
    validate("annotation", doc)
    path = rel(doc["id"], w)
    assert req(server, "GET", path, w.other)[0] == 404
    assert req(server, "GET", path, w.owner)[0] == 404
    _, _, c = req(server, "GET", w.path, w.other, headers={
        "Prefer": 'return=representation;include="http://www.w3.org/ns/'
                  'oa#PreferContainedIRIs"'})
    every = list(c.get("first", {}).get("items", []))
    if "next" in c.get("first", {}):
        every += req(server, "GET", rel(c["first"]["next"], w),
                     w.other)[2]["items"]
    assert doc["id"] not in every
    # the author promotes it with a PUT that says "circle"
    doc["visibility"] = "circle"
    status, _, up = req(server, "PUT", path, w.member, doc)
    assert status == 200 and "visibility" not in up, up
    assert req(server, "GET", path, w.other)[0] == 200


def test_muted_member_is_refused(server, w):
    code = w.owner.call("circle.invite", {"circle": w.circle})["code"]
    m = server.new_account("prq")
    m.call("circle.join", {"code": code})
    w.owner.call("mod.mute", {"circle": w.circle, "account": m.account["id"],
                              "reason": "test"})
    err = m.error("annotation.create", {
        "circle": w.circle, "chapter": w.ch, "target": None,
        "body": "ws"})
    status, _, doc = req(server, "POST", w.path, m, anno(w, "x", extra={
        "target": w.chapter_iri}))
    assert status == 403
    assert doc["error"]["code"] == err["code"] == -32010


def test_post_sends_the_live_event(server, w):
    c = server.client()
    c.call("auth.resume", {"token": w.other.token})
    c.call("circle.subscribe", {"circle": w.circle})
    word = unique_word(w, 5)
    status, _, doc = req(server, "POST", w.path, w.member,
                         anno(w, word, body="live one"))
    assert status == 201
    ev = c.next_event("annotation.created")
    assert ev["data"]["body"] == "live one"
    assert ev["data"]["id"] == int(doc["id"].rsplit("/", 1)[1])
    c.close()


def test_cookie_writes_need_a_trusted_origin(server, w):
    cookie = {"Cookie": "scholia_session=" + w.member.token}
    a = anno(w, "x", extra={"target": w.chapter_iri})
    status, _, err = req(server, "POST", w.path, body=a, headers=dict(
        cookie, Origin="http://evil.example"))
    # refused by the transport's gate for every cookie-authenticated write
    # (docs/security.md R2-F8), before the protocol sees the request
    assert status == 403, err
    status, _, _ = req(server, "POST", w.path, body=a, headers=dict(
        cookie, **{"Sec-Fetch-Site": "cross-site"}))
    assert status == 403
    status, _, doc = req(server, "POST", w.path, body=a, headers=dict(
        cookie, Origin="http://127.0.0.1:%d" % server.port))
    assert status == 201, doc
    # reading with the cookie needs no Origin
    assert req(server, "GET", w.path, headers=cookie)[0] == 200


def test_cors_only_for_configured_origins(server, w):
    _, h, _ = req(server, "OPTIONS", w.path, headers={
        "Origin": ALLOWED, "Access-Control-Request-Method": "POST"})
    assert h["access-control-allow-origin"] == ALLOWED
    assert "ETag" in h["access-control-expose-headers"]
    _, h, _ = req(server, "GET", w.path, w.member,
                  headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in h


def test_unsupported_media_type(server, w):
    status, _, _ = server.http("POST", w.path, body="hello", headers={
        "Authorization": "Bearer " + w.member.token,
        "Content-Type": "text/plain"})
    assert status == 415


def test_old_export_still_works(server, w, created):
    status, h, body = server.http(
        "GET", "/api/circles/%d/annotations" % w.circle,
        headers={"Authorization": "Bearer " + w.member.token})
    assert status == 200
    doc = json.loads(body)
    assert doc["type"] == "AnnotationCollection"


def test_reply_put_and_delete(server, w, created):
    parent = created["doc"]["id"]
    r = {"@context": "http://www.w3.org/ns/anno.jsonld",
         "type": "Annotation", "motivation": "replying",
         "body": {"type": "TextualBody", "value": "draft"},
         "target": parent, "via": ["http://a.example/1",
                                   "http://b.example/2"]}
    status, h, doc = req(server, "POST", w.path, w.other, r)
    assert status == 201 and doc["via"] == r["via"]
    path = rel(doc["id"], w)
    doc["body"]["value"] = "final"
    status, h2, up = req(server, "PUT", path, w.other, doc)
    assert status == 200 and up["body"]["value"] == "final"
    assert up["target"] == parent and h2["etag"] != h["etag"]
    validate("annotation", up)
    # a reply cannot be moved to another thread
    status, _, _ = req(server, "PUT", path, w.other,
                       dict(up, target=w.chapter_iri))
    assert status == 400
    # nor edited by someone else
    status, _, _ = req(server, "PUT", path, w.member, up)
    assert status == 403
    status, _, _ = req(server, "DELETE", path, w.member)
    assert status == 403
    status, _, _ = req(server, "DELETE", path, w.other)
    assert status == 204
    assert req(server, "GET", path, w.other)[0] == 404


def test_hidden_body_and_own_private_in_the_container(server, w):
    word = unique_word(w, 6)
    _, _, mine = req(server, "POST", w.path, w.member,
                     anno(w, word, body="mine alone",
                          extra={"visibility": "private"}))
    word = unique_word(w, 7)
    _, _, loud = req(server, "POST", w.path, w.other,
                     anno(w, word, body="rude words"))
    aid = int(loud["id"].rsplit("/", 1)[1])
    w.owner.call("mod.hide", {"target": {"annotation": aid},
                              "reason": "uncivil"})
    _, _, c = req(server, "GET", w.path, w.member)
    items = list(c["first"]["items"])
    if "next" in c["first"]:
        items += req(server, "GET", rel(c["first"]["next"], w),
                     w.member)[2]["items"]
    by_id = {i["id"]: i for i in items}
    assert by_id[mine["id"]]["visibility"] == "private"
    assert by_id[loud["id"]]["body"]["value"] == "(hidden by a moderator)"
    assert "rude" not in json.dumps(c)
    # the author still reads the body
    _, _, own = req(server, "GET", rel(loud["id"], w), w.other)
    assert own["body"]["value"] == "rude words"


def test_slow_mode_and_metrics_as_annotation_create(server, w):
    """Slow mode binds a POST as it binds annotation.create, the answer
    says when to retry, and /metrics counts the call under the method."""
    code = w.owner.call("circle.invite", {"circle": w.circle})["code"]
    m = server.new_account("prs")
    m.call("circle.join", {"code": code})
    w.owner.call("mod.slow", {"circle": w.circle, "seconds": 600})
    try:
        status, _, doc = req(server, "POST", w.path, m, anno(w, "x", extra={
            "target": w.chapter_iri}))
        assert status == 201, doc
        status, h, err = req(server, "POST", w.path, m, anno(w, "x", extra={
            "target": w.chapter_iri}))
        assert status == 403 and err["error"]["code"] == -32010
        assert err["error"]["data"]["slow_mode"] is True
        assert int(h["retry-after"]) > 0
        ws = m.error("annotation.create", {
            "circle": w.circle, "chapter": w.ch, "target": None,
            "body": "ws"})
        assert ws["code"] == -32010
    finally:
        w.owner.call("mod.slow", {"circle": w.circle, "seconds": 0})
    _, _, metrics = server.http("GET", "/metrics")
    line = [x for x in metrics.splitlines() if x.startswith(
        'scholia_rpc_errors_total{method="annotation.create",code="-32010"}')]
    assert line and int(float(line[0].rsplit(" ", 1)[1])) >= 2
