// account.js - the account screen (#/account): profile (display name,
// bio), sign out, email address, sessions with revoke, change password,
// download my data, delete the account.

import { h, add, clear, toast, errText, fmtTime, name } from './dom.js';
import { rpc, app } from './state.js';
import { emailCard } from './mail.js';
import { screen, field, errBox } from './shell.js';
import { signOut } from './session.js';

// "Chrome 156 on Linux" from a user-agent string.
function uaShort(ua) {
	if (!ua)
		return 'Unknown device';
	const b = /(Edg|OPR|Firefox|Chrome|Chromium|Version)\/(\d+)/.exec(ua);
	const os = /Android|iPhone|iPad|Windows|Mac OS X|Linux/.exec(ua);
	if (!b)
		return ua.slice(0, 60);
	const names = { Edg: 'Edge', OPR: 'Opera', Version: 'Safari' };
	return `${names[b[1]] || b[1]} ${b[2]}${os ? ' on ' + os[0].replace('Mac OS X', 'macOS') : ''}`;
}

// Display name and bio (account.update).
function profileForm(me) {
	const dn = h('input', { name: 'display_name', value: me.display_name || '', maxlength: 100, autocomplete: 'name' });
	const bio = h('textarea', { name: 'bio', rows: 3, maxlength: 2000 });
	bio.value = me.bio || '';
	const err = errBox();
	const f = h('form', { class: 'profile', id: 'profile-form' },
		field('Display name', dn), field('About you', bio, 'Shown to the members of your circles.'), err,
		h('button', { type: 'submit' }, 'Save profile'));
	f.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		err.textContent = '';
		try {
			const r = await rpc.call('account.update', { display_name: dn.value.trim(), bio: bio.value.trim() });
			app.me = { ...app.me, ...(r && typeof r === 'object' ? r : {}), display_name: dn.value.trim(), bio: bio.value.trim() };
			const who = document.getElementById('who');
			if (who)
				who.textContent = name(app.me);
			toast('Profile saved');
		} catch (e) { err.textContent = errText(e); }
	});
	return f;
}

export async function accountScreen() {
	const me = app.me;
	const sessions = h('ul', { class: 'list', 'aria-label': 'Sessions' });
	const s = screen('Your account',
		h('section', { class: 'card' },
			h('h2', {}, 'Profile'),
			h('p', {}, `Signed in as @${me.handle}`,
				me.is_admin ? ' (site admin)' : ''),
			profileForm(me),
			h('button', { type: 'button', onclick: () => signOut(), id: 'sign-out' },
				'Sign out')),
		h('section', { class: 'card' }, h('h2', {}, 'Sessions'), sessions));
	const loadSessions = async () => {
		clear(sessions);
		try {
			for (const x of await rpc.all('auth.sessions')) {
				sessions.appendChild(h('li', {},
					h('span', { title: x.user_agent || '' }, uaShort(x.user_agent),
						x.current ? ' (this one)' : ''),
					h('span', { class: 'meta' },
						` created ${fmtTime(x.created_at)}, last seen ${fmtTime(x.last_seen_at || x.last_seen)}`),
					x.current ? null : h('button', {
						type: 'button', class: 'small',
						onclick: async () => {
							try {
								await rpc.call('auth.revoke', { session: x.id });
								loadSessions();
							} catch (e) { toast(errText(e)); }
						},
					}, 'Revoke')));
			}
		} catch (e) {
			sessions.appendChild(h('li', {}, errText(e)));
		}
	};
	loadSessions();

	const cur = h('input', { type: 'password', autocomplete: 'current-password', required: true });
	const nw = h('input', { type: 'password', autocomplete: 'new-password', required: true, minlength: 10 });
	const pErr = errBox();
	const pForm = h('form', { class: 'card' }, h('h2', {}, 'Change password'),
		field('Current password', cur), field('New password', nw), pErr,
		h('button', { type: 'submit' }, 'Change password'));
	pForm.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		pErr.textContent = '';
		try {
			await rpc.call('account.change_password',
				{ password: cur.value, new_password: nw.value });
			cur.value = nw.value = '';
			toast('Password changed. Other sessions were signed out.');
		} catch (e) { pErr.textContent = errText(e); }
	});

	const exp = h('button', {
		type: 'button', onclick: async () => {
			try {
				const data = await rpc.call('account.export');
				const blob = new Blob([JSON.stringify(data, null, 2)],
					{ type: 'application/json' });
				const a = h('a', {
					href: URL.createObjectURL(blob),
					download: `scholia-${me.handle}.json`,
				});
				document.body.appendChild(a);
				a.click();
				a.remove();
			} catch (e) { toast(errText(e)); }
		},
	}, 'Download my data (JSON)');

	const dpw = h('input', { type: 'password', autocomplete: 'current-password', required: true });
	const dErr = errBox();
	const dForm = h('form', { class: 'card danger' }, h('h2', {}, 'Delete account'),
		h('p', {}, 'Your private notes are removed; what you wrote in circles stays, without your name.'),
		field('Password', dpw), dErr,
		h('button', { type: 'submit', class: 'danger' }, 'Delete my account'));
	dForm.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		if (!confirm('Delete your account for good?'))
			return;
		try {
			await rpc.call('account.delete', { password: dpw.value });
			app.flash = 'Your account has been deleted. What you wrote in circles stays, without your name.';
			await signOut();
		} catch (e) { dErr.textContent = errText(e); }
	});
	add(s, emailCard(me), pForm, h('section', { class: 'card' }, h('h2', {}, 'Your data'),
		h('p', {}, 'Everything you wrote, as one JSON file.'), exp), dForm);
}
