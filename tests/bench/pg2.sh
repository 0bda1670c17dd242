# tests/bench/pg2.sh - the two-node benchmark (BENCH_PG=2), sourced by
# tests/bench/run after it has built the server and the load generator and
# defined start_server, stop_server, create_owner, log, $TMP and $PORT.
#
# Starts a throwaway PostgreSQL cluster (initdb/pg_ctl as the `postgres`
# user when run as root, like tests/integration/pg.py, on 127.0.0.1 only,
# fsync on: --durability full means synchronous_commit = on), runs
# `scholia serve` twice on one database (ports $PORT and $PORT+2), sets up
# the accounts and circles through the first node, splits the connections
# between the nodes (every second one on the second node, so each
# 100-member circle has members on both) and measures at each scale:
# connect ramp, idle RSS per node, steady fan-out (server CPU summed over
# both nodes), fan-out latency of events written on the receiver's node
# and on the other node, the knee, reads under write load and acknowledged
# creates/s (64 writers, half on each node). No baseline, storm or kill
# phase. Removes the cluster afterwards. Benchmarks are never pass/fail.
#
# BENCH_PG=1 runs the same with node 1 alone (all connections and writers
# on it): the single node on PostgreSQL, to tell PostgreSQL's cost from
# the second node's.
#
# Environment (besides run's): BENCH_PG_PORT (PostgreSQL's port, default
# $PORT+5), SCHOLIA_PG_BIN (the folder of initdb and pg_ctl).

PORT2=$((PORT + 2))
NODES=${BENCH_PG:-2}
PGPORT=${BENCH_PG_PORT:-$((PORT + 5))}
PGBIN=${SCHOLIA_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null |
	sort -t/ -k5 -n | tail -1)}
[ -x "$PGBIN/initdb" ] || {
	log "BENCH_PG=2 needs PostgreSQL (scripts/install-deps.sh --test)"
	exit 1
}
PGDIR=$(mktemp -d /tmp/scholia-bench-pg.XXXXXX)
as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}
if [ "$(id -u)" = 0 ]; then
	PGUSER=postgres
	chmod 755 "$PGDIR"
	chown postgres:postgres "$PGDIR"
else
	PGUSER=$(id -un)
