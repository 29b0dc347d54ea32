// Command checkout measures prepaid checkouts per second through GraphQL
// over HTTP on PostgreSQL, and puts them next to pgbench's TPC-B-like
// script run at the same concurrency in the same run, on the same server.
//
// It creates two scratch databases next to the one named by -database-url
// (which is only used to create, watch and drop them): one for the billing
// service, migrated and seeded, and one initialized by `pgbench -i -s
// <scale>`. For each client count it runs `pgbench -c N -j <jobs> -T
// <duration>`, then N HTTP clients that each place orders on their own
// funded account for the same duration:
//
//	placeOrder(CREDIT, one s-general-1x1 for one month, a fresh idempotency key)
//	   → order COMPLETED, payment SUCCEEDED (checked on every answer)
//
// The service is one server wired by internal/app exactly like `billing
// serve` with the sandbox gateway and the provisioning simulator with no
// delay (the resource is provisioned and invoiced before the answer), no
// scheduler, and PostgreSQL's defaults: synchronous_commit = on, so every
// commit waits for its WAL flush, as pgbench's do.
//
// Commits per checkout are the growth of pg_stat_database.xact_commit of
// the service database over the level (warm-up included) divided by the
// checkouts placed. PostgreSQL counts as a commit every transaction block
// and every statement sent outside one, reads included; the table splits
// them by what the service's pool sent (counted by a wrapping driver, see
// roundTrips) and the rest (the event listener's LISTEN connection, which
// reads the notification queue in a transaction of its own). The pool is
// closed before each reading, so the counters of its backends are flushed.
//
// After the checkouts the same clients ask the same service for
// { __typename } for a third of the duration: the floor, what HTTP, the
// token and GraphQL cost before any billing work. On the 2-core
// development VM it answered 14,000–20,000 requests a second at 0.09–0.13
// ms of CPU each, against 1.6–2.0 ms in this process and 1.9–3.0 ms in
// PostgreSQL per checkout: a checkout's cost is its database work, not
// the API in front of it — and within that its rows (indexes, about 25
// foreign-key checks worth some 0.7 ms), not its round trips: three more
// SELECT 1 per checkout changed nothing measurable (session 5).
//
// Last, the database floor: pgbench runs floor.sql — one checkout's write
// transaction, the service's own statements writing the same rows, checked
// against a real checkout before the first level — on the service database
// at the same concurrency (see floorScript). It is the most any
// implementation writing these rows with one commit per checkout, in this
// schema, can reach on this machine. On the 2-core development VM it made
// 0.244–0.257× pgbench at 8 clients and 0.165–0.197× at 32 over three runs
// (session 6), under the 0.5× goal before any service work; the
// service reached 50–53% of it at 8 clients (where its own CPU competes
// with PostgreSQL's) and 84–88% at 32.
//
// Usage:
//
//	go run ./internal/bench/checkout -database-url postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	_ "github.com/lib/pq"
)

