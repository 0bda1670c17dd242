// session.js - who is signed in: loading the account into the header
// (name, site link, inbox count), signing in and out with the session
// cookie (POST and DELETE /api/session, then a new WebSocket that the
// cookie authenticates), and the inbox count in the header.

import { name } from './dom.js';
import { rpc, app, resetSubscriptions } from './state.js';
import { updateSiteLink } from './site.js';

const unreadEl = document.getElementById('unread');

export async function loadMe() {
	try {
		app.me = await rpc.call('account.get');
	} catch (e) {
		app.me = null;
	}
	document.body.classList.toggle('signed-in', !!app.me);
	updateSiteLink();
	const who = document.getElementById('who');
	if (who)
		who.textContent = app.me ? name(app.me) : '';
	if (app.me)
		refreshUnread();
	return app.me;
}

export async function refreshUnread() {
	try {
		const r = await rpc.call('notification.list', { unread: true });
		const n = typeof r.unread === 'number' ? r.unread
			: typeof r.unread_count === 'number' ? r.unread_count
			: (r.items || []).length;
		setUnread(n);
	} catch (e) { /* not fatal */ }
}

export function setUnread(n) {
	app.unread = n;
	unreadEl.textContent = n > 0 ? String(n) : '';
	unreadEl.hidden = !(n > 0);
	document.getElementById('inbox-link')
		.setAttribute('aria-label', n > 0 ? `Inbox, ${n} unread` : 'Inbox');
}

// POST /api/session sets the HttpOnly cookie; the next upgrade carries it.
export async function signIn(handle, password) {
	const r = await fetch('/api/session', {
		method: 'POST',
		headers: { 'Content-Type': 'application/json' },
		body: JSON.stringify({ handle, password }),
		credentials: 'same-origin',
	});
	if (!r.ok) {
		let msg = r.status === 429 ? 'Too many attempts; wait a moment.'
			: 'Wrong handle or password.';
		try {
			const j = await r.json();
			if (j && j.error && j.error.message)
				msg = j.error.message;
		} catch (e) { /* keep default */ }
		throw new Error(msg);
	}
	app.flash = null;
	resetSubscriptions();
	rpc.reconnect();
	await rpc.ready();
	return loadMe();
}

export async function signOut() {
	try {
		await rpc.call('auth.logout');
	} catch (e) { /* the cookie is ended below anyway */ }
	await fetch('/api/session', {
		method: 'DELETE',
		headers: { 'Content-Type': 'application/json' },
		credentials: 'same-origin',
	});
	app.me = null;
	resetSubscriptions();
	rpc.reconnect();
	await rpc.ready();
	document.body.classList.remove('signed-in');
	location.hash = '#/signin';
}
