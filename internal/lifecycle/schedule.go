package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"billing/ent"
	"billing/ent/lifecyclestep"
	"billing/ent/resource"
	"billing/internal/auth"
	"billing/internal/checkout"
	"billing/internal/fault"
	"billing/internal/lifecycle/internal/bulk"
	"billing/internal/notify"
	"billing/internal/pulid"
	"billing/internal/store"
)

// ScheduleHour is the hour, in the billing time zone, of the daily
// auto-renew attempts; the reminders job runs just after them (08:05).
const ScheduleHour = 8

// AutoRenewDays are the days before the local date of the period end T
// on which auto-renew tries to renew from credit, at ScheduleHour: T−7,
// T−4, T−1 and T itself, the last attempt of a period.
var AutoRenewDays = []int{7, 4, 1, 0}

// ReminderDays are the days before a deadline (expiry T, suspension,
// release) with a reminder: 7, 3 and 1.
var ReminderDays = []int{7, 3, 1}

// AttemptStep is the LifecycleStep step recording the outcome of the
// auto-renew attempt k days before T: AUTO_RENEW_ATTEMPT_T-7, _T-4, _T-1
// and AUTO_RENEW_ATTEMPT_T.
func AttemptStep(k int) string {
	if k == 0 {
		return "AUTO_RENEW_ATTEMPT_T"
	}
	return fmt.Sprintf("AUTO_RENEW_ATTEMPT_T-%d", k)
}

// Outcomes recorded in LifecycleStep.outcome for an attempt: RENEWED, or
// FAILED followed by the fault code ("FAILED INSUFFICIENT_CREDIT").
const (
	OutcomeRenewed = "RENEWED"
	OutcomeFailed  = "FAILED"
)

// attemptNotice is the dedupe step of a failed attempt's notice
// (autorenew.failed.t-7 … autorenew.failed.t); a success is notified once
// per period under autorenew.succeeded.
func attemptNotice(k int) string {
	if k == 0 {
		return notify.KindAutoRenewFailed + ".t"
	}
	return fmt.Sprintf("%s.t-%d", notify.KindAutoRenewFailed, k)
}

// Location is the billing time zone of the schedule.
func (s *Service) Location() *time.Location { return s.loc }

// AutoRenewSchedule returns when auto-renew tries to renew a period ending
// at end: ScheduleHour in loc on the local dates 7, 4, 1 and 0 days before
// end's local date, earliest first. The last one may come after end (an
// end before 08:00): the resource is then renewed from GRACE.
func AutoRenewSchedule(end time.Time, loc *time.Location) []time.Time {
	d := midnight(end, loc)
	out := make([]time.Time, len(AutoRenewDays))
	for i, k := range AutoRenewDays {
		out[i] = at(d.AddDate(0, 0, -k), loc)
	}
	return out
}

// midnight is the start of t's local date in loc.
func midnight(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

// at is ScheduleHour on the local date starting at d.
func at(d time.Time, loc *time.Location) time.Time {
	return time.Date(d.Year(), d.Month(), d.Day(), ScheduleHour, 0, 0, 0, loc)
}

// dayDiff is the number of calendar days from date a to date b (both
// local midnights), whatever the zone's DST does to their distance.
func dayDiff(a, b time.Time) int {
	ua := time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, time.UTC)
	ub := time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, time.UTC)
	return int(ub.Sub(ua) / day)
}

// runDay is the local date whose scheduled steps a run at now makes: the
// current date from ScheduleHour on, the day before until then.
func (s *Service) runDay(now time.Time) time.Time {
	d := midnight(now, s.loc)
	if now.Before(at(d, s.loc)) {
		d = d.AddDate(0, 0, -1)
	}
	return d
}

