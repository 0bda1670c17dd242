// dashboard.js - the organiser's dashboard (#/circle/ID/dashboard):
// circle.dashboard drawn as pictures first - reading progress against the
// plan, and participation over time - with uPlot (web/vendor/uplot), each
// chart backed by a table for screen readers (the canvas is aria-hidden;
// "Show as table" reveals the same table to everyone). Owners and
// moderators also download and upload plan kits here.
//
// Colours come from the page's CSS custom properties, so the charts follow
// light and dark mode; they are redrawn when the colour scheme changes.
// The figures are a snapshot: "Refresh" reloads them.

import uPlot from '../vendor/uplot/uPlot.esm.js';
import { h, clear, toast, errText, fmtDate, fmtTime, name } from './dom.js';
import { rpc } from './state.js';

const cssLoaded = new Set();
// Stylesheets of this screen (external files: the CSP allows 'self').
export function ensureCss(href) {
	if (cssLoaded.has(href))
		return;
	cssLoaded.add(href);
	document.head.appendChild(h('link', { rel: 'stylesheet', href }));
}

function cssVar(n, fallback) {
	const v = getComputedStyle(document.documentElement).getPropertyValue(n);
	return (v && v.trim()) || fallback;
}

function palette() {
	return {
		fg: cssVar('--fg', '#23201b'),
		muted: cssVar('--muted', '#5e574c'),
		line: cssVar('--line', '#ddd5c6'),
		accent: cssVar('--accent', '#8a3b24'),
		link: cssVar('--link', '#7a2e17'),
		ok: cssVar('--ok', '#1d6b35'),
		focus: cssVar('--focus', '#1760c4'),
		bad: cssVar('--bad', '#a3231b'),
	};
}

const STATUS = { ahead: 'ahead', on_track: 'on track', behind: 'behind' };

function statusText(m) {
	if (m.status === 'behind')
		return `behind by ${m.behind_by} chapter${m.behind_by === 1 ? '' : 's'}`;
	if (m.status === 'ahead')
		return `ahead by ${m.ahead_by} chapter${m.ahead_by === 1 ? '' : 's'}`;
	return STATUS[m.status] || m.status;
}

// A table: caption, header cells, rows of cells (text or nodes).
function table(caption, head, rows, cls) {
	return h('table', { class: cls || 'data' },
		h('caption', {}, caption),
		h('thead', {}, h('tr', {}, head.map((x) => h('th', { scope: 'col' }, x)))),
		h('tbody', {}, rows.map((r) => h('tr', {},
			r.map((x, i) => (i === 0 ? h('th', { scope: 'row' }, x) : h('td', {}, x)))))));
}

// A chart figure: the canvas (hidden from assistive technology) and its
// table, visually hidden until "Show as table".
function chartFigure(id, title, tbl) {
	const plot = h('div', { class: 'chart', 'aria-hidden': 'true', dataset: { chart: id } });
	tbl.classList.add('sr-only');
	tbl.id = `${id}-table`;
	const btn = h('button', { type: 'button', class: 'link', 'aria-controls': tbl.id,
		'aria-expanded': 'false' }, 'Show as table');
	btn.addEventListener('click', () => {
		const shown = tbl.classList.toggle('sr-only') === false;
		btn.setAttribute('aria-expanded', String(shown));
		btn.textContent = shown ? 'Hide table' : 'Show as table';
	});
	const fig = h('figure', { class: 'card chart-card', 'aria-labelledby': `${id}-h` },
		h('h2', { id: `${id}-h` }, title), plot, btn, tbl);
	return { fig, plot };
}

function width(el) {
	return Math.max(280, Math.min(900, (el.parentElement || el).clientWidth - 8 || 600));
}

// Reading progress against the plan: a bar per member (chapters of the
// plan read) and a line for the chapters due by today.
function progressChart(el, d) {
	const pal = palette();
	const due = d.plan.filter((p) => p.due < d.today).length;
	const xs = d.members.map((_, i) => i);
	const read = d.members.map((m) => m.chapters_read);
	const dueLine = d.members.map(() => due);
	const labels = d.members.map((m) => name(m.account));
	const opts = {
		width: width(el), height: 260,
		title: '',
		legend: { show: true, live: false },
		cursor: { show: false },
		scales: { x: { time: false, range: [-0.6, Math.max(0.6, xs.length - 0.4)] },
			y: { range: [0, Math.max(1, d.plan.length)] } },
		axes: [
			{ stroke: pal.fg, grid: { show: false }, ticks: { stroke: pal.line },
				splits: () => xs, values: (u, v) => v.map((i) => labels[i] || ''),
				size: 44 },
			{ stroke: pal.fg, grid: { stroke: pal.line }, ticks: { stroke: pal.line },
				label: 'chapters read', labelSize: 24,
				splits: (u, ax, min, max) => {
					const out = [];
					for (let i = 0; i <= max; i++)
						out.push(i);
					return out;
				} },
		],
		series: [
			{ label: 'member' },
			{ label: 'Chapters read', stroke: pal.accent, fill: pal.accent,
				paths: uPlot.paths.bars({ size: [0.6, 64] }), points: { show: false } },
			{ label: `Due by ${fmtDate(d.today)}`, stroke: pal.focus, width: 2,
				dash: [6, 4], points: { show: false } },
		],
	};
	return new uPlot(opts, [xs, read, dueLine], el);
}

