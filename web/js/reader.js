// reader.js - the reading view: a chapter laid out for long reading, its
// table of contents and neighbours, highlights for every visible annotation
// (overlapping ones nest), a margin density strip, the discussion panel
// (side panel, bottom sheet on a phone) with threads, replies, reactions and
// moderation, orphaned threads listed apart, presence and saved progress.
// Everything updates live from circle events.

import { h, add, clear, serverHtml, toast, errText, fmtTime, name, idOf, chapterLabel } from './dom.js';
import { rpc, app, subscribe, toc, chaptersOf } from './state.js';
import { ChapterMap } from './anchor.js';
import { composer } from './compose.js';

const KINDS = [
	['agree', 'Agree'], ['insightful', 'Insightful'],
	['question', 'Question'], ['disagree', 'Disagree'],
];
const FLAG_REASONS = [
	['off_topic', 'Off topic'], ['uncivil', 'Uncivil'], ['spam', 'Spam'], ['other', 'Other'],
];

let R = null; // the open reader's state

export function leaveReader() {
	if (!R)
		return;
	R.closed = true;
	for (const f of R.cleanup)
		f();
	R = null;
}

export async function showReader(main, circle, chapter, q) {
	if (R && R.circle === circle && R.chapter === chapter) {
		jump(q);
		return;
	}
	leaveReader();
	document.body.classList.remove('panel-open');
	const st = R = {
		circle, chapter, cleanup: [], anns: new Map(), open: null,
		mode: 'list', members: [], role: null, presence: new Map(),
		pending: null, sig: '', editing: 0, closed: false,
		replyComposer: null, replyParent: null, newComposer: null,
		lastBlock: null, furthest: -1,
	};
	clear(main);
	main.appendChild(h('p', { class: 'loading' }, 'Loading the chapter…'));
	let ch, c;
	try {
		[ch, c] = await Promise.all([
			rpc.call('chapter.get', { chapter }),
			rpc.call('circle.get', { circle }),
		]);
	} catch (e) {
		clear(main).appendChild(h('div', { class: 'screen' }, h('h1', {}, 'Cannot open this chapter'),
			h('p', { class: 'error' }, errText(e)), h('p', {}, h('a', { href: '#/' }, 'Back to your circles'))));
		return;
	}
	if (st.closed)
		return;
	st.ch = ch;
	st.c = c;
	const bookId = idOf(ch.book ?? c.book);
	const [t, members, plan] = await Promise.all([
		toc(bookId).catch(() => null),
		rpc.all('circle.members', { circle }).catch(() => []),
		rpc.call('plan.get', { circle }).catch(() => null),
	]);
	if (st.closed)
		return;
	st.members = members.map((m) => (m.account && typeof m.account === 'object' ? { ...m.account, role: m.role } : m));
	st.role = c.role || c.my_role || (st.members.find((m) => m.id === app.me.id) || {}).role;
	st.isMod = ['owner', 'moderator'].includes(st.role) || !!app.me.is_admin;
	const chs = chaptersOf(t);
	const idx = chs.findIndex((x) => x.id === chapter);
	const prev = chs[idx - 1];
	const next = chs[idx + 1];
	const entry = ((plan && (plan.entries || plan.items)) || []).find((e) => idOf(e.chapter) === chapter);
	document.title = `${ch.title} · Scholia`;

	// Layout.
	st.article = h('div', { class: 'chapter-body', id: 'chapter-text' });
	st.strip = h('div', { class: 'density', 'aria-hidden': 'true' });
	st.panel = h('aside', { class: 'panel', id: 'panel', 'aria-label': 'Discussion', tabindex: '-1' });
	st.presenceEl = h('p', { class: 'presence', 'aria-live': 'polite' });
	st.selBtn = h('button', { type: 'button', class: 'sel-btn primary', id: 'start-thread', hidden: true }, 'Start a thread');
	st.selBtn.addEventListener('mousedown', (ev) => ev.preventDefault());
	st.selBtn.addEventListener('click', () => startFromSelection());
	const followBtn = h('button', { type: 'button', class: 'small', 'aria-pressed': 'false' }, 'Follow new threads');
	followBtn.addEventListener('click', async () => {
		const on = followBtn.getAttribute('aria-pressed') !== 'true';
		try {
			await rpc.call('chapter.follow', { circle, chapter, on });
			followBtn.setAttribute('aria-pressed', String(on));
			toast(on ? 'You will be notified of new threads here' : 'Unfollowed');
		} catch (e) { toast(errText(e)); }
	});
	// Spoiler guard and post first (enforced by the server): say why
	// threads may be missing and offer the member's own levers.
	const levers = [];
	if (!st.isMod && c.post_first)
		levers.push(h('button', {
			type: 'button', class: 'small', id: 'mark-read', onclick: async (ev) => {
				try {
					await rpc.call('progress.set', { circle, chapter, read: true });
					ev.target.disabled = true;
					ev.target.textContent = 'Marked read';
					await loadAnnotations();
					renderList();
				} catch (e) { toast(errText(e)); }
			},
		}, 'Mark chapter read (shows others’ threads)'));
	if (!st.isMod && c.spoiler_guard) {
		const box = h('input', { type: 'checkbox', checked: !!(c.me && c.me.show_all) });
		box.addEventListener('change', async () => {
			try {
				await rpc.call('progress.set', { circle, show_all: box.checked });
				await loadAnnotations();
				renderList();
			} catch (e) { toast(errText(e)); }
		});
		levers.push(h('label', { class: 'check inline' }, box, ' Show threads in chapters ahead of me'));
	}
	const guardNote = levers.length ? h('p', { class: 'hint' },
		c.post_first ? 'This circle asks you to post before you see the others’ threads in a chapter. ' : '',
		c.spoiler_guard ? 'Threads in chapters beyond your progress are held back. ' : '') : null;
	const tocList = h('ol', { class: 'toc-list' }, chs.map((x) => h('li', {},
		h('a', { href: `#/read/${circle}/${x.id}`, 'aria-current': x.id === chapter ? 'page' : null },
			chapterLabel(x)))));
	const navLinks = h('nav', { class: 'chapter-nav', 'aria-label': 'Chapters' },
		prev ? h('a', { href: `#/read/${circle}/${prev.id}`, rel: 'prev' }, `← ${prev.title}`) : h('span'),
		next ? h('a', { href: `#/read/${circle}/${next.id}`, rel: 'next' }, `${next.title} →`) : h('span'));

	clear(main).appendChild(h('div', { class: 'reader' },
		h('nav', { class: 'toc', 'aria-label': 'Table of contents' },
			h('details', { open: window.innerWidth > 1180 }, h('summary', {}, 'Contents'),
				h('p', {}, h('a', { href: `#/circle/${circle}` }, `← ${c.name}`)), tocList)),
		h('article', { class: 'chapter', 'aria-labelledby': 'chapter-title' },
			h('header', {},
				h('p', { class: 'kicker' }, h('a', { href: `#/circle/${circle}` }, c.name)),
				h('h1', { id: 'chapter-title' }, ch.title), st.presenceEl,
				entry && entry.prompt ? h('p', { class: 'prompt' }, h('strong', {}, 'Prompt: '), entry.prompt) : null,
				guardNote,
				h('div', { class: 'tools' }, followBtn, keyboardToggle(st), levers,
					h('button', { type: 'button', class: 'small', id: 'show-threads', onclick: () => openList(true) }, 'Discussion'))),
			h('div', { class: 'text-wrap' }, st.article, st.strip),
			navLinks),
		st.panel));
	// Right after the text in the tab order, so a keyboard selection
	// (caret browsing, F7) is one Tab away from starting a thread.
	main.querySelector('.text-wrap').after(st.selBtn);

	// Selection: mouse, touch and keyboard (shift+arrows with caret browsing).
	const onSel = () => requestAnimationFrame(updateSelButton);
	document.addEventListener('selectionchange', onSel);
	st.cleanup.push(() => document.removeEventListener('selectionchange', onSel));
	st.article.addEventListener('click', onArticleClick);
	st.article.addEventListener('keydown', (ev) => {
		const m = ev.target.closest && ev.target.closest('mark[data-ann]');
		if (m && (ev.key === 'Enter' || ev.key === ' ')) {
			ev.preventDefault();
			openThread(Number(m.dataset.ann));
		}
	});
	const onResize = () => {
		onSel();
		if (R === st && st.map)
			drawDensity();
	};
	window.addEventListener('resize', onResize);
	st.cleanup.push(() => window.removeEventListener('resize', onResize));

	// Escape leaves the discussion (closing the bottom sheet on a phone)
	// and goes back to the passage it was about.
	st.panel.addEventListener('keydown', (ev) => {
		if (ev.key !== 'Escape' || ev.defaultPrevented)
			return;
		if (ev.target.tagName === 'TEXTAREA' && ev.target.value)
			return;
		const back = st.open && st.article.querySelector(`mark[data-ann="${st.open}"]`);
		document.body.classList.remove('panel-open');
		(back || st.article.querySelector('[data-block]') || st.article).focus?.();
	});
	renderText();
	await loadAnnotations();
	if (st.closed)
		return;
	openList(false);
	jump(q);

	// Live.
	st.cleanup.push(subscribe(circle, onEvent));
	const offOpen = rpc.on('open', () => {
		sendPresence(true);
	});
	st.cleanup.push(offOpen);
	sendPresence(true);
	const beat = setInterval(() => sendPresence(true), 30000);
	st.cleanup.push(() => clearInterval(beat));
	watchProgress();
}

