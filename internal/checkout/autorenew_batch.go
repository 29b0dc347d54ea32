package checkout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lib/pq"

	"billing/ent"
	entaccount "billing/ent/account"
	"billing/ent/invoice"
	"billing/ent/ledgertransaction"
	"billing/ent/payment"
	"billing/ent/product"
	"billing/ent/resource"
	"billing/internal/auth"
	"billing/internal/catalog"
	"billing/internal/events"
	"billing/internal/fault"
	"billing/internal/invoicing"
	"billing/internal/ledger"
	"billing/internal/lifecycle/state"
	"billing/internal/money"
	"billing/internal/pricing"
	"billing/internal/pulid"
	"billing/internal/store"
)

// AutoRenewRequest is one auto-renewal to attempt: a resource and the
// period end it is due for (AutoRenew's arguments).
type AutoRenewRequest struct {
	ResourceID pulid.ID
	PeriodEnd  time.Time
}

// AutoRenewResult is what AutoRenewAll did with one request.
type AutoRenewResult struct {
	// Renewed is set when the resource was renewed (AutoRenew's true).
	Renewed bool
	// Err is the fault that made the attempt fail, as AutoRenew would
	// have returned it; nothing was written for the request.
	Err error
	// Skipped is set when the request was not attempted because an
	// earlier request of its account in the same call fell short of
	// credit (see AutoRenewAll).
	Skipped bool
	// OneByOne is set when the request was not decided: its account took
	// no part in the call, and the caller renews its requests one by one
	// with AutoRenew, in order.
	OneByOne bool
}

