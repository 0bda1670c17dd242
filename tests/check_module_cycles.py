#!/usr/bin/env python3
"""No cycles between the modules of server/ (issue 16, item 3).

A module is a folder of server/ (auth, books, circles, ...). Module A
depends on module B when a file in server/A/ includes "B/...". The graph
must be acyclic, and every edge must point down the layers below (those of
docs/architecture.md): a lower module tells the ones above it what happened
through the domain events (server/events/events.h), never by including
them. Prints the graph with -v; exits 1 naming a cycle when there is one.

Usage: check_module_cycles.py [-v] [SERVER_DIR] | --self-test
"""
import os
import re
import sys

# The layers of docs/architecture.md, top first. An include must point to a
# lower layer (or, within one layer, be listed in SIDEWAYS). A module that
# is not listed is reported but not failed: place it when adding it.
LAYERS = [
    ["main.c"],
    ["net"],
    ["export"],
    ["meetings"],
    ["mail", "search", "moderation"],
    ["threads"],
    ["circles", "notify"],
    ["auth", "books"],
    ["exec", "rpc"],
    ["bus", "http"],
    ["store"],
    ["events", "visibility"],
    ["util"],
]
SIDEWAYS = {("exec", "rpc")}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([A-Za-z0-9_]+)/[^"]+"', re.M)


def module_graph(server):
    graph = {}
    for mod in sorted(os.listdir(server)):
        d = os.path.join(server, mod)
        if not os.path.isdir(d):
            continue
        deps = set()
        for root, _, files in os.walk(d):
            for f in files:
                if not f.endswith((".c", ".h")):
                    continue
                with open(os.path.join(root, f), encoding="utf-8") as fh:
                    for dep in INCLUDE.findall(fh.read()):
                        if dep != mod and os.path.isdir(
                                os.path.join(server, dep)):
                            deps.add(dep)
        graph[mod] = deps
    return graph


def find_cycle(graph):
    """A list of modules forming a cycle (first == last), or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = {m: WHITE for m in graph}
    stack = []

    def visit(m):
        colour[m] = GREY
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            if colour.get(d, BLACK) == GREY:
                return stack[stack.index(d):] + [d]
            if colour.get(d) == WHITE:
                c = visit(d)
                if c:
                    return c
        stack.pop()
        colour[m] = BLACK
        return None

    for m in sorted(graph):
        if colour[m] == WHITE:
            c = visit(m)
            if c:
                return c
    return None


def layer_violations(graph):
    """(module, dependency) pairs that point up or sideways, and the
    modules that no layer names."""
    level = {m: i for i, layer in enumerate(LAYERS) for m in layer}
    bad, unplaced = [], sorted(m for m in graph if m not in level)
    for m in sorted(graph):
        for d in sorted(graph[m]):
            if m in level and d in level and level[d] <= level[m] \
                    and (m, d) not in SIDEWAYS:
                bad.append((m, d))
    return bad, unplaced


def self_test():
    """The check must be able to fail: a made-up tree with a cycle."""
    import tempfile
    with tempfile.TemporaryDirectory() as t:
        for mod, dep in (("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")):
            os.mkdir(os.path.join(t, mod))
            with open(os.path.join(t, mod, mod + ".c"), "w") as f:
                f.write('#include "%s/%s.h"\n#include <stdio.h>\n'
                        % (dep, dep))
        cycle = find_cycle(module_graph(t))
        assert cycle and cycle[0] == cycle[-1] and set(cycle) == {"a", "b", "c"}, cycle
        os.remove(os.path.join(t, "c", "c.c"))
        assert find_cycle(module_graph(t)) is None
    # an upward include breaks the layers even without a cycle
    bad, _ = layer_violations({"util": {"store"}, "store": set()})
    assert bad == [("util", "store")], bad
    bad, _ = layer_violations({"store": {"util"}, "util": set()})
    assert bad == [], bad
    return 0


def main(argv):
    if "--self-test" in argv:
        return self_test()
    verbose = "-v" in argv
    args = [a for a in argv if a != "-v"]
    here = os.path.dirname(os.path.abspath(__file__))
    server = args[0] if args else os.path.join(here, "..", "server")
    graph = module_graph(server)
    if not graph:
        print("no modules found under %s" % server, file=sys.stderr)
        return 2
    if verbose:
        for m in sorted(graph):
            print("%-12s -> %s" % (m, " ".join(sorted(graph[m]))))
    cycle = find_cycle(graph)
    if cycle:
        print("module include cycle: %s" % " -> ".join(cycle),
              file=sys.stderr)
        return 1
    bad, unplaced = layer_violations(graph)
    for m in unplaced:
        print("note: module %s/ is in no layer of LAYERS "
              "(docs/architecture.md)" % m, file=sys.stderr)
    if bad:
        for m, d in bad:
            print("module %s/ includes %s/, which is not below it "
                  "(docs/architecture.md)" % (m, d), file=sys.stderr)
        return 1
    print("module graph of %d modules has no cycle and follows the layers"
          % len(graph))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
