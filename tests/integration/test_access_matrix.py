"""Access-control matrix (issue 9 item 5; SPEC §3 methods, §4 who may do
what).

A GENERATED test: every method, called by every role, on a target in the
role's circle ("A"), in another circle nobody here belongs to ("C"), and for
edit/delete on the caller's own content ("own"), answers exactly what the
table below says: "ok" (no error) or one error code.

Roles
  anonymous   a connection that never signed in
  non_member  an account in no circle of this test
  member      a plain member of A
  muted       a member of A muted with mod.mute
  other_mod   a moderator of circle B, acting in A (a non-member there)
  moderator   a moderator of A
  owner       the owner of A
  admin       the site admin (the first account), a member of neither A nor C
  banned      an account banned with admin.ban: its connection is closed
              and its auth.login answers -32010; what is left is a
              connection without a session, whose calls answer -32001

The method list is the union of the methods named in docs/api.md's
"Methods" table and every method the binary registers (`scholia methods`
lists them); test_matrix_names_every_method fails, naming the method, when
either holds one the matrix lacks. Adding a method to the server therefore
means adding its row here.

Each row has a params builder that gives VALID parameters for the role's
target (fresh objects where the call destroys or changes something, so that
a cell never depends on another one) and the expected answer per role.
Rules taken from the modules' documents rather than SPEC alone are named in
comments where they are used. Cells where the server disagrees with the
SPEC table are marked xfail(strict=True) in XFAIL below, with the reason, so
the suite stays green and the gap stays visible.
"""
import os
import re
import subprocess
from collections import namedtuple

import pytest

from harness import BIN, SOURCE, Server

ANON, NONMEM, MEMBER, MUTED, OTHERMOD = \
    "anonymous", "non_member", "member", "muted", "other_mod"
MOD, OWNER, ADMIN, BANNED = "moderator", "owner", "admin", "banned"
ROLES = [ANON, NONMEM, MEMBER, MUTED, OTHERMOD, MOD, OWNER, ADMIN, BANNED]
AUTHORS = (MEMBER, MUTED, MOD, OWNER)  # roles that can own content in A

OK = "ok"
NOT_AUTH, FORBIDDEN, NOT_FOUND, CONFLICT, LOCKED = \
    -32001, -32003, -32004, -32009, -32010

PASSWORD = "correct horse battery"


# ------------------------------------------------------------ method lists

def docs_methods():
    """Method names of docs/api.md's "## Methods" table."""
    path = os.path.join(SOURCE, "docs", "api.md")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    start = text.index("## Methods")
    end = text.index("\n## ", start + 1)
    rows = [ln for ln in text[start:end].splitlines() if ln.startswith("|")]
    return set(re.findall(r"`([a-z_]+(?:\.[a-z_]+)?)(?: \{[^`]*)?`",
                          "\n".join(rows)))