// AutoRenewAll makes the auto-renewals reqs on PostgreSQL in one
// transaction with a fixed number of statements, whatever their number:
// the set-based form of calling AutoRenew on each request in order, for
// the scheduler's sweep over thousands of due resources (issue #4).
//
// reqs must list each account's requests in the order the caller wants
// them renewed (earliest period end first); an account's requests may be
// split over consecutive calls. Each result is what AutoRenew would have
// reported at that point of the sequence — the same checks, under the
// same locks, in the same order (step, state and period end, account,
// open action payment, allowed period, then available credit) — and
// every renewal writes exactly the rows, ledger entries and events
// AutoRenew writes (TestAutoRenewAllMatchesOneByOne). Credit is read once
// per account under the wallet's lock and the account's renewals are
// taken from it in order: the first that does not fit fails with
// fault.InsufficientCredit, and the account's later requests in the call
// are Skipped, not attempted, as the scheduler wants them.
//
// An account with anything unusual — a renewal of nothing (zero amount),
// a configuration whose price snapshot disagrees with its components, a
// product or wallet that cannot be read — is left out entirely (OneByOne)
// so that AutoRenew decides it with all its rules.
//
// record, when not nil, is called in the same transaction with the
// results, once the renewals are written and before the invoices are
// numbered: the caller writes what it keeps of the outcomes (the
// scheduler's attempt steps and notices) with the renewals themselves, in
// one commit. An error from it rolls everything back.
//
// Locks are taken in the order every checkout takes them: the resources
// in id order, then the wallets in account order, and the month's invoice
// sequence row last, by the statement that numbers the invoices just
// before the commit. An error that is no fault rolls everything back.
func (s *Service) AutoRenewAll(ctx context.Context, reqs []AutoRenewRequest,
	record func(context.Context, *ent.Tx, []AutoRenewResult) error) ([]AutoRenewResult, error) {
	if !s.db.IsPostgres() {
		return nil, errors.New("auto-renew: AutoRenewAll is for PostgreSQL")
	}
	ctx = auth.SystemContext(ctx)
	now := s.now()
	var out []AutoRenewResult
	err := store.WithTx(ctx, s.db.Client, func(tx *ent.Tx) error {
		out = make([]AutoRenewResult, len(reqs))
		rs, err := s.planAutoRenewals(ctx, tx, reqs, out, now)
		if err != nil {
			return err
		}
		invoices, err := s.writeAutoRenewals(ctx, tx, rs, now)
		if err != nil {
			return err
		}
		if record != nil {
			if err := record(ctx, tx, out); err != nil {
				return err
			}
		}
		if len(invoices) == 0 {
			return nil
		}
		// Last: the invoices take their numbers from the month's sequence
		// row, which stays locked until the commit that follows.
		_, err = s.invoices.IssuePrepaid(ctx, tx, invoices)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("auto-renew %d resources: %w", len(reqs), err)
	}
	return out, nil
}

// autoRenewal is one renewal AutoRenewAll decided to make.
type autoRenewal struct {
	res    *ent.Resource
	months int
	quote  pricing.ResourceQuote
	key    string
}

// autoRenewCandidate is a request that passed every check but credit.
type autoRenewCandidate struct {
	res    *ent.Resource
	months int
	quote  pricing.ResourceQuote
}

// planAutoRenewals makes the checks of AutoRenew for every request,
// filling out, and returns the renewals to make in request order.
func (s *Service) planAutoRenewals(ctx context.Context, tx *ent.Tx, reqs []AutoRenewRequest, out []AutoRenewResult,
	now time.Time) ([]autoRenewal, error) {
	ids := make([]pulid.ID, len(reqs))
	for i, r := range reqs {
		ids[i] = r.ResourceID
	}
	// Resources first, in id order (machine.LockAll): the lock order of
	// every transaction that changes resources.
	locked, err := s.machine.LockAll(ctx, tx, ids)
	if err != nil && !fault.Is(err, fault.NotFound) {
		return nil, err
	}
	byID := make(map[pulid.ID]*ent.Resource, len(locked))
	for _, r := range locked {
		byID[r.ID] = r
	}
	renewedAlready, err := autoRenewSteps(ctx, tx, reqs)
	if err != nil {
		return nil, err
	}
	busy, err := openActions(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	var accIDs, prodIDs []pulid.ID
	for _, r := range locked {
		accIDs = append(accIDs, r.AccountID)
		prodIDs = append(prodIDs, r.ProductID)
	}
	accs, err := tx.Account.Query().Where(entaccount.IDIn(accIDs...)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("read accounts: %w", err)
	}
	accByID := make(map[pulid.ID]*ent.Account, len(accs))
	for _, a := range accs {
		accByID[a.ID] = a
	}
	prods, err := tx.Product.Query().Where(product.IDIn(prodIDs...)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("read products: %w", err)
	}
	prodByID := make(map[pulid.ID]*ent.Product, len(prods))
	for _, p := range prods {
		prodByID[p.ID] = p
	}

	// Every check but credit, request by request, as AutoRenew makes them.
	candidates := make([]*autoRenewCandidate, len(reqs))
	oneByOne := map[pulid.ID]bool{}
	for i, req := range reqs {
		end := req.PeriodEnd.UTC().Truncate(time.Microsecond)
		r := byID[req.ResourceID]
		switch {
		case r == nil:
			out[i].Err = fault.New(fault.NotFound, "resource not found", "input", "resourceId")
			continue
		case renewedAlready[autoRenewKey(req.ResourceID, end)]:
			continue // renewed already: nothing to do
		case !autoRenewDue(r, end):
			continue
		}
		if err := checkAccountOf(accByID[r.AccountID]); err != nil {
			out[i].Err = err
			continue
		}
		if busy[r.ID] {
			out[i].Err = fault.Newf(fault.Conflict, []string{"input", "items", "0", "resourceId"},
				"a payment for %s is already in progress; finish or abandon it first", r.Name)
			continue
		}
		prod := prodByID[r.ProductID]
		if prod == nil {
			oneByOne[r.AccountID] = true
			continue
		}
		if err := checkRenewable(r); err != nil {
			out[i].Err = itemFault(err, 0)
			continue
		}
		if err := catalog.AllowedPeriod(prod, r.AutoRenewMonths); err != nil {
			out[i].Err = itemFault(err, 0)
			continue
		}
		rq, err := resourceQuote("", "", r.Components, r.AutoRenewMonths, money.Zero)
		if _, ok := fault.As(err); ok {
			out[i].Err = itemFault(err, 0)
			continue
		}
		if err != nil || !rq.Payable.IsPositive() || !catalog.PeriodPrice(r.Components).Equal(r.PeriodPrice) {
			// AutoRenew's own rules (an error, a renewal of nothing, a
			// refund of a renewal whose configuration changed) decide.
			oneByOne[r.AccountID] = true
			continue
		}
		candidates[i] = &autoRenewCandidate{res: r, months: r.AutoRenewMonths, quote: rq}
	}

	// Credit, under the wallets' locks (in account order), taken by each
	// account's renewals in request order until one does not fit.
	var wallets []pulid.ID
	for _, c := range candidates {
		if c != nil && !oneByOne[c.res.AccountID] {
			wallets = append(wallets, c.res.AccountID)
		}
	}
	available := map[pulid.ID]money.Amount{}
	if len(wallets) > 0 {
		if available, err = s.ledger.LockAvailable(ctx, tx, wallets); err != nil {
			return nil, err
		}
	}
	short := map[pulid.ID]bool{}
	var renewals []autoRenewal
	for i, req := range reqs {
		r := byID[req.ResourceID]
		if r == nil {
			continue
		}
		acc := r.AccountID
		if _, ok := available[acc]; !ok && candidates[i] != nil && !oneByOne[acc] {
			oneByOne[acc] = true // no wallet: AutoRenew says why
		}
		switch {
		case oneByOne[acc]:
			out[i] = AutoRenewResult{OneByOne: true}
			continue
		case short[acc]:
			out[i] = AutoRenewResult{Skipped: true}
			continue
		case candidates[i] == nil:
			continue // not due, or failed above
		}
		c := candidates[i]
		amount := c.quote.Payable
		if available[acc].LessThan(amount) {
			out[i].Err = withField(unfield(ledger.Insufficient(available[acc], amount)), "input", "paymentMethod")
			short[acc] = true
			continue
		}
		available[acc] = available[acc].Sub(amount)
		out[i].Renewed = true
		renewals = append(renewals, autoRenewal{
			res: c.res, months: c.months, quote: c.quote,
			key: autoRenewOrderKey(r.ID, *r.PeriodEnd),
		})
	}
	return renewals, nil
}

// autoRenewKey identifies the AUTO_RENEW step of a resource and period end.
func autoRenewKey(id pulid.ID, end time.Time) string {
	return string(id) + "@" + fmt.Sprint(end.UnixMicro())
}

// autoRenewSteps returns the requests whose AUTO_RENEW step exists (the
// period was renewed already), by autoRenewKey.
func autoRenewSteps(ctx context.Context, tx *ent.Tx, reqs []AutoRenewRequest) (map[string]bool, error) {
	ids, ends := make([]string, len(reqs)), make([]string, len(reqs))
	for i, r := range reqs {
		ids[i], ends[i] = string(r.ResourceID), r.PeriodEnd.UTC().Format(time.RFC3339Nano)
	}
	rows, err := tx.QueryContext(ctx,
		`SELECT s.resource_id, s.period_end FROM unnest($1::text[], $2::timestamptz[]) AS v(id, period_end)
		 JOIN lifecycle_steps s ON s.resource_id = v.id AND s.period_end = v.period_end AND s.step = $3`,
		pq.Array(ids), pq.Array(ends), AutoRenewStep)
	if err != nil {
		return nil, fmt.Errorf("read auto-renew steps: %w", err)
	}
	done := map[string]bool{}
	for rows.Next() {
		var (
			id  string
			end time.Time
		)
		if err := rows.Scan(&id, &end); err != nil {
			_ = rows.Close()
			return nil, fmt.Errorf("read auto-renew steps: %w", err)
		}
		done[autoRenewKey(pulid.ID(id), end)] = true
	}
	// Close before the next statement on the connection.
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("read auto-renew steps: %w", err)
	}
	return done, nil
}

// openActions is openAction for many resources: those of ids with an
// unfinished action payment (a PENDING renew, resize or recover item).
func openActions(ctx context.Context, tx *ent.Tx, ids []pulid.ID) (map[pulid.ID]bool, error) {
	strs := make([]string, len(ids))
	for i, id := range ids {
		strs[i] = string(id)
	}
	rows, err := tx.QueryContext(ctx,
		`SELECT DISTINCT resource_id FROM order_items
		 WHERE resource_id = ANY($1::text[]) AND status = 'PENDING' AND action <> 'CREATE'`, pq.Array(strs))
	if err != nil {
		return nil, fmt.Errorf("read open actions: %w", err)
	}
	busy := map[pulid.ID]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			_ = rows.Close()
			return nil, fmt.Errorf("read open actions: %w", err)
		}
		busy[pulid.ID(id)] = true
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("read open actions: %w", err)
	}
	return busy, nil
}

