package lifecycle_test

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"billing/internal/bench/footprint"
	"billing/internal/pulid"
	"billing/internal/store"
)

// renewFloorStatements are BenchmarkAutoRenew's database floor: the writes
// of the auto-renewals of the due resources as hand-written set-based SQL,
// straight from the resources table — no Go, no checks, one statement per
// table — for a chunk of accounts (:accounts) in one transaction, timed,
// then rolled back (no commit to wait for), in as many lanes at once as
// the sweep (AutoRenewLanes, accounts split between them as the sweep
// splits them). It is the best case we know how to write for these rows
// with this schema's keys, indexes and foreign keys, not a proven bound:
// over 100,000 renewals the sweep came level with it (session 6). Each
// statement repeats the due rows' selection (:lo ≤ period end < :hi, as
// the plain UPDATE, within the chunk); the invoices come last, as in the
// sweep, since their sequence row is held until the end of the
// transaction, in one statement with the resources' update (which they
// are made from) and their lines.
//
// Chunks of about floorChunk renewals: in one lane, one statement per
// table over 20,000 renewals at once ran at 2,350–2,670 a second, over
// 2,000 at 4,340 (session 6).
//
// Parameters are named (see bind): :now, the due window :lo and :hi, the
// chunk's accounts, the invoice code prefix, the chunk's size :n and the
// attempt step.
var renewFloorStatements = []string{
	`SELECT count(*) FROM (SELECT id FROM resources WHERE ` + dueRows + ` ORDER BY id FOR UPDATE) r`,
	`SELECT count(*) FROM (SELECT account_id FROM wallets
		WHERE account_id IN (SELECT account_id FROM resources WHERE ` + dueRows + `) ORDER BY account_id FOR UPDATE) w`,
	`INSERT INTO lifecycle_steps (id, resource_id, period_end, step, outcome, created_at)
		SELECT 'flr1' || id, id, period_end, 'AUTO_RENEW', 'RENEWED', :now FROM resources WHERE ` + dueRows,
	`INSERT INTO orders (id, created_at, updated_at, status, subtotal, discount, total, currency, idempotency_key, account_id)
		SELECT 'flro' || id, :now, :now, 'COMPLETED', period_price, 0, period_price, 'VND', 'floor:' || id, account_id
		FROM resources WHERE ` + dueRows,
	`INSERT INTO order_items (id, created_at, updated_at, account_id, action, plan_id, resource_id, quantity, period_months,
			components, amount, discount, total, status, order_id)
		SELECT 'flri' || id, :now, :now, account_id, 'RENEW', plan_id, id, 1, auto_renew_months,
			components, period_price, 0, period_price, 'SUCCEEDED', 'flro' || id
		FROM resources WHERE ` + dueRows,
	`INSERT INTO payments (id, created_at, updated_at, purpose, method, status, amount, credit_amount, gateway_amount,
			refunded_amount, currency, invoice_ids, idempotency_key, account_id, order_id)
		SELECT 'flrp' || id, :now, :now, 'ORDER', 'CREDIT', 'SUCCEEDED', period_price, period_price, 0, 0, 'VND',
			jsonb_build_array('flrv' || id), 'floor:' || id, account_id, 'flro' || id
		FROM resources WHERE ` + dueRows,
	`INSERT INTO ledger_transactions (id, account_id, kind, description, reference, actor, created_at)
		SELECT 'flrt' || id, account_id, 'PURCHASE', 'Order payment', 'flrp' || id, 'system:scheduler', :now
		FROM resources WHERE ` + dueRows,
	`INSERT INTO ledger_entries (id, transaction_id, ledger_account_id, kind, ledger_kind, amount, description, created_at,
			account_id, balance_after, held_after, reference)
		SELECT 'flre' || d.id || e.leg, 'flrt' || d.id, CASE e.leg WHEN 1 THEN la.id ELSE rev.id END, 'PURCHASE',
			CASE e.leg WHEN 1 THEN 'CUSTOMER_AVAILABLE' ELSE 'REVENUE' END,
			CASE e.leg WHEN 1 THEN -d.period_price ELSE d.period_price END, 'Order payment', :now,
			CASE e.leg WHEN 1 THEN d.account_id END, CASE e.leg WHEN 1 THEN w.balance - d.taken END,
			CASE e.leg WHEN 1 THEN w.held END, 'flrp' || d.id
		FROM (SELECT id, account_id, period_price,
				sum(period_price) OVER (PARTITION BY account_id ORDER BY period_end, id) AS taken
			FROM resources WHERE ` + dueRows + `) d
		JOIN wallets w ON w.account_id = d.account_id
		JOIN ledger_accounts la ON la.account_id = d.account_id AND la.kind = 'CUSTOMER_AVAILABLE'
		CROSS JOIN (SELECT id FROM ledger_accounts WHERE code = 'system:revenue') rev
		CROSS JOIN (VALUES (1), (2)) AS e(leg)`,
	`UPDATE wallets w SET balance = w.balance - s.total, version = w.version + s.n, updated_at = :now
		FROM (SELECT account_id, sum(period_price) AS total, count(*) AS n FROM resources WHERE ` + dueRows + `
			GROUP BY account_id) s
		WHERE w.account_id = s.account_id AND w.balance - w.held >= s.total`,
	`WITH e AS (INSERT INTO outbox_events (topic, account_id, subject_id, payload, created_at)
		SELECT e.topic, d.account_id, e.subject, convert_to(e.payload::text, 'UTF8'), :now
		FROM (SELECT * FROM resources WHERE ` + dueRows + ` ORDER BY period_end, id) d
		JOIN wallets w ON w.account_id = d.account_id
		CROSS JOIN LATERAL (VALUES
			(1, 'payment', 'flrp' || d.id, json_build_object('paymentId', 'flrp' || d.id, 'orderId', 'flro' || d.id,
				'purpose', 'ORDER', 'status', 'PENDING', 'refundedAmount', '0', 'final', false)),
			(2, 'wallet', w.id, json_build_object('accountId', d.account_id, 'balance', w.balance::text, 'held', w.held::text,
				'available', (w.balance - w.held)::text, 'version', w.version)),
			(3, 'payment', 'flrp' || d.id, json_build_object('paymentId', 'flrp' || d.id, 'orderId', 'flro' || d.id,
				'purpose', 'ORDER', 'status', 'SUCCEEDED', 'previous', 'PENDING', 'refundedAmount', '0', 'final', false)),
			(4, 'resource', d.id, json_build_object('resourceId', d.id, 'accountId', d.account_id, 'transition', 'Renew',
				'from', d.state, 'to', d.state, 'periodEnd', d.period_end + interval '30 days', 'reason', 'renewed automatically')),
			(5, 'payment', 'flrp' || d.id, json_build_object('paymentId', 'flrp' || d.id, 'orderId', 'flro' || d.id,
				'purpose', 'ORDER', 'status', 'SUCCEEDED', 'resourceId', d.id, 'provisioned', true, 'final', true)),
			(6, 'notification', 'flrn' || d.id, json_build_object('id', 'flrn' || d.id, 'kind', 'autorenew.succeeded',
				'title', 'Auto-renewed ' || d.name, 'resourceId', d.id, 'createdAt', :now::timestamptz))
		) AS e(n, topic, subject, payload)
		ORDER BY d.period_end, d.id, e.n
		RETURNING id)
	SELECT pg_notify('billing_outbox', max(e.id)::text) FROM e`,
	`INSERT INTO lifecycle_steps (id, resource_id, period_end, step, outcome, created_at)
		SELECT 'flr2' || id, id, period_end, :step, 'RENEWED', :now FROM resources WHERE ` + dueRows,
	`INSERT INTO notifications (id, created_at, updated_at, account_id, kind, resource_id, title, body, dedupe_key)
		SELECT 'flrn' || id, :now, :now, account_id, 'autorenew.succeeded', id, 'Auto-renewed ' || name,
			name || ' was renewed for 1 month from your credit; it now runs until ' || (period_end + interval '30 days')::text || '.',
			'floor:' || id
		FROM resources WHERE ` + dueRows + ` ON CONFLICT (dedupe_key) DO NOTHING`,
	// The resources, their invoices and lines in one statement: the
	// updated rows are what the invoices are made of.
	`WITH r AS (
		UPDATE resources SET period_start = period_end, period_end = period_end + interval '30 days',
			period_paid = period_price, period_months = period_months + auto_renew_months, updated_at = :now
		WHERE ` + dueRows + `
		RETURNING id, account_id, product_id, components, period_price, period_start, period_end),
	seq AS (
		INSERT INTO invoice_sequences AS s (id, last_value) VALUES (:prefix, :n) ON CONFLICT (id) DO UPDATE SET last_value = s.last_value + :n
		RETURNING s.last_value - :n AS base),
	i AS (
		INSERT INTO invoices (id, code, account_id, resource_id, product_id, order_id, action, status, period_start, period_end,
			subtotal, vat, discount, total, amount_paid, currency, issued_at, paid_at, created_at, updated_at)
		SELECT 'flrv' || d.id, :prefix || '-' || lpad((seq.base + d.ord)::text, 6, '0'), d.account_id, d.id, d.product_id,
			'flro' || d.id, 'AUTO_RENEW', 'PAID', d.period_start, d.period_end,
			round(d.period_price / 1.1), d.period_price - round(d.period_price / 1.1), 0, d.period_price, d.period_price, 'VND',
			:now, :now, :now, :now
		FROM (SELECT *, row_number() OVER (ORDER BY period_start, id) AS ord FROM r) d, seq
		ORDER BY d.ord)
	INSERT INTO invoice_lines (id, invoice_id, account_id, position, description, unit_price, quantity, duration_minutes,
			period_start, period_end, discount_percent, coupon_share, amount)
		SELECT 'flrl' || r.id || c.n, 'flrv' || r.id, r.account_id, c.n, c.e->>'name', ((c.e->>'unitPrice')::numeric * 10000)::bigint,
			(c.e->>'quantity')::bigint, 43200, r.period_start, r.period_end, 0, 0,
			((c.e->>'unitPrice')::numeric * (c.e->>'quantity')::numeric * 10000)::bigint
		FROM r CROSS JOIN LATERAL jsonb_array_elements(r.components) WITH ORDINALITY AS c(e, n)`,
}

