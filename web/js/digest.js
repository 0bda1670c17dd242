// digest.js - the meeting digest of one chapter (GET
// /api/circles/{id}/digest.md?chapter=ID, SPEC §2), shown in the app:
// rendered by the server's own Markdown renderer (markdown.preview, the
// same safe HTML as a post), with copy and download as Markdown. A digest
// longer than a post may be is shown as preformatted text instead.
// Also the circle screen's export links (W3C JSON-LD and Markdown).

import { h, add, clear, serverHtml, toast, errText } from './dom.js';
import { rpc, toc, chaptersOf } from './state.js';

export function exportLinks(circle, chs, due) {
	const sel = h('select', { id: 'digest-chapter', 'aria-label': 'Chapter for the meeting digest' },
		chs.map((x) => h('option', { value: x.id, selected: due && x.id === due ? true : null },
			x.number ? `${x.number}. ${x.title}` : x.title)));
	const go = h('button', {
		type: 'button', id: 'open-digest',
		onclick: () => { location.hash = `#/circle/${circle}/digest/${sel.value}`; },
	}, 'Meeting digest');
	return h('section', { class: 'card', 'aria-labelledby': 'exp-h' },
		h('h2', { id: 'exp-h' }, 'Digest and export'),
		h('p', {}, 'A chapter’s discussion, ready for the meeting: ', sel, ' ', go),
		h('p', {}, 'Export annotations: ',
			h('a', {
				href: `/api/circles/${circle}/annotations`, id: 'export-w3c',
				download: `circle-${circle}-annotations.jsonld`,
			}, 'W3C Web Annotations (JSON-LD)'), ' · ',
			h('a', {
				href: `/api/circles/${circle}/export.md`, id: 'export-md',
				download: `circle-${circle}-annotations.md`,
			}, 'Markdown')),
		h('p', { class: 'hint' }, 'Exports hold what you may see: never others’ private notes.'));
}

export async function digestScreen(screen, circle, chapter) {
	const body = h('div', { class: 'digest', id: 'digest' }, h('p', { class: 'loading' }, 'Loading the digest…'));
	const url = `/api/circles/${circle}/digest.md?chapter=${chapter}`;
	const s = screen('Meeting digest',
		h('p', {}, h('a', { href: `#/circle/${circle}` }, '← Back to the circle')),
		body);
	let md;
	try {
		const r = await fetch(url, { credentials: 'same-origin' });
		if (!r.ok)
			throw new Error(r.status === 404 ? 'No such chapter in this circle.' : `The server answered ${r.status}.`);
		md = await r.text();
	} catch (e) {
		clear(body).appendChild(h('p', { class: 'error' }, errText(e)));
		return;
	}
	let title = `chapter-${chapter}`;
	try {
		const c = await rpc.call('circle.get', { circle });
		const ch = chaptersOf(await toc(c.book.id ?? c.book)).find((x) => x.id === chapter);
		if (ch)
			title = ch.title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || title;
	} catch (e) { /* the file name falls back to the id */ }
	const copy = h('button', {
		type: 'button', id: 'copy-digest', onclick: async () => {
			try {
				await navigator.clipboard.writeText(md);
				toast('Digest copied as Markdown');
			} catch (e) {
				toast('Copy failed: select the text and copy it');
			}
		},
	}, 'Copy as Markdown');
	const dl = h('a', { class: 'button', href: url, download: `digest-${title}.md`, id: 'download-digest' }, 'Download .md');
	s.insertBefore(h('p', { class: 'actions' }, copy, ' ', dl), body);
	clear(body);
	try {
		const r = await rpc.call('markdown.preview', { body: md });
		serverHtml(body, r.body_html);
	} catch (e) {
		// longer than a post may be: the Markdown as it is
		add(body, h('pre', { class: 'md-source', tabindex: '0' }, md));
	}
}
