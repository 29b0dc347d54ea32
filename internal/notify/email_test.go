package notify_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"billing/internal/auth"
	"billing/internal/fault"
	"billing/internal/notify"
	"billing/internal/pulid"
	"billing/internal/testdb"
)

// smtpMailer returns an SMTP mailer for a test server.
func smtpMailer(t *testing.T, srv *smtpServer) *notify.SMTP {
	t.Helper()
	m, err := notify.NewSMTP(notify.SMTPConfig{Addr: srv.Addr, Timeout: waitFor})
	require.NoError(t, err)
	return m
}

// Two instances (two database handles) deliver at once: every notice with
// an address is sent exactly once, to the right person, with its text.
func TestDeliverEmailsExactlyOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	srv := startSMTP(t)
	acme := b.account(t, "acme", "billing@acme.vn")
	globex := b.account(t, "globex", "ops@globex.vn")
	silent := b.account(t, "silent", "") // no address: marked, not sent

	type want struct{ to, subject, body string }
	wants := map[string]want{} // by Message-ID
	const perAccount = 30      // more than one batch in all
	for i := range perAccount {
		b.clock.Advance(time.Second)
		for _, acc := range []struct {
			id   pulid.ID
			addr string
		}{{acme, "billing@acme.vn"}, {globex, "ops@globex.vn"}, {silent, ""}} {
			n := notify.Notice{
				AccountID: acc.id,
				Kind:      notify.KindAutoRenewFailed,
				Title:     fmt.Sprintf("Tự động gia hạn thất bại #%d", i),
				Body:      fmt.Sprintf("Số dư không đủ để gia hạn srv-%d.\n.Vui lòng nạp thêm.", i),
				DedupeKey: notify.DedupeKey("test", string(acc.id), fmt.Sprint(i)),
			}
			require.True(t, b.notify(t, n))
			if acc.addr != "" {
				wants[n.Title+"|"+acc.addr] = want{acc.addr, n.Title, n.Body}
			}
		}
	}

	db2 := testdb.Open(t, b.dsn)
	instances := []*notify.Service{b.service(b.db, smtpMailer(t, srv)), b.service(db2, smtpMailer(t, srv))}
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		sent  = make([]int, len(instances))
		errs  = make([]error, len(instances))
	)
	for i, svc := range instances {
		wg.Go(func() {
			<-start
			sent[i], errs[i] = svc.DeliverEmails(b.ctx)
		})
	}
	close(start)
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	require.Equal(t, 2*perAccount, sent[0]+sent[1])
	t.Logf("split between instances: %v", sent)

	msgs := srv.Messages()
	require.Len(t, msgs, 2*perAccount)
	seen := map[string]bool{}
	for _, m := range msgs {
		require.Len(t, m.To, 1)
		d := decode(t, m)
		key := d.Subject + "|" + m.To[0]
		require.False(t, seen[key], "sent twice: %s", key)
		seen[key] = true
		w, ok := wants[key]
		require.True(t, ok, "unexpected message %s", key)
		require.Equal(t, "billing@example.vn", m.From)
		require.Equal(t, "<"+w.to+">", d.Header.Get("To"))
		require.Equal(t, w.subject, d.Subject)
		require.Equal(t, w.body+"\n", d.Body)
	}
	require.Len(t, seen, len(wants))

	for _, n := range b.rows(t) {
		require.NotNil(t, n.EmailedAt, "%s", n.ID)
		require.True(t, t0.Add(perAccount*time.Second).Equal(*n.EmailedAt))
	}
	require.Len(t, b.logs.records(t, "email skipped: account has no e-mail address"), perAccount)

	// Nothing is left for a later run.
	n, err := instances[1].DeliverEmails(b.ctx)
	require.NoError(t, err)
	require.Equal(t, 0, n)
	require.Len(t, srv.Messages(), 2*perAccount)
}

