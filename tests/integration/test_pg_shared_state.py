"""Node-local state made shared between nodes on one PostgreSQL database
(issue 22, docs/scaling.md "What is shared between nodes"): login failure
limits and back-off counted in the database (auth/limit.c, login_limits),
and presence kept per node in the database too (circles/presence.c, the
presence table), so that the list circle.subscribe answers and the
"offline" announcements hold across nodes.

Runs in the integration_pg pass only (SCHOLIA_TEST_DB=pg, tests/
CMakeLists.txt); it starts its own cluster through harness.pg_cluster().
Logins come from several loopback addresses (127.0.0.x), which the
servers see as different peers, as in test_auth_limits.py.
"""
from conftest import build_world, node_fixtures, pg_only
from harness import Server

pytestmark = pg_only

PW = "correct horse battery"
WRONG = "wrong guess 123"
LIMIT = 5  # --login-failures (the default, SPEC §5)
RATE_LIMITED = -32029
UNAUTHENTICATED = -32001

SEARCHES = 4  # --search-per-minute on both nodes

# two nodes on one database, and a world built on the first
nodes, server, node_b, world = node_fixtures(
    env={"SCHOLIA_SEARCH_PER_MINUTE": str(SEARCHES)})


def on_node(node, client):
    """The same account signed in on another node (sessions are shared)."""
    c = node.client()
    c.call("auth.resume", {"token": client.token})
    return c


def login_from(node, addr, handle, password):
    """auth.login from a local address (another peer) on node."""
    return node.call_from(addr, "auth.login",
                          {"handle": handle, "password": password})


def create(server, handle):
    server.create_account(handle, PW)


def code(r):
    return r["error"]["code"] if "error" in r else None


# ---- login limits ----

def test_handle_failures_on_two_nodes_add_up(server, node_b):
    """Wrong passwords for one handle spread over both nodes (each from an
    address of its own, so only the handle's count binds) reach the limit
    together: the next attempt is refused on either node."""
    create(server, "spread_target")
    for i in range(LIMIT):
        node = server if i % 2 == 0 else node_b
        r = login_from(node, "127.0.1.%d" % (i + 1), "spread_target", WRONG)
        assert code(r) == UNAUTHENTICATED, r
    for n, node in enumerate((server, node_b)):
        r = login_from(node, "127.0.1.%d" % (50 + n), "spread_target", PW)
        assert code(r) == RATE_LIMITED, r
        assert r["error"]["data"]["retry_after_ms"] > 1000, r


def test_back_off_set_on_one_node_refuses_on_the_other(server, node_b):
    """The limit reached on node A alone puts the handle in back-off on
    node B too: even the right password is refused there."""
    create(server, "backoff_target")
    for i in range(LIMIT):
        r = login_from(server, "127.0.2.%d" % (i + 1), "backoff_target",
                       WRONG)
        assert code(r) == UNAUTHENTICATED, r
    r = login_from(node_b, "127.0.2.100", "backoff_target", PW)
    assert code(r) == RATE_LIMITED, r
    assert r["error"]["data"]["retry_after_ms"] > 1000, r
    # another handle from that address is not affected
    create(server, "backoff_bystander")
    r = login_from(node_b, "127.0.2.100", "backoff_bystander", PW)
    assert "result" in r, r


def test_address_failures_on_two_nodes_add_up(server, node_b):
    """One address guessing at several handles over both nodes is limited
    by its failures on both."""
    create(server, "addr_victim")
    for i in range(LIMIT):
        node = node_b if i % 2 == 0 else server
        r = login_from(node, "127.0.3.1", "ghost_%d" % i, WRONG)
        assert code(r) == UNAUTHENTICATED, r
    r = login_from(server, "127.0.3.1", "addr_victim", PW)
    assert code(r) == RATE_LIMITED, r
    # the account itself is fine from elsewhere, on either node
    r = login_from(node_b, "127.0.3.2", "addr_victim", PW)
    assert "result" in r, r


# ---- presence ----

def test_subscribe_lists_members_present_on_the_other_node(server, node_b,
                                                           world):
    """A member reading on node A is in the presence list a subscriber on
    node B gets from circle.subscribe."""
    reader = world.join("reader")
    reader.call("presence.set", {"circle": world.circle,
                                 "chapter": world.chapters[1]})
    watcher = on_node(node_b, world.owner)
    r = watcher.call("circle.subscribe", {"circle": world.circle})
    ids = {p["account"]["id"]: p for p in r["presence"]}
    assert reader.account["id"] in ids, r["presence"]
    entry = ids[reader.account["id"]]
    assert entry["online"] is True
    assert entry["chapter"] == world.chapters[1]
    reader.close()
    # the closed connection's row is gone: a new subscriber misses it
    # (the announcement of the presence.set, which came to B through the
    # listener, may arrive after the subscription: skip it)
    while True:
        ev = watcher.next_event("presence.changed", timeout=10)
        if ev["data"]["online"] is False:
            break
    assert ev["data"]["account"]["id"] == reader.account["id"], ev
    again = on_node(node_b, world.owner)
    r = again.call("circle.subscribe", {"circle": world.circle})
    assert reader.account["id"] not in {
        p["account"]["id"] for p in r["presence"]}, r["presence"]
    watcher.close()
    again.close()