// current returns the step of steps (days before a deadline, descending)
// that is due diff days before it: the smallest step ≥ diff. A step k is
// due from ScheduleHour on the date k days before the deadline until the
// next step is; a run that missed its day makes it on the next run within
// that window, never twice.
func current(steps []int, diff int) (int, bool) {
	for i := len(steps) - 1; i >= 0; i-- {
		if steps[i] >= diff {
			return steps[i], true
		}
	}
	return 0, false
}

// attempt is one due auto-renew attempt.
type attempt struct {
	r *ent.Resource
	k int
}

// RunAutoRenewAttempts makes the auto-renew attempts due at now (the
// scheduler runs it at 08:00 in the billing time zone) and returns how
// many it made (renewed or failed).
//
// The attempt "on day T−k" (k = 7, 4, 1, 0; T the local date of the
// period end) is made by the first run from 08:00 on that date until the
// next attempt's 08:00 — the run of that day when the job runs daily, a
// later one if that run was missed. Due are prepaid resources with
// auto-renew on, in ACTIVE, STOPPED or GRACE, whose attempt for the
// current period end has no LifecycleStep yet. Per account, they are
// renewed in order, earliest end first (then by id); once credit runs
// short the account's later ones fail too, so a later resource never
// takes the credit an earlier one needed. On SQLite each is renewed with
// AutoRenew, one at a time; on PostgreSQL a chunk of them at a time with
// checkout.AutoRenewAll, which gives the same outcomes and rows (see
// attemptChunks and the package documentation).
//
// Each outcome is recorded once per (resource, period end, attempt) —
// LifecycleStep AttemptStep(k), outcome RENEWED or FAILED <code> — with
// its notice, in one transaction per account after its attempts:
// autorenew.succeeded once per period, autorenew.failed once per
// attempt. A second run, here or on another instance, finds the step and
// does nothing; a renewed resource is not due any more because its period
// end moved. After the attempt on T, no run makes another for that period.
//
// A failure that is not the customer's business (the database) records
// nothing and is returned, joined with the others, so that the next run
// within the window tries again. On PostgreSQL (AutoRenewAll) a chunk's
// outcomes and notices commit with its renewals, in one transaction. One
// by one (SQLite, and the accounts AutoRenewAll leaves to AutoRenew) a
// renewal commits in AutoRenew's own transaction and its record and
// notice in the account's next one: a crash between the two loses that
// success notice (the renewal and its invoice stand; the period end
// moved, so no run retries it), and the failures not yet recorded are
// simply attempted again.
func (s *Service) RunAutoRenewAttempts(ctx context.Context, now time.Time) (int, error) {
	return s.runAutoRenewAttempts(ctx, now, s.db.IsPostgres(), autoRenewChunk)
}

// runAutoRenewAttempts is RunAutoRenewAttempts, set-based (PostgreSQL
// only: attemptChunks, chunk attempts at a time) or one by one
// (attemptAccount); the tests compare the two.
func (s *Service) runAutoRenewAttempts(ctx context.Context, now time.Time, setBased bool, chunk int) (int, error) {
	ctx = auth.SystemContext(ctx)
	now = norm(now)
	d0 := s.runDay(now)
	first, last := AutoRenewDays[0], AutoRenewDays[len(AutoRenewDays)-1]
	rs, err := s.db.Client.Resource.Query().
		Where(
			resource.BillingModeEQ(resource.BillingModePREPAID),
			resource.AutoRenew(true),
			resource.StateIn(resource.StateACTIVE, resource.StateSTOPPED, resource.StateGRACE),
			// In UTC: SQLite compares times as text.
			resource.PeriodEndGTE(d0.AddDate(0, 0, last).UTC()),
			resource.PeriodEndLT(d0.AddDate(0, 0, first+1).UTC()),
		).
		Order(ent.Asc(resource.FieldAccountID), ent.Asc(resource.FieldPeriodEnd), ent.Asc(resource.FieldID)).
		Select(resource.FieldAccountID, resource.FieldName, resource.FieldState, resource.FieldPeriodEnd,
			resource.FieldAutoRenewMonths, resource.FieldProductID).
		All(ctx)
	if err != nil {
		return 0, fmt.Errorf("auto-renew: select due resources: %w", err)
	}
	due := make([]attempt, 0, len(rs))
	for _, r := range rs {
		if k, ok := current(AutoRenewDays, dayDiff(d0, midnight(*r.PeriodEnd, s.loc))); ok {
			due = append(due, attempt{r: r, k: k})
		}
	}
	due, err = s.notMade(ctx, due)
	if err != nil {
		return 0, err
	}

	if setBased {
		return s.attemptLanes(ctx, due, now, chunk)
	}
	var (
		made int
		errs []error
	)
	for i := 0; i < len(due); {
		j := i
		for j < len(due) && due[j].r.AccountID == due[i].r.AccountID {
			j++
		}
		n, err := s.attemptAccount(ctx, due[i:j], now)
		made += n
		if err != nil {
			errs = append(errs, err)
		}
		i = j
	}
	return made, errors.Join(errs...)
}

