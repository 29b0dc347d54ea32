package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"billing/ent"
	entaccount "billing/ent/account"
	"billing/ent/invoice"
	"billing/ent/lifecyclestep"
	"billing/ent/orderitem"
	"billing/ent/payment"
	"billing/ent/resource"
	"billing/internal/checkout"
	"billing/internal/events"
	"billing/internal/lifecycle"
	"billing/internal/pulid"
	"billing/internal/testdb"
)

// renewalScene is a set of accounts and resources whose auto-renew
// attempts at T−7 (Dec 20, 08:00 in Hanoi) cover every outcome: renewed
// from credit, short of credit (and the account's later ones failing
// with it), from GRACE back to ACTIVE, STOPPED, a 3-month period, a
// payment in progress, a period no longer sold, a suspended account, and
// an account left to AutoRenew (a price snapshot that disagrees with its
// configuration).
type renewalScene struct {
	// res are the resources, named r00… in creation order.
	res []*ent.Resource
	// accs are the accounts, in creation order.
	accs []pulid.ID
}

// seedRenewals builds the scene in b (the same in every bundle, ids
// aside): resources bought at t0 + i minutes, ending 30 days later.
func seedRenewals(t *testing.T, b *bundle) *renewalScene {
	t.Helper()
	sc := &renewalScene{}
	const price = 181_000
	buy := func(acc pulid.ID, plan string) *ent.Resource {
		b.clock.Advance(time.Minute)
		r := b.buy(t, acc, plan, 1)
		name := fmt.Sprintf("r%02d", len(sc.res))
		require.NoError(t, b.db.Client.Resource.UpdateOneID(r.ID).SetName(name).SetUpdatedAt(b.clock.Now()).Exec(b.sys))
		r.Name = name
		sc.res = append(sc.res, r)
		return r
	}
	account := func(credit int64) pulid.ID {
		acc := b.account(t)
		b.fund(t, acc, credit)
		sc.accs = append(sc.accs, acc)
		return acc
	}
	// Short: four due, credit for the purchases and two renewals and a half.
	short := account(4*price + 2*price + price/2)
	for range 4 {
		buy(short, "s-general-1x1")
	}
	// Rich: GRACE (ended before the run: its last attempt, T), STOPPED,
	// 3 months, and a storage.
	rich := account(100_000_000)
	grace := buy(rich, "s-general-1x1")
	stopped := buy(rich, "s-general-2x4")
	three := buy(rich, "s-general-1x1")
	buy(rich, "object")
	end := local(time.December, 20, 7, 0).UTC()
	require.NoError(t, b.db.Client.Resource.UpdateOneID(grace.ID).SetState(resource.StateGRACE).
		SetPeriodEnd(end).SetPeriodStart(end.Add(-month)).SetUpdatedAt(b.clock.Now()).Exec(b.sys))
	require.NoError(t, b.db.Client.Resource.UpdateOneID(stopped.ID).SetState(resource.StateSTOPPED).SetUpdatedAt(b.clock.Now()).Exec(b.sys))
	require.NoError(t, b.db.Client.Resource.UpdateOneID(three.ID).SetAutoRenewMonths(3).SetUpdatedAt(b.clock.Now()).Exec(b.sys))
	// Busy: a renewal paid at the gateway, not finished; and one free.
	busy := account(100_000_000)
	pending := buy(busy, "s-general-1x1")
	buy(busy, "s-general-1x1")
	_, err := b.checkout.PlaceActionOrder(customer(busy), checkout.ActionOrderInput{
		IdempotencyKey: "renew-at-gateway", Method: payment.MethodGATEWAY, ReturnURL: "https://app.test/done",
		Items: []checkout.ActionItem{{Action: orderitem.ActionRENEW, ResourceID: pending.ID, Months: 1}},
	})
	require.NoError(t, err)
	// A period no longer sold (2 months), then one that renews.
	unsold := account(100_000_000)
	two := buy(unsold, "s-general-1x1")
	buy(unsold, "s-general-1x1")
	require.NoError(t, b.db.Client.Resource.UpdateOneID(two.ID).SetAutoRenewMonths(2).SetUpdatedAt(b.clock.Now()).Exec(b.sys))
	// A suspended account.
	suspended := account(100_000_000)
	buy(suspended, "s-general-1x1")
	require.NoError(t, b.db.Client.Account.UpdateOneID(suspended).SetStatus(entaccount.StatusSUSPENDED).SetUpdatedAt(b.clock.Now()).Exec(b.sys))
	// Many due, credit for three: with small chunks the account spans
	// several, runs short in one and fails the next ones unattempted.
	many := account(6*price + 3*price)
	for range 6 {
		buy(many, "s-general-1x1")
	}
	// A snapshot that disagrees with the configuration: AutoRenew's rules
	// (a refund of the renewal) decide this account, one by one.
	odd := account(100_000_000)
	mismatch := buy(odd, "s-general-1x1")
	buy(odd, "s-general-1x1")
	require.NoError(t, b.db.Client.Resource.UpdateOneID(mismatch.ID).SetPeriodPrice(vnd(170_000)).SetUpdatedAt(b.clock.Now()).Exec(b.sys))
	return sc
}

