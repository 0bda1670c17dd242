// meeting.js - meetings: the circle's list (#/circle/ID/meetings, where
// owners schedule one) and meeting mode (#/meeting/ID).
//
// In meeting mode the organiser (owner or moderator) moves through the
// agenda; everyone's screen follows live: meeting.current opens the current
// thread - its passage, body and replies - on every member's screen, and
// with "Follow in the book" on, the reading view at that passage. Members
// raise a hand for the current item, mark themselves present and propose
// threads; owners edit the agenda (suggestions, proposals, order) and
// moderators write each item's outcome, which is posted into the thread.
// Every change arrives as meeting.changed and the screen reloads the
// meeting (meeting.get gives each viewer only what they may see).

import { h, clear, toast, errText, fmtTime, name } from './dom.js';
import { rpc, subscribe } from './state.js';
import { ensureCss } from './dashboard.js';

function quoteOf(thread) {
	const sel = thread && thread.target && thread.target.selector;
	const q = (sel || []).find((s) => s.type === 'TextQuoteSelector');
	return q ? q.exact : null;
}

function threadLabel(thread) {
	const q = quoteOf(thread);
	const where = q ? `“${q.length > 90 ? q.slice(0, 90) + '…' : q}”` : 'On the whole chapter';
	const body = thread && (thread.excerpt || thread.body);
	if (!body)
		return where;
	return `${where}: ${body.length > 160 ? body.slice(0, 160) + '…' : body}`;
}

function bodyBlock(post) {
	const el = h('div', { class: 'body' });
	if (post && post.body_html)
		el.innerHTML = post.body_html; // rendered and sanitised by the server
	else
		el.textContent = post && post.hidden ? '(hidden by a moderator)' : '';
	return el;
}

function btn(label, fn, cls) {
	const b = h('button', { type: 'button', class: cls || '' }, label);
	b.addEventListener('click', async () => {
		b.disabled = true;
		try {
			await fn();
		} catch (e) {
			toast(errText(e));
		} finally {
			b.disabled = false;
		}
	});
	return b;
}

/* ---------- the list ---------- */

export async function meetingsScreen(main, circle) {
	ensureCss('/css/organiser.css');
	clear(main);
	const root = h('div', { class: 'screen meetings' },
		h('p', { class: 'crumbs' }, h('a', { href: `#/circle/${circle}` }, 'Back to the circle')),
		h('h1', { id: 'screen-title' }, 'Meetings'));
	main.appendChild(root);
	document.title = 'Meetings · Scholia';
	let c, list;
	try {
		[c, list] = await Promise.all([
			rpc.call('circle.get', { circle }),
			rpc.all('meeting.list', { circle }),
		]);
	} catch (e) {
		root.appendChild(h('p', { class: 'error' }, errText(e)));
		return () => {};
	}
	const role = c.role || c.my_role;
	root.querySelector('h1').textContent = `Meetings: ${c.name}`;
	const ul = h('ul', { class: 'list meeting-list' });
	for (const m of list)
		ul.appendChild(h('li', {},
			h('a', { href: `#/meeting/${m.id}` }, m.title || 'Meeting'),
			h('span', { class: 'meta' }, ` ${fmtTime(m.at)} · ${m.status} · ${m.agenda_count} on the agenda`)));
	root.appendChild(h('section', { class: 'card', 'aria-labelledby': 'ml-h' },
		h('h2', { id: 'ml-h' }, 'Scheduled and past meetings'),
		list.length ? ul : h('p', {}, 'No meetings yet.')));
	if (role === 'owner') {
		const title = h('input', { id: 'mt-title', maxlength: 200, required: true });
		const when = h('input', { id: 'mt-at', type: 'datetime-local', required: true });
		const err = h('p', { class: 'error', role: 'alert' });
		const form = h('form', { class: 'card' },
			h('h2', {}, 'Schedule a meeting'),
			h('div', { class: 'field' }, h('label', { for: 'mt-title' }, 'Title'), title),
			h('div', { class: 'field' }, h('label', { for: 'mt-at' }, 'Date and time'), when),
			err, h('button', { type: 'submit', class: 'primary' }, 'Schedule'));
		form.addEventListener('submit', async (ev) => {
			ev.preventDefault();
			err.textContent = '';
			try {
				const at = new Date(when.value);
				if (Number.isNaN(at.getTime()))
					throw new Error('Choose a date and time.');
				const params = { circle, at: at.toISOString().replace(/\.\d+Z$/, 'Z'),
					title: title.value.trim() };
				const plan = await rpc.call('plan.get', { circle });
				const today = new Date().toISOString().slice(0, 10);
				const next = (plan.entries || []).find((e) => e.due >= today);
				if (next)
					params.chapter = next.chapter;
				const m = await rpc.call('meeting.create', params);
				location.hash = `#/meeting/${m.id}`;
			} catch (e) {
				err.textContent = e.code !== undefined ? errText(e) : e.message;
			}
		});
		root.appendChild(form);
	}
	root.dataset.ready = 'true';
	return () => {};
}