/* ---------- text, highlights and density ---------- */
function renderText() {
	const st = R;
	serverHtml(st.article, st.ch.html);
	// Tables scroll sideways on a phone; the wrapper is focusable so
	// keyboard users can scroll it too.
	for (const t of st.article.querySelectorAll('table')) {
		const w = h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Table' });
		t.replaceWith(w);
		w.appendChild(t);
	}
	st.map = new ChapterMap(st.article, st.ch);
	st.sig = '';
	// The chapter usually opens with its own heading block (which can be
	// annotated like any other): then it names the article and the
	// view's own title is only a fallback.
	const first = st.article.querySelector('[data-block]');
	const own = document.getElementById('chapter-title');
	if (first && /^H[1-3]$/.test(first.tagName) && own &&
	    first.textContent.trim() === (st.ch.title || '').trim()) {
		first.id = 'chapter-heading';
		own.hidden = true;
		own.closest('article').setAttribute('aria-labelledby', 'chapter-heading');
	}
}

function annClass(a) {
	const cls = ['hl'];
	if (a.visibility === 'private')
		cls.push('hl-private');
	if (a.author && a.author.id === app.me.id)
		cls.push('hl-mine');
	if (a.hidden)
		cls.push('hl-hidden');
	return cls.join(' ');
}