def server_methods():
    """The methods the binary registers (`scholia methods`, one a line)."""
    out = subprocess.run([BIN, "methods"], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    return set(out.split())


# ------------------------------------------------------------ expectations

def table(non_member, member, muted, moderator, owner, admin):
    """Expected answers in circle A. other_mod is a non-member of A (SPEC
    §4, docs/moderation.md: moderating elsewhere gives nothing here)."""
    return {NONMEM: non_member, OTHERMOD: non_member, MEMBER: member,
            MUTED: muted, MOD: moderator, OWNER: owner, ADMIN: admin}


# Needs an account, nothing more.
ACCOUNT = table(OK, OK, OK, OK, OK, OK)
# See the circle: members of every role; a site admin "as moderator".
READ = table(NOT_FOUND, OK, OK, OK, OK, OK)
# Post, reply, react, flag: members unless muted (-32010). A site admin
# posts "as member if a member": one who is not sees the circle, so the
# answer is -32003 (docs/threads.md, docs/moderation.md "if a member").
POST = table(NOT_FOUND, OK, LOCKED, OK, OK, FORBIDDEN)
# Hide, lock, pin, mute, remove, slow mode, queue, log, anchor review.
MODERATE = table(NOT_FOUND, FORBIDDEN, FORBIDDEN, OK, OK, OK)
# Plan, roles, circle options: owners only; SPEC gives the admin "—", and
# docs/circles.md answers -32003 for a site admin who is not a member.
OWNER_ONLY = table(NOT_FOUND, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN)
# Things only a member does for themselves (progress, presence, leaving,
# following a chapter): docs/circles.md and docs/threads.md answer a
# non-member site admin -32003.
SELF = table(NOT_FOUND, OK, OK, OK, OK, FORBIDDEN)
# Invite: moderators and owners; members only with members_can_invite
# (off in A); SPEC gives the admin "—", docs/circles.md -32003.
INVITE = table(NOT_FOUND, FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN)
# Ban: site admins only.
ADMIN_ONLY = table(FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK)
# Edit or delete someone else's content: nobody ("own" only; moderators
# hide instead, docs/threads.md).
OTHERS = table(NOT_FOUND, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN,
               FORBIDDEN)
# ... and one's own: every author, muted ones too (SPEC §4 mutes posting,
# replying, reacting and flagging, not editing; threads/methods.c agrees).
OWN = {MEMBER: OK, MUTED: OK, MOD: OK, OWNER: OK}
# In a locked thread members get -32010, moderators and owners still write
# (SPEC §4 "unless ... locked"; docs/moderation.md: also no flags).
IN_LOCKED = table(NOT_FOUND, LOCKED, LOCKED, OK, OK, FORBIDDEN)
# Muting or removing a moderator: owners and site admins only; an owner:
# nobody (docs/moderation.md "Who may do what"; SPEC §4 leaves it open).
ON_MODERATOR = table(NOT_FOUND, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, OK)
ON_OWNER = table(NOT_FOUND, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN,
                 FORBIDDEN)
# anchor.resolve: no annotation of this world awaits review (that needs a
# new edition), so the roles allowed past the permission check get -32009
# "not awaiting review"; the check comes first in threads/methods.c.
RESOLVE = table(NOT_FOUND, FORBIDDEN, FORBIDDEN, CONFLICT, CONFLICT,
                CONFLICT)

NOCIRCLE = ("-",)
CIRCLE = ("A", "C")
CONTENT = ("own", "A", "C", "private")
# Writing into a thread: also in a locked thread and in a private one.
WRITE = ("A", "C", "locked", "private")
# Moderating a post: also another member's private annotation.
MODPOST = ("A", "C", "private")

# What anonymous and banned connections get from the methods that need no
# account (SPEC §3); everything else answers them -32001.
PUBLIC = {
    "server.info": {ANON: OK, BANNED: OK},
    "auth.register": {ANON: OK, BANNED: OK},
    # a banned account's login is refused with -32010 (SPEC §3 errors)
    "auth.login": {ANON: OK, BANNED: LOCKED},
    # the ban ended the banned account's sessions: its token is dead
    "auth.resume": {ANON: OK, BANNED: NOT_AUTH},
    "auth.reset": {ANON: OK, BANNED: OK},
    # this server runs without --smtp-url: -32003 (data.reason
    # "mail_disabled") for everyone; test_mail.py covers a mail server
    "auth.forgot": {ANON: FORBIDDEN, BANNED: FORBIDDEN},
    # no verification token of this world is valid: -32004 for everyone
    "auth.verify_email": {ANON: NOT_FOUND, BANNED: NOT_FOUND},
}

Row = namedtuple("Row", "build table variants")
MATRIX = {}


def row(name, tbl, variants=NOCIRCLE):
    def deco(fn):
        MATRIX[name] = Row(fn, tbl, variants)
        return fn
    return deco


def expected(method, role, variant):
    r = MATRIX[method]
    if role in (ANON, BANNED):
        return PUBLIC.get(method, {}).get(role, NOT_AUTH)
    if variant == "own":
        return OWN[role]
    if variant == "private":
        # another member's private annotation: seen by its author alone,
        # not by moderators, owners or admins (SPEC §4), so for everyone
        # here it does not exist
        return NOT_FOUND
    if variant == "locked":
        return IN_LOCKED[role]
    if variant == "on_moderator":
        return ON_MODERATOR[role]
    if variant == "on_owner":
        return ON_OWNER[role]
    if variant == "others":
        # another account's session: it does not exist for the caller,
        # site admin included (auth/methods.c "no such session")
        return NOT_FOUND
    if variant == "C" and role != ADMIN:
        # nobody but the site admin belongs to or moderates C: its ids
        # answer -32004 like ids that do not exist (SPEC §3 -32004)
        return NOT_FOUND
    return r.table[role]


# ------------------------------------------------------------ the world

def code_of(resp):
    if "error" in resp:
        return resp["error"]["code"]
    return OK


class World:
    def __init__(self, server):
        self.server = server
        self.n = 0
        # the first account created with --admin is the site admin
        admin = server.new_account("adm", admin=True)
        assert admin.account["is_admin"] is True
        self.c = {ADMIN: admin, ANON: server.client()}
        for role in (NONMEM, MEMBER, MUTED, OTHERMOD, MOD, OWNER):
            self.c[role] = server.new_account(role.replace("_", ""))
        self.pw = {r: PASSWORD for r in self.c}
        self.author = server.new_account("author")    # others' content in A
        self.victim = server.new_account("victim")    # member of A and C
        self.cowner = server.new_account("cowner")    # owner of B and C
        self.cauthor = server.new_account("cauthor")  # content in C
        self.spare = server.new_account("spare")      # in no circle
        self.victim_mod = server.new_account("vmod")  # moderator of A
        self.victim_owner = server.new_account("vown")  # 2nd owner of A
        self.reset_target = server.new_account("resetme")

        owner = self.c[OWNER]
        books = owner.call("book.list", {})["items"]
        assert books, "the sample book is imported on first start"
        self.book = books[0]["id"]
        toc = owner.call("book.toc", {"book": self.book})
        self.chapter = toc["parts"][0]["chapters"][0]["id"]
        self.text = owner.call("chapter.get",
                               {"chapter": self.chapter})["text"]
        assert len(self.text) > 40

        self.A = owner.call("circle.create",
                            {"name": "A", "book": self.book})["id"]
        self.B = self.cowner.call("circle.create",
                                  {"name": "B", "book": self.book})["id"]
        self.C = self.cowner.call("circle.create",
                                  {"name": "C", "book": self.book})["id"]
        self.J = self.cowner.call("circle.create",
                                  {"name": "J", "book": self.book})["id"]
        self.owner_of = {self.A: owner, self.B: self.cowner,
                         self.C: self.cowner, self.J: self.cowner}
        self.join(self.A, self.c[MOD], "moderator")
        for cl in (self.c[MEMBER], self.c[MUTED], self.author, self.victim):
            self.join(self.A, cl)
        self.join(self.A, self.victim_mod, "moderator")
        self.join(self.A, self.victim_owner)
        owner.call("circle.set_role", {
            "circle": self.A, "account": self.victim_owner.account["id"],
            "role": "owner"})
        self.join(self.B, self.c[OTHERMOD], "moderator")
        for cl in (self.cauthor, self.victim):
            self.join(self.C, cl)
        # an unlimited code of J, a circle nobody joined: circle.join cells
        self.join_code = self.cowner.call("circle.invite",
                                          {"circle": self.J})["code"]
        self.c[MOD].call("mod.mute", {"circle": self.A,
                                      "account": self.c[MUTED].account["id"],
                                      "reason": "cool down"})
        # other_mod really moderates B
        self.c[OTHERMOD].call("mod.log", {"circle": self.B})

        # shared, never-changed content (targets that every cell only reads
        # or fails on)
        self.content = {self.A: self.post(self.author, self.A),
                        self.C: self.post(self.cauthor, self.C)}
        self.reply_of = {
            self.A: self.reply(self.author, self.content[self.A]),
            self.C: self.reply(self.cauthor, self.content[self.C])}
        # anchored to a passage (a chapter-level thread has no anchor)
        self.anchored = {self.A: self.post(self.author, self.A, start=0),
                         self.C: self.post(self.cauthor, self.C, start=0)}
        self.locked = self.locked_post()
        self.private = self.author.call("annotation.create", {
            "circle": self.A, "chapter": self.chapter, "target": None,
            "body": "my own note", "visibility": "private"})["id"]
        self.private_reply = self.reply(self.author, self.private)

        # banned: signed in, then banned; its socket is closed, its login
        # refused with -32010; the role is the connection left without a
        # session
        banned = server.new_account("banned")
        self.banned = banned
        admin.call("admin.ban", {"account": banned.account["id"],
                                 "reason": "spam"})
        # docs/accounts.md: a ban closes the account's sockets with 4003
        assert banned.wait_closed(10) == 4003, banned.close_code
        b = server.client()
        r = b.request("auth.login", {"handle": banned.handle,
                                     "password": PASSWORD})
        assert code_of(r) == LOCKED, r
        self.c[BANNED] = b

    # helpers -------------------------------------------------------
    def circle(self, variant):
        return self.C if variant == "C" else self.A

    def join(self, circle, client, role="member"):
        owner = self.owner_of[circle]
        code = owner.call("circle.invite",
                          {"circle": circle, "role": role})["code"]
        client.call("circle.join", {"code": code})

    def post(self, client, circle, body="a thought", start=None):
        target = None
        if start is not None:
            end, t = start + 20, self.text
            target = {"selector": [
                {"type": "TextQuoteSelector", "exact": t[start:end],
                 "prefix": t[max(0, start - 32):start],
                 "suffix": t[end:end + 32]},
                {"type": "TextPositionSelector", "start": start, "end": end}]}
        return client.call("annotation.create", {
            "circle": circle, "chapter": self.chapter, "target": target,
            "body": body, "visibility": "circle"})["id"]

    def reply(self, client, annotation, body="a reply"):
        return client.call("reply.create",
                           {"annotation": annotation, "body": body})["id"]

    def author_in(self, circle):
        return self.author if circle == self.A else self.cauthor

    def fresh_post(self, circle):
        return self.post(self.author_in(circle), circle)

    def locked_post(self):
        ann = self.post(self.author, self.A)
        self.c[OWNER].call("mod.lock", {"annotation": ann})
        return ann

    def ann(self, variant, fresh=False):
        """The annotation a cell acts on: others' content in A or C, a
        locked thread in A, or another member's private annotation in A."""
        if variant == "private":
            return self.private
        if variant == "locked":
            return self.locked_post() if fresh else self.locked
        circle = self.circle(variant)
        return self.fresh_post(circle) if fresh else self.content[circle]

    def unique(self, prefix):
        self.n += 1
        return "%s_%d" % (prefix, self.n)

    def fresh_conn(self, role):
        """A new connection in the role's state (for calls that change
        what the connection is signed in as)."""
        cl = self.server.client()
        if role not in (ANON, BANNED):
            cl.call("auth.resume", {"token": self.c[role].token})
        return cl

    def new_session(self, role):
        """A second session of the role's account, on its own connection."""
        cl = self.server.client()
        r = cl.call("auth.login", {"handle": self.c[role].handle,
                                   "password": self.pw[role]})
        return cl, r

    def fresh_member(self, circle, role="member"):
        cl = self.server.new_account("fresh")
        self.join(circle, cl, role)
        return cl

    def fresh_in_role(self, role):
        """A new account holding the role, for calls that end it."""
        if role in (ANON, BANNED):
            return self.fresh_conn(role)
        if role == ADMIN:
            return self.server.new_account("adm", admin=True)
        if role == NONMEM:
            return self.server.new_account("fresh")
        if role == OTHERMOD:
            return self.fresh_member(self.B, "moderator")
        if role == MOD:
            return self.fresh_member(self.A, "moderator")
        cl = self.fresh_member(self.A)
        if role == OWNER:
            self.c[OWNER].call("circle.set_role", {
                "circle": self.A, "account": cl.account["id"],
                "role": "owner"})
        elif role == MUTED:
            self.c[MOD].call("mod.mute", {"circle": self.A,
                                          "account": cl.account["id"],
                                          "reason": "cool down"})
        return cl

    def as_author(self, role, fn):
        """Runs fn(client) as the role's account with posting allowed: a
        muted member is unmuted for the moment of writing."""
        cl = self.c[role]
        if role != MUTED:
            return fn(cl)
        acct = cl.account["id"]
        self.c[MOD].call("mod.unmute", {"circle": self.A, "account": acct})
        try:
            return fn(cl)
        finally:
            self.c[MOD].call("mod.mute", {"circle": self.A, "account": acct,
                                          "reason": "cool down"})

    def own_post(self, role):
        return self.as_author(role, lambda cl: self.post(cl, self.A))

    def own_reply(self, role):
        return self.as_author(
            role, lambda cl: self.reply(cl, self.content[self.A]))

    def flag_in(self, circle):
        """A fresh open flag in the circle (a member flags a fresh post)."""
        ann = self.fresh_post(circle)
        return self.victim.call("flag.create", {
            "target": {"annotation": ann}, "reason": "spam"})["id"]


# ------------------------------------------------------------ the rows
# Each builder gets (world, role, variant, ok) and returns (client, params);
# `ok` says whether the call is expected to succeed, so that fresh targets
# are made only where the call changes something.

def mine(w, role):
    return w.c[role]


@row("server.info", ACCOUNT)
def _(w, role, v, ok):
    return mine(w, role), {}


@row("auth.register", ACCOUNT)
def _(w, role, v, ok):
    return w.fresh_conn(role), {"handle": w.unique("reg"),
                                "password": PASSWORD, "display_name": "R"}


@row("auth.login", ACCOUNT)
def _(w, role, v, ok):
    if role == ANON:
        who, pw = w.spare.handle, PASSWORD
    elif role == BANNED:
        who, pw = w.banned.handle, PASSWORD
    else:
        who, pw = w.c[role].handle, w.pw[role]
    return w.fresh_conn(role), {"handle": who, "password": pw}


@row("auth.resume", ACCOUNT)
def _(w, role, v, ok):
    if role in (ANON, BANNED):
        token = (w.spare if role == ANON else w.banned).token
    else:
        token = w.c[role].token
    return w.fresh_conn(role), {"token": token}


@row("auth.logout", ACCOUNT)
def _(w, role, v, ok):
    if role in (ANON, BANNED):
        return w.fresh_conn(role), {}
    return w.new_session(role)[0], {}


@row("auth.sessions", ACCOUNT)
def _(w, role, v, ok):
    return mine(w, role), {}


@row("markdown.preview", ACCOUNT)
def _(w, role, v, ok):
    return mine(w, role), {"body": "*seen* as posted"}


@row("auth.revoke", ACCOUNT, ("-", "others"))
def _(w, role, v, ok):
    if role in (ANON, BANNED):
        return mine(w, role), {"session": 1}
    if v == "others":
        cur = [s["id"] for s in w.spare.call("auth.sessions", {})["items"]
               if s["current"]]
        return mine(w, role), {"session": cur[0]}
    other, _ = w.new_session(role)
    mine_ = w.c[role]
    items = mine_.call("auth.sessions", {})["items"]
    cur = [s["id"] for s in other.call("auth.sessions", {})["items"]
           if s["current"]]
    assert len(cur) == 1 and cur[0] in [s["id"] for s in items]
    return mine_, {"session": cur[0]}


@row("auth.reset", ACCOUNT)
def _(w, role, v, ok):
    out = w.server.cmd("admin", "reset-link", "--handle",
                       w.reset_target.handle).stdout
    token = re.search(r"#/reset/([A-Za-z0-9_\-]+)", out).group(1)
    return w.fresh_conn(role), {"reset_token": token,
                                "password": "plover-annex-%d-quill" % w.n}


@row("auth.forgot", table(*[FORBIDDEN] * 6))
def _(w, role, v, ok):
    return w.fresh_conn(role), {"handle": w.reset_target.handle}


@row("auth.verify_email", table(*[NOT_FOUND] * 6))
def _(w, role, v, ok):
    return w.fresh_conn(role), {"token": "A" * 43}


# circle.notify: one's own mail choice in a circle one belongs to; a site
# admin who is not a member has none (-32004, like a non-member)
@row("circle.notify", table(NOT_FOUND, OK, OK, OK, OK, NOT_FOUND), CIRCLE)
def _(w, role, v, ok):
    return mine(w, role), {"circle": w.circle(v), "email": "instant"}


@row("account.get", ACCOUNT)
def _(w, role, v, ok):
    return mine(w, role), {}


@row("account.update", ACCOUNT)
def _(w, role, v, ok):
    return mine(w, role), {"display_name": "Reader %s" % role}


@row("account.change_password", ACCOUNT)
def _(w, role, v, ok):
    new = "plover-annex-%s-quill" % w.unique("pw")
    params = {"password": w.pw.get(role, PASSWORD), "new_password": new}
    if ok:
        w.pw[role] = new
    return mine(w, role), params


@row("account.export", ACCOUNT)
def _(w, role, v, ok):
    return mine(w, role), {}


@row("account.delete", ACCOUNT)
def _(w, role, v, ok):
    return w.fresh_in_role(role), {"password": PASSWORD}


@row("book.list", ACCOUNT)
def _(w, role, v, ok):
    return mine(w, role), {}


@row("book.toc", ACCOUNT)
def _(w, role, v, ok):
    return mine(w, role), {"book": w.book}


@row("chapter.get", ACCOUNT)
def _(w, role, v, ok):
    return mine(w, role), {"chapter": w.chapter}


@row("circle.create", ACCOUNT)
def _(w, role, v, ok):
    return mine(w, role), {"name": "made by %s" % role, "book": w.book}


@row("circle.list", ACCOUNT)
def _(w, role, v, ok):
    return mine(w, role), {}


# the code is a capability: anyone signed in joins J with it (each role once)
@row("circle.join", ACCOUNT)
def _(w, role, v, ok):
    return mine(w, role), {"code": w.join_code}


def circle_only(extra=None):
    def build(w, role, v, ok):
        p = {"circle": w.circle(v)}
        p.update(extra or {})
        return mine(w, role), p
    return build


for _name, _tbl, _extra in (
        ("circle.get", READ, None),
        ("circle.members", READ, None),
        ("circle.subscribe", READ, None),
        ("circle.unsubscribe", READ, None),
        ("plan.get", READ, None),
        ("circle.update", OWNER_ONLY, {"description": "edited"}),
        ("circle.invite", INVITE, None),
        ("circle.clone", OWNER_ONLY, {"name": "cohort 2"}),
        ("plan.set", OWNER_ONLY, {"entries": []}),
        ("search", READ, {"q": "the"}),
        ("annotation.import", POST, {"format": "w3c", "data": "[]"}),
        ("anchor.review", MODERATE, None),
        ("mod.queue", MODERATE, None),
        ("mod.slow", MODERATE, {"seconds": 0}),
        ("mod.log", MODERATE, None),
        ("circle.invites", MODERATE, None)):
    MATRIX[_name] = Row(circle_only(_extra), _tbl, CIRCLE)


# issue 14 R2-F6: owners and moderators revoke invitations (a fresh code)
@row("circle.invite_revoke", MODERATE, CIRCLE)
def _(w, role, v, ok):
    circle = w.circle(v)
    code = w.owner_of[circle].call("circle.invite", {"circle": circle})["code"]
    return mine(w, role), {"circle": circle, "code": code}


def circle_chapter(extra=None):
    def build(w, role, v, ok):
        p = {"circle": w.circle(v), "chapter": w.chapter}
        p.update(extra or {})
        return mine(w, role), p
    return build


for _name, _tbl, _extra in (
        ("progress.set", SELF, None),
        ("presence.set", SELF, None),
        ("chapter.follow", SELF, {"on": True}),
        ("annotation.list", READ, None),
        ("annotation.create", POST, {"target": None, "body": "new",
                                     "visibility": "circle"})):
    MATRIX[_name] = Row(circle_chapter(_extra), _tbl, CIRCLE)


@row("circle.set_role", OWNER_ONLY, CIRCLE)
def _(w, role, v, ok):
    circle = w.circle(v)
    target = w.fresh_member(circle) if ok else w.victim
    return mine(w, role), {"circle": circle,
                           "account": target.account["id"],
                           "role": "moderator"}


@row("circle.leave", SELF, CIRCLE)
def _(w, role, v, ok):
    # the caller leaves: a new account holding the role when it may
    cl = w.fresh_in_role(role) if ok else mine(w, role)
    return cl, {"circle": w.circle(v)}


@row("annotation.get", READ, MODPOST)
def _(w, role, v, ok):
    return mine(w, role), {"annotation": w.ann(v)}


def edit(kind, delete):
    def build(w, role, v, ok):
        if v == "own":
            target = w.own_post(role) if kind == "annotation" \
                else w.own_reply(role)
        elif v == "private":
            target = w.private if kind == "annotation" else w.private_reply
        else:
            circle = w.circle(v)
            target = w.content[circle] if kind == "annotation" \
                else w.reply_of[circle]
        p = {kind: target}
        if not delete:
            p["body"] = "edited"
        return mine(w, role), p
    return build


for _kind in ("annotation", "reply"):
    MATRIX[_kind + ".update"] = Row(edit(_kind, False), OTHERS, CONTENT)
    MATRIX[_kind + ".delete"] = Row(edit(_kind, True), OTHERS, CONTENT)


@row("reply.create", POST, WRITE)
def _(w, role, v, ok):
    return mine(w, role), {"annotation": w.ann(v),
                           "body": "answer"}


@row("reaction.toggle", POST, WRITE)
def _(w, role, v, ok):
    return mine(w, role), {"target": {"annotation": w.ann(v)},
                           "kind": "agree"}


@row("anchor.resolve", RESOLVE, MODPOST)
def _(w, role, v, ok):
    ann = w.private if v == "private" else w.anchored[w.circle(v)]
    return mine(w, role), {"annotation": ann,
                           "accept": True}


@row("notification.list", ACCOUNT)
def _(w, role, v, ok):
    return mine(w, role), {}


@row("notification.read", ACCOUNT)
def _(w, role, v, ok):
    return mine(w, role), {"all": True}


# a fresh post each time: one open flag per member and post, and three
# flaggers would hide it automatically
@row("flag.create", POST, WRITE)
def _(w, role, v, ok):
    return mine(w, role), {
        "target": {"annotation": w.ann(v, fresh=True)},
        "reason": "off_topic"}


@row("mod.resolve", MODERATE, CIRCLE)
def _(w, role, v, ok):
    return mine(w, role), {"flag": w.flag_in(w.circle(v)),
                           "action": "dismiss"}


def on_fresh_post(method, extra, prepare=None):
    def build(w, role, v, ok):
        circle = w.circle(v)
        ann = w.ann(v, fresh=True)
        if prepare and v != "private":
            w.owner_of[circle].call(prepare[0], prepare[1](ann))
        p = extra(ann)
        return mine(w, role), p
    return build


MATRIX["mod.hide"] = Row(on_fresh_post(
    "mod.hide", lambda a: {"target": {"annotation": a}, "reason": "rude"}),
    MODERATE, MODPOST)
MATRIX["mod.unhide"] = Row(on_fresh_post(
    "mod.unhide", lambda a: {"target": {"annotation": a}},
    ("mod.hide", lambda a: {"target": {"annotation": a}, "reason": "rude"})),
    MODERATE, CIRCLE)
MATRIX["mod.lock"] = Row(on_fresh_post(
    "mod.lock", lambda a: {"annotation": a}), MODERATE, MODPOST)
MATRIX["mod.unlock"] = Row(on_fresh_post(
    "mod.unlock", lambda a: {"annotation": a},
    ("mod.lock", lambda a: {"annotation": a})), MODERATE, CIRCLE)
MATRIX["mod.pin"] = Row(on_fresh_post(
    "mod.pin", lambda a: {"annotation": a, "on": True}), MODERATE,
    MODPOST)


MEMBER_TARGETS = ("A", "C", "on_moderator", "on_owner")


def member_target(w, v, ok):
    """Whom mod.mute / mod.remove act on: a plain member of the circle, a
    moderator of A or a (second) owner of A; fresh where it may work."""
    if v == "on_moderator":
        return w.fresh_member(w.A, "moderator") if ok else w.victim_mod
    if v == "on_owner":
        return w.victim_owner
    return w.fresh_member(w.circle(v)) if ok else w.victim


@row("mod.mute", MODERATE, MEMBER_TARGETS)
def _(w, role, v, ok):
    circle = w.circle(v)
    target = member_target(w, v, ok)
    return mine(w, role), {"circle": circle, "account": target.account["id"],
                           "reason": "heat"}


@row("mod.unmute", MODERATE, CIRCLE)
def _(w, role, v, ok):
    circle = w.circle(v)
    if ok:
        target = w.fresh_member(circle)
        w.owner_of[circle].call("mod.mute", {
            "circle": circle, "account": target.account["id"],
            "reason": "heat"})
    else:
        target = w.victim
    return mine(w, role), {"circle": circle, "account": target.account["id"]}


@row("mod.remove", MODERATE, MEMBER_TARGETS)
def _(w, role, v, ok):
    circle = w.circle(v)
    target = member_target(w, v, ok)
    return mine(w, role), {"circle": circle, "account": target.account["id"],
                           "reason": "left the rules behind"}


@row("admin.ban", ADMIN_ONLY)
def _(w, role, v, ok):
    target = w.server.new_account("tban") if ok else w.spare
    return mine(w, role), {"account": target.account["id"], "reason": "spam"}


@row("admin.unban", ADMIN_ONLY)
def _(w, role, v, ok):
    if ok:
        target = w.server.new_account("tunban")
        w.c[ADMIN].call("admin.ban", {
            "account": target.account["id"], "reason": "spam"})
        acct = target.account["id"]
    else:
        acct = w.banned.account["id"]
    return mine(w, role), {"account": acct}


# Extension (docs/moderation.md): the site-wide audit log, site admins only.
@row("admin.log", ADMIN_ONLY)
def _(w, role, v, ok):
    return mine(w, role), {}


# ---- the organiser's tools (issue 20, docs/circles.md "For organisers")
# Running a meeting's agenda (advance, outcome) and exporting a plan kit
# (it carries facilitator notes): moderators and owners; SPEC gives the
# site admin "—", answered -32003 like the other owner/moderator-only
# methods for an admin who is not a member.
RUN = table(NOT_FOUND, FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN)
AT = "2027-01-01T19:00:00Z"


def meeting_in(w, circle, fresh=False):
    """A meeting of circle with the circle's shared thread on its agenda
    (one per circle, or a new one)."""
    cache = w.__dict__.setdefault("meetings", {})
    if fresh or circle not in cache:
        owner = w.owner_of[circle]
        m = owner.call("meeting.create", {"circle": circle, "at": AT})["id"]
        owner.call("meeting.agenda", {"meeting": m,
                                      "annotations": [w.content[circle]]})
        if fresh:
            return m
        cache[circle] = m
    return cache[circle]


# members see their own line (a site admin who is no member: -32003)
MATRIX["circle.dashboard"] = Row(circle_only(), SELF, CIRCLE)
MATRIX["meeting.list"] = Row(circle_only(), READ, CIRCLE)
MATRIX["meeting.create"] = Row(circle_only({"at": AT}), OWNER_ONLY, CIRCLE)
MATRIX["plan.export"] = Row(circle_only(), RUN, CIRCLE)
MATRIX["plan.import"] = Row(circle_only({
    "kit": {"scholia_plan_kit": 1, "book": {}, "entries": []},
    "start": "2027-01-04"}), OWNER_ONLY, CIRCLE)


def on_meeting(extra, fresh_when_ok=False):
    def build(w, role, v, ok):
        circle = w.circle(v)
        p = {"meeting": meeting_in(w, circle, fresh=fresh_when_ok and ok)}
        p.update(extra(w, circle))
        return mine(w, role), p
    return build


for _name, _tbl, _extra, _fresh in (
        ("meeting.get", READ, lambda w, c: {}, False),
        ("meeting.update", OWNER_ONLY, lambda w, c: {"title": "renamed"},
         False),
        ("meeting.delete", OWNER_ONLY, lambda w, c: {}, True),
        ("meeting.agenda", OWNER_ONLY,
         lambda w, c: {"annotations": [w.content[c]]}, False),
        ("meeting.advance", RUN, lambda w, c: {"item": w.content[c]}, False),
        ("meeting.outcome", RUN,
         lambda w, c: {"annotation": w.content[c], "body": "decided"}, False),
        # proposing, a raised hand and attendance are not posts: a muted
        # member may still take part in the meeting
        ("meeting.propose", SELF,
         lambda w, c: {"annotation": w.content[c]}, False),
        ("meeting.hand", SELF, lambda w, c: {"up": True}, False),
        ("meeting.attend", SELF, lambda w, c: {"present": True}, False)):
    MATRIX[_name] = Row(on_meeting(_extra, _fresh), _tbl, CIRCLE)


# Extension (docs/operations.md): the site screen's account list and role.
@row("admin.accounts", ADMIN_ONLY)
def _(w, role, v, ok):
    return mine(w, role), {}


@row("admin.set_admin", ADMIN_ONLY)
def _(w, role, v, ok):
    target = w.server.new_account("tadm") if ok else w.spare
    return mine(w, role), {"account": target.account["id"], "on": True}


# ------------------------------------------------------------ known gaps
# (method, role, variant) -> why the server's answer differs from SPEC §4.
XFAIL = {}


# (circle.unsubscribe used to answer ok for circles the caller cannot see;
# fixed, so no cell is expected to fail any more.)


def cases():
    out = []
    for method in sorted(MATRIX):
        for variant in MATRIX[method].variants:
            for role in ROLES:
                if variant == "own" and role not in AUTHORS:
                    continue  # only authors of A have content of their own
                cid = "%s-%s-%s" % (method, role, variant)
                marks = []
                why = XFAIL.get((method, role, variant))
                if why:
                    marks.append(pytest.mark.xfail(strict=True, reason=why))
                out.append(pytest.param(method, role, variant, id=cid,
                                        marks=marks))
    return out


# ------------------------------------------------------------ fixtures

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("scholia"),
                 env={"SCHOLIA_POSTS_PER_MINUTE": "100000"})
    srv.start()
    yield srv
    srv.stop()
    srv.assert_clean_exit()