// Participation over time: threads and replies per week.
function activityChart(el, d) {
	const pal = palette();
	const xs = d.totals.activity.map((w) => Date.parse(`${w.week}T00:00:00Z`) / 1000);
	const opts = {
		width: width(el), height: 220,
		legend: { show: true, live: false },
		cursor: { drag: { x: false, y: false } },
		scales: { x: { time: true, range: (u, min, max) => [min - 2 * 86400, max + 2 * 86400] }, y: { range: (u, min, max) => [0, Math.max(4, max + 1)] } },
		axes: [
			{ stroke: pal.fg, grid: { stroke: pal.line }, ticks: { stroke: pal.line } },
			{ stroke: pal.fg, grid: { stroke: pal.line }, ticks: { stroke: pal.line },
				label: 'posts per week', labelSize: 24 },
		],
		series: [
			{},
			{ label: 'Threads', stroke: pal.accent, width: 2, points: { size: 6 } },
			{ label: 'Replies', stroke: pal.focus, width: 2, dash: [6, 3], points: { size: 6 } },
		],
	};
	return new uPlot(opts, [xs,
		d.totals.activity.map((w) => w.threads),
		d.totals.activity.map((w) => w.replies)], el);
}

function download(filename, text) {
	const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
	const a = h('a', { href: url, download: filename, hidden: true });
	document.body.appendChild(a);
	a.click();
	a.remove();
	setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// Plan kits: download this circle's, upload another's onto this book.
function kitSection(circle, isOwner) {
	const report = h('div', { role: 'status', class: 'kit-report' });
	const dl = h('button', { type: 'button' }, 'Download plan kit');
	dl.addEventListener('click', async () => {
		try {
			const kit = await rpc.call('plan.export', { circle });
			download(`plan-kit-circle-${circle}.json`, JSON.stringify(kit, null, 2));
			toast('Plan kit downloaded');
		} catch (e) { toast(errText(e)); }
	});
	const sec = h('section', { class: 'card', 'aria-labelledby': 'kit-h' },
		h('h2', { id: 'kit-h' }, 'Plan kit'),
		h('p', { class: 'hint' }, 'A plan kit holds this circle\'s reading plan, prompts and facilitator notes, by chapter number and title, with dates as days from the first meeting, so another circle reading this book can reuse it.'),
		h('p', { class: 'actions' }, dl));
	if (!isOwner)
		return sec;
	const file = h('input', { type: 'file', id: 'kit-file', accept: 'application/json,.json' });
	const start = h('input', { type: 'date', id: 'kit-start', required: true,
		value: new Date().toISOString().slice(0, 10) });
	const form = h('form', { class: 'kit-upload' },
		h('div', { class: 'field' }, h('label', { for: 'kit-file' }, 'Kit file'), file),
		h('div', { class: 'field' }, h('label', { for: 'kit-start' }, 'First date'), start),
		h('button', { type: 'submit', class: 'primary' }, 'Import plan (replaces this plan)'),
		report);
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		clear(report);
		try {
			const f = file.files && file.files[0];
			if (!f)
				throw new Error('Choose a kit file first.');
			let kit;
			try {
				kit = JSON.parse(await f.text());
			} catch (e) {
				throw new Error('That file is not a plan kit (not JSON).');
			}
			const r = await rpc.call('plan.import', { circle, kit, start: start.value });
			report.append(h('p', {}, `${r.matched.length} entr${r.matched.length === 1 ? 'y' : 'ies'} placed on this book` +
				(r.same_content ? ' (same edition).' : '.')));
			const renamed = r.matched.filter((m) => m.by !== 'title+number');
			if (renamed.length)
				report.append(h('p', {}, 'Matched by number or title only: ',
					renamed.map((m) => `“${m.chapter.title || m.chapter.number}” → “${m.title}”`).join('; ')));
			if (r.unmatched.length)
				report.append(h('p', { class: 'error' }, 'Not matched: ',
					r.unmatched.map((u) => u.chapter.title || `chapter ${u.chapter.number}`).join('; ')));
		} catch (e) {
			report.append(h('p', { class: 'error' }, e.code !== undefined ? errText(e) : e.message));
		}
	});
	sec.appendChild(form);
	return sec;
}

let charts = [];
let schemeQuery = null;

function destroyCharts() {
	for (const c of charts)
		c.destroy();
	charts = [];
}