func TestDeliverEmailsWithoutMailer(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t, "acme", "billing@acme.vn")
	n := reminder(acc, pulid.New("res"), "t-7")
	require.True(t, b.notify(t, n))
	b.clock.Advance(time.Minute)

	sent, err := b.svc.DeliverEmails(b.ctx)
	require.NoError(t, err)
	require.Equal(t, 1, sent)
	row := b.rows(t)[0]
	require.True(t, t0.Add(time.Minute).Equal(*row.EmailedAt))

	recs := b.logs.records(t, "email (not configured)")
	require.Len(t, recs, 1)
	require.Equal(t, "INFO", recs[0]["level"])
	require.Equal(t, "billing@acme.vn", recs[0]["to"])
	require.Equal(t, n.Title, recs[0]["subject"])
	require.Equal(t, n.Body, recs[0]["body"])
	require.Equal(t, string(row.ID), recs[0]["notification"])
	require.Equal(t, string(acc), recs[0]["account"])
	require.Equal(t, "renewal.reminder", recs[0]["kind"])

	// Logged once: a second run finds nothing.
	sent, err = b.svc.DeliverEmails(b.ctx)
	require.NoError(t, err)
	require.Equal(t, 0, sent)
	require.Len(t, b.logs.records(t, "email (not configured)"), 1)
}

// A temporary refusal gives the notice back and stops the run; the next
// run sends it. A permanent refusal is logged and not retried.
func TestDeliverEmailsFailures(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var (
		mu      sync.Mutex
		answers = map[string][]string{ // queued RCPT answers per address
			"billing@acme.vn":  {"451 4.3.0 try again later"},
			"nobody@globex.vn": {"550 5.1.1 no such user"},
		}
	)
	srv := startSMTP(t, withRcptReply(func(rcpt string) string {
		mu.Lock()
		defer mu.Unlock()
		q := answers[rcpt]
		if len(q) == 0 {
			return ""
		}
		answers[rcpt] = q[1:]
		return q[0]
	}))
	svc := b.service(b.db, smtpMailer(t, srv))
	acme := b.account(t, "acme", "billing@acme.vn")
	globex := b.account(t, "globex", "nobody@globex.vn")
	b.clock.Advance(time.Second)
	require.True(t, b.notify(t, reminder(globex, pulid.New("res"), "t-7")))
	b.clock.Advance(time.Second)
	require.True(t, b.notify(t, reminder(acme, pulid.New("res"), "t-7")))
	b.clock.Advance(time.Second)
	require.True(t, b.notify(t, reminder(acme, pulid.New("res"), "t-3")))

	// Run 1: Globex's 550 is final; Acme's first notice gets a 451: given
	// back, and the run stops before the third.
	sent, err := svc.DeliverEmails(b.ctx)
	require.ErrorIs(t, err, notify.ErrNotSent)
	require.ErrorContains(t, err, `RCPT TO: message not sent: 451 "4.3.0 try again later"`)
	require.Equal(t, 0, sent)
	rows := b.rows(t)
	require.NotNil(t, rows[0].EmailedAt)
	require.Nil(t, rows[1].EmailedAt)
	require.Nil(t, rows[2].EmailedAt)
	failed := b.logs.records(t, "email failed and will not be retried")
	require.Len(t, failed, 1)
	require.Equal(t, string(rows[0].ID), failed[0]["notification"])
	require.Equal(t, `smtp send to nobody@globex.vn: RCPT TO: 550 "5.1.1 no such user"`, failed[0]["error"])
	require.Empty(t, srv.Messages())

	// Run 2: both of Acme's notices go out, once.
	sent, err = svc.DeliverEmails(b.ctx)
	require.NoError(t, err)
	require.Equal(t, 2, sent)
	msgs := srv.Messages()
	require.Len(t, msgs, 2)
	for i, m := range msgs {
		require.Equal(t, []string{"billing@acme.vn"}, m.To)
		require.Equal(t, "<"+string(rows[i+1].ID)+"@example.vn>", decode(t, m).Header.Get("Message-ID"))
	}
	sent, err = svc.DeliverEmails(b.ctx)
	require.NoError(t, err)
	require.Equal(t, 0, sent)
}