// notMade drops the attempts whose step is recorded already.
func (s *Service) notMade(ctx context.Context, due []attempt) ([]attempt, error) {
	if len(due) == 0 {
		return due, nil
	}
	steps := make([]string, len(AutoRenewDays))
	for i, k := range AutoRenewDays {
		steps[i] = AttemptStep(k)
	}
	type key struct {
		id   pulid.ID
		end  int64
		step string
	}
	made := map[key]bool{}
	for part := range slices.Chunk(due, SweepBatch) {
		ids := make([]pulid.ID, len(part))
		for i, a := range part {
			ids[i] = a.r.ID
		}
		rows, err := s.db.Client.LifecycleStep.Query().
			Where(lifecyclestep.ResourceIDIn(ids...), lifecyclestep.StepIn(steps...)).
			All(ctx)
		if err != nil {
			return nil, fmt.Errorf("auto-renew: read attempts: %w", err)
		}
		for _, st := range rows {
			made[key{st.ResourceID, st.PeriodEnd.UnixMicro(), st.Step}] = true
		}
	}
	return slices.DeleteFunc(due, func(a attempt) bool {
		return made[key{a.r.ID, a.r.PeriodEnd.UnixMicro(), AttemptStep(a.k)}]
	}), nil
}

// attemptAccount makes one account's due attempts, earliest end first,
// until credit runs short, then records their outcomes.
func (s *Service) attemptAccount(ctx context.Context, due []attempt, now time.Time) (int, error) {
	outcomes, errs, _ := s.renewOneByOne(ctx, due, now, false)
	if err := s.recordAttempts(ctx, outcomes, now); err != nil {
		return 0, errors.Join(append(errs, err)...)
	}
	return len(outcomes), errors.Join(errs...)
}

// renewOneByOne makes one account's due attempts with AutoRenew, in
// order, until credit runs short (or from the start when short is set:
// an earlier attempt of the account ran short), and returns their
// outcomes, the failures that are not the customer's business, and
// whether credit ran short.
func (s *Service) renewOneByOne(ctx context.Context, due []attempt, now time.Time, short bool) ([]outcome, []error, bool) {
	var (
		outcomes []outcome
		errs     []error
	)
	for _, a := range due {
		var (
			renewed bool
			err     error
		)
		if short {
			err = errShort()
		} else {
			renewed, err = s.checkout.AutoRenew(ctx, a.r.ID, *a.r.PeriodEnd)
		}
		o, ok, isShort, err := s.outcomeOf(a, renewed, err, now)
		switch {
		case err != nil:
			errs = append(errs, err)
		case ok:
			outcomes = append(outcomes, o)
		}
		short = short || isShort
	}
	return outcomes, errs, short
}

// errShort is the failure of an attempt after an earlier one of the
// account ran short of credit.
func errShort() error {
	return fault.New(fault.InsufficientCredit,
		"insufficient credit: what was left went to resources of the account that expire earlier")
}

