// anchor.js - between DOM ranges in the rendered chapter and W3C selectors
// counted in Unicode code points of chapter.get's `text`.
//
// Each block element of the chapter HTML carries data-block; chapter.get's
// blocks [{id, start, end}] say where that block's text sits in `text`.
// Apache Annotator (web/vendor) converts between a DOM range inside one block
// element and code-point offsets of that element's text (describeTextPosition
// / createTextPositionSelectorMatcher) and wraps ranges in <mark>
// (highlightText). Where the element's text is not exactly the block's text
// (footnote markers, whitespace), an alignment maps one onto the other.

import {
	describeTextPosition, createTextPositionSelectorMatcher, highlightText,
} from '../vendor/apache-annotator/dom/index.js';

const CONTEXT = 32; // prefix/suffix length in code points

// The first (or last) text node inside el, or null.
function edgeText(el, first) {
	const w = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
	let t = null;
	while (w.nextNode()) {
		t = w.currentNode;
		if (first)
			break;
	}
	return t;
}

export class ChapterMap {
	// root: element holding the chapter html; chapter: chapter.get result.
	constructor(root, chapter) {
		this.root = root;
		this.cps = Array.from(chapter.text || '');
		this.blocks = (chapter.blocks || []).map((b) => ({ ...b }));
		this.byId = new Map(this.blocks.map((b) => [String(b.id), b]));
		this.align = new Map();
	}

	element(block) {
		return this.root.querySelector(
			`[data-block="${CSS.escape(String(block.id))}"]`);
	}

	blockOfNode(node) {
		const el = (node.nodeType === 1 ? node : node.parentElement)
			?.closest('[data-block]');
		if (!el || !this.root.contains(el))
			return null;
		return this.byId.get(el.dataset.block) || null;
	}

	// For a block: arrays mapping text-local -> dom-local offsets and back.
	alignment(block) {
		const key = String(block.id);
		if (this.align.has(key))
			return this.align.get(key);
		const el = this.element(block);
		const dom = el ? Array.from(el.textContent) : [];
		const txt = this.cps.slice(block.start, block.end);
		const t2d = new Array(txt.length + 1);
		const d2t = new Array(dom.length + 1);
		let i = 0, j = 0; // i in dom, j in txt
		const ws = (c) => /\s/.test(c);
		while (i < dom.length || j < txt.length) {
			if (i < dom.length && j < txt.length &&
			    (dom[i] === txt[j] || (ws(dom[i]) && ws(txt[j])))) {
				t2d[j] = i; d2t[i] = j; i++; j++;
				continue;
			}
			// Skip whatever realigns soonest: extra DOM text (markers,
			// collapsed whitespace) or extra text characters.
			let skipDom = -1;
			for (let k = 1; k <= 16 && i + k <= dom.length; k++) {
				if (j >= txt.length || dom[i + k] === txt[j]) {
					skipDom = k;
					break;
				}
			}
			if (skipDom > 0 || j >= txt.length) {
				const n = skipDom > 0 ? skipDom : 1;
				for (let k = 0; k < n && i < dom.length; k++)
					d2t[i++] = j;
				continue;
			}
			t2d[j++] = i;
		}
		t2d[txt.length] = dom.length;
		d2t[dom.length] = txt.length;
		const a = { t2d, d2t, el };
		this.align.set(key, a);
		return a;
	}

	// Selection (DOM Range) -> SPEC target, or null when it is outside the
	// chapter or empty.
	async targetFromRange(range) {
		if (!range || range.collapsed)
			return null;
		let sb = this.blockOfNode(range.startContainer);
		let eb = this.blockOfNode(range.endContainer);
		const inRange = this.blocks.filter((b) => {
			const el = this.element(b);
			return el && range.intersectsNode(el);
		});
		if (!inRange.length)
			return null;
		if (!sb || !range.intersectsNode(this.element(sb)))
			sb = inRange[0];
		if (!eb || !range.intersectsNode(this.element(eb)))
			eb = inRange[inRange.length - 1];
		const sa = this.alignment(sb);
		const ea = this.alignment(eb);
		// The ranges handed to the library end in text nodes: it cannot
		// snap an element boundary at the very end of the document.
		let ds = 0;
		const sLast = edgeText(sa.el, false);
		if (sLast && this.element(sb).contains(range.startContainer)) {
			const r = document.createRange();
			r.setStart(range.startContainer, range.startOffset);
			r.setEnd(sLast, sLast.length);
			ds = r.collapsed ? sa.d2t.length - 1
				: (await describeTextPosition(r, sa.el)).start;
		}
		let de = ea.d2t.length - 1;
		const eFirst = edgeText(ea.el, true);
		if (eFirst && this.element(eb).contains(range.endContainer)) {
			const r = document.createRange();
			r.setStart(eFirst, 0);
			r.setEnd(range.endContainer, range.endOffset);
			de = r.collapsed ? 0 : (await describeTextPosition(r, ea.el)).end;
		}
		let start = sb.start + (sa.d2t[ds] ?? 0);
		let end = eb.start + (ea.d2t[de] ?? (eb.end - eb.start));
		while (start < end && /\s/.test(this.cps[start]))
			start++;
		while (end > start && /\s/.test(this.cps[end - 1]))
			end--;
		if (end <= start)
			return null;
		return this.target(start, end);
	}

	target(start, end) {
		const c = this.cps;
		return {
			selector: [{
				type: 'TextQuoteSelector',
				exact: c.slice(start, end).join(''),
				prefix: c.slice(Math.max(0, start - CONTEXT), start).join(''),
				suffix: c.slice(end, end + CONTEXT).join(''),
			}, {
				type: 'TextPositionSelector', start, end,
			}],
		};
	}

	// Target -> code-point [start, end) in text, or null.
	static position(target) {
		const sel = target && target.selector;
		if (!Array.isArray(sel))
			return null;
		const p = sel.find((s) => s.type === 'TextPositionSelector');
		if (!p || !(p.end > p.start))
			return null;
		return { start: p.start, end: p.end };
	}

	// DOM ranges (one per block touched) covering [start, end).
	async ranges(start, end) {
		const out = [];
		for (const b of this.blocks) {
			if (b.end <= start || b.start >= end)
				continue;
			const a = this.alignment(b);
			if (!a.el)
				continue;
			const ls = Math.max(start, b.start) - b.start;
			const le = Math.min(end, b.end) - b.start;
			const sel = {
				type: 'TextPositionSelector',
				start: a.t2d[ls] ?? 0,
				end: a.t2d[le] ?? (a.d2t.length - 1),
			};
			if (sel.end <= sel.start)
				continue;
			const match = createTextPositionSelectorMatcher(sel);
			for await (const r of match(a.el)) {
				out.push(r);
				break;
			}
		}
		return out;
	}

	// Wraps [start, end) in <mark> elements with attrs; returns the marks.
	async highlight(start, end, attrs) {
		const marks = [];
		for (const r of await this.ranges(start, end)) {
			const before = new Set(this.root.querySelectorAll('mark'));
			highlightText(r, 'mark', attrs);
			for (const m of this.root.querySelectorAll('mark'))
				if (!before.has(m))
					marks.push(m);
		}
		return marks;
	}

	blockAt(offset) {
		return this.blocks.find((b) => offset >= b.start && offset < b.end) ||
			null;
	}
}
