package postpaid

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"billing/ent"
	"billing/ent/invoice"
	"billing/ent/ledgertransaction"
	"billing/ent/payment"
	"billing/ent/predicate"
	"billing/ent/resource"
	"billing/internal/events"
	"billing/internal/fault"
	"billing/internal/idempotency"
	"billing/internal/ledger"
	"billing/internal/lifecycle/state"
	"billing/internal/money"
	"billing/internal/notify"
	"billing/internal/pulid"
	"billing/internal/store"
)

// PayOperation names PayInvoices in idempotency records.
const PayOperation = "postpaid.payInvoices"

// MaxInvoicesPerPayment bounds the invoices one PayInvoices call names.
const MaxInvoicesPerPayment = 100

// Notice kinds of postpaid billing.
const (
	KindInvoicePaid = "invoice.paid"
	KindSuspended   = "postpaid.suspended"
	KindReinstated  = "postpaid.reinstated"
)

// Outstanding is what is left to pay on an invoice: total − amount paid.
func Outstanding(inv *ent.Invoice) money.Amount { return inv.Total.Sub(inv.AmountPaid) }

// payOrder sorts open invoices the way credit pays them: oldest first by
// the date they were issued (in the billing time zone), then smallest
// outstanding amount first; then issue time and code, so the order is
// always the same.
func (s *Service) payOrder(invs []*ent.Invoice) {
	date := func(inv *ent.Invoice) string { return inv.IssuedAt.In(s.loc).Format(time.DateOnly) }
	slices.SortStableFunc(invs, func(a, b *ent.Invoice) int {
		return cmp.Or(
			strings.Compare(date(a), date(b)),
			Outstanding(a).Cmp(Outstanding(b)),
			a.IssuedAt.Compare(b.IssuedAt),
			strings.Compare(a.Code, b.Code),
		)
	})
}

// paymentEvent is the payload of the events.TopicPayment event of an
// invoice payment; it has the JSON shape of the checkout's PaymentEvent,
// so payment subscriptions read it like any other payment's.
type paymentEvent struct {
	PaymentID      pulid.ID        `json:"paymentId"`
	Purpose        payment.Purpose `json:"purpose"`
	Status         payment.Status  `json:"status"`
	RefundedAmount money.Amount    `json:"refundedAmount"`
	Final          bool            `json:"final"`
}

// applied is one invoice's share of a payment.
type applied struct {
	invoice *ent.Invoice
	amount  money.Amount
}

// payFromCredit pays invoices (locked, in payOrder) from the account's
// credit inside tx, up to budget: each invoice in turn gets
// min(outstanding, what is left). It writes one Payment (purpose INVOICE,
// method CREDIT, SUCCEEDED) and one ledger transaction (INVOICE_PAYMENT)
// for all of them, updates each invoice (see applyToInvoice), appends the
// payment event and notifies the customer. It returns the payment, or nil
// when nothing was paid.
func (s *Service) payFromCredit(ctx context.Context, tx *ent.Tx, accountID pulid.ID, invs []*ent.Invoice,
	budget money.Amount, key string, now time.Time) (*ent.Payment, []applied, error) {
	var parts []applied
	total := money.Zero
	for _, inv := range invs {
		left := budget.Sub(total)
		if !left.IsPositive() {
			break
		}
		x := money.Min(Outstanding(inv), left)
		if !x.IsPositive() {
			continue
		}
		parts = append(parts, applied{invoice: inv, amount: x})
		total = total.Add(x)
	}
	if len(parts) == 0 {
		return nil, nil, nil
	}
	ids := make([]string, len(parts))
	codes := make([]string, len(parts))
	for i, p := range parts {
		ids[i], codes[i] = string(p.invoice.ID), p.invoice.Code
	}
	pc := tx.Payment.Create().
		SetAccountID(accountID).
		SetPurpose(payment.PurposeINVOICE).
		SetMethod(payment.MethodCREDIT).
		SetStatus(payment.StatusSUCCEEDED).
		SetAmount(total).
		SetCreditAmount(total).
		SetInvoiceIds(ids).
		SetCreatedAt(now).
		SetUpdatedAt(now)
	if key != "" {
		pc.SetIdempotencyKey(key)
	}
	p, err := pc.Save(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("create payment: %w", err)
	}
	description := "Payment of " + invoiceList(codes)
	_, err = s.ledger.Debit(ctx, tx, ledger.Movement{
		AccountID: accountID, Amount: total, Kind: ledgertransaction.KindINVOICE_PAYMENT,
		Memo: ledger.Memo{Description: description, Reference: string(p.ID), At: now},
	})
	if err != nil {
		return nil, nil, err
	}
	for i := range parts {
		if parts[i].invoice, err = s.applyToInvoice(ctx, tx, parts[i].invoice, parts[i].amount, now); err != nil {
			return nil, nil, err
		}
	}
	ev := paymentEvent{PaymentID: p.ID, Purpose: p.Purpose, Status: p.Status, Final: true}
	if err := s.outbox.Append(ctx, tx, events.TopicPayment, accountID, string(p.ID), ev, now); err != nil {
		return nil, nil, fmt.Errorf("payment %s event: %w", p.ID, err)
	}
	if err := s.notifyPaid(ctx, tx, p, parts, "from your credit", now); err != nil {
		return nil, nil, err
	}
	return p, parts, nil
}

