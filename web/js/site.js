// site.js - the site admin's screen (#/site): every account with its role
// and state, making or removing site admins, bans with a reason, and the
// site-wide audit log. The same tasks as `scholia admin list-accounts |
// set-admin | log` for admins who have no shell (docs/operations.md).

import { h, add, clear, toast, errText, fmtTime, fmtDate, name } from './dom.js';
import { rpc, app } from './state.js';

// Shows or hides the "Site" link in the main navigation for site admins.
export function updateSiteLink() {
	const nav = document.querySelector('nav.main');
	if (!nav)
		return;
	let link = nav.querySelector('a[data-nav="site"]');
	if (app.me && app.me.is_admin) {
		if (!link) {
			link = h('a', { href: '#/site', dataset: { nav: 'site' } }, 'Site');
			nav.appendChild(link);
		}
	} else if (link) {
		link.remove();
	}
}

// A modal dialog asking for a reason; resolves to the text or null.
function askReason(title, label) {
	return new Promise((resolve) => {
		const input = h('textarea', { id: 'site-reason', required: true, rows: 3, maxlength: 500 });
		const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': 'site-dlg-title' },
			h('form', { method: 'dialog' },
				h('h2', { id: 'site-dlg-title' }, title),
				h('label', { for: 'site-reason' }, label),
				input,
				h('div', { class: 'actions' },
					h('button', { value: 'cancel', type: 'submit', formnovalidate: true }, 'Cancel'),
					h('button', { value: 'ok', type: 'submit', class: 'primary' }, 'Confirm'))));
		dlg.addEventListener('close', () => {
			const ok = dlg.returnValue === 'ok' && input.value.trim();
			dlg.remove();
			resolve(ok ? input.value.trim() : null);
		});
		document.body.appendChild(dlg);
		dlg.showModal();
		input.focus();
	});
}

async function allAccounts() {
	const out = [];
	let cursor = null;
	do {
		const r = await rpc.call('admin.accounts', cursor ? { cursor } : {});
		out.push(...r.items);
		cursor = r.next;
	} while (cursor && out.length < 5000);
	return out;
}

export async function siteScreen(main) {
	clear(main);
	const status = h('p', { role: 'status', class: 'muted' }, 'Loading…');
	add(main, h('h1', {}, 'Site'), status);
	if (!app.me || !app.me.is_admin) {
		status.textContent = 'Only site admins see this screen.';
		return;
	}
	let accounts, log;
	try {
		[accounts, log] = await Promise.all([allAccounts(), rpc.call('admin.log', {})]);
	} catch (e) {
		status.textContent = errText(e);
		return;
	}
	status.textContent = `${accounts.length} account${accounts.length === 1 ? '' : 's'}`;

	const act = async (fn, done) => {
		try {
			await fn();
			toast(done);
			siteScreen(main);
		} catch (e) {
			toast(errText(e));
		}
	};
	const rows = accounts.map((a) => h('tr', {},
		h('th', { scope: 'row' }, a.handle),
		h('td', {}, a.display_name),
		h('td', {}, a.is_admin ? 'site admin' : 'member'),
		h('td', {}, a.banned ? 'banned' : 'active'),
		h('td', {}, fmtDate(a.created_at)),
		h('td', { class: 'actions' },
			a.id === app.me.id ? h('span', { class: 'muted' }, 'you') : [
				h('button', {
					type: 'button',
					'aria-label': `${a.is_admin ? 'Remove site admin role from' : 'Make site admin:'} ${a.handle}`,
					onclick: () => act(() => rpc.call('admin.set_admin', { account: a.id, on: !a.is_admin }),
						a.is_admin ? `${a.handle} is no longer a site admin` : `${a.handle} is now a site admin`),
				}, a.is_admin ? 'Remove admin' : 'Make admin'),
				h('button', {
					type: 'button',
					class: a.banned ? '' : 'danger',
					'aria-label': `${a.banned ? 'Unban' : 'Ban'} ${a.handle}`,
					onclick: async () => {
						if (a.banned)
							return act(() => rpc.call('admin.unban', { account: a.id }), `${a.handle} unbanned`);
						const reason = await askReason(`Ban ${a.handle}`, 'Reason (kept in the audit log)');
						if (reason)
							act(() => rpc.call('admin.ban', { account: a.id, reason }), `${a.handle} banned`);
					},
				}, a.banned ? 'Unban' : 'Ban'),
			])));
	add(main, h('section', { 'aria-labelledby': 'site-accounts' },
		h('h2', { id: 'site-accounts' }, 'Accounts'),
		h('div', { class: 'table-wrap' },
			h('table', {},
				h('caption', { class: 'sr-only' }, 'Accounts on this site'),
				h('thead', {}, h('tr', {},
					h('th', { scope: 'col' }, 'Handle'),
					h('th', { scope: 'col' }, 'Name'),
					h('th', { scope: 'col' }, 'Role'),
					h('th', { scope: 'col' }, 'State'),
					h('th', { scope: 'col' }, 'Joined'),
					h('th', { scope: 'col' }, 'Actions'))),
				h('tbody', {}, rows)))));

	const byId = new Map(accounts.map((a) => [a.id, a]));
	const target = (t) => {
		try {
			const o = typeof t === 'string' ? JSON.parse(t) : t;
			if (o && o.account)
				return (byId.get(o.account) || {}).handle || `account ${o.account}`;
		} catch (e) { /* older entries name it as text */ }
		const m = /account:(\d+)/.exec(String(t || ''));
		return m ? (byId.get(Number(m[1])) || {}).handle || `account ${m[1]}` : String(t || '');
	};
	const words = { ban: 'banned', unban: 'unbanned', admin_grant: 'made site admin', admin_revoke: 'removed as site admin' };
	add(main, h('section', { 'aria-labelledby': 'site-log' },
		h('h2', { id: 'site-log' }, 'Audit of admin actions'),
		log.items.length ? h('ol', { class: 'plain' }, log.items.map((e) => h('li', {},
			h('time', { datetime: e.at }, fmtTime(e.at)), ' — ',
			e.actor ? name(e.actor) : 'the operator’s shell', ' ',
			words[e.action] || e.action, ' ', target(e.target),
			e.reason ? ` (${e.reason})` : ''))) : h('p', { class: 'muted' }, 'Nothing yet.')));
}
