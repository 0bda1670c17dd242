"""Export over real HTTP: GET /api/circles/{id}/annotations as a W3C
AnnotationCollection (checked against the W3C annotation-model schemas with
tests/w3c/validate.mjs, no network), its pages of 100, one annotation, the
Markdown meeting digest, and `scholia export`; authentication by bearer
token and by session cookie, 401 without credentials, 404 for a circle the
caller may not see, and the visibility rules: another member's private
annotation never appears, a hidden body never reaches a member.

The validator needs tests/w3c/node_modules (`npm ci` in tests/w3c).
"""
import json
import os
import subprocess

import pytest

from harness import SOURCE

W3C_DIR = os.path.join(SOURCE, "tests", "w3c")
LD_TYPE = 'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"'


def validate(kind, doc):
    """Runs the W3C schema validator; fails the test with its report."""
    r = subprocess.run(["node", os.path.join(W3C_DIR, "validate.mjs"), kind],
                       input=json.dumps(doc), capture_output=True, text=True,
                       cwd=W3C_DIR, timeout=120)
    assert r.returncode == 0, "W3C validation failed (%d):\n%s%s" % (
        r.returncode, r.stdout, r.stderr)
    return r.stdout


def bearer(client):
    return {"Authorization": "Bearer " + client.token}


def get(server, path, client=None, headers=None):
    h = dict(headers or {})
    if client is not None:
        h.update(bearer(client))
    return server.http("GET", path, headers=h)


def get_json(server, path, client):
    status, hdrs, body = get(server, path, client)
    assert status == 200, (status, body)
    assert hdrs["content-type"] == LD_TYPE
    return json.loads(body)


def quote_target(text, word, nth=0):
    """A SPEC target for the nth occurrence of word in the chapter text."""
    start = -1
    for _ in range(nth + 1):
        start = text.index(word, start + 1)
    end = start + len(word)
    return {"selector": [
        {"type": "TextQuoteSelector", "exact": word,
         "prefix": text[max(0, start - 12):start],
         "suffix": text[end:end + 12]},
        {"type": "TextPositionSelector", "start": start, "end": end}]}


def some_word(text, n):
    """The nth distinct word of 6+ letters in text (a stable quote)."""
    seen = []
    for w in text.replace("\n", " ").split(" "):
        w = w.strip(".,;:!?\"'()[]")
        if len(w) >= 6 and w.isalpha() and w not in seen:
            seen.append(w)
            if len(seen) > n:
                return w
    raise AssertionError("not enough words")


@pytest.fixture(scope="module")
def world(server, make_world):
    w = make_world(owner="exo", circle_name="Export *circle*",
                   members={"member": "exm", "other": "exn"},
                   moderators={"mod": "exd"}, outsider="exx")
    w.ch = w.chapters[1] if len(w.chapters) > 1 else w.chapters[0]
    chap = w.owner.call("chapter.get", {"chapter": w.ch})
    w.title = chap["title"]
    w.text = chap["text"]
    # a circle of the outsider's, to prove ids of one circle open nothing
    w.outsider_circle = w.outsider.call(
        "circle.create", {"name": "Elsewhere", "book": w.book})["id"]

    w.word1 = some_word(w.text, 0)
    w.word2 = some_word(w.text, 1)
    w.word3 = some_word(w.text, 2)
    # member: one quoted, busy thread and one chapter-level thread
    w.busy = w.member.call("annotation.create", {
        "circle": w.circle, "chapter": w.ch,
        "target": quote_target(w.text, w.word1),
        "body": "Busy thread about **%s**" % w.word1,
        "visibility": "circle"})
    w.chapter_level = w.member.call("annotation.create", {
        "circle": w.circle, "chapter": w.ch, "target": None,
        "body": "A chapter-level remark", "visibility": "circle"})
    # other: a private note and a post the moderator hides
    w.private = w.other.call("annotation.create", {
        "circle": w.circle, "chapter": w.ch,
        "target": quote_target(w.text, w.word2),
        "body": "PRIVATE-NOTE-xyzzy", "visibility": "private"})
    w.hidden = w.other.call("annotation.create", {
        "circle": w.circle, "chapter": w.ch,
        "target": quote_target(w.text, w.word3),
        "body": "HIDDEN-BODY-plugh", "visibility": "circle"})
    w.mod.call("mod.hide", {"target": {"annotation": w.hidden["id"]},
                            "reason": "off topic"})
    # activity on the busy thread
    w.reply = w.other.call("reply.create", {"annotation": w.busy["id"],
                                            "body": "A reply with *care*"})
    w.other.call("reaction.toggle", {"target": {"annotation": w.busy["id"]},
                                     "kind": "agree"})
    w.mod.call("reaction.toggle", {"target": {"annotation": w.busy["id"]},
                                   "kind": "insightful"})
    w.owner.call("plan.set", {"circle": w.circle, "entries": [
        {"chapter": w.ch, "due": "2026-12-01",
         "prompt": "What did the PROMPT-pioneers want?"}]})
    return w


