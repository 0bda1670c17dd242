"""Issue 14 contract deviations and smaller items about the protocol:
valid JSON that is not an object or array is -32600 (was -32700); a NUL
(\\u0000) in a string is -32602 naming the field (was -32700); plan.set's
due takes RFC 3339 UTC times as well as dates.
"""
import json


def test_scalar_json_is_an_invalid_request(server):
    with server.client() as c:
        for text in ('"just a string"', "42", "true", "null"):
            c.send_text(text)
            r = c.recv_json()
            assert r["error"]["code"] == -32600, (text, r)
            assert r["id"] is None
        c.send_text("{nope")
        assert c.recv_json()["error"]["code"] == -32700


def test_nul_in_a_string_names_the_field(server):
    c = server.new_account("nul")
    book = c.call("book.list", {})["items"][0]["id"]
    c.send_text('{"jsonrpc":"2.0","id":7,"method":"circle.create",'
                '"params":{"name":"a\\u0000b","book":%d}}' % book)
    r = c.recv_json()
    assert r["id"] == 7
    assert r["error"]["code"] == -32602
    assert r["error"]["data"]["field"] == "name"
    # nested too
    c.send_text('{"jsonrpc":"2.0","id":8,"method":"plan.set",'
                '"params":{"circle":1,"entries":[{"due":"x\\u0000"}]}}')
    r = c.recv_json()
    assert r["error"]["code"] == -32602
    assert r["error"]["data"]["field"] == "entries"
    # in the method name: not a valid request
    c.send_text('{"jsonrpc":"2.0","id":9,"method":"server.info\\u0000x"}')
    assert c.recv_json()["error"]["code"] == -32600
    assert c.call("server.info", {})   # the connection is fine
    c.close()


def test_plan_due_accepts_rfc3339_utc(server):
    c = server.new_account("plan")
    book = c.call("book.list", {})["items"][0]["id"]
    circle = c.call("circle.create", {"name": "P", "book": book})["id"]
    toc = c.call("book.toc", {"book": book})
    chs = [x["id"] for p in toc["parts"] for x in p["chapters"]]
    c.call("plan.set", {"circle": circle, "entries": [
        {"chapter": chs[0], "due": "2026-12-10T18:00:00Z"},
        {"chapter": chs[1], "due": "2026-12-17"},
        {"chapter": chs[2], "due": "2026-12-24T09:30:00.5Z"}]})
    got = c.call("plan.get", {"circle": circle})
    dues = [e["due"] for e in (got["entries"] if isinstance(got, dict)
                              else got)]
    assert dues == ["2026-12-10T18:00:00Z", "2026-12-17",
                    "2026-12-24T09:30:00.5Z"]
    for bad in ("2026-02-30T10:00:00Z", "2026-12-10T25:00:00Z",
                "2026-12-10T10:00:00", "2026-12-10 10:00:00Z", "tomorrow"):
        e = c.error("plan.set", {"circle": circle, "entries": [
            {"chapter": chs[0], "due": bad}]})
        assert e["code"] == -32602, bad
        assert e["data"]["field"] == "entries[0].due"
    c.close()