// outcomeOf turns what AutoRenew (or AutoRenewAll) answered for a into
// its outcome (ok: there is one to record), whether credit ran short, or
// the error to return (not the customer's business: nothing is recorded).
func (s *Service) outcomeOf(a attempt, renewed bool, err error, now time.Time) (o outcome, ok, short bool, _ error) {
	f, isFault := fault.As(err)
	switch {
	case renewed:
		return outcome{a, OutcomeRenewed, s.renewedNotice(a.r, now)}, true, false, nil
	case err == nil:
		// Nothing to do: renewed meanwhile, switched off, changed state.
		return outcome{}, false, false, nil
	case isFault && f.Code != fault.Internal:
		return outcome{a, OutcomeFailed + " " + string(f.Code), s.failedNotice(a, f.Message, now)},
			true, f.Code == fault.InsufficientCredit, nil
	}
	return outcome{}, false, false, fmt.Errorf("auto-renew %s: %w", a.r.ID, err)
}

// autoRenewChunk is how many attempts one AutoRenewAll transaction makes
// on PostgreSQL. Its statements cost little per row, but the month's
// invoice sequence row stays locked from their numbering to the commit
// and every checkout that issues an invoice waits for it meanwhile: a
// few hundred keep that wait to a few tens of milliseconds
// (BenchmarkAutoRenew measures the checkouts under the sweep), while
// the fixed costs of a transaction (a dozen statements, a commit) are
// spread over enough rows.
const autoRenewChunk = 500

// AutoRenewLanes is how many chunks of auto-renewals run side by side,
// each on its own connection, over disjoint sets of accounts (see
// attemptLanes). A chunk's work is almost all PostgreSQL's, and one
// connection is one PostgreSQL process, so a single lane uses one core of
// the database however many it has. On the 2-core development VM
// (BenchmarkAutoRenew, BILLING_BENCH_AUTORENEW_LANES) one lane renewed
// 2,316 a second, two 3,342 and three 3,380: two fill both cores, more
// lanes than the database has cores only add contention. While customers
// pay, the lanes rest so that together they take no more of the time
// than one lane would (giveWayLanes).
const AutoRenewLanes = 2

// attemptLanes splits due (sorted by account, then earliest end first)
// into s.pace.lanes lanes of whole accounts, balanced by their number of
// attempts, and runs attemptChunks on each at once. Lanes share no
// account, so no resource or wallet either: the one row two lanes both
// lock is the month's invoice sequence row, which each chunk takes last,
// just before its commit (as every checkout does), so lanes queue there
// briefly and never deadlock. Each account's attempts stay in one lane,
// in order, as attemptChunks needs them. Invoice codes follow the order
// in which chunks commit, still gapless.
func (s *Service) attemptLanes(ctx context.Context, due []attempt, now time.Time, chunk int) (int, error) {
	lanes := splitLanes(due, max(1, s.pace.lanes), chunk)
	if len(lanes) == 1 {
		return s.attemptChunks(ctx, lanes[0], now, chunk, 1)
	}
	var (
		wg   sync.WaitGroup
		made = make([]int, len(lanes))
		errs = make([]error, len(lanes))
	)
	for i, lane := range lanes {
		wg.Go(func() { made[i], errs[i] = s.attemptChunks(ctx, lane, now, chunk, len(lanes)) })
	}
	wg.Wait()
	total := 0
	for _, n := range made {
		total += n
	}
	return total, errors.Join(errs...)
}

