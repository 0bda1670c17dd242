// circle.js - a circle's page (#/circle/ID): description, the reading
// plan with everyone's progress (and the owners' plan editor), members
// and roles, invite link and invite by email, import of highlights,
// email notifications, digest and export links, options, leave. It draws
// itself again on member, plan and circle events.

import { h, add, clear, toast, errText, fmtDate, name, idOf, serverHtml } from './dom.js';
import { rpc, app, subscribe, book, toc, chaptersOf, chapterLabel } from './state.js';
import { notifyCard, inviteByMail } from './mail.js';
import { exportLinks } from './digest.js';
import { importSection } from './import.js';
import { route, navGen, onLeave, screen, debounce } from './shell.js';
import { normPlan, normProgress, dueChapter, chaptersRead, thisWeek } from './plan.js';

export async function circleScreen(id) {
	const gen = navGen();
	let c;
	try {
		c = await rpc.call('circle.get', { circle: id });
	} catch (e) {
		if (gen === navGen())
			screen('Circle', h('p', { class: 'error' }, errText(e)));
		return;
	}
	const bookId = idOf(c.book);
	const [t, members, planR] = await Promise.all([
		toc(bookId).catch(() => null),
		rpc.all('circle.members', { circle: id }).catch(() => []),
		rpc.call('plan.get', { circle: id }).catch(() => null),
	]);
	const myRole = c.role || c.my_role ||
		(members.find((m) => memberAccount(m).id === app.me.id) || {}).role;
	const isMod = ['owner', 'moderator'].includes(myRole) || app.me.is_admin;
	const isOwner = myRole === 'owner';
	const chs = chaptersOf(t);
	const plan = normPlan(planR);
	const prog = normProgress(planR, members);
	const b = typeof c.book === 'object' ? c.book : await book(bookId);
	if (gen !== navGen())
		return; // the reader went elsewhere meanwhile

	const s = screen(c.name,
		h('p', { class: 'lead' }, b ? `${b.title}${b.author ? ' — ' + b.author : ''}` : ''),
		c.description ? renderedText(c.description, 'circle-description') : null,
		h('p', { class: 'actions' },
			h('a', { class: 'button primary', href: `#/read/${id}/${(chs[0] || {}).id}` }, 'Open the book'),
			h('a', { class: 'button', href: `#/search?c=${id}` }, 'Search'),
			isMod ? h('a', { class: 'button', href: `#/circle/${id}/mod` }, 'Moderation') : null,
			h('a', { class: 'button', href: `#/circle/${id}/dashboard` }, 'Dashboard'),
			h('a', { class: 'button', href: `#/circle/${id}/meetings` }, 'Meetings')));

	// Reading plan and everyone's progress, one bar per chapter.
	const planSec = h('section', { class: 'card', 'aria-labelledby': 'plan-h' },
		h('h2', { id: 'plan-h' }, 'Reading plan'));
	const total = Math.max(1, members.length || prog.length);
	const myProg = prog.find((p) => Number(idOf(p.account)) === app.me.id);
	const myNext = chaptersRead(myProg, chs) + 1;
	const ol = h('div', { class: 'plan-parts' });
	let partOl = null;
	let lastPart;
	for (const ch of chs) {
		if (!partOl || (ch.part || null) !== lastPart) {
			lastPart = ch.part || null;
			if (lastPart)
				ol.appendChild(h('h3', { class: 'part-title' }, lastPart));
			partOl = ol.appendChild(h('ul', { class: 'plan' }));
		}
		const e = plan.find((x) => x.chapter === ch.id);
		const readers = prog.filter((p) => chaptersRead(p, chs) >= ch.order);
		const pct = Math.round((100 * readers.length) / total);
		const bar = h('span', { class: 'bar' }, h('span', { class: 'fill' }));
		bar.firstChild.style.width = `${pct}%`;
		partOl.appendChild(h('li', { 'data-chapter': String(ch.id), class: ch.order === myNext ? 'current' : null },
			h('div', { class: 'plan-head' },
				h('a', { href: `#/read/${id}/${ch.id}` }, chapterLabel(ch)),
				ch.order === myNext ? h('span', { class: 'badge badge-current' }, 'you are here') : null,
				e && e.due ? h('span', { class: 'meta' }, ` due ${fmtDate(e.due)}`) : null,
				e && thisWeek(e.due) ? h('span', { class: 'badge badge-week' }, 'this week') : null),
			e && e.prompt ? h('p', { class: 'prompt' }, e.prompt) : null,
			e && e.notes ? h('p', { class: 'hint' }, `Facilitator notes: ${e.notes}`) : null,
			h('div', { class: 'plan-bar' },
				h('span', { role: 'img', 'aria-label': `${readers.length} of ${total} members have read this far` }, bar),
				h('span', { class: 'meta', 'aria-hidden': 'true' }, `${readers.length}/${total}`))));
	}
	planSec.appendChild(ol);
	if (isOwner)
		planSec.appendChild(planEditor(id, chs, plan));
	s.appendChild(planSec);

	// Members and roles.
	const ml = h('ul', { class: 'list members' });
	for (const m of members) {
		const acc = memberAccount(m);
		const li = h('li', {}, h('span', {}, name(acc), ' ',
			h('span', { class: 'meta' }, `@${acc.handle || ''}`)),
		h('span', { class: `role role-${m.role}` }, m.role || ''));
		if (isOwner && acc.id !== app.me.id) {
			const rs = h('select', { 'aria-label': `Role of ${name(acc)}` },
				['member', 'moderator', 'owner'].map((r) =>
					h('option', { value: r, selected: r === m.role }, r)));
			rs.addEventListener('change', async () => {
				try {
					await rpc.call('circle.set_role', { circle: id, account: acc.id, role: rs.value });
					toast('Role changed');
				} catch (e) { toast(errText(e)); }
			});
			li.appendChild(rs);
		}
		ml.appendChild(li);
	}
	s.appendChild(h('section', { class: 'card', 'aria-labelledby': 'mem-h' },
		h('h2', { id: 'mem-h' }, `Members (${members.length})`), ml));
	s.appendChild(importSection(id));

	// Invite.
	if (isMod || c.members_can_invite) {
		const out = h('div', { class: 'invite' });
		const role = h('select', { 'aria-label': 'Role for the invited' },
			h('option', { value: 'member' }, 'member'),
			isOwner ? h('option', { value: 'moderator' }, 'moderator') : null);
		s.appendChild(h('section', { class: 'card', 'aria-labelledby': 'inv-h' },
			h('h2', { id: 'inv-h' }, 'Invite'), role, ' ',
			h('button', {
				type: 'button', id: 'make-invite', onclick: async () => {
					try {
						const r = await rpc.call('circle.invite', { circle: id, role: role.value });
						const url = `${location.origin}/#/join/${encodeURIComponent(r.code)}`;
						const inp = h('input', { readonly: true, value: url, id: 'invite-url', 'aria-label': 'Invite link' });
						add(clear(out), inp, h('button', {
							type: 'button', onclick: async () => {
								inp.select();
								try {
									await navigator.clipboard.writeText(url);
									toast('Link copied');
								} catch (e) {
									document.execCommand('copy');
								}
							},
						}, 'Copy link'), h('p', { class: 'hint' }, 'Valid for 7 days.'));
					} catch (e) { toast(errText(e)); }
				},
			}, 'Create invite link'), out, inviteByMail(id, role)));
	}
	s.appendChild(notifyCard(id));

	const dueNow = c.current ? Number(idOf(c.current.chapter)) : (dueChapter(plan) || {}).chapter;
	s.appendChild(exportLinks(id, chs, dueNow));
	if (isOwner)
		s.appendChild(optionsForm(c));
	s.appendChild(h('section', { class: 'card' }, h('button', {
		type: 'button', onclick: async () => {
			if (!confirm('Leave this circle?'))
				return;
			try {
				await rpc.call('circle.leave', { circle: id });
				location.hash = '#/';
			} catch (e) { toast(errText(e)); }
		},
	}, 'Leave circle')));

	const refresh = debounce(() => {
		if (location.hash === `#/circle/${id}`)
			route();
	}, 300);
	onLeave(subscribe(id, (ev) => {
		if (/^(member\.|plan\.|circle\.updated|resync)/.test(ev.type))
			refresh();
	}));
}

