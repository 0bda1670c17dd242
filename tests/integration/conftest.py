"""Shared fixtures for integration tests.

Each test file gets one real `scholia serve` process (module scope) on a free
loopback port with a temporary database, the repository's web/ and content/,
and cheap Argon2id limits so that tests stay fast. Talk to it with
`server.client()` (a WebSocket JSON-RPC client, see wsclient.py) or
`server.http(...)`.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import harness  # noqa: E402
from harness import Server  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("scholia"))
    srv.start()
    yield srv
    srv.stop()
    srv.assert_clean_exit()


class World:
    """The accounts, book and circle a test file works in (build_world)."""


def build_world(server, owner="owner", circle_name="Readers", members=(),
               moderators=(), outsider=None, texts=False):
    """The world every test file starts from, built through the API: an
    owner account (handle prefix `owner`) with a circle on the sample book,
    `members` and `moderators` joined by invitation (each a handle prefix
    that is also the attribute name, or a dict {attribute: prefix}), and an
    `outsider` account (handle prefix) in no circle. Returns a World with
    .owner, .book, .toc, .chapters (ids in reading order), .circle, one
    attribute per member and moderator, .outsider (None without one), and
    .join(prefix, role="member") to add more. texts=True also loads
    .texts {chapter id: plain text}. Files add what only they need."""
    w = World()
    w.owner = server.new_account(owner)
    books = w.owner.call("book.list", {})["items"]
    assert books, "the sample book is imported at start"
    w.book = books[0]["id"]
    w.toc = w.owner.call("book.toc", {"book": w.book})
    w.chapters = [c["id"] for p in w.toc["parts"] for c in p["chapters"]]
    w.circle = w.owner.call("circle.create", {"name": circle_name,
                                              "book": w.book})["id"]

    def join(prefix, role="member", circle=None, inviter=None, node=None):
        """A new account joined by invitation, signed in on `node` (another
        Server on the same database; this file's server without one)."""
        code = (inviter or w.owner).call(
            "circle.invite", {"circle": circle or w.circle,
                              "role": role})["code"]
        c = (node or server).new_account(prefix)
        c.call("circle.join", {"code": code})
        return c

    w.join = join
    for group, role in ((members, "member"), (moderators, "moderator")):
        pairs = group.items() if isinstance(group, dict) else \
            ((p, p) for p in group)
        for attr, prefix in pairs:
            setattr(w, attr, join(prefix, role))
    w.outsider = server.new_account(outsider) if outsider else None
    if texts:
        w.texts = {ch: w.owner.call("chapter.get", {"chapter": ch})["text"]
                   for ch in w.chapters}
    return w


@pytest.fixture(scope="module")
def make_world(server):
    """build_world() on this file's server: a test file's own `world`
    fixture calls it and adds what only that file needs."""
    return lambda **kw: build_world(server, **kw)


# ---- several nodes on one database (PostgreSQL pass, issue 22) ----

pg_only = pytest.mark.skipif(
    not harness.on_postgresql(),
    reason="PostgreSQL pass only (SCHOLIA_TEST_DB=pg)")


def start_nodes(tmp_path_factory, n, env=None, extra_args=None):
    """n `scholia serve` nodes on one fresh database: the first creates
    and migrates it, the others start on its URL. Returns them started
    (node_a, node_b, ...); stop_nodes() stops them."""
    nodes = []
    try:
        for i in range(n):
            srv = Server(tmp_path_factory.mktemp("node_%s" % "abcdefgh"[i]),
                         env=env, extra_args=extra_args,
                         db=nodes[0].db if nodes else None)
            srv.start()
            nodes.append(srv)
    except BaseException:
        for srv in nodes:
            srv.kill()
        raise
    return nodes


def stop_nodes(nodes):
    """Stops every node, then checks each left cleanly (exit 0, no
    sanitizer report)."""
    for srv in reversed(nodes):
        srv.stop()
    for srv in nodes:
        srv.assert_clean_exit()


def node_fixtures(n=2, env=None, extra_args=None, **world_kw):
    """Module-scope fixtures of a test file about several nodes on one
    PostgreSQL database; the file binds them to their names:

        nodes, server, node_b, world = node_fixtures(members=("bob",))

    `nodes` is the list of n started nodes (one database), `server` is
    nodes[0] (so `make_world` and the like build there), `node_b`
    nodes[1], and `world` build_world(server, **world_kw); World.join(...,
    node=node_b) signs a new member in on another node. env and
    extra_args go to every node."""

    @pytest.fixture(scope="module")
    def nodes(tmp_path_factory):
        started = start_nodes(tmp_path_factory, n, env, extra_args)
        yield started
        stop_nodes(started)

    @pytest.fixture(scope="module")
    def server(nodes):
        return nodes[0]

    @pytest.fixture(scope="module")
    def node_b(nodes):
        return nodes[1]

    @pytest.fixture(scope="module")
    def world(server):
        return build_world(server, **world_kw)

    return nodes, server, node_b, world
