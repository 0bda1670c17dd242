// inbox.js - notifications (#/inbox): who, which thread, which chapter,
// each linking to its thread; mark all read.

import { h, toast, errText, fmtTime } from './dom.js';
import { rpc, app } from './state.js';
import { notifText, notifLink, prepare } from './notes.js';
import { screen } from './shell.js';
import { setUnread } from './session.js';

export async function inboxScreen() {
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
