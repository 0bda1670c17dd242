// End-to-end tests of the web app in headless Debian Chromium, driven by
// playwright-core, against the real `scholia serve` (SCHOLIA_BIN) on a fresh
// database and a free port. Three people in three browser contexts:
// Olive (owner, created with `scholia admin create-account`) starts a circle
// and invites; Bob and Carol register through the invite link; Bob selects
// a passage with the mouse and starts a thread; Carol sees it arrive live,
// replies, reacts and flags; Olive hides it from the moderation queue and
// both readers' views update; the server is killed and restarted on the same
// database and port and the open pages reconnect and keep receiving events.
// axe-core runs on every screen (no serious or critical violations), and
// screenshots at desktop and 360 px widths go to tests/e2e/artifacts/.
// UPDATE_SCREENSHOTS=1 also refreshes docs/screenshots/reading-view.png.
//
// Run: SCHOLIA_BIN=build/scholia node --test tests/e2e/run.mjs
// Synchronisation is by waiting for conditions, never by sleeping.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { organiserSteps } from './organiser.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const bin = process.env.SCHOLIA_BIN;
const artifacts = path.join(here, 'artifacts');
const axeSource = fs.readFileSync(
	path.join(here, 'node_modules/axe-core/axe.min.js'), 'utf8');
const TIMEOUT = 20000;

assert.ok(bin && fs.existsSync(bin), 'set SCHOLIA_BIN to the scholia binary');
fs.rmSync(artifacts, { recursive: true, force: true });
fs.mkdirSync(artifacts, { recursive: true });

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'scholia-e2e-'));
const dbPath = path.join(tmp, 'scholia.db');
const env = {
	...process.env, SCHOLIA_PWHASH_OPS: '1', SCHOLIA_PWHASH_MEM: '8192',
};
let port = 0;
let server = null;
let serverLog = '';
let browser = null;

function freePort() {
	return new Promise((resolve, reject) => {
		const s = net.createServer();
		s.once('error', reject);
		s.listen(0, '127.0.0.1', () => {
			const p = s.address().port;
			s.close(() => resolve(p));
		});
	});
}

async function waitFor(cond, what, ms = TIMEOUT) {
	const end = Date.now() + ms;
	for (;;) {
		try {
			if (await cond())
				return;
		} catch (e) { /* not yet */ }
		if (Date.now() > end)
			throw new Error(`timed out waiting for ${what}\n${serverLog.slice(-3000)}`);
		await new Promise((r) => setTimeout(r, 50));
	}
}

async function startServer() {
	server = spawn(bin, ['serve', '--db', dbPath, '--host', '127.0.0.1',
		'--port', String(port), '--web', path.join(repo, 'web'),
		'--content', path.join(repo, 'content')],
	{ env, stdio: ['ignore', 'pipe', 'pipe'] });
	server.stdout.on('data', (d) => { serverLog += d; });
	server.stderr.on('data', (d) => { serverLog += d; });
	const exited = new Promise((r) => server.once('exit', r));
	server.exited = exited;
	await waitFor(async () => {
		const r = await fetch(`http://127.0.0.1:${port}/healthz`);
		return r.status === 200;
	}, 'the server to answer /healthz', 60000);
}

async function killServer() {
	const s = server;
	server = null;
	s.kill('SIGKILL');
	await s.exited;
}

after(async () => {
	if (browser)
		await browser.close();
	if (server)
		await killServer();
	fs.rmSync(tmp, { recursive: true, force: true });
	fs.writeFileSync(path.join(artifacts, 'server.log'), serverLog);
});

// The steps depend on each other: after a failure the rest fail at once
// with a pointer to it instead of a cascade of timeouts.
let broken = null;
function step(name, fn) {
	test(name, async () => {
		if (broken)
			throw new Error(`not run: an earlier step failed (${broken})`);
		try {
			await fn();
		} catch (e) {
			broken = name;
			for (const [key, p] of Object.entries(people)) {
				await p.page.screenshot({ path: path.join(artifacts, `failure-${key}.png`) }).catch(() => {});
				const err = await p.page.evaluate(() => [...document.querySelectorAll('.error, .toast')]
					.map((x) => x.textContent).join(' | ')).catch(() => '');
				if (err)
					e.message += `\n[${key}] on screen: ${err}`;
			}
			throw e;
		}
	});
}

const base = () => `http://127.0.0.1:${port}`;
const people = {};

// Carol's WebSockets pass through a gate the test can shut, to drop her
// connection while the server keeps running (catch-up with since_seq).
const gate = { shut: false, open: [] };

async function newPerson(key) {
	const ctx = await browser.newContext({
		viewport: { width: 1360, height: 900 }, colorScheme: 'light',
	});
	if (key === 'carol') {
		await ctx.routeWebSocket(/\/ws$/, (ws) => {
			if (gate.shut) {
				ws.close({ code: 1011, reason: 'gate shut' });
				return;
			}
			ws.connectToServer();
			gate.open.push(ws);
		});
	}
	const page = await ctx.newPage();
	page.setDefaultTimeout(TIMEOUT);
	page.on('pageerror', (e) => { serverLog += `[${key} pageerror] ${e.message}\n`; });
	page.on('console', (m) => {
		if (m.type() === 'error')
			serverLog += `[${key} console] ${m.text()}\n`;
	});
	people[key] = { ctx, page };
	return page;
}