@pytest.fixture(scope="module")
def world(server):
    return World(server)


# ------------------------------------------------------------ the tests

def test_matrix_names_every_method():
    docs, srv = docs_methods(), server_methods()
    # the parsers themselves must find what is there
    assert {"server.info", "search", "admin.unban"} <= docs, sorted(docs)
    assert {"server.info", "search", "circle.create"} <= srv, sorted(srv)
    missing = sorted((docs | srv) - set(MATRIX))
    assert not missing, (
        "method(s) without a row in the access-control matrix "
        "(tests/integration/test_access_matrix.py): %s" % ", ".join(
            "%s (%s)" % (m, "docs/api.md" if m in docs else
                         "registered by the server")
            for m in missing))
    extra = sorted(set(MATRIX) - (docs | srv))
    assert not extra, ("matrix rows for methods neither docs/api.md nor the "
                       "server has: %s" % ", ".join(extra))
    # every method documented in docs/api.md is one the server answers
    undocumented_only = sorted(docs - srv)
    assert not undocumented_only, (
        "docs/api.md names method(s) the server does not register: %s"
        % ", ".join(undocumented_only))


@pytest.mark.parametrize("method,role,variant", cases())
def test_access(world, method, role, variant):
    want = expected(method, role, variant)
    client, params = MATRIX[method].build(world, role, variant, want == OK)
    resp = client.request(method, params)
    got = code_of(resp)
    assert got == want, "%s %r as %s (%s): expected %s, got %r" % (
        method, params, role, variant, want, resp.get("error", resp))


