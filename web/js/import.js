// import.js - "Import highlights" on the circle page: a Kindle
// "My Clippings.txt", a KOReader JSON export or a W3C annotation file goes
// to annotation.import; the report lists each highlight as placed,
// ambiguous or not found, and a placed one (a private note) can be shared
// with the circle in one click (annotation.update {visibility: "circle"}).
//
// A WebSocket message is at most 64 KiB, so a long Kindle file is sent in
// pieces cut at its "==========" separators; each piece is one call.

import { h, add, clear, toast, errText } from './dom.js';
import { rpc } from './state.js';

const PIECE = 48 * 1024; // characters per call, well under the limit

/* The format a file most likely is. */
function guessFormat(name, text) {
	if (/\.txt$/i.test(name) || text.includes('=========='))
		return 'kindle';
	try {
		const j = JSON.parse(text);
		if (j && (Array.isArray(j.entries) || Array.isArray(j.documents)))
			return 'koreader';
		if (Array.isArray(j) && j.length && Array.isArray(j[0].entries))
			return 'koreader';
	} catch (e) { /* not JSON */ }
	return 'w3c';
}

/* Kindle files cut at clipping boundaries; others whole. */
function pieces(format, text) {
	if (format !== 'kindle' || text.length <= PIECE)
		return [text];
	const out = [];
	let cur = '';
	for (const clip of text.split(/(?<===========\r?\n?)/)) {
		if (cur.length + clip.length > PIECE && cur) {
			out.push(cur);
			cur = '';
		}
		cur += clip;
	}
	if (cur)
		out.push(cur);
	return out;
}

const LABEL = { placed: 'Placed', ambiguous: 'Ambiguous', not_found: 'Not found' };

function reportTable(circle, items) {
	const body = h('tbody');
	for (const it of items) {
		const a = it.annotation;
		const quote = (it.quote || '').length > 140 ? it.quote.slice(0, 140) + '…' : (it.quote || '—');
		let action = null;
		if (a) {
			const btn = h('button', { type: 'button', class: 'small' }, 'Share to circle');
			btn.addEventListener('click', async () => {
				btn.disabled = true;
				try {
					await rpc.call('annotation.update', { annotation: a.id, visibility: 'circle' });
					btn.textContent = 'Shared';
				} catch (e) {
					btn.disabled = false;
					toast(errText(e));
				}
			});
			action = h('span', {},
				h('a', { href: `#/read/${circle}/${a.chapter}?a=${a.id}` }, 'Open'), ' ', btn);
		}
		body.appendChild(h('tr', { class: `import-${it.status}` },
			h('td', {}, LABEL[it.status] || it.status),
			h('td', {}, h('q', {}, quote), it.note ? h('div', { class: 'meta' }, it.note) : null),
			h('td', {}, action)));
	}
	return h('div', { class: 'table-wrap' }, h('table', { class: 'import-report' },
		h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Result'),
			h('th', { scope: 'col' }, 'Highlight'), h('th', { scope: 'col' }, ''))),
		body));
}

/* The circle page's card. */
export function importSection(circle) {
	const file = h('input', { type: 'file', accept: '.txt,.json,.jsonld', id: 'import-file' });
	const format = h('select', { id: 'import-format', 'aria-label': 'File format' },
		h('option', { value: '' }, 'Detect the format'),
		h('option', { value: 'kindle' }, 'Kindle (My Clippings.txt)'),
		h('option', { value: 'koreader' }, 'KOReader (JSON export)'),
		h('option', { value: 'w3c' }, 'W3C Web Annotations'));
	const out = h('div', { class: 'import-out', 'aria-live': 'polite' });
	const go = h('button', { type: 'button', class: 'primary' }, 'Import');
	go.addEventListener('click', async () => {
		const f = file.files && file.files[0];
		if (!f) {
			toast('Choose a file first');
			return;
		}
		go.disabled = true;
		add(clear(out), h('p', {}, 'Importing…'));
		try {
			const text = await f.text();
			const fmt = format.value || guessFormat(f.name, text);
			const items = [];
			for (const data of pieces(fmt, text)) {
				const r = await rpc.call('annotation.import', { circle, format: fmt, data });
				items.push(...(r.items || []));
			}
			const n = (s) => items.filter((i) => i.status === s).length;
			add(clear(out),
				h('p', {}, `${n('placed')} placed as private notes, ${n('ambiguous')} ambiguous, ${n('not_found')} not found.`),
				reportTable(circle, items));
		} catch (e) {
			add(clear(out), h('p', { class: 'error' }, errText(e)));
		} finally {
			go.disabled = false;
		}
	});
	return h('details', { class: 'card', id: 'import-highlights' },
		h('summary', {}, h('h2', {}, 'Import highlights')),
		h('p', { class: 'hint' }, 'Bring highlights and notes from a Kindle, KOReader or another annotation server. ' +
			'They become private notes on the passages they quote; share the ones you want to discuss.'),
		h('p', {}, h('label', { for: 'import-file' }, 'File '), file),
		h('p', {}, format, ' ', go),
		out);
}