// invoiceList names invoices for people: "invoice INV-…" or "invoices
// INV-…, INV-…", shortened after five.
func invoiceList(codes []string) string {
	if len(codes) == 1 {
		return "invoice " + codes[0]
	}
	shown := codes
	more := ""
	if len(codes) > 5 {
		shown, more = codes[:5], fmt.Sprintf(" and %d more", len(codes)-5)
	}
	return "invoices " + strings.Join(shown, ", ") + more
}

// applyToInvoice records x paid on an open invoice, the one way an
// invoice's payment status changes: amount_paid grows by x; the invoice
// becomes PAID (with paid_at) when nothing is left, else PARTIALLY_PAID.
// The UPDATE is conditional on the amount paid read under the lock, so a
// concurrent change can never be overwritten.
func (s *Service) applyToInvoice(ctx context.Context, tx *ent.Tx, inv *ent.Invoice, x money.Amount, now time.Time) (*ent.Invoice, error) {
	paid := inv.AmountPaid.Add(x)
	if paid.GreaterThan(inv.Total) || !x.IsPositive() {
		return nil, fmt.Errorf("invoice %s: cannot pay %s of %s outstanding", inv.Code, x, Outstanding(inv))
	}
	u := tx.Invoice.Update().
		Where(invoice.ID(inv.ID), invoice.StatusIn(openStatuses...), invoice.AmountPaid(inv.AmountPaid)).
		SetAmountPaid(paid).
		SetUpdatedAt(now)
	if paid.Equal(inv.Total) {
		u.SetStatus(invoice.StatusPAID).SetPaidAt(now)
	} else {
		u.SetStatus(invoice.StatusPARTIALLY_PAID)
	}
	n, err := u.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("pay invoice %s: %w", inv.Code, err)
	}
	if n != 1 {
		return nil, fault.Newf(fault.Conflict, []string{"input", "invoiceIds"}, "invoice %s changed meanwhile; try again", inv.Code)
	}
	return tx.Invoice.Get(ctx, inv.ID)
}