function anchored(a) {
	return a.target && a.anchor !== 'orphaned' && a.anchor !== 'needs_review' &&
		ChapterMap.position(a.target) && !(a.deleted && !a.reply_count);
}

async function drawHighlights(force) {
	const st = R;
	if (!st || !st.map)
		return;
	const list = [...st.anns.values()].filter(anchored)
		.sort((x, y) => ChapterMap.position(x.target).start - ChapterMap.position(y.target).start);
	const pend = st.mode === 'new' && st.pending ? ChapterMap.position(st.pending) : null;
	const sig = list.map((a) => {
		const p = ChapterMap.position(a.target);
		return `${a.id}:${p.start}-${p.end}:${annClass(a)}`;
	}).join('|') + (pend ? `|new:${pend.start}-${pend.end}` : '');
	if (!force && sig === st.sig)
		return;
	if (currentRange()) {
		// Someone is selecting words: redrawing would drop the
		// selection. Draw once it is over (updateSelButton).
		st.deferDraw = true;
		return;
	}
	st.deferDraw = false;
	const scroll = window.scrollY;
	renderText();
	st.sig = sig;
	for (const a of list) {
		const p = ChapterMap.position(a.target);
		try {
			const marks = await st.map.highlight(p.start, p.end, {
				class: annClass(a), 'data-ann': String(a.id),
			});
			marks.forEach((m, i) => {
				if (i === 0) {
					m.tabIndex = 0;
					m.setAttribute('role', 'button');
					m.title = `Thread by ${name(a.author)}, ${a.reply_count || 0} replies`;
				}
			});
		} catch (e) {
			console.warn('could not highlight', a.id, e);
		}
		if (R !== st)
			return;
	}
	if (pend) {
		// The passage a new thread is being written about.
		try {
			await st.map.highlight(pend.start, pend.end, { class: 'hl hl-pending' });
		} catch (e) { /* the quote in the panel says it too */ }
	}
	if (st.open)
		markActive(st.open);
	window.scrollTo(0, scroll);
	drawDensity();
}

function drawDensity() {
	const st = R;
	clear(st.strip);
	const top0 = st.article.getBoundingClientRect().top;
	const total = st.article.offsetHeight || 1;
	const per = new Map();
	for (const a of st.anns.values()) {
		if (!anchored(a))
			continue;
		const p = ChapterMap.position(a.target);
		for (const b of st.map.blocks)
			if (b.start < p.end && b.end > p.start)
				per.set(b, (per.get(b) || 0) + 1 + (a.reply_count || 0));
	}
	const max = Math.max(1, ...per.values());
	for (const [b, n] of per) {
		const el = st.map.element(b);
		if (!el)
			continue;
		const seg = h('span', { class: 'seg' });
		const r = el.getBoundingClientRect();
		seg.style.top = `${(100 * (r.top - top0)) / total}%`;
		seg.style.height = `${Math.max(0.6, (100 * r.height) / total)}%`;
		seg.style.opacity = String(0.25 + (0.75 * n) / max);
		seg.title = `${n} posts here`;
		seg.addEventListener('click', () => el.scrollIntoView({ behavior: 'smooth', block: 'center' }));
		st.strip.appendChild(seg);
	}
}

function markActive(id) {
	for (const m of R.article.querySelectorAll('mark.active'))
		m.classList.remove('active');
	for (const m of R.article.querySelectorAll(`mark[data-ann="${id}"]`))
		m.classList.add('active');
}

/* ---------- data ---------- */
async function loadAnnotations() {
	const st = R;
	try {
		const items = await rpc.all('annotation.list', { circle: st.circle, chapter: st.chapter });
		if (R !== st)
			return;
		st.anns = new Map(items.map((a) => [a.id, a]));
	} catch (e) {
		toast(errText(e));
	}
	await drawHighlights(false);
}

