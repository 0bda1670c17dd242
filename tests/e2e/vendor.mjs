// Vendors Apache Annotator (@apache-annotator/dom and /selector, Apache-2.0)
// into web/vendor/apache-annotator/ as plain ES modules the browser loads
// without a bundler. The npm build of 0.2.0 is compiled by Babel against
// @babel/runtime-corejs3 (CommonJS polyfills a browser cannot import), so we
// take the library's own TypeScript sources from the published source maps
// (sourcesContent), strip the types with TypeScript's transpileModule
// (ES2020: native async generators, no helpers), and rewrite every import to
// a relative path ending in .js. css.ts (needs optimal-select) is left out;
// each package gets a small index.js without it.
//
// Run: cd tests/e2e && npm ci && node vendor.mjs
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, '../../web/vendor/apache-annotator');
const pkgs = ['selector', 'dom'];
const skip = new Set(['css.ts', 'optimal-select.d.ts', 'index.ts']);

fs.rmSync(out, { recursive: true, force: true });
for (const pkg of pkgs) {
	const root = path.join(here, 'node_modules/@apache-annotator', pkg);
	const lib = path.join(root, 'lib');
	const dest = path.join(out, pkg);
	const version = JSON.parse(
		fs.readFileSync(path.join(root, 'package.json'))).version;
	const walk = (dir) => fs.readdirSync(dir, { withFileTypes: true })
		.flatMap((e) => e.isDirectory() ? walk(path.join(dir, e.name))
			: [path.join(dir, e.name)]);
	for (const map of walk(lib).filter((f) => f.endsWith('.js.map'))) {
		const m = JSON.parse(fs.readFileSync(map, 'utf8'));
		const srcRel = path.relative('../src', path.join(
			path.dirname(path.relative(lib, map)), m.sources[0]))
			.replace(/^(\.\.\/)+src\//, '');
		const base = path.basename(srcRel);
		if (srcRel.endsWith('.d.ts') || srcRel === 'types.ts')
			continue;
		const rel = path.relative(lib, map).replace(/\.js\.map$/, '.js');
		if (skip.has(base) && path.dirname(rel) === '.')
			continue;
		let js = ts.transpileModule(m.sourcesContent[0], {
			compilerOptions: {
				target: ts.ScriptTarget.ES2020,
				module: ts.ModuleKind.ESNext,
				removeComments: false,
				importsNotUsedAsValues: 'remove',
			},
			fileName: base,
		}).outputText;
		const depth = path.dirname(rel) === '.' ? '' : '../';
		js = js.replace(/(from\s+|import\s+)(['"])([^'"]+)\2/g,
			(all, kw, q, spec) => {
				if (spec === '@apache-annotator/selector')
					spec = depth + '../selector/index.js';
				else if (spec === '.' || spec === '..')
					spec += '/index.js';
				else if (spec.startsWith('.') && !spec.endsWith('.js'))
					spec += '.js';
				else if (!spec.startsWith('.'))
					throw new Error(`${rel}: bare import ${spec}`);
				return kw + q + spec + q;
			});
		const file = path.join(dest, rel);
		fs.mkdirSync(path.dirname(file), { recursive: true });
		fs.writeFileSync(file, `// Vendored from @apache-annotator/${pkg} ${version} ` +
			`(Apache-2.0) by tests/e2e/vendor.mjs; do not edit.\n` + js);
	}
	const index = pkg === 'selector'
		? "export * from './text/index.js';\n"
		: ["range", "text-quote", "text-position"].map(
			(d) => `export * from './${d}/index.js';\n`).join('') +
		  "export * from './highlight-text.js';\n";
	fs.writeFileSync(path.join(dest, 'index.js'),
		`// Entry point written by tests/e2e/vendor.mjs (css.js left out).\n` + index);
	for (const f of ['LICENSE', 'NOTICE'])
		fs.copyFileSync(path.join(root, f), path.join(dest, f));
}
console.log('vendored into', out);