func main() {
	var o options
	flag.StringVar(&o.baseURL, "database-url", envOr("BILLING_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		"PostgreSQL URL of an existing database; the benchmark creates and drops its own databases beside it")
	flag.DurationVar(&o.duration, "duration", 15*time.Second, "length of each measured run (pgbench -T and the checkout load)")
	flag.DurationVar(&o.warmup, "warmup", 3*time.Second, "checkout load before each measured run (not timed)")
	clients := flag.String("clients", "8,32", "comma-separated client counts (pgbench -c and concurrent HTTP clients)")
	flag.IntVar(&o.jobs, "jobs", 2, "pgbench -j")
	flag.IntVar(&o.scale, "scale", 10, "pgbench -i -s")
	flag.StringVar(&o.pgbench, "pgbench", "", "pgbench binary (default: from PATH, else /usr/lib/postgresql/*/bin/pgbench)")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of this process (service and clients) during the first level's checkouts to this file")
	flag.StringVar(&o.trace, "trace", "", "write every statement the service's pool sent, counted per checkout (tx: inside a block, auto: outside), per level, to this file")
	flag.Parse()
	for _, f := range strings.Split(*clients, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 64 {
			fatalf("-clients: %q is not a client count from 1 to 64", f)
		}
		o.clients = append(o.clients, n)
	}
	if o.duration < time.Second {
		fatalf("-duration must be at least 1s")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fatalf("%v", err)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "checkout bench: "+format+"\n", args...)
	os.Exit(1)
}

type options struct {
	baseURL          string
	duration, warmup time.Duration
	clients          []int
	jobs, scale      int
	pgbench          string
	cpuProfile       string
	trace            string
}

// level is the outcome of one client count.
type level struct {
	clients       int
	checkouts     int     // in the measured run
	rate          float64 // checkouts per second
	p50, p99      time.Duration
	errors        int
	firstError    string
	pgbenchTPS    float64
	pgbenchLat    string // pgbench's own "latency average"
	placed        int    // warm-up and measured checkouts
	commits       int64  // xact_commit growth of the service database
	rollbacks     int64
	trips         tripSnapshot
	serverCommits int64 // server-wide xact_commit growth, for reference
	// CPU used during the measured run: this process (service and HTTP
	// clients) and the service database's backends (cpuOK: readable).
	cpuSelf, cpuBackends time.Duration
	cpuOK                bool
	// The floor: the same clients asking the same service the cheapest
	// authenticated operation, { __typename } (HTTP, token, GraphQL; no
	// database), after the checkouts; requests per second and this
	// process's CPU per request.
	floorRate float64
	floorCPU  time.Duration
	// The database floor: floor.sql, one checkout's write transaction,
	// run by pgbench on the service database at the same concurrency
	// after the checkouts (see floorScript).
	dbFloorTPS float64
}

func run(ctx context.Context, o options, out io.Writer) error {
	pgbench, err := findPgbench(o.pgbench)
	if err != nil {
		return err
	}
	admin, err := sql.Open("postgres", o.baseURL)
	if err != nil {
		return err
	}
	defer admin.Close()
	admin.SetMaxOpenConns(2)
	if err := admin.PingContext(ctx); err != nil {
		return fmt.Errorf("connect %s: %w", redact(o.baseURL), err)
	}

	var settings [3]string
	err = admin.QueryRowContext(ctx, `SELECT current_setting('server_version'), current_setting('synchronous_commit'), current_setting('fsync')`).
		Scan(&settings[0], &settings[1], &settings[2])
	if err != nil {
		return err
	}
	suffix := runID
	svcName, pgbName := "billing_bench_"+suffix, "billing_pgbench_"+suffix
	for _, name := range []string{svcName, pgbName} {
		if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
			return fmt.Errorf("create database %s: %w", name, err)
		}
		defer func(name string) {
			c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := admin.ExecContext(c, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
				fmt.Fprintf(os.Stderr, "checkout bench: drop database %s: %v\n", name, err)
			}
		}(name)
	}
	svcURL, err := withDatabase(o.baseURL, svcName)
	if err != nil {
		return err
	}
	pgbURL, _ := withDatabase(o.baseURL, pgbName)

	fmt.Fprintf(out, "PostgreSQL %s, synchronous_commit=%s, fsync=%s; %d s per run, %s warm-up; pgbench -s %d -j %d\n",
		settings[0], settings[1], settings[2], int(o.duration.Seconds()), o.warmup, o.scale, o.jobs)
	fmt.Fprintf(out, "initializing pgbench database (scale %d)…\n", o.scale)
	if _, err := runPgbench(ctx, pgbench, "-i", "-q", "-s", strconv.Itoa(o.scale), pgbURL); err != nil {
		return err
	}

	// Schema, catalog and funded accounts, then close the pool so that the
	// first level's counters start from flushed statistics.
	secret := newSecret()
	var trips roundTrips
	customers, err := setupService(ctx, svcURL, secret, &trips, slices.Max(o.clients))
	if err != nil {
		return err
	}

	var trace *os.File
	if o.trace != "" {
		if trace, err = os.Create(o.trace); err != nil {
			return err
		}
		defer trace.Close()
		trips.trace = &statementTrace{} // from here on: the setup is not traced
	}
	var profile *os.File
	if o.cpuProfile != "" {
		if profile, err = os.Create(o.cpuProfile); err != nil {
			return err
		}
		defer profile.Close()
	}
	var (
		levels []level
		fl     *dbFloor
	)
	for _, n := range o.clients {
		fmt.Fprintf(out, "%d clients: pgbench…", n)
		lv := level{clients: n}
		pb, err := runPgbench(ctx, pgbench, "-c", strconv.Itoa(n), "-j", strconv.Itoa(min(o.jobs, n)),
			"-T", strconv.Itoa(int(o.duration.Seconds())), pgbURL)
		if err != nil {
			return err
		}
		if lv.pgbenchTPS, lv.pgbenchLat, err = parsePgbench(pb); err != nil {
			return err
		}
		fmt.Fprintf(out, " %.0f tps; checkouts…", lv.pgbenchTPS)
		if profile != nil {
			// The first level's checkouts only (pgbench excluded).
			if err := pprof.StartCPUProfile(profile); err != nil {
				return err
			}
		}
		err = measure(ctx, o, admin, svcURL, svcName, secret, &trips, customers[:n], &lv)
		if profile != nil {
			pprof.StopCPUProfile()
			profile = nil
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(out, " %.0f/s; database floor…", lv.rate)
		if trace != nil {
			fmt.Fprintf(trace, "%d clients: statements per checkout (%d checkouts, warm-up included)\n", n, lv.placed)
			trips.trace.write(trace, lv.placed)
			fmt.Fprintln(trace)
		}
		if fl == nil {
			if fl, err = setupFloor(ctx, svcURL, customers); err != nil {
				return err
			}
			defer fl.remove()
			err = fl.check(ctx, pgbench, func() error { return oneCheckout(ctx, svcURL, secret, &trips, customers[0]) })
			if err != nil {
				return err
			}
			if trips.trace != nil {
				trips.trace.write(io.Discard, 1) // the check's statements belong to no level
			}
		}
		if lv.dbFloorTPS, err = fl.run(ctx, pgbench, o, n); err != nil {
			return err
		}
		fmt.Fprintf(out, " %.0f tps\n", lv.dbFloorTPS)
		levels = append(levels, lv)
	}
	report(out, levels)
	return nil
}

// setupService migrates and seeds the service database and opens the
// funded accounts, through a service that is stopped again at the end.
func setupService(ctx context.Context, svcURL string, secret []byte, trips *roundTrips, n int) ([]customer, error) {
	db, err := openCounted(ctx, svcURL, trips)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	s, err := startService(ctx, db, svcURL, secret)
	if err != nil {
		return nil, err
	}
	customers, err := prepare(ctx, s, db, n)
	return customers, errors.Join(err, s.stop(context.Background()))
}

// measure runs one level's checkouts on a fresh service and pool: warm-up,
// then the timed run; then it closes the pool and reads the commits.
func measure(ctx context.Context, o options, admin *sql.DB, svcURL, svcName string, secret []byte, trips *roundTrips, customers []customer, lv *level) error {
	before, err := commitCounters(ctx, admin, svcName)
	if err != nil {
		return err
	}
	tripsBefore := trips.snapshot()
	s, db, err := startCounted(ctx, svcURL, secret, trips)
	if err != nil {
		return err
	}
	c := newClient(s.url, len(customers))
	warm := load(ctx, customers, o.warmup, c.checkout)
	cpuBefore := readCPU(ctx, admin, svcName)
	res := load(ctx, customers, o.duration, c.checkout)
	lv.cpuSelf, lv.cpuBackends, lv.cpuOK = cpuUsed(cpuBefore, readCPU(ctx, admin, svcName))
	cpuBefore = readCPU(ctx, admin, svcName)
	floor := load(ctx, customers, max(o.duration/3, 2*time.Second), c.typename)
	if n := len(floor.latencies); n > 0 && floor.errors == 0 {
		self, _, _ := cpuUsed(cpuBefore, readCPU(ctx, admin, svcName))
		lv.floorRate, lv.floorCPU = float64(n)/floor.elapsed.Seconds(), self/time.Duration(n)
	}
	c.http.CloseIdleConnections()
	if err := errors.Join(s.stop(context.Background()), db.Close()); err != nil {
		return err
	}
	after, err := commitCounters(ctx, admin, svcName)
	if err != nil {
		return err
	}
	lv.trips = trips.snapshot().sub(tripsBefore)
	lv.checkouts, lv.errors, lv.firstError = len(res.latencies), res.errors+warm.errors, firstOf(res.firstError, warm.firstError)
	lv.rate = float64(lv.checkouts) / res.elapsed.Seconds()
	lv.p50, lv.p99 = percentile(res.latencies, 50), percentile(res.latencies, 99)
	lv.placed = len(warm.latencies) + len(res.latencies)
	lv.commits, lv.rollbacks = after.commits-before.commits, after.rollbacks-before.rollbacks
	lv.serverCommits = after.serverCommits - before.serverCommits
	return nil
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// loadResult is one run of concurrent checkouts.
type loadResult struct {
	latencies  []time.Duration // of successful checkouts
	errors     int
	firstError string
	elapsed    time.Duration
}

// load runs one client per customer, each sending op (a checkout on its
// own account) back to back until d has passed.
func load(ctx context.Context, customers []customer, d time.Duration, op func(context.Context, customer) error) loadResult {
	var (
		mu  sync.Mutex
		res loadResult
		wg  sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(d)
	for _, cu := range customers {
		wg.Go(func() {
			var lat []time.Duration
			var errs int
			var first string
			for ctx.Err() == nil && time.Now().Before(deadline) {
				t0 := time.Now()
				if err := op(ctx, cu); err != nil {
					errs++
					if first == "" {
						first = err.Error()
					}
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			res.latencies = append(res.latencies, lat...)
			res.errors += errs
			if res.firstError == "" {
				res.firstError = first
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

// percentile is the nearest-rank percentile p of ds (sorted in place).
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	k := (len(ds)*p + 99) / 100
	return ds[max(k-1, 0)]
}

type counters struct{ commits, rollbacks, serverCommits int64 }

// commitCounters reads the service database's commit and rollback
// counters once none of its backends is left, so that every counter has
// been flushed (a backend flushes its statistics when it exits; an idle
// one may hold them for up to 10 s).
func commitCounters(ctx context.Context, admin *sql.DB, name string) (counters, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		if err := admin.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = $1`, name).Scan(&n); err != nil {
			return counters{}, err
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			return counters{}, fmt.Errorf("%d connections to %s still open", n, name)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var c counters
	err := admin.QueryRowContext(ctx, `SELECT
		(SELECT xact_commit FROM pg_stat_database WHERE datname = $1),
		(SELECT xact_rollback FROM pg_stat_database WHERE datname = $1),
		(SELECT sum(xact_commit)::bigint FROM pg_stat_database)`, name).Scan(&c.commits, &c.rollbacks, &c.serverCommits)
	return c, err
}

func report(out io.Writer, levels []level) {
	fmt.Fprintln(out)
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "clients\tcheckouts\tcheckouts/s\tp50 ms\tp99 ms\tpgbench tps\tpgbench ms\tratio\tcommits/checkout\t= write tx\t+ reads\t+ describes\t+ rest\tround trips\terrors\t")
	for _, lv := range levels {
		ratio := 0.0
		if lv.pgbenchTPS > 0 {
			ratio = lv.rate / lv.pgbenchTPS
		}
		per := func(n int64) string {
			if lv.placed == 0 {
				return "-"
			}
			return fmt.Sprintf("%.2f", float64(n)/float64(lv.placed))
		}
		t := lv.trips
		rest := lv.commits - t.txCommits - t.autocommit - t.autoArgs
		fmt.Fprintf(w, "%d\t%d\t%.1f\t%.1f\t%.1f\t%.0f\t%s\t%.3f\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t\n",
			lv.clients, lv.checkouts, lv.rate, ms(lv.p50), ms(lv.p99), lv.pgbenchTPS, lv.pgbenchLat, ratio,
			per(lv.commits), per(t.txCommits), per(t.autocommit), per(t.autoArgs), per(rest), per(t.exchanges()), lv.errors)
	}
	_ = w.Flush()
	fmt.Fprintln(out)
	fmt.Fprintln(out, "ratio            = checkouts/s ÷ pgbench tps at the same number of clients")
	fmt.Fprintln(out, "commits/checkout = Δ pg_stat_database.xact_commit of the service database ÷ checkouts placed (warm-up included), made of:")
	fmt.Fprintln(out, "  write tx       BEGIN … COMMIT blocks of the service's pool: the order with its payment, the provisioning result with its invoice, …")
	fmt.Fprintln(out, "  reads          statements sent outside a block (reads after commit, event listener scans): each is a transaction of its own")
	fmt.Fprintln(out, "  describes      the Parse/Describe/Sync exchange that prepares such a statement with parameters (once per connection: store caches it), also a transaction")
	fmt.Fprintln(out, "  rest           commits not from the pool: the event listener's LISTEN connection reads the NOTIFY queue in a")
	fmt.Fprintln(out, "                 transaction each time a notifying commit wakes it (about one per write tx), plus start and stop")
	fmt.Fprintln(out, "round trips      = client-server exchanges of the pool per checkout (BEGIN, COMMIT, one per statement, one more per statement prepared)")
	fmt.Fprintln(out, "CPU ms/checkout  = CPU time used during the measured run ÷ its checkouts: this process (the service and the HTTP")
	fmt.Fprintln(out, "                 clients driving it) and the service database's PostgreSQL backends (local server only)")
	fmt.Fprintln(out, "floor            = the same clients and service answering { __typename } (HTTP, token, GraphQL, no database) after the")
	fmt.Fprintln(out, "                 checkouts: what a request costs before any billing work")
	fmt.Fprintln(out, "database floor   = pgbench running floor.sql (one checkout's write transaction: the service's statements and rows,")
	fmt.Fprintln(out, "                 checked against a real checkout) with -M prepared at the same clients on the service database:")
	fmt.Fprintln(out, "                 the most any implementation writing these rows in one commit per checkout can reach here")
	for _, lv := range levels {
		if lv.checkouts > 0 {
			backends := "-"
			if lv.cpuOK {
				backends = fmt.Sprintf("%.2f", ms(lv.cpuBackends)/float64(lv.checkouts))
			}
			fmt.Fprintf(out, "%d clients: CPU ms/checkout: service and clients %.2f, PostgreSQL backends %s\n", lv.clients,
				ms(lv.cpuSelf)/float64(lv.checkouts), backends)
		}
		if lv.floorRate > 0 {
			ratio := 0.0
			if lv.pgbenchTPS > 0 {
				ratio = lv.floorRate / lv.pgbenchTPS
			}
			fmt.Fprintf(out, "%d clients: floor { __typename }: %.0f requests/s (%.3f× pgbench), CPU ms/request: service and clients %.2f\n",
				lv.clients, lv.floorRate, ratio, ms(lv.floorCPU))
		}
		if lv.dbFloorTPS > 0 && lv.pgbenchTPS > 0 {
			fmt.Fprintf(out, "%d clients: database floor (floor.sql by pgbench, no service): %.0f tps = %.3f× pgbench; the service reaches %.0f%% of it\n",
				lv.clients, lv.dbFloorTPS, lv.dbFloorTPS/lv.pgbenchTPS, 100*lv.rate/lv.dbFloorTPS)
		}
		if lv.placed > 0 {
			fmt.Fprintf(out, "%d clients: %.1f statements inside write transactions per checkout\n", lv.clients,
				float64(lv.trips.txStatements)/float64(lv.placed))
		}
		if lv.trips.txRollbacks > 0 || lv.rollbacks > 0 {
			fmt.Fprintf(out, "%d clients: %d rollbacks by the pool, %d in the database\n", lv.clients, lv.trips.txRollbacks, lv.rollbacks)
		}
		if lv.errors > 0 {
			fmt.Fprintf(out, "%d clients: %d failed checkouts, first: %s\n", lv.clients, lv.errors, lv.firstError)
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// findPgbench returns the pgbench binary to run.
func findPgbench(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if p, err := exec.LookPath("pgbench"); err == nil {
		return p, nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench")
	if len(matches) > 0 {
		slices.Sort(matches)
		return matches[len(matches)-1], nil
	}
	return "", errors.New("pgbench not found: install PostgreSQL's client tools or pass -pgbench")
}

// runPgbench runs pgbench with args and returns its combined output.
func runPgbench(ctx context.Context, bin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	b, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("pgbench %s: %w\n%s", strings.Join(redactArgs(args), " "), err, b)
	}
	return string(b), nil
}

var (
	tpsRE     = regexp.MustCompile(`(?m)^tps = ([0-9.]+) \(without initial connection time\)`)
	anyTPSRE  = regexp.MustCompile(`(?m)^tps = ([0-9.]+)`)
	latencyRE = regexp.MustCompile(`(?m)^latency average = ([0-9.]+) ms`)
)

// parsePgbench reads the tps (without initial connection time when
// pgbench reports it) and the average latency of a pgbench run.
func parsePgbench(output string) (float64, string, error) {
	m := tpsRE.FindStringSubmatch(output)
	if m == nil {
		m = anyTPSRE.FindStringSubmatch(output)
	}
	if m == nil {
		return 0, "", fmt.Errorf("no tps in pgbench output:\n%s", output)
	}
	tps, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, "", fmt.Errorf("pgbench tps %q: %w", m[1], err)
	}
	lat := "-"
	if l := latencyRE.FindStringSubmatch(output); l != nil {
		lat = l[1]
	}
	return tps, lat, nil
}

// withDatabase returns base with its database replaced by name.
func withDatabase(base, name string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("-database-url must be a postgres:// URL")
	}
	u.Path = "/" + name
	return u.String(), nil
}

func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "<invalid URL>"
	}
	return u.Redacted()
}

func redactArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.Contains(a, "://") {
			a = redact(a)
		}
		out[i] = a
	}
	return out
}