// axe-core in the page (evaluated, so the CSP does not apply to it).
async function axe(page, name) {
	await page.evaluate(axeSource);
	const res = await page.evaluate(() => window.axe.run(document, {
		resultTypes: ['violations'],
	}));
	const bad = res.violations.filter((v) => ['serious', 'critical'].includes(v.impact));
	fs.writeFileSync(path.join(artifacts, `axe-${name}.json`),
		JSON.stringify(res.violations, null, 2));
	assert.deepEqual(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')})`), [],
		`axe on ${name}`);
}

async function shots(page, name) {
	await page.screenshot({ path: path.join(artifacts, `${name}-desktop.png`) });
	const vp = page.viewportSize();
	await page.setViewportSize({ width: 360, height: 780 });
	await page.screenshot({ path: path.join(artifacts, `${name}-phone.png`) });
	await page.setViewportSize(vp);
}

async function check(page, name) {
	await axe(page, name);
	await shots(page, name);
	await page.emulateMedia({ colorScheme: 'dark' });
	await axe(page, `${name}-dark`);
	await page.screenshot({ path: path.join(artifacts, `${name}-dark.png`) });
	await page.emulateMedia({ colorScheme: 'light' });
}

async function online(page) {
	await page.waitForSelector('#conn[data-state="online"]');
}

let circleUrl = '';
let inviteUrl = '';
let chapterUrl = '';
let annId = 0;

step('the server starts and an owner is created from the command line', async () => {
	port = await freePort();
	const r = spawnSync(bin, ['admin', 'create-account', '--db', dbPath,
		'--handle', 'olive', '--display-name', 'Olive', '--admin'],
	{ env, input: 'amber lantern meadow 71\n', encoding: 'utf8' });
	assert.equal(r.status, 0, r.stderr);
	await startServer();
	browser = await chromium.launch({
		executablePath: '/usr/bin/chromium',
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
			'--no-first-run', '--disable-background-networking',
			'--disable-component-update', '--disable-sync'],
		// launch() gives every run a fresh temporary profile
		// (--user-data-dir is refused here: it is launchPersistentContext's).
	});
});