// attemptSteps lists every resource's attempt steps, as "name step outcome".
func (sc *renewalScene) attemptSteps(t *testing.T, b *bundle) []string {
	t.Helper()
	var out []string
	for _, r := range sc.res {
		ss, err := b.db.Client.LifecycleStep.Query().Where(lifecyclestep.ResourceID(r.ID)).
			Order(ent.Asc(lifecyclestep.FieldStep)).All(b.sys)
		require.NoError(t, err)
		for _, s := range ss {
			out = append(out, r.Name+" "+s.Step+" "+s.Outcome)
		}
	}
	return out
}

// renewalOutcomes are the attempt steps the scene leaves at T−7.
var renewalOutcomes = []string{
	"r00 AUTO_RENEW RENEWED", "r00 AUTO_RENEW_ATTEMPT_T-7 RENEWED",
	"r01 AUTO_RENEW RENEWED", "r01 AUTO_RENEW_ATTEMPT_T-7 RENEWED",
	"r02 AUTO_RENEW_ATTEMPT_T-7 FAILED INSUFFICIENT_CREDIT",
	"r03 AUTO_RENEW_ATTEMPT_T-7 FAILED INSUFFICIENT_CREDIT",
	"r04 AUTO_RENEW RENEWED", "r04 AUTO_RENEW_ATTEMPT_T RENEWED",
	"r05 AUTO_RENEW RENEWED", "r05 AUTO_RENEW_ATTEMPT_T-7 RENEWED",
	"r06 AUTO_RENEW RENEWED", "r06 AUTO_RENEW_ATTEMPT_T-7 RENEWED",
	"r07 AUTO_RENEW RENEWED", "r07 AUTO_RENEW_ATTEMPT_T-7 RENEWED",
	"r08 AUTO_RENEW_ATTEMPT_T-7 FAILED CONFLICT",
	"r09 AUTO_RENEW RENEWED", "r09 AUTO_RENEW_ATTEMPT_T-7 RENEWED",
	"r10 AUTO_RENEW_ATTEMPT_T-7 FAILED INVALID_INPUT",
	"r11 AUTO_RENEW RENEWED", "r11 AUTO_RENEW_ATTEMPT_T-7 RENEWED",
	"r12 AUTO_RENEW_ATTEMPT_T-7 FAILED INVALID_STATE",
	"r13 AUTO_RENEW RENEWED", "r13 AUTO_RENEW_ATTEMPT_T-7 RENEWED",
	"r14 AUTO_RENEW RENEWED", "r14 AUTO_RENEW_ATTEMPT_T-7 RENEWED",
	"r15 AUTO_RENEW RENEWED", "r15 AUTO_RENEW_ATTEMPT_T-7 RENEWED",
	"r16 AUTO_RENEW_ATTEMPT_T-7 FAILED INSUFFICIENT_CREDIT",
	"r17 AUTO_RENEW_ATTEMPT_T-7 FAILED INSUFFICIENT_CREDIT",
	"r18 AUTO_RENEW_ATTEMPT_T-7 FAILED INSUFFICIENT_CREDIT",
	// AutoRenew's own rules: the payment's action failed and was
	// refunded, the attempt counts as made.
	"r19 AUTO_RENEW RENEWED", "r19 AUTO_RENEW_ATTEMPT_T-7 RENEWED",
	"r20 AUTO_RENEW RENEWED", "r20 AUTO_RENEW_ATTEMPT_T-7 RENEWED",
}

