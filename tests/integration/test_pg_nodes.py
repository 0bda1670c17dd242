"""Three nodes on one PostgreSQL database (issue 22, items 2 and 5): seq
order and exactly-once delivery across nodes under concurrent writers on
two and on all three nodes, a client moving from node 1 to node 3 with
since_seq, a listener that lost its connection catching up (net/fanout.c's
delivery gate, bus/listen.c's catch-up), and kill -9 of a node losing no
acknowledged write (its subscribers on the other nodes get every stored
event once, and its own catch up with since_seq once it is back).

Runs in the integration_pg pass only (SCHOLIA_TEST_DB=pg, tests/
CMakeLists.txt); its nodes and their database come from
conftest.node_fixtures() (a throwaway cluster: harness.pg_cluster()).
"""
import signal
import threading
import time

import harness
from conftest import node_fixtures, pg_only
from pipeline import PipelinedWriter

pytestmark = pg_only

WRITERS_PER_NODE = 3
POSTS_EACH = 15

# three nodes on one database (node A is `server`, node B `node_b`, node C
# nodes[2]); the post limit is out of the way of the writers below
nodes, server, node_b, world = node_fixtures(
    n=3, env={"SCHOLIA_POSTS_PER_MINUTE": "1000000"})


def join(world, node, prefix):
    return world.join(prefix, node=node)


def subscribe(client, circle):
    r = client.call("circle.subscribe", {"circle": circle})
    return r["seq"]


def seq_events(client, circle, want, timeout):
    """The events of circle with a seq that client receives until it has
    want of them (or timeout), then whatever else arrives shortly."""
    got = []
    deadline = time.time() + timeout
    while len(got) < want and time.time() < deadline:
        for ev in client.drain_events(0.2):
            if ev.get("circle") == circle and "seq" in ev:
                got.append(ev)
    got += [ev for ev in client.drain_events(0.5)
            if ev.get("circle") == circle and "seq" in ev]
    return got


def test_concurrent_writers_on_both_nodes_in_order_once_each(
        server, node_b, world):
    """Writers on both nodes post into one circle at once; every
    subscriber on both nodes gets every event exactly once, seq rising by
    one from the seq its subscribe answered."""
    writers = ([join(world, server, "wa") for _ in range(WRITERS_PER_NODE)]
               + [join(world, node_b, "wb")
                  for _ in range(WRITERS_PER_NODE)])
    subs = [join(world, node, "s%s" % name)
            for node, name in ((server, "a"), (server, "a"),
                               (node_b, "b"), (node_b, "b"))]
    starts = [subscribe(c, world.circle) for c in subs]
    ch = world.chapters[0]
    ids, lock, errors = set(), threading.Lock(), []

    def write(c):
        try:
            for i in range(POSTS_EACH):
                a = c.call("annotation.create", {
                    "circle": world.circle, "chapter": ch,
                    "body": "%s %d" % (c.handle, i),
                    "visibility": "circle", "target": None})
                with lock:
                    ids.add(a["id"])
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=write, args=(c,)) for c in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    total = len(writers) * POSTS_EACH
    assert len(ids) == total
    for c, start in zip(subs, starts):
        evs = seq_events(c, world.circle, total, timeout=30)
        seqs = [e["seq"] for e in evs]
        assert seqs == list(range(start + 1, start + 1 + len(seqs))), (
            c.handle, start, seqs)
        created = {e["data"]["id"] for e in evs
                   if e["type"] == "annotation.created"}
        assert created == ids, (c.handle, len(created), total)
    for c in writers + subs:
        c.close()