// Draws the dashboard of circle into main. Returns a cleanup function.
export async function dashboardScreen(main, circle) {
	ensureCss('/vendor/uplot/uPlot.min.css');
	ensureCss('/css/organiser.css');
	destroyCharts();
	clear(main);
	const root = h('div', { class: 'screen dashboard' },
		h('p', { class: 'crumbs' }, h('a', { href: `#/circle/${circle}` }, 'Back to the circle')),
		h('h1', { id: 'screen-title' }, 'Dashboard'));
	main.appendChild(root);
	document.title = 'Dashboard · Scholia';
	let d, c;
	try {
		[d, c] = await Promise.all([
			rpc.call('circle.dashboard', { circle }),
			rpc.call('circle.get', { circle }),
		]);
	} catch (e) {
		root.appendChild(h('p', { class: 'error' }, errText(e)));
		return () => {};
	}
	const role = c.role || c.my_role;
	const isMod = role === 'owner' || role === 'moderator';
	root.querySelector('h1').textContent = `Dashboard: ${c.name}`;
	document.title = `Dashboard: ${c.name} · Scholia`;
	const t = d.totals;
	root.appendChild(h('p', { class: 'lead' },
		`${t.members} member${t.members === 1 ? '' : 's'}: ${t.on_track} on track, ${t.ahead} ahead, ${t.behind} behind. `,
		`${t.threads_week} new thread${t.threads_week === 1 ? '' : 's'} and ${t.replies_week} repl${t.replies_week === 1 ? 'y' : 'ies'} this week.`));
	if (!isMod)
		root.appendChild(h('p', { class: 'hint' }, 'You see your own line and the circle\'s totals.'));

	const dueCount = d.plan.filter((p) => p.due < d.today).length;
	const prog = chartFigure('progress', 'Reading progress against the plan',
		table(`Chapters of the plan read by each member; ${dueCount} of ${d.plan.length} were due by ${fmtDate(d.today)}.`,
			['Member', 'Chapters read', 'Where', 'Against the plan', 'Threads (week)', 'Replies (week)', 'Last seen'],
			d.members.map((m) => [name(m.account), String(m.chapters_read),
				m.progress ? `${m.progress.number ? m.progress.number + '. ' : ''}${m.progress.title}${m.progress.partial ? ' (reading)' : ''}` : 'not started',
				statusText(m), `${m.threads} (${m.threads_week})`, `${m.replies} (${m.replies_week})`,
				m.last_seen ? fmtTime(m.last_seen) : '—'])));
	const act = chartFigure('activity', 'Participation over time',
		table('Threads and replies per week, oldest first.', ['Week of', 'Threads', 'Replies'],
			d.totals.activity.map((w) => [fmtDate(w.week), String(w.threads), String(w.replies)])));
	root.append(prog.fig, act.fig);

	// the plan's chapters
	root.appendChild(h('section', { class: 'card', 'aria-labelledby': 'chap-h' },
		h('h2', { id: 'chap-h' }, 'Chapters of the plan'),
		d.chapters.length ? table('Each chapter of the plan: due date, readers and discussion.',
			['Chapter', 'Due', 'Read by', 'Threads', 'Replies', 'Unanswered', 'Most discussed passages'],
			d.chapters.map((ch) => [
				h('a', { href: `#/read/${circle}/${ch.chapter}` }, `${ch.number ? ch.number + '. ' : ''}${ch.title}`),
				fmtDate(ch.due), `${ch.read_by} of ${t.members}`, String(ch.threads),
				String(ch.replies), String(ch.unanswered),
				ch.passages.length ? h('ul', { class: 'passages' }, ch.passages.map((p) =>
					h('li', {}, h('a', { href: `#/read/${circle}/${ch.chapter}?a=${p.annotation}` }, `“${p.quote}”`),
						` ${p.replies} repl${p.replies === 1 ? 'y' : 'ies'}`))) : '—'])) :
			h('p', {}, 'This circle has no reading plan yet.')));
	const refresh = h('button', { type: 'button' }, 'Refresh');
	refresh.addEventListener('click', () => window.dispatchEvent(new HashChangeEvent('hashchange')));
	root.appendChild(h('p', { class: 'actions' },
		h('a', { class: 'button', href: `#/circle/${circle}/meetings` }, 'Meetings'), refresh));
	if (isMod)
		root.appendChild(kitSection(circle, role === 'owner'));

	const draw = () => {
		destroyCharts();
		clear(prog.plot);
		clear(act.plot);
		if (d.members.length)
			charts.push(progressChart(prog.plot, d));
		charts.push(activityChart(act.plot, d));
	};
	draw();
	// follow the colour scheme and the window's width
	schemeQuery = window.matchMedia('(prefers-color-scheme: dark)');
	const onScheme = () => draw();
	schemeQuery.addEventListener('change', onScheme);
	let resizeTimer = null;
	const onResize = () => {
		clearTimeout(resizeTimer);
		resizeTimer = setTimeout(() => {
			for (const ch of charts)
				ch.setSize({ width: width(ch.root.parentElement), height: ch.height });
		}, 150);
	};
	window.addEventListener('resize', onResize);
	root.dataset.ready = 'true';
	return () => {
		schemeQuery.removeEventListener('change', onScheme);
		window.removeEventListener('resize', onResize);
		destroyCharts();
	};
}
