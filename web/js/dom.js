// dom.js - small helpers to build the DOM without ever parsing user text as
// HTML. h() sets text through text nodes; the only HTML the app inserts is
// what the server rendered and sanitised (chapter html, body_html), through
// serverHtml().

export function h(tag, attrs, ...children) {
	const el = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === undefined || v === null || v === false)
			continue;
		if (k.startsWith('on') && typeof v === 'function')
			el.addEventListener(k.slice(2), v);
		else if (k === 'class')
			el.className = v;
		else if (k === 'dataset')
			Object.assign(el.dataset, v);
		else if (k === 'value')
			el.value = v;
		else if (v === true)
			el.setAttribute(k, '');
		else
			el.setAttribute(k, String(v));
	}
	append(el, children);
	return el;
}

function append(el, children) {
	for (const c of children) {
		if (c === null || c === undefined || c === false)
			continue;
		if (Array.isArray(c))
			append(el, c);
		else if (c instanceof Node)
			el.appendChild(c);
		else
			el.appendChild(document.createTextNode(String(c)));
	}
}

// Inserts HTML that came from the server's sanitising renderer.
export function serverHtml(el, html) {
	el.innerHTML = html || '';
	return el;
}

export function clear(el) {
	while (el.firstChild)
		el.removeChild(el.firstChild);
	return el;
}

export function fmtTime(s) {
	if (!s)
		return '';
	const d = new Date(s);
	if (Number.isNaN(d.getTime()))
		return String(s);
	return d.toLocaleString(undefined, {
		dateStyle: 'medium', timeStyle: 'short',
	});
}

export function fmtDate(s) {
	if (!s)
		return '';
	const d = new Date(s);
	if (Number.isNaN(d.getTime()))
		return String(s);
	return d.toLocaleDateString(undefined, { dateStyle: 'medium' });
}

export function name(a) {
	if (!a)
		return 'someone';
	if (typeof a !== 'object')
		return String(a);
	return a.display_name || a.handle || 'someone';
}

export function idOf(x) {
	if (x && typeof x === 'object')
		return x.id;
	return x;
}

let toastTimer = null;
export function toast(msg) {
	const t = document.getElementById('toast');
	if (!t)
		return;
	t.textContent = msg;
	t.classList.add('show');
	clearTimeout(toastTimer);
	toastTimer = setTimeout(() => t.classList.remove('show'), 4000);
}

// A user-facing message for an RPC error.
export function errText(e) {
	if (!e)
		return 'Something went wrong.';
	const m = {
		'-32001': 'Please sign in again.',
		'-32003': 'You are not allowed to do that.',
		'-32004': 'Not found.',
		'-32009': 'That conflicts with something that exists already.',
		'-32010': 'Locked: you cannot post here right now.',
		'-32013': 'That is too long.',
		'-32029': 'Too many attempts; wait a moment.',
		disconnected: 'The connection dropped; try again.',
	};
	let s = m[String(e.code)] || e.message || 'Something went wrong.';
	if (e.code === -32602 && e.data && e.data.field)
		s = `Check the field "${e.data.field}": ${e.message || 'invalid'}.`;
	if (e.code === -32010 && e.message)
		s = e.message.charAt(0).toUpperCase() + e.message.slice(1);
	if (e.data && e.data.retry_after_ms)
		s += ` (try again in ${Math.ceil(e.data.retry_after_ms / 1000)} s)`;
	return s;
}

// Appends children like h() does (skipping null/false, flattening arrays);
// unlike Element.append it never turns null into the text "null".
export function add(el, ...children) {
	append(el, children);
	return el;
}