// A server that is out of service: nothing is lost, the notice waits for
// the next run.
func TestDeliverEmailsServerDown(t *testing.T) {
	t.Parallel()
	b := setup(t)
	srv := startSMTP(t, withGreeting("421 4.3.2 service not available"))
	svc := b.service(b.db, smtpMailer(t, srv))
	acc := b.account(t, "acme", "billing@acme.vn")
	require.True(t, b.notify(t, reminder(acc, pulid.New("res"), "t-7")))

	sent, err := svc.DeliverEmails(b.ctx)
	require.ErrorIs(t, err, notify.ErrNotSent)
	require.ErrorContains(t, err, `greeting: message not sent: 421 "4.3.2 service not available"`)
	require.Equal(t, 0, sent)
	require.Nil(t, b.rows(t)[0].EmailedAt)
	require.Empty(t, srv.Messages())
}

func TestDeliverEmailsRoles(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t, "acme", "billing@acme.vn")
	require.True(t, b.notify(t, reminder(acc, pulid.New("res"), "t-7")))
	_, err := b.svc.DeliverEmails(customer(acc))
	require.True(t, fault.Is(err, fault.Forbidden), "%v", err)
	_, err = b.svc.DeliverEmails(context.Background())
	require.True(t, fault.Is(err, fault.Unauthenticated), "%v", err)
	admin := auth.WithViewer(context.Background(), auth.Viewer{Subject: "ops", Role: auth.RoleAdmin})
	sent, err := b.svc.DeliverEmails(admin)
	require.NoError(t, err)
	require.Equal(t, 1, sent)
}

// The message on the wire: headers, UTF-8 subject, dot-stuffed and long
// body lines, CRLF everywhere (the server records any bare LF).
func TestSMTPMessage(t *testing.T) {
	t.Parallel()
	srv := startSMTP(t)
	m := smtpMailer(t, srv)
	long := strings.Repeat("Dòng rất dài ", 120) // > 998 octets
	body := "Xin chào,\n.\n..hai chấm\r\n.một chấm\n\n" + long + "\nHết."
	date := time.Date(2026, 12, 1, 8, 0, 0, 0, time.FixedZone("ICT", 7*3600))
	subject := strings.Repeat("Hóa đơn INV-202612-000042 đã thanh toán — ", 4)
	err := m.Send(context.Background(), notify.Message{
		To:      "khach.hang@acme.vn",
		From:    "Billing Cloud <billing@example.vn>",
		Subject: subject,
		Body:    body,
		Date:    date,
		ID:      "ntf_01JDX3Q6V7N2M8K4P5R6S7T8V9",
	})
	require.NoError(t, err)

	msgs := srv.Messages()
	require.Len(t, msgs, 1)
	require.Equal(t, "billing@example.vn", msgs[0].From)
	require.Equal(t, []string{"khach.hang@acme.vn"}, msgs[0].To)
	for line := range strings.SplitSeq(msgs[0].Data, "\r\n") {
		require.LessOrEqual(t, len(line), 998)
		require.NotContains(t, line, "\n")
	}
	d := decode(t, msgs[0])
	require.Equal(t, subject, d.Subject)
	require.Equal(t, strings.ReplaceAll(body, "\r\n", "\n")+"\n", d.Body)
	require.Equal(t, `"Billing Cloud" <billing@example.vn>`, d.Header.Get("From"))
	require.Equal(t, "<khach.hang@acme.vn>", d.Header.Get("To"))
	require.Equal(t, "Tue, 01 Dec 2026 08:00:00 +0700", d.Header.Get("Date"))
	require.Equal(t, "<ntf_01JDX3Q6V7N2M8K4P5R6S7T8V9@example.vn>", d.Header.Get("Message-ID"))
	require.Equal(t, "1.0", d.Header.Get("MIME-Version"))
	require.Equal(t, "text/plain; charset=utf-8", d.Header.Get("Content-Type"))
	require.True(t, strings.HasPrefix(d.Header.Get("Subject"), "=?utf-8?q?"), d.Header.Get("Subject"))
	require.Contains(t, msgs[0].Data, "?=\r\n =?utf-8?q?") // folded between encoded words
}

