// app.js - entry point: the header (connection indicator, inbox count),
// the router (#/... to a screen), and start-up. Each screen is a module
// of its own (docs/web.md lists them); shell.js holds what they share.

import { h, add, toast, errText, fmtTime, idOf } from './dom.js';
import { rpc, app, onAnyEvent, toc, chaptersOf } from './state.js';
import { showReader, leaveReader } from './reader.js';
import { verifyScreen } from './mail.js';
import { digestScreen } from './digest.js';
import { modScreen } from './moderation.js';
import { notifText, notifLink, prepare } from './notes.js';
import { dashboardScreen } from './dashboard.js';
import { meetingsScreen, meetingScreen } from './meeting.js';
import { siteScreen } from './site.js';
import {
	main, setRouter, navigated, navGen, onLeave, parseHash, screen, debounce,
} from './shell.js';
import { loadMe, setUnread } from './session.js';
import { authScreen, resetScreen } from './auth.js';
import { joinScreen } from './join.js';
import { accountScreen } from './account.js';
import { homeScreen } from './home.js';
import { newCircleScreen } from './newcircle.js';
import { circleScreen } from './circle.js';

const connEl = document.getElementById('conn');

/* ---------- connection indicator ---------- */
const connText = {
	connecting: 'Connecting…', online: 'Live', reconnecting: 'Reconnecting…',
};
rpc.on('state', (s) => {
	connEl.textContent = connText[s] || s;
	connEl.dataset.state = s;
	document.body.dataset.conn = s;
});

rpc.on('event', async (ev) => {
	if (ev.type === 'notification.created') {
		setUnread(app.unread + 1);
		const n = ev.data || {};
		await prepare([n]).catch(() => {});
		toast(notifText(n));
		if (location.hash.startsWith('#/inbox'))
			route();
	}
});

async function route() {
	navigated();
	const { parts, q } = parseHash();
	const [a, b, c] = parts;
	if (a !== 'read')
		leaveReader();
	document.body.classList.toggle('reading', a === 'read');
	if (a === 'join')
		return joinScreen(b);
	if (a === 'reset')
		return resetScreen(b);
	if (a === 'verify')
		return verifyScreen(main, b);
	if (!app.me) {
		if (a === 'register')
			return authScreen('register');
		return authScreen('signin');
	}
	setNavCurrent(a || 'home');
	switch (a) {
	case 'read':
		return showReader(main, Number(b), Number(c), q);
	case 'circle':
		if (c === 'mod')
			return modScreen(screen, onLeave, debounce, Number(b));
		if (c === 'digest')
			return digestScreen(screen, Number(b), Number(parts[3]));
		if (c === 'dashboard')
			return organiserScreen(dashboardScreen(main, Number(b)));
		if (c === 'meetings')
			return organiserScreen(meetingsScreen(main, Number(b)));
		return circleScreen(Number(b));
	case 'meeting':
		return organiserScreen(meetingScreen(main, Number(b)));
	case 'new':
		return newCircleScreen();
	case 'account':
		return accountScreen();
	case 'inbox':
		return inboxScreen();
	case 'search':
		return searchScreen(q);
	case 'site':
		return siteScreen(main);
	default:
		return homeScreen();
	}
}

// The organiser's screens (dashboard.js, meeting.js) resolve to their
// cleanup, run when the reader navigates away.
function organiserScreen(p) {
	const gen = navGen();
	main.focus({ preventScroll: true });
	return p.then((done) => {
		if (typeof done !== 'function')
			return;
		if (gen === navGen())
			onLeave(done);
		else
			done();
	});
}

function setNavCurrent(which) {
	for (const l of document.querySelectorAll('nav.main a')) {
		if (l.dataset.nav === which)
			l.setAttribute('aria-current', 'page');
		else
			l.removeAttribute('aria-current');
	}
}

