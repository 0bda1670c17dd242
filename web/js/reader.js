// reader.js - the reading view: a chapter laid out for long reading, its
// table of contents and neighbours, highlights for every visible annotation
// (overlapping ones nest), a margin density strip, the discussion panel
// (side panel, bottom sheet on a phone) with threads, replies, reactions and
// moderation, orphaned threads listed apart, presence and saved progress.
// Everything updates live from circle events.

import { h, add, clear, serverHtml, toast, errText, fmtTime, name, idOf } from './dom.js';
import { rpc, app, subscribe, toc, chaptersOf, chapterLabel, partsOf } from './state.js';
import { ChapterMap } from './anchor.js';
import { composer } from './compose.js';

const KINDS = [
	['agree', 'Agree'], ['insightful', 'Insightful'],
	['question', 'Question'], ['disagree', 'Disagree'],
];
const FLAG_REASONS = [
	['off_topic', 'Off topic'], ['uncivil', 'Uncivil'], ['spam', 'Spam'], ['other', 'Other'],
];

// The reader on screen, for the router's two entry points below only.
// Everything else gets the reader's state object (`st`, made by
// showReader) as an argument; `st.closed` tells late answers and timers
// that their reader has gone.
let onScreen = null;

export function leaveReader() {
	const st = onScreen;
	if (!st)
		return;
	onScreen = null;
	st.closed = true;
	closeNotePop(st, false);
	for (const f of st.cleanup)
		f();
}

export async function showReader(main, circle, chapter, q) {
	if (onScreen && onScreen.circle === circle && onScreen.chapter === chapter) {
		jump(onScreen, q);
		return;
	}
	leaveReader();
	document.body.classList.remove('panel-open');
	const st = onScreen = {
		circle, chapter, cleanup: [], anns: new Map(), open: null,
		mode: 'list', members: [], role: null, presence: new Map(),
		pending: null, sig: '', editing: 0, closed: false,
		replyComposer: null, replyParent: null, newComposer: null,
		lastBlock: null, furthest: -1, thread: null, withheld: null,
		progress: null, progressOrder: 0,
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
	st.selBtn.addEventListener('click', () => startFromSelection(st));
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
	st.order = idx + 1;
	st.chs = chs;
	setProgress(st, c.me && c.me.progress);
	st.progressEl = h('p', { class: 'hint progress-note', id: 'progress-note', 'aria-live': 'polite' });
	st.markBtn = h('button', {
		type: 'button', class: 'small', id: 'mark-read', onclick: async () => {
			await saveProgress(st, { chapter, read: true });
		},
	}, 'Mark chapter read');
	st.rewindBtn = h('button', {
		type: 'button', class: 'small', id: 'rewind', onclick: async () => {
			const first = st.map && st.map.blocks[0];
			await saveProgress(st, { chapter, rewind: true, ...(first ? { block: first.id } : {}) });
			toast('Your progress is now at the start of this chapter');
		},
	}, 'Move my progress back here');
	levers.push(st.markBtn, st.rewindBtn);
	if (!st.isMod && c.spoiler_guard) {
		const box = h('input', { type: 'checkbox', checked: !!(c.me && c.me.show_all) });
		box.addEventListener('change', async () => {
			try {
				await rpc.call('progress.set', { circle, show_all: box.checked });
				await loadAnnotations(st);
				renderList(st);
			} catch (e) { toast(errText(e)); }
		});
		levers.push(h('label', { class: 'check inline' }, box, ' Show threads in chapters ahead of me'));
	}
	const guardNote = !st.isMod && (c.post_first || c.spoiler_guard) ? h('p', { class: 'hint' },
		c.post_first ? 'This circle asks you to post before you see the others’ threads in a chapter. ' : '',
		c.spoiler_guard ? 'Threads in chapters beyond your progress are held back. ' : '') : null;
	const tocLink = (x) => h('li', {},
		h('a', { href: `#/read/${circle}/${x.id}`, 'aria-current': x.id === chapter ? 'page' : null },
			chapterLabel(x)));
	const tocList = h('ul', { class: 'toc-list' }, partsOf(chs).map((p) => p.title
		? h('li', { class: 'toc-part' }, h('span', { class: 'part-title' }, p.title),
			h('ul', {}, p.chapters.map(tocLink)))
		: p.chapters.map(tocLink)));
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
				st.progressEl,
				h('div', { class: 'tools' }, followBtn, keyboardToggle(st), levers,
					h('button', { type: 'button', class: 'small', id: 'show-threads', onclick: () => openList(st, true) }, 'Discussion'))),
			h('div', { class: 'text-wrap' }, st.article, st.strip),
			navLinks),
		st.panel));
	// Right after the text in the tab order, so a keyboard selection
	// (caret browsing, F7) is one Tab away from starting a thread.
	main.querySelector('.text-wrap').after(st.selBtn);

	// Selection: mouse, touch and keyboard (shift+arrows with caret browsing).
	const onSel = () => requestAnimationFrame(() => updateSelButton(st));
	document.addEventListener('selectionchange', onSel);
	st.cleanup.push(() => document.removeEventListener('selectionchange', onSel));
	st.article.addEventListener('click', (ev) => onArticleClick(st, ev));
	st.article.addEventListener('keydown', (ev) => {
		const m = ev.target.closest && ev.target.closest('mark[data-ann]');
		if (m && (ev.key === 'Enter' || ev.key === ' ')) {
			ev.preventDefault();
			openThread(st, Number(m.dataset.ann));
		}
	});
	const onResize = () => {
		onSel();
		if (!st.closed && st.map)
			drawDensity(st);
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
	renderText(st);
	drawProgress(st);
	await loadAnnotations(st);
	if (st.closed)
		return;
	openList(st, false);
	jump(st, q);

	// Live.
	st.cleanup.push(subscribe(circle, (ev) => onEvent(st, ev)));
	const offOpen = rpc.on('open', () => {
		sendPresence(st, true);
	});
	st.cleanup.push(offOpen);
	sendPresence(st, true);
	const beat = setInterval(() => sendPresence(st, true), 30000);
	st.cleanup.push(() => clearInterval(beat));
	watchProgress(st);
}