let refreshTimer = null;
function scheduleRefresh(annId) {
	const st = R;
	if (annId)
		(st.dirty = st.dirty || new Set()).add(annId);
	clearTimeout(refreshTimer);
	refreshTimer = setTimeout(async () => {
		if (R !== st)
			return;
		const dirty = st.dirty || new Set();
		st.dirty = null;
		await loadAnnotations();
		if (st.open && (dirty.has(st.open) || !dirty.size || st.mode === 'thread'))
			await refreshThread();
		else if (st.mode === 'list')
			renderList();
	}, 60);
}

function onEvent(ev) {
	const st = R;
	if (!st)
		return;
	const d = ev.data || {};
	if (ev.type === 'presence.changed')
		return onPresence(d);
	if (ev.type === 'presence.snapshot') {
		st.presence.clear();
		onPresence({ items: ev.data || [] });
		return;
	}
	if (ev.type === 'resync')
		return scheduleRefresh();
	if (/^(annotation|reply|reaction|thread|anchor)\./.test(ev.type)) {
		const ch = idOf(d.chapter ?? d.annotation?.chapter);
		if (ch !== undefined && ch !== null && Number(ch) !== st.chapter && !st.anns.has(d.id))
			return;
		const annId = ev.type.startsWith('annotation') || ev.type.startsWith('thread')
			? Number(idOf(d.id ?? d.annotation)) : Number(idOf(d.annotation ?? d.target?.annotation));
		scheduleRefresh(annId || null);
		return;
	}
	if (ev.type.startsWith('member.'))
		rpc.all('circle.members', { circle: st.circle }).then((m) => {
			st.members = m.map((x) => (x.account && typeof x.account === 'object' ? { ...x.account, role: x.role } : x));
		}).catch(() => {});
}

/* ---------- presence and progress ---------- */
function onPresence(d) {
	const st = R;
	const entries = Array.isArray(d) ? d : d.readers || d.items || d.members || [d];
	if (d.readers || d.items || d.members || Array.isArray(d))
		st.presence.clear();
	for (const e of entries) {
		const acc = e.account || e.member || e.user || e;
		const id = idOf(acc);
		if (!id)
			continue;
		const ch = idOf(e.chapter);
		if (ch === undefined || ch === null || e.online === false || e.left)
			st.presence.delete(id);
		else
			st.presence.set(id, { acc, chapter: Number(ch) });
	}
	drawPresence();
}

function drawPresence() {
	const st = R;
	const here = [...st.presence.entries()].filter(([id, p]) => p.chapter === st.chapter && id !== app.me.id)
		.map(([id, p]) => {
			const m = st.members.find((x) => x.id === id);
			return name(typeof p.acc === 'object' && (p.acc.handle || p.acc.display_name) ? p.acc : m || p.acc);
		});
	st.presenceEl.textContent = here.length ? `Reading now: ${here.join(', ')}` : '';
}

function sendPresence(force) {
	const st = R;
	if (!st)
		return;
	const p = { circle: st.circle, chapter: st.chapter };
	if (st.lastBlock !== null)
		p.block = st.lastBlock;
	const key = JSON.stringify(p);
	if (!force && key === st.presenceKey)
		return;
	st.presenceKey = key;
	rpc.call('presence.set', p).catch(() => {});
}

function watchProgress() {
	const st = R;
	const order = new Map(st.map.blocks.map((b, i) => [String(b.id), i]));
	let timer = null;
	const io = new IntersectionObserver((entries) => {
		for (const e of entries) {
			// Read: most of the block is on screen, or it fills most
			// of the screen (a block taller than the window).
			const seen = e.isIntersecting && (e.intersectionRatio >= 0.6 ||
				(e.rootBounds && e.intersectionRect.height >= 0.5 * e.rootBounds.height));
			if (!seen)
				continue;
			const i = order.get(e.target.dataset.block);
			if (i !== undefined && i > st.furthest) {
				st.furthest = i;
				st.lastBlock = st.map.blocks[i].id;
				clearTimeout(timer);
				timer = setTimeout(() => {
					if (R !== st)
						return;
					rpc.call('progress.set', { circle: st.circle, chapter: st.chapter, block: st.lastBlock }).catch(() => {});
					sendPresence(false);
				}, 1500);
			}
		}
	}, { threshold: [0, 0.3, 0.6, 0.9, 1] });
	const observeAll = () => {
		io.disconnect();
		for (const el of st.article.querySelectorAll('[data-block]'))
			io.observe(el);
	};
	observeAll();
	const mo = new MutationObserver(() => observeAll());
	mo.observe(st.article, { childList: true });
	st.cleanup.push(() => { io.disconnect(); mo.disconnect(); clearTimeout(timer); });
}

/* ---------- jumping to a passage ---------- */
function jump(q) {
	const st = R;
	if (!st || !q)
		return;
	const a = Number(q.get('a'));
	if (a) {
		openThread(a, true);
		return;
	}
	let el = null;
	if (q.get('block'))
		el = st.article.querySelector(`[data-block="${CSS.escape(q.get('block'))}"]`);
	if (!el && q.get('at') !== null) {
		const b = st.map.blockAt(Number(q.get('at')));
		el = b && st.map.element(b);
	}
	if (el) {
		el.scrollIntoView({ block: 'center' });
		el.classList.add('flash');
		setTimeout(() => el.classList.remove('flash'), 2500);
	}
}

