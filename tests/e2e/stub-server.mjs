// A throw-away stand-in for `scholia serve`, for working on the web app
// before (or without) the real server: serves web/, POST/DELETE
// /api/session, and a /ws JSON-RPC endpoint with in-memory versions of the
// SPEC §3 methods the app calls. It is NOT what the e2e tests run against
// (they start the real binary); it only keeps UI work unblocked.
//   node stub-server.mjs [port]
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';

const here = path.dirname(fileURLToPath(import.meta.url));
const web = path.resolve(here, '../../web');
const content = path.resolve(here, '../../content/the-rochdale-pioneers');
const port = Number(process.argv[2] || 8099);
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const esc = (s) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

// Book from the sample content: blocks = paragraphs.
const files = fs.readdirSync(content).filter((f) => f.endsWith('.md')).sort();
const chapters = files.slice(0, 5).map((f, i) => {
	const src = fs.readFileSync(path.join(content, f), 'utf8');
	const paras = src.split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean);
	let title = f;
	const blocks = []; const html = []; const texts = []; let off = 0;
	for (const p of paras) {
		if (/^#{1,2} /.test(p) && title === f) { title = p.replace(/^#+ /, ''); continue; }
		const id = `b${blocks.length + 1}`;
		const t = p.replace(/\[\^([^\]]+)\]/g, '').replace(/[*_`]/g, '').replace(/^#+ |^> /gm, '').replace(/\n/g, ' ');
		const len = Array.from(t).length;
		blocks.push({ id, type: 'paragraph', start: off, end: off + len });
		texts.push(t);
		off += len + 2;
		const inner = esc(p.replace(/[*_`]/g, '').replace(/^#+ |^> /gm, '')).replace(/\[\^([^\]]+)\]/g, '<sup><a href="#fn-$1" id="fnref-$1">$1</a></sup>');
		html.push(/^\|/.test(p) ? `<table><tr><td data-block="${id}">${inner}</td></tr></table>` : `<p data-block="${id}">${inner}</p>`);
	}
	return { id: i + 1, book: 1, title, html: html.join('\n'), text: texts.join('\n\n'), blocks, edition: 1 };
});

const db = { accounts: [], sessions: new Map(), circles: [], members: [], anns: [], replies: [], invites: new Map(), seq: new Map(), events: [], flags: [], log: [], notes: [] };
let nextId = 100;
const E = (code, message, data) => Object.assign(new Error(message), { rpc: { code, message, data } });
const pub = (acc) => acc && { id: acc.id, handle: acc.handle, display_name: acc.display_name };
const conns = new Set();

function publish(circle, type, data) {
	const seq = (db.seq.get(circle) || 0) + 1;
	db.seq.set(circle, seq);
	const ev = { type, circle, seq, data };
	db.events.push(ev);
	for (const c of conns)
		if (c.subs.has(circle)) c.send({ jsonrpc: '2.0', method: 'event', params: ev });
}
const role = (circle, acc) => (db.members.find((m) => m.circle === circle && m.account === acc.id) || {}).role;
const view = (a, me) => {
	const r = { ...a, author: pub(db.accounts.find((x) => x.id === a.author)), reply_count: db.replies.filter((x) => x.annotation === a.id).length, my_reactions: [...(a.reacted[me.id] || [])], reactions: counts(a) };
	delete r.reacted;
	if (a.hidden && !['owner', 'moderator'].includes(role(a.circle, me)) && a.author !== me.id) { r.body = null; r.body_html = null; }
	return r;
};
const counts = (x) => { const c = {}; for (const s of Object.values(x.reacted)) for (const k of s) c[k] = (c[k] || 0) + 1; return c; };
const md = (s) => '<p>' + esc(s).replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>').replace(/\*([^*]+)\*/g, '<em>$1</em>').replace(/\n/g, '<br>') + '</p>';