// splitLanes deals the accounts of due (each a run of consecutive
// attempts) to at most n lanes, each account to the lane with the fewest
// attempts so far, keeping due's order within each lane. Fewer lanes
// when there is not a full chunk for each: a small run is not worth a
// second connection.
func splitLanes(due []attempt, n, chunk int) [][]attempt {
	n = min(n, max(1, len(due)/max(1, chunk)))
	if n <= 1 {
		return [][]attempt{due}
	}
	lanes := make([][]attempt, n)
	for i := 0; i < len(due); {
		j := i
		for j < len(due) && due[j].r.AccountID == due[i].r.AccountID {
			j++
		}
		k := 0
		for l := range lanes {
			if len(lanes[l]) < len(lanes[k]) {
				k = l
			}
		}
		lanes[k] = append(lanes[k], due[i:j]...)
		i = j
	}
	return slices.DeleteFunc(lanes, func(l []attempt) bool { return len(l) == 0 })
}

// attemptChunks makes the attempts of due (sorted by account, then
// earliest end first) on PostgreSQL, chunk (autoRenewChunk) at a time:
// each chunk with checkout.AutoRenewAll, one transaction for all its
// renewals and their outcomes (recordAttemptsTx). An account may span
// chunks: they run one after the other, so the next chunk reads the
// credit the previous one left, and once the account ran short its later
// attempts fail without being attempted, as attemptAccount does. An
// account AutoRenewAll leaves to AutoRenew (OneByOne) is attempted with
// it, one by one, after the chunk, and its outcomes recorded next. A
// chunk that fails (the database) records nothing for its attempts and is
// returned, joined with the others; the next chunks go on. After a full
// chunk the lane gives way to customers paying meanwhile (giveWayLanes),
// like the other sweeps: without it, it took a third of the checkouts'
// throughput (BenchmarkAutoRenew).
func (s *Service) attemptChunks(ctx context.Context, due []attempt, now time.Time, chunk, lanes int) (int, error) {
	var (
		made  int
		errs  []error
		short = map[pulid.ID]bool{} // accounts whose credit ran short
	)
	for part := range slices.Chunk(due, chunk) {
		start := time.Now()
		var (
			reqs []checkout.AutoRenewRequest
			at   []int
		)
		for i, a := range part {
			if !short[a.r.AccountID] {
				reqs = append(reqs, checkout.AutoRenewRequest{ResourceID: a.r.ID, PeriodEnd: *a.r.PeriodEnd})
				at = append(at, i)
			}
		}
		// settle reads AutoRenewAll's results: the outcomes of the accounts
		// it decided, to record in its transaction, and which accounts it
		// left to AutoRenew. It may run again (nothing of a failed call is
		// kept), so it only assigns.
		var (
			outcomes []outcome
			failures []error
			shortNow map[pulid.ID]bool
			oneByOne [][]attempt // runs of one account each
		)
		settle := func(got []checkout.AutoRenewResult) {
			results := make([]checkout.AutoRenewResult, len(part))
			for i, a := range part {
				results[i].Skipped = short[a.r.AccountID]
			}
			for k, g := range got {
				results[at[k]] = g
			}
			outcomes, failures, shortNow, oneByOne = nil, nil, map[pulid.ID]bool{}, nil
			for i := 0; i < len(part); {
				acc := part[i].r.AccountID
				j := i
				for j < len(part) && part[j].r.AccountID == acc {
					j++
				}
				if results[i].OneByOne {
					oneByOne = append(oneByOne, part[i:j])
					i = j
					continue
				}
				for ; i < j; i++ {
					g := results[i]
					err := g.Err
					if g.Skipped {
						err = errShort()
					}
					o, ok, isShort, err := s.outcomeOf(part[i], g.Renewed, err, now)
					switch {
					case err != nil:
						failures = append(failures, err)
					case ok:
						outcomes = append(outcomes, o)
					}
					shortNow[acc] = shortNow[acc] || isShort
				}
			}
		}
		// The outcomes of the accounts AutoRenewAll decided are recorded
		// in its transaction, with the renewals: a renewal never commits
		// without its step and notice.
		var rest []outcome // recorded in a transaction of their own
		if len(reqs) > 0 {
			_, err := s.checkout.AutoRenewAll(ctx, reqs, func(ctx context.Context, tx *ent.Tx, got []checkout.AutoRenewResult) error {
				settle(got)
				return s.recordAttemptsTx(ctx, tx, outcomes, now)
			})
			if err != nil {
				errs = append(errs, err)
				continue
			}
			made += len(outcomes)
		} else {
			settle(nil) // every account here ran short in an earlier chunk
			rest = outcomes
		}
		errs = append(errs, failures...)
		for acc, sh := range shortNow {
			short[acc] = short[acc] || sh
		}
		for _, run := range oneByOne {
			acc := run[0].r.AccountID
			os, es, sh := s.renewOneByOne(ctx, run, now, short[acc])
			rest, errs = append(rest, os...), append(errs, es...)
			short[acc] = short[acc] || sh
		}
		if err := s.recordAttempts(ctx, rest, now); err != nil {
			errs = append(errs, err)
			continue
		}
		made += len(rest)
		if len(part) < chunk {
			continue // the last one
		}
		if err := s.giveWayLanes(ctx, time.Since(start), lanes); err != nil {
			return made, errors.Join(append(errs, err)...)
		}
	}
	return made, errors.Join(errs...)
}

