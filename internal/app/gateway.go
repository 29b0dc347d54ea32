package app

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"

	"billing/internal/gateway"
)

// errNoGateway is what gateway payments get when no gateway is configured.
var errNoGateway = errors.New("no payment gateway is configured: set BILLING_VNPAY_* or BILLING_SANDBOX=true")

// unconfigured is the gateway of a deployment without VNPAY settings and
// without the sandbox: credit payments work, gateway payments fail cleanly.
type unconfigured struct{}

func (unconfigured) Name() string { return "none" }
func (unconfigured) StartPayment(context.Context, gateway.StartRequest) (gateway.StartResult, error) {
	return gateway.StartResult{}, errNoGateway
}
func (unconfigured) VerifyCallback(url.Values) (gateway.Callback, error) {
	return gateway.Callback{}, gateway.ErrInvalidSignature
}
func (unconfigured) ChargeToken(context.Context, gateway.TokenCharge) (gateway.ChargeResult, error) {
	return gateway.ChargeResult{}, errNoGateway
}
func (unconfigured) StartLink(context.Context, gateway.LinkRequest) (gateway.StartResult, error) {
	return gateway.StartResult{}, errNoGateway
}
func (unconfigured) VerifyLinkCallback(url.Values) (gateway.LinkResult, error) {
	return gateway.LinkResult{}, gateway.ErrInvalidSignature
}
func (unconfigured) Query(context.Context, gateway.QueryRequest) (gateway.QueryResult, error) {
	return gateway.QueryResult{}, errNoGateway
}

var returnTmpl = template.Must(template.New("return").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Payment</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 4em auto">
{{if not .Verified}}<h1>We could not verify this payment result</h1><p>The link was altered. Your payment status is in the dashboard.</p>
{{else if .Success}}<h1>Payment received</h1><p>Reference {{.TxnRef}}. Your resources are being prepared; the dashboard shows their progress live.</p>
{{else}}<h1>Payment not completed</h1><p>Reference {{.TxnRef}} (code {{.Code}}). Nothing was charged for it; you can try again from the dashboard.</p>{{end}}
</body></html>`))

// returnPage is the browser's landing page after the gateway. It only
// shows the result: state changes come from the signed IPN.
func returnPage(w http.ResponseWriter, _ *http.Request, cb gateway.Callback, verified bool) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = returnTmpl.Execute(w, map[string]any{"Verified": verified, "Success": cb.Success, "TxnRef": cb.TxnRef, "Code": cb.ResponseCode})
}