/* ---------- meeting mode ---------- */

// The meeting followed into the reading view ("Follow in the book"): its id
// and circle, or null. Kept across screens so the reader follows too.
let following = null;
let followUnsub = null;

function follow(m) {
	if (followUnsub)
		followUnsub();
	followUnsub = null;
	following = m ? { id: m.id, circle: m.circle } : null;
	if (!m)
		return;
	followUnsub = subscribe(m.circle, (ev) => {
		if (ev.type !== 'meeting.current' || !following ||
		    ev.data.meeting !== following.id || !ev.data.item)
			return;
		if (!location.hash.startsWith(`#/meeting/${following.id}`))
			location.hash = `#/read/${following.circle}/${ev.data.chapter}?a=${ev.data.item}`;
	});
}

export async function meetingScreen(main, id) {
	ensureCss('/css/organiser.css');
	clear(main);
	const root = h('div', { class: 'screen meeting' });
	main.appendChild(root);
	document.title = 'Meeting · Scholia';
	let m, c;
	try {
		m = await rpc.call('meeting.get', { meeting: id });
		c = await rpc.call('circle.get', { circle: m.circle });
	} catch (e) {
		root.appendChild(h('h1', { id: 'screen-title' }, 'Meeting'),
			h('p', { class: 'error' }, errText(e)));
		return () => {};
	}
	const role = c.role || c.my_role;
	const isOwner = role === 'owner';
	const runs = isOwner || role === 'moderator';
	const live = h('div', { class: 'sr-only', role: 'status', 'aria-live': 'polite' });
	let currentThread = null;

	async function loadCurrent() {
		currentThread = null;
		if (m.current) {
			try {
				currentThread = await rpc.call('annotation.get', { annotation: m.current });
			} catch (e) { /* not visible: nothing to open */ }
		}
	}

	function currentPanel() {
		const sec = h('section', { class: 'card current', 'aria-labelledby': 'cur-h', id: 'current' },
			h('h2', { id: 'cur-h' }, 'Now discussing'));
		if (!currentThread) {
			sec.appendChild(h('p', { class: 'meta' }, m.status === 'ended'
				? 'The meeting has ended.' : 'Nothing yet: the organiser opens the first thread.'));
			return sec;
		}
		const t = currentThread;
		const q = quoteOf(t);
		sec.append(
			q ? h('blockquote', { class: 'passage' }, q) : h('p', { class: 'meta' }, 'On the whole chapter'),
			h('p', { class: 'meta' }, `${name(t.author)} · ${fmtTime(t.created_at)}`),
			bodyBlock(t));
		if ((t.replies || []).length)
			sec.appendChild(h('ol', { class: 'replies' }, t.replies.map((r) =>
				h('li', { class: r.meeting_outcome ? 'outcome' : '' },
					h('p', { class: 'meta' }, name(r.author), r.meeting_outcome ? ' · meeting outcome' : ''),
					bodyBlock(r)))));
		sec.appendChild(h('p', { class: 'actions' },
			h('a', { class: 'button', href: `#/read/${m.circle}/${t.chapter}?a=${t.id}` }, 'Open in the book')));
		const item = m.agenda.find((i) => i.annotation === m.current);
		const hands = (item && item.hands) || [];
		sec.appendChild(h('div', { class: 'hands', 'aria-labelledby': 'hands-h' },
			h('h3', { id: 'hands-h' }, `Raised hands (${hands.length})`),
			hands.length ? h('ol', {}, hands.map((x) => h('li', {}, name(x.account),
				runs ? btn('Lower', () => rpc.call('meeting.hand',
					{ meeting: m.id, up: false, account: x.account.id }).then(refresh), 'small') : null)))
				: h('p', { class: 'meta' }, 'Nobody is waiting.')));
		return sec;
	}

	function agendaItem(it, i) {
		const cur = it.annotation === m.current;
		const li = h('li', { class: cur ? 'agenda-item is-current' : 'agenda-item',
			'aria-current': cur ? 'true' : null },
		h('p', {}, h('a', { href: `#/read/${m.circle}/${it.thread.chapter}?a=${it.annotation}` }, threadLabel(it.thread)),
			h('span', { class: 'meta' }, ` · ${name(it.thread.author)} · ${it.thread.reply_count} repl${it.thread.reply_count === 1 ? 'y' : 'ies'}`,
				cur ? ' · now' : '')));
		const acts = h('p', { class: 'actions' });
		if (runs && m.status !== 'ended' && !cur)
			acts.appendChild(btn('Discuss now', () => rpc.call('meeting.advance',
				{ meeting: m.id, item: it.annotation }).then(refresh), 'primary small'));
		if (isOwner) {
			const ids = m.agenda.map((x) => x.annotation);
			if (i > 0)
				acts.appendChild(btn('Move up', () => {
					[ids[i - 1], ids[i]] = [ids[i], ids[i - 1]];
					return setAgenda(ids);
				}, 'small'));
			acts.appendChild(btn('Remove', () => setAgenda(ids.filter((x) => x !== it.annotation)), 'small'));
		}
		li.appendChild(acts);
		for (const o of it.outcomes || [])
			li.appendChild(h('div', { class: 'outcome' },
				h('p', { class: 'meta' }, `Outcome by ${name(o.author)}`),
				h('p', {}, o.body === null ? '(hidden by a moderator)' : o.body)));
		if (runs) {
			const ta = h('textarea', { id: `oc-${it.annotation}`, rows: 2, maxlength: 10000 });
			const form = h('form', { class: 'outcome-form' },
				h('label', { for: ta.id }, 'Outcome (posted as a reply in the thread)'), ta,
				h('button', { type: 'submit', class: 'small' }, 'Post outcome'));
			form.addEventListener('submit', async (ev) => {
				ev.preventDefault();
				if (!ta.value.trim())
					return;
				try {
					await rpc.call('meeting.outcome', { meeting: m.id, annotation: it.annotation, body: ta.value });
					// the textarea on screen now (a live change may have
					// re-rendered it meanwhile)
					const cur = document.getElementById(ta.id) || ta;
					cur.value = '';
					toast('Outcome posted');
					await refresh();
				} catch (e) { toast(errText(e)); }
			});
			li.appendChild(form);
		}
		return li;
	}

	async function setAgenda(ids) {
		await rpc.call('meeting.agenda', { meeting: m.id, annotations: ids });
		await refresh();
	}

	function candidates(title, list, labelOf) {
		if (!list.length)
			return null;
		const ids = m.agenda.map((x) => x.annotation);
		return h('section', { class: 'card', 'aria-label': title }, h('h3', {}, title),
			h('ul', { class: 'list' }, list.map((s) => h('li', {},
				h('span', {}, labelOf(s)),
				isOwner ? btn('Add to agenda', () => setAgenda([...ids, s.annotation]), 'small') : null))));
	}

	async function proposeBox() {
		if (!m.chapter || m.status === 'ended')
			return null;
		let anns = [];
		try {
			anns = (await rpc.all('annotation.list', { circle: m.circle, chapter: m.chapter }))
				.filter((a) => a.visibility === 'circle' && !a.deleted &&
					!m.agenda.some((x) => x.annotation === a.id) &&
					!m.proposals.some((x) => x.annotation === a.id));
		} catch (e) { return null; }
		if (!anns.length)
			return null;
		const sel = h('select', { id: 'propose-sel' }, anns.map((a) =>
			h('option', { value: a.id }, threadLabel(a))));
		const form = h('form', { class: 'card' }, h('h3', {}, 'Propose a thread for the agenda'),
			h('div', { class: 'field' }, h('label', { for: 'propose-sel' }, 'Thread'), sel),
			h('button', { type: 'submit' }, 'Propose'));
		form.addEventListener('submit', async (ev) => {
			ev.preventDefault();
			try {
				await rpc.call('meeting.propose', { meeting: m.id, annotation: Number(sel.value) });
				toast('Proposed');
				await refresh();
			} catch (e) { toast(errText(e)); }
		});
		return form;
	}

	async function render() {
		await loadCurrent();
		const keep = document.activeElement && document.activeElement.id;
		// drafts of outcomes survive the re-render a live change causes
		const drafts = new Map([...root.querySelectorAll('textarea[id^="oc-"]')]
			.map((t) => [t.id, t.value]));
		clear(root);
		document.title = `${m.title || 'Meeting'} · Scholia`;
		const present = h('input', { type: 'checkbox', id: 'mt-present', checked: m.present });
		present.addEventListener('change', async () => {
			try {
				m = await rpc.call('meeting.attend', { meeting: m.id, present: present.checked });
				render();
			} catch (e) { toast(errText(e)); }
		});
		const followBox = h('input', { type: 'checkbox', id: 'mt-follow',
			checked: !!(following && following.id === m.id) });
		followBox.addEventListener('change', () => follow(followBox.checked ? m : null));
		const hand = m.my_hand
			? btn('Lower my hand', () => rpc.call('meeting.hand', { meeting: m.id, up: false }).then(refresh))
			: btn('Raise my hand', () => rpc.call('meeting.hand', { meeting: m.id, up: true }).then(refresh), 'primary');
		hand.id = 'mt-hand';
		root.append(
			h('p', { class: 'crumbs' }, h('a', { href: `#/circle/${m.circle}/meetings` }, 'All meetings')),
			h('h1', { id: 'screen-title' }, m.title || 'Meeting'),
			h('p', { class: 'lead' }, `${fmtTime(m.at)} · `,
				h('span', { class: `status status-${m.status}` }, m.status)),
			live,
			h('div', { class: 'card meeting-controls' },
				m.status !== 'ended' ? hand : null,
				h('span', { class: 'check' }, present, h('label', { for: 'mt-present' }, 'I am present')),
				h('span', { class: 'check' }, followBox, h('label', { for: 'mt-follow' }, 'Follow in the book')),
				runs && m.status === 'scheduled' && m.agenda.length
					? btn('Start the meeting', () => rpc.call('meeting.advance',
						{ meeting: m.id, item: m.agenda[0].annotation }).then(refresh), 'primary') : null,
				isOwner && m.status !== 'ended'
					? btn('End the meeting', () => rpc.call('meeting.update',
						{ meeting: m.id, status: 'ended' }).then(refresh)) : null),
			currentPanel(),
			h('section', { class: 'card', 'aria-labelledby': 'ag-h' },
				h('h2', { id: 'ag-h' }, 'Agenda'),
				m.agenda.length ? h('ol', { class: 'agenda' }, m.agenda.map(agendaItem))
					: h('p', {}, 'The agenda is empty.')),
			h('p', { class: 'meta', id: 'attendees' }, `Present (${m.attendees.length}): `,
				m.attendees.map(name).join(', ') || 'nobody yet'));
		const props = candidates('Proposed by members', m.proposals,
			(p) => `${threadLabel(p.thread)} — proposed by ${name(p.proposed_by)}`);
		const sugg = isOwner ? candidates('Suggested: the week\'s most discussed and unanswered threads',
			(m.suggestions || []).map((s) => ({ ...s, thread: { target: s.target, excerpt: s.excerpt } })),
			(s) => `${threadLabel(s.thread)} — ${s.reason === 'unanswered' ? 'no reply yet' : `${s.replies} replies, ${s.replies_week} this week`}`) : null;
		root.append(...[props, sugg, await proposeBox()].filter(Boolean));
		for (const [tid, val] of drafts) {
			const ta = document.getElementById(tid);
			if (ta && val)
				ta.value = val;
		}
		if (keep) {
			const el = document.getElementById(keep);
			if (el)
				el.focus({ preventScroll: true });
		}
		root.dataset.ready = 'true';
		root.dataset.current = String(m.current || '');
	}

	async function refresh() {
		try {
			m = await rpc.call('meeting.get', { meeting: id });
			await render();
		} catch (e) {
			if (e.code === -32004) {
				clear(root);
				root.append(h('h1', { id: 'screen-title' }, 'Meeting'), h('p', {}, 'This meeting was deleted.'));
			}
		}
	}

	await render();
	let timer = null;
	const unsub = subscribe(m.circle, (ev) => {
		const mine = (ev.type === 'meeting.changed' && ev.data.id === m.id) ||
			(ev.type === 'meeting.current' && ev.data.meeting === m.id) ||
			(ev.type === 'reply.created' && ev.data.annotation === m.current) ||
			ev.type === 'resync';
		if (!mine)
			return;
		if (ev.type === 'meeting.current')
			live.textContent = 'The discussion moved to the next thread.';
		clearTimeout(timer);
		timer = setTimeout(refresh, 50);
	});
	return () => {
		clearTimeout(timer);
		unsub();
	};
}