// notifyPaid tells the customer what a payment paid, once per payment.
func (s *Service) notifyPaid(ctx context.Context, tx *ent.Tx, p *ent.Payment, parts []applied, via string, now time.Time) error {
	var body strings.Builder
	fmt.Fprintf(&body, "%s was paid %s:\n", p.Amount.Format(), via)
	for _, a := range parts {
		status := "paid in full"
		if left := Outstanding(a.invoice); left.IsPositive() {
			status = left.Format() + " still to pay"
		}
		fmt.Fprintf(&body, "- %s: %s (%s)\n", a.invoice.Code, a.amount.Format(), status)
	}
	codes := make([]string, len(parts))
	for i, a := range parts {
		codes[i] = a.invoice.Code
	}
	_, err := s.notify.Notify(ctx, tx, notify.Notice{
		AccountID: p.AccountID,
		Kind:      KindInvoicePaid,
		Title:     fmt.Sprintf("Paid %s: %s", p.Amount.Format(), invoiceList(codes)),
		Body:      body.String(),
		DedupeKey: notify.DedupeKey("payment", string(p.ID), "invoices"),
		At:        now,
	})
	return err
}

// openInvoices reads the account's open invoices inside tx (locked on
// PostgreSQL, after the account), optionally only those named, sorted in
// payOrder.
func (s *Service) openInvoices(ctx context.Context, tx *ent.Tx, accountID pulid.ID, only []pulid.ID) ([]*ent.Invoice, error) {
	q := tx.Invoice.Query().
		Where(invoice.AccountID(accountID), invoice.StatusIn(openStatuses...)).
		Order(ent.Asc(invoice.FieldID))
	if only != nil {
		q.Where(invoice.IDIn(only...))
	}
	if s.db.IsPostgres() {
		q.ForUpdate()
	}
	invs, err := q.All(ctx)
	if err != nil {
		return nil, fmt.Errorf("open invoices of %s: %w", accountID, err)
	}
	s.payOrder(invs)
	return invs, nil
}

// available is the account's available credit (balance − held), read
// inside tx; the ledger's guarded debit remains the authority.
func available(ctx context.Context, tx *ent.Tx, accountID pulid.ID) (money.Amount, error) {
	rows, err := tx.QueryContext(ctx, `SELECT balance - held FROM wallets WHERE account_id = $1`, string(accountID))
	if err != nil {
		return money.Zero, fmt.Errorf("read wallet of %s: %w", accountID, err)
	}
	defer rows.Close()
	var a money.Amount
	if rows.Next() {
		if err := rows.Scan(&a); err != nil {
			return money.Zero, fmt.Errorf("read wallet of %s: %w", accountID, err)
		}
	}
	return a, rows.Err()
}

// AutoPayResult is what an automatic payment run did.
type AutoPayResult struct {
	// Accounts is how many accounts paid something.
	Accounts int
	// Invoices is how many invoices received money.
	Invoices int
	// Paid is the total paid.
	Paid money.Amount
}