// dueRows selects the resources of the chunk's accounts that the sweep
// renews: those whose period ends in [:lo, :hi).
const dueRows = `billing_mode = 'PREPAID' AND auto_renew AND state IN ('ACTIVE', 'STOPPED', 'GRACE')
	AND period_end >= :lo AND period_end < :hi AND account_id = ANY(:accounts::text[])`

// floorChunk is about how many renewals a floor transaction writes: whole
// accounts until at least that many.
const floorChunk = 2000

// renewFootprint is what auto-renewals change: the rows of every table,
// the wallets' versions and balances, the invoice numbers taken and how
// far the resources' periods reach (in seconds).
func renewFootprint(ctx context.Context, q footprint.Querier) (footprint.Counts, error) {
	return footprint.Take(ctx, q, "", map[string]string{
		"wallets.version":              `SELECT coalesce(sum(version), 0) FROM wallets`,
		"wallets.balance":              `SELECT coalesce(sum(balance), 0) FROM wallets`,
		"invoice_sequences.last_value": `SELECT coalesce(sum(last_value), 0) FROM invoice_sequences`,
		"resources.period_end seconds": `SELECT coalesce(sum(extract(epoch FROM period_end)::bigint), 0)::bigint FROM resources`,
	})
}

// runRenewFloor times renewFloorStatements over the rows due at now (the
// window of the plain UPDATE, lo ≤ period end < hi) in lanes lanes, and
// returns the time and what one renewal writes.
//
// What one renewal writes comes from a first chunk, untimed, whose
// footprint (counted before its rollback) is divided by its renewals; the
// caller compares it, times the number due, with what the sweep writes.
//
// Each lane runs on a connection whose plans are discarded before and
// after, with sequential scans off, so that the foreign-key checks' cached
// plans are index lookups (the plan a session keeps when it first checks a
// key against a young table can be a sequential scan; see
// ledger.DebitAll): the floor is the best case.
func runRenewFloor(b *testing.B, db *store.DB, now, lo, hi time.Time, prefix, step string, lanes int) (time.Duration, footprint.Counts) {
	b.Helper()
	ctx := context.Background()
	// What is made once, not per renewal — the revenue ledger account and
	// the month's invoice sequence row — is made first, committed, so
	// that neither the chunks nor the sweep after them make it.
	_, err := db.SQL.ExecContext(ctx, `INSERT INTO ledger_accounts (id, created_at, updated_at, account_id, code, kind, currency)
		VALUES ($1, $2, $2, NULL, 'system:revenue', 'REVENUE', 'VND') ON CONFLICT (code) DO NOTHING`, string(pulid.New("lac")), now)
	require.NoError(b, err)
	_, err = db.SQL.ExecContext(ctx, `INSERT INTO invoice_sequences (id, last_value) VALUES ($1, 0) ON CONFLICT (id) DO NOTHING`, prefix)
	require.NoError(b, err)

	// Chunks: whole accounts, in account order, floorChunk renewals or more.
	params := map[string]any{"now": now, "lo": lo.UTC(), "hi": hi.UTC(), "prefix": prefix, "step": step}
	q, args := bind(`SELECT account_id, count(*) FROM resources WHERE `+
		strings.ReplaceAll(dueRows, " AND account_id = ANY(:accounts::text[])", "")+` GROUP BY account_id ORDER BY account_id`, params)
	rows, err := db.SQL.QueryContext(ctx, q, args...)
	require.NoError(b, err)
	type chunk struct {
		accounts []string
		n        int
	}
	var chunks []chunk
	cur := chunk{}
	for rows.Next() {
		var (
			acc string
			n   int
		)
		require.NoError(b, rows.Scan(&acc, &n))
		cur.accounts, cur.n = append(cur.accounts, acc), cur.n+n
		if cur.n >= floorChunk {
			chunks, cur = append(chunks, cur), chunk{}
		}
	}
	require.NoError(b, rows.Err())
	require.NoError(b, rows.Close())
	if cur.n > 0 {
		chunks = append(chunks, cur)
	}
	require.NotEmpty(b, chunks)
	run := func(conn *sql.Conn, c chunk, wrote func(tx *sql.Tx)) time.Duration {
		p := maps.Clone(params)
		p["accounts"], p["n"] = pq.Array(c.accounts), c.n
		return floorChunkTx(b, ctx, conn, p, wrote)
	}

	// What one renewal writes, from the first chunk.
	conns := make([]*sql.Conn, lanes)
	for i := range conns {
		conns[i], err = db.SQL.Conn(ctx)
		require.NoError(b, err)
		_, err = conns[i].ExecContext(ctx, `DISCARD PLANS`)
		require.NoError(b, err)
		defer func(c *sql.Conn) {
			_, _ = c.ExecContext(ctx, `DISCARD PLANS`)
			_ = c.Close()
		}(conns[i])
	}
	before, err := renewFootprint(ctx, conns[0])
	require.NoError(b, err)
	var one footprint.Counts
	run(conns[0], chunks[0], func(tx *sql.Tx) {
		after, err := renewFootprint(ctx, tx)
		require.NoError(b, err)
		one = footprint.Counts{}
		for k, v := range after.Sub(before) {
			require.Zero(b, v%int64(chunks[0].n), "%s: %d for %d renewals", k, v, chunks[0].n)
			one[k] = v / int64(chunks[0].n)
		}
	})

	// Timed: every chunk, lanes at once, each lane its share in turn.
	start := time.Now()
	var wg sync.WaitGroup
	for l, conn := range conns {
		wg.Go(func() {
			for i := l; i < len(chunks); i += lanes {
				run(conn, chunks[i], nil)
			}
		})
	}
	wg.Wait()
	return time.Since(start), one
}

