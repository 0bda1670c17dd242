"""`scholia migrate-to URL` (SPEC §1, docs/scaling.md): a SQLite database
built through the real server is copied into a fresh PostgreSQL database of
a throwaway cluster (tests/integration/pg.py), and a server started on the
URL answers as the old one did: the same accounts, passwords and session
tokens, the same threads with the same ids, the same search hits, new ids
after the old ones, and each circle's seq going on where it stopped. A
non-empty target and a missing source are refused.

Registered in the normal build only, next to integration_pg.* (tests/
CMakeLists.txt); skipped when PostgreSQL is not installed.
"""
import os
import re
import shutil
import sqlite3
import subprocess

import pytest

import harness
import pg
from conftest import build_world
from harness import BIN, FAST_ENV, Server

pytestmark = pytest.mark.skipif(
    not pg.available(), reason="PostgreSQL is not installed")


def quote_target(text, word):
    start = text.index(word)
    end = start + len(word)
    return {"selector": [
        {"type": "TextQuoteSelector", "exact": word,
         "prefix": text[max(0, start - 12):start],
         "suffix": text[end:end + 12]},
        {"type": "TextPositionSelector", "start": start, "end": end}]}


def run(*args):
    e = dict(os.environ)
    e.update(FAST_ENV)
    r = subprocess.run([BIN] + list(args), capture_output=True,
                       text=True, env=e, timeout=120)
    for mark in Server.SANITIZER_MARKS:  # when run with an ASan binary
        assert mark not in r.stderr, r.stderr
    return r


def dbname(url):
    return url.rsplit("/", 1)[1]


def dump_lines(path):
    """A plain pg_dump's lines but its random \\restrict key (pg_dump
    15.14 and later)."""
    with open(path) as f:
        return [ln for ln in f if not ln.startswith(("\\restrict",
                                                     "\\unrestrict"))]


FIGURE = "figures/toad-lane-store.svg"  # in content/, the sample book


def figure(server, c, token):
    """The sample book's figure as stored at import, through HTTP."""
    slug = next(b["slug"] for b in c.call("book.list", {})["items"])
    status, _, body = server.http(
        "GET", "/books/%s/%s" % (slug, FIGURE),
        headers={"Authorization": "Bearer " + token}, raw=True)
    assert status == 200 and b"<svg" in body
    return body


def hits(client, circle, q):
    r = client.call("search", {"circle": circle, "q": q})
    return sorted((i["kind"], i["id"]) for i in r["items"]
                  if i["kind"] != "text")


def snapshot(w, who):
    """What the API shows, for comparing before and after."""
    s = {}
    for name in ("owner", "bob", "carol", "mod"):
        c = who[name]
        s[name, "list"] = c.call("annotation.list", {
            "circle": w.circle, "chapter": w.ch})["items"]
        s[name, "get"] = [c.call("annotation.get", {"annotation": a})
                          for a in w.visible[name]]
        s[name, "notes"] = c.call("notification.list", {})["items"]
        for q in ("capybaraword", "wombatreply", "zebraprivate",
                  "quokkahidden"):
            s[name, "search", q] = hits(c, w.circle, q)
    s["plan"] = who["owner"].call("plan.get", {"circle": w.circle})
    s["modlog"] = who["mod"].call("mod.log", {"circle": w.circle})["items"]
    s["replay"] = who["bob"].call("circle.subscribe", {
        "circle": w.circle, "since_seq": w.seq0})
    who["bob"].call("circle.unsubscribe", {"circle": w.circle})
    return s


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    """The old SQLite server's world and state, and a server on the
    PostgreSQL copy."""
    tmp = tmp_path_factory.mktemp("sqlite")
    src = Server(tmp, db=os.path.join(str(tmp), "scholia.db"))
    src.start()
    w = build_world(src, owner="mto", circle_name="Movers",
                    members={"bob": "mtb", "carol": "mtc"},
                    moderators={"mod": "mtd"})
    w.ch = w.chapters[0]
    w.text = w.owner.call("chapter.get", {"chapter": w.ch})["text"]
    w.word = next(x for x in w.text.split() if len(x) > 5 and x.isalpha())

    def post(who, body, visibility="circle"):
        return who.call("annotation.create", {
            "circle": w.circle, "chapter": w.ch,
            "target": quote_target(w.text, w.word), "body": body,
            "visibility": visibility})

    w.seq0 = w.bob.call("circle.subscribe", {"circle": w.circle})["seq"]
    w.bob.call("circle.unsubscribe", {"circle": w.circle})
    w.open = post(w.bob, "The capybaraword weavers of Toad Lane")
    w.reply = w.owner.call("reply.create", {
        "annotation": w.open["id"], "body": "Yes, the wombatreply"})
    w.nested = w.carol.call("reply.create", {
        "annotation": w.open["id"], "body": "and a nested answer",
        "parent": w.reply["id"]})
    w.owner.call("reaction.toggle", {"target": {"annotation": w.open["id"]},
                                     "kind": "insightful"})
    w.carol.call("reaction.toggle", {"target": {"reply": w.reply["id"]},
                                     "kind": "agree"})
    w.private = post(w.carol, "zebraprivate musing", "private")
    w.hidden = post(w.bob, "quokkahidden rant")
    w.mod.call("mod.hide", {"target": {"annotation": w.hidden["id"]},
                            "reason": "uncivil"})
    w.owner.call("plan.set", {"circle": w.circle, "entries": [
        {"chapter": w.chapters[1], "due": "2026-12-02"}]})
    w.visible = {"owner": [w.open["id"], w.hidden["id"]],
                 "bob": [w.open["id"], w.hidden["id"]],
                 "carol": [w.open["id"], w.private["id"]],
                 "mod": [w.open["id"], w.hidden["id"]]}
    who = {"owner": w.owner, "bob": w.bob, "carol": w.carol, "mod": w.mod}
    w.before = snapshot(w, who)
    assert w.before["bob", "notes"], "a reply to bob's thread notifies him"
    assert w.before["bob", "search", "capybaraword"] == [
        ("annotation", w.open["id"])]
    w.figure = figure(src, w.owner, w.owner.token)
    w.seq_max = w.before["replay"]["seq"]
    assert w.seq_max > w.seq0
    for c in who.values():
        c.close()
    src.stop()
    src.assert_clean_exit()

    url = harness.pg_cluster().createdb()
    w.report = run("migrate-to", url, "--db", src.db)
    assert w.report.returncode == 0, w.report.stderr
    w.src, w.url = src, url
    dst = Server(tmp_path_factory.mktemp("pg"), db=url)
    dst.start()
    w.dst = dst
    yield w
    dst.stop()
    dst.assert_clean_exit()


