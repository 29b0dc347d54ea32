package postpaid

import (
	"context"
	"slices"

	"billing/ent"
	"billing/internal/pulid"
)

// LockInvoices takes, inside tx, the first locks of a payment of an
// account's invoices in this package's lock order — the account, then the
// invoices (PostgreSQL; SQLite serializes writers) — and returns the
// invoices named in asGiven, the caller's list (duplicates count once),
// in the order credit pays them. Each must be an open invoice (UNPAID or
// PARTIALLY_PAID) of the account: otherwise the first that is not is a
// fault on input.invoiceIds.<i>, i its position in asGiven: NotFound when it is
// unknown or another account's, InvalidState when it is PAID or VOID.
// Invoices are paid whatever the account's status: the debt is owed all
// the same. The checkout's gateway payments of invoices start with it, as
// PayInvoices does.
func (s *Service) LockInvoices(ctx context.Context, tx *ent.Tx, accountID pulid.ID, asGiven []pulid.ID) ([]*ent.Invoice, error) {
	ids := slices.Clone(asGiven)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if _, err := s.lockAccount(ctx, tx, accountID); err != nil {
		return nil, err
	}
	invs, err := s.openInvoices(ctx, tx, accountID, ids)
	if err != nil {
		return nil, err
	}
	if len(invs) != len(ids) {
		return nil, s.whyNotPayable(ctx, tx, accountID, asGiven, invs)
	}
	return invs, nil
}

// LockSuspended locks, after LockInvoices and before the wallet, the
// account's postpaid resources suspended for non-payment: the ones a
// payment settled in the same transaction may reinstate.
func (s *Service) LockSuspended(ctx context.Context, tx *ent.Tx, accountID pulid.ID) error {
	_, err := s.lockSuspended(ctx, tx, accountID)
	return err
}