def base(server):
    return "http://127.0.0.1:%d" % server.port


# ---- authentication and existence ----

def test_no_credentials_is_401(server, world):
    for path in ("/api/circles/%d/annotations" % world.circle,
                 "/api/circles/%d/annotations?page=1" % world.circle,
                 "/api/circles/%d/digest.md?chapter=%d" % (world.circle,
                                                           world.ch)):
        status, _, _ = get(server, path)
        assert status == 401, path
    status, _, _ = get(server, "/api/circles/%d/annotations" % world.circle,
                       headers={"Authorization": "Bearer not-a-token"})
    assert status == 401


def test_circle_not_visible_is_404(server, world):
    paths = ["/api/circles/%d/annotations" % world.circle,
             "/api/circles/%d/annotations/%d" % (world.circle,
                                                 world.busy["id"]),
             "/api/circles/%d/digest.md?chapter=%d" % (world.circle,
                                                       world.ch)]
    answers = []
    for path in paths:
        status, _, body = get(server, path, world.outsider)
        assert status == 404, (path, status)
        assert "Busy thread" not in body
        answers.append(body)
    # a circle that does not exist answers exactly the same
    status, _, body = get(server, "/api/circles/987654/annotations",
                          world.outsider)
    assert status == 404
    assert body == answers[0]
    # and the outsider's own circle does not show this circle's posts
    doc = get_json(server, "/api/circles/%d/annotations" %
                   world.outsider_circle, world.outsider)
    assert doc["total"] == 0
    # an annotation id of this circle under the outsider's circle
    status, _, _ = get(server, "/api/circles/%d/annotations/%d" %
                       (world.outsider_circle, world.busy["id"]),
                       world.outsider)
    assert status == 404


def test_cookie_auth(server, world):
    status, hdrs, _ = server.http("POST", "/api/session", body={
        "handle": world.member.handle, "password": world.member.password})
    assert status == 200
    cookie = hdrs["set-cookie"].split(";")[0]
    status, hdrs, body = server.http(
        "GET", "/api/circles/%d/annotations" % world.circle,
        headers={"Cookie": cookie})
    assert status == 200
    assert hdrs["content-type"] == LD_TYPE
    assert json.loads(body)["type"] == "AnnotationCollection"


def test_unknown_paths_are_404(server, world):
    for path in ("/api/circles/%d/nothing" % world.circle,
                 "/api/circles/abc/annotations",
                 "/api/circles/%d/annotations/x" % world.circle,
                 "/api/circles/0/annotations",
                 "/api/circles/99999999999999999999/annotations",
                 "/api/circles/%d/annotations/1/x" % world.circle):
        status, _, _ = get(server, path, world.member)
        assert status == 404, path
    # with the slash it is the Web Annotation Protocol container (issue 19)
    status, _, _ = get(server, "/api/circles/%d/annotations/" % world.circle,
                       world.member)
    assert status == 200
    status, _, _ = get(server, "/api/circles/%d/annotations?page="
                       "99999999999999999999" % world.circle, world.member)
    assert status == 400


