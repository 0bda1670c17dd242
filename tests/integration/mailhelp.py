"""Helpers shared by the mail tests: a server wired to a loopback SMTP sink,
and accounts with a verified address."""
import re

from harness import Server
from smtpsink import SmtpSink, text_of

PUBLIC = "http://scholia.test"
REPLY_DOMAIN = "reply.scholia.test"


def mail_server(tmp, extra=None, sink=None):
    sink = sink or SmtpSink().start()
    srv = Server(tmp, extra_args=[
        "--smtp-url", "smtp://127.0.0.1:%d" % sink.port,
        "--mail-from", "Scholia <noreply@scholia.test>",
        "--reply-to-domain", REPLY_DOMAIN,
        "--public-url", PUBLIC,
        "--mail-batch-window", "2",
        "--digest-hour", "-1"] + list(extra or []))
    return srv, sink


def link_in(msg, kind):
    """The token of the first <PUBLIC>/#/<kind>/<token> link in a mail."""
    m = re.search(re.escape(PUBLIC) + r"/#/" + kind + r"/([A-Za-z0-9_-]+)",
                  text_of(msg))
    assert m, "no %s link in:\n%s" % (kind, text_of(msg))
    return m.group(1)


def verified(server, sink, prefix="reader"):
    """A signed-in client whose address <handle>@example.org is verified."""
    c = server.new_account(prefix)
    c.email = "%s@example.org" % c.handle
    c.call("account.update", {"email": c.email})
    msg = sink.wait_for(lambda m: m.to == c.email)[-1]
    c.call("auth.verify_email", {"token": link_in(msg, "verify")})
    return c