step('the owner signs in, starts a circle and makes an invite link', async () => {
	const page = await newPerson('olive');
	await page.goto(`${base()}/`);
	await page.waitForSelector('input[name=handle]');
	await check(page, 'sign-in');
	await page.fill('input[name=handle]', 'olive');
	await page.fill('input[name=password]', 'amber lantern meadow 71');
	await page.click('form button[type=submit]');
	await page.waitForSelector('h1:has-text("Your circles")');
	await page.click('text=Start a circle');
	await page.waitForSelector('select option', { state: 'attached' });
	await page.fill('form input >> nth=0', 'Tuesday readers');
	await page.fill('form textarea', 'We read **slowly**, a chapter a week.');
	await page.click('button:has-text("Create circle")');
	await page.waitForSelector('h2:has-text("Reading plan")');
	circleUrl = page.url();
	await page.waitForSelector('#circle-description strong:has-text("slowly")');
	await page.click('#make-invite');
	await page.waitForSelector('#invite-url');
	inviteUrl = await page.inputValue('#invite-url');
	assert.match(inviteUrl, /#\/join\/./);
	await check(page, 'circle');
	await page.goto(`${base()}/#/`);
	await page.waitForSelector('.circle h2 a');
	await check(page, 'circles');
});

async function registerThroughInvite(key, handle, display) {
	const page = await newPerson(key);
	await page.goto(inviteUrl);
	await page.waitForSelector('input[name=display_name]');
	if (key === 'bob')
		await check(page, 'register');
	await page.fill('input[name=handle]', handle);
	await page.fill('input[name=display_name]', display);
	await page.fill('input[name=password]', `quiet ${display.length} harbour willow`);
	await page.click('form button[type=submit]');
	await page.waitForSelector('h1:has-text("Tuesday readers")');
	assert.equal(page.url(), circleUrl);
	return page;
}

step('two members register through the invite and land in the circle', async () => {
	const bob = await registerThroughInvite('bob', 'bob', 'Bob');
	await check(bob, 'register-landed');
	await registerThroughInvite('carol', 'carol', 'Carol');
	await people.olive.page.goto(circleUrl);
	await people.olive.page.waitForSelector('h2:has-text("Members (3)")');
});

step('the owner sets the reading plan; a member sees its prompt live', async () => {
	const olive = people.olive.page;
	const carol = people.carol.page;
	await olive.click('summary:has-text("Edit the plan")');
	// "first meeting on DATE, every N weeks" fills the dates from chapter 1
	await olive.fill('#fill-first', '2030-01-15');
	await olive.fill('#fill-every', '2');
	await olive.click('#fill-dates');
	const dates = await olive.$$eval('.plan-edit .row input[type=date]', (xs) => xs.map((x) => x.value));
	const firstNumbered = dates.findIndex(Boolean);
	assert.ok(firstNumbered > 0, 'front matter is left without a date');
	assert.deepEqual(dates.slice(firstNumbered, firstNumbered + 3), ['2030-01-15', '2030-01-29', '2030-02-12']);
	await olive.fill('.plan-edit .row input[type=date] >> nth=0', '2030-01-08');
	await olive.fill('.plan-edit input[placeholder="Discussion prompt"] >> nth=0', 'Who were these books for?');
	await olive.click('.plan-edit button[type=submit]');
	await carol.waitForSelector('.plan .prompt:has-text("Who were these books for?")');
	await carol.waitForSelector('.plan .meta:has-text("due")');
	// parts are shown, and each chapter's number once
	await carol.waitForSelector('.plan-parts .part-title:has-text("Part One")');
	const labels = await carol.$$eval('.plan .plan-head a', (xs) => xs.map((x) => x.textContent));
	assert.ok(labels.includes('1. A Town of Flannel and Cotton'), labels.join(' | '));
	assert.equal(await carol.evaluate(() => getComputedStyle(document.querySelector('.plan li')).listStyleType), 'none');
});

step('both open the chapter; each sees the other reading', async () => {
	const { bob, carol } = { bob: people.bob.page, carol: people.carol.page };
	await bob.click('text=Open the book');
	await bob.waitForSelector('#chapter-text [data-block]');
	chapterUrl = bob.url().split('?')[0];
	await carol.goto(chapterUrl);
	await carol.waitForSelector('#chapter-text [data-block]');
	await online(bob);
	await online(carol);
	await bob.waitForSelector('.presence:has-text("Carol")');
	await carol.waitForSelector('.presence:has-text("Bob")');
	await check(carol, 'reader');
});

step('selections map to code points of the chapter text, astral characters included', async () => {
	const page = people.bob.page;
	const r = await page.evaluate(async () => {
		const { ChapterMap } = await import('/js/anchor.js');
		// Two blocks; the first holds astral characters (2 UTF-16 units,
		// 1 code point each) and a note marker that the text also has.
		const text = 'Owen 𝔄𝔅 said “co-op” 😀 twice [1]\n\nSecond 𝒳 block here';
		const cps = Array.from(text);
		const b1end = cps.indexOf('\n');
		const chapter = {
			text,
			blocks: [{ id: 'bA', start: 0, end: b1end },
				{ id: 'bB', start: b1end + 2, end: cps.length }],
		};
		const root = document.createElement('div');
		root.innerHTML = '<p data-block="bA">Owen <em>𝔄𝔅</em> said “co-op” 😀 twice <sup class="noteref"><a href="#n">[1]</a></sup></p>\n' +
			'<p data-block="bB">Second 𝒳 block here</p>';
		document.body.appendChild(root);
		const map = new ChapterMap(root, chapter);
		const p1 = root.querySelector('[data-block=bA]');
		const p2 = root.querySelector('[data-block=bB]');
		// From inside the <em> (after 𝔄) to after "𝒳" in block two.
		const range = document.createRange();
		range.setStart(p1.querySelector('em').firstChild, 2);
		range.setEnd(p2.firstChild, 'Second 𝒳'.length);
		const t = await map.targetFromRange(range);
		const marks = await map.highlight(t.selector[1].start, t.selector[1].end, { class: 't' });
		const marked = marks.map((m) => m.textContent).join('|');
		root.remove();
		// The element's text may differ from the block's: here the HTML
		// adds a marker and breaks a line that the text does not.
		const root2 = document.createElement('div');
		root2.innerHTML = '<p data-block="c1">Alpha 😀 beta<sup>*</sup>\n gamma delta</p>';
		document.body.appendChild(root2);
		const map2 = new ChapterMap(root2, { text: 'Alpha 😀 beta gamma delta', blocks: [{ id: 'c1', start: 0, end: 25 }] });
		const tn = root2.querySelector('p').lastChild; // "\n gamma delta"
		const r2 = document.createRange();
		r2.setStart(root2.querySelector('p').firstChild, 'Alpha 😀 '.length);
		r2.setEnd(tn, '\n gamma'.length);
		const t2 = await map2.targetFromRange(r2);
		const m2 = await map2.highlight(13, 18, { class: 't' });
		root2.remove();
		return { t, marked, t2, m2: m2.map((m) => m.textContent).join('|') };
	});
	assert.deepEqual(r.t2.selector[1], { type: 'TextPositionSelector', start: 8, end: 18 });
	assert.equal(r.t2.selector[0].exact, 'beta gamma');
	assert.equal(r.m2, 'gamma');
	const pos = r.t.selector[1];
	const quote = r.t.selector[0];
	assert.equal(quote.exact, '𝔅 said “co-op” 😀 twice [1]\n\nSecond 𝒳');
	assert.equal(pos.start, 6);
	assert.equal(pos.end, 6 + Array.from(quote.exact).length);
	assert.equal(quote.prefix, 'Owen 𝔄');
	assert.equal(quote.suffix, ' block here');
	assert.equal(r.marked, '𝔅| said “co-op” 😀 twice |[1]|Second 𝒳');
});

step('Bob selects a passage with the mouse and starts a thread', async () => {
	const bob = people.bob.page;
	// The first paragraph long enough: drag from its 5th to its 60th character.
	const box = await bob.evaluate(() => {
		const p = [...document.querySelectorAll('#chapter-text p[data-block]')]
			.find((x) => x.textContent.length > 120 && x.firstChild.nodeType === 3 && x.firstChild.length > 80);
		p.scrollIntoView({ block: 'center' });
		const t = p.firstChild;
		const r = document.createRange();
		r.setStart(t, 4); r.setEnd(t, 5);
		const a = r.getBoundingClientRect();
		r.setStart(t, 59); r.setEnd(t, 60);
		const b = r.getBoundingClientRect();
		return { x1: a.left + 1, y1: a.top + a.height / 2, x2: b.right - 1, y2: b.top + b.height / 2, want: t.data.slice(4, 60) };
	});
	await bob.mouse.move(box.x1, box.y1);
	await bob.mouse.down();
	await bob.mouse.move(box.x2, box.y2, { steps: 8 });
	await bob.mouse.up();
	await bob.waitForSelector('#start-thread:not([hidden])');
	await bob.click('#start-thread');
	// While he writes, the passage stays marked.
	await bob.waitForSelector('#chapter-text mark.hl-pending');
	const pending = await bob.evaluate(() => [...document.querySelectorAll('mark.hl-pending')].map((m) => m.textContent).join(''));
	assert.equal(pending, box.want.trim());
	await bob.fill('.composer textarea', 'Why **twenty-eight**? @car');
	await bob.waitForSelector('.mentions li:has-text("@carol")');
	await bob.keyboard.press('Enter');
	assert.equal(await bob.inputValue('.composer textarea'), 'Why **twenty-eight**? @carol ');
	// the preview is the server's rendering of the post (markdown.preview)
	await bob.click('.composer button:has-text("Preview")');
	await bob.waitForSelector('.composer .preview strong:has-text("twenty-eight")');
	assert.ok(!(await bob.textContent('.composer .preview')).includes('**'));
	await bob.click('.composer button:has-text("Write")');
	await bob.click('.composer button[type=submit]');
	await bob.waitForSelector('.thread .post .body strong:has-text("twenty-eight")');
	await bob.waitForSelector('#chapter-text mark.hl-pending', { state: 'detached' });
	const mark = await bob.waitForSelector('#chapter-text mark.hl[data-ann]');
	annId = Number(await mark.getAttribute('data-ann'));
	assert.ok(annId > 0);
	const marked = await bob.evaluate((id) => [...document.querySelectorAll(`mark[data-ann="${id}"]`)]
		.map((m) => m.textContent).join(''), annId);
	assert.equal(marked, box.want.trim());
	// The server stored the same passage (W3C export of the circle).
	const circleId = circleUrl.split('/').pop();
	const res = await people.bob.ctx.request.get(`${base()}/api/circles/${circleId}/annotations`);
	assert.equal(res.status(), 200);
	const col = await res.json();
	const items = col.first.items || [];
	const exact = JSON.stringify(items).includes(JSON.stringify(box.want.trim()));
	assert.ok(exact, 'the exported annotation quotes the selected words');
	await check(bob, 'thread-open');
});

step('Carol sees the thread arrive live, replies, reacts and flags', async () => {
	const carol = people.carol.page;
	const bob = people.bob.page;
	const m = await carol.waitForSelector(`#chapter-text mark[data-ann="${annId}"]`);
	await m.click();
	await carol.waitForSelector('.thread .post .body:has-text("twenty-eight")');
	await carol.fill('.composer textarea', 'Because there were *twenty-eight* members.');
	await carol.click('.composer button[type=submit]');
	await carol.waitForSelector('.replies .body em:has-text("twenty-eight")');
	await bob.waitForSelector('.replies .body em:has-text("twenty-eight")');
	await carol.click(`[data-post="annotation-${annId}"] [data-kind="insightful"]`);
	await carol.waitForSelector(`[data-post="annotation-${annId}"] [data-kind="insightful"][aria-pressed="true"]`);
	await bob.waitForSelector(`[data-post="annotation-${annId}"] [data-kind="insightful"] .n:text-is("1")`);
	if (process.env.UPDATE_SCREENSHOTS) {
		// The README's picture: Bob's reading view with the thread open.
		fs.mkdirSync(path.join(repo, 'docs/screenshots'), { recursive: true });
		await bob.mouse.move(5, 5);
		await bob.evaluate(() => { document.getElementById('toast').hidden = true; });
		await bob.screenshot({ path: path.join(repo, 'docs/screenshots/reading-view.png') });
		await bob.setViewportSize({ width: 360, height: 780 });
		await bob.evaluate(() => { document.querySelector('.toc details').open = false; });
		await bob.screenshot({ path: path.join(repo, 'docs/screenshots/reading-view-phone.png') });
		await bob.setViewportSize({ width: 1360, height: 900 });
		await bob.evaluate(() => { document.getElementById('toast').hidden = false; });
	}
	await carol.click(`[data-post="annotation-${annId}"] button:has-text("Flag")`);
	await carol.selectOption(`[data-post="annotation-${annId}"] .flag-form select`, 'off_topic');
	await carol.click(`[data-post="annotation-${annId}"] button:has-text("Send flag")`);
	await carol.waitForSelector(`[data-post="annotation-${annId}"] .ok`);
});

step('Bob edits; Olive pins and locks; Carol sees each change live', async () => {
	const { bob, carol, olive } = { bob: people.bob.page, carol: people.carol.page, olive: people.olive.page };
	const post = `[data-post="annotation-${annId}"]`;
	await bob.click(`${post} button:has-text("Edit")`);
	await bob.fill(`${post} textarea`, 'Why **twenty-eight** of them? @carol');
	await bob.click(`${post} button:has-text("Save")`);
	await carol.waitForSelector(`${post} .body:has-text("of them?")`);
	await carol.waitForSelector(`${post} .badge-edited`);
	await olive.goto(`${chapterUrl}?a=${annId}`);
	await olive.waitForSelector(`${post} button:has-text("Pin")`);
	await olive.click(`${post} button:has-text("Pin")`);
	await carol.waitForSelector(`${post} .badge-pinned`);
	await olive.click(`${post} button:has-text("Lock")`);
	await carol.waitForSelector('.notice:has-text("Locked")');
	await carol.waitForSelector('.composer textarea[disabled]');
	await olive.click(`${post} button:has-text("Unlock")`);
	await carol.waitForSelector('.composer textarea:not([disabled])');
});

step('Olive hides it from the queue and both views update', async () => {
	const olive = people.olive.page;
	await olive.goto(`${circleUrl}/mod`);
	await olive.waitForSelector('.flag button:has-text("Hide")');
	await check(olive, 'moderation');
	await olive.click('.flag button:has-text("Hide")');
	await olive.waitForSelector('text=Nothing waiting.');
	await people.carol.page.waitForSelector(`[data-post="annotation-${annId}"] .placeholder:has-text("Hidden")`);
	await people.carol.page.waitForSelector(`mark.hl-hidden[data-ann="${annId}"]`);
	await people.bob.page.waitForSelector(`[data-post="annotation-${annId}"] .badge-hidden`);
	await olive.waitForSelector('.list[aria-label="Audit log"] li');
});

step('after a server restart the pages reconnect and stay live', async () => {
	const { bob, carol } = { bob: people.bob.page, carol: people.carol.page };
	await killServer();
	await bob.waitForSelector('#conn[data-state="reconnecting"]');
	await carol.waitForSelector('#conn[data-state="reconnecting"]');
	await startServer();
	await online(bob);
	await online(carol);
	await bob.fill('.composer textarea', 'Still here after the restart.');
	await bob.click('.composer button[type=submit]');
	await carol.waitForSelector('.replies .body:has-text("after the restart")');
	await bob.waitForSelector('.replies .body:has-text("after the restart")');
});

step('a dropped connection catches up with since_seq', async () => {
	const { bob, carol } = { bob: people.bob.page, carol: people.carol.page };
	gate.shut = true;
	for (const ws of gate.open.splice(0))
		await ws.close({ code: 1001, reason: 'test drops the connection' });
	await carol.waitForSelector('#conn[data-state="reconnecting"]');
	await bob.fill('.composer textarea', 'Posted while Carol was away.');
	await bob.click('.composer button[type=submit]');
	await bob.waitForSelector('.replies .body:has-text("while Carol was away")');
	assert.equal(await carol.locator('.replies .body:has-text("while Carol was away")').count(), 0);
	gate.shut = false;
	await online(carol);
	await carol.waitForSelector('.replies .body:has-text("while Carol was away")');
});

step('account, inbox and search screens pass axe', async () => {
	// Reading saved progress: the plan's chart shows both readers in the
	// first chapter, and the circle list shows Bob's own progress.
	await people.bob.page.click('#mark-read');
	await people.bob.page.waitForSelector('#mark-read[hidden]', { state: 'attached' });
	const olive = people.olive.page;
	await olive.goto(circleUrl);
	const chs0 = await chapterIds(olive);
	await olive.waitForSelector(`.plan li[data-chapter="${chs0[0]}"] .plan-bar .meta:text-matches("^[123]/3$")`);
	const carol = people.carol.page;
	await carol.waitForSelector('#unread:not([hidden])');
	await carol.goto(`${base()}/#/inbox`);
	await carol.waitForSelector('.inbox li:has-text("mentioned you")');
	await check(carol, 'inbox');
	await carol.goto(`${base()}/#/account`);
	await carol.waitForSelector('.list[aria-label="Sessions"] li');
	await check(carol, 'account');
	const bob = people.bob.page;
	await bob.goto(`${base()}/#/`);
	await bob.waitForSelector('.circle .progress .label:text-matches("Your progress: [1-9]")');
	await check(bob, 'circles-member');
	await bob.goto(`${base()}/#/inbox`);
	await bob.waitForSelector('.inbox li:has-text("replied")');
	await bob.goto(`${base()}/#/search?c=${circleUrl.split('/').pop()}&q=restart`);
	await bob.waitForSelector('.results li a');
	await check(bob, 'search');
	await bob.click('.results li a');
	await bob.waitForSelector(`.thread .post`);
	await bob.waitForSelector(`mark.active[data-ann="${annId}"]`);
});

step('footnotes go and come back; tables scroll on a phone', async () => {
	const bob = people.bob.page;
	await bob.goto(chapterUrl);
	await bob.waitForSelector('#chapter-text [data-block]');
	const before = bob.url();
	await bob.click('.toc-list a:has-text("Introduction")');
	// wait for the navigation itself: the chapter we came from has note
	// references too, so the selector alone can match the old page
	await bob.waitForFunction((u) => location.href !== u, before);
	await bob.waitForFunction(() => [...document.querySelectorAll('h1')]
		.some((x) => x.textContent.includes('Introduction')));
	// contents: parts, and chapter numbers once
	await bob.waitForSelector('.toc-part .part-title:has-text("Part Two")');
	assert.equal(await bob.locator('.toc-list a:text-is("4. Twenty-Eight Pounds and a Warehouse in Toad Lane")').count(), 1);
	await check(bob, 'reader-footnotes');
	const ref = await bob.waitForSelector('#chapter-text .noteref a');
	const url = bob.url();
	const noteText = await bob.evaluate(() => {
		const a = document.querySelector('#chapter-text .noteref a');
		const n = document.getElementById(decodeURIComponent(a.getAttribute('href').slice(1)));
		return [...n.childNodes].filter((x) => !(x.classList && x.classList.contains('note-label')))
			.map((x) => x.textContent).join('').trim().slice(0, 40);
	});
	// the marker opens the note in a popover...
	await ref.click();
	await bob.waitForSelector('#note-pop:focus');
	assert.ok((await bob.textContent('#note-pop')).includes(noteText));
	await check(bob, 'note-popover');
	await bob.keyboard.press('Escape');
	await bob.waitForSelector('#note-pop', { state: 'detached' });
	assert.ok(await bob.evaluate(() => document.activeElement.closest('.noteref') !== null), 'focus is back on the marker');
	// ... from the keyboard too, and "Go to the note" jumps
	await bob.keyboard.press('Enter');
	await bob.waitForSelector('#note-pop:focus');
	await bob.click('#note-pop button:has-text("Go to the note")');
	await bob.waitForFunction(() => document.activeElement && document.activeElement.classList.contains('note'));
	assert.equal(bob.url(), url, 'the router hash is untouched');
	await bob.click(':focus .note-label');
	await bob.waitForFunction(() => document.activeElement && document.activeElement.classList.contains('noteref'));
	await bob.click('.toc-list a:has-text("A Note on Dates")');
	await bob.waitForSelector('#chapter-text .table-wrap table');
	await bob.setViewportSize({ width: 360, height: 780 });
	const scrolls = await bob.evaluate(() => {
		const w = document.querySelector('.table-wrap');
		return w.scrollWidth > w.clientWidth && document.documentElement.scrollWidth <= 360;
	});
	assert.ok(scrolls, 'the table scrolls inside its box, the page does not');
	await bob.evaluate(() => document.querySelector('.table-wrap').scrollIntoView({ block: 'center' }));
	await bob.screenshot({ path: path.join(artifacts, 'table-phone.png') });
	await axe(bob, 'table-phone');
});

step('a passage can be selected with the keyboard alone', async () => {
	const carol = people.carol.page;
	await carol.goto(chapterUrl);
	await carol.waitForSelector('#chapter-text [data-block]');
	await carol.focus('#kbd-select');
	await carol.keyboard.press('Enter');
	await carol.waitForSelector('#chapter-text.kbd-mode:focus');
	await axe(carol, 'keyboard-selection');
	for (let i = 0; i < 6; i++)
		await carol.keyboard.press('Shift+ArrowRight');
	await carol.keyboard.press('Enter');
	await carol.waitForSelector('#panel .quote');
	const quote = await carol.textContent('#panel .quote');
	const first = await carol.evaluate(() => document.querySelector('#chapter-text [data-block]').textContent.slice(0, 6));
	assert.equal(quote, first);
	assert.equal(await carol.evaluate(() => document.activeElement.tagName), 'TEXTAREA');
	await carol.keyboard.type('Typed without a mouse.');
	await carol.keyboard.press('Control+Enter');
	await carol.waitForSelector('.thread .body:has-text("without a mouse")');
	assert.equal(await carol.getAttribute('#chapter-text', 'contenteditable'), null);
});

// Calls the server as the signed-in person of a page, through the app's
// own connection (the module instance the app uses).
async function rpcIn(page, method, params) {
	return page.evaluate(async ([m, p]) => {
		const { rpc } = await import('/js/state.js');
		return rpc.call(m, p);
	}, [method, params]);
}

async function listCalls() {
	const r = await fetch(`${base()}/metrics`);
	const m = /scholia_rpc_calls_total\{method="annotation\.list"\} (\d+)/.exec(await r.text());
	return m ? Number(m[1]) : 0;
}

async function chapterIds(page) {
	const circle = Number(circleUrl.split('/').pop());
	const c = await rpcIn(page, 'circle.get', { circle });
	const t = await rpcIn(page, 'book.toc', { book: c.book.id ?? c.book });
	return t.parts.flatMap((p) => p.chapters.map((x) => x.id));
}

step('five open pages apply 20 posts from their events: no annotation.list per post', async () => {
	const olive = people.olive.page;
	const circle = Number(circleUrl.split('/').pop());
	const chs = await chapterIds(olive);
	const url = `${base()}/#/read/${circle}/${chs[1]}`;
	const pages = [];
	for (const key of ['bob', 'bob', 'carol', 'carol', 'carol']) {
		const p = await people[key].ctx.newPage();
		p.setDefaultTimeout(TIMEOUT);
		p.on('pageerror', (e) => { serverLog += `[${key} extra pageerror] ${e.message}\n`; });
		await p.goto(url);
		await p.waitForSelector('#panel h2:has-text("Discussion (0)")');
		await online(p);
		pages.push(p);
	}
	await olive.goto(circleUrl);
	await online(olive);
	const before = await listCalls();
	// 10 threads, 6 replies and 4 reactions: 20 posts by another member
	const made = [];
	for (let i = 0; i < 10; i++)
		made.push(await rpcIn(olive, 'annotation.create', {
			circle, chapter: chs[1], target: null, body: `Live thread **${i}**`, visibility: 'circle',
		}));
	for (let i = 0; i < 6; i++)
		await rpcIn(olive, 'reply.create', { annotation: made[i % 2].id, body: `reply ${i}` });
	for (const k of ['agree', 'insightful', 'question', 'disagree'])
		await rpcIn(olive, 'reaction.toggle', { target: { annotation: made[0].id }, kind: k });
	// cards show the rendered words, not the Markdown source
	await pages[0].waitForSelector('#panel h2:has-text("Discussion (10)")');
	const snips = await pages[0].$$eval('#panel .snip', (xs) => xs.map((x) => x.textContent));
	assert.ok(snips.includes('Live thread 0'), snips.join(' | '));
	for (const p of pages) {
		await p.waitForSelector('#panel h2:has-text("Discussion (10)")');
		await p.waitForSelector(`#panel .thread-link[data-ann="${made[0].id}"] .who:has-text("3 replies")`);
	}
	// an open thread follows too: replies and reactions arrive in place
	await pages[0].click(`#panel .thread-link[data-ann="${made[1].id}"]`);
	await pages[0].waitForSelector('.replies li', { state: 'attached' });
	await rpcIn(olive, 'reply.create', { annotation: made[1].id, body: 'one more, *live*' });
	await pages[0].waitForSelector('.replies .body em:has-text("live")');
	await rpcIn(olive, 'annotation.update', { annotation: made[1].id, body: 'Live thread edited' });
	await pages[0].waitForSelector(`[data-post="annotation-${made[1].id}"] .body:has-text("edited")`);
	const after = await listCalls();
	assert.equal(after - before, 0, 'annotation.list calls while 5 pages received 22 posts');
	for (const p of pages)
		await p.close();
});

step('the circle links its exports and shows a chapter\'s meeting digest', async () => {
	const olive = people.olive.page;
	const circle = Number(circleUrl.split('/').pop());
	const chs = await chapterIds(olive);
	await people.olive.ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base() });
	await olive.goto(circleUrl);
	await olive.waitForSelector('#export-md');
	for (const [sel, type, want] of [['#export-w3c', 'json', 'AnnotationCollection'], ['#export-md', 'markdown', 'Live thread']]) {
		const href = await olive.getAttribute(sel, 'href');
		assert.ok(await olive.getAttribute(sel, 'download'));
		const res = await people.olive.ctx.request.get(`${base()}${href}`);
		assert.equal(res.status(), 200, href);
		assert.match(res.headers()['content-type'], new RegExp(type));
		assert.ok((await res.text()).includes(want), `${href} holds ${want}`);
	}
	await olive.selectOption('#digest-chapter', String(chs[1]));
	await olive.click('#open-digest');
	await olive.waitForSelector('#digest h1:has-text("Meeting digest")');
	await olive.waitForSelector('#digest :text("Live thread edited")');
	assert.equal(await olive.locator('#digest pre').count(), 0, 'rendered, not raw');
	await check(olive, 'digest');
	await olive.click('#copy-digest');
	await olive.waitForSelector('#toast:has-text("copied")');
	const copied = await olive.evaluate(() => navigator.clipboard.readText());
	assert.match(copied, /^# Meeting digest/);
	const dl = await olive.getAttribute('#download-digest', 'href');
	assert.equal(dl, `/api/circles/${circle}/digest.md?chapter=${chs[1]}`);
	assert.match(await olive.getAttribute('#download-digest', 'download'), /\.md$/);
});

