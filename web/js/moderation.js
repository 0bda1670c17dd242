// moderation.js - the moderation screen (#/circle/ID/mod): the flag queue
// (each post with its chapter, quote, author and a link to the thread),
// passages to confirm after a new edition (anchor.review: the old quote
// and the proposed passage side by side), members with their state and
// only the actions that apply, slow mode, and the audit log in words
// ("Olive hid Bob's thread on “…”"). Mute and remove ask for their reason
// (and the mute's length) in a real dialog, never prompt().

import { h, add, clear, serverHtml, toast, errText, fmtTime, name, idOf } from './dom.js';
import { rpc, app, subscribe, toc, chaptersOf, chapterLabel } from './state.js';

export const REASONS = { off_topic: 'Off topic', uncivil: 'Uncivil', spam: 'Spam', other: 'Other' };

const ACTIONS = {
	hide: 'hid', unhide: 'unhid', auto_hide: 'hid automatically', dismiss_flags: 'dismissed the flags on',
	lock: 'locked', unlock: 'unlocked', pin: 'pinned', unpin: 'unpinned', mute: 'muted', unmute: 'unmuted',
	remove: 'removed', slow: 'set slow mode on', 'anchor.accept': 'moved to its new passage',
	'anchor.reject': 'left orphaned', ban: 'banned', unban: 'unbanned',
};

const DURATIONS = [
	['1', 'one hour'], ['24', 'one day'], ['72', 'three days'], ['168', 'one week'], ['0', 'until lifted'],
];

function quoteOf(a) {
	const s = a && a.target && a.target.selector;
	const q = Array.isArray(s) ? s.find((x) => x.type === 'TextQuoteSelector') : null;
	return q ? q.exact : '';
}

function clip(s, n) {
	const cps = Array.from(String(s || ''));
	return cps.length > n ? cps.slice(0, n - 1).join('') + '…' : cps.join('');
}

// A modal dialog with a form; resolves to the form's values, or null when
// cancelled (Escape, Cancel). Focus returns to what opened it.
export function askDialog(title, fields, okLabel) {
	return new Promise((resolve) => {
		const back = document.activeElement;
		const err = h('p', { class: 'error', role: 'alert' });
		const form = h('form', { method: 'dialog' },
			h('h2', { id: 'dlg-title' }, title), fields.map((f) => f.el), err,
			h('div', { class: 'row' },
				h('button', { type: 'submit', class: 'primary', value: 'ok' }, okLabel),
				h('button', { type: 'button', value: 'cancel', onclick: () => dlg.close('cancel') }, 'Cancel')));
		const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': 'dlg-title', id: 'mod-dialog' }, form);
		form.addEventListener('submit', (ev) => {
			const missing = fields.find((f) => f.required && !f.value().trim());
			if (missing) {
				ev.preventDefault();
				err.textContent = `${missing.label} is needed.`;
				missing.input.focus();
				return;
			}
			ev.preventDefault();
			dlg.close('ok');
		});
		dlg.addEventListener('close', () => {
			const out = dlg.returnValue === 'ok'
				? Object.fromEntries(fields.map((f) => [f.key, f.value().trim()])) : null;
			dlg.remove();
			if (back && back.focus)
				back.focus();
			resolve(out);
		});
		document.body.appendChild(dlg);
		dlg.showModal();
		fields[0].input.focus();
	});
}

function textField(key, label, required) {
	const id = `dlg-${key}`;
	const input = h('textarea', { id, rows: 2, maxlength: 500, 'aria-required': required ? 'true' : null });
	return { key, label, required, input, value: () => input.value,
		el: h('div', { class: 'field' }, h('label', { for: id }, label), input) };
}

function durationField() {
	const id = 'dlg-duration';
	const input = h('select', { id }, DURATIONS.map(([v, l]) => h('option', { value: v, selected: v === '24' ? true : null }, l)));
	return { key: 'hours', label: 'Length', input, value: () => input.value,
		el: h('div', { class: 'field' }, h('label', { for: id }, 'For how long'), input) };
}

