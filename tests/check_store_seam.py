#!/usr/bin/env python3
"""Checks that store/store.h stays the one seam between the modules' SQL and
the database engines (store/store.h, docs/scaling.md):

1. migrations/ (SQLite) and migrations/pg/ (PostgreSQL) hold the same
   versions, file for file, so `scholia migrate` means the same on both;
2. no PostgreSQL migration uses SQLite-only DDL;
3. outside server/store/, no file includes sqlite3.h or libpq-fe.h, and no
   SQL uses what only SQLite accepts (INSERT OR IGNORE/REPLACE,
   sqlite_master, strftime('...') in SQL, AUTOINCREMENT).

Usage: check_store_seam.py REPO_ROOT      (exit 1 with a list of problems)
       check_store_seam.py --self-test    (the checks catch what they must)
"""
import os
import re
import sys
import tempfile

VERSION = re.compile(r"^(\d{4})_[^/]*\.sql$")
PG_FORBIDDEN = [
    (re.compile(r"WITHOUT\s+ROWID", re.I), "WITHOUT ROWID"),
    (re.compile(r"VIRTUAL\s+TABLE", re.I), "a virtual table (FTS5)"),
    (re.compile(r"AUTOINCREMENT", re.I), "AUTOINCREMENT"),
    (re.compile(r"\bINTEGER\s+PRIMARY\s+KEY\b", re.I),
     "INTEGER PRIMARY KEY (32-bit on PostgreSQL: use bigint)"),
]
C_FORBIDDEN = [
    (re.compile(r"#\s*include\s*<sqlite3\.h>"), "includes sqlite3.h"),
    (re.compile(r"#\s*include\s*<libpq-fe\.h>"), "includes libpq-fe.h"),
    (re.compile(r"INSERT\s+OR\s+(IGNORE|REPLACE)", re.I),
     "INSERT OR IGNORE/REPLACE (write INSERT ... ON CONFLICT (cols))"),
    (re.compile(r"sqlite_master"), "sqlite_master"),
    (re.compile(r"strftime\('"), "strftime() in SQL"),
    (re.compile(r"AUTOINCREMENT", re.I), "AUTOINCREMENT"),
    (re.compile(r"\bPRAGMA\b"), "a PRAGMA (SQLite's; store/ has a function)"),
]


def versions(folder):
    out = {}
    for name in os.listdir(folder):
        m = VERSION.match(name)
        if m:
            out[m.group(1)] = name
    return out


def check(root):
    problems = []
    mig = os.path.join(root, "migrations")
    pg = os.path.join(mig, "pg")
    sq, pq = versions(mig), versions(pg) if os.path.isdir(pg) else {}
    for v in sorted(set(sq) - set(pq)):
        problems.append("migrations/%s has no PostgreSQL version in "
                        "migrations/pg/" % sq[v])
    for v in sorted(set(pq) - set(sq)):
        problems.append("migrations/pg/%s has no SQLite version in "
                        "migrations/" % pq[v])
    for v, name in sorted(pq.items()):
        if v in sq and sq[v] != name:
            problems.append("migrations/pg/%s is named differently from "
                            "migrations/%s" % (name, sq[v]))
        with open(os.path.join(pg, name)) as f:
            text = "\n".join(line.split("--", 1)[0] for line in f)
        for rx, what in PG_FORBIDDEN:
            if rx.search(text):
                problems.append("migrations/pg/%s uses %s" % (name, what))
    server = os.path.join(root, "server")
    for dirpath, _, files in os.walk(server):
        rel = os.path.relpath(dirpath, server)
        if rel == "store" or rel.startswith("store" + os.sep):
            continue
        for name in files:
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(dirpath, name)
            with open(path, errors="replace") as f:
                text = f.read()
            for rx, what in C_FORBIDDEN:
                for m in rx.finditer(text):
                    line = text.count("\n", 0, m.start()) + 1
                    problems.append("server/%s:%d %s" % (
                        os.path.relpath(path, server), line, what))
    return problems


def self_test():
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "migrations", "pg"))
        os.makedirs(os.path.join(root, "server", "store"))
        os.makedirs(os.path.join(root, "server", "books"))

        def write(rel, text):
            with open(os.path.join(root, rel), "w") as f:
                f.write(text)

        write("migrations/0001_a.sql", "CREATE TABLE a (id INTEGER);")
        write("migrations/pg/0001_a.sql", "CREATE TABLE a (id bigint);")
        write("server/store/sqlite.c", "#include <sqlite3.h>\n")
        write("server/books/ok.c", 'const char *q = "INSERT INTO a"\n'
              '" ON CONFLICT(id) DO NOTHING";\n')
        assert check(root) == [], check(root)
        write("migrations/0002_b.sql", "")
        write("migrations/pg/0003_c.sql",
              "CREATE TABLE c (id INTEGER PRIMARY KEY) WITHOUT ROWID;")
        write("server/books/bad.c", '#include <sqlite3.h>\n'
              'const char *q = "INSERT OR REPLACE INTO a VALUES (1)";\n')
        got = "\n".join(check(root))
        for want in ("0002_b.sql has no PostgreSQL",
                     "0003_c.sql has no SQLite", "WITHOUT ROWID",
                     "INTEGER PRIMARY KEY", "bad.c:1 includes sqlite3.h",
                     "bad.c:2 INSERT OR"):
            assert want in got, (want, got)
    print("self-test passed")
    return 0


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "--self-test":
        return self_test()
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    problems = check(sys.argv[1])
    for p in problems:
        print(p)
    if problems:
        print("%d problem(s): store/store.h must stay the one seam "
              "(docs/scaling.md)" % len(problems))
        return 1
    print("store seam: migrations/ and migrations/pg/ match; no engine "
          "leaks out of server/store/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
