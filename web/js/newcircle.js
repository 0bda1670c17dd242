// newcircle.js - starting a circle on a book (#/new).

import { h, errText } from './dom.js';
import { rpc, app } from './state.js';
import { screen, field, errBox } from './shell.js';

export async function newCircleScreen() {
	const nm = h('input', { required: true, maxlength: 200 });
	const desc = h('textarea', { rows: 3 });
	const sel = h('select', { required: true });
	const err = errBox();
	const form = h('form', { class: 'card' }, field('Name', nm),
		field('Book', sel), field('Description', desc), err,
		h('button', { type: 'submit', class: 'primary' }, 'Create circle'));
	screen('Start a circle', form);
	try {
		for (const b of await rpc.all('book.list')) {
			app.books.set(Number(b.id), b);
			sel.appendChild(h('option', { value: b.id }, `${b.title}${b.author ? ' — ' + b.author : ''}`));
		}
	} catch (e) { err.textContent = errText(e); }
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		try {
			const c = await rpc.call('circle.create', {
				name: nm.value.trim(), book: Number(sel.value),
				description: desc.value.trim() || undefined,
			});
			location.hash = `#/circle/${c.id}`;
		} catch (e) { err.textContent = errText(e); }
	});
}