# ---- the collection ----

def test_collection_passes_w3c_schemas(server, world):
    doc = get_json(server, "/api/circles/%d/annotations" % world.circle,
                   world.member)
    validate("collection", doc)
    coll = base(server) + "/api/circles/%d/annotations" % world.circle
    assert doc["@context"] == "http://www.w3.org/ns/anno.jsonld"
    assert doc["id"] == coll
    assert doc["type"] == "AnnotationCollection"
    assert doc["label"] == "Export *circle*"
    first = doc["first"]
    assert first["type"] == "AnnotationPage"
    assert first["id"] == coll + "?page=1"
    items = {it["id"]: it for it in first["items"]}
    assert doc["total"] == len(items) == 3
    busy = items[coll + "/%d" % world.busy["id"]]
    assert busy["type"] == "Annotation"
    assert busy["body"] == {"type": "TextualBody",
                            "value": "Busy thread about **%s**" % world.word1,
                            "format": "text/markdown"}
    tgt = busy["target"]
    assert tgt["source"] == base(server) + "/#/read/%d/%d" % (world.circle,
                                                              world.ch)
    assert [s["type"] for s in tgt["selector"]] == ["TextQuoteSelector",
                                                   "TextPositionSelector"]
    assert tgt["selector"][0]["exact"] == world.word1
    start = tgt["selector"][1]["start"]
    assert world.text[start:tgt["selector"][1]["end"]] == world.word1
    assert busy["creator"]["nickname"] == world.member.handle
    assert busy["created"].endswith("Z") and busy["modified"].endswith("Z")
    # the chapter-level thread targets the chapter itself
    cl = items[coll + "/%d" % world.chapter_level["id"]]
    assert cl["target"] == tgt["source"]


def test_member_never_sees_private_or_hidden_body(server, world):
    status, _, body = get(server, "/api/circles/%d/annotations" %
                          world.circle, world.member)
    assert status == 200
    assert "PRIVATE-NOTE-xyzzy" not in body
    assert "HIDDEN-BODY-plugh" not in body
    doc = json.loads(body)
    ids = [it["id"].rsplit("/", 1)[1] for it in doc["first"]["items"]]
    assert str(world.private["id"]) not in ids
    # the hidden one is there as a placeholder
    assert str(world.hidden["id"]) in ids
    # the moderator sees the hidden body, never the private note
    status, _, body = get(server, "/api/circles/%d/annotations" %
                          world.circle, world.mod)
    assert "HIDDEN-BODY-plugh" in body
    assert "PRIVATE-NOTE-xyzzy" not in body
    # the owner does not see it either
    status, _, body = get(server, "/api/circles/%d/annotations" %
                          world.circle, world.owner)
    assert "PRIVATE-NOTE-xyzzy" not in body
    # its author does: same rule as the WebSocket API
    doc = get_json(server, "/api/circles/%d/annotations" % world.circle,
                   world.other)
    validate("collection", doc)
    assert "PRIVATE-NOTE-xyzzy" in json.dumps(doc)
    # one annotation by id: the private one is 404 for everyone else
    path = "/api/circles/%d/annotations/%d" % (world.circle,
                                               world.private["id"])
    assert get(server, path, world.member)[0] == 404
    assert get(server, path, world.mod)[0] == 404
    one = get_json(server, path, world.other)
    validate("annotation", one)


def test_one_annotation(server, world):
    one = get_json(server, "/api/circles/%d/annotations/%d" %
                   (world.circle, world.busy["id"]), world.member)
    validate("annotation", one)
    assert one["@context"] == "http://www.w3.org/ns/anno.jsonld"
    assert one["id"].endswith("/annotations/%d" % world.busy["id"])
    status, _, _ = get(server, "/api/circles/%d/annotations/999999" %
                       world.circle, world.member)
    assert status == 404