def test_member_on_two_nodes_stays_online_until_the_last_tab(server, node_b,
                                                             world):
    """A member with a tab on each node closes the one on A: subscribers
    on B hear where the member still reads (online), not that they left;
    closing the tab on B then announces them offline."""
    member = world.join("twotabs")
    tab_a = member
    tab_b = on_node(node_b, member)
    watcher = on_node(node_b, world.owner)
    watcher.call("circle.subscribe", {"circle": world.circle})
    tab_a.call("presence.set", {"circle": world.circle,
                                "chapter": world.chapters[0]})
    tab_b.call("presence.set", {"circle": world.circle,
                                "chapter": world.chapters[2]})
    mine = member.account["id"]

    def next_of_member():
        while True:
            ev = watcher.next_event("presence.changed", timeout=10)
            if ev["data"]["account"]["id"] == mine:
                return ev["data"]

    # the two presence.set announcements
    assert next_of_member()["online"] is True
    assert next_of_member()["online"] is True
    tab_a.close()
    d = next_of_member()
    assert d["online"] is True, d
    assert d["chapter"] == world.chapters[2], d
    tab_b.close()
    d = next_of_member()
    assert d["online"] is False, d
    watcher.close()


def test_account_events_reach_the_accounts_connections_on_every_node(
        server, node_b, world):
    """notification.created goes to every connection of the account it is
    for (RPC_OUT_ACCOUNT), on the writer's node and on the others: a reply
    written on node A reaches the thread's author on node B live, once,
    and nobody else there."""
    author = world.join("nauthor")
    replier = world.join("nreplier")
    a = author.call("annotation.create", {
        "circle": world.circle, "chapter": world.chapters[0],
        "body": "a thread on node A", "target": None,
        "visibility": "circle"})
    on_a = author
    on_b = on_node(node_b, author)
    bystander = on_node(node_b, world.owner)
    r = replier.call("reply.create", {"annotation": a["id"],
                                      "body": "an answer from node A"})
    for c in (on_a, on_b):
        ev = c.next_event("notification.created", timeout=10)
        n = ev["data"]
        assert n["kind"] == "reply", n
        assert n["data"]["annotation"] == a["id"]
        assert n["data"]["reply"] == r["id"]
    # once each, and not to another account's connection on node B
    assert not [e for e in on_b.drain_events(1.0)
                if e.get("type") == "notification.created"]
    assert not [e for e in bystander.drain_events(0.2)
                if e.get("type") == "notification.created"]
    on_b.close()
    bystander.close()


def test_searches_on_two_nodes_add_up(server, node_b, world):
    """The per-member search limit counts a member's searches on every
    node: half on each node reach it, and then both nodes refuse (each
    node alone has seen only half)."""
    searcher = world.join("searcher")
    on_b = on_node(node_b, searcher)
    q = {"circle": world.circle, "q": "pioneers"}
    for i in range(SEARCHES):
        (searcher if i % 2 else on_b).call("search", q)
    for c in (searcher, on_b):
        e = c.error("search", q)
        assert e["code"] == RATE_LIMITED, e
        assert e["data"]["retry_after_ms"] > 0, e
    on_b.close()


def test_a_crashed_nodes_members_expire(tmp_path_factory):
    """A node killed with -9 cannot delete its presence rows: a live node
    ignores them once idle (the subscribe list) and its tick deletes them
    after twice the idle limit, announcing the member offline. Two nodes
    of their own with a 1-second idle limit."""
    env = {"SCHOLIA_PRESENCE_IDLE": "1"}
    live = Server(tmp_path_factory.mktemp("live"), env=env)
    live.start()
    doomed = Server(tmp_path_factory.mktemp("doomed"), db=live.db, env=env)
    doomed.start()
    try:
        w = build_world(live)
        member = w.join("crashing")
        reader = on_node(doomed, member)
        watcher = w.owner
        watcher.call("circle.subscribe", {"circle": w.circle})
        reader.call("presence.set", {"circle": w.circle,
                                     "chapter": w.chapters[0]})
        doomed.kill()   # well within the idle limit: its tick never ran
        mine = member.account["id"]
        seen = []
        while True:
            ev = watcher.next_event("presence.changed", timeout=15)
            seen.append(ev["data"])
            if ev["data"]["account"]["id"] == mine and \
                    ev["data"]["online"] is False:
                break
        assert seen[0]["online"] is True, seen
        r = watcher.call("circle.subscribe", {"circle": w.circle})
        assert mine not in {p["account"]["id"] for p in r["presence"]}
        watcher.close()
    finally:
        live.stop()
        live.assert_clean_exit()
