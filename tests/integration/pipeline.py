"""A writer that keeps several posts in flight on one connection, for the
tests that kill a server mid-stream (test_reliability.py, test_pg_nodes.py)
and then check that every acknowledged write exists and nothing half does.

    class Mine(PipelinedWriter):
        def acknowledged(self, kind, post_id, annotation, body): ...

    w = Mine(client, circle, chapter); w.start()

It posts annotation.create and, every second message once it has threads of
its own, reply.create to one of them; acknowledged() is called for each
write the server acknowledged, in the order the answers came. It stops when
the connection goes (the server was killed: what was not acknowledged may
or may not exist) and keeps any other failure in .failure for the test.
"""
import json
import threading

from websockets.exceptions import ConnectionClosed

from wsclient import Closed

IN_FLIGHT = 4


class PipelinedWriter(threading.Thread):

    def __init__(self, client, circle, chapter, in_flight=IN_FLIGHT):
        super().__init__(daemon=True)
        self.c, self.circle, self.chapter = client, circle, chapter
        self.in_flight = in_flight
        self.mine = []          # its own acknowledged annotations
        self.failure = None
        self.n = 0

    def body(self, rid):
        """The body of the rid-th message (subclasses vary it)."""
        return "%s %d" % (getattr(self.c, "handle", "writer"), rid)

    def pick_thread(self, rid):
        """Which of its annotations a reply goes to."""
        return self.mine[rid % len(self.mine)]

    def acknowledged(self, kind, post_id, annotation, body):
        """Called for each acknowledged write ("annotation" or "reply")."""

    def _message(self, rid):
        self.n += 1
        body = self.body(rid)
        if self.mine and rid % 2 == 0:
            ann = self.pick_thread(rid)
            return ({"jsonrpc": "2.0", "id": rid, "method": "reply.create",
                     "params": {"annotation": ann, "body": body}},
                    ("reply", ann, body))
        return ({"jsonrpc": "2.0", "id": rid, "method": "annotation.create",
                 "params": {"circle": self.circle, "chapter": self.chapter,
                            "target": None, "visibility": "circle",
                            "body": body}},
                ("annotation", None, body))

    def run(self):
        rid = 0
        try:
            while True:
                sent = {}
                for _ in range(self.in_flight):
                    rid += 1
                    msg, what = self._message(rid)
                    sent[rid] = what
                    self.c.send_text(json.dumps(msg))
                while sent:
                    r = self.c.recv_json(timeout=30)
                    what = sent.pop(r.get("id"), None)
                    if what is None:
                        continue
                    assert "result" in r, r
                    kind, ann, body = what
                    if kind == "annotation":
                        self.mine.append(r["result"]["id"])
                    self.acknowledged(kind, r["result"]["id"], ann, body)
        except (Closed, ConnectionClosed, OSError, TimeoutError):
            pass   # the server went away: unacknowledged writes may exist
        except Exception as e:  # an error answer: reported by the test
            self.failure = e