def test_listener_catches_up_after_losing_its_connection(server, node_b,
                                                        world):
    """The listeners' connections are cut; what node A stores meanwhile
    still reaches a subscriber on node B once its listener is back."""
    reader = join(world, node_b, "lb")
    writer = join(world, server, "la")
    start = subscribe(reader, world.circle)
    cluster = harness.pg_cluster()
    db = server.db.rsplit("/", 1)[1]
    killed = cluster.psql(
        db, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = current_database() AND query LIKE 'LISTEN%'"
        " AND pid <> pg_backend_pid()").split()
    assert killed and all(k == "t" for k in killed), killed
    ch = world.chapters[0]
    ids = [writer.call("annotation.create", {
        "circle": world.circle, "chapter": ch, "body": "meanwhile %d" % i,
        "visibility": "circle", "target": None})["id"] for i in range(3)]
    evs = seq_events(reader, world.circle, 3, timeout=15)
    assert [e["seq"] for e in evs] == [start + 1, start + 2, start + 3], evs
    assert [e["data"]["id"] for e in evs] == ids
    # and live delivery goes on over the new connection
    a = writer.call("annotation.create", {
        "circle": world.circle, "chapter": ch, "body": "after",
        "visibility": "circle", "target": None})
    evs = seq_events(reader, world.circle, 1, timeout=10)
    assert [(e["seq"], e["data"]["id"]) for e in evs] == [(start + 4,
                                                          a["id"])]
    reader.close()
    writer.close()


# ---- helpers of the tests below ----

def psql(node, sql):
    """sql's rows in the nodes' database, each a list of strings."""
    out = harness.pg_cluster().psql(node.db.rsplit("/", 1)[1], sql)
    return [line.split("|") for line in out.splitlines() if line]


def circle_seqs(node, circle):
    """(count, min, max) of the circle's events in the database."""
    [row] = psql(node, "SELECT count(*), coalesce(min(seq), 0), "
        "coalesce(max(seq), 0) FROM events WHERE circle = %d" % circle)
    return tuple(int(v) for v in row)


def events_until(client, circle, last, timeout=30):
    """The circle's events (those with a seq) that client receives until
    one at `last` or later has come (or timeout), then whatever else
    arrives shortly after: a duplicate or a stray event would."""
    got = []
    deadline = time.time() + timeout
    while max([e["seq"] for e in got] or [0]) < last and \
            time.time() < deadline:
        got += [ev for ev in client.drain_events(0.2)
                if ev.get("circle") == circle and "seq" in ev]
    got += [ev for ev in client.drain_events(0.5)
            if ev.get("circle") == circle and "seq" in ev]
    return got


def assert_stream(who, evs, start, last, created):
    """evs is exactly the events start+1 .. last, in seq order, once
    each, and their annotation.created and reply.created ids are exactly
    `created` {("annotation"|"reply", id)} (when given)."""
    seqs = [e["seq"] for e in evs]
    assert seqs == list(range(start + 1, last + 1)), (who, start, last,
                                                      seqs)
    if created is not None:
        got = [(e["type"].split(".")[0], e["data"]["id"]) for e in evs
               if e["type"] in ("annotation.created", "reply.created")]
        assert len(got) == len(set(got)), (who, "an item twice")
        assert set(got) == created, (who, len(got), len(created),
                                     sorted(created - set(got))[:5],
                                     sorted(set(got) - created)[:5])


def move_to(node, client, circle, since_seq):
    """The same account on another node: a new connection resumes the
    session and subscribes with since_seq. Returns (client, the events
    the subscribe replayed, the seq it answered)."""
    c = node.client()
    c.call("auth.resume", {"token": client.token})
    c.handle, c.token = client.handle, client.token
    r = c.call("circle.subscribe", {"circle": circle,
                                    "since_seq": since_seq})
    assert not r.get("resync"), r
    return c, r["events"], r["seq"]