/* ---------- selection -> new thread ---------- */
function currentRange() {
	const sel = document.getSelection();
	if (!sel || sel.rangeCount === 0 || sel.isCollapsed)
		return null;
	const r = sel.getRangeAt(0);
	if (!R.article.contains(r.commonAncestorContainer) &&
	    !r.intersectsNode(R.article))
		return null;
	return r;
}

function updateSelButton() {
	const st = R;
	if (!st)
		return;
	const r = currentRange();
	if (!r || !r.toString().trim()) {
		st.selBtn.hidden = true;
		if (st.deferDraw && !r)
			drawHighlights(false);
		return;
	}
	st.range = r.cloneRange();
	const rects = r.getClientRects();
	const rect = rects.length ? rects[rects.length - 1] : r.getBoundingClientRect();
	st.selBtn.hidden = false;
	const w = st.selBtn.offsetWidth || 150;
	const left = Math.min(Math.max(8, rect.right - w / 2), window.innerWidth - w - 8);
	const top = Math.min(rect.bottom + 8, window.innerHeight - 56);
	st.selBtn.style.left = `${left}px`;
	st.selBtn.style.top = `${Math.max(8, top)}px`;
}

// Keyboard selection without the browser's caret browsing: the text
// becomes a read-only caret region (contenteditable with every edit
// refused), so arrows move a caret, Shift+arrows select, and Enter starts
// a thread on the selection.
function keyboardToggle(st) {
	const b = h('button', { type: 'button', class: 'small', id: 'kbd-select', 'aria-pressed': 'false' }, 'Select with the keyboard');
	const refuse = (ev) => ev.preventDefault();
	const onKey = (ev) => {
		if (ev.key === 'Enter' && currentRange()) {
			ev.preventDefault();
			startFromSelection();
		} else if (ev.key === 'Escape') {
			setMode(false);
			b.focus();
		}
	};
	const setMode = (on) => {
		const a = st.article;
		b.setAttribute('aria-pressed', String(on));
		if (on) {
			a.contentEditable = 'true';
			a.spellcheck = false;
			a.setAttribute('role', 'textbox');
			a.setAttribute('aria-multiline', 'true');
			a.setAttribute('aria-readonly', 'true');
			a.setAttribute('aria-label', 'Chapter text: arrows move, Shift with arrows selects, Enter starts a thread, Escape leaves');
			a.classList.add('kbd-mode');
			for (const t of ['beforeinput', 'paste', 'drop', 'cut'])
				a.addEventListener(t, refuse);
			a.addEventListener('keydown', onKey);
			a.focus();
			const first = a.querySelector('[data-block]');
			const sel = document.getSelection();
			if (first && sel) {
				sel.removeAllRanges();
				const r = document.createRange();
				r.setStart(first, 0);
				sel.addRange(r);
			}
		} else {
			for (const k of ['contenteditable', 'role', 'aria-multiline', 'aria-readonly', 'aria-label'])
				a.removeAttribute(k);
			a.classList.remove('kbd-mode');
			for (const t of ['beforeinput', 'paste', 'drop', 'cut'])
				a.removeEventListener(t, refuse);
			a.removeEventListener('keydown', onKey);
		}
	};
	st.setKbdMode = setMode;
	b.addEventListener('click', () => setMode(b.getAttribute('aria-pressed') !== 'true'));
	return b;
}

async function startFromSelection() {
	const st = R;
	const r = currentRange() || st.range;
	const target = r ? await st.map.targetFromRange(r) : null;
	if (!target) {
		toast('Select some words of the chapter first.');
		return;
	}
	st.selBtn.hidden = true;
	document.getSelection().removeAllRanges();
	if (st.setKbdMode)
		st.setKbdMode(false);
	openNew(target);
}

function openNew(target) {
	const st = R;
	st.mode = 'new';
	st.open = null;
	st.pending = target;
	drawHighlights(false);
	const vis = h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'private' }), ' Private note (only you will see it)');
	const quote = target ? target.selector[0].exact : null;
	const form = composer({
		label: target ? 'Start a thread on this passage' : 'Start a thread about the whole chapter',
		submitLabel: 'Post',
		members: () => R.members,
		extra: vis,
		onCancel: () => openList(true),
		onSubmit: async (text) => {
			try {
				const a = await rpc.call('annotation.create', {
					circle: st.circle, chapter: st.chapter, target: target || null, body: text,
					visibility: vis.querySelector('input').checked ? 'private' : 'circle',
				});
				st.anns.set(a.id, a);
				st.pending = null;
				await drawHighlights(false);
				openThread(a.id);
			} catch (e) {
				e.userMessage = errText(e);
				throw e;
			}
		},
	});
	add(clear(st.panel), panelHead('New thread'),
		quote ? h('blockquote', { class: 'quote' }, quote) : null, form);
	showPanel();
	form.textarea.focus();
}

