// notes.js - what a notification says and where it leads: who did what,
// to which thread (its quote), in which chapter and, for a moderator's
// action, why. The same words go to the inbox and to the live toast.

import { name, idOf, fmtTime } from './dom.js';
import { rpc, toc, chaptersOf, chapterLabel } from './state.js';

const circles = new Map(); // circle id -> Promise<{name, chapters: Map}>
const ready = new Map(); // circle id -> {name, chapters} once loaded

function circleInfo(id) {
	if (!circles.has(id))
		circles.set(id, (async () => {
			const c = await rpc.call('circle.get', { circle: id });
			const chs = chaptersOf(await toc(idOf(c.book)).catch(() => null));
			const v = { name: c.name, chapters: new Map(chs.map((x) => [x.id, x])) };
			ready.set(id, v);
			return v;
		})().catch(() => null));
	return circles.get(id);
}

// Loads what the words need (circle and chapter names), once per circle.
export async function prepare(items) {
	const ids = new Set(items.map((n) => Number(idOf(n.circle ?? (n.data || {}).circle))).filter(Boolean));
	await Promise.all([...ids].map(circleInfo));
}

function known(id) {
	return ready.get(Number(id)) || null;
}

function clip(s, n) {
	const cps = Array.from(String(s || ''));
	return cps.length > n ? cps.slice(0, n - 1).join('') + '…' : cps.join('');
}

export function notifLink(n) {
	const d = n.data || {};
	const circle = idOf(n.circle ?? d.circle);
	const ann = idOf(d.annotation);
	const ch = idOf(d.chapter);
	if (circle && ch && ann)
		return `#/read/${circle}/${ch}?a=${ann}`;
	if (circle && ch)
		return `#/read/${circle}/${ch}`;
	return circle ? `#/circle/${circle}` : null;
}

export function notifText(n) {
	const d = n.data || {};
	const who = d.actor ? name(d.actor) : null;
	const info = known(n.circle ?? d.circle);
	const chObj = info && info.chapters.get(Number(idOf(d.chapter)));
	const chapter = chObj ? ` in ${chapterLabel(chObj)}` : d.chapter ? ' in a chapter' : '';
	const thread = d.quote ? `the thread on “${clip(d.quote, 80)}”` : d.annotation ? 'a thread about the whole chapter' : 'a thread';
	const why = d.reason ? ` Reason: “${d.reason}”.` : '';
	const circleName = info && info.name ? ` in ${info.name}` : '';
	switch (n.kind) {
	case 'reply': return `${who || 'Someone'} replied in ${thread}${chapter}.`;
	case 'mention': return `${who || 'Someone'} mentioned you in ${thread}${chapter}.`;
	case 'new_thread': return `${who || 'Someone'} started ${thread.replace(/^the thread/, 'a thread')}${chapter}, which you follow.`;
	case 'flag_resolved': return `Your flag on ${thread}${chapter} was resolved: ${
		{ hidden: 'the post was hidden', hide: 'the post was hidden', dismissed: 'no action was needed', dismiss: 'no action was needed' }[d.outcome] || d.outcome}.`;
	case 'moderation':
		switch (d.action) {
		case 'flagged': return `${who || 'A member'} flagged ${d.target && d.target.reply !== undefined ? `a reply in ${thread}` : thread}${chapter} (${
			{ off_topic: 'off topic', uncivil: 'uncivil', spam: 'spam', other: 'other' }[d.reason] || d.reason}).`;
		case 'hidden': return d.auto
			? `Your post in ${thread}${chapter} was hidden automatically after several flags, until a moderator decides.${why}`
			: `${who || 'A moderator'} hid your post in ${thread}${chapter}.${why}`;
		case 'unhidden': return `${who || 'A moderator'} showed your post in ${thread}${chapter} again.${why}`;
		case 'muted': return `${who || 'A moderator'} muted you${circleName}${d.until ? ` until ${fmtTime(d.until)}` : ' until lifted'}.${why}`;
		case 'unmuted': return `You may post again${circleName}.`;
		case 'removed': return `You were removed from the circle${circleName}.${why}`;
		default: return `A moderator acted on your post${d.action ? ': ' + d.action : ''}.${why}`;
		}
	default: return n.kind || 'Notification';
	}
}