def test_three_nodes_every_subscriber_once_in_order_and_a_client_moves(
        nodes, world):
    """Three nodes on one database, two writers and two subscribers on
    each, all at once: every subscriber gets every event exactly once, seq
    rising by one from its subscribe's. Meanwhile a client on node 1 that
    has handled part of the stream moves to node 3 and subscribes there
    with since_seq = the last seq it handled: the replay and the live
    stream after it bring the rest, none lost, none twice."""
    circle, ch = world.circle, world.chapters[0]
    writers = [join(world, node, "w%d" % i)
               for i, node in enumerate(nodes) for _ in range(2)]
    subs = [join(world, node, "s%d" % i)
            for i, node in enumerate(nodes) for _ in range(2)]
    mover = join(world, nodes[0], "mover")
    starts = [subscribe(c, circle) for c in subs]
    mover_start = subscribe(mover, circle)
    half = POSTS_EACH // 2
    phase1 = threading.Barrier(len(writers) + 1)
    moved = threading.Event()
    ids, lock, errors = set(), threading.Lock(), []

    def write(c):
        try:
            for i in range(POSTS_EACH):
                if i == half:   # the first half is in; wait for the move
                    phase1.wait(60)
                    assert moved.wait(60), "the client never moved"
                a = c.call("annotation.create", {
                    "circle": circle, "chapter": ch,
                    "body": "%s %d" % (c.handle, i),
                    "visibility": "circle", "target": None})
                with lock:
                    ids.add(("annotation", a["id"]))
        except Exception as e:  # reported below
            errors.append(e)
            phase1.abort()

    threads = [threading.Thread(target=write, args=(c,)) for c in writers]
    for t in threads:
        t.start()
    try:
        try:
            phase1.wait(120)
        except threading.BrokenBarrierError:
            raise AssertionError("a writer failed: %r" % errors)
        # the mover has handled half of the first half's events (the rest
        # it received, or not, is dropped with its connection) and moves
        # while the second half is being written
        handled = half * len(writers) // 2
        seen = events_until(mover, circle, mover_start + handled)[:handled]
        assert_stream("mover on node 1", seen, mover_start,
                      mover_start + handled, None)
        mover.close()
    finally:
        moved.set()
    moved_c, replayed, at = move_to(nodes[2], mover, circle,
                                    mover_start + handled)
    for t in threads:
        t.join(120)
        assert not t.is_alive()
    assert not errors, errors
    assert len(ids) == len(writers) * POSTS_EACH
    count, low, last = circle_seqs(nodes[0], circle)
    assert count == last - low + 1   # no hole in the database either
    for c, start in zip(subs, starts):
        assert_stream(c.handle, events_until(c, circle, last), start, last,
                      ids)
    # replayed: what was stored up to the subscribe; then live after it
    assert [e["seq"] for e in replayed] == list(
        range(mover_start + handled + 1, at + 1)), (at, replayed)
    live = events_until(moved_c, circle, last)
    assert_stream("mover on node 3", seen + replayed + live, mover_start,
                  last, ids)
    for c in writers + subs + [moved_c]:
        c.close()


IN_FLIGHT = 4


class Writer(PipelinedWriter):
    """Posts annotations and replies to its own annotations, IN_FLIGHT
    requests at a time, until its connection goes; keeps what was
    acknowledged: acked {("annotation"|"reply", id)}, bodies {key: body},
    parents {reply id: annotation id}."""

    def __init__(self, client, circle, chapter):
        super().__init__(client, circle, chapter, IN_FLIGHT)
        self.acked, self.bodies, self.parents = set(), {}, {}

    def acknowledged(self, kind, post_id, annotation, body):
        key = (kind, post_id)
        self.bodies[key] = body
        if kind == "reply":
            self.parents[post_id] = annotation
        self.acked.add(key)   # last: counted once complete