/* ---------- panel ---------- */
function showPanel() {
	document.body.classList.add('panel-open');
}

function panelHead(title, back) {
	return h('div', { class: 'panel-head' },
		back ? h('button', { type: 'button', class: 'small', onclick: () => openList(true) }, '← All threads') : null,
		h('h2', { id: 'panel-title' }, title),
		h('button', {
			type: 'button', class: 'small close', 'aria-label': 'Close discussion',
			onclick: () => {
				document.body.classList.remove('panel-open');
				R.open = null;
				markActive(-1);
				openList(false);
			},
		}, '✕'));
}

function leaveNew(st) {
	if (st.pending) {
		st.pending = null;
		drawHighlights(false);
	}
}

function openList(focus) {
	const st = R;
	st.mode = 'list';
	st.open = null;
	leaveNew(st);
	markActive(-1);
	renderList();
	if (focus) {
		showPanel();
		st.panel.focus();
	}
}

function excerpt(a) {
	const q = a.target && a.target.selector && a.target.selector[0];
	return q ? q.exact : '';
}

function threadItem(a) {
	const badges = [a.pinned && 'pinned', a.locked && 'locked', a.hidden && 'hidden',
		a.visibility === 'private' && 'private', a.deleted && 'deleted'].filter(Boolean);
	return h('li', {}, h('button', {
		type: 'button', class: 'thread-link', 'data-ann': String(a.id), onclick: () => openThread(a.id, true),
	}, excerpt(a) ? h('span', { class: 'q' }, `“${clip(excerpt(a), 90)}”`) : null,
	h('span', { class: 'who' }, name(a.author), ' · ', `${a.reply_count || 0} ${a.reply_count === 1 ? 'reply' : 'replies'}`),
	badges.length ? h('span', { class: 'badges' }, badges.map((b) => h('span', { class: `badge-${b}` }, b))) : null,
	a.body && !a.hidden ? h('span', { class: 'snip' }, clip(a.body, 120)) : a.hidden ? h('span', { class: 'snip' }, 'Hidden by a moderator') : null));
}

function clip(s, n) {
	s = String(s || '');
	const cps = Array.from(s);
	return cps.length > n ? cps.slice(0, n - 1).join('') + '…' : s;
}

function renderList() {
	const st = R;
	if (!st || st.mode !== 'list')
		return;
	const all = [...st.anns.values()];
	const pos = (a) => (ChapterMap.position(a.target) || { start: -1 }).start;
	const sorted = (xs) => xs.sort((x, y) => (y.pinned ? 1 : 0) - (x.pinned ? 1 : 0) || pos(x) - pos(y) || x.id - y.id);
	const onText = sorted(all.filter((a) => a.target && !['orphaned', 'needs_review'].includes(a.anchor)));
	const whole = sorted(all.filter((a) => !a.target));
	const lost = sorted(all.filter((a) => a.target && ['orphaned', 'needs_review'].includes(a.anchor)));
	add(clear(st.panel), panelHead(`Discussion (${all.length})`),
		h('p', { class: 'hint' }, 'Select words in the text to start a thread on them.'),
		h('button', { type: 'button', class: 'small', onclick: () => openNew(null) }, 'New thread on the whole chapter'),
		h('h3', {}, 'On the text'),
		onText.length ? h('ul', { class: 'threads', id: 'thread-list' }, onText.map(threadItem)) : h('p', { class: 'empty' }, 'No threads yet.'),
		whole.length ? [h('h3', {}, 'About the whole chapter'), h('ul', { class: 'threads' }, whole.map(threadItem))] : null,
		lost.length ? [h('h3', {}, 'Passages no longer in the text'),
			h('p', { class: 'hint' }, 'The text changed in a new edition; these threads keep their old quote.'),
			h('ul', { class: 'threads orphans' }, lost.map(threadItem))] : null);
}

async function openThread(id, scroll) {
	const st = R;
	st.mode = 'thread';
	st.open = id;
	leaveNew(st);
	st.replyParent = null;
	st.replyComposer = null;
	markActive(id);
	showPanel();
	await refreshThread(true);
	if (scroll) {
		const m = st.article.querySelector(`mark[data-ann="${id}"]`);
		if (m)
			m.scrollIntoView({ block: 'center' });
	}
}

async function refreshThread(focus) {
	const st = R;
	const id = st.open;
	if (!id)
		return;
	let a;
	try {
		a = await rpc.call('annotation.get', { annotation: id });
	} catch (e) {
		if (e.code === -32004) {
			st.anns.delete(id);
			toast('That thread was removed.');
			openList(false);
			drawHighlights(false);
		}
		return;
	}
	if (R !== st || st.open !== id)
		return;
	st.anns.set(id, { ...st.anns.get(id), ...a, replies: undefined });
	if (st.editing > 0)
		return; // do not pull the form from under the writer
	renderThread(a, focus);
}

function isMine(x) {
	return x.author && x.author.id === app.me.id;
}