// TestAutoRenewAllMatchesOneByOne: the set-based attempts (PostgreSQL:
// checkout.AutoRenewAll, a chunk of resources per transaction) leave
// exactly the rows the one-by-one attempts (AutoRenew, a transaction per
// resource) leave — every table, ids aside — with the outcomes below,
// whatever the chunk size: a chunk of 2 splits accounts over chunks. On
// SQLite, which keeps the one-by-one path, the outcomes are checked.
func TestAutoRenewAllMatchesOneByOne(t *testing.T) {
	t.Parallel()
	run := func(t *testing.T, setBased bool, chunk int) (*bundle, *renewalScene) {
		b := scheduled(t)
		sc := seedRenewals(t, b)
		now := b.to(t, local(time.December, 20, 8, 0))
		made, err := lifecycle.RunAutoRenewAttemptsWith(b.svc, b.sys, now, setBased, chunk)
		require.NoError(t, err)
		require.Equal(t, 21, made)
		require.Equal(t, renewalOutcomes, sc.attemptSteps(t, b))
		// A second run finds every attempt made.
		made, err = lifecycle.RunAutoRenewAttemptsWith(b.svc, b.sys, now, setBased, chunk)
		require.NoError(t, err)
		require.Zero(t, made)
		for _, acc := range sc.accs {
			require.NoError(t, b.ledger.Verify(b.sys, acc))
		}
		return b, sc
	}
	ref, _ := run(t, false, 0)
	if !testdb.Postgres() {
		return
	}
	refRows := dumpRows(t, ref)
	for _, chunk := range []int{2, 1000} {
		t.Run(fmt.Sprint("chunk ", chunk), func(t *testing.T) {
			b, _ := run(t, true, chunk)
			got, refRows := dumpRows(t, b), refRows
			if chunk == 2 {
				// Two lanes (attemptLanes): the invoices are numbered in
				// the order the lanes' chunks commit. The same codes, gapless,
				// on the same invoices otherwise.
				want, wantCodes := maskCodes(refRows["invoices"])
				have, haveCodes := maskCodes(got["invoices"])
				require.Equal(t, wantCodes, haveCodes)
				refRows, got["invoices"] = maps.Clone(refRows), have
				refRows["invoices"] = want
			}
			for _, table := range sortedKeys(refRows) {
				assert.Equal(t, refRows[table], got[table], "table %s", table)
			}
			require.Equal(t, sortedKeys(refRows), sortedKeys(got))
		})
	}
}