/* ---------- moderation ---------- */
/* ---------- notifications ---------- */
async function inboxScreen() {
	const list = h('ul', { class: 'list inbox', 'aria-label': 'Notifications' });
	screen('Inbox', h('p', {}, h('button', {
		type: 'button', onclick: async () => {
			try {
				await rpc.call('notification.read', { all: true });
				setUnread(0);
				inboxScreen();
			} catch (e) { toast(errText(e)); }
		},
	}, 'Mark all read')), list);
	try {
		const items = await rpc.all('notification.list', {}, 3);
		await prepare(items);
		if (!items.length)
			list.appendChild(h('li', { class: 'empty' }, 'No notifications yet.'));
		for (const n of items) {
			const href = notifLink(n);
			const text = notifText(n);
			list.appendChild(h('li', { class: n.read || n.read_at ? 'read' : 'unread' },
				n.read ? null : h('span', { class: 'dot' }, h('span', { class: 'sr-only' }, 'Unread: ')),
				href ? h('a', {
					href, onclick: () => {
						if (n.read)
							return;
						rpc.call('notification.read', { ids: [n.id] })
							.then((r) => setUnread(r && typeof r.unread === 'number' ? r.unread : Math.max(0, app.unread - 1)))
							.catch(() => {});
					},
				}, text) : text,
				h('span', { class: 'meta' }, ' ', fmtTime(n.created_at))));
		}
	} catch (e) { list.appendChild(h('li', {}, errText(e))); }
}

/* ---------- search ---------- */
async function searchScreen(q) {
	const circleSel = h('select', { name: 'c', 'aria-label': 'Circle' });
	const input = h('input', { type: 'search', name: 'q', value: q.get('q') || '', 'aria-label': 'Search words', required: true });
	const results = h('ol', { class: 'list results', 'aria-label': 'Results' });
	const form = h('form', { class: 'card search', role: 'search' }, circleSel, input,
		h('button', { type: 'submit' }, 'Search'));
	screen('Search', form, h('div', { 'aria-live': 'polite' }, results));
	const circles = await rpc.all('circle.list').catch(() => []);
	for (const c of circles)
		circleSel.appendChild(h('option', { value: c.id, selected: String(c.id) === q.get('c') }, c.name));
	form.addEventListener('submit', (ev) => {
		ev.preventDefault();
		location.hash = `#/search?c=${circleSel.value}&q=${encodeURIComponent(input.value)}`;
	});
	if (!q.get('q') || !circleSel.value)
		return;
	const circle = Number(circleSel.value);
	const chapterTitle = new Map();
	try {
		const cc = circles.find((x) => String(x.id) === circleSel.value);
		for (const x of chaptersOf(await toc(idOf(cc.book))))
			chapterTitle.set(x.id, x.title);
	} catch (e) { /* titles are a nicety */ }
	try {
		const r = await rpc.call('search', { circle, q: q.get('q') });
		const items = (r && r.items) || [];
		if (!items.length)
			results.appendChild(h('li', { class: 'empty' }, 'Nothing found.'));
		for (const x of items) {
			const ch = idOf(x.chapter);
			const ann = idOf(x.annotation ?? (x.kind === 'annotation' ? x.id : null));
			const at = x.start ?? x.offset;
			let href = `#/read/${circle}/${ch}`;
			const qs = [];
			if (ann)
				qs.push(`a=${ann}`);
			else if (at !== undefined && at !== null)
				qs.push(`at=${at}`);
			if (x.block !== undefined && x.block !== null && !ann)
				qs.push(`block=${encodeURIComponent(idOf(x.block))}`);
			if (qs.length)
				href += '?' + qs.join('&');
			results.appendChild(h('li', { class: x.private ? 'private' : null },
				h('a', { href }, x.kind === 'text' ? 'In the book'
					: x.kind === 'reply' ? 'In a reply' : x.private ? 'In your private note' : 'In a thread',
				chapterTitle.get(ch) ? ` — ${chapterTitle.get(ch)}` : ''),
				x.private ? h('span', { class: 'badge badge-private' }, 'private') : null,
				snippetEl(x)));
		}
	} catch (e) { results.appendChild(h('li', {}, errText(e))); }
}

// A search snippet with its matches (code-point ranges) as <mark>, built
// from text nodes only.
function snippetEl(x) {
	const cps = Array.from(String(x.snippet || ''));
	const p = h('p', { class: 'snippet' });
	let at = 0;
	for (const [s, e] of x.highlights || []) {
		if (s < at || e > cps.length)
			continue;
		add(p, cps.slice(at, s).join(''), h('mark', {}, cps.slice(s, e).join('')));
		at = e;
	}
	add(p, cps.slice(at).join(''));
	return p;
}

/* ---------- start ---------- */
setRouter(route);
window.addEventListener('hashchange', route);
rpc.connect();
rpc.on('open', async () => {
	const had = !!app.me;
	await loadMe();
	// First connection, or the session ended meanwhile (revoked, signed
	// out elsewhere, password changed): show what fits now.
	if (!had || !app.me)
		route();
});
onAnyEvent(() => {});
