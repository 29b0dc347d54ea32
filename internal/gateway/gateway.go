// Package gateway talks to payment gateways. One interface covers what the
// checkout needs from any gateway — start a hosted payment and get the
// redirect URL, verify a callback, charge a linked token without a
// redirect, link a payment account, and query a payment's status — with an
// adapter for the VNPAY 2.1.0 protocol and a sandbox gateway, served by the
// binary itself, that speaks the same protocol.
package gateway

import (
	"context"
	"errors"
	"net/url"
	"time"

	"billing/internal/money"
)

// Status is what a gateway says about one charge.
type Status string

// Charge statuses.
const (
	StatusSucceeded Status = "SUCCEEDED"
	StatusFailed    Status = "FAILED"
	StatusPending   Status = "PENDING" // not finished yet (the buyer is still on the page)
	StatusUnknown   Status = "UNKNOWN" // no answer (timeout): resolve later with Query, never charge again
	StatusNotFound  Status = "NOT_FOUND"
)

// ErrInvalidSignature is returned (wrapped) by VerifyCallback for a callback
// whose signature does not match: a forged or tampered request.
var ErrInvalidSignature = errors.New("gateway: invalid signature")

// Gateway is a payment gateway.
type Gateway interface {
	// Name identifies the gateway in stored attempts ("vnpay", "sandbox").
	Name() string
	// StartPayment returns the hosted-page URL to send the buyer to.
	StartPayment(ctx context.Context, req StartRequest) (StartResult, error)
	// VerifyCallback checks the signature of an IPN or return-URL request
	// and decodes it. It does not look at our own records: the caller
	// checks that the payment exists, the amount and the currency.
	VerifyCallback(query url.Values) (Callback, error)
	// ChargeToken charges a linked token with no redirect. A timeout is
	// not an error: it returns StatusUnknown.
	ChargeToken(ctx context.Context, req TokenCharge) (ChargeResult, error)
	// StartLink returns the hosted-page URL where the buyer links a
	// payment account; the result comes back through a link callback.
	StartLink(ctx context.Context, req LinkRequest) (StartResult, error)
	// VerifyLinkCallback checks and decodes a link callback.
	VerifyLinkCallback(query url.Values) (LinkResult, error)
	// Query asks the gateway for the outcome of a charge.
	Query(ctx context.Context, req QueryRequest) (QueryResult, error)
}

// StartRequest asks for a hosted payment.
type StartRequest struct {
	TxnRef    string       // our unique reference, [A-Za-z0-9]
	Amount    money.Amount // whole VND
	OrderInfo string       // description; sanitised by the adapter
	ReturnURL string       // where the buyer's browser comes back
	IPAddr    string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// StartResult is where to send the buyer.
type StartResult struct {
	RedirectURL string
}

// Callback is a verified payment result (IPN or return URL).
type Callback struct {
	TxnRef            string
	Amount            money.Amount // whole VND (the wire value divided by 100)
	Currency          string       // "VND" when the gateway states none
	TransactionNo     string       // the gateway's transaction id; dedupe key
	ResponseCode      string
	TransactionStatus string
	BankCode          string
	PayDate           time.Time
	// Success is true only for ResponseCode "00" and TransactionStatus "00".
	Success bool
}

// TokenCharge charges a linked token.
type TokenCharge struct {
	TxnRef    string
	Token     string
	Amount    money.Amount
	OrderInfo string
	IPAddr    string
	CreatedAt time.Time
	// UserID is the account the token was linked for (the gateway's app
	// user id). Optional; when set, the gateway refuses a token that
	// belongs to another user.
	UserID string
}

// ChargeResult is the outcome of a token charge.
type ChargeResult struct {
	Status        Status
	TransactionNo string
	ResponseCode  string
	Message       string
}

// LinkRequest asks to link a payment account for a user.
type LinkRequest struct {
	TxnRef    string
	UserID    string // our account id: the gateway's app user id
	ReturnURL string
	IPAddr    string
	CreatedAt time.Time
}

// LinkResult is a verified link callback: a token and a masked label, never
// card data.
type LinkResult struct {
	TxnRef  string
	UserID  string
	Token   string
	Label   string // e.g. "NCB 970419******2198"
	Success bool
	// ResponseCode is the gateway's result code ("00" success, "24"
	// cancelled, …), for display when Success is false.
	ResponseCode string
}

// QueryRequest asks about a charge.
type QueryRequest struct {
	TxnRef          string
	TransactionDate time.Time // the charge's CreatedAt
}

// QueryResult is what the gateway knows about a charge.
type QueryResult struct {
	Status        Status
	Amount        money.Amount
	TransactionNo string
	ResponseCode  string // the query's own result code ("00", "91", …)
	// TransactionStatus is the gateway's raw status of the charge
	// (VNPAY: 00 paid, 01 pending, 02 failed, 05/06 refund in progress…).
	TransactionStatus string
	// TransactionType is 01 payment, 02 full refund, 03 partial refund.
	TransactionType string
	BankCode        string
	PayDate         time.Time // zero while pending
}