// AutoPay is the daily automatic invoice payment: every account with
// UNPAID or PARTIALLY_PAID invoices and positive available credit pays
// them from credit, oldest first (by issue date in the billing time zone),
// then smallest first; the invoice the credit only partly covers becomes
// PARTIALLY_PAID with the amount paid recorded. One transaction per
// account (account locked first), one payment and one ledger transaction
// (INVOICE_PAYMENT) per account and run, a notice per payment; then the
// account's suspensions for non-payment are lifted if nothing overdue is
// left. Accounts with zero or negative available credit are not touched.
// Running it again, or on two instances, pays nothing twice: a second
// transaction finds the invoices paid or the credit gone.
func (s *Service) AutoPay(ctx context.Context, now time.Time) (AutoPayResult, error) {
	ctx, err := jobContext(ctx)
	if err != nil {
		return AutoPayResult{}, err
	}
	now = norm(now)
	accounts, err := s.payableAccounts(ctx)
	if err != nil {
		return AutoPayResult{}, fmt.Errorf("auto-pay: %w", err)
	}
	var (
		res  AutoPayResult
		errs []error
	)
	for _, acc := range accounts {
		parts, err := s.autoPayAccount(ctx, acc, now)
		if fault.Is(err, fault.InsufficientCredit) {
			// A purchase took credit between the read and the debit
			// (purchases do not lock the account): try once more.
			parts, err = s.autoPayAccount(ctx, acc, now)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("account %s: %w", acc, err))
			continue
		}
		if len(parts) > 0 {
			res.Accounts++
			for _, p := range parts {
				res.Invoices++
				res.Paid = res.Paid.Add(p.amount)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return res, fmt.Errorf("auto-pay: %w", err)
	}
	return res, nil
}

// autoPayAccount is one account's automatic payment transaction.
func (s *Service) autoPayAccount(ctx context.Context, acc pulid.ID, now time.Time) ([]applied, error) {
	var parts []applied
	err := store.WithTx(ctx, s.db.Client, func(tx *ent.Tx) error {
		if _, err := s.lockAccount(ctx, tx, acc); err != nil {
			return err
		}
		invs, err := s.openInvoices(ctx, tx, acc, nil)
		if err != nil {
			return err
		}
		suspended, err := s.lockSuspended(ctx, tx, acc)
		if err != nil {
			return err
		}
		avail, err := available(ctx, tx, acc)
		if err != nil {
			return err
		}
		if !avail.IsPositive() || len(invs) == 0 {
			return nil
		}
		if _, parts, err = s.payFromCredit(ctx, tx, acc, invs, avail, "", now); err != nil {
			return err
		}
		return s.liftIfSettled(ctx, tx, acc, suspended, now)
	})
	if err != nil {
		return nil, err
	}
	return parts, nil
}

// payableAccounts lists accounts with open invoices and positive
// available credit.
func (s *Service) payableAccounts(ctx context.Context) ([]pulid.ID, error) {
	rows, err := s.db.SQL.QueryContext(ctx,
		`SELECT DISTINCT i.account_id FROM invoices i JOIN wallets w ON w.account_id = i.account_id
		 WHERE i.status IN ('UNPAID', 'PARTIALLY_PAID') AND w.balance - w.held > 0
		 ORDER BY i.account_id`)
	if err != nil {
		return nil, fmt.Errorf("accounts to pay: %w", err)
	}
	defer rows.Close()
	var out []pulid.ID
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("accounts to pay: %w", err)
		}
		out = append(out, pulid.ID(id))
	}
	return out, rows.Err()
}

// PayInvoicesInput pays invoices of one account.
type PayInvoicesInput struct {
	// AccountID: empty for customers (their own account); required for
	// operators.
	AccountID pulid.ID
	// IdempotencyKey makes the call safe to retry (required).
	IdempotencyKey string
	// InvoiceIDs are the invoices to pay (1 to MaxInvoicesPerPayment),
	// each UNPAID or PARTIALLY_PAID.
	InvoiceIDs []pulid.ID
	// Amount is how much to pay, whole VND, at most their outstanding
	// total; nil pays them in full. Less than the outstanding total is a
	// partial payment, applied in auto-pay order.
	Amount *money.Amount
	// Method is CREDIT. Gateway methods go through the checkout (see the
	// package documentation).
	Method payment.Method
}

type payRequest struct {
	AccountID  pulid.ID       `json:"accountId"`
	InvoiceIDs []pulid.ID     `json:"invoiceIds"`
	Amount     *money.Amount  `json:"amount"`
	Method     payment.Method `json:"method"`
}

type paid struct {
	PaymentID pulid.ID   `json:"paymentId"`
	Invoices  []pulid.ID `json:"invoices"`
}

// PayResult is what PayInvoices did.
type PayResult struct {
	Payment  *ent.Payment
	Invoices []*ent.Invoice
	Replayed bool
}