step('progress is the furthest point read: looking back keeps it, peeking ahead keeps threads withheld', async () => {
	const olive = people.olive.page;
	const carol = people.carol.page;
	const circle = Number(circleUrl.split('/').pop());
	const chs = await chapterIds(olive);
	await rpcIn(olive, 'circle.update', { circle, spoiler_guard: true });
	await rpcIn(olive, 'annotation.create', {
		circle, chapter: chs[3], target: null, body: 'A twist in chapter four', visibility: 'circle',
	});
	// peeking ahead: the text is there, the thread is withheld and counted
	await carol.goto(`${base()}/#/read/${circle}/${chs[3]}`);
	await carol.waitForSelector('#chapter-text [data-block]');
	await carol.waitForSelector('#withheld:has-text("1 thread by others waiting, shown once you have read this chapter")');
	await carol.waitForSelector('#progress-note:has-text("ahead of your progress")');
	await check(carol, 'reader-withheld');
	const before = await rpcIn(carol, 'circle.get', { circle });
	// marking it read releases the thread
	await carol.click('#mark-read');
	await carol.waitForSelector('#panel .thread-link:has-text("A twist in chapter four")');
	await carol.waitForSelector('#withheld', { state: 'detached' });
	const me = (await rpcIn(carol, 'circle.get', { circle })).me;
	assert.equal(me.progress.chapter, chs[3]);
	assert.equal(me.progress.block, null);
	assert.notEqual(before.me.progress && before.me.progress.chapter, chs[3]);
	// re-opening chapter one (and reading there) does not lower it
	await carol.goto(`${base()}/#/read/${circle}/${chs[0]}`);
	await carol.waitForSelector('#chapter-text [data-block]');
	await carol.waitForSelector('#progress-note:has-text("You have read this chapter")');
	await carol.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
	await carol.goto(`${base()}/#/`);
	await carol.waitForSelector('.circle .progress .label:has-text("Your progress: 4 of")');
	await carol.goto(`${base()}/#/read/${circle}/${chs[3]}`);
	await carol.waitForSelector('#panel .thread-link:has-text("A twist in chapter four")');
	// the plan's bars use the same value
	await carol.goto(circleUrl);
	await carol.waitForSelector(`.plan li[data-chapter="${chs[3]}"] .plan-bar .meta:text-matches("^[1-9]/")`);
	await carol.waitForSelector(`.plan li.current[data-chapter="${chs[4]}"] .badge-current`);
	// a deliberate rewind moves it back and withholds again
	await carol.goto(`${base()}/#/read/${circle}/${chs[1]}`);
	await carol.waitForSelector('#rewind:not([hidden])');
	await carol.click('#rewind');
	await carol.waitForSelector('#rewind[hidden]', { state: 'attached' });
	await carol.goto(`${base()}/#/read/${circle}/${chs[3]}`);
	await carol.waitForSelector('#withheld:has-text("1 thread by others")');
	await rpcIn(olive, 'circle.update', { circle, spoiler_guard: false });
});
// The organiser's dashboard and meeting mode (issue 20): organiser.mjs.
organiserSteps({ step, people, base, circleUrl: () => circleUrl, check,
	repo, artifacts });

