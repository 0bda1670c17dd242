// organiser.mjs - the organiser's screens in the browser (issue 20), as
// steps of run.mjs's flow (same server, same three people): Olive's
// dashboard draws its two uPlot charts with their tables (screenshot
// docs/screenshots/dashboard.png with UPDATE_SCREENSHOTS=1), then a
// meeting: Olive schedules it and builds the agenda from the suggestions,
// Carol follows in a second browser - the current thread opens on her
// screen when Olive starts, her raised hand reaches Olive live, and the
// outcome Olive posts appears in the thread on Carol's screen. axe (no
// serious or critical violations) on each new screen, light and dark.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

// t: {step, people, base, circleUrl, check, repo, artifacts}
export function organiserSteps(t) {
	const circleId = () => Number(t.circleUrl().split('/').pop());

	t.step('the dashboard draws its charts, each with a table behind it', async () => {
		const olive = t.people.olive.page;
		await olive.goto(`${t.base()}/#/circle/${circleId()}/dashboard`);
		await olive.waitForSelector('.dashboard[data-ready="true"]');
		await olive.waitForSelector('[data-chart="progress"] canvas');
		await olive.waitForSelector('[data-chart="activity"] canvas');
		// the pictures are hidden from screen readers; the tables are not
		assert.equal(await olive.getAttribute('[data-chart="progress"]', 'aria-hidden'), 'true');
		const rows = await olive.$$eval('#progress-table tbody tr', (r) => r.length);
		assert.equal(rows, 3, 'a line per member for the owner');
		// the canvas holds a drawing (not a blank box)
		const inked = await olive.evaluate(() => {
			const c = document.querySelector('[data-chart="activity"] canvas');
			const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
			let n = 0;
			for (let i = 3; i < d.length; i += 4)
				n += d[i] > 0;
			return n;
		});
		assert.ok(inked > 500, `the activity chart is drawn (${inked} pixels)`);
		await olive.click('button[aria-controls="progress-table"]');
		await olive.waitForSelector('#progress-table:not(.sr-only)');
		await olive.click('button[aria-controls="progress-table"]');
		await olive.screenshot({ path: path.join(t.artifacts, 'dashboard-full.png'), fullPage: true });
		if (process.env.UPDATE_SCREENSHOTS === '1')
			await olive.screenshot({ path: path.join(t.repo, 'docs/screenshots/dashboard.png'), fullPage: true });
		await t.check(olive, 'dashboard');
		// a member sees only their own line
		const bob = t.people.bob.page;
		await bob.goto(`${t.base()}/#/circle/${circleId()}/dashboard`);
		await bob.waitForSelector('.dashboard[data-ready="true"]');
		assert.equal(await bob.$$eval('#progress-table tbody tr', (r) => r.length), 1);
	});

	let meetingUrl = '';
	let item = 0;

	t.step('the owner schedules a meeting and builds its agenda', async () => {
		// a fresh thread for the agenda, written by Bob through the app's
		// own connection
		const bob = t.people.bob.page;
		await bob.evaluate(async (circle) => {
			const { rpc } = await import('/js/state.js');
			const plan = await rpc.call('plan.get', { circle });
			await rpc.call('annotation.create', { circle, chapter: plan.entries[0].chapter,
				target: null, body: 'What would we ask the Pioneers tonight?', visibility: 'circle' });
		}, circleId());
		const olive = t.people.olive.page;
		await olive.goto(`${t.base()}/#/circle/${circleId()}/meetings`);
		await olive.waitForSelector('.meetings[data-ready="true"]');
		await olive.fill('#mt-title', 'January meeting');
		await olive.fill('#mt-at', '2030-01-16T19:30');
		await olive.click('form button:has-text("Schedule")');
		await olive.waitForSelector('.meeting[data-ready="true"] h1:has-text("January meeting")');
		meetingUrl = olive.url();
		await olive.click('section[aria-label^="Suggested"] li:has-text("What would we ask") button:has-text("Add to agenda")');
		await olive.waitForSelector('.agenda .agenda-item');
		await t.check(olive, 'meeting-owner');
	});

	t.step('a member follows the meeting live in a second browser', async () => {
		const olive = t.people.olive.page;
		const carol = t.people.carol.page;
		await carol.goto(meetingUrl);
		await carol.waitForSelector('.meeting[data-ready="true"]');
		await carol.waitForSelector('#current:has-text("Nothing yet")');
		await carol.check('#mt-present');
		await olive.waitForSelector('#attendees:has-text("Carol")');
		await olive.click('button:has-text("Start the meeting")');
		// Carol's screen opens the thread now discussed
		await carol.waitForSelector('#current .body:has-text("What would we ask the Pioneers tonight?")');
		item = Number(await carol.getAttribute('.meeting', 'data-current'));
		assert.ok(item > 0);
		await carol.waitForSelector('.agenda-item.is-current[aria-current="true"]');
		await carol.click('#mt-hand');
		await olive.waitForSelector('.hands li:has-text("Carol")');
		await t.check(carol, 'meeting-member');
		await olive.fill(`#oc-${item}`, 'We will write to the Co-operative archive.');
		await olive.click(`#oc-${item} + button`);
		await carol.waitForSelector('#current .replies li.outcome:has-text("write to the Co-operative archive")');
		await olive.click('.hands li:has-text("Carol") button:has-text("Lower")');
		await carol.waitForSelector('#mt-hand:has-text("Raise my hand")');
	});
}