def test_members_can_invite(world):
    """The conditional cell of SPEC §4's invite row: a member invites only
    while the circle's members_can_invite is on, and (docs/circles.md)
    only into the member role; moderators invite regardless."""
    w = world
    owner, member, mod = w.c[OWNER], w.fresh_member(w.A), w.c[MOD]
    cases = [(member, {}, FORBIDDEN), (mod, {}, OK)]
    try:
        owner.call("circle.update", {"circle": w.A,
                                     "members_can_invite": True})
        cases += [(member, {"role": "member"}, OK),
                  (member, {"role": "moderator"}, FORBIDDEN),
                  (w.c[NONMEM], {}, NOT_FOUND), (w.c[ADMIN], {}, FORBIDDEN)]
        for cl, extra, want in cases[2:]:
            p = {"circle": w.A}
            p.update(extra)
            got = code_of(cl.request("circle.invite", p))
            assert got == want, ("circle.invite %r with members_can_invite"
                                 " on: expected %s, got %s" % (p, want, got))
    finally:
        owner.call("circle.update", {"circle": w.A,
                                     "members_can_invite": False})
    for cl, extra, want in cases[:2]:
        got = code_of(cl.request("circle.invite", {"circle": w.A}))
        assert got == want, ("circle.invite with members_can_invite off: "
                             "expected %s, got %s" % (want, got))


