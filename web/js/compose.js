// compose.js - the Markdown composer: a textarea with @mention completion
// from circle.members and a preview rendered exactly as the post will be:
// markdown.preview runs the server's own renderer and rules and answers
// the same sanitised body_html a saved post gets (never our own HTML).

import { h, clear, name, serverHtml, errText } from './dom.js';
import { rpc } from './state.js';

let seq = 0;

// opts: {label, value, submitLabel, members: () => [account], onSubmit(text)
// -> Promise, onCancel?, extra?: Node}
export function composer(opts) {
	const id = `c${++seq}`;
	const ta = h('textarea', {
		id: `${id}-text`, rows: 4, maxlength: 10000, required: true,
		'aria-describedby': `${id}-help`, 'aria-autocomplete': 'list',
		'aria-controls': `${id}-mentions`,
	});
	ta.value = opts.value || '';
	const list = h('ul', { id: `${id}-mentions`, role: 'listbox', class: 'mentions', hidden: true, 'aria-label': 'Mention someone' });
	const preview = h('div', { class: 'preview', hidden: true, 'aria-live': 'polite' });
	const err = h('p', { class: 'error', role: 'alert' });
	const toggle = h('button', { type: 'button', class: 'small link', 'aria-pressed': 'false' }, 'Preview');
	const submit = h('button', { type: 'submit', class: 'primary' }, opts.submitLabel || 'Post');
	const form = h('form', { class: 'composer' },
		h('label', { for: ta.id }, opts.label || 'Your comment'),
		h('div', { class: 'ta-wrap' }, ta, list), preview,
		h('p', { class: 'hint', id: `${id}-help` },
			'Markdown: *emphasis*, **strong**, [link](https://…), > quote. Type @ to mention. Ctrl+Enter posts.'),
		opts.extra || null, err,
		h('div', { class: 'row' }, toggle, submit,
			opts.onCancel ? h('button', { type: 'button', onclick: opts.onCancel }, 'Cancel') : null));

	toggle.addEventListener('click', async () => {
		const on = preview.hidden;
		preview.hidden = !on;
		ta.hidden = on;
		toggle.setAttribute('aria-pressed', String(on));
		toggle.textContent = on ? 'Write' : 'Preview';
		if (!on)
			return;
		if (!ta.value.trim()) {
			preview.textContent = 'Nothing to preview.';
			return;
		}
		preview.textContent = 'Rendering…';
		const text = ta.value;
		try {
			const r = await rpc.call('markdown.preview', { body: text });
			if (ta.value === text && !preview.hidden)
				serverHtml(preview, r.body_html);
		} catch (e) {
			preview.textContent = errText(e);
		}
	});

	let active = -1;
	let matches = [];
	const closeList = () => {
		list.hidden = true;
		ta.removeAttribute('aria-activedescendant');
		active = -1;
	};
	const word = () => {
		const before = ta.value.slice(0, ta.selectionStart);
		const m = /(^|\s)@([a-z0-9_]{0,32})$/i.exec(before);
		return m ? m[2].toLowerCase() : null;
	};
	const pick = (acc) => {
		const pos = ta.selectionStart;
		const before = ta.value.slice(0, pos).replace(/@([a-z0-9_]*)$/i, `@${acc.handle} `);
		ta.value = before + ta.value.slice(pos);
		ta.selectionStart = ta.selectionEnd = before.length;
		closeList();
		ta.focus();
	};
	const renderList = () => {
		clear(list);
		matches.forEach((acc, i) => {
			const li = h('li', { id: `${id}-m${i}`, role: 'option', 'aria-selected': String(i === active) },
				`@${acc.handle}`, h('span', { class: 'meta' }, ` ${name(acc)}`));
			li.addEventListener('mousedown', (ev) => {
				ev.preventDefault();
				pick(acc);
			});
			list.appendChild(li);
		});
		if (active >= 0)
			ta.setAttribute('aria-activedescendant', `${id}-m${active}`);
	};
	ta.addEventListener('input', () => {
		const w = word();
		if (w === null) {
			closeList();
			return;
		}
		matches = (opts.members ? opts.members() : [])
			.filter((a) => a.handle && (a.handle.startsWith(w) ||
				(a.display_name || '').toLowerCase().startsWith(w)))
			.slice(0, 6);
		if (!matches.length) {
			closeList();
			return;
		}
		active = 0;
		list.hidden = false;
		renderList();
	});
	ta.addEventListener('keydown', (ev) => {
		if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
			ev.preventDefault();
			form.requestSubmit();
			return;
		}
		if (list.hidden)
			return;
		if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
			ev.preventDefault();
			const n = matches.length;
			active = (active + (ev.key === 'ArrowDown' ? 1 : n - 1)) % n;
			renderList();
		} else if (ev.key === 'Enter' || ev.key === 'Tab') {
			ev.preventDefault();
			pick(matches[active]);
		} else if (ev.key === 'Escape') {
			ev.preventDefault();
			closeList();
		}
	});
	ta.addEventListener('blur', () => setTimeout(closeList, 150));

	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const text = ta.value.trim();
		if (!text) {
			err.textContent = 'Write something first.';
			return;
		}
		err.textContent = '';
		submit.disabled = true;
		try {
			await opts.onSubmit(text);
			ta.value = '';
			if (!preview.hidden)
				toggle.click();
		} catch (e) {
			err.textContent = e.userMessage || e.message || 'Could not post.';
		} finally {
			submit.disabled = false;
		}
	});
	form.textarea = ta;
	form.setDisabled = (why) => {
		ta.disabled = !!why;
		submit.disabled = !!why;
		err.textContent = why || '';
	};
	return form;
}
