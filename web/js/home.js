// home.js - my circles (#/): each circle's book, the chapter due now,
// my progress and a link to go on reading; with no circle yet, how to
// start or join one.

import { h, add, errText, fmtDate, idOf } from './dom.js';
import { rpc, book, toc, chaptersOf } from './state.js';
import { screen } from './shell.js';
import { normPlan, dueChapter, chaptersRead } from './plan.js';

export async function homeScreen() {
	const list = h('ul', { class: 'circles', 'aria-label': 'Your circles' });
	screen('Your circles', list,
		h('p', {}, h('a', { href: '#/new', class: 'button primary' }, 'Start a circle')));
	let circles;
	try {
		circles = await rpc.all('circle.list');
	} catch (e) {
		list.appendChild(h('li', {}, errText(e)));
		return;
	}
	if (!circles.length)
		list.appendChild(h('li', { class: 'empty card', id: 'empty-home' },
			h('h2', {}, 'Welcome to Scholia'),
			h('p', {}, 'You are in no circle yet. A circle is a few people reading one book together.'),
			h('ol', {},
				h('li', {}, 'To start one: choose “Start a circle”, pick the book, then make an invite link on the circle’s page and send it to your readers.'),
				h('li', {}, 'To join one: open the invite link someone sent you; it brings you straight into their circle.'),
				h('li', {}, 'Then open the book, select some words and start a thread.'))));
	for (const c of circles) {
		const bookId = idOf(c.book);
		const li = h('li', { class: 'card circle' },
			h('h2', {}, h('a', { href: `#/circle/${c.id}` }, c.name)),
			h('p', { class: 'meta' }, c.role ? `Your role: ${c.role}` : ''));
		list.appendChild(li);
		(async () => {
			const b = typeof c.book === 'object' ? c.book : await book(bookId);
			const t = await toc(bookId);
			const chs = chaptersOf(t);
			const full = await rpc.call('circle.get', { circle: c.id }).catch(() => c);
			let due = full.current || null;
			if (due)
				due = { ...due, chapter: Number(idOf(due.chapter)) };
			else
				due = dueChapter(normPlan(await rpc.call('plan.get', { circle: c.id }).catch(() => null)));
			const mp = full.me && full.me.progress;
			const dueCh = due && chs.find((x) => x.id === due.chapter);
			const myCh = mp && chs.find((x) => x.id === Number(idOf(mp.chapter)));
			const nRead = chaptersRead(mp, chs);
			add(li,
				h('p', {}, b ? `${b.title}${b.author ? ' — ' + b.author : ''}` : ''),
				dueCh ? h('p', {}, 'Due: ',
					h('a', { href: `#/read/${c.id}/${dueCh.id}` }, dueCh.title),
					due.due ? ` by ${fmtDate(due.due)}` : '') : null,
				progressBar(nRead, chs.length, 'Your progress'),
				h('p', {}, h('a', {
					href: `#/read/${c.id}/${((myCh && (mp.block === null ? chs[nRead] || myCh : myCh)) || dueCh || chs[0] || {}).id}`,
					class: 'button',
				}, myCh ? 'Continue reading' : 'Start reading')));
		})().catch(() => {});
	}
}

function progressBar(value, max, label) {
	const pct = max ? Math.round((100 * value) / max) : 0;
	const bar = h('span', { class: 'bar' }, h('span', { class: 'fill' }));
	bar.firstChild.style.width = `${pct}%`;
	return h('p', { class: 'progress' },
		h('span', { class: 'label' }, `${label}: ${value} of ${max} chapters`),
		h('span', { role: 'img', 'aria-label': `${label}: ${pct} percent` }, bar));
}