def test_report_names_every_table_and_its_rows(migrated):
    out = migrated.report.stdout
    counts = dict((m.group(1), int(m.group(2))) for m in
                  re.finditer(r"^\s+(\w+)\s+(\d+)$", out, re.M))
    con = sqlite3.connect(migrated.src.db)
    try:
        for table in ("accounts", "annotations", "replies", "reactions",
                      "memberships", "notifications", "mod_log",
                      "sessions", "search_posts", "events", "figures",
                      "plan_entries", "circle_seq", "chapters"):
            n = con.execute('SELECT count(*) FROM "%s"' % table).fetchone()[0]
            assert counts.get(table) == n and n > 0, (table, out)
    finally:
        con.close()
    assert "schema_migrations" not in counts
    assert "token key" in out


def test_old_password_and_session_token_work(migrated):
    w, dst = migrated, migrated.dst
    c = dst.client()
    r = c.call("auth.login", {"handle": w.bob.handle,
                              "password": w.bob.password})
    assert r["account"]["id"] == w.bob.account["id"]
    c.close()
    # the token the SQLite server issued: hashed with the old key file's
    # key, which migrate-to moved into the database
    c = dst.client()
    r = c.call("auth.resume", {"token": w.owner.token})
    assert r["account"]["id"] == w.owner.account["id"]
    c.close()
    assert harness.pg_cluster().psql(
        dbname(w.url), "SELECT count(*) FROM auth_key").strip() == "1"


def clients(w, dst):
    who = {}
    for name in ("owner", "bob", "carol", "mod"):
        c = dst.client()
        c.call("auth.resume", {"token": getattr(w, name).token})
        who[name] = c
    return who


def test_threads_search_and_the_rest_are_the_same(migrated):
    w = migrated
    who = clients(w, w.dst)
    after = snapshot(w, who)
    for key in w.before:
        assert after[key] == w.before[key], key
    # stored figures are rows (bytea on PostgreSQL), byte for byte
    assert figure(w.dst, who["owner"], w.owner.token) == w.figure
    # the tsvector rows were rebuilt: stemming and prefixes on PostgreSQL
    assert hits(who["bob"], w.circle, "capybarawor*") == [
        ("annotation", w.open["id"])]
    for c in who.values():
        c.close()


