// search.js - search over a circle's book and discussion (#/search?c=&q=):
// each result with its matches marked jumps to its passage or thread.

import { h, add, errText, idOf } from './dom.js';
import { rpc, toc, chaptersOf } from './state.js';
import { screen } from './shell.js';

export async function searchScreen(q) {
	const circleSel = h('select', { name: 'c', 'aria-label': 'Circle' });
	const input = h('input', { type: 'search', name: 'q', value: q.get('q') || '', 'aria-label': 'Search words', required: true });
	const results = h('ol', { class: 'list results', 'aria-label': 'Results' });
	const form = h('form', { class: 'card search', role: 'search' }, circleSel, input,
		h('button', { type: 'submit' }, 'Search'));
	screen('Search', form, h('div', { 'aria-live': 'polite' }, results));
	const circles = await rpc.all('circle.list').catch(() => []);
	for (const c of circles)
		circleSel.appendChild(h('option', { value: c.id, selected: String(c.id) === q.get('c') }, c.name));
	form.addEventListener('submit', (ev) => {
		ev.preventDefault();
		location.hash = `#/search?c=${circleSel.value}&q=${encodeURIComponent(input.value)}`;
	});
	if (!q.get('q') || !circleSel.value)
		return;
	const circle = Number(circleSel.value);
	const chapterTitle = new Map();
	try {
		const cc = circles.find((x) => String(x.id) === circleSel.value);
		for (const x of chaptersOf(await toc(idOf(cc.book))))
			chapterTitle.set(x.id, x.title);
	} catch (e) { /* titles are a nicety */ }
	try {
		const r = await rpc.call('search', { circle, q: q.get('q') });
		const items = (r && r.items) || [];
		if (!items.length)
			results.appendChild(h('li', { class: 'empty' }, 'Nothing found.'));
		for (const x of items) {
			const ch = idOf(x.chapter);
			const ann = idOf(x.annotation ?? (x.kind === 'annotation' ? x.id : null));
			const at = x.start ?? x.offset;
			let href = `#/read/${circle}/${ch}`;
			const qs = [];
			if (ann)
				qs.push(`a=${ann}`);
			else if (at !== undefined && at !== null)
				qs.push(`at=${at}`);
			if (x.block !== undefined && x.block !== null && !ann)
				qs.push(`block=${encodeURIComponent(idOf(x.block))}`);
			if (qs.length)
				href += '?' + qs.join('&');
			results.appendChild(h('li', { class: x.private ? 'private' : null },
				h('a', { href }, x.kind === 'text' ? 'In the book'
					: x.kind === 'reply' ? 'In a reply' : x.private ? 'In your private note' : 'In a thread',
				chapterTitle.get(ch) ? ` — ${chapterTitle.get(ch)}` : ''),
				x.private ? h('span', { class: 'badge badge-private' }, 'private') : null,
				snippetEl(x)));
		}
	} catch (e) { results.appendChild(h('li', {}, errText(e))); }
}

// A search snippet with its matches (code-point ranges) as <mark>, built
// from text nodes only.
function snippetEl(x) {
	const cps = Array.from(String(x.snippet || ''));
	const p = h('p', { class: 'snippet' });
	let at = 0;
	for (const [s, e] of x.highlights || []) {
		if (s < at || e > cps.length)
			continue;
		add(p, cps.slice(at, s).join(''), h('mark', {}, cps.slice(s, e).join('')));
		at = e;
	}
	add(p, cps.slice(at).join(''));
	return p;
}
