// join.js - an invite link (#/join/CODE): signed out, the sign-in or
// register form that names the circle; signed in, joins it at once.

import { h, errText } from './dom.js';
import { app } from './state.js';
import { parseHash, screen, errBox } from './shell.js';
import { authScreen, acceptInvite } from './auth.js';

export async function joinScreen(code) {
	const { q } = parseHash();
	if (!app.me)
		return authScreen(q.get('signin') ? 'signin' : 'register', code);
	const err = errBox();
	screen('Join a circle', h('p', {}, 'Joining…'), err);
	try {
		await acceptInvite(code);
	} catch (e) {
		err.textContent = errText(e);
	}
}