def test_kill_9_of_a_node_loses_no_acknowledged_write(nodes, world):
    """Writers on node A post annotations and replies, subscribers listen
    on nodes A, B and C; node A is killed with SIGKILL while requests are
    in flight. Every write A acknowledged is in the database (read through
    node B), and every subscriber on B and C got every stored event once,
    in seq order, without a gap. Node A restarted on the same database
    serves again: its former subscribers catch up with since_seq, and
    live delivery goes both ways."""
    node_a, node_b, node_c = nodes
    circle, ch = world.circle, world.chapters[0]
    clients = [join(world, node_a, "kw") for _ in range(3)]
    subs_a = [join(world, node_a, "ka") for _ in range(2)]
    subs_bc = [join(world, node, "kb") for node in (node_b, node_b, node_c)]
    starts_a = [subscribe(c, circle) for c in subs_a]
    starts_bc = [subscribe(c, circle) for c in subs_bc]
    writers = [Writer(c, circle, ch) for c in clients]
    for t in writers:
        t.start()
    deadline = time.time() + 60
    while sum(len(t.acked) for t in writers) < 40 and \
            time.time() < deadline:
        time.sleep(0.01)
    assert all(t.is_alive() for t in writers), \
        [t.failure for t in writers]
    node_a.proc.send_signal(signal.SIGKILL)  # requests are in flight
    node_a.proc.wait(30)
    for t in writers:
        t.join(60)
        assert not t.is_alive()
        assert t.failure is None, t.failure
    acked, bodies, parents = set(), {}, {}
    for t in writers:
        acked |= t.acked
        bodies.update(t.bodies)
        parents.update(t.parents)
    assert len(acked) >= 40 and any(k == "reply" for k, _ in acked)

    # every acknowledged write is stored, read through node B
    reader = node_b.client()
    reader.call("auth.resume", {"token": world.owner.token})
    for kind, aid in sorted(k for k in acked if k[0] == "annotation"):
        a = reader.call("annotation.get", {"annotation": aid})
        assert a["body"] == bodies[(kind, aid)] and not a["deleted"], a
        replies = {r["id"]: r["body"] for r in a["replies"]}
        for (rk, rid), parent in ((k, parents.get(k[1])) for k in acked
                                  if k[0] == "reply"):
            if parent == aid:
                assert replies.get(rid) == bodies[(rk, rid)], (aid, rid)
    count, low, last = circle_seqs(nodes[0], circle)
    assert count == last - low + 1   # seq has no hole
    # the events stored are those of the acknowledged writes and perhaps
    # a few more (committed, the answer lost with the node)
    stored = {(t.split(".")[0], int(i)) for t, i in psql(
        node_b, "SELECT type, item_id FROM events WHERE circle = %d AND "
        "seq > %d AND type IN ('annotation.created', 'reply.created')"
        % (circle, min(starts_a + starts_bc)))}
    assert acked <= stored and len(stored) - len(acked) <= \
        IN_FLIGHT * len(writers)
    # and nothing half exists: every post of the circle has its event and
    # every such event its post
    rows = {("annotation", int(i)) for [i] in psql(
        node_b, "SELECT id FROM annotations WHERE circle = %d" % circle)}
    rows |= {("reply", int(i)) for [i] in psql(
        node_b, "SELECT r.id FROM replies r JOIN annotations a ON a.id ="
        " r.annotation WHERE a.circle = %d" % circle)}
    assert rows == {(t.split(".")[0], int(i)) for t, i in psql(
        node_b, "SELECT type, item_id FROM events WHERE circle = %d AND "
        "type IN ('annotation.created', 'reply.created')" % circle)}
    print("kill -9: %d writes acknowledged, %d stored" % (len(acked),
                                                         len(stored)))
    # each subscriber on B and C got all of them, once, in order
    for c, start in zip(subs_bc, starts_bc):
        assert_stream(c.handle, events_until(c, circle, last), start, last,
                      stored)

    # node A again, on the same database and port
    for c in subs_a:
        c.wait_closed(10)
    node_a.stop()
    node_a.start()
    moved = []
    for c, start in zip(subs_a, starts_a):
        before = [e for e in c.drain_events(0)
                  if e.get("circle") == circle and "seq" in e]
        since = before[-1]["seq"] if before else start
        assert_stream(c.handle + " before the kill", before, start, since,
                      None)
        again, replayed, at = move_to(node_a, c, circle, since)
        assert at == last
        assert_stream(c.handle + " after the restart", before + replayed,
                      start, last, stored)
        moved.append(again)
    # live both ways: node B to the restarted A, and A to B and C
    post = {"circle": circle, "chapter": ch, "body": "after the restart",
            "visibility": "circle", "target": None}
    from_b = subs_bc[0].call("annotation.create", post)
    writer_a = node_a.client()
    writer_a.call("auth.resume", {"token": clients[0].token})
    from_a = writer_a.call("annotation.create", post)
    expect = {("annotation", from_b["id"]), ("annotation", from_a["id"])}
    for c in moved + subs_bc:
        assert_stream(c.handle + " live", events_until(c, circle, last + 2),
                      last, last + 2, expect)
    for c in clients + subs_a + subs_bc + moved + [reader, writer_a]:
        c.close()
