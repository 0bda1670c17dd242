// plan.js - the reading plan and progress as the circle screens count
// them: plan.get's entries, everyone's progress whatever the answer's
// shape, the chapter due now, chapters read, "this week".

import { idOf } from './dom.js';

export function normPlan(p) {
	const entries = (p && (p.entries || p.items)) || [];
	return entries.map((e) => ({
		chapter: idOf(e.chapter), due: e.due, prompt: e.prompt || '',
		notes: e.notes || '', // facilitator notes: owners and moderators only
	}));
}

// [{account, chapter, block}] from plan.get / members, whatever the shape.
export function normProgress(p, members) {
	const out = new Map();
	const add = (acc, ch) => {
		const id = idOf(acc);
		if (id === undefined || id === null || ch === undefined || ch === null)
			return;
		out.set(Number(id), { account: acc, chapter: Number(idOf(ch)), block: blk ?? null });
	};
	let blk = null;
	const list = (p && (p.progress || p.members)) || [];
	for (const x of list) {
		blk = x.block ?? x.progress?.block;
		add(x.account || x.member || x, x.chapter ?? x.progress?.chapter);
	}
	for (const m of members || []) {
		const pr = m.progress;
		blk = pr && pr.block;
		if (pr && !out.has(Number(idOf(m.account || m))))
			add(m.account || m, idOf(pr.chapter ?? pr));
	}
	return [...out.values()];
}

export function dueChapter(plan) {
	const today = new Date().toISOString().slice(0, 10);
	const upcoming = plan.filter((e) => (e.due || '') >= today)
		.sort((a, b) => (a.due || '').localeCompare(b.due || ''));
	return upcoming[0] || plan[plan.length - 1] || null;
}

// Progress is the furthest point read: {chapter, block} is a place in a
// chapter, {chapter} alone means read through it (SPEC progress.set).
// How many chapters it counts as read, the one value the home page and
// the plan's bars show.
export function chaptersRead(p, chs) {
	if (!p)
		return 0;
	const ch = chs.find((x) => x.id === Number(idOf(p.chapter)));
	if (!ch)
		return 0;
	return p.block === null || p.block === undefined ? ch.order : ch.order - 1;
}

// Is a YYYY-MM-DD date in the current week (Monday to Sunday)?
export function thisWeek(due, now = new Date()) {
	if (!due)
		return false;
	const d0 = new Date(Date.UTC(now.getFullYear(), now.getMonth(), now.getDate()));
	const monday = new Date(d0);
	monday.setUTCDate(d0.getUTCDate() - ((d0.getUTCDay() + 6) % 7));
	const next = new Date(monday);
	next.setUTCDate(monday.getUTCDate() + 7);
	const d = new Date(`${due}T00:00:00Z`);
	return d >= monday && d < next;
}