function postBody(x) {
	if (x.deleted)
		return h('p', { class: 'placeholder' }, 'This post was deleted.');
	if (x.hidden && x.body_html === null)
		return h('p', { class: 'placeholder' }, 'Hidden by a moderator.');
	const div = h('div', { class: 'body' });
	serverHtml(div, x.body_html);
	return div;
}

function reactions(targetKey, x) {
	const my = new Set(x.my_reactions || []);
	const counts = x.reactions || {};
	return h('div', { class: 'reactions', role: 'group', 'aria-label': 'Reactions' },
		KINDS.map(([k, label]) => {
			const b = h('button', {
				type: 'button', class: 'react small', 'aria-pressed': String(my.has(k)),
				'data-kind': k,
			}, `${label} `, h('span', { class: 'n' }, String(counts[k] || 0)));
			b.addEventListener('click', async () => {
				try {
					const r = await rpc.call('reaction.toggle', { target: { [targetKey]: x.id }, kind: k });
					x.reactions = r.reactions;
					x.my_reactions = r.my_reactions;
					const grp = b.closest('.reactions');
					if (grp) {
						grp.replaceWith(reactions(targetKey, x));
						const nb = document.querySelector(`[data-post="${targetKey}-${x.id}"] [data-kind="${k}"]`);
						if (nb)
							nb.focus();
					}
				} catch (e) { toast(errText(e)); }
			});
			return b;
		}));
}

function flagButton(targetKey, x) {
	const b = h('button', { type: 'button', class: 'small link', 'aria-expanded': 'false' }, 'Flag');
	b.addEventListener('click', () => {
		const holder = b.closest('.post').querySelector('.flag-form');
		if (holder.firstChild) {
			clear(holder);
			b.setAttribute('aria-expanded', 'false');
			return;
		}
		b.setAttribute('aria-expanded', 'true');
		const sel = h('select', { 'aria-label': 'Reason' }, FLAG_REASONS.map(([v, l]) => h('option', { value: v }, l)));
		const note = h('input', { 'aria-label': 'Note for the moderators (optional)', placeholder: 'Note (optional)', maxlength: 500 });
		const f = h('form', { class: 'row' }, sel, note, h('button', { type: 'submit', class: 'small' }, 'Send flag'));
		f.addEventListener('submit', async (ev) => {
			ev.preventDefault();
			try {
				await rpc.call('flag.create', {
					target: { [targetKey]: x.id }, reason: sel.value,
					...(note.value.trim() ? { note: note.value.trim() } : {}),
				});
				clear(holder).appendChild(h('p', { class: 'ok', role: 'status' }, 'Thank you; the moderators will look at it.'));
			} catch (e) { toast(errText(e)); }
		});
		holder.appendChild(f);
		sel.focus();
	});
	return b;
}

function modButtons(targetKey, x, isThread) {
	if (!R.isMod)
		return [];
	const act = (label, method, params, askReason) => h('button', {
		type: 'button', class: 'small mod', onclick: async () => {
			const p = { ...params };
			if (askReason) {
				const reason = prompt(`Reason (${label.toLowerCase()})?`, '');
				if (reason === null)
					return;
				p.reason = reason || label.toLowerCase();
			}
			try {
				await rpc.call(method, p);
				scheduleRefresh(R.open);
			} catch (e) { toast(errText(e)); }
		},
	}, label);
	const t = { [targetKey]: x.id };
	const out = [x.hidden ? act('Unhide', 'mod.unhide', { target: t }, false)
		: act('Hide', 'mod.hide', { target: t }, true)];
	if (isThread) {
		out.push(x.locked ? act('Unlock', 'mod.unlock', { annotation: x.id }, false)
			: act('Lock', 'mod.lock', { annotation: x.id }, false));
		out.push(act(x.pinned ? 'Unpin' : 'Pin', 'mod.pin', { annotation: x.id, on: !x.pinned }, false));
	}
	return out;
}

function ownButtons(targetKey, x) {
	if (!isMine(x) || x.deleted)
		return [];
	const edit = h('button', { type: 'button', class: 'small link' }, 'Edit');
	edit.addEventListener('click', () => {
		const post = edit.closest('.post');
		const body = post.querySelector('.body');
		R.editing++;
		const done = () => {
			R.editing = Math.max(0, R.editing - 1);
			refreshThread();
		};
		const f = composer({
			label: 'Edit', value: x.body || '', submitLabel: 'Save', members: () => R.members,
			onCancel: done,
			onSubmit: async (text) => {
				try {
					await rpc.call(targetKey === 'annotation' ? 'annotation.update' : 'reply.update',
						{ [targetKey]: x.id, body: text });
				} catch (e) {
					e.userMessage = errText(e);
					throw e;
				}
				done();
			},
		});
		(body || post).replaceWith(f);
		f.textarea.focus();
	});
	const del = h('button', {
		type: 'button', class: 'small link danger', onclick: async () => {
			if (!confirm('Delete this post?'))
				return;
			try {
				await rpc.call(targetKey === 'annotation' ? 'annotation.delete' : 'reply.delete', { [targetKey]: x.id });
				scheduleRefresh(R.open);
			} catch (e) { toast(errText(e)); }
		},
	}, 'Delete');
	return [edit, del];
}

