#!/usr/bin/env python3
"""The web app's ES modules link, and their imports have no cycle (issue 16,
item 6).

web/ is served as it is, with no bundler: a name imported from a module
that does not export it, or a path that does not exist, is found only when
a browser loads the page. This reads every web/js/*.js, checks that each
import's file exists and, for the app's own modules, that it exports each
name imported from it, and that the graph of web/js modules is acyclic
(app.js imports the screens; the screens import shell.js, session.js,
state.js, dom.js, ... and never app.js). Exits 1 naming what is wrong.
Prints the graph with -v.

Usage: check_web_modules.py [-v] [WEB_DIR] | --self-test
"""
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_module_cycles import find_cycle  # noqa: E402  (one cycle finder)

IMPORT = re.compile(
    r"^\s*import\s+(?:(?P<default>[\w$]+)\s*,?\s*)?"
    r"(?:\{(?P<names>[^}]*)\}\s*)?(?:\*\s+as\s+[\w$]+\s*)?"
    r"(?:from\s+)?'(?P<path>[^']+)'", re.M)
EXPORT_DECL = re.compile(
    r"^\s*export\s+(?:async\s+)?(?:function\*?|const|let|var|class)\s+([\w$]+)",
    re.M)
EXPORT_LIST = re.compile(r"^\s*export\s*\{([^}]*)\}", re.M)
COMMENT = re.compile(r"/\*.*?\*/|^\s*//[^\n]*", re.S | re.M)


def exports_of(text):
    names = set(EXPORT_DECL.findall(text))
    for group in EXPORT_LIST.findall(text):
        for item in group.split(","):
            item = item.strip()
            if item:
                names.add(item.split(" as ")[-1].strip())
    if re.search(r"^\s*export\s+default\b", text, re.M):
        names.add("default")
    return names


def check(web):
    """(problems, graph): what does not link, and the web/js import graph."""
    js = os.path.join(web, "js")
    problems = []
    graph = {}
    texts = {}
    for f in sorted(os.listdir(js)):
        if f.endswith(".js"):
            with open(os.path.join(js, f), encoding="utf-8") as fh:
                texts[f] = COMMENT.sub("", fh.read())
    for f, text in texts.items():
        graph[f] = set()
        for m in IMPORT.finditer(text):
            rel = m.group("path")
            target = os.path.normpath(os.path.join(js, rel))
            if not os.path.isfile(target):
                problems.append(f"js/{f}: imports {rel}, which does not exist")
                continue
            if os.path.dirname(target) != os.path.normpath(js):
                continue  # vendor/: checked for existence only
            name = os.path.basename(target)
            graph[f].add(name)
            wanted = []
            if m.group("default"):
                wanted.append("default")
            for item in (m.group("names") or "").split(","):
                item = item.strip()
                if item:
                    wanted.append(item.split(" as ")[0].strip())
            have = exports_of(texts[name])
            for w in wanted:
                if w not in have:
                    problems.append(
                        f"js/{f}: imports {w} from {rel}, which does not export it")
    return problems, graph


def run(web, verbose=False):
    problems, graph = check(web)
    cycle = find_cycle(graph)
    if cycle:
        problems.append("import cycle: " + " -> ".join(cycle))
    if verbose:
        for m in sorted(graph):
            print(f"{m}: {' '.join(sorted(graph[m]))}")
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


def self_test():
    """The check fails on each fault it is meant to find, and passes a
    clean tree: a test that cannot fail proves nothing."""
    cases = {
        "clean": ({"a.js": "import { f } from './b.js';\nf();\n",
                   "b.js": "export function f() {}\n"}, 0),
        "cycle": ({"a.js": "import { f } from './b.js';\nexport function g() {}\n",
                   "b.js": "import { g } from './a.js';\nexport function f() {}\n"}, 1),
        "missing name": ({"a.js": "import { nope } from './b.js';\n",
                          "b.js": "export function f() {}\n"}, 1),
        "missing file": ({"a.js": "import { f } from './c.js';\n"}, 1),
        "multi-line import": ({"a.js": "import {\n\tf,\n\tg,\n} from './b.js';\n",
                               "b.js": "export const f = 1;\nexport { h as g };\nconst h = 2;\n"}, 0),
    }
    bad = 0
    for name, (files, want) in cases.items():
        with tempfile.TemporaryDirectory() as d:
            os.mkdir(os.path.join(d, "js"))
            for f, text in files.items():
                with open(os.path.join(d, "js", f), "w", encoding="utf-8") as fh:
                    fh.write(text)
            devnull = open(os.devnull, "w")
            err, sys.stderr = sys.stderr, devnull
            try:
                got = run(d)
            finally:
                sys.stderr = err
                devnull.close()
        if got != want:
            print(f"self-test {name}: exit {got}, want {want}", file=sys.stderr)
            bad = 1
    return bad


def main(argv):
    if "--self-test" in argv:
        return self_test()
    verbose = "-v" in argv
    args = [a for a in argv if a != "-v"]
    web = args[0] if args else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "web")
    return run(web, verbose)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