// TestAutoRenewAllConcurrent: two instances making the same attempts at
// once renew each period once, charge once and record each outcome once.
func TestAutoRenewAllConcurrent(t *testing.T) {
	t.Parallel()
	testdb.RequirePostgres(t)
	b := scheduled(t)
	sc := seedRenewals(t, b)
	now := b.to(t, local(time.December, 20, 8, 0))
	other := lifecycle.New(lifecycle.Config{
		DB: b.db, Checkout: b.checkout, Ledger: b.ledger, Outbox: events.NewOutbox(b.db.IsPostgres(), nil), Clock: b.clock, Location: hcm,
	})
	var (
		wg    sync.WaitGroup
		made  [2]int
		errs  [2]error
		svcs  = [2]*lifecycle.Service{b.svc, other}
		chunk = [2]int{2, 3}
	)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			made[i], errs[i] = lifecycle.RunAutoRenewAttemptsWith(svcs[i], b.sys, now, true, chunk[i])
		}()
	}
	wg.Wait()
	// Both take the resources, then the steps, wallets and sequence, in
	// one order: neither fails; the one that waits finds the periods
	// renewed (or the attempts made) and does nothing more.
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.GreaterOrEqual(t, made[0]+made[1], 21)
	again, err := b.svc.RunAutoRenewAttempts(b.sys, now)
	require.NoError(t, err)
	require.Zero(t, again, "every attempt was made by the two runs")
	require.Equal(t, renewalOutcomes, sc.attemptSteps(t, b))
	for _, r := range sc.res {
		n, err := b.db.Client.Invoice.Query().Where(invoice.ResourceID(r.ID), invoice.ActionEQ(invoice.ActionAUTO_RENEW)).Count(b.sys)
		require.NoError(t, err)
		require.LessOrEqual(t, n, 1, r.Name)
	}
	for _, acc := range sc.accs {
		require.NoError(t, b.ledger.Verify(b.sys, acc))
	}
}

// codePattern matches an invoice's code in a dumped row.
var codePattern = regexp.MustCompile(`code=INV-\d{6}-\d+ `)

// maskCodes returns the dumped invoice rows with their codes masked,
// sorted, and the codes, sorted.
func maskCodes(rows []string) ([]string, []string) {
	var masked, codes []string
	for _, r := range rows {
		codes = append(codes, codePattern.FindString(r))
		masked = append(masked, codePattern.ReplaceAllString(r, "code=* "))
	}
	slices.Sort(masked)
	slices.Sort(codes)
	return masked, codes
}

// idPattern matches the prefixed ULIDs of every table (pulid).
var idPattern = regexp.MustCompile(`\b(?:([a-z]{1,4})_)?[0-9A-HJKMNP-TV-Z]{26}\b`)

// dumpRows renders every row of every table of b's database, ids replaced
// by their prefix, sorted per table: what two runs that did the same
// things, with other ids, leave equal.
func dumpRows(t *testing.T, b *bundle) map[string][]string {
	t.Helper()
	ctx := context.Background()
	q := `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
	if !b.db.IsPostgres() {
		q = `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	}
	rows, err := b.db.SQL.QueryContext(ctx, q)
	require.NoError(t, err)
	var tables []string
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		if !strings.HasPrefix(name, "goose") && name != "schema_migrations" {
			tables = append(tables, name)
		}
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
	out := map[string][]string{}
	for _, table := range tables {
		q := `SELECT * FROM ` + table
		if table == "outbox_events" {
			q += ` ORDER BY id`
		}
		rows, err := b.db.SQL.QueryContext(ctx, q)
		require.NoError(t, err)
		cols, err := rows.Columns()
		require.NoError(t, err)
		var (
			rendered []string
			accounts []string // outbox_events: each row's account
		)
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			var sb strings.Builder
			for i, c := range cols {
				if c == "account_id" && table == "outbox_events" {
					accounts = append(accounts, render(vals[i]))
				}
				if ignored[table+"."+c] {
					continue
				}
				fmt.Fprintf(&sb, "%s=%s ", c, render(vals[i]))
			}
			rendered = append(rendered, idPattern.ReplaceAllString(sb.String(), "${1}_*"))
		}
		require.NoError(t, rows.Err())
		require.NoError(t, rows.Close())
		if table == "outbox_events" {
			out[table] = byAccount(rendered, accounts)
			continue
		}
		slices.Sort(rendered)
		out[table] = rendered
	}
	return out
}