def test_pages_of_100(server, world):
    # a fresh circle with 105 annotations from several members (the post
    # rate limit is 20 a minute per member)
    owner = world.owner
    c = owner.call("circle.create", {"name": "Big", "book": world.book})["id"]
    code = owner.call("circle.invite", {"circle": c})["code"]
    writers = []
    for i in range(6):
        m = server.new_account("exp")
        m.call("circle.join", {"code": code})
        writers.append(m)
    n = 0
    for m in writers:
        for j in range(18):
            if n == 105:
                break
            m.call("annotation.create", {
                "circle": c, "chapter": world.ch, "target": None,
                "body": "note %d" % n, "visibility": "circle"})
            n += 1
    doc = get_json(server, "/api/circles/%d/annotations" % c, owner)
    validate("collection", doc)
    coll = base(server) + "/api/circles/%d/annotations" % c
    assert doc["total"] == 105
    assert len(doc["first"]["items"]) == 100
    assert doc["first"]["next"] == coll + "?page=2"
    assert doc["last"] == coll + "?page=2"

    page2 = get_json(server, "/api/circles/%d/annotations?page=2" % c, owner)
    validate("page", page2)
    assert page2["type"] == "AnnotationPage"
    assert page2["id"] == coll + "?page=2"
    assert page2["startIndex"] == 100
    assert page2["prev"] == coll + "?page=1"
    assert "next" not in page2
    assert page2["partOf"]["id"] == coll
    assert len(page2["items"]) == 5
    seen = {it["id"] for it in doc["first"]["items"]} | \
        {it["id"] for it in page2["items"]}
    assert len(seen) == 105

    page1 = get_json(server, "/api/circles/%d/annotations?page=1" % c, owner)
    validate("page", page1)
    assert page1["items"] == doc["first"]["items"]

    assert get(server, "/api/circles/%d/annotations?page=3" % c,
               owner)[0] == 404
    for bad in ("0", "-1", "abc", "2x", ""):
        status, _, _ = get(server, "/api/circles/%d/annotations?page=%s" %
                           (c, bad), owner)
        assert status == 400, bad


def test_public_url_is_not_taken_from_a_hostile_host(server, world):
    status, _, body = get(server, "/api/circles/%d/annotations" %
                          world.circle, world.member,
                          headers={"Host": "evil\"host"})
    assert status in (200, 400)
    if status == 200:
        assert "evil" not in body


def test_spoiler_guard_applies_to_export(server, world):
    owner = server.new_account("exg")
    c = owner.call("circle.create", {"name": "Guarded",
                                     "book": world.book})["id"]
    owner.call("circle.update", {"circle": c, "spoiler_guard": True})
    code = owner.call("circle.invite", {"circle": c})["code"]
    ahead = server.new_account("exh")
    ahead.call("circle.join", {"code": code})
    behind = server.new_account("exl")
    behind.call("circle.join", {"code": code})
    last = world.chapters[-1]
    ahead.call("progress.set", {"circle": c, "chapter": last})
    ahead.call("annotation.create", {
        "circle": c, "chapter": last, "target": None,
        "body": "SPOILER-ending-grue", "visibility": "circle"})
    path = "/api/circles/%d/annotations" % c
    status, _, body = get(server, path, behind)
    assert status == 200
    assert "SPOILER-ending-grue" not in body
    assert json.loads(body)["total"] == 0
    status, _, md = get(server, "/api/circles/%d/digest.md?chapter=%d" %
                        (c, last), behind)
    assert status == 200 and "SPOILER-ending-grue" not in md
    doc = get_json(server, path, ahead)
    assert doc["total"] == 1
    validate("collection", doc)


# ---- the digest ----

