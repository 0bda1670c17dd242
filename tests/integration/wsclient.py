"""A small synchronous JSON-RPC 2.0 client over a real WebSocket.

It wraps Debian's python3-websockets (asyncio) in a background event loop so
tests read top to bottom. It is independent of the server's code, so framing
or protocol bugs in the server cannot hide behind a shared implementation.

    c = Client(url)
    c.call("server.info", {})            -> result, or raises RpcError
    c.request("x", {...})                -> the whole response object
    c.send_text("raw text")              -> sends a frame as is
    c.recv_json(timeout)                 -> next non-event message
    c.next_event(type=None, timeout=5)   -> next event params (or raises)
    c.close()
"""
import asyncio
import itertools
import json
import queue
import threading

import websockets

_loop = None
_loop_lock = threading.Lock()


def _get_loop():
    global _loop
    with _loop_lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            t = threading.Thread(target=_loop.run_forever, daemon=True)
            t.start()
        return _loop


class RpcError(Exception):
    def __init__(self, error):
        super().__init__("%s: %s" % (error.get("code"), error.get("message")))
        self.error = error
        self.code = error.get("code")
        self.data = error.get("data")


class Closed(Exception):
    pass


class Client:
    def __init__(self, url, origin=None, subprotocol="scholia.v1",
                 cookie=None, headers=None, max_size=16 * 1024 * 1024,
                 local_addr=None):
        self.url = url
        self.loop = _get_loop()
        self.messages = queue.Queue()   # responses and other non-events
        self.events = queue.Queue()     # event notifications' params
        self.ids = itertools.count(1)
        self.close_code = None
        self.close_reason = None
        self.closed = threading.Event()
        hdrs = dict(headers or {})
        if cookie:
            hdrs["Cookie"] = cookie
        kw = {"extra_headers": hdrs, "max_size": max_size,
              "ping_interval": None, "compression": None}
        if origin is not None:
            kw["origin"] = origin
        if local_addr is not None:   # e.g. ("127.0.0.2", 0): a proxy
            kw["local_addr"] = local_addr
        if subprotocol:
            kw["subprotocols"] = [subprotocol]
        async def _connect():
            return await websockets.connect(url, **kw)

        fut = asyncio.run_coroutine_threadsafe(_connect(), self.loop)
        self.ws = fut.result(10)
        self.subprotocol = self.ws.subprotocol
        asyncio.run_coroutine_threadsafe(self._reader(), self.loop)

    async def _reader(self):
        try:
            async for msg in self.ws:
                try:
                    obj = json.loads(msg)
                except ValueError:
                    self.messages.put(msg)
                    continue
                if isinstance(obj, dict) and obj.get("method") == "event":
                    self.events.put(obj.get("params"))
                else:
                    self.messages.put(obj)
        except websockets.ConnectionClosed:
            pass
        finally:
            self.close_code = self.ws.close_code
            self.close_reason = self.ws.close_reason
            self.closed.set()
            self.messages.put(None)

    def send_text(self, text):
        asyncio.run_coroutine_threadsafe(self.ws.send(text), self.loop).result(10)

    def send_bytes(self, data):
        asyncio.run_coroutine_threadsafe(self.ws.send(data), self.loop).result(10)

    def recv_json(self, timeout=10):
        try:
            m = self.messages.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError("no message within %ss" % timeout)
        if m is None:
            self.messages.put(None)
            raise Closed("connection closed (%s %s)" % (self.close_code, self.close_reason))
        return m

    def request(self, method, params=None, timeout=10):
        rid = next(self.ids)
        msg = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        self.send_text(json.dumps(msg))
        while True:
            m = self.recv_json(timeout)
            if isinstance(m, dict) and m.get("id") == rid:
                return m

    def call(self, method, params=None, timeout=10):
        r = self.request(method, params if params is not None else {}, timeout)
        if "error" in r:
            raise RpcError(r["error"])
        return r["result"]

    def error(self, method, params=None, timeout=10):
        """Calls and returns the error object; fails if the call succeeded."""
        r = self.request(method, params if params is not None else {}, timeout)
        assert "error" in r, "expected an error from %s, got %r" % (method, r)
        return r["error"]

    def next_event(self, type=None, timeout=5):
        """Returns the next event's params (skipping other types if type set)."""
        import time
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("no %s event within %ss" % (type or "", timeout))
            try:
                ev = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if type is None or ev.get("type") == type:
                return ev

    def drain_events(self, wait=0.2):
        """Returns every event that arrives within `wait` seconds."""
        out = []
        while True:
            try:
                out.append(self.events.get(timeout=wait))
            except queue.Empty:
                return out

    def wait_closed(self, timeout=10):
        if not self.closed.wait(timeout):
            raise TimeoutError("connection still open")
        return self.close_code

    def close(self):
        try:
            asyncio.run_coroutine_threadsafe(self.ws.close(), self.loop).result(5)
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()