def test_new_rows_get_new_ids_and_seq_goes_on(migrated):
    w = migrated
    who = clients(w, w.dst)
    bob = who["bob"]
    live = who["carol"]
    r = live.call("circle.subscribe", {"circle": w.circle,
                                       "since_seq": w.seq_max})
    assert r["events"] == [] and r["seq"] == w.seq_max
    a = bob.call("annotation.create", {
        "circle": w.circle, "chapter": w.ch,
        "target": quote_target(w.text, w.word), "body": "after the move",
        "visibility": "circle"})
    assert a["id"] > max(w.open["id"], w.private["id"], w.hidden["id"])
    ev = live.next_event("annotation.created")
    assert ev["seq"] == w.seq_max + 1 and ev["data"]["id"] == a["id"]
    rep = bob.call("reply.create", {"annotation": a["id"], "body": "new"})
    assert rep["id"] > w.nested["id"]
    acc = w.dst.new_account("mtnew")
    assert acc.account["id"] > max(getattr(w, n).account["id"]
                                   for n in ("owner", "bob", "carol", "mod"))
    # the replay from the old seq holds the old events (those bob may
    # see: carol's private note is not among them), then the new ones
    replay = bob.call("circle.subscribe", {"circle": w.circle,
                                           "since_seq": w.seq0})["events"]
    old = w.before["replay"]["events"]
    assert replay[:len(old)] == old
    new = replay[len(old):]
    assert new[0]["seq"] == w.seq_max + 1
    assert new[0]["type"] == "annotation.created"
    assert new[0]["data"]["id"] == a["id"]
    seqs = [e["seq"] for e in replay]
    assert seqs == sorted(set(seqs))
    for c in list(who.values()) + [acc]:
        c.close()


def test_non_empty_target_is_refused_and_untouched(migrated, tmp_path):
    cl = harness.pg_cluster()
    url = cl.createdb()
    r = run("admin", "create-account", "--handle", "already", "--db", url)
    assert r.returncode == 0, r.stderr
    before = str(tmp_path / "before.sql")
    after = str(tmp_path / "after.sql")
    cl.dump(url, before)
    r = run("migrate-to", url, "--db", migrated.src.db)
    assert r.returncode != 0
    assert "not empty" in r.stderr and "accounts" in r.stderr
    cl.dump(url, after)
    assert dump_lines(before) == dump_lines(after)
    assert cl.psql(dbname(url), "SELECT handle FROM accounts").split() == [
        "already"]


def test_missing_or_wrong_source_is_refused(migrated, tmp_path):
    cl = harness.pg_cluster()
    url = cl.createdb()
    missing = str(tmp_path / "nothing" / "here.db")
    r = run("migrate-to", url, "--db", missing)
    assert r.returncode == 4 and "no SQLite database" in r.stderr
    assert not os.path.exists(os.path.dirname(missing))
    # nothing was made on the target either
    assert cl.psql(dbname(url), "SELECT count(*) FROM pg_tables WHERE "
                   "schemaname = 'public'").strip() == "0"
    # a PostgreSQL source, a file as target
    r = run("migrate-to", url, "--db", migrated.url)
    assert r.returncode == 2 and "SQLite" in r.stderr
    r = run("migrate-to", str(tmp_path / "x.db"), "--db", migrated.src.db)
    assert r.returncode == 2 and "postgresql://" in r.stderr
    # a source behind this scholia's migrations
    old = str(tmp_path / "old.db")
    shutil.copy(migrated.src.db, old)
    con = sqlite3.connect(old)
    con.execute("DELETE FROM schema_migrations WHERE version = "
                "(SELECT max(version) FROM schema_migrations)")
    con.commit()
    con.close()
    r = run("migrate-to", url, "--db", old)
    assert r.returncode != 0 and "scholia migrate" in r.stderr
    assert cl.psql(dbname(url), "SELECT count(*) FROM pg_tables WHERE "
                   "schemaname = 'public'").strip() == "0"


def test_a_failed_copy_leaves_no_row(migrated, tmp_path):
    """A row PostgreSQL refuses (here a reply whose thread is gone, which
    SQLite kept with foreign keys off) rolls the whole copy back."""
    cl = harness.pg_cluster()
    url = cl.createdb()
    bad = str(tmp_path / "bad.db")
    shutil.copy(migrated.src.db, bad)
    con = sqlite3.connect(bad)
    con.execute("PRAGMA foreign_keys = OFF")
    con.execute("UPDATE replies SET annotation = 987654 WHERE id = ?",
                (migrated.nested["id"],))
    con.commit()
    con.close()
    r = run("migrate-to", url, "--db", bad)
    assert r.returncode != 0
    assert "replies" in r.stderr and "nothing was copied" in r.stderr
    # the schema is there (migrated), but no table holds a row
    tables = cl.psql(dbname(url), "SELECT tablename FROM pg_tables WHERE "
                     "schemaname = 'public' AND tablename <> "
                     "'schema_migrations'").split()
    assert "accounts" in tables and "replies" in tables
    total = cl.psql(dbname(url), " UNION ALL ".join(
        'SELECT count(*) FROM "%s"' % t for t in tables)).split()
    assert [int(n) for n in total] == [0] * len(tables)
    # and it is still an empty target: a sound source goes in afterwards
    r = run("migrate-to", url, "--db", migrated.src.db)
    assert r.returncode == 0, r.stderr