// ignored are the columns that differ between two equal runs: the
// payment's last update takes ent's wall-clock default on the one-by-one
// path (the fake clock is not the wall clock), a request's hash covers
// its ids, and outbox ids follow the order byAccount relaxes.
var ignored = map[string]bool{
	"payments.updated_at": true, "idempotency_records.request_hash": true, "outbox_events.id": true,
	// The test catalog takes ent's wall-clock defaults.
	"products.created_at": true, "products.updated_at": true, "plans.created_at": true, "plans.updated_at": true,
	"plan_components.created_at": true, "plan_components.updated_at": true,
	"prices.created_at": true, "prices.updated_at": true,
}

// byAccount orders outbox rows (in id order) by account, in the order
// accounts first appear, keeping each account's own order, its notices'
// events apart: the set-based attempts write a chunk's renewals and then
// its notices, so two accounts' events interleave differently than one
// account after the other, and an account spanning chunks has its
// notices in two parts, while the order of each account's renewal
// events, of its notices and of each subject is the same.
func byAccount(rows, accounts []string) []string {
	var order []string
	groups := map[string][]string{}
	for i, r := range rows {
		a := accounts[i]
		if strings.HasPrefix(r, "topic=notification ") {
			a += " notices"
		}
		if _, ok := groups[a]; !ok {
			order = append(order, a)
		}
		groups[a] = append(groups[a], r)
	}
	// Accounts in a canonical order (by their rows, ids masked): lanes
	// (attemptLanes) run accounts side by side, so which account's rows
	// come first is not part of the contract; each account's own order is.
	slices.SortFunc(order, func(a, b string) int {
		return strings.Compare(strings.Join(groups[a], "\n"), strings.Join(groups[b], "\n"))
	})
	var out []string
	for _, a := range order {
		out = append(out, groups[a]...)
	}
	return out
}

func render(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano)
	case []byte:
		return string(v)
	}
	return fmt.Sprint(v)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TestAutoRenewAllRecordRollsBack: the outcomes are recorded in the
// renewals' transaction, so when recording them fails nothing of the
// chunk stands — no invoice, no debit, no step, the periods unchanged —
// and the next run renews them, once, with their outcomes.
func TestAutoRenewAllRecordRollsBack(t *testing.T) {
	t.Parallel()
	testdb.RequirePostgres(t)
	b := scheduled(t)
	sc := seedRenewals(t, b)
	now := b.to(t, local(time.December, 20, 8, 0))
	before := dumpRows(t, b)

	var reqs []checkout.AutoRenewRequest
	for _, r := range sc.res {
		r, err := b.db.Client.Resource.Get(b.sys, r.ID)
		require.NoError(t, err)
		reqs = append(reqs, checkout.AutoRenewRequest{ResourceID: r.ID, PeriodEnd: *r.PeriodEnd})
	}
	called, renewed := 0, 0
	_, err := b.checkout.AutoRenewAll(b.sys, reqs, func(_ context.Context, _ *ent.Tx, got []checkout.AutoRenewResult) error {
		called++
		for _, g := range got {
			if g.Renewed {
				renewed++
			}
		}
		return errors.New("notices are down")
	})
	require.ErrorContains(t, err, "notices are down")
	require.Equal(t, 1, called)
	// r19 and r20 are AutoRenew's (OneByOne): the other eleven renewals.
	require.Equal(t, 11, renewed, "renewed from credit by the chunk, then rolled back")
	after := dumpRows(t, b)
	for _, table := range sortedKeys(before) {
		assert.Equal(t, before[table], after[table], "table %s", table)
	}

	made, err := b.svc.RunAutoRenewAttempts(b.sys, now)
	require.NoError(t, err)
	require.Equal(t, 21, made)
	require.Equal(t, renewalOutcomes, sc.attemptSteps(t, b))
	for _, acc := range sc.accs {
		require.NoError(t, b.ledger.Verify(b.sys, acc))
	}
}
