"""The PostgreSQL store itself (issue 22, docs/scaling.md): migrations,
several nodes on one database sharing the token key and every write,
pg_dump backups, and a node that loses the database recovering on its own.

Runs in the integration_pg pass only (SCHOLIA_TEST_DB=pg, tests/
CMakeLists.txt); its nodes and their database come from
conftest.node_fixtures() (a throwaway cluster: harness.pg_cluster()).
"""
import json
import os
import re
import shutil
import time

import harness
from conftest import build_world, node_fixtures, pg_only
from harness import Server, SOURCE
from wsclient import RpcError

pytestmark = pg_only

# node A (`server`) and node B on one database; bob is a member on node A
nodes, server, node_b, world = node_fixtures(members=("bob",))


def dbname(url):
    return url.rsplit("/", 1)[1]


def test_healthz_reports_database_and_listener(server):
    status, _, body = server.http("GET", "/healthz")
    assert status == 200
    doc = json.loads(body)
    assert doc["db"] == "ok" and doc["listener"] == "ok"


def test_migrations_mirror_and_apply(server):
    """Every SQLite migration has its PostgreSQL twin, all applied."""
    sq = sorted(f for f in os.listdir(os.path.join(SOURCE, "migrations"))
                if re.match(r"^\d{4}_.*\.sql$", f))
    pg = sorted(f for f in os.listdir(os.path.join(SOURCE, "migrations",
                                                   "pg"))
                if re.match(r"^\d{4}_.*\.sql$", f))
    assert sq == pg
    out = server.cmd("migrate", "--status").stdout
    for name in pg:
        assert re.search(r"applied\s+%s" % re.escape(name), out), out
    assert "pending" not in out
    rows = harness.pg_cluster().psql(
        dbname(server.db), "SELECT version FROM schema_migrations "
        "ORDER BY version").split()
    assert [int(v) for v in rows] == [int(n[:4]) for n in pg]
    # a second migrate changes nothing
    server.cmd("migrate")
    assert harness.pg_cluster().psql(
        dbname(server.db), "SELECT count(*) FROM schema_migrations"
    ).strip() == str(len(pg))


def test_no_files_beside_a_url(server, world):
    """No <db>.key or <db>.lock made from a URL: the key is in the
    database (auth_key), shared by every node."""
    for folder in (".", server.tmpdir):
        assert not [f for f in os.listdir(folder)
                    if f.startswith("postgres")]
    assert harness.pg_cluster().psql(
        dbname(server.db), "SELECT count(*) FROM auth_key").strip() == "1"


def test_reimport_runs_once_and_every_node_serves_it(server, node_b, world,
                                                    tmp_path):
    """`scholia import` of a corrected edition, run once against the
    shared database (a third process): both nodes serve the new text, the
    re-anchored annotation's anchor.changed reaches the subscribers of
    both nodes live (through the listeners), and there is still one book."""
    book_dir = os.path.join(SOURCE, "content", "the-rochdale-pioneers")
    files = {}
    for name in sorted(os.listdir(book_dir)):
        if name.endswith(".md"):
            with open(os.path.join(book_dir, name), encoding="utf-8") as f:
                files[name] = f.read()
    bob_b = node_b.client()
    bob_b.call("auth.resume", {"token": world.bob.token})
    ch = text = home = None
    start = 0
    for c in world.chapters:
        t = world.bob.call("chapter.get", {"chapter": c})["text"]
        # a quote near the end whose line occurs once in one source file
        for pos in range(len(t) - 200, 200, -97):
            line = t[pos:pos + 60]
            if "\n" in line or t.count(line) != 1:
                continue
            homes = [n for n, src in files.items() if src.count(line) == 1]
            if len(homes) == 1:
                ch, text, home, start = c, t, homes[0], pos
                break
        if ch:
            break
    assert ch, "no chapter with a quote to move"
    quote = text[start:start + 40]
    a = world.bob.call("annotation.create", {
        "circle": world.circle, "chapter": ch, "body": "on the quote",
        "visibility": "circle", "target": {"selector": [
            {"type": "TextQuoteSelector", "exact": quote,
             "prefix": text[start - 32:start],
             "suffix": text[start + 40:start + 72]},
            {"type": "TextPositionSelector", "start": start,
             "end": start + 40}]}})
    books = len(world.bob.call("book.list", {})["items"])
    world.bob.call("circle.subscribe", {"circle": world.circle})
    bob_b.call("circle.subscribe", {"circle": world.circle})
    # the new edition: a sentence added before the quote moves it
    added = "A sentence the second edition added, on both nodes at once. "
    copy = str(tmp_path / "the-rochdale-pioneers")
    shutil.copytree(book_dir, copy)
    src = files[home]
    line = text[start:start + 60]
    with open(os.path.join(copy, home), "w", encoding="utf-8") as f:
        f.write(src.replace(line, added + line, 1))
    slug = world.bob.call("book.toc", {"book": world.book})["book"]["slug"]
    server.cmd("import", copy, "--book", slug)
    for client in (world.bob, bob_b):
        ev = client.next_event("anchor.changed", timeout=20)
        while ev["data"]["id"] != a["id"]:
            ev = client.next_event("anchor.changed", timeout=20)
        moved = ev["data"]["target"]["selector"]
        assert moved[0]["exact"] == quote
        got = client.call("chapter.get", {"chapter": ch})["text"]
        assert added.strip() in got
        assert got[moved[1]["start"]:moved[1]["end"]] == quote
    assert len(bob_b.call("book.list", {})["items"]) == books
    bob_b.close()