// floorChunkTx runs renewFloorStatements with params in one transaction on
// conn, calls wrote (when not nil) before the rollback, and returns their
// time.
func floorChunkTx(b *testing.B, ctx context.Context, conn *sql.Conn, params map[string]any, wrote func(*sql.Tx)) time.Duration {
	b.Helper()
	tx, err := conn.BeginTx(ctx, nil)
	require.NoError(b, err)
	defer func() { _ = tx.Rollback() }()
	_, err = tx.ExecContext(ctx, `SET LOCAL enable_seqscan = off`)
	require.NoError(b, err)
	trace := os.Getenv("BILLING_BENCH_FLOOR_TRACE") != ""
	start := time.Now()
	for _, q := range renewFloorStatements {
		q, args := bind(q, params)
		t0 := time.Now()
		_, err := tx.ExecContext(ctx, q, args...)
		require.NoError(b, err, q)
		if trace {
			fmt.Fprintf(os.Stderr, "floor: %8.1f ms  %.70s\n", float64(time.Since(t0).Microseconds())/1000, strings.Join(strings.Fields(q), " "))
		}
	}
	d := time.Since(start)
	if wrote != nil {
		_, err = tx.ExecContext(ctx, `SET LOCAL enable_seqscan = on`)
		require.NoError(b, err)
		wrote(tx)
	}
	require.NoError(b, tx.Rollback())
	return d
}

