"""A real SMTP server on loopback that records what it receives, for the
mail tests (Debian's python3-aiosmtpd).

    sink = SmtpSink(); sink.start()      # sink.port
    sink.fail_with("451 4.3.0 try again later")   # every RCPT refused
    sink.fail_with(None)                 # accepting again
    msgs = sink.wait_for(lambda m: m.to == "a@example.org")
    sink.stop()

Each recorded message is an email.message.EmailMessage with .to (the
envelope recipient), .mail_from and .raw (bytes). Run as a script it
listens on the given port and prints each message (for trying a server by
hand): python3 tests/integration/smtpsink.py 2525
"""
import email
import email.policy
import sys
import threading
import time

from aiosmtpd.controller import Controller


class _Handler:
    def __init__(self, sink):
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.sink.lock:
            self.sink.rcpt_attempts += 1
            fail = self.sink.failure
        if fail:
            return fail
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode()
        for rcpt in envelope.rcpt_tos:
            m = email.message_from_bytes(raw, policy=email.policy.default)
            m.to = rcpt
            m.mail_from = envelope.mail_from
            m.raw = raw
            with self.sink.lock:
                self.sink.messages.append(m)
        return "250 Message accepted"

    async def handle_AUTH(self, server, session, envelope, args):
        with self.sink.lock:
            self.sink.auth_seen = True
        return "535 no"


class SmtpSink:
    def __init__(self, port=0):
        self.messages = []
        self.failure = None
        self.rcpt_attempts = 0
        self.auth_seen = False
        self.lock = threading.Lock()
        self.port = port or _free_port()
        self.controller = None

    def start(self):
        self.controller = Controller(_Handler(self), hostname="127.0.0.1",
                                     port=self.port)
        self.controller.start()
        return self

    def stop(self):
        if self.controller:
            self.controller.stop()
            self.controller = None

    def fail_with(self, reply):
        """reply: an SMTP reply such as "451 4.3.0 later", or None."""
        with self.lock:
            self.failure = reply

    def all(self):
        with self.lock:
            return list(self.messages)

    def to(self, addr):
        return [m for m in self.all() if m.to == addr]

    def wait_for(self, pred=lambda m: True, count=1, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = [m for m in self.all() if pred(m)]
            if len(got) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError("expected %d mail(s), got %d: %s" % (
            count, len([m for m in self.all() if pred(m)]),
            [(m.to, m["Subject"]) for m in self.all()]))


def _free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def text_of(msg, kind="plain"):
    """The text/plain (or text/html) part of a message, decoded."""
    part = msg.get_body(preferencelist=(kind,))
    return part.get_content() if part else ""


if __name__ == "__main__":
    sink = SmtpSink(int(sys.argv[1]) if len(sys.argv) > 1 else 2525).start()
    print("listening on 127.0.0.1:%d" % sink.port, flush=True)
    seen = 0
    try:
        while True:
            time.sleep(0.5)
            for m in sink.all()[seen:]:
                print("---", m.to, m["Subject"], flush=True)
            seen = len(sink.all())
    except KeyboardInterrupt:
        sink.stop()