func TestSMTPRejectsBadAddresses(t *testing.T) {
	t.Parallel()
	srv := startSMTP(t)
	m := smtpMailer(t, srv)
	for _, msg := range []notify.Message{
		{To: "not an address", From: "billing@example.vn"},
		{To: "a@b.vn\r\nBcc: victim@c.vn", From: "billing@example.vn"},
		{To: "a@b.vn", From: ""},
	} {
		err := m.Send(context.Background(), msg)
		require.Error(t, err)
		require.NotErrorIs(t, err, notify.ErrNotSent) // permanent: never retried
	}
	require.Empty(t, srv.Messages())
}

func TestSMTPStartTLSAndAuth(t *testing.T) {
	t.Parallel()
	serverTLS, clientTLS := testCert(t)
	srv := startSMTP(t, withTLSAuth(serverTLS, "mailer", "s3cret"))
	msg := notify.Message{To: "a@acme.vn", From: "billing@example.vn", Subject: "Hi", Body: "Hello"}

	m, err := notify.NewSMTP(notify.SMTPConfig{
		Addr: srv.Addr, Username: "mailer", Password: "s3cret",
		StartTLS: true, TLSConfig: clientTLS, From: "bounces@example.vn", Timeout: waitFor,
	})
	require.NoError(t, err)
	require.NoError(t, m.Send(context.Background(), msg))
	msgs := srv.Messages()
	require.Len(t, msgs, 1)
	require.True(t, msgs[0].TLS)
	require.Equal(t, "mailer", msgs[0].AuthUser)
	require.Equal(t, "bounces@example.vn", msgs[0].From) // envelope sender
	require.Equal(t, "<billing@example.vn>", decode(t, msgs[0]).Header.Get("From"))

	// A wrong password is a configuration problem: retry later.
	bad, err := notify.NewSMTP(notify.SMTPConfig{
		Addr: srv.Addr, Username: "mailer", Password: "wrong", StartTLS: true, TLSConfig: clientTLS, Timeout: waitFor,
	})
	require.NoError(t, err)
	require.ErrorIs(t, bad.Send(context.Background(), msg), notify.ErrNotSent)

	// STARTTLS required but not offered: refuse, never downgrade.
	plain := startSMTP(t)
	m, err = notify.NewSMTP(notify.SMTPConfig{Addr: plain.Addr, StartTLS: true, TLSConfig: clientTLS, Timeout: waitFor})
	require.NoError(t, err)
	err = m.Send(context.Background(), msg)
	require.ErrorIs(t, err, notify.ErrNotSent)
	require.ErrorContains(t, err, "does not offer STARTTLS")
	require.Empty(t, plain.Messages())
	require.Len(t, srv.Messages(), 1)
}

func TestNewSMTP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  notify.SMTPConfig
		ok   bool
	}{
		{"no port", notify.SMTPConfig{Addr: "mail.example.vn"}, false},
		{"plain auth over the network", notify.SMTPConfig{Addr: "mail.example.vn:587", Username: "u", Password: "p"}, false},
		{"plain auth with STARTTLS", notify.SMTPConfig{Addr: "mail.example.vn:587", Username: "u", Password: "p", StartTLS: true}, true},
		{"plain auth to localhost", notify.SMTPConfig{Addr: "127.0.0.1:25", Username: "u", Password: "p"}, true},
		{"no auth", notify.SMTPConfig{Addr: "relay.internal:25"}, true},
		{"bad envelope sender", notify.SMTPConfig{Addr: "relay.internal:25", From: "nope"}, false},
	}
	for _, tt := range tests {
		_, err := notify.NewSMTP(tt.cfg)
		require.Equal(t, tt.ok, err == nil, "%s: %v", tt.name, err)
	}
}
