"""State that must hold across nodes sharing one PostgreSQL database
(issue 22, docs/scaling.md "What is shared between nodes"): the per-minute
post limit counted over every node's posts.

Runs in the integration_pg pass only (SCHOLIA_TEST_DB=pg, tests/
CMakeLists.txt); its nodes and their database come from
conftest.node_fixtures() (a throwaway cluster: harness.pg_cluster()).
"""
from conftest import node_fixtures, pg_only

pytestmark = pg_only

LIMIT = 6
ENV = {"SCHOLIA_POSTS_PER_MINUTE": str(LIMIT)}

# node A (`server`) and node B on one database, both with the limit above;
# bob is a member on node A
nodes, server, node_b, world = node_fixtures(env=ENV, members=("bob",))


def on_node(node, client):
    """The same account signed in on another node (sessions are shared)."""
    c = node.client()
    c.call("auth.resume", {"token": client.token})
    return c


def post(c, world, body):
    return {"circle": world.circle, "chapter": world.chapters[0],
            "body": body, "visibility": "circle", "target": None}


def test_post_limit_counts_posts_on_every_node(server, node_b, world):
    """A member posting alternately on two nodes is limited by the posts
    of both: the limit-th post (counted over both nodes) is the last
    accepted, on whichever node the next one lands."""
    on_a = world.bob
    on_b = on_node(node_b, world.bob)
    for i in range(LIMIT):
        c = on_a if i % 2 == 0 else on_b
        c.call("annotation.create", post(c, world, "post %d" % i))
    for c in (on_a, on_b):
        err = c.error("annotation.create", post(c, world, "one too many"))
        assert err["code"] == -32029, err
        assert err["data"]["retry_after_ms"] >= 1000, err
    # another member is not limited by bob's posts
    carol = world.join("carol")
    carol.call("annotation.create", post(carol, world, "carol's"))
    on_b.close()


def test_slow_mode_counts_the_post_on_the_other_node(server, node_b, world):
    """Slow mode waits from the member's last post on any node."""
    world.owner.call("mod.slow", {"circle": world.circle, "seconds": 600})
    try:
        dave = world.join("dave")
        on_b = on_node(node_b, dave)
        # a post on B that passes the gate but fails after it: B has
        # looked at dave's posts before the one on A
        bad = post(on_b, world, "bad target")
        bad["target"] = {"block": 999999, "start": 0, "end": 1}
        on_b.error("annotation.create", bad)
        dave.call("annotation.create", post(dave, world, "first, on A"))
        err = on_b.error("annotation.create", post(on_b, world, "on B"))
        assert err["code"] == -32010, err
        assert err["data"].get("slow_mode") is True, err
        on_b.close()
    finally:
        world.owner.call("mod.slow", {"circle": world.circle, "seconds": 0})


def test_presence_changes_reach_the_other_node(server, node_b, world):
    """A member reading on node A is announced to a subscriber on node B
    (presence.changed, no seq), and so is their leaving."""
    erin = world.join("erin")
    watcher = on_node(node_b, world.owner)
    watcher.call("circle.subscribe", {"circle": world.circle})
    watcher.drain_events(0.1)
    erin.call("presence.set", {"circle": world.circle,
                               "chapter": world.chapters[0]})
    ev = watcher.next_event("presence.changed", timeout=10)
    assert ev["data"]["account"]["id"] == erin.account["id"], ev
    assert ev["data"]["online"] is True
    assert ev["data"]["chapter"] == world.chapters[0]
    assert "seq" not in ev
    erin.close()        # a closed connection drops its presence at once
    ev = watcher.next_event("presence.changed", timeout=10)
    assert ev["data"]["account"]["id"] == erin.account["id"], ev
    assert ev["data"]["online"] is False
    watcher.close()