def test_events_cross_nodes_live_once_each_in_seq_order(server, node_b,
                                                      world):
    """A subscriber on node B gets what is posted on node A, and the other
    way round, live, exactly once each, with the circle's seq."""
    carol = world.join("carol", node=node_b)  # signed in on node B
    for c in (world.bob, carol):
        c.call("circle.subscribe", {"circle": world.circle})
        c.drain_events(0.1)
    ch = world.chapters[0]
    seqs = []
    for writer in (world.bob, carol, world.bob, carol):
        a = writer.call("annotation.create", {
            "circle": world.circle, "chapter": ch,
            "body": "Hello from %s" % writer.handle,
            "visibility": "circle", "target": None})
        for reader in (world.bob, carol):
            ev = reader.next_event("annotation.created", timeout=10)
            assert ev["data"]["id"] == a["id"], (reader.handle, ev)
            seqs.append((reader.handle, ev["seq"]))
    # nothing twice, nothing else
    for reader in (world.bob, carol):
        extra = [e for e in reader.drain_events(0.5)
                 if e.get("type") == "annotation.created"]
        assert extra == [], extra
    # both saw the same seqs, rising
    mine = [s for h, s in seqs if h == world.bob.handle]
    theirs = [s for h, s in seqs if h == carol.handle]
    assert mine == theirs and mine == sorted(mine) and len(set(mine)) == 4
    # a private annotation written on A never reaches carol on B
    world.bob.call("annotation.create", {
        "circle": world.circle, "chapter": ch, "body": "Just for me",
        "visibility": "private", "target": None})
    assert not [e for e in carol.drain_events(0.8)
                if e.get("type") == "annotation.created"]
    carol.close()


def test_removal_and_revocation_reach_the_other_node(server, node_b,
                                                    world):
    """A member removed on node A stops receiving on node B at once (the
    removal and the next event reach B in commit order: no wait between
    them), while a member beside them on B still receives; and a session
    revoked on node A is closed with 4001 on node B (not only at B's next
    periodic session check, 30 s later)."""
    erin = world.join("erin", node=node_b)
    gina = world.join("gina", node=node_b)     # stays, on the same node
    for c in (erin, gina):
        c.call("circle.subscribe", {"circle": world.circle})
        c.drain_events(0.1)
    world.owner.call("mod.remove", {"circle": world.circle,
                                    "account": erin.account["id"],
                                    "reason": "test"})
    a = world.bob.call("annotation.create", {
        "circle": world.circle, "chapter": world.chapters[0],
        "body": "Not for erin any more", "visibility": "circle",
        "target": None})
    ev = gina.next_event("annotation.created", timeout=10)
    assert ev["data"]["id"] == a["id"], ev
    assert not [e for e in erin.drain_events(1.0)
                if e.get("type") == "annotation.created"]
    erin.close()
    gina.close()

    frank_b = node_b.new_account("frank")          # a session on node B
    frank_a = server.client()                      # and one on node A
    frank_a.call("auth.login", {"handle": frank_b.handle,
                                "password": frank_b.password})
    other = [s for s in frank_a.call("auth.sessions")["items"]
             if not s["current"]]
    assert len(other) == 1
    frank_a.call("auth.revoke", {"session": other[0]["id"]})
    assert frank_b.wait_closed(timeout=5) == 4001
    frank_a.close()


def test_two_nodes_share_sessions_and_writes(server, node_b, world):
    # a token issued by node A works on node B (one key, one table)
    c = node_b.client()
    r = c.call("auth.resume", {"token": world.owner.token})
    assert r["account"]["id"] == world.owner.account["id"]
    ch = world.chapters[0]
    a = world.bob.call("annotation.create", {
        "circle": world.circle, "chapter": ch, "body": "Written on A",
        "visibility": "circle", "target": None})
    got = c.call("annotation.get", {"annotation": a["id"]})
    assert got["body"] == "Written on A"
    # and the other way round
    b = c.call("annotation.create", {
        "circle": world.circle, "chapter": ch, "body": "Written on B",
        "visibility": "circle", "target": None})
    assert world.bob.call("annotation.get",
                          {"annotation": b["id"]})["body"] == "Written on B"
    # a session revoked on A is refused on B
    world.owner.call("auth.logout", {})
    c2 = node_b.client()
    assert c2.error("auth.resume",
                    {"token": world.owner.token})["code"] == -32001
    c.close()
    c2.close()


