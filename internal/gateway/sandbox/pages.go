package sandbox

import (
	"bytes"
	"html/template"
	"net/http"
)

// pageView feeds the payment and link pages.
type pageView struct {
	Title, Action, ID, TxnRef, Merchant string
	Amount, OrderInfo, Expires, UserID  string
	Cards                               []Card
	OTP                                 string
	Approve, Decline                    string // form action values
	ApproveLabel, DeclineLabel          string
}

const style = `<style>
body{font-family:system-ui,sans-serif;background:#f3f6fb;margin:0;padding:2rem;color:#1b2a3a}
main{max-width:34rem;margin:auto;background:#fff;border-radius:8px;padding:1.5rem 2rem;box-shadow:0 1px 4px #0002}
h1{font-size:1.25rem;color:#005baa}.banner{background:#fff3cd;padding:.4rem .8rem;border-radius:4px;font-size:.85rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}dt{color:#567}dd{margin:0}
.amount{font-size:1.6rem;font-weight:700;color:#d0021b}label{display:block;margin:.8rem 0 .2rem}
select,input{width:100%;padding:.4rem;box-sizing:border-box}.buttons{display:flex;gap:1rem;margin-top:1.2rem}
button{flex:1;padding:.7rem;border:0;border-radius:4px;font-size:1rem;cursor:pointer}
.approve{background:#005baa;color:#fff}.decline{background:#e4e8ee}.error{color:#d0021b}
table{border-collapse:collapse;width:100%;font-size:.85rem}td,th{border-bottom:1px solid #dde;padding:.3rem;text-align:left}
</style>`

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>{{.Title}}</title>` + style + `</head>
<body><main>
<p class="banner">VNPAY sandbox — no real money moves.</p>
<h1>{{.Title}}</h1>
<dl>
<dt>Merchant</dt><dd>{{.Merchant}}</dd>
<dt>Reference</dt><dd>{{.TxnRef}}</dd>
{{if .UserID}}<dt>User</dt><dd>{{.UserID}}</dd>{{end}}
{{if .OrderInfo}}<dt>Description</dt><dd>{{.OrderInfo}}</dd>{{end}}
{{if .Expires}}<dt>Pay before</dt><dd>{{.Expires}}</dd>{{end}}
</dl>
{{if .Amount}}<p>Amount</p><p class="amount" id="amount">{{.Amount}}</p>{{end}}
<form method="post" action="{{.Action}}">
<input type="hidden" name="id" value="{{.ID}}">
<label for="card">Test card</label>
<select id="card" name="card">{{range .Cards}}<option value="{{.Number}}">{{.Number}} — {{.Description}}</option>{{end}}</select>
<label for="otp">OTP</label>
<input id="otp" name="otp" value="{{.OTP}}" inputmode="numeric" autocomplete="off">
<div class="buttons">
<button class="approve" type="submit" name="action" value="{{.Approve}}">{{.ApproveLabel}}</button>
<button class="decline" type="submit" name="action" value="{{.Decline}}">{{.DeclineLabel}}</button>
</div>
</form>
</main></body></html>`))

var errorTmpl = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Thông báo lỗi</title>` + style + `</head>
<body><main>
<p class="banner">VNPAY sandbox</p>
<h1 class="error">Giao dịch không thành công</h1>
<p id="message">{{.msg}}</p>
<p>Mã lỗi (code): <strong id="code">{{.code}}</strong></p>
</main></body></html>`))

var indexTmpl = template.Must(template.New("index").Parse(`<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>VNPAY sandbox</title>` + style + `</head>
<body><main style="max-width:60rem">
<h1>VNPAY sandbox — transactions</h1>
<table><tr><th>Kind</th><th>TxnRef</th><th>Amount</th><th>Created</th><th>Code</th><th>Status</th><th>No.</th><th>IPN</th></tr>
{{range .}}<tr><td>{{.Kind}}</td><td>{{.TxnRef}}</td><td>{{.Amount.Format}}</td><td>{{.CreateDate}}</td><td>{{.ResponseCode}}</td><td>{{.TransactionStatus}}</td><td>{{.TransactionNo}}</td><td>{{.IPNAttempts}}{{if .IPNDelivered}} ✓{{end}} {{.IPNLastCode}}</td></tr>
{{else}}<tr><td colspan="8">No transactions yet.</td></tr>{{end}}
</table>
</main></body></html>`))

func (s *Sandbox) render(w http.ResponseWriter, status int, t *template.Template, data any) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		s.log.Error("render page", "template", t.Name(), "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorPage shows VNPAY's error page: no redirect, no IPN.
func (s *Sandbox) errorPage(w http.ResponseWriter, rej *rejection) {
	s.render(w, http.StatusBadRequest, errorTmpl, map[string]string{"code": rej.code, "msg": rej.msg})
}

func (s *Sandbox) serveIndex(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	s.render(w, http.StatusOK, indexTmpl, s.Transactions())
}