def test_digest(server, world):
    path = "/api/circles/%d/digest.md?chapter=%d" % (world.circle, world.ch)
    status, hdrs, md = get(server, path, world.member)
    assert status == 200, md
    assert hdrs["content-type"].startswith("text/markdown")
    assert world.title.split()[0] in md
    assert "What did the PROMPT\\-pioneers want?" in md or \
        "What did the PROMPT-pioneers want?" in md
    assert "2026-12-01" in md
    # the busy thread (1 reply, 2 reactions) comes first
    busy = md.index("Busy thread about")
    remark = md.index("A chapter-level remark")
    assert busy < remark
    assert "### 1. “%s”" % world.word1 in md
    assert "A reply with *care*" in md
    assert "agree 1" in md and "insightful 1" in md
    assert "@" + world.other.handle in md
    # never the private note, never the hidden body
    assert "PRIVATE-NOTE-xyzzy" not in md
    assert "HIDDEN-BODY-plugh" not in md
    assert "(hidden by a moderator)" in md
    # not for the moderator, nor for the private note's author either
    for c in (world.mod, world.other):
        status, _, md2 = get(server, path, c)
        assert status == 200
        assert "HIDDEN-BODY-plugh" not in md2
        assert "PRIVATE-NOTE-xyzzy" not in md2


def test_digest_needs_a_chapter_of_the_book(server, world):
    base_path = "/api/circles/%d/digest.md" % world.circle
    assert get(server, base_path, world.member)[0] == 400
    assert get(server, base_path + "?chapter=abc", world.member)[0] == 400
    assert get(server, base_path + "?chapter=987654", world.member)[0] == 404
    # another chapter of the book: a digest with no threads
    other = [c for c in world.chapters if c != world.ch][0]
    status, _, md = get(server, base_path + "?chapter=%d" % other,
                        world.member)
    assert status == 200
    assert "No threads yet." in md


# ---- the command line ----

def test_cli_export_w3c(server, world):
    r = server.cmd("export", "--circle", str(world.circle), "--format", "w3c")
    doc = json.loads(r.stdout)
    validate("collection", doc)
    assert doc["total"] == 3
    assert len(doc["first"]["items"]) == 3
    assert "PRIVATE-NOTE-xyzzy" not in r.stdout
    assert "HIDDEN-BODY-plugh" not in r.stdout
    assert "Busy thread about" in r.stdout
    for it in doc["first"]["items"]:
        assert it["id"].startswith("http")


def test_cli_export_markdown(server, world):
    r = server.cmd("export", "--circle", str(world.circle), "--format",
                   "markdown")
    md = r.stdout
    assert "Busy thread about" in md
    assert "A reply with *care*" in md
    assert "PRIVATE-NOTE-xyzzy" not in md
    assert "HIDDEN-BODY-plugh" not in md
    assert "PROMPT" in md


def test_cli_export_errors(server, world):
    r = server.cmd("export", "--circle", "987654", "--format", "w3c",
                   check=False)
    assert r.returncode != 0
    assert "987654" in r.stderr
    r = server.cmd("export", "--circle", str(world.circle), "--format",
                   "pdf", check=False)
    assert r.returncode != 0


def test_validator_rejects_a_broken_document(world):
    """The validator itself must be able to fail."""
    bad = {"@context": "http://www.w3.org/ns/anno.jsonld",
           "id": "not a uri", "type": "Annotation",
           "target": "http://example.org/x"}
    r = subprocess.run(["node", os.path.join(W3C_DIR, "validate.mjs"),
                        "annotation"], input=json.dumps(bad),
                       capture_output=True, text=True, cwd=W3C_DIR,
                       timeout=120)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "3.1-annotationIdValidated" in r.stdout