export async function modScreen(screen, onCleanup, debounce, id) {
	const queue = h('ul', { class: 'list', 'aria-label': 'Flag queue', id: 'flag-queue' });
	const log = h('ul', { class: 'list', 'aria-label': 'Audit log', id: 'audit-log' });
	const secs = h('input', { type: 'number', min: 0, value: 0, class: 'narrow', id: 'slow-secs' });
	const members = h('ul', { class: 'list', 'aria-label': 'Members', id: 'mod-members' });
	const review = h('ul', { class: 'list', 'aria-label': 'Passages to confirm', id: 'anchor-review' });
	screen('Moderation',
		h('p', {}, h('a', { href: `#/circle/${id}` }, '← Back to the circle')),
		h('section', { class: 'card', 'aria-labelledby': 'q-h' }, h('h2', { id: 'q-h' }, 'Flag queue'), queue),
		h('section', { class: 'card', 'aria-labelledby': 'r-h' }, h('h2', { id: 'r-h' }, 'Passages to confirm'),
			h('p', { class: 'hint' }, 'After a new edition of the book, threads whose passage changed too much wait here: keep them on the proposed passage, or leave them orphaned with their old quote.'),
			review),
		h('section', { class: 'card', 'aria-labelledby': 'm-h' }, h('h2', { id: 'm-h' }, 'Members'), members),
		h('section', { class: 'card', 'aria-labelledby': 's-h' }, h('h2', { id: 's-h' }, 'Slow mode'),
			h('label', { for: secs.id }, 'Seconds between posts for members (0 turns it off) '),
			secs, ' ', h('button', {
				type: 'button', onclick: async () => {
					try {
						await rpc.call('mod.slow', { circle: id, seconds: Number(secs.value) });
						toast('Slow mode set');
						loadLog();
					} catch (e) { toast(errText(e)); }
				},
			}, 'Set')),
		h('section', { class: 'card', 'aria-labelledby': 'l-h' }, h('h2', { id: 'l-h' }, 'Audit log'), log));

	// What the screen names things by: chapters, members, threads.
	const chapters = new Map();
	const people = new Map();
	const threads = new Map();
	let roster = [];
	try {
		const c = await rpc.call('circle.get', { circle: id });
		for (const ch of chaptersOf(await toc(idOf(c.book))))
			chapters.set(ch.id, ch);
	} catch (e) { /* names fall back to ids */ }
	const chapterName = (chId) => {
		const ch = chapters.get(Number(chId));
		return ch ? chapterLabel(ch) : 'a chapter';
	};
	const thread = async (annId) => {
		if (!threads.has(annId))
			threads.set(annId, rpc.call('annotation.get', { annotation: annId }).catch(() => null));
		return threads.get(annId);
	};
	const loadRoster = async () => {
		roster = await rpc.all('circle.members', { circle: id }).catch(() => []);
		for (const m of roster) {
			const acc = m.account && typeof m.account === 'object' ? m.account : m;
			people.set(acc.id, acc);
		}
	};

	const loadQueue = async () => {
		let items;
		try {
			items = await rpc.all('mod.queue', { circle: id });
		} catch (e) {
			clear(queue).appendChild(h('li', {}, errText(e)));
			return;
		}
		const rows = [];
		for (const f of items) {
			const content = f.content || {};
			const isReply = !!(f.target && f.target.reply !== undefined);
			const annId = Number(idOf(isReply ? content.annotation : content.id));
			const t = isReply ? await thread(annId) : content;
			const q = quoteOf(t);
			const ch = content.chapter ?? (t && t.chapter);
			const flags = f.flags || [f];
			const href = `#/read/${id}/${idOf(ch)}?a=${annId}`;
			const body = h('div', { class: 'body' });
			if (content.body_html)
				serverHtml(body, content.body_html);
			else
				body.textContent = content.body || '(no text)';
			rows.push(h('li', { class: 'flag', 'data-target': isReply ? `reply-${idOf(f.target.reply)}` : `annotation-${annId}` },
				h('p', {}, h('strong', {}, isReply ? 'A reply' : 'A thread'), ` by ${name(content.author)} in ${chapterName(ch)}`,
					content.hidden ? h('span', { class: 'badge badge-hidden' }, 'hidden') : null,
					f.auto_hidden ? h('span', { class: 'meta' }, ' (hidden automatically)') : null),
				q ? h('blockquote', { class: 'quote' }, clip(q, 200)) : h('p', { class: 'meta' }, 'About the whole chapter'),
				body,
				h('ul', { class: 'flags' }, flags.map((x) => h('li', {},
					`${REASONS[x.reason] || x.reason}${x.note ? ': ' + x.note : ''} — flagged by ${name(x.flagger)}`,
					x.created_at ? h('span', { class: 'meta' }, `, ${fmtTime(x.created_at)}`) : null))),
				h('div', { class: 'actions' },
					h('a', { href, class: 'button' }, 'Open the thread'),
					h('button', { type: 'button', onclick: () => resolve(f, 'hide') }, 'Hide'),
					h('button', { type: 'button', onclick: () => resolve(f, 'dismiss') }, 'Dismiss'))));
		}
		clear(queue);
		if (!rows.length)
			queue.appendChild(h('li', { class: 'empty' }, 'Nothing waiting.'));
		add(queue, rows);
	};
	const resolve = async (f, action) => {
		try {
			await rpc.call('mod.resolve', { flag: f.id ?? (f.flags && f.flags[0].id), action });
			toast(action === 'hide' ? 'Hidden' : 'Flags dismissed');
			loadQueue();
			loadLog();
		} catch (e) { toast(errText(e)); }
	};

	const targetText = async (t) => {
		// {"annotation": 12} (the SPEC's form) or "annotation:12"
		if (t && typeof t === 'object') {
			const k = Object.keys(t)[0];
			t = k ? `${k}:${idOf(t[k])}` : '';
		}
		const m = /^(annotation|reply|account|circle|meeting|invite):(.+)$/.exec(String(t || ''));
		if (!m)
			return String(t || '');
		if (m[1] === 'meeting')
			return `a meeting (#${m[2]})`;
		if (m[1] === 'invite')
			return 'an invitation';
		const n = Number(m[2]);
		if (m[1] === 'account') {
			const p = people.get(n);
			return p ? name(p) : `a former member (#${n})`;
		}
		if (m[1] === 'circle')
			return 'the circle';
		if (m[1] === 'reply')
			return `a reply (#${n})`;
		const a = await thread(n);
		if (!a)
			return `a thread (#${n})`;
		const q = quoteOf(a);
		return `${name(a.author)}’s thread ${q ? `on “${clip(q, 60)}”` : 'about the whole chapter'} in ${chapterName(a.chapter)}`;
	};
	const loadLog = async () => {
		let items;
		try {
			items = await rpc.all('mod.log', { circle: id }, 3);
		} catch (e) {
			clear(log).appendChild(h('li', {}, errText(e)));
			return;
		}
		const rows = [];
		for (const x of items) {
			const what = await targetText(x.target);
			const who = x.actor ? name(x.actor) : 'Scholia';
			rows.push(h('li', {}, h('span', { class: 'meta' }, fmtTime(x.at), ' '),
				`${who} ${ACTIONS[x.action] || x.action} ${what}`,
				x.reason ? h('span', { class: 'meta' }, ` — “${x.reason}”`) : null));
		}
		add(clear(log), rows.length ? rows : h('li', { class: 'empty' }, 'Nothing yet.'));
	};

	const act = async (acc, method, extra) => {
		try {
			await rpc.call(method, { circle: id, account: acc.id, ...extra });
			toast(method === 'mod.unmute' ? `${name(acc)} may post again` : 'Done');
			await loadRoster();
			loadMembers();
			loadLog();
		} catch (e) { toast(errText(e)); }
	};
	const loadMembers = () => {
		const myRole = (roster.find((m) => idOf(m.account) === app.me.id) || {}).role;
		const rows = [];
		for (const m of roster) {
			const acc = m.account && typeof m.account === 'object' ? m.account : m;
			const muted = m.muted;
			const state = muted ? (muted.until ? `muted until ${fmtTime(muted.until)}` : 'muted until lifted') : null;
			// only owners act on moderators; nobody here acts on an owner
			const may = acc.id !== app.me.id && m.role !== 'owner' &&
				(m.role !== 'moderator' || myRole === 'owner' || app.me.is_admin);
			const buttons = [];
			if (may && muted)
				buttons.push(h('button', { type: 'button', class: 'small', onclick: () => act(acc, 'mod.unmute', {}) }, 'Unmute'));
			if (may && !muted)
				buttons.push(h('button', {
					type: 'button', class: 'small', onclick: async () => {
						const r = await askDialog(`Mute ${name(acc)}`, [textField('reason', 'Reason (the member is told)', true), durationField()], 'Mute');
						if (!r)
							return;
						const extra = { reason: r.reason };
						if (Number(r.hours) > 0)
							extra.until = new Date(Date.now() + Number(r.hours) * 3600e3).toISOString().replace(/\.\d+Z$/, 'Z');
						act(acc, 'mod.mute', extra);
					},
				}, 'Mute…'));
			if (may)
				buttons.push(h('button', {
					type: 'button', class: 'small danger', onclick: async () => {
						const r = await askDialog(`Remove ${name(acc)} from the circle`, [textField('reason', 'Reason (kept in the audit log)', true)], 'Remove');
						if (r)
							act(acc, 'mod.remove', { reason: r.reason });
					},
				}, 'Remove…'));
			rows.push(h('li', { 'data-member': String(acc.id) },
				h('span', {}, name(acc), ' ', h('span', { class: 'meta' }, `@${acc.handle || ''} · ${m.role}`),
					state ? h('span', { class: 'badge badge-muted' }, state) : null),
				h('span', { class: 'actions' }, buttons)));
		}
		add(clear(members), rows);
	};

	const loadReview = async () => {
		let items;
		try {
			items = await rpc.all('anchor.review', { circle: id }, 5);
		} catch (e) {
			clear(review).appendChild(h('li', {}, errText(e)));
			return;
		}
		const side = (label, x) => h('div', { class: 'side' }, h('h3', {}, label),
			h('blockquote', { class: 'plain' },
				x && x.prefix ? h('span', { class: 'ctx' }, `…${x.prefix}`) : null,
				h('mark', {}, (x && x.exact) || ''),
				x && x.suffix ? h('span', { class: 'ctx' }, `${x.suffix}…`) : null));
		const rows = items.map((a) => {
			const decide = (accept) => h('button', {
				type: 'button', class: 'small', onclick: async () => {
					try {
						await rpc.call('anchor.resolve', { annotation: a.id, accept });
						toast(accept ? 'Kept on the new passage' : 'Left orphaned');
						loadReview();
						loadLog();
					} catch (e) { toast(errText(e)); }
				},
			}, accept ? 'Keep on the new passage' : 'Leave orphaned');
			return h('li', { class: 'flag review' },
				h('p', {}, h('a', { href: `#/read/${id}/${idOf(a.chapter)}?a=${a.id}` }, `${name(a.author)}’s thread`),
					` in ${chapterName(a.chapter)}`,
					typeof a.score === 'number' ? h('span', { class: 'meta' }, ` (match ${Math.round(a.score * 100)}%)`) : null),
				h('div', { class: 'side-by-side' }, side('Old quote', a.old), side('Proposed passage', a.proposed)),
				h('div', { class: 'actions' }, decide(true), decide(false)));
		});
		add(clear(review), rows.length ? rows : h('li', { class: 'empty' }, 'Nothing to confirm.'));
	};

	await loadRoster();
	loadMembers();
	loadQueue();
	loadLog();
	loadReview();
	const again = debounce(async () => {
		await loadRoster();
		loadMembers();
		loadQueue();
		loadLog();
	}, 300);
	onCleanup(subscribe(id, again));
}
