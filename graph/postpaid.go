package graph

import (
	"context"

	"billing/ent"
	"billing/ent/payment"
	"billing/graph/model"
	"billing/internal/checkout"
	"billing/internal/fault"
	"billing/internal/postpaid"
)

// quantities maps GraphQL component quantities to the services' map.
func quantities(in []*model.ComponentQuantityInput) map[string]int64 {
	q := map[string]int64{}
	for _, c := range in {
		q[c.Code] = int64(c.Quantity)
	}
	return q
}

func accountPayload(acc *ent.Account, err error) (*model.AccountPayload, error) {
	if err != nil {
		ue, err := userErrors(err)
		return &model.AccountPayload{UserErrors: ue}, err
	}
	return &model.AccountPayload{Account: acc, UserErrors: []*model.UserError{}}, nil
}

func postpaidPayload(res *postpaid.Result, err error) (*model.PostpaidResourcePayload, error) {
	if err != nil {
		ue, err := userErrors(err)
		return &model.PostpaidResourcePayload{UserErrors: ue}, err
	}
	return &model.PostpaidResourcePayload{
		Resource: res.Resource, Changed: res.Changed, Replayed: res.Replayed, UserErrors: []*model.UserError{},
	}, nil
}

func payInvoicesFailed(err error) (*model.PayInvoicesPayload, error) {
	ue, err := userErrors(err)
	return &model.PayInvoicesPayload{Invoices: []*ent.Invoice{}, UserErrors: ue}, err
}

// payInvoicesFromCredit pays invoices from credit through the postpaid
// service, which alone takes a partial amount.
func (r *mutationResolver) payInvoicesFromCredit(ctx context.Context, input model.PayInvoicesInput) (*model.PayInvoicesPayload, error) {
	res, err := r.Postpaid.PayInvoices(ctx, postpaid.PayInvoicesInput{
		AccountID: deref(input.AccountID), IdempotencyKey: input.IdempotencyKey, InvoiceIDs: input.InvoiceIds,
		Amount: input.Amount, Method: payment.MethodCREDIT,
	})
	if err != nil {
		return payInvoicesFailed(err)
	}
	invs := res.Invoices
	if invs == nil {
		invs = []*ent.Invoice{}
	}
	return &model.PayInvoicesPayload{Payment: res.Payment, Invoices: invs, Replayed: res.Replayed, UserErrors: []*model.UserError{}}, nil
}

// invoicePaymentPayload maps an invoice payment through the checkout.
func invoicePaymentPayload(res *checkout.InvoicePaymentResult) *model.PayInvoicesPayload {
	p := &model.PayInvoicesPayload{Payment: res.Payment, Invoices: res.Invoices, Replayed: res.Replayed, UserErrors: []*model.UserError{}}
	if p.Invoices == nil {
		p.Invoices = []*ent.Invoice{}
	}
	if res.RedirectURL != "" {
		p.RedirectURL = &res.RedirectURL
	}
	return p
}

// errAmountCreditOnly refuses a partial amount on a gateway method: the
// checkout pays invoices in full.
var errAmountCreditOnly = fault.New(fault.Invalid, "a partial amount can only be paid from credit", "input", "amount")
