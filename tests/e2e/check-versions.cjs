#!/usr/bin/env node
// Checks, before any test runs, that the browser tests can start on this
// machine: Node.js is new enough for the installed playwright-core (its
// package.json "engines"), and /usr/bin/chromium is at least the Chromium
// release that playwright-core was built against (browsers.json; newer
// releases speak the same DevTools protocol). Exits 1 with the reason
// otherwise, so that scripts/test.sh fails loudly instead of skipping the
// browser tests. Plain CommonJS with no dependencies, so that it runs (and
// explains) on any Node.js that a machine may have.
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const CHROMIUM = process.env.SCHOLIA_CHROMIUM || '/usr/bin/chromium';
const here = __dirname;
const pwDir = path.join(here, 'node_modules', 'playwright-core');
const problems = [];

function major(v) {
	const m = /(\d+)(?:\.\d+)*/.exec(String(v));
	return m ? Number(m[1]) : NaN;
}

const nodeMajor = major(process.versions.node);
let pw = null;
try {
	pw = JSON.parse(fs.readFileSync(path.join(pwDir, 'package.json'), 'utf8'));
} catch (e) {
	problems.push('playwright-core is not installed in tests/e2e/node_modules'
		+ ' (run: cd tests/e2e && npm ci)');
}

let pwChromium = NaN;
if (pw) {
	const engines = (pw.engines && pw.engines.node) || '';
	const need = /^>=\s*(\d+)/.exec(engines);
	if (need && nodeMajor < Number(need[1]))
		problems.push('playwright-core ' + pw.version + ' needs Node.js '
			+ engines + ' but this is Node.js ' + process.versions.node
			+ ' (tests/e2e/package.json must pin a playwright-core'
			+ ' whose engines accept the Node.js Debian ships)');
	else if (!need && engines)
		problems.push('cannot read playwright-core engines "' + engines + '"');
	try {
		const b = JSON.parse(fs.readFileSync(path.join(pwDir, 'browsers.json'),
			'utf8'));
		const c = b.browsers.find((x) => x.name === 'chromium');
		pwChromium = major(c.browserVersion);
	} catch (e) {
		problems.push('cannot read playwright-core browsers.json: ' + e.message);
	}
}

let chromium = '';
try {
	chromium = execFileSync(CHROMIUM, ['--version'],
		{ encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 30000 });
} catch (e) {
	problems.push(CHROMIUM + ' does not run (' + e.message.split('\n')[0]
		+ '; install Debian\'s chromium package)');
}
const chromiumMajor = major((/Chromium\s+([\d.]+)/.exec(chromium) || [])[1]);
if (chromium && Number.isNaN(chromiumMajor))
	problems.push('cannot read the version of ' + CHROMIUM + ' from "'
		+ chromium.trim() + '"');
else if (chromium && !Number.isNaN(pwChromium) && chromiumMajor < pwChromium)
	problems.push(CHROMIUM + ' is Chromium ' + chromiumMajor
		+ ', older than the Chromium ' + pwChromium + ' that playwright-core '
		+ pw.version + ' drives (pin an older playwright-core in'
		+ ' tests/e2e/package.json)');

if (problems.length) {
	console.error('e2e: the browser tests cannot run here:');
	for (const p of problems)
		console.error('  - ' + p);
	process.exit(1);
}
console.log('e2e: Node.js ' + process.versions.node + ', playwright-core '
	+ pw.version + ' (Chromium ' + pwChromium + '), ' + CHROMIUM + ' '
	+ chromiumMajor);