// outcome is an attempt's result and its notice.
type outcome struct {
	a       attempt
	outcome string
	notice  notify.Notice
}

// recordAttempts records an account's attempt outcomes and tells the
// customer, in one transaction (one commit per account, not per
// attempt): the steps with multi-row INSERTs … ON CONFLICT DO NOTHING,
// the notices with bulk.Notify (ON CONFLICT (dedupe_key) DO NOTHING). If
// a concurrent run recorded a step first, its notice is still keyed once.
func (s *Service) recordAttempts(ctx context.Context, outcomes []outcome, now time.Time) error {
	if len(outcomes) == 0 {
		return nil
	}
	err := store.WithTx(ctx, s.db.Client, func(tx *ent.Tx) error { return s.recordAttemptsTx(ctx, tx, outcomes, now) })
	if err != nil {
		return fmt.Errorf("auto-renew: %w", err)
	}
	return nil
}

// recordAttemptsTx is recordAttempts in tx.
func (s *Service) recordAttemptsTx(ctx context.Context, tx *ent.Tx, outcomes []outcome, now time.Time) error {
	if len(outcomes) == 0 {
		return nil
	}
	err := func() error {
		for part := range slices.Chunk(outcomes, recordChunk) {
			var q strings.Builder
			q.WriteString(`INSERT INTO lifecycle_steps (id, resource_id, period_end, step, outcome, created_at) VALUES `)
			args := make([]any, 0, 6*len(part))
			for i, o := range part {
				if i > 0 {
					q.WriteString(", ")
				}
				fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d, $%d)", 6*i+1, 6*i+2, 6*i+3, 6*i+4, 6*i+5, 6*i+6)
				args = append(args, string(pulid.New("lcs")), string(o.a.r.ID), norm(*o.a.r.PeriodEnd),
					AttemptStep(o.a.k), o.outcome, now)
			}
			q.WriteString(` ON CONFLICT (resource_id, period_end, step) DO NOTHING`)
			if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
				return fmt.Errorf("record attempts on %s…: %w", part[0].a.r.ID, err)
			}
		}
		if s.notify == nil {
			return nil
		}
		notices := make([]notify.Notice, len(outcomes))
		for i, o := range outcomes {
			notices[i] = o.notice
		}
		_, err := bulk.Notify(ctx, tx, s.outbox, s.db.IsPostgres(), notices)
		return err
	}()
	if err != nil {
		return fmt.Errorf("record %d attempts: %w", len(outcomes), err)
	}
	return nil
}

// recordChunk bounds the steps of one INSERT: 6 parameters × 500 rows
// stays far below the bind-parameter limits of both engines.
const recordChunk = 500
