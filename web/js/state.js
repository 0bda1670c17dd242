// state.js - the app's shared state: the RPC connection, the signed-in
// account, live subscriptions with since_seq catch-up, and a small cache.

import { Rpc } from './rpc.js';

const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
export const rpc = new Rpc(`${proto}//${location.host}/ws`);

export const app = {
	me: null,          // account {id, handle, display_name, is_admin}
	books: new Map(),  // id -> book
	tocs: new Map(),   // book id -> book.toc
	unread: 0,
};

// circle id -> {seq, handlers:Set}
const subs = new Map();
const circleListeners = new Set();

// Subscribes to a circle's events (once per circle) and calls fn for each
// event, and fn({type:'resync'}) when missed events cannot be replayed.
export function subscribe(circle, fn) {
	circle = Number(circle);
	let s = subs.get(circle);
	if (!s) {
		s = { seq: null, handlers: new Set(), live: false };
		subs.set(circle, s);
	}
	s.handlers.add(fn);
	if (!s.live)
		doSubscribe(circle, s);
	return () => {
		s.handlers.delete(fn);
	};
}

async function doSubscribe(circle, s) {
	s.live = true;
	try {
		const params = { circle };
		if (s.seq !== null)
			params.since_seq = s.seq;
		const r = await rpc.call('circle.subscribe', params);
		if (r && r.resync) {
			s.seq = r.seq ?? s.seq;
			if (Array.isArray(r.presence))
				dispatch(circle, { type: 'presence.snapshot', circle, data: r.presence });
			dispatch(circle, { type: 'resync', circle });
			return;
		}
		if (r && Array.isArray(r.presence))
			dispatch(circle, { type: 'presence.snapshot', circle, data: r.presence });
		for (const ev of (r && r.events) || [])
			handle(ev);
		if (r && typeof r.seq === 'number' && (s.seq === null || r.seq > s.seq))
			s.seq = r.seq;
	} catch (e) {
		s.live = false;
	}
}

function dispatch(circle, ev) {
	const s = subs.get(circle);
	if (s)
		for (const fn of [...s.handlers])
			fn(ev);
	for (const fn of [...circleListeners])
		fn(ev);
}

function handle(ev) {
	if (!ev || !ev.type)
		return;
	const circle = Number(ev.circle);
	const s = subs.get(circle);
	if (s && typeof ev.seq === 'number') {
		if (s.seq !== null && ev.seq <= s.seq)
			return; // already seen (replay overlap)
		s.seq = ev.seq;
	}
	dispatch(circle, ev);
}

export function onAnyEvent(fn) {
	circleListeners.add(fn);
	return () => circleListeners.delete(fn);
}

rpc.on('event', handle);

// After every reconnect: catch up on each circle we follow.
rpc.on('open', () => {
	for (const [circle, s] of subs) {
		s.live = false;
		if (s.handlers.size)
			doSubscribe(circle, s);
	}
});

export function resetSubscriptions() {
	subs.clear();
}

export async function book(id) {
	if (!app.books.size) {
		try {
			for (const b of await rpc.all('book.list'))
				app.books.set(Number(b.id), b);
		} catch (e) { /* shown by callers */ }
	}
	return app.books.get(Number(id)) || null;
}

export async function toc(bookId) {
	bookId = Number(bookId);
	if (!app.tocs.has(bookId))
		app.tocs.set(bookId, await rpc.call('book.toc', { book: bookId }));
	return app.tocs.get(bookId);
}

// Flattened chapters of a toc in reading order, with their part title.
// "1. A Town of Flannel and Cotton": the book's own number, once (the
// lists that show it are not numbered by the browser); a title that starts
// with a number of its own ("1. The Regime", "IV: Exile") is shown alone,
// so that no chapter reads "3. 1. The Regime".
export function chapterLabel(x) {
	const own = /^(\d+|[IVXLC]+)[.:)]\s/.test(x.title || '');
	return x.number && !own ? `${x.number}. ${x.title}` : x.title;
}

// [{title, chapters}] in reading order: the book's parts, front and back
// matter as parts without a title.
export function partsOf(chs) {
	const out = [];
	for (const c of chs) {
		const last = out[out.length - 1];
		if (last && last.title === (c.part || null))
			last.chapters.push(c);
		else
			out.push({ title: c.part || null, chapters: [c] });
	}
	return out;
}

export function chaptersOf(t) {
	const out = [];
	for (const p of (t && t.parts) || [])
		for (const c of p.chapters || [])
			out.push({ ...c, part: p.title, order: out.length + 1 });
	return out;
}
