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

    def join(prefix, role="member", circle=None, inviter=None):
        code = (inviter or w.owner).call(
            "circle.invite", {"circle": circle or w.circle,
                              "role": role})["code"]
        c = server.new_account(prefix)
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