# SPEC §2: the HTTP views of a circle follow the same rule as the WebSocket
# API (401 without a live session, 404 for a circle the caller may not see).
HTTP_STATUS = {ANON: 401, BANNED: 401, NONMEM: 404, OTHERMOD: 404,
               MEMBER: 200, MUTED: 200, MOD: 200, OWNER: 200, ADMIN: 200}
HTTP_XFAIL = {}


def http_cases():
    out = []
    for view in ("annotations", "container", "digest"):
        for variant in CIRCLE:
            for role in ROLES:
                marks = []
                why = HTTP_XFAIL.get((view, role, variant))
                if why:
                    marks.append(pytest.mark.xfail(strict=True, reason=why))
                out.append(pytest.param(view, role, variant, marks=marks,
                                        id="%s-%s-%s" % (view, role, variant)))
    return out


@pytest.mark.parametrize("view,role,variant", http_cases())
def test_http_views(world, server, view, role, variant):
    w = world
    circle = w.circle(variant)
    path = "/api/circles/%d/%s" % (circle, "annotations" if view ==
                                   "annotations" else "annotations/"
                                   if view == "container" else
                                   "digest.md?chapter=%d" % w.chapter)
    headers = {}
    if role == BANNED:
        headers["Authorization"] = "Bearer " + w.banned.token
    elif role != ANON:
        headers["Authorization"] = "Bearer " + w.c[role].token
    want = HTTP_STATUS[role]
    if variant == "C" and role not in (ANON, BANNED, ADMIN):
        want = 404
    status, _, body = server.http("GET", path, headers=headers)
    assert status == want, "GET %s as %s: expected %d, got %d %s" % (
        path, role, want, status, body[:200])