/* ---------- text, highlights and density ---------- */
function renderText(st) {
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

async function drawHighlights(st, force) {
	if (st.closed || !st.map)
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
	if (currentRange(st)) {
		// Someone is selecting words: redrawing would drop the
		// selection. Draw once it is over (updateSelButton).
		st.deferDraw = true;
		return;
	}
	st.deferDraw = false;
	const scroll = window.scrollY;
	renderText(st);
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
		if (st.closed)
			return;
	}
	if (pend) {
		// The passage a new thread is being written about.
		try {
			await st.map.highlight(pend.start, pend.end, { class: 'hl hl-pending' });
		} catch (e) { /* the quote in the panel says it too */ }
	}
	if (st.open)
		markActive(st, st.open);
	window.scrollTo(0, scroll);
	drawDensity(st);
}

function drawDensity(st) {
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

function markActive(st, id) {
	for (const m of st.article.querySelectorAll('mark.active'))
		m.classList.remove('active');
	for (const m of st.article.querySelectorAll(`mark[data-ann="${id}"]`))
		m.classList.add('active');
}

/* ---------- data ---------- */
// The chapter's threads are fetched once when it opens, again only on
// `resync` and after the member's own action that releases withheld
// threads (reading on under the spoiler guard, a first post or "mark
// read" under post first). Every other change arrives as an event that
// carries the object, and is applied here (applyEvent).
async function loadAnnotations(st) {
	try {
		const items = [];
		let cursor = null;
		let withheld = null;
		for (let i = 0; i < 20; i++) {
			const r = await rpc.call('annotation.list', {
				circle: st.circle, chapter: st.chapter, ...(cursor ? { cursor } : {}),
			});
			if (i === 0)
				withheld = r.withheld || null;
			items.push(...(r.items || []));
			cursor = r.next;
			if (!cursor)
				break;
		}
		if (st.closed)
			return;
		st.anns = new Map(items.map((a) => [a.id, a]));
		st.withheld = withheld;
	} catch (e) {
		toast(errText(e));
	}
	await drawHighlights(st, false);
}

// A full reload: on resync, or when the member's own action may have
// released withheld threads.
async function reloadAll(st) {
	if (st.closed)
		return;
	await loadAnnotations(st);
	if (st.closed)
		return;
	if (st.mode === 'thread' && st.open)
		await refreshThread(st);
	else if (st.mode === 'list')
		renderList(st);
}

// Merges a post object from an event (or a method's answer) into what we
// hold: my_reactions and reply counts are per viewer and survive.
function mergePost(prev, d) {
	const o = { ...(prev || {}), ...d };
	if (prev && prev.my_reactions && !(d.my_reactions && d.my_reactions.length))
		o.my_reactions = prev.my_reactions;
	if (prev && d.reply_count === undefined)
		o.reply_count = prev.reply_count;
	delete o.replies;
	return o;
}

function applyAnnotation(st, d) {
	const id = Number(d.id);
	if (Number(idOf(d.chapter)) !== st.chapter && !st.anns.has(id))
		return false;
	const a = mergePost(st.anns.get(id), d);
	a.activity = Date.now();
	st.anns.set(id, a);
	if (st.thread && st.thread.id === id)
		st.thread = { ...mergePost(st.thread, d), replies: st.thread.replies };
	return true;
}

function applyReply(st, d) {
	const annId = Number(idOf(d.annotation));
	const a = st.anns.get(annId);
	if (!a)
		return false;
	a.activity = Date.now();
	const t = st.thread && st.thread.id === annId ? st.thread : null;
	const known = t ? t.replies.findIndex((r) => r.id === d.id) : -1;
	if (t) {
		if (known >= 0)
			t.replies[known] = mergePost(t.replies[known], d);
		else
			t.replies.push(mergePost(null, d));
		t.reply_count = t.replies.filter((r) => !r.deleted).length;
		a.reply_count = t.reply_count;
		if (st.mode === 'thread')
			markSeen(st, a); // read as it arrives in the open thread
	} else if (d.created_at && !d.deleted && !d.edited && !(a.seen || new Set()).has(d.id)) {
		(a.seen = a.seen || new Set()).add(d.id);
		a.reply_count = (a.reply_count || 0) + 1;
	}
	return true;
}

function applyReaction(st, d) {
	const key = d.target && (d.target.annotation !== undefined ? 'annotation' : 'reply');
	if (!key)
		return false;
	const id = Number(d.target[key]);
	const mine = idOf(d.account) === app.me.id;
	const upd = (x) => {
		if (!x)
			return;
		x.reactions = d.reactions;
		if (mine && d.kind) {
			const my = new Set(x.my_reactions || []);
			if (d.on)
				my.add(d.kind);
			else
				my.delete(d.kind);
			x.my_reactions = [...my];
		}
	};
	let hit = false;
	if (key === 'annotation') {
		hit = st.anns.has(id);
		upd(st.anns.get(id));
		if (st.thread && st.thread.id === id)
			upd(st.thread);
	} else if (st.thread) {
		const r = st.thread.replies.find((x) => x.id === id);
		hit = !!r;
		upd(r);
	}
	return hit;
}

// Redraws what an applied change touches, in one animation frame.
function redrawSoon(st) {
	if (st.redrawQueued)
		return;
	st.redrawQueued = true;
	requestAnimationFrame(async () => {
		st.redrawQueued = false;
		if (st.closed)
			return;
		await drawHighlights(st, false);
		if (st.mode === 'thread' && st.thread && st.editing === 0)
			renderThread(st, st.thread, false);
		else if (st.mode === 'list')
			renderList(st);
	});
}

function applyEvent(st, ev) {
	const d = ev.data || {};
	const t = ev.type;
	let hit = false;
	if (t.startsWith('annotation.') || t.startsWith('thread.') || t === 'anchor.changed')
		hit = applyAnnotation(st, d.annotation && typeof d.annotation === 'object' ? d.annotation : d);
	else if (t.startsWith('reply.'))
		hit = applyReply(st, d);
	else if (t === 'reaction.changed')
		hit = applyReaction(st, d);
	if (hit)
		redrawSoon(st);
}

function onEvent(st, ev) {
	if (st.closed)
		return;
	const d = ev.data || {};
	if (ev.type === 'presence.changed')
		return onPresence(st, d);
	if (ev.type === 'presence.snapshot') {
		st.presence.clear();
		onPresence(st, { items: ev.data || [] });
		return;
	}
	if (ev.type === 'resync')
		return reloadAll(st);
	if (/^(annotation|reply|reaction|thread|anchor)\./.test(ev.type))
		return applyEvent(st, ev);
	if (ev.type.startsWith('member.'))
		rpc.all('circle.members', { circle: st.circle }).then((m) => {
			st.members = m.map((x) => (x.account && typeof x.account === 'object' ? { ...x.account, role: x.role } : x));
		}).catch(() => {});
}

/* ---------- presence and progress ---------- */
function onPresence(st, d) {
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
	drawPresence(st);
}

function drawPresence(st) {
	const here = [...st.presence.entries()].filter(([id, p]) => p.chapter === st.chapter && id !== app.me.id)
		.map(([id, p]) => {
			const m = st.members.find((x) => x.id === id);
			return name(typeof p.acc === 'object' && (p.acc.handle || p.acc.display_name) ? p.acc : m || p.acc);
		});
	st.presenceEl.textContent = here.length ? `Reading now: ${here.join(', ')}` : '';
}

function sendPresence(st, force) {
	if (st.closed)
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

// Progress is the furthest point read (SPEC progress.set). It moves on
// only while the member reads the chapter at or right after it: each block
// read is saved, and the chapter's last block saves "read through this
// chapter". Opening an earlier chapter changes nothing (the server ignores
// a lower position anyway), and a glance at a chapter further ahead keeps
// its threads withheld until the member marks it read. Moving back is the
// explicit "Move my progress back here".
function setProgress(st, p) {
	st.progress = p || null;
	const ch = p && st.chs.find((x) => x.id === Number(idOf(p.chapter)));
	st.progressOrder = ch ? ch.order : 0;
	st.readThrough = ch ? (p.block === null || p.block === undefined ? ch.order : ch.order - 1) : 0;
}

// Where this chapter stands against the member's progress.
function progressState(st) {
	if (st.order <= st.readThrough)
		return 'read';
	if (st.order <= Math.max(1, st.readThrough + 1, st.progressOrder))
		return 'reading';
	return 'ahead';
}

function drawProgress(st) {
	if (!st.progressEl)
		return;
	const s = progressState(st);
	const n = st.readThrough;
	st.progressEl.textContent = s === 'read'
		? `You have read this chapter (your progress: ${n} of ${st.chs.length} chapters read).`
		: s === 'ahead'
			? `This chapter is ahead of your progress (${n} of ${st.chs.length} chapters read).` +
				(st.c.spoiler_guard && !st.isMod ? ' Its threads stay hidden until you mark it read.' : '')
			: '';
	st.markBtn.hidden = s === 'read';
	st.rewindBtn.hidden = !(st.order < st.progressOrder || (s === 'read' && st.order === st.progressOrder));
}

async function saveProgress(st, p) {
	try {
		const before = st.progressOrder;
		const r = await rpc.call('progress.set', { circle: st.circle, ...p });
		if (st.closed)
			return;
		setProgress(st, r.progress);
		drawProgress(st);
		// Reading on (spoiler guard) or marking read (post first) may
		// release withheld threads: the one case for a new list.
		if (st.withheld && (st.progressOrder !== before || p.read))
			await reloadAll(st);
	} catch (e) { toast(errText(e)); }
}

function watchProgress(st) {
	const order = new Map(st.map.blocks.map((b, i) => [String(b.id), i]));
	const last = st.map.blocks.length - 1;
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
				if (progressState(st) !== 'reading')
					continue;
				clearTimeout(timer);
				timer = setTimeout(() => {
					if (st.closed || progressState(st) !== 'reading')
						return;
					saveProgress(st, st.furthest >= last ? { chapter: st.chapter }
						: { chapter: st.chapter, block: st.lastBlock });
					sendPresence(st, false);
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
function jump(st, q) {
	if (st.closed || !q)
		return;
	const a = Number(q.get('a'));
	if (a) {
		openThread(st, a, true);
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
function currentRange(st) {
	const sel = document.getSelection();
	if (!sel || sel.rangeCount === 0 || sel.isCollapsed)
		return null;
	const r = sel.getRangeAt(0);
	if (!st.article.contains(r.commonAncestorContainer) &&
	    !r.intersectsNode(st.article))
		return null;
	return r;
}

function updateSelButton(st) {
	if (st.closed)
		return;
	const r = currentRange(st);
	if (!r || !r.toString().trim()) {
		st.selBtn.hidden = true;
		if (st.deferDraw && !r)
			drawHighlights(st, false);
		return;
	}
	st.range = r.cloneRange();
	const rects = r.getClientRects();
	const rect = rects.length ? rects[rects.length - 1] : r.getBoundingClientRect();
	st.selBtn.hidden = false;
	// Never over the words below the selection: in the margin beside the
	// text when there is room, else just above the selection's first line
	// (or below its last when it starts at the top of the window).
	const w = st.selBtn.offsetWidth || 150;
	const bh = st.selBtn.offsetHeight || 40;
	const col = st.article.getBoundingClientRect();
	const first = rects.length ? rects[0] : rect;
	let left;
	let top;
	if (col.right + 12 + w <= window.innerWidth - 8) {
		left = col.right + 12;
		top = Math.min(Math.max(8, first.top), window.innerHeight - bh - 8);
	} else {
		left = Math.min(Math.max(8, first.left), window.innerWidth - w - 8);
		top = first.top - bh - 8 >= 8 ? first.top - bh - 8 : Math.min(rect.bottom + 8, window.innerHeight - bh - 8);
	}
	st.selBtn.style.left = `${left}px`;
	st.selBtn.style.top = `${top}px`;
}

// Keyboard selection without the browser's caret browsing: the text
// becomes a read-only caret region (contenteditable with every edit
// refused), so arrows move a caret, Shift+arrows select, and Enter starts
// a thread on the selection.
function keyboardToggle(st) {
	const b = h('button', { type: 'button', class: 'small', id: 'kbd-select', 'aria-pressed': 'false' }, 'Select with the keyboard');
	const refuse = (ev) => ev.preventDefault();
	const onKey = (ev) => {
		if (ev.key === 'Enter' && currentRange(st)) {
			ev.preventDefault();
			startFromSelection(st);
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

async function startFromSelection(st) {
	const r = currentRange(st) || st.range;
	const target = r ? await st.map.targetFromRange(r) : null;
	if (!target) {
		toast('Select some words of the chapter first.');
		return;
	}
	st.selBtn.hidden = true;
	document.getSelection().removeAllRanges();
	if (st.setKbdMode)
		st.setKbdMode(false);
	openNew(st, target);
}

function openNew(st, target) {
	st.mode = 'new';
	st.open = null;
	st.pending = target;
	drawHighlights(st, false);
	const vis = h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'private' }), ' Private note (only you will see it)');
	const quote = target ? target.selector[0].exact : null;
	const form = composer({
		label: target ? 'Start a thread on this passage' : 'Start a thread about the whole chapter',
		submitLabel: 'Post',
		members: () => st.members,
		extra: vis,
		onCancel: () => openList(st, true),
		onSubmit: async (text) => {
			try {
				const a = await rpc.call('annotation.create', {
					circle: st.circle, chapter: st.chapter, target: target || null, body: text,
					visibility: vis.querySelector('input').checked ? 'private' : 'circle',
				});
				st.anns.set(a.id, a);
				st.pending = null;
				await drawHighlights(st, false);
				// post first: a first post here releases the others' threads
				if (st.withheld && st.withheld.reason === 'post_first' && a.visibility !== 'private')
					await loadAnnotations(st);
				openThread(st, a.id);
			} catch (e) {
				e.userMessage = errText(e);
				throw e;
			}
		},
	});
	add(clear(st.panel), panelHead(st, 'New thread'),
		quote ? h('blockquote', { class: 'quote' }, quote) : null, form);
	showPanel();
	form.textarea.focus();
}

/* ---------- panel ---------- */
function showPanel() {
	document.body.classList.add('panel-open');
}

function panelHead(st, title, back) {
	return h('div', { class: 'panel-head' },
		back ? h('button', { type: 'button', class: 'small', onclick: () => openList(st, true) }, '← All threads') : null,
		h('h2', { id: 'panel-title' }, title),
		h('button', {
			type: 'button', class: 'small close', 'aria-label': 'Close discussion',
			onclick: () => {
				document.body.classList.remove('panel-open');
				st.open = null;
				markActive(st, -1);
				openList(st, false);
			},
		}, '✕'));
}

function leaveNew(st) {
	if (st.pending) {
		st.pending = null;
		drawHighlights(st, false);
	}
}

function openList(st, focus) {
	st.mode = 'list';
	st.open = null;
	leaveNew(st);
	markActive(st, -1);
	renderList(st);
	if (focus) {
		showPanel();
		st.panel.focus();
	}
}

function excerpt(a) {
	const q = a.target && a.target.selector && a.target.selector[0];
	return q ? q.exact : '';
}

function threadItem(st, a) {
	const badges = [a.pinned && 'pinned', a.locked && 'locked', a.hidden && 'hidden',
		a.visibility === 'private' && 'private', a.deleted && 'deleted'].filter(Boolean);
	const unread = isUnread(st, a);
	return h('li', { class: unread ? 'unread' : null }, h('button', {
		type: 'button', class: 'thread-link', 'data-ann': String(a.id), onclick: () => openThread(st, a.id, true),
	}, unread ? h('span', { class: 'unread-dot' }, h('span', { class: 'sr-only' }, 'Unread: ')) : null,
	excerpt(a) ? h('span', { class: 'q' }, `“${clip(excerpt(a), 90)}”`) : null,
	h('span', { class: 'who' }, name(a.author), ' · ', `${a.reply_count || 0} ${a.reply_count === 1 ? 'reply' : 'replies'}`),
	badges.length ? h('span', { class: 'badges' }, badges.map((b) => h('span', { class: `badge-${b}` }, b))) : null,
	a.body && !a.hidden ? h('span', { class: 'snip' }, clip(plainText(a), 120)) : a.hidden ? h('span', { class: 'snip' }, 'Hidden by a moderator') : null));
}

// A card inside a button shows the rendered words (no **markers**), as
// text: the server's body_html is parsed off-document, never inserted.
const parsed = new WeakMap();
function plainText(a) {
	if (!a.body_html)
		return a.body || '';
	const hit = parsed.get(a);
	if (hit !== undefined)
		return hit;
	const doc = new DOMParser().parseFromString(a.body_html, 'text/html');
	const t = (doc.body.textContent || '').replace(/\s+/g, ' ').trim();
	parsed.set(a, t);
	return t;
}

function clip(s, n) {
	s = String(s || '');
	const cps = Array.from(s);
	return cps.length > n ? cps.slice(0, n - 1).join('') + '…' : s;
}

// Unread: a thread of someone else's never opened here, or with replies
// since it was last opened. What was seen is kept in this browser
// (localStorage), per account and circle.
function seenKey(st) {
	return `scholia.seen.${app.me.id}.${st.circle}`;
}

function seenMap(st) {
	if (!st.seen) {
		try {
			st.seen = JSON.parse(localStorage.getItem(seenKey(st)) || '{}');
		} catch (e) {
			st.seen = {};
		}
	}
	return st.seen;
}

function markSeen(st, a) {
	const m = seenMap(st);
	m[a.id] = a.reply_count || 0;
	try {
		localStorage.setItem(seenKey(st), JSON.stringify(m));
	} catch (e) { /* private mode: unread marks last for this page */ }
}

function isUnread(st, a) {
	if (isMine(a) || a.deleted)
		return false;
	const n = seenMap(st)[a.id];
	return n === undefined || (a.reply_count || 0) > n;
}

// Latest activity: the thread's own time, or the last event about it.
function activity(a) {
	return Math.max(a.activity || 0, Date.parse(a.updated_at || a.created_at || 0) || 0);
}

function renderList(st) {
	if (st.closed || st.mode !== 'list')
		return;
	const everyone = [...st.anns.values()];
	const authors = new Map();
	for (const a of everyone)
		if (a.author && a.author.id !== undefined)
			authors.set(a.author.id, a.author);
	if (st.filterBy && !authors.has(st.filterBy))
		st.filterBy = null;
	const all = st.filterBy ? everyone.filter((a) => a.author && a.author.id === st.filterBy) : everyone;
	const pos = (a) => (ChapterMap.position(a.target) || { start: -1 }).start;
	const sorted = (xs) => xs.sort(st.sortBy === 'latest'
		? (x, y) => activity(y) - activity(x) || y.id - x.id
		: (x, y) => (y.pinned ? 1 : 0) - (x.pinned ? 1 : 0) || pos(x) - pos(y) || x.id - y.id);
	const onText = sorted(all.filter((a) => a.target && !['orphaned', 'needs_review'].includes(a.anchor)));
	const whole = sorted(all.filter((a) => !a.target));
	const lost = sorted(all.filter((a) => a.target && ['orphaned', 'needs_review'].includes(a.anchor)));
	const who = h('select', { id: 'thread-filter' },
		h('option', { value: '' }, 'Everyone'),
		[...authors.values()].sort((x, y) => name(x).localeCompare(name(y))).map((x) =>
			h('option', { value: String(x.id), selected: st.filterBy === x.id ? true : null }, name(x))));
	who.addEventListener('change', () => {
		st.filterBy = who.value ? Number(who.value) : null;
		renderList(st);
		document.getElementById('thread-filter')?.focus();
	});
	const order = h('select', { id: 'thread-sort' },
		h('option', { value: 'position' }, 'Position in the text'),
		h('option', { value: 'latest', selected: st.sortBy === 'latest' ? true : null }, 'Latest activity'));
	order.addEventListener('change', () => {
		st.sortBy = order.value;
		renderList(st);
		document.getElementById('thread-sort')?.focus();
	});
	const unread = everyone.filter((a) => isUnread(st, a)).length;
	add(clear(st.panel), panelHead(st, `Discussion (${everyone.length})`),
		withheldNote(st),
		h('p', { class: 'hint' }, 'Select words in the text to start a thread on them.'),
		h('button', { type: 'button', class: 'small', onclick: () => openNew(st, null) }, 'New thread on the whole chapter'),
		everyone.length ? h('div', { class: 'list-tools' },
			h('label', { for: who.id }, 'From '), who, ' ',
			h('label', { for: order.id }, 'Sort by '), order,
			unread ? h('span', { class: 'meta', id: 'unread-count' }, ` · ${unread} unread`) : null) : null,
		h('h3', {}, 'On the text'),
		onText.length ? h('ul', { class: 'threads', id: 'thread-list' }, onText.map((a) => threadItem(st, a))) : h('p', { class: 'empty' }, st.filterBy ? 'None from this member.' : 'No threads yet.'),
		whole.length ? [h('h3', {}, 'About the whole chapter'), h('ul', { class: 'threads' }, whole.map((a) => threadItem(st, a)))] : null,
		lost.length ? [h('h3', {}, 'Passages no longer in the text'),
			h('p', { class: 'hint' }, 'The text changed in a new edition; these threads keep their old quote.'),
			h('ul', { class: 'threads orphans' }, lost.map((a) => threadItem(st, a)))] : null);
}

// "3 threads, shown once you post": what the spoiler guard or post first
// holds back here (annotation.list's `withheld`).
function withheldNote(st) {
	const w = st.withheld;
	if (!w || !w.count)
		return null;
	const n = `${w.count} ${w.count === 1 ? 'thread' : 'threads'} by others`;
	const why = w.reason === 'post_first'
		? 'shown once you post here (or mark the chapter read)'
		: 'shown once you have read this chapter (or mark it read)';
	return h('p', { class: 'notice withheld', id: 'withheld', role: 'status' }, `${n} waiting, ${why}.`);
}

async function openThread(st, id, scroll) {
	st.mode = 'thread';
	st.open = id;
	leaveNew(st);
	st.replyParent = null;
	st.replyComposer = null;
	markActive(st, id);
	showPanel();
	await refreshThread(st, true);
	if (scroll) {
		const m = st.article.querySelector(`mark[data-ann="${id}"]`);
		if (m)
			m.scrollIntoView({ block: 'center' });
	}
}

async function refreshThread(st, focus) {
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
			openList(st, false);
			drawHighlights(st, false);
		}
		return;
	}
	if (st.closed || st.open !== id)
		return;
	st.anns.set(id, mergePost(st.anns.get(id), a));
	a.replies = a.replies || [];
	st.thread = a;
	markSeen(st, { id, reply_count: (a.replies || []).filter((r) => !r.deleted).length });
	if (st.editing > 0)
		return; // do not pull the form from under the writer
	renderThread(st, a, focus);
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

// Only the kinds someone chose are shown, with their counts, plus one
// "React…" control that offers the others.
function reactions(targetKey, x) {
	const my = new Set(x.my_reactions || []);
	const counts = x.reactions || {};
	const btn = ([k, label]) => {
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
					const nb = document.querySelector(`[data-post="${targetKey}-${x.id}"] [data-kind="${k}"]`) ||
						document.querySelector(`[data-post="${targetKey}-${x.id}"] .react-more`);
					if (nb)
						nb.focus();
				}
			} catch (e) { toast(errText(e)); }
		});
		return b;
	};
	const shown = KINDS.filter(([k]) => counts[k] > 0 || my.has(k));
	const rest = KINDS.filter(([k]) => !(counts[k] > 0 || my.has(k)));
	const menu = h('span', { class: 'react-menu', role: 'group', 'aria-label': 'Choose a reaction', hidden: true }, rest.map(btn));
	const more = rest.length ? h('button', {
		type: 'button', class: 'small react-more', 'aria-expanded': 'false',
		onclick: () => {
			const open = menu.hidden;
			menu.hidden = !open;
			more.setAttribute('aria-expanded', String(open));
			if (open)
				menu.querySelector('button').focus();
		},
	}, 'React…') : null;
	return h('div', { class: 'reactions', role: 'group', 'aria-label': 'Reactions' }, shown.map(btn), more, menu);
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

function modButtons(st, targetKey, x, isThread) {
	if (!st.isMod)
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

function ownButtons(st, targetKey, x) {
	if (!isMine(x) || x.deleted)
		return [];
	const edit = h('button', { type: 'button', class: 'small link' }, 'Edit');
	edit.addEventListener('click', () => {
		const post = edit.closest('.post');
		const body = post.querySelector('.body');
		st.editing++;
		const done = () => {
			st.editing = Math.max(0, st.editing - 1);
			refreshThread(st);
		};
		const f = composer({
			label: 'Edit', value: x.body || '', submitLabel: 'Save', members: () => st.members,
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
				const r = await rpc.call(targetKey === 'annotation' ? 'annotation.delete' : 'reply.delete', { [targetKey]: x.id });
				if (r && typeof r === 'object' && r.id)
					applyEvent(st, { type: `${targetKey}.deleted`, data: r });
			} catch (e) { toast(errText(e)); }
		},
	}, 'Delete');
	return [edit, del];
}

function post(st, targetKey, x, isThread) {
	const badges = [x.pinned && 'Pinned', x.locked && 'Locked', x.hidden && 'Hidden',
		x.visibility === 'private' && 'Private', x.edited && 'edited'].filter(Boolean);
	const replyBtn = !isThread && !x.deleted ? h('button', {
		type: 'button', class: 'small link', onclick: () => {
			st.replyParent = x.id;
			const rc = st.replyComposer;
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
		h('div', { class: 'post-actions' }, replyBtn, ownButtons(st, targetKey, x),
			!isMine(x) && !x.deleted ? flagButton(targetKey, x) : null,
			modButtons(st, targetKey, x, isThread)),
		h('div', { class: 'flag-form' }));
}

function renderThread(st, a, focus) {
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
			label: 'Reply', submitLabel: 'Reply', members: () => st.members,
			onSubmit: async (text) => {
				const p = { annotation: a.id, body: text };
				if (st.replyParent)
					p.parent = st.replyParent;
				let r;
				try {
					r = await rpc.call('reply.create', p);
				} catch (e) {
					e.userMessage = errText(e);
					throw e;
				}
				st.replyParent = null;
				st.replyComposer.querySelector('label').textContent = 'Reply';
				const before = st.withheld;
				if (r && r.id)
					applyEvent(st, { type: 'reply.created', data: r });
				// post first: a first reply here releases the others' threads
				if (before && before.reason === 'post_first')
					reloadAll(st);
			},
		});
	}
	const rc = st.replyComposer;
	const canReply = !a.deleted && (!a.locked || st.isMod);
	rc.setDisabled(canReply ? '' : a.locked ? 'This thread is locked.' : 'This thread was deleted.');
	const prevFocus = document.activeElement;
	const keep = rc.contains(prevFocus);
	add(clear(st.panel), panelHead(st, 'Thread', true),
		q ? h('blockquote', { class: 'quote' }, q) : h('p', { class: 'meta' }, 'About the whole chapter'),
		state,
		a.locked ? h('p', { class: 'notice' }, 'Locked: no new replies.') : null,
		h('article', { class: 'thread', 'aria-label': `Thread by ${name(a.author)}` },
			post(st, 'annotation', a, true),
			h('h3', { class: 'replies-h' }, `${replies.length} ${replies.length === 1 ? 'reply' : 'replies'}`),
			h('ol', { class: 'replies' }, replies.map((r) => h('li', { class: r.parent ? 'nested' : '' },
				r.parent && byId.get(r.parent) ? h('p', { class: 'meta in-reply' }, `↳ to ${name(byId.get(r.parent).author)}`) : null,
				post(st, 'reply', r, false))))),
		rc);
	if (keep)
		prevFocus.focus();
	else if (focus)
		st.panel.focus();
}

// A footnote marker opens its note in a popover beside it (mouse, touch
// and keyboard alike: it is a link, so Enter activates it too), with
// "Go to the note" for the jump. The note's content is a copy of the
// server's own chapter HTML. Escape, Close or a click elsewhere closes it
// and focus returns to the marker.
function closeNotePop(st, back) {
	if (!st.notePop)
		return;
	const { el, ref, off } = st.notePop;
	st.notePop = null;
	off();
	el.remove();
	if (back)
		ref.focus();
}

function openNotePop(st, ref, note) {
	closeNotePop(st, false);
	const body = h('div', { class: 'note-pop-body' });
	for (const n of note.childNodes) {
		if (n.nodeType === 1 && n.classList.contains('note-label'))
			continue;
		body.appendChild(n.cloneNode(true));
	}
	for (const x of body.querySelectorAll('[id]'))
		x.removeAttribute('id');
	const label = `Note ${ref.textContent.trim()}`;
	const go = h('button', { type: 'button', class: 'small' }, 'Go to the note');
	const close = h('button', { type: 'button', class: 'small', 'aria-label': 'Close the note' }, 'Close');
	const el = h('div', { class: 'note-pop', role: 'dialog', 'aria-label': label, tabindex: '-1', id: 'note-pop' },
		h('p', { class: 'note-pop-title' }, label), body, h('div', { class: 'row' }, go, close));
	document.body.appendChild(el);
	const r = ref.getBoundingClientRect();
	const w = Math.min(360, window.innerWidth - 16);
	el.style.width = `${w}px`;
	el.style.left = `${Math.max(8, Math.min(r.left + window.scrollX - w / 2, window.scrollX + window.innerWidth - w - 8))}px`;
	el.style.top = `${r.bottom + window.scrollY + 6}px`;
	const onKey = (ev) => {
		if (ev.key === 'Escape') {
			ev.preventDefault();
			closeNotePop(st, true);
		}
	};
	const onDown = (ev) => {
		if (!el.contains(ev.target) && ev.target !== ref)
			closeNotePop(st, false);
	};
	el.addEventListener('keydown', onKey);
	document.addEventListener('pointerdown', onDown, true);
	st.notePop = { el, ref, off: () => document.removeEventListener('pointerdown', onDown, true) };
	go.addEventListener('click', () => {
		closeNotePop(st, false);
		jumpTo(note);
	});
	close.addEventListener('click', () => closeNotePop(st, true));
	el.focus();
}

function jumpTo(t) {
	t.scrollIntoView({ block: 'center' });
	if (!t.hasAttribute('tabindex'))
		t.setAttribute('tabindex', '-1');
	t.focus({ preventScroll: true });
	t.classList.add('flash');
	setTimeout(() => t.classList.remove('flash'), 2000);
}

function onArticleClick(st, ev) {
	const a = ev.target.closest('a[href^="#"]');
	if (a && !a.getAttribute('href').startsWith('#/')) {
		// Footnote references and back-links: move within the chapter
		// without touching the router's hash.
		ev.preventDefault();
		const id = decodeURIComponent(a.getAttribute('href').slice(1));
		const t = document.getElementById(id) || st.article.querySelector(`[name="${CSS.escape(id)}"]`);
		if (t && a.closest('.noteref') && t.classList.contains('note'))
			openNotePop(st, a, t);
		else if (t)
			jumpTo(t);
		return;
	}
	const sel = document.getSelection();
	if (sel && !sel.isCollapsed)
		return;
	const m = ev.target.closest('mark[data-ann]');
	if (m)
		openThread(st, Number(m.dataset.ann));
}

