// shell.js - what every screen shares: the <main> it draws into, the
// screen frame (title, heading, focus), form fields, debounce, and the
// navigation's bookkeeping (a generation number that late answers check,
// the cleanups run when a screen is left). The router itself is app.js;
// a screen asks it to draw the current hash again with route(), so no
// screen imports app.js.

import { h, clear } from './dom.js';

export const main = document.getElementById('main');

let router = () => {};
let gen = 0; // bumped on every navigation; late answers check it
let cleanups = [];

// app.js registers its router here at start-up.
export function setRouter(fn) {
	router = fn;
}

// Draws the screen of the current hash again.
export function route() {
	return router();
}

// The router calls this on every navigation: the screen being left runs
// its cleanups (subscriptions, timers).
export function navigated() {
	gen++;
	for (const f of cleanups)
		f();
	cleanups = [];
}

// The navigation's generation: a screen keeps it before an await and
// draws nothing if it changed meanwhile.
export function navGen() {
	return gen;
}

// f runs when the reader leaves the current screen.
export function onLeave(f) {
	cleanups.push(f);
}

export function parseHash() {
	const raw = location.hash.replace(/^#/, '') || '/';
	const [path, query] = raw.split('?');
	const parts = path.split('/').filter(Boolean);
	const q = new URLSearchParams(query || '');
	return { parts, q };
}

export function screen(title, ...children) {
	clear(main);
	document.title = `${title} · Scholia`;
	main.appendChild(h('div', { class: 'screen' },
		h('h1', { id: 'screen-title' }, title), ...children));
	main.focus({ preventScroll: true });
	return main.firstChild;
}

export function field(label, input, hint) {
	const id = input.id || `f-${Math.random().toString(36).slice(2)}`;
	input.id = id;
	return h('div', { class: 'field' },
		h('label', { for: id }, label), input,
		hint ? h('p', { class: 'hint' }, hint) : null);
}

export function errBox() {
	return h('p', { class: 'error', role: 'alert' });
}

export function debounce(fn, ms) {
	let t = null;
	return (...a) => {
		clearTimeout(t);
		t = setTimeout(() => fn(...a), ms);
	};
}