// writeAutoRenewals writes the renewals, each with exactly the rows and
// events of AutoRenew, in their final states at once (as placeFromCredit
// writes a CREDIT order): the AUTO_RENEW steps, orders COMPLETED with one
// RENEW item SUCCEEDED, CREDIT payments SUCCEEDED with their invoice,
// the debits (DebitAll), the resources' new periods and the events. It
// returns their invoices, for the caller to issue last.
func (s *Service) writeAutoRenewals(ctx context.Context, tx *ent.Tx, rs []autoRenewal, now time.Time) ([]invoicing.PrepaidInput, error) {
	n := len(rs)
	if n == 0 {
		return nil, nil
	}
	var (
		stepIDs, resIDs, ends                     = make([]string, n), make([]string, n), make([]string, n)
		orderIDs, itemIDs, payIDs, invIDs, accIDs = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		keys, planIDs, comps, invoiceIDs, states  = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		totals, months, periodMonths, paid        = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		starts, newEnds                           = make([]string, n), make([]string, n)
		fromStates, clearReason                   = make([]string, n), make([]bool, n)
		moves                                     = make([]ledger.Movement, 0, n)
		invoices                                  = make([]invoicing.PrepaidInput, n)
		transitions                               = make([]state.Transition, n)
		newEndTimes                               = make([]time.Time, n)
		stamp                                     = func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	)
	for i, rn := range rs {
		r := rn.res
		start, oldEnd, newEnd := renewedPeriod(r, rn.months)
		t := state.RenewTransition(r.State)
		to := t.Target(r.State)
		body, err := json.Marshal(r.Components)
		if err != nil {
			return nil, fmt.Errorf("encode components of %s: %w", r.ID, err)
		}
		invID := pulid.New("inv")
		ids, err := json.Marshal([]string{string(invID)})
		if err != nil {
			return nil, err
		}
		total := rn.quote.Payable
		stepIDs[i], resIDs[i], ends[i] = string(pulid.New("lcs")), string(r.ID), stamp(oldEnd)
		orderIDs[i], itemIDs[i], payIDs[i], invIDs[i], accIDs[i] =
			string(pulid.New("ord")), string(pulid.New("oit")), string(pulid.New("pay")), string(invID), string(r.AccountID)
		keys[i], planIDs[i], comps[i], invoiceIDs[i], states[i] = rn.key, string(r.PlanID), string(body), string(ids), string(to)
		totals[i], months[i], periodMonths[i], paid[i] = total.Scaled(), int64(rn.months), int64(r.PeriodMonths+rn.months), r.PeriodPaid.Add(total).Scaled()
		starts[i], newEnds[i] = stamp(start), stamp(newEnd)
		fromStates[i], clearReason[i] = string(r.State), t.Name == state.Renewed.Name
		transitions[i], newEndTimes[i] = t, newEnd
		moves = append(moves, ledger.Movement{
			AccountID: r.AccountID, Amount: total, Kind: ledgertransaction.KindPURCHASE,
			Memo: ledger.Memo{Description: "Order payment", Reference: payIDs[i], At: now},
		})
		invoices[i] = invoicing.PrepaidInput{
			ID: invID, AccountID: r.AccountID, ResourceID: r.ID, ProductID: r.ProductID, OrderID: pulid.ID(orderIDs[i]),
			Action: invoice.ActionAUTO_RENEW, Quote: rn.quote, PeriodStart: oldEnd, PeriodEnd: newEnd, IssuedAt: now,
		}
	}

	// The steps first: their unique key is what makes a period renew once.
	res, err := tx.ExecContext(ctx,
		`INSERT INTO lifecycle_steps (id, resource_id, period_end, step, outcome, created_at)
		 SELECT v.id, v.resource_id, v.period_end, $4, 'RENEWED', $5
		 FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS v(id, resource_id, period_end)
		 ON CONFLICT (resource_id, period_end, step) DO NOTHING`,
		pq.Array(stepIDs), pq.Array(resIDs), pq.Array(ends), AutoRenewStep, now)
	if err != nil {
		return nil, fmt.Errorf("record %d steps: %w", n, err)
	}
	if got, err := res.RowsAffected(); err != nil || got != int64(n) {
		return nil, fmt.Errorf("record %d steps: %d recorded (renewed meanwhile elsewhere): %w", n, got, err)
	}
	_, err = tx.ExecContext(ctx,
		`INSERT INTO orders (id, created_at, updated_at, status, subtotal, discount, total, currency, idempotency_key, account_id)
		 SELECT v.id, $5, $5, 'COMPLETED', v.total, 0, v.total, 'VND', v.key, v.account_id
		 FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[]) AS v(id, account_id, total, key)`,
		pq.Array(orderIDs), pq.Array(accIDs), pq.Array(totals), pq.Array(keys), now)
	if err != nil {
		return nil, fmt.Errorf("create %d orders: %w", n, err)
	}
	_, err = tx.ExecContext(ctx,
		`INSERT INTO order_items (id, created_at, updated_at, account_id, action, plan_id, resource_id, quantity,
			period_months, components, amount, discount, total, status, order_id)
		 SELECT v.id, $9, $9, v.account_id, 'RENEW', v.plan_id, v.resource_id, 1,
			v.months, v.components::jsonb, v.total, 0, v.total, 'SUCCEEDED', v.order_id
		 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::bigint[], $8::text[])
			AS v(id, account_id, plan_id, resource_id, months, components, total, order_id)`,
		pq.Array(itemIDs), pq.Array(accIDs), pq.Array(planIDs), pq.Array(resIDs), pq.Array(months), pq.Array(comps),
		pq.Array(totals), pq.Array(orderIDs), now)
	if err != nil {
		return nil, fmt.Errorf("create %d order items: %w", n, err)
	}
	_, err = tx.ExecContext(ctx,
		`INSERT INTO payments (id, created_at, updated_at, purpose, method, status, amount, credit_amount,
			gateway_amount, refunded_amount, currency, invoice_ids, idempotency_key, account_id, order_id)
		 SELECT v.id, $7, $7, 'ORDER', 'CREDIT', 'SUCCEEDED', v.total, v.total, 0, 0, 'VND', v.invoice_ids::jsonb,
			v.key, v.account_id, v.order_id
		 FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[])
			AS v(id, account_id, order_id, total, key, invoice_ids)`,
		pq.Array(payIDs), pq.Array(accIDs), pq.Array(orderIDs), pq.Array(totals), pq.Array(keys), pq.Array(invoiceIDs), now)
	if err != nil {
		return nil, fmt.Errorf("create %d payments: %w", n, err)
	}
	// Wallets after resources: the lock order of every checkout.
	walletEvents, err := s.ledger.DebitAll(ctx, tx, moves)
	if err != nil {
		return nil, err
	}
	// The period, as applyRenew extends it; the resources are locked, so
	// every one must match.
	res, err = tx.ExecContext(ctx,
		`UPDATE resources r SET state = v.state, period_start = v.period_start, period_end = v.new_end,
			period_paid = v.paid, period_months = v.months, updated_at = $10,
			suspend_reason = CASE WHEN v.clear_reason THEN NULL ELSE r.suspend_reason END
		 FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[],
			$7::bigint[], $8::bigint[], $9::boolean[])
			AS v(id, old_end, from_state, state, period_start, new_end, paid, months, clear_reason)
		 WHERE r.id = v.id AND r.period_end = v.old_end AND r.state = v.from_state`,
		pq.Array(resIDs), pq.Array(ends), pq.Array(fromStates), pq.Array(states), pq.Array(starts), pq.Array(newEnds),
		pq.Array(paid), pq.Array(periodMonths), pq.Array(clearReason), now)
	if err != nil {
		return nil, fmt.Errorf("renew %d resources: %w", n, err)
	}
	if got, err := res.RowsAffected(); err != nil || got != int64(n) {
		return nil, fmt.Errorf("renew %d resources: %d matched: %w", n, got, err)
	}

	// The events of each renewal, in AutoRenew's order: the payment
	// created, the wallet, the payment SUCCEEDED, the resource, and the
	// action applied (the last event of the payment).
	evs := make([]events.Record, 0, 5*n)
	yes := true
	for i, rn := range rs {
		r := rn.res
		p := &ent.Payment{
			ID: pulid.ID(payIDs[i]), AccountID: r.AccountID, OrderID: pulid.ID(orderIDs[i]),
			Purpose: payment.PurposeORDER, Status: payment.StatusPENDING, RefundedAmount: money.Zero,
		}
		w := walletEvents[i]
		end := newEndTimes[i]
		evs = append(evs,
			paymentRecord(p, PaymentEvent{}, false, now),
			events.Record{Topic: events.TopicWallet, AccountID: r.AccountID, SubjectID: string(w.WalletID), Payload: w.Payload, At: now})
		p.Status = payment.StatusSUCCEEDED
		evs = append(evs,
			paymentRecord(p, PaymentEvent{Previous: payment.StatusPENDING}, false, now),
			events.Record{Topic: state.TopicResource, AccountID: r.AccountID, SubjectID: string(r.ID), At: now, Payload: state.Event{
				ResourceID: r.ID, AccountID: r.AccountID, Transition: transitions[i].Name,
				From: r.State, To: resource.State(states[i]), PeriodEnd: &end, Reason: "renewed automatically",
			}},
			paymentRecord(p, PaymentEvent{ResourceID: r.ID, Provisioned: &yes}, true, now))
	}
	if err := s.outbox.AppendAll(ctx, tx, evs); err != nil {
		return nil, err
	}
	return invoices, nil
}

// paymentRecord is the event emitFinal appends for p.
func paymentRecord(p *ent.Payment, ev PaymentEvent, final bool, at time.Time) events.Record {
	return events.Record{Topic: events.TopicPayment, AccountID: p.AccountID, SubjectID: string(p.ID),
		Payload: paymentEvent(p, ev, final), At: at}
}
