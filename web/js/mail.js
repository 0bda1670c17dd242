// mail.js - the email parts of the app: the address on the account screen
// (with its verified state), the per-circle choice of notification mails,
// "Forgot your password?" on the sign-in screen, and the #/verify/<token>
// link from the verification mail. Everything here hides itself when the
// server sends no mail (server.info's `mail` is false).

import { h, add, clear, toast, errText } from './dom.js';
import { rpc } from './state.js';

let mailOn = null; // Promise<boolean>, asked once

export function mailEnabled() {
	if (!mailOn) {
		mailOn = rpc.call('server.info')
			.then((r) => !!(r && r.mail))
			.catch(() => { mailOn = null; return false; });
	}
	return mailOn;
}

// A placeholder filled in (or removed) once we know whether mail works.
function whenMail(build) {
	const slot = h('div', { class: 'mail-slot' });
	mailEnabled().then((on) => {
		if (on)
			add(slot, build());
		else
			slot.remove();
	});
	return slot;
}

/* ---------- account screen ---------- */
export function emailCard(me) {
	return whenMail(() => {
		const input = h('input', {
			type: 'email', id: 'email', autocomplete: 'email',
			value: me.email || '',
		});
		const state = h('p', { class: 'hint', id: 'email-state', role: 'status' });
		const err = h('p', { class: 'error', role: 'alert' });
		const show = (acc) => {
			clear(state);
			if (!acc.email)
				state.append('No address: you get no mail.');
			else if (acc.email_verified)
				state.append('Verified. Only you see this address.');
			else
				state.append('Not verified yet: open the link we mailed to it. '
					+ 'Until then nothing else is sent there.');
		};
		show(me);
		const form = h('form', { class: 'card', 'aria-labelledby': 'email-h' },
			h('h2', { id: 'email-h' }, 'Email'),
			h('div', { class: 'field' }, h('label', { for: 'email' }, 'Address'), input),
			state, err,
			h('button', { type: 'submit' }, 'Save address'));
		form.addEventListener('submit', async (ev) => {
			ev.preventDefault();
			err.textContent = '';
			try {
				const acc = await rpc.call('account.update', { email: input.value.trim() });
				Object.assign(me, { email: acc.email, email_verified: acc.email_verified });
				show(acc);
				if (acc.email)
					toast('We mailed a link to confirm the address.');
			} catch (e) { err.textContent = errText(e); }
		});
		return form;
	});
}

/* ---------- circle screen ---------- */
const CHOICES = [
	['daily', 'A daily digest'],
	['instant', 'Each one as it happens'],
	['off', 'No mail'],
];

export function notifyCard(circle) {
	return whenMail(() => {
		const sel = h('select', { id: `notify-${circle}`, 'aria-label': 'Email notifications' },
			CHOICES.map(([v, label]) => h('option', { value: v }, label)));
		const hint = h('p', { class: 'hint' },
			'Replies to your posts, mentions, moderators\u2019 actions and reminders of the plan. '
			+ 'Mail goes only to a verified address (see your account).');
		rpc.call('circle.notify', { circle })
			.then((r) => { sel.value = r.email; })
			.catch(() => {});
		sel.addEventListener('change', async () => {
			try {
				const r = await rpc.call('circle.notify', { circle, email: sel.value });
				sel.value = r.email;
				toast('Saved');
			} catch (e) { toast(errText(e)); }
		});
		return h('section', { class: 'card', 'aria-labelledby': `notify-h-${circle}` },
			h('h2', { id: `notify-h-${circle}` }, 'Email notifications'),
			h('label', { for: `notify-${circle}` }, 'Send me '), sel, hint);
	});
}

// An "email it" field for the invite card.
export function inviteByMail(circle, roleSelect) {
	return whenMail(() => {
		const to = h('input', { type: 'email', 'aria-label': 'Email the invitation to',
			placeholder: 'friend@example.org' });
		const form = h('form', { class: 'invite-mail' }, to, ' ',
			h('button', { type: 'submit' }, 'Email an invitation'));
		form.addEventListener('submit', async (ev) => {
			ev.preventDefault();
			try {
				await rpc.call('circle.invite', { circle, role: roleSelect.value, email: to.value.trim() });
				to.value = '';
				toast('Invitation sent');
			} catch (e) { toast(errText(e)); }
		});
		return form;
	});
}

/* ---------- sign-in screen ---------- */
export function forgotLink() {
	return whenMail(() => {
		const handle = h('input', { name: 'handle', autocomplete: 'username',
			autocapitalize: 'none', spellcheck: 'false', required: true });
		const done = h('p', { role: 'status' });
		const form = h('form', { class: 'card auth forgot', hidden: true },
			h('div', { class: 'field' }, h('label', {}, 'Your handle', handle)),
			done, h('button', { type: 'submit' }, 'Mail me a reset link'));
		form.addEventListener('submit', async (ev) => {
			ev.preventDefault();
			try {
				await rpc.call('auth.forgot', { handle: handle.value.trim() });
				done.textContent = 'If this account has a verified address, '
					+ 'a link to choose a new password is on its way.';
			} catch (e) { done.textContent = errText(e); }
		});
		const open = h('button', { type: 'button', class: 'link', id: 'forgot',
			onclick: () => { form.hidden = false; open.hidden = true; handle.focus(); },
		}, 'Forgot your password?');
		return h('div', {}, open, form);
	});
}

/* ---------- #/verify/<token> ---------- */
export async function verifyScreen(main, token) {
	const msg = h('p', { role: 'status' }, 'Checking the link…');
	clear(main);
	document.title = 'Confirm your address · Scholia';
	main.appendChild(h('div', { class: 'screen' },
		h('h1', {}, 'Confirm your address'), h('div', { class: 'card' }, msg)));
	try {
		await rpc.call('auth.verify_email', { token: token || '' });
		clear(msg).append('Your address is confirmed. ',
			h('a', { href: '#/' }, 'Go to your circles'), '.');
	} catch (e) {
		clear(msg).append(e.code === -32004
			? 'This link is invalid, used or expired: save your address again on your account page to get a new one.'
			: errText(e));
	}
}
