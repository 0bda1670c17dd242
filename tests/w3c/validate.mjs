#!/usr/bin/env node
/*
 * validate.mjs - checks a JSON document against the W3C Web Annotation
 * conformance schemas vendored in annotation-model/ next to this file (no
 * network; see annotation-model/PROVENANCE.md and license.md).
 *
 * Usage:
 *   node validate.mjs annotation|collection|page [PATH]     (stdin if no PATH
 *                                                            or PATH is "-")
 *
 * The schemas are the W3C annotation-model test suite: draft-04 JSON
 * schemas in definitions/ that the assertion files $ref by their id, and
 * one assertion schema per file, listed by the MUST manifests
 * annotations/annotationMusts.test, collections/collectionMusts.test and
 * collections/pages/pageMusts.test. Each assertion carries extra keywords
 * (hence strict:false): assertionType must|should|may and expectedResult
 * valid|invalid. An assertion holds when the document's validity equals
 * expectedResult; a "must" assertion that does not hold is a failure (exit
 * 1), a "should"/"may" one only a warning.
 *
 * A collection whose `first` is an embedded AnnotationPage also has that
 * page checked as a page, and every annotation in a page's `items` is
 * checked as an annotation. Embedded objects inherit the @context of the
 * document that holds them (JSON-LD), so an embedded page or item without
 * its own @context is checked with its container's.
 *
 * The schema folder is $SCHOLIA_W3C_DIR if set (a test points it at a
 * modified copy), else tests/w3c/annotation-model in this repository.
 *
 * Exit status: 0 every MUST assertion holds, 1 one failed (listed on
 * stdout), 2 usage, unreadable input or missing schemas.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Ajv04 from "ajv-draft-04";
import addFormats from "ajv-formats";

const here = path.dirname(fileURLToPath(import.meta.url));

function modelDir() {
	const cands = [];
	if (process.env.SCHOLIA_W3C_DIR)
		cands.push(process.env.SCHOLIA_W3C_DIR);
	cands.push(path.join(here, "annotation-model"));
	for (const c of cands)
		if (fs.existsSync(path.join(c, "definitions")))
			return c;
	throw new Error("w3c-annotation-model not found; tried " +
			cands.join(", "));
}

const MANIFESTS = {
	annotation: "annotations/annotationMusts.test",
	collection: "collections/collectionMusts.test",
	page: "collections/pages/pageMusts.test",
};

function readJson(file) {
	return JSON.parse(fs.readFileSync(file, "utf8"));
}

/* One Ajv with every definition added, and the assertions of each kind
 * compiled once. */
function loadValidators(dir) {
	const ajv = new Ajv04({ strict: false, allErrors: true,
				validateSchema: false });
	addFormats(ajv);
	const defs = path.join(dir, "definitions");
	for (const f of fs.readdirSync(defs).sort())
		if (f.endsWith(".json"))
			ajv.addSchema(readJson(path.join(defs, f)));
	const kinds = {};
	for (const [kind, manifest] of Object.entries(MANIFESTS)) {
		const list = readJson(path.join(dir, manifest)).assertions;
		kinds[kind] = list.map((rel) => {
			const schema = readJson(path.join(dir, rel));
			return {
				file: rel,
				type: schema.assertionType || "must",
				expected: schema.expectedResult || "valid",
				message: schema.errorMessage || schema.title,
				validate: ajv.compile(schema),
			};
		});
	}
	return kinds;
}

function withContext(obj, context) {
	if (obj === null || typeof obj !== "object" || Array.isArray(obj))
		return obj;
	if (obj["@context"] !== undefined || context === undefined)
		return obj;
	return { "@context": context, ...obj };
}

/* Checks doc as kind; pushes {where, kind, file, type, message} for each
 * assertion that does not hold, and recurses into embedded pages/items. */
function check(kinds, kind, doc, where, out) {
	for (const a of kinds[kind]) {
		const valid = a.validate(doc) === true;
		const holds = valid === (a.expected === "valid");
		if (!holds)
			out.push({ where, kind, file: a.file, type: a.type,
				   message: a.message,
				   errors: a.validate.errors || [] });
	}
	if (doc === null || typeof doc !== "object")
		return;
	const ctx = doc["@context"];
	if (kind === "collection" && doc.first && typeof doc.first === "object"
	    && !Array.isArray(doc.first))
		check(kinds, "page", withContext(doc.first, ctx),
		      where + ".first", out);
	if (kind === "page" && Array.isArray(doc.items))
		doc.items.forEach((it, i) => {
			if (it && typeof it === "object")
				check(kinds, "annotation", withContext(it, ctx),
				      `${where}.items[${i}]`, out);
		});
}

function main(argv) {
	const kind = argv[0];
	if (!MANIFESTS[kind] || argv.length > 2) {
		process.stderr.write("usage: node validate.mjs " +
			"annotation|collection|page [PATH|-]\n");
		return 2;
	}
	let doc, kinds;
	try {
		const src = argv[1] && argv[1] !== "-" ?
			fs.readFileSync(argv[1], "utf8") :
			fs.readFileSync(0, "utf8");
		doc = JSON.parse(src);
	} catch (e) {
		process.stderr.write(`cannot read the document: ${e.message}\n`);
		return 2;
	}
	try {
		kinds = loadValidators(modelDir());
	} catch (e) {
		process.stderr.write(`cannot load the schemas: ${e.message}\n`);
		return 2;
	}
	const failures = [];
	check(kinds, kind, doc, "$", failures);
	let musts = 0;
	for (const f of failures) {
		const level = f.type === "must" ? "FAIL" : "warn";
		if (f.type === "must")
			musts++;
		console.log(`${level} ${f.where} (${f.kind}) ${f.file}: ` +
			    `${f.message}`);
		for (const e of f.errors.slice(0, 3))
			console.log(`    ${e.instancePath || "/"} ${e.message}`);
	}
	if (musts) {
		console.log(`${musts} MUST assertion(s) failed`);
		return 1;
	}
	console.log(`ok: ${kind} passes every MUST assertion`);
	return 0;
}

process.exitCode = main(process.argv.slice(2));
