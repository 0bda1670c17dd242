// auth.js - signing in and creating an account (#/signin, #/register,
// and the same form for an invite link, with "What is Scholia?" beside
// it), choosing a password from a reset link (#/reset/TOKEN), and joining
// the invite's circle once signed in (acceptInvite).

import { h, add, clear, errText, name, idOf } from './dom.js';
import { rpc, app } from './state.js';
import { forgotLink } from './mail.js';
import { route, screen, field, errBox } from './shell.js';
import { signIn } from './session.js';

/* ---------- sign in / register ---------- */
export function authScreen(mode, invite) {
	const reg = mode === 'register';
	const handle = h('input', {
		name: 'handle', autocomplete: 'username', required: true,
		pattern: '[a-z0-9_]{3,32}', autocapitalize: 'none', spellcheck: 'false',
	});
	const display = h('input', { name: 'display_name', autocomplete: 'name' });
	const pw = h('input', {
		type: 'password', name: 'password', required: true,
		autocomplete: reg ? 'new-password' : 'current-password',
		minlength: reg ? 10 : null,
	});
	const code = h('input', { name: 'invite', autocomplete: 'off',
		autocapitalize: 'none', spellcheck: 'false' });
	const err = errBox();
	const form = h('form', { class: 'card auth', novalidate: false },
		field('Handle', handle, reg ? '3 to 32 of a–z, 0–9 and _' : null),
		reg ? field('Display name', display) : null,
		field('Password', pw, reg ? 'At least 10 characters' : null),
		reg && !invite
			? field('Invitation code (if you were given one)', code)
			: null,
		err,
		h('button', { type: 'submit', class: 'primary' },
			reg ? 'Create account' : 'Sign in'),
		h('p', {}, reg
			? h('a', { href: invite ? `#/join/${invite}?signin=1` : '#/signin' },
				'I have an account: sign in')
			: h('a', { href: invite ? `#/join/${invite}` : '#/register' },
				'New here? Create an account')));
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		err.textContent = '';
		const btn = form.querySelector('button[type=submit]');
		btn.disabled = true;
		try {
			if (reg) {
				const p = {
					handle: handle.value.trim(), password: pw.value,
					display_name: display.value.trim() || handle.value.trim(),
				};
				const given = invite || code.value.trim();
				try {
					await rpc.call('auth.register', given ? { ...p, invite: given } : p);
				} catch (e) {
					// A circle's invitation is redeemed by circle.join
					// below; where the server does not take it as a
					// registration invite, open registration still works.
					if (!(invite && e.code === -32602 && e.data && e.data.field === 'invite'))
						throw e;
					await rpc.call('auth.register', p);
				}
				// Registering signed this connection in with a session of
				// its own; the cookie session below replaces it, so end it
				// (else the sessions list shows two right after sign-up).
				await rpc.call('auth.logout').catch(() => {});
			}
			await signIn(handle.value.trim(), pw.value);
			if (invite)
				return await acceptInvite(invite);
			location.hash = '#/';
			route();
		} catch (e) {
			err.textContent = e.code !== undefined ? errText(e) : e.message;
		} finally {
			btn.disabled = false;
		}
	});
	const intro = invite
		? h('p', { class: 'lead', id: 'invite-info' }, 'You have been invited to a reading circle. ',
			reg ? 'Create an account to join it.' : 'Sign in to join it.')
		: h('p', { class: 'lead' },
			'Read a book together, one passage and one conversation at a time.');
	const welcome = h('aside', { class: 'welcome card', 'aria-labelledby': 'welcome-h' },
		h('h2', { id: 'welcome-h' }, 'What is Scholia?'),
		h('p', {}, 'A place for a reading circle: a few people reading the same book on a schedule. ',
			'Select words in a chapter to start a conversation about them; the others see it live and reply in the margin.'),
		h('ul', {},
			h('li', {}, 'Start a circle on a book, set a reading plan, and invite people with a link.'),
			h('li', {}, 'Keep private notes, follow chapters, and hide what is ahead of you until you get there.'),
			h('li', {}, 'Everything stays on this server: no tracking, and you can export or delete what you wrote.')));
	// kept until the next sign-in: the screen may be drawn more than once
	const flash = app.flash ? h('p', { class: 'ok', role: 'status', id: 'flash' }, app.flash) : null;
	screen(reg ? 'Create an account' : 'Sign in', flash, intro, h('div', { class: 'auth-wrap' }, form, welcome),
		reg ? null : forgotLink());
	handle.focus();
	if (invite)
		rpc.call('circle.invite_info', { code: invite }).then((i) => {
			const book = i.book && i.book.title ? `${i.book.title}${i.book.author ? ' by ' + i.book.author : ''}` : 'a book';
			add(clear(intro), i.inviter ? `${name(i.inviter)} invited you to ` : 'You are invited to ',
				h('strong', {}, i.circle.name), `, a circle reading ${book}. `,
				reg ? 'Create an account to join it.' : 'Sign in to join it.');
		}).catch((e) => {
			if (e.code === -32004)
				add(clear(intro), 'This invitation link has expired or was used up. Ask for a new one; you can still create an account.');
		});
}

/* The one-time link printed by `scholia admin reset-link` and by
 * `create-account` without a password: choose a (new) password. */
export function resetScreen(token) {
	const pw = h('input', { type: 'password', name: 'password', required: true,
		autocomplete: 'new-password', minlength: 10 });
	const again = h('input', { type: 'password', name: 'password2',
		required: true, autocomplete: 'new-password', minlength: 10 });
	const err = errBox();
	const done = h('p', { role: 'status' });
	const form = h('form', { class: 'card auth' },
		field('New password', pw, 'At least 10 characters'),
		field('New password again', again),
		err, done,
		h('button', { type: 'submit', class: 'primary' }, 'Set password'));
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		err.textContent = '';
		if (pw.value !== again.value) {
			err.textContent = 'The two passwords differ.';
			return;
		}
		const btn = form.querySelector('button[type=submit]');
		btn.disabled = true;
		try {
			await rpc.call('auth.reset', { reset_token: token || '', password: pw.value });
			pw.value = again.value = '';
			clear(done);
			done.append('Your password is set. ',
				h('a', { href: '#/signin' }, 'Sign in with it'), '.');
		} catch (e) {
			err.textContent = errText(e);
			btn.disabled = false;
		}
	});
	screen('Choose a password', form);
	pw.focus();
}

export async function acceptInvite(code) {
	let circle = null;
	try {
		const r = await rpc.call('circle.join', { code });
		circle = idOf(r && (r.circle ?? r.id));
	} catch (e) {
		if (e.code !== -32009)
			throw e;
	}
	if (!circle) {
		const list = await rpc.all('circle.list');
		circle = list.length ? list[list.length - 1].id : null;
	}
	location.hash = circle ? `#/circle/${circle}` : '#/';
	route();
}
