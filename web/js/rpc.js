// rpc.js - the WebSocket JSON-RPC 2.0 client of SPEC §3.
//
// One connection to /ws (sub-protocol scholia.v1), authenticated by the
// session cookie during the upgrade. Calls return promises; server pushes
// (method "event") go to listeners. When the socket drops, calls in flight
// fail with code "disconnected" and the client reconnects by itself with a
// growing back-off; listeners of "open" then re-subscribe with since_seq
// (see live.js). The connection state is published for the indicator.

export class RpcError extends Error {
	constructor(code, message, data) {
		super(message || String(code));
		this.code = code;
		this.data = data;
	}
}

export class Rpc {
	constructor(url) {
		this.url = url;
		this.ws = null;
		this.nextId = 1;
		this.pending = new Map();
		this.listeners = { event: [], state: [], open: [] };
		this.state = 'connecting';
		this.backoff = 250;
		this.timer = null;
		this.waiters = [];
		this.stopped = false;
	}

	on(kind, fn) {
		this.listeners[kind].push(fn);
		return () => {
			this.listeners[kind] = this.listeners[kind].filter((f) => f !== fn);
		};
	}

	emit(kind, arg) {
		for (const fn of [...this.listeners[kind]]) {
			try {
				fn(arg);
			} catch (e) {
				console.error(e);
			}
		}
	}

	setState(s) {
		if (this.state === s)
			return;
		this.state = s;
		this.emit('state', s);
	}

	connect() {
		clearTimeout(this.timer);
		this.stopped = false;
		let ws;
		try {
			ws = new WebSocket(this.url, 'scholia.v1');
		} catch (e) {
			this.scheduleReconnect();
			return;
		}
		this.ws = ws;
		this.setState(this.state === 'online' ? 'reconnecting' : this.state);
		ws.addEventListener('open', () => {
			if (ws !== this.ws)
				return;
			this.backoff = 250;
			this.setState('online');
			const w = this.waiters;
			this.waiters = [];
			w.forEach((f) => f());
			this.emit('open');
		});
		ws.addEventListener('message', (ev) => this.onMessage(ev.data));
		ws.addEventListener('close', () => {
			if (ws !== this.ws)
				return;
			this.ws = null;
			for (const [, p] of this.pending)
				p.reject(new RpcError('disconnected', 'Connection lost'));
			this.pending.clear();
			if (this.stopped)
				return;
			this.setState('reconnecting');
			this.scheduleReconnect();
		});
	}

	scheduleReconnect() {
		clearTimeout(this.timer);
		this.timer = setTimeout(() => this.connect(), this.backoff);
		this.backoff = Math.min(this.backoff * 2, 5000);
	}

	// Drops the socket and opens a new one at once (after sign-in the new
	// cookie authenticates the new upgrade).
	reconnect() {
		const old = this.ws;
		this.ws = null;
		if (old) {
			for (const [, p] of this.pending)
				p.reject(new RpcError('disconnected', 'Connection lost'));
			this.pending.clear();
			try {
				old.close(1000);
			} catch (e) { /* already closed */ }
		}
		this.backoff = 250;
		this.setState('connecting');
		this.connect();
	}

	onMessage(text) {
		let msg;
		try {
			msg = JSON.parse(text);
		} catch (e) {
			return;
		}
		for (const m of Array.isArray(msg) ? msg : [msg]) {
			if (m && m.method === 'event' && m.params) {
				this.emit('event', m.params);
				continue;
			}
			if (!m || m.id === undefined || m.id === null)
				continue;
			const p = this.pending.get(m.id);
			if (!p)
				continue;
			this.pending.delete(m.id);
			if (m.error)
				p.reject(new RpcError(m.error.code, m.error.message, m.error.data));
			else
				p.resolve(m.result);
		}
	}

	ready() {
		if (this.ws && this.ws.readyState === WebSocket.OPEN)
			return Promise.resolve();
		return new Promise((resolve) => this.waiters.push(resolve));
	}

	async call(method, params = {}) {
		await this.ready();
		const id = this.nextId++;
		const ws = this.ws;
		return new Promise((resolve, reject) => {
			this.pending.set(id, { resolve, reject });
			try {
				ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
			} catch (e) {
				this.pending.delete(id);
				reject(new RpcError('disconnected', 'Connection lost'));
			}
		});
	}

	// Calls a list method and follows its cursor (bounded).
	async all(method, params = {}, max = 20) {
		const items = [];
		let cursor = null;
		for (let i = 0; i < max; i++) {
			const p = cursor ? { ...params, cursor } : params;
			const r = await this.call(method, p);
			if (Array.isArray(r))
				return r;
			items.push(...((r && r.items) || []));
			cursor = r && r.next;
			if (!cursor)
				break;
		}
		return items;
	}
}