def test_search_on_postgresql(server, world):
    ch = world.chapters[1]
    world.bob.call("annotation.create", {
        "circle": world.circle, "chapter": ch,
        "body": "The weavers of Toad Lane opened their store",
        "visibility": "circle", "target": None})

    def hits(q):
        r = world.bob.call("search", {"circle": world.circle, "q": q})
        return [i for i in r["items"] if i["kind"] != "text"]

    assert hits("weaver")          # stemmed: weavers
    assert hits("toa*")            # prefix
    assert hits("Toad lane")       # any order, any case
    assert hits("the")             # no stop words dropped, as in FTS5
    assert not hits("weavers zebra")  # every term must match
    assert not hits("toadstool")


def test_backup_is_a_pg_dump(server, tmp_path):
    out = str(tmp_path / "scholia.dump")
    server.cmd("backup", out)
    with open(out, "rb") as f:
        assert f.read(5) == b"PGDMP"  # pg_dump's custom format
    r = server.cmd("restore", out, check=False)
    assert r.returncode == 2 and "pg_restore" in r.stderr


def test_node_recovers_after_the_database_restarts(server, world):
    cl = harness.pg_cluster()
    cl.restart()
    # the first statement after the loss may fail; the node reconnects
    deadline = time.time() + 20
    while time.time() < deadline:
        status, _, body = server.http("GET", "/healthz")
        if status == 200 and json.loads(body).get("listener") == "ok":
            break
        time.sleep(0.2)
    assert status == 200
    assert json.loads(body)["listener"] == "ok"   # listening again
    c = server.client()
    for _ in range(3):  # reader and writer connections both come back
        try:
            c.call("auth.login", {"handle": world.bob.handle,
                                  "password": world.bob.password})
            break
        except RpcError:
            time.sleep(0.2)
    r = c.call("annotation.create", {
        "circle": world.circle, "chapter": world.chapters[0],
        "body": "After the restart", "visibility": "circle",
        "target": None})
    assert c.call("annotation.get", {"annotation": r["id"]})["body"] == \
        "After the restart"
    c.close()


def test_migrate_to_copies_a_sqlite_database(tmp_path):
    """scholia migrate-to: a SQLite node's data, moved to PostgreSQL,
    serves the same accounts, threads and search, and new rows get new
    ids."""
    for d in ("sqlite", "moved"):
        (tmp_path / d).mkdir()
    sq = Server(tmp_path / "sqlite", db=str(tmp_path / "sqlite" /
                                             "scholia.db"))
    sq.start()
    w = build_world(sq, members=("dora",))
    ch = w.chapters[0]
    a = w.dora.call("annotation.create", {
        "circle": w.circle, "chapter": ch,
        "body": "Flannel weavers in the store", "visibility": "circle",
        "target": None})
    rep = w.owner.call("reply.create", {"annotation": a["id"],
                                        "body": "Indeed"})
    handle, password = w.dora.handle, w.dora.password
    sq.stop()
    sq.assert_clean_exit()

    url = harness.pg_cluster().createdb()
    r = sq.cmd("migrate-to", url)
    assert "copied" in r.stdout and "annotations" in r.stdout, r.stdout
    # a second copy into the same database is refused
    again = sq.cmd("migrate-to", url, check=False)
    assert again.returncode != 0 and "not empty" in again.stderr

    pg = Server(tmp_path / "moved", db=url)
    pg.start()
    try:
        c = pg.client()
        c.call("auth.login", {"handle": handle, "password": password})
        got = c.call("annotation.get", {"annotation": a["id"]})
        assert got["body"] == "Flannel weavers in the store"
        res = c.call("search", {"circle": w.circle, "q": "flannel"})
        assert [i["id"] for i in res["items"]
                if i["kind"] == "annotation"] == [a["id"]]
        b = c.call("annotation.create", {
            "circle": w.circle, "chapter": ch, "body": "After the move",
            "visibility": "circle", "target": None})
        assert b["id"] > a["id"]
        r2 = c.call("reply.create", {"annotation": a["id"],
                                     "body": "Moved"})
        assert r2["id"] > rep["id"]
        c.close()
    finally:
        pg.stop()
    pg.assert_clean_exit()