function optionsForm(c) {
	const box = (k, label) => h('label', { class: 'check' },
		h('input', { type: 'checkbox', name: k, checked: !!c[k] }), ' ', label);
	const f = h('form', { class: 'card' }, h('h2', {}, 'Circle options'),
		box('spoiler_guard', 'Spoiler guard: hide threads beyond each reader’s progress'),
		box('post_first', 'Post first: show others’ threads once a member has posted in the chapter'),
		box('members_can_invite', 'Members can invite'),
		h('button', { type: 'submit' }, 'Save options'));
	f.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const p = { circle: c.id };
		for (const k of ['spoiler_guard', 'post_first', 'members_can_invite'])
			p[k] = f.elements[k].checked;
		try {
			await rpc.call('circle.update', p);
			toast('Saved');
		} catch (e) { toast(errText(e)); }
	});
	return f;
}

function planEditor(circle, chs, plan) {
	const rows = chs.map((ch) => {
		const e = plan.find((x) => x.chapter === ch.id) || {};
		return {
			ch,
			due: h('input', { type: 'date', value: (e.due || '').slice(0, 10), 'aria-label': `Due date for ${ch.title}` }),
			prompt: h('input', { value: e.prompt || '', 'aria-label': `Prompt for ${ch.title}`, placeholder: 'Discussion prompt' }),
			notes: h('input', { value: e.notes || '', 'aria-label': `Facilitator notes for ${ch.title}`, placeholder: 'Facilitator notes (organisers only)' }),
		};
	});
	// "First meeting on DATE, every N weeks": fills the due dates from a
	// chosen chapter on (the owner can still change any of them).
	const first = h('input', { type: 'date', id: 'fill-first' });
	const every = h('input', { type: 'number', min: 1, max: 365, value: 1, id: 'fill-every', class: 'narrow' });
	const unit = h('select', { id: 'fill-unit' }, h('option', { value: '7' }, 'weeks'), h('option', { value: '1' }, 'days'));
	const from = h('select', { id: 'fill-from' }, chs.map((ch, i) => h('option', {
		value: String(i), selected: ch.number === 1 ? true : null,
	}, chapterLabel(ch))));
	const fill = h('fieldset', { class: 'plan-fill' }, h('legend', {}, 'Fill the dates'),
		h('label', { for: first.id }, 'First meeting on '), first, ' ',
		h('label', { for: every.id }, 'then every '), every, ' ',
		h('label', { class: 'sr-only', for: unit.id }, 'Unit'), unit, ' ',
		h('label', { for: from.id }, 'from '), from, ' ',
		h('button', {
			type: 'button', id: 'fill-dates', onclick: () => {
				if (!first.value) {
					toast('Choose the date of the first meeting');
					first.focus();
					return;
				}
				const step = Math.max(1, Number(every.value) || 1) * Number(unit.value);
				const d = new Date(`${first.value}T00:00:00Z`);
				for (const r of rows.slice(Number(from.value))) {
					r.due.value = d.toISOString().slice(0, 10);
					d.setUTCDate(d.getUTCDate() + step);
				}
				toast('Dates filled: check them and save');
			},
		}, 'Fill'));
	const f = h('form', { class: 'plan-edit' },
		h('h3', {}, 'Edit the plan'), fill,
		rows.map((r) => h('div', { class: 'row' }, h('span', {}, chapterLabel(r.ch)), r.due, r.prompt, r.notes)),
		h('button', { type: 'submit' }, 'Save plan'));
	const d = h('details', {}, h('summary', {}, 'Edit the plan'), f);
	f.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const entries = rows.filter((r) => r.due.value).map((r) => ({
			chapter: r.ch.id, due: r.due.value,
			...(r.prompt.value.trim() ? { prompt: r.prompt.value.trim() } : {}),
			...(r.notes.value.trim() ? { notes: r.notes.value.trim() } : {}),
		}));
		try {
			await rpc.call('plan.set', { circle, entries });
			toast('Plan saved');
		} catch (e) { toast(errText(e)); }
	});
	return d;
}

function memberAccount(m) {
	return m.account && typeof m.account === 'object' ? m.account : m;
}

// Markdown the server stores as source (a circle's description): shown as
// the server renders posts (markdown.preview), plain text until then.
function renderedText(md, id) {
	const div = h('div', { class: 'rendered', id }, h('p', {}, md));
	rpc.call('markdown.preview', { body: md })
		.then((r) => serverHtml(div, r.body_html)).catch(() => {});
	return div;
}