// bind turns q's named parameters (:name outside string literals, not
// the ::type of a cast) into $1, $2, … in order of first use, with their
// values from params.
func bind(q string, params map[string]any) (string, []any) {
	var (
		out     strings.Builder
		args    []any
		pos     = map[string]int{}
		quoted  bool
		isIdent = func(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' }
	)
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			quoted = !quoted
		case quoted || c != ':':
		case i+1 < len(q) && q[i+1] == ':': // a cast: copy both colons
			out.WriteString("::")
			i++
			continue
		case i+1 < len(q) && isIdent(q[i+1]):
			j := i + 1
			for j < len(q) && isIdent(q[j]) {
				j++
			}
			name := q[i+1 : j]
			if _, ok := pos[name]; !ok {
				v, ok := params[name]
				if !ok {
					panic("floor: no value for :" + name)
				}
				args = append(args, v)
				pos[name] = len(args)
			}
			out.WriteString("$" + strconv.Itoa(pos[name]))
			i = j - 1
			continue
		}
		out.WriteByte(c)
	}
	return out.String(), args
}

func TestFloorBind(t *testing.T) {
	q, args := bind(`SELECT :now::timestamptz, 'system:revenue', :lo, x::text, :now WHERE a = :hi`,
		map[string]any{"now": 1, "lo": 2, "hi": 3, "unused": 4})
	require.Equal(t, `SELECT $1::timestamptz, 'system:revenue', $2, x::text, $1 WHERE a = $3`, q)
	require.Equal(t, []any{1, 2, 3}, args)
	require.PanicsWithValue(t, "floor: no value for :step", func() { bind(`SELECT :step`, nil) })
}