fi
pg_cleanup() {
	cleanup
	as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate -w stop \
		>/dev/null 2>&1 || true
	[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$PGDIR"
}
trap pg_cleanup EXIT

as_pg "$PGBIN/initdb" -D "$PGDIR/data" -U "$PGUSER" --auth=trust \
	--encoding=UTF8 --locale=C.UTF-8 --no-sync >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w -t 60 \
	-o "-c listen_addresses=127.0.0.1 -p $PGPORT -c unix_socket_directories='$PGDIR' -c max_connections=200" \
	start >/dev/null
as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U "$PGUSER" scholia
URL="postgresql://$PGUSER@127.0.0.1:$PGPORT/scholia"
log "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') in $PGDIR on port $PGPORT; scales:$SCALES; quick=$QUICK"

COLD_EMPTY=$(start_server "$URL" "$PORT" main)
log "node 1 up on an empty database in ${COLD_EMPTY}s (migrations + sample book import)"
create_owner "$URL"
T0=$(date +%s.%N)
"$LOADGEN" setup --port "$PORT" --out "$TMP/main.state" --owner owner \
	--owner-password "$OWNER_PW" --members "$MAX" --annotations "$ANNOTS"
SETUP_S=$(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $T0}")
log "setup through node 1 done in ${SETUP_S}s"
RAW=$("$LOADGEN" raw --conns 100 --msgs 2000 --size 700)

# PostgreSQL's CPU seconds so far: the postmaster, its live children and
# (cutime/cstime) the children that ended
pg_cpu_s() {
	local pm pids
	pm=$(head -1 "$PGDIR/data/postmaster.pid")
	pids="$pm $(ps -o pid= --ppid "$pm" | tr '\n' ' ')"
	for p in $pids; do
		[ "$p" = "$pm" ] && cut -d' ' -f14-17 "/proc/$p/stat" 2>/dev/null ||
			cut -d' ' -f14-15 "/proc/$p/stat" 2>/dev/null
	done | tr ' ' '\n' | awk -v hz="$(getconf CLK_TCK)" '{s += $1} END {printf "%.2f", s / hz}'
}

mkdir -p "$BENCH/results"
for N in $SCALES; do
	stop_server main
	stop_server node2 2>/dev/null || true
	COLD=$(start_server "$URL" "$PORT" main)
	COLD2=0
	TWO=()
	if [ "$NODES" = 2 ]; then
		COLD2=$(start_server "$URL" "$PORT2" node2)
		TWO=(--port2 "$PORT2" --pidfile2 "$TMP/node2.pid")
	fi
	log "scale $N ($NODES nodes): nodes restarted on the full database in ${COLD}s and ${COLD2}s; load average $(cut -d' ' -f1-3 /proc/loadavg)"
	if [ "$N" = "$MAX" ]; then
		PHASES=connect,idle,steady,knee,reads,writers
	else
		PHASES=connect,idle,steady,knee
	fi
	PGCPU0=$(pg_cpu_s)
	"$LOADGEN" run --port "$PORT" "${TWO[@]}" --state "$TMP/main.state" \
		--conns "$N" --workers "$WORKERS" --pidfile "$TMP/main.pid" \
		--phases "$PHASES" \
		--json "$TMP/scale-$N.json"
	PGCPU=$(awk "BEGIN{printf \"%.2f\", $(pg_cpu_s) - $PGCPU0}")
	log "PostgreSQL used ${PGCPU} s of CPU during the run at $N"
	printf '{"cold_start_s":[%s,%s],"loadavg_after":"%s","postgres_cpu_s":%s}\n' \
		"$COLD" "$COLD2" "$(cut -d' ' -f1-3 /proc/loadavg)" "$PGCPU" \
		>"$TMP/cold-$N.json"
done

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT="$BENCH/results/pg$NODES-$STAMP.json"
/usr/bin/python3 - "$TMP" "$OUT" "$RAW" "$SETUP_S" "$QUICK" "$NODES" $SCALES <<'PYEOF'
import json, os, sys
tmp, out, raw, setup_s, quick, nodes = sys.argv[1:7]
nodes = int(nodes)
scales = [int(s) for s in sys.argv[7:]]
res = {"nodes": nodes, "store": "postgresql", "quick": quick == "1",
       "setup_s": float(setup_s), "raw_loopback": json.loads(raw),
       "loadavg_at_report": list(os.getloadavg()), "scales": {}}
lines = []
for n in scales:
    r = json.load(open(os.path.join(tmp, "scale-%d.json" % n)))
    r.update(json.load(open(os.path.join(tmp, "cold-%d.json" % n))))
    res["scales"][str(n)] = r
    ph = {p["phase"]: p for p in r.get("phases", [])}
    L = lines.append
    if nodes == 2:
        L("two nodes on one PostgreSQL, %d connections (%d + %d):"
          % (n, (n + 1) // 2, n // 2))
    else:
        L("one node on PostgreSQL, %d connections:" % n)
    L("  PostgreSQL CPU during the run %.1f s (not in the per-delivery "
      "figures); load average after %s" % (r.get("postgres_cpu_s", 0),
                                          r.get("loadavg_after", "")))
    c = ph.get("connect")
    if c:
        L("  connect ramp            %.0f connections/s (%d failed)"
          % (c.get("connect_per_s", 0), c.get("conn_fail", 0)))
    i = ph.get("idle")
    if i:
        if nodes == 2:
            L("  RSS per idle connection node 1 %.0f B, node 2 %.0f B"
              % (i.get("rss_bytes_per_idle_conn", -1),
                 i.get("node2_rss_bytes_per_idle_conn", -1)))
        else:
            L("  RSS per idle connection %.0f B"
              % i.get("rss_bytes_per_idle_conn", -1))
    for name in ("steady", "reads"):
        s = ph.get(name)
        if not s:
            continue
        L("  %-8s %.0f posts/s, %.0f deliveries/s, server CPU %.2f us per "
          "delivery (summed over the nodes), lost %d, missing %d"
          % (name, s.get("posts_per_s", 0), s.get("deliveries_per_s", 0),
             s.get("cpu_us_per_delivery", 0) or 0, s.get("lost_total", 0),
             s.get("expected_deliveries", 0) - s.get("deliveries", 0)))
        sm, cr = s.get("fanout_same_node", {}), s.get("fanout_cross_node", {})
        if nodes == 1:
            f = s.get("fanout", {})
            L("           fan-out p50/p99 %.2f/%.2f ms"
              % (f.get("p50_ms", 0), f.get("p99_ms", 0)))
        else:
            L("           fan-out p50/p99: written on the same node "
              "%.2f/%.2f ms (%d), on the other node %.2f/%.2f ms (%d)"
              % (sm.get("p50_ms", 0), sm.get("p99_ms", 0), sm.get("n", 0),
                 cr.get("p50_ms", 0), cr.get("p99_ms", 0), cr.get("n", 0)))
        if name == "reads" and "ack_annotation.list" in s:
            a = s["ack_annotation.list"]
            L("           annotation.list under write load p50 %.2f ms, "
              "p99 %.2f ms (%d)" % (a["p50_ms"], a["p99_ms"], a["n"]))
    k = ph.get("knee")
    if k:
        L("  knee     %.0f posts/s: %.0f deliveries/s, p99 fan-out %.1f ms,"
          " %.2f us/delivery; sustained max %.0f posts/s: %.0f deliveries/s"
          % (k.get("knee_posts_per_s", 0), k.get("knee_deliveries_per_s", 0),
             k.get("knee_fanout_p99_ms", 0),
             k.get("knee_cpu_us_per_delivery", 0),
             k.get("max_posts_per_s", 0), k.get("max_deliveries_per_s", 0)))
    w = ph.get("writers")
    if w:
        a = w.get("ack_annotation.create", {})
        L("  writers  %d conns: %.0f acked annotation.create/s,"
          " ack p50/p99 %.1f/%.1f ms, server CPU %.0f us per create"
          % (w.get("writer_conns", 0), w.get("creates_per_s", 0),
             a.get("p50_ms", 0), a.get("p99_ms", 0),
             w.get("server_cpu_us", 0) / max(1, w.get("acked_annotation.create", 1))))
res["summary"] = lines
json.dump(res, open(out, "w"), indent=1)
print("\n".join(lines))
PYEOF
log "wrote $OUT"