const methods = {
	'server.info': () => ({ version: 'stub', limits: {} }),
	'auth.register': (p, c) => {
		if (db.accounts.find((a) => a.handle === p.handle)) throw E(-32009, 'handle taken');
		const acc = { id: nextId++, handle: p.handle, display_name: p.display_name || p.handle, password: p.password, is_admin: db.accounts.length === 0 };
		db.accounts.push(acc); c.me = acc;
		return { token: 't' + acc.id, account: pub(acc), expires_at: now() };
	},
	'auth.logout': (p, c) => { c.me = null; return {}; },
	'auth.sessions': (p, c) => ({ items: [{ id: 1, created_at: now(), last_seen_at: now(), user_agent: 'Chromium', current: true }], next: null }),
	'auth.revoke': () => ({}),
	'account.get': (p, c) => ({ ...pub(c.me), is_admin: c.me.is_admin }),
	'account.change_password': () => ({}),
	'account.export': (p, c) => ({ account: pub(c.me), annotations: db.anns.filter((a) => a.author === c.me.id) }),
	'book.list': () => ({ items: [{ id: 1, slug: 'rochdale', title: 'The Rochdale Pioneers', author: 'Scholia', edition: 1 }], next: null }),
	'book.toc': () => ({ book: { id: 1, slug: 'rochdale', title: 'The Rochdale Pioneers', author: 'Scholia', edition: 1 }, parts: [{ title: null, chapters: chapters.map((c, i) => ({ id: c.id, number: i || null, title: c.title, words: 1000 })) }] }),
	'chapter.get': (p) => { const c = chapters.find((x) => x.id === p.chapter); if (!c) throw E(-32004, 'not found'); return c; },
	'circle.create': (p, c) => { const ci = { id: nextId++, name: p.name, book: p.book, description: p.description || '', spoiler_guard: false, post_first: false, members_can_invite: false }; db.circles.push(ci); db.members.push({ circle: ci.id, account: c.me.id, role: 'owner', progress: null }); return { ...ci, role: 'owner' }; },
	'circle.list': (p, c) => ({ items: db.circles.filter((x) => role(x.id, c.me)).map((x) => ({ ...x, role: role(x.id, c.me) })), next: null }),
	'circle.get': (p, c) => { const x = db.circles.find((y) => y.id === p.circle); if (!x || !role(x.id, c.me)) throw E(-32004, 'not found'); return { ...x, role: role(x.id, c.me) }; },
	'circle.update': (p) => { const x = db.circles.find((y) => y.id === p.circle); Object.assign(x, p, { id: x.id }); publish(x.id, 'circle.updated', x); return x; },
	'circle.invite': (p) => { const code = 'inv' + nextId++; db.invites.set(code, { circle: p.circle, role: p.role || 'member' }); return { code, url: `/#/join/${code}` }; },
	'circle.join': (p, c) => { const i = db.invites.get(p.code); if (!i) throw E(-32004, 'no invite'); if (role(i.circle, c.me)) throw E(-32009, 'already'); db.members.push({ circle: i.circle, account: c.me.id, role: i.role, progress: null }); publish(i.circle, 'member.joined', { account: pub(c.me), role: i.role }); return { ...db.circles.find((x) => x.id === i.circle), role: i.role }; },
	'circle.members': (p) => ({ items: db.members.filter((m) => m.circle === p.circle).map((m) => ({ account: pub(db.accounts.find((a) => a.id === m.account)), role: m.role, progress: m.progress, muted: !!m.muted })), next: null }),
	'circle.set_role': (p) => { db.members.find((m) => m.circle === p.circle && m.account === p.account).role = p.role; return {}; },
	'circle.leave': () => ({}),
	'circle.subscribe': (p, c) => { c.subs.add(p.circle); const evs = p.since_seq !== undefined ? db.events.filter((e) => e.circle === p.circle && e.seq > p.since_seq) : []; return { seq: db.seq.get(p.circle) || 0, events: evs }; },
	'plan.get': (p) => ({ entries: chapters.slice(0, 3).map((c, i) => ({ chapter: c.id, due: `2026-12-0${i + 1}`, prompt: i === 1 ? 'What did the weavers want?' : null })), progress: db.members.filter((m) => m.circle === p.circle && m.progress).map((m) => ({ account: pub(db.accounts.find((a) => a.id === m.account)), chapter: m.progress.chapter, block: m.progress.block })) }),
	'plan.set': () => ({}),
	'progress.set': (p, c) => { const m = db.members.find((x) => x.circle === p.circle && x.account === c.me.id); m.progress = { chapter: p.chapter, block: p.block }; return {}; },
	'presence.set': (p, c) => { for (const k of conns) if (k.subs.has(p.circle)) k.send({ jsonrpc: '2.0', method: 'event', params: { type: 'presence.changed', circle: p.circle, data: { account: pub(c.me), chapter: p.chapter, block: p.block ?? null } } }); return {}; },
	'chapter.follow': () => ({}),
	'annotation.create': (p, c) => {
		if (p.target) { const ch = chapters.find((x) => x.id === p.chapter); const pos = p.target.selector[1]; const ex = Array.from(ch.text).slice(pos.start, pos.end).join(''); if (ex !== p.target.selector[0].exact) throw E(-32602, 'quote mismatch', { field: 'target' }); }
		const a = { id: nextId++, circle: p.circle, chapter: p.chapter, author: c.me.id, target: p.target, body: p.body, body_html: md(p.body), visibility: p.visibility, created_at: now(), updated_at: now(), edited: false, reacted: {}, pinned: false, locked: false, hidden: false, deleted: false, anchor: 'exact' };
		db.anns.push(a); const v = view(a, c.me); if (a.visibility === 'circle') publish(a.circle, 'annotation.created', v); return v;
	},
	'annotation.list': (p, c) => ({ items: db.anns.filter((a) => a.circle === p.circle && a.chapter === p.chapter && (a.visibility === 'circle' || a.author === c.me.id)).map((a) => view(a, c.me)), next: null }),
	'annotation.get': (p, c) => { const a = db.anns.find((x) => x.id === p.annotation); if (!a) throw E(-32004, 'nf'); return { ...view(a, c.me), replies: db.replies.filter((r) => r.annotation === a.id).map((r) => view(r, c.me)) }; },
	'annotation.update': (p, c) => { const a = db.anns.find((x) => x.id === p.annotation); a.body = p.body; a.body_html = md(p.body); a.edited = true; publish(a.circle, 'annotation.updated', view(a, c.me)); return view(a, c.me); },
	'annotation.delete': (p) => { const a = db.anns.find((x) => x.id === p.annotation); db.anns = db.anns.filter((x) => x !== a); publish(a.circle, 'annotation.deleted', { id: a.id, chapter: a.chapter }); return {}; },
	'reply.create': (p, c) => { const a = db.anns.find((x) => x.id === p.annotation); if (a.locked) throw E(-32010, 'locked'); const r = { id: nextId++, annotation: a.id, circle: a.circle, parent: p.parent ?? null, author: c.me.id, body: p.body, body_html: md(p.body), created_at: now(), reacted: {}, hidden: false, deleted: false, edited: false }; db.replies.push(r); publish(a.circle, 'reply.created', view(r, c.me)); return view(r, c.me); },
	'reply.update': (p, c) => { const r = db.replies.find((x) => x.id === p.reply); r.body = p.body; r.body_html = md(p.body); r.edited = true; publish(r.circle, 'reply.updated', view(r, c.me)); return view(r, c.me); },
	'reply.delete': (p) => { const r = db.replies.find((x) => x.id === p.reply); db.replies = db.replies.filter((x) => x !== r); publish(r.circle, 'reply.deleted', { id: r.id, annotation: r.annotation }); return {}; },
	'reaction.toggle': (p, c) => { const x = p.target.annotation ? db.anns.find((a) => a.id === p.target.annotation) : db.replies.find((a) => a.id === p.target.reply); const s = x.reacted[c.me.id] = x.reacted[c.me.id] || new Set(); s.has(p.kind) ? s.delete(p.kind) : s.add(p.kind); publish(x.circle, 'reaction.changed', { target: p.target, reactions: counts(x) }); return { reactions: counts(x), my_reactions: [...s] }; },
	'flag.create': (p, c) => { const f = { id: nextId++, target: p.target, reason: p.reason, note: p.note, flagger: pub(c.me) }; db.flags.push(f); return f; },
	'mod.queue': (p) => ({ items: db.flags.map((f) => ({ ...f, content: view(f.target.annotation ? db.anns.find((a) => a.id === f.target.annotation) : db.replies.find((a) => a.id === f.target.reply), { id: 0 }) })), next: null }),
	'mod.resolve': (p, c) => { const f = db.flags.find((x) => x.id === p.flag); db.flags = db.flags.filter((x) => x !== f); if (p.action === 'hide') methods['mod.hide']({ target: f.target, reason: f.reason }, c); return {}; },
	'mod.hide': (p, c) => { const x = p.target.annotation ? db.anns.find((a) => a.id === p.target.annotation) : db.replies.find((a) => a.id === p.target.reply); x.hidden = true; db.log.push({ id: nextId++, actor: pub(c.me), action: 'hide', target: p.target, reason: p.reason, at: now() }); publish(x.circle, p.target.annotation ? 'annotation.hidden' : 'reply.hidden', { id: x.id, annotation: x.annotation, chapter: x.chapter }); return {}; },
	'mod.unhide': (p, c) => { const x = p.target.annotation ? db.anns.find((a) => a.id === p.target.annotation) : db.replies.find((a) => a.id === p.target.reply); x.hidden = false; publish(x.circle, p.target.annotation ? 'annotation.unhidden' : 'reply.unhidden', { id: x.id, annotation: x.annotation }); return {}; },
	'mod.lock': (p) => { const a = db.anns.find((x) => x.id === p.annotation); a.locked = true; publish(a.circle, 'thread.locked', { id: a.id }); return {}; },
	'mod.unlock': (p) => { const a = db.anns.find((x) => x.id === p.annotation); a.locked = false; publish(a.circle, 'thread.unlocked', { id: a.id }); return {}; },
	'mod.pin': (p) => { const a = db.anns.find((x) => x.id === p.annotation); a.pinned = p.on; publish(a.circle, p.on ? 'thread.pinned' : 'thread.unpinned', { id: a.id }); return {}; },
	'mod.log': () => ({ items: db.log, next: null }),
	'mod.slow': () => ({}), 'mod.mute': () => ({}), 'mod.unmute': () => ({}), 'mod.remove': () => ({}),
	'notification.list': () => ({ items: [], unread: 0, next: null }),
	'notification.read': () => ({}),
	'search': (p) => ({ items: chapters.flatMap((c) => c.blocks.filter((b) => Array.from(c.text).slice(b.start, b.end).join('').toLowerCase().includes(p.q.toLowerCase())).slice(0, 3).map((b) => ({ kind: 'text', chapter: c.id, block: b.id, start: b.start, snippet: Array.from(c.text).slice(b.start, b.start + 120).join('') }))), next: null }),
};

