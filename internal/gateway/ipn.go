package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
)

// IPNOutcome is what the merchant's apply function made of a verified
// callback; IPNHandler turns it into the §4.3 answer. The zero value is not
// an outcome and answers 99.
type IPNOutcome int

// IPN outcomes, in the order of the §4.3 checks.
const (
	// IPNConfirmed: the result (success or failure) is durably recorded → 00.
	IPNConfirmed IPNOutcome = iota + 1
	// IPNNotFound: no payment with this TxnRef → 01.
	IPNNotFound
	// IPNAlreadyConfirmed: the payment is no longer pending (duplicate) → 02.
	IPNAlreadyConfirmed
	// IPNInvalidAmount: the amount differs from the payment's → 04.
	IPNInvalidAmount
	// IPNError: anything else; the gateway will retry → 99.
	IPNError
)

// RspCode returns the answer VNPAY expects for the outcome: RspCode and
// Message (VNPAY's demo wording).
func (o IPNOutcome) RspCode() (code, message string) {
	switch o {
	case IPNConfirmed:
		return "00", "Confirm Success"
	case IPNNotFound:
		return "01", "Order not found"
	case IPNAlreadyConfirmed:
		return "02", "Order already confirmed"
	case IPNInvalidAmount:
		return "04", "invalid amount"
	default:
		return "99", "Unknow error"
	}
}

// String implements fmt.Stringer.
func (o IPNOutcome) String() string {
	switch o {
	case IPNConfirmed:
		return "confirmed"
	case IPNNotFound:
		return "not_found"
	case IPNAlreadyConfirmed:
		return "already_confirmed"
	case IPNInvalidAmount:
		return "invalid_amount"
	case IPNError:
		return "error"
	}
	return "invalid"
}

// IPNResponse is the JSON body of every IPN answer.
type IPNResponse struct {
	RspCode string `json:"RspCode"`
	Message string `json:"Message"`
}

func writeIPN(w http.ResponseWriter, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(IPNResponse{RspCode: code, Message: message})
}

// callbackParams returns the request's parameters: the query string, plus
// form fields when a gateway POSTs them.
func callbackParams(w http.ResponseWriter, r *http.Request) url.Values {
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err == nil {
			for k, vs := range r.PostForm {
				q[k] = append(q[k], vs...)
			}
		}
	}
	return q
}

func hasVNP(q url.Values) bool {
	for k := range q {
		if strings.HasPrefix(k, "vnp_") {
			return true
		}
	}
	return false
}

func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// serveIPN is the §4.3 sequence shared by payment and link IPNs.
func serveIPN[T any](w http.ResponseWriter, r *http.Request, logger *slog.Logger, kind, refParam string,
	verify func(url.Values) (T, error), apply func(context.Context, T) IPNOutcome) {
	q := callbackParams(w, r)
	ref := q.Get(refParam)
	if !hasVNP(q) {
		writeIPN(w, "99", "Input data required")
		return
	}
	v, err := verify(q)
	if errors.Is(err, ErrInvalidSignature) {
		// Never log the parameters or the hash: only what identifies it.
		logger.WarnContext(r.Context(), "gateway ipn: invalid signature", "kind", kind, "txn_ref", ref, "remote", r.RemoteAddr)
		writeIPN(w, "97", "Invalid signature")
		return
	}
	if err != nil {
		logger.WarnContext(r.Context(), "gateway ipn: unreadable callback", "kind", kind, "txn_ref", ref, "err", err)
		writeIPN(w, "99", "Unknow error")
		return
	}
	outcome := func() (o IPNOutcome) {
		defer func() {
			if p := recover(); p != nil {
				logger.ErrorContext(r.Context(), "gateway ipn: apply panicked", "kind", kind, "txn_ref", ref, "panic", p)
				o = IPNError
			}
		}()
		return apply(r.Context(), v)
	}()
	code, msg := outcome.RspCode()
	logger.InfoContext(r.Context(), "gateway ipn", "kind", kind, "txn_ref", ref, "outcome", outcome.String(), "rsp_code", code)
	writeIPN(w, code, msg)
}

// IPNHandler serves a gateway's payment IPN (GET, or POST form): it
// verifies the callback (bad signature → 97, logged without parameters or
// secrets), hands it to apply, and answers with apply's outcome (§4.3),
// always HTTP 200 with {"RspCode","Message"}. A request without vnp_
// parameters, an unreadable callback or a panic in apply answers 99.
//
// apply must be idempotent and atomic — the same IPN may arrive several
// times, concurrently — check, in order: payment exists (IPNNotFound),
// amount matches (IPNInvalidAmount), still pending (IPNAlreadyConfirmed);
// then record success or failure and return IPNConfirmed only once that is
// durably stored.
func IPNHandler(gw Gateway, apply func(ctx context.Context, cb Callback) IPNOutcome, logger *slog.Logger) http.Handler {
	logger = orDiscard(logger)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serveIPN(w, r, logger, "payment", "vnp_TxnRef", gw.VerifyCallback, apply)
	})
}

// LinkIPNHandler is IPNHandler for link (token_create) callbacks.
func LinkIPNHandler(gw Gateway, apply func(ctx context.Context, res LinkResult) IPNOutcome, logger *slog.Logger) http.Handler {
	logger = orDiscard(logger)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serveIPN(w, r, logger, "link", "vnp_txn_ref", gw.VerifyLinkCallback, apply)
	})
}

// ReturnHandler serves the page the buyer's browser comes back to. It only
// verifies and displays: show gets the decoded callback and whether its
// signature (and fields) checked out; when verified is false cb is the
// zero Callback. It must never change state — the IPN does that; a page
// typically shows the result and then follows the payment's own status.
func ReturnHandler(gw Gateway, show func(w http.ResponseWriter, r *http.Request, cb Callback, verified bool)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cb, err := gw.VerifyCallback(r.URL.Query())
		if err != nil {
			cb = Callback{}
		}
		show(w, r, cb, err == nil)
	})
}

// LinkReturnHandler is ReturnHandler for the link flow.
func LinkReturnHandler(gw Gateway, show func(w http.ResponseWriter, r *http.Request, res LinkResult, verified bool)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := gw.VerifyLinkCallback(r.URL.Query())
		if err != nil {
			res = LinkResult{}
		}
		show(w, r, res, err == nil)
	})
}
