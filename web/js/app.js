// app.js - entry point: the header (connection indicator, inbox count),
// the router (#/... to a screen), and start-up. Each screen is a module
// of its own (docs/web.md lists them); shell.js holds what they share.

import { toast } from './dom.js';
import { rpc, app, onAnyEvent } from './state.js';
import { showReader, leaveReader } from './reader.js';
import { verifyScreen } from './mail.js';
import { digestScreen } from './digest.js';
import { modScreen } from './moderation.js';
import { notifText, prepare } from './notes.js';
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
import { inboxScreen } from './inbox.js';
import { searchScreen } from './search.js';

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

/* ---------- a notification arrives: count, toast, inbox redrawn ---------- */
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

/* ---------- router ---------- */
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