const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png', '.json': 'application/json' };
const srv = http.createServer((req, res) => {
	const url = new URL(req.url, 'http://x');
	if (url.pathname === '/api/session') {
		let body = '';
		req.on('data', (d) => { body += d; });
		req.on('end', () => {
			if (req.method === 'DELETE') { res.writeHead(200, { 'Set-Cookie': 'scholia_session=; Max-Age=0; Path=/' }); return res.end('{}'); }
			const p = JSON.parse(body || '{}');
			const acc = db.accounts.find((a) => a.handle === p.handle && a.password === p.password);
			if (!acc) { res.writeHead(401); return res.end('{"error":{"code":-32001,"message":"wrong handle or password"}}'); }
			const tok = 'tok' + nextId++; db.sessions.set(tok, acc.id);
			res.writeHead(200, { 'Set-Cookie': `scholia_session=${tok}; HttpOnly; SameSite=Strict; Path=/`, 'Content-Type': 'application/json' });
			res.end(JSON.stringify({ token: tok, account: pub(acc) }));
		});
		return;
	}
	let f = path.join(web, path.normalize(url.pathname === '/' ? '/index.html' : url.pathname));
	if (!f.startsWith(web) || !fs.existsSync(f) || fs.statSync(f).isDirectory()) { res.writeHead(404); return res.end('not found'); }
	res.writeHead(200, { 'Content-Type': types[path.extname(f)] || 'application/octet-stream', 'Content-Security-Policy': "default-src 'self'; frame-ancestors 'none'" });
	fs.createReadStream(f).pipe(res);
});
const wss = new WebSocketServer({ server: srv, path: '/ws' });
wss.on('connection', (ws, req) => {
	const m = /scholia_session=([^;]+)/.exec(req.headers.cookie || '');
	const c = { me: m ? db.accounts.find((a) => a.id === db.sessions.get(m[1])) : null, subs: new Set(), send: (o) => ws.send(JSON.stringify(o)) };
	conns.add(c);
	ws.on('close', () => conns.delete(c));
	ws.on('message', (d) => {
		const msg = JSON.parse(d);
		const fn = methods[msg.method];
		try {
			if (!fn) throw E(-32601, 'no such method');
			if (!c.me && !['auth.register', 'server.info'].includes(msg.method)) throw E(-32001, 'not authenticated');
			c.send({ jsonrpc: '2.0', id: msg.id, result: fn(msg.params || {}, c) });
		} catch (e) {
			c.send({ jsonrpc: '2.0', id: msg.id, error: e.rpc || { code: -32603, message: String(e) } });
		}
	});
});
srv.listen(port, '127.0.0.1', () => console.log(`stub on http://127.0.0.1:${port}`));