def test_public_url(server, world, tmp_path_factory):
    """--public-url sets the base of every IRI, for HTTP and the CLI."""
    from harness import Server

    pub = "https://books.example.org/club/"
    srv = Server(tmp_path_factory.mktemp("pub"),
                 extra_args=["--public-url", pub])
    srv.start()
    try:
        o = srv.new_account("pub")
        bk = o.call("book.list", {})["items"][0]["id"]
        c = o.call("circle.create", {"name": "Pub", "book": bk})["id"]
        o.call("annotation.create", {"circle": c, "chapter": world.ch,
                                     "target": None, "body": "hello",
                                     "visibility": "circle"})
        status, _, body = srv.http(
            "GET", "/api/circles/%d/annotations" % c,
            headers={"Authorization": "Bearer " + o.token})
        assert status == 200
        doc = json.loads(body)
        validate("collection", doc)
        assert doc["id"] == \
            "https://books.example.org/club/api/circles/%d/annotations" % c
        assert doc["first"]["items"][0]["target"].startswith(
            "https://books.example.org/club/#/read/")
        r = srv.cmd("export", "--circle", str(c), "--format", "w3c",
                    env={"SCHOLIA_PUBLIC_URL": pub})
        assert json.loads(r.stdout)["id"] == doc["id"]
    finally:
        srv.stop()


def test_validator_honours_expected_result_and_assertion_type(
        tmp_path_factory):
    """An assertion with expectedResult "invalid" holds when the document
    does NOT match its schema; a failed "should" is a warning only."""
    import shutil

    model = os.path.join(W3C_DIR, "annotation-model")
    if os.environ.get("SCHOLIA_W3C_DIR"):
        model = os.environ["SCHOLIA_W3C_DIR"]
    copy = str(tmp_path_factory.mktemp("model") / "w3c-annotation-model")
    shutil.copytree(model, copy)
    extra = {
        "annotations/x-mustNotHaveSecret.json": {
            "$schema": "http://json-schema.org/draft-04/schema#",
            "id": "x-mustNotHaveSecret.json", "assertionType": "must",
            "expectedResult": "invalid", "errorMessage": "has secret",
            "required": ["secret"]},
        "annotations/x-shouldHaveLabel.json": {
            "$schema": "http://json-schema.org/draft-04/schema#",
            "id": "x-shouldHaveLabel.json", "assertionType": "should",
            "expectedResult": "valid", "errorMessage": "no label",
            "required": ["label"]},
    }
    for rel, schema in extra.items():
        with open(os.path.join(copy, rel), "w") as f:
            json.dump(schema, f)
    manifest = os.path.join(copy, "annotations", "annotationMusts.test")
    with open(manifest) as f:
        m = json.load(f)
    m["assertions"] += list(extra)
    with open(manifest, "w") as f:
        json.dump(m, f)
    good = {"@context": "http://www.w3.org/ns/anno.jsonld",
            "id": "http://example.org/anno1", "type": "Annotation",
            "target": "http://example.org/x"}
    env = dict(os.environ, SCHOLIA_W3C_DIR=copy)

    def run(doc):
        return subprocess.run(
            ["node", os.path.join(W3C_DIR, "validate.mjs"), "annotation"],
            input=json.dumps(doc), capture_output=True, text=True,
            cwd=W3C_DIR, env=env, timeout=120)

    r = run(good)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "warn" in r.stdout and "x-shouldHaveLabel" in r.stdout
    r = run(dict(good, secret=1))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "FAIL" in r.stdout and "x-mustNotHaveSecret" in r.stdout


def test_export_md(server, world):
    """GET /api/circles/{id}/export.md (SPEC §2): the whole circle as
    Markdown, as the caller may see it."""
    path = "/api/circles/%d/export.md" % world.circle
    assert get(server, path)[0] == 401
    assert get(server, path, world.outsider)[0] == 404
    status, hdrs, md = get(server, path, world.member)
    assert status == 200, md
    assert hdrs["content-type"].startswith("text/markdown")
    assert md.startswith("# Export \\*circle\\*: annotations")
    assert "Busy thread about" in md and "A reply with *care*" in md
    assert "PROMPT" in md
    assert "PRIVATE-NOTE-xyzzy" not in md
    assert "HIDDEN-BODY-plugh" not in md
    _, _, mine = get(server, path, world.other)
    assert "Busy thread about" in mine