function post(targetKey, x, isThread) {
	const badges = [x.pinned && 'Pinned', x.locked && 'Locked', x.hidden && 'Hidden',
		x.visibility === 'private' && 'Private', x.edited && 'edited'].filter(Boolean);
	const replyBtn = !isThread && !x.deleted ? h('button', {
		type: 'button', class: 'small link', onclick: () => {
			R.replyParent = x.id;
			const rc = R.replyComposer;
			if (rc) {
				rc.querySelector('label').textContent = `Reply to ${name(x.author)}`;
				rc.textarea.focus();
			}
		},
	}, 'Reply') : null;
	return h('div', { class: `post${x.hidden ? ' is-hidden' : ''}`, 'data-post': `${targetKey}-${x.id}` },
		h('p', { class: 'meta' }, h('strong', {}, name(x.author)), ' ',
			h('time', { datetime: x.created_at }, fmtTime(x.created_at)),
			badges.map((b) => h('span', { class: `badge badge-${b.toLowerCase()}` }, b))),
		postBody(x),
		x.deleted ? null : reactions(targetKey, x),
		h('div', { class: 'post-actions' }, replyBtn, ownButtons(targetKey, x),
			!isMine(x) && !x.deleted ? flagButton(targetKey, x) : null,
			modButtons(targetKey, x, isThread)),
		h('div', { class: 'flag-form' }));
}

function renderThread(a, focus) {
	const st = R;
	const q = excerpt(a);
	const state = a.anchor && !['exact', 'moved'].includes(a.anchor)
		? h('p', { class: 'anchor-state' }, {
			fuzzy: 'The passage was edited since this thread began.',
			needs_review: 'The passage changed; a moderator is checking where this thread belongs.',
			orphaned: 'This passage is no longer in the text.',
		}[a.anchor] || a.anchor) : null;
	const replies = a.replies || [];
	const byId = new Map(replies.map((r) => [r.id, r]));
	if (!st.replyComposer) {
		st.replyComposer = composer({
			label: 'Reply', submitLabel: 'Reply', members: () => R.members,
			onSubmit: async (text) => {
				const p = { annotation: a.id, body: text };
				if (st.replyParent)
					p.parent = st.replyParent;
				try {
					await rpc.call('reply.create', p);
				} catch (e) {
					e.userMessage = errText(e);
					throw e;
				}
				st.replyParent = null;
				st.replyComposer.querySelector('label').textContent = 'Reply';
				scheduleRefresh(a.id);
			},
		});
	}
	const rc = st.replyComposer;
	const canReply = !a.deleted && (!a.locked || st.isMod);
	rc.setDisabled(canReply ? '' : a.locked ? 'This thread is locked.' : 'This thread was deleted.');
	const prevFocus = document.activeElement;
	const keep = rc.contains(prevFocus);
	add(clear(st.panel), panelHead('Thread', true),
		q ? h('blockquote', { class: 'quote' }, q) : h('p', { class: 'meta' }, 'About the whole chapter'),
		state,
		a.locked ? h('p', { class: 'notice' }, 'Locked: no new replies.') : null,
		h('article', { class: 'thread', 'aria-label': `Thread by ${name(a.author)}` },
			post('annotation', a, true),
			h('h3', { class: 'replies-h' }, `${replies.length} ${replies.length === 1 ? 'reply' : 'replies'}`),
			h('ol', { class: 'replies' }, replies.map((r) => h('li', { class: r.parent ? 'nested' : '' },
				r.parent && byId.get(r.parent) ? h('p', { class: 'meta in-reply' }, `↳ to ${name(byId.get(r.parent).author)}`) : null,
				post('reply', r, false))))),
		rc);
	if (keep)
		prevFocus.focus();
	else if (focus)
		st.panel.focus();
}

function onArticleClick(ev) {
	const st = R;
	const a = ev.target.closest('a[href^="#"]');
	if (a && !a.getAttribute('href').startsWith('#/')) {
		// Footnote references and back-links: move within the chapter
		// without touching the router's hash.
		ev.preventDefault();
		const id = decodeURIComponent(a.getAttribute('href').slice(1));
		const t = document.getElementById(id) || st.article.querySelector(`[name="${CSS.escape(id)}"]`);
		if (t) {
			t.scrollIntoView({ block: 'center' });
			if (!t.hasAttribute('tabindex'))
				t.setAttribute('tabindex', '-1');
			t.focus({ preventScroll: true });
			t.classList.add('flash');
			setTimeout(() => t.classList.remove('flash'), 2000);
		}
		return;
	}
	const sel = document.getSelection();
	if (sel && !sel.isCollapsed)
		return;
	const m = ev.target.closest('mark[data-ann]');
	if (m)
		openThread(Number(m.dataset.ann));
}