// PayInvoices pays one or several invoices from the account's credit, in
// one transaction (account, then invoices, then resources suspended for
// non-payment, then wallet): the amount (default: everything outstanding
// on them) must be available (fault.InsufficientCredit otherwise, nothing
// written); it is applied oldest first then smallest first, the last
// invoice possibly PARTIALLY_PAID. One payment (INVOICE, CREDIT), one
// ledger transaction, one notice. When no overdue invoice is left, the
// account's suspensions for non-payment are lifted in the same
// transaction. Idempotent by key; a replay returns the payment and
// invoices as they are now.
func (s *Service) PayInvoices(ctx context.Context, in PayInvoicesInput) (*PayResult, error) {
	a, err := resolveActor(ctx, in.AccountID)
	if err != nil {
		return nil, err
	}
	if err := idempotency.ValidateKey(in.IdempotencyKey); err != nil {
		return nil, err
	}
	switch {
	case in.Method == "":
		in.Method = payment.MethodCREDIT
	case in.Method != payment.MethodCREDIT:
		return nil, fault.New(fault.Invalid, "invoices are paid here from credit; gateway payments go through the checkout", "input", "paymentMethod")
	}
	ids := slices.Clone(in.InvoiceIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	switch {
	case len(ids) == 0:
		return nil, fault.New(fault.Invalid, "choose at least one invoice", "input", "invoiceIds")
	case len(ids) > MaxInvoicesPerPayment:
		return nil, fault.Newf(fault.Invalid, []string{"input", "invoiceIds"}, "at most %d invoices per payment", MaxInvoicesPerPayment)
	}
	if in.Amount != nil {
		if err := ledger.ValidateAmount(*in.Amount, "input", "amount"); err != nil {
			return nil, err
		}
	}
	req := payRequest{AccountID: a.accountID, InvoiceIDs: ids, Amount: in.Amount, Method: in.Method}
	now := s.now()
	rec, replayed, err := idempotency.Do(ctx, s.db, a.scope(), in.IdempotencyKey, PayOperation, req,
		func(ctx context.Context, tx *ent.Tx) (paid, error) {
			return s.pay(ctx, tx, req, in.InvoiceIDs, in.IdempotencyKey, now)
		}, idempotency.At(now))
	if err != nil {
		return nil, fmt.Errorf("pay invoices: %w", err)
	}
	p, err := s.db.Client.Payment.Get(ctx, rec.PaymentID)
	if err != nil {
		return nil, fmt.Errorf("pay invoices: read payment: %w", err)
	}
	invs, err := s.db.Client.Invoice.Query().Where(invoice.IDIn(rec.Invoices...)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("pay invoices: read invoices: %w", err)
	}
	s.payOrder(invs)
	return &PayResult{Payment: p, Invoices: invs, Replayed: replayed}, nil
}

// pay is PayInvoices' transaction; asGiven is the caller's list of
// invoices, which faults point into.
func (s *Service) pay(ctx context.Context, tx *ent.Tx, in payRequest, asGiven []pulid.ID, key string, now time.Time) (paid, error) {
	invs, err := s.LockInvoices(ctx, tx, in.AccountID, asGiven)
	if err != nil {
		return paid{}, err
	}
	suspended, err := s.lockSuspended(ctx, tx, in.AccountID)
	if err != nil {
		return paid{}, err
	}
	due := money.Zero
	for _, inv := range invs {
		due = due.Add(Outstanding(inv))
	}
	amount := due
	if in.Amount != nil {
		if in.Amount.GreaterThan(due) {
			return paid{}, fault.Newf(fault.Invalid, []string{"input", "amount"},
				"the invoices have %s left to pay, less than %s", due.Format(), in.Amount.Format())
		}
		amount = *in.Amount
	}
	avail, err := available(ctx, tx, in.AccountID)
	if err != nil {
		return paid{}, err
	}
	if avail.LessThan(amount) {
		return paid{}, fault.Newf(fault.InsufficientCredit, []string{"input", "paymentMethod"},
			"insufficient credit: %s available, %s needed", avail.Format(), amount.Format())
	}
	p, parts, err := s.payFromCredit(ctx, tx, in.AccountID, invs, amount, key, now)
	if err != nil {
		return paid{}, err
	}
	if err := s.liftIfSettled(ctx, tx, in.AccountID, suspended, now); err != nil {
		return paid{}, err
	}
	out := paid{PaymentID: p.ID}
	for _, a := range parts {
		out.Invoices = append(out.Invoices, a.invoice.ID)
	}
	return out, nil
}

// whyNotPayable explains which named invoice cannot be paid: unknown or
// another account's is NOT_FOUND, one already PAID or VOID is
// INVALID_STATE.
func (s *Service) whyNotPayable(ctx context.Context, tx *ent.Tx, accountID pulid.ID, ids []pulid.ID, open []*ent.Invoice) error {
	found := map[pulid.ID]bool{}
	for _, inv := range open {
		found[inv.ID] = true
	}
	for i, id := range ids {
		if found[id] {
			continue
		}
		field := []string{"input", "invoiceIds", fmt.Sprint(i)}
		inv, err := tx.Invoice.Get(ctx, id)
		if ent.IsNotFound(err) || (err == nil && inv.AccountID != accountID) {
			return fault.New(fault.NotFound, "invoice not found", field...)
		}
		if err != nil {
			return fmt.Errorf("read invoice %s: %w", id, err)
		}
		return fault.Newf(fault.InvalidState, field, "invoice %s is %s: there is nothing to pay", inv.Code, inv.Status)
	}
	return fault.New(fault.Conflict, "the invoices changed meanwhile; try again", "input", "invoiceIds")
}

// lockSuspended locks, after the account and before the wallet, the
// account's postpaid resources suspended for non-payment: the ones a
// payment may reinstate.
func (s *Service) lockSuspended(ctx context.Context, tx *ent.Tx, accountID pulid.ID) ([]*ent.Resource, error) {
	q := tx.Resource.Query().
		Where(resource.AccountID(accountID), resource.BillingModeEQ(resource.BillingModePOSTPAID),
			resource.StateEQ(resource.StateSUSPENDED), resource.SuspendReasonEQ(resource.SuspendReasonNON_PAYMENT)).
		Order(ent.Asc(resource.FieldID))
	if s.db.IsPostgres() {
		q.ForUpdate()
	}
	rs, err := q.All(ctx)
	if err != nil {
		return nil, fmt.Errorf("suspended resources of %s: %w", accountID, err)
	}
	return rs, nil
}

// liftIfSettled reinstates the resources suspended for non-payment (locked
// by lockSuspended) when the account has no invoice overdue past the
// suspension threshold any more. Resources suspended for another reason
// are not among them and stay suspended.
func (s *Service) liftIfSettled(ctx context.Context, tx *ent.Tx, accountID pulid.ID, suspended []*ent.Resource, now time.Time) error {
	if len(suspended) == 0 {
		return nil
	}
	overdue, err := tx.Invoice.Query().
		Where(invoice.AccountID(accountID), invoice.StatusIn(openStatuses...), invoice.DueAtLTE(s.overdueCutoff(now))).
		Exist(ctx)
	if err != nil {
		return fmt.Errorf("overdue invoices of %s: %w", accountID, err)
	}
	if overdue {
		return nil
	}
	n, err := s.machine.ApplyAll(ctx, tx, Reinstate, suspended, now, state.Change{
		Set:    func(u *ent.ResourceUpdate) { u.ClearSuspendReason() },
		Where:  []predicate.Resource{resource.SuspendReasonEQ(resource.SuspendReasonNON_PAYMENT)},
		Reason: "overdue invoices paid",
	})
	if err != nil {
		return err
	}
	names := make([]string, len(suspended))
	for i, r := range suspended {
		names[i] = r.Name
	}
	_, err = s.notify.Notify(ctx, tx, notify.Notice{
		AccountID: accountID,
		Kind:      KindReinstated,
		Title:     fmt.Sprintf("%d postpaid resource(s) running again", n),
		Body:      "Your overdue invoices are paid. These resources are running again: " + strings.Join(names, ", ") + ".",
		DedupeKey: notify.DedupeKey("postpaid", "reinstated", string(suspended[0].ID), now.Format(time.RFC3339Nano)),
		At:        now,
	})
	return err
}