step('a reset link from the command line sets a new password', async () => {
	const r = spawnSync(bin, ['admin', 'reset-link', '--db', dbPath,
		'--handle', 'olive'], { env, encoding: 'utf8' });
	assert.equal(r.status, 0, r.stderr);
	const m = /#\/reset\/([A-Za-z0-9_-]+)/.exec(r.stdout);
	assert.ok(m, `no reset link in: ${r.stdout}`);
	const page = await newPerson('olive2');
	await page.goto(`${base()}/#/reset/${m[1]}`);
	await page.waitForSelector('input[name=password2]');
	await axe(page, 'reset');
	await page.fill('input[name=password]', 'quince harbour signal 38');
	await page.fill('input[name=password2]', 'quince harbour signal 38');
	await page.click('form button[type=submit]');
	await page.waitForSelector('p[role=status]:has-text("Your password is set")');
	// the link is spent: a second use is refused on screen
	await page.reload();
	await page.waitForSelector('input[name=password2]');
	await page.fill('input[name=password]', 'another garden lamp 12');
	await page.fill('input[name=password2]', 'another garden lamp 12');
	await page.click('form button[type=submit]');
	await page.waitForSelector('p.error:not(:empty)');
	// and the new password signs in
	await page.goto(`${base()}/#/signin`);
	await page.fill('input[name=handle]', 'olive');
	await page.fill('input[name=password]', 'quince harbour signal 38');
	await page.click('form button[type=submit]');
	await online(page);
	await page.waitForSelector('nav.main');
});
