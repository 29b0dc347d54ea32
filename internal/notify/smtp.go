package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"regexp"
	"strings"
	"time"
)

// SMTPConfig configures an SMTP mailer.
type SMTPConfig struct {
	// Addr is the server's host:port (required).
	Addr string
	// Username and Password log in with AUTH PLAIN when Username is set.
	// PLAIN sends the password in the clear, so it needs StartTLS unless
	// the server is on this machine (localhost, 127.0.0.1 or ::1).
	Username, Password string
	// From is the envelope sender (MAIL FROM); empty means the address of
	// each message's From header.
	From string
	// StartTLS requires the connection to be upgraded with STARTTLS before
	// anything else is sent; a server that does not offer it is an error,
	// never a silent downgrade.
	StartTLS bool
	// TLSConfig is used for STARTTLS; nil verifies the server's certificate
	// against the system roots for the host of Addr.
	TLSConfig *tls.Config
	// HelloName is sent with EHLO; empty means "localhost".
	HelloName string
	// Timeout bounds one whole send; zero means 30 seconds.
	Timeout time.Duration
}

// SMTP sends e-mails through an SMTP server with net/smtp, one connection
// per message. It implements Mailer.
type SMTP struct {
	cfg  SMTPConfig
	host string
}

// NewSMTP returns an SMTP mailer after checking cfg.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil || host == "" {
		return nil, fmt.Errorf("smtp: address %q must be host:port", cfg.Addr)
	}
	if cfg.Username != "" && !cfg.StartTLS && !isLoopback(host) {
		return nil, fmt.Errorf("smtp: AUTH PLAIN to %s needs StartTLS: the password would cross the network in the clear", host)
	}
	if cfg.From != "" {
		if _, err := mail.ParseAddress(cfg.From); err != nil {
			return nil, fmt.Errorf("smtp: envelope sender %q: %w", cfg.From, err)
		}
	}
	if cfg.HelloName == "" {
		cfg.HelloName = "localhost"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &SMTP{cfg: cfg, host: host}, nil
}

// isLoopback reports whether host is one net/smtp's PlainAuth accepts
// without TLS.
func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// Send delivers m. Failures before the server could have accepted the
// message, and temporary (4xx) refusals, wrap ErrNotSent; permanent (5xx)
// refusals and failures while waiting for the final reply do not (see
// Mailer).
func (c *SMTP) Send(ctx context.Context, m Message) error {
	raw, sender, rcpt, err := c.compose(m)
	if err != nil {
		return err
	}
	if err := c.send(ctx, raw, sender, rcpt); err != nil {
		return fmt.Errorf("smtp send to %s: %w", rcpt, err)
	}
	return nil
}

// send runs one SMTP session.
func (c *SMTP) send(ctx context.Context, raw []byte, sender, rcpt string) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.cfg.Addr)
	if err != nil {
		return notSent("connect", err)
	}
	defer conn.Close()
	// net/smtp has no contexts: a deadline on the connection makes every
	// read and write give up when ctx ends.
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	cl, err := smtp.NewClient(conn, c.host)
	if err != nil {
		return notSent("greeting", err)
	}
	defer cl.Close()
	if err := cl.Hello(c.cfg.HelloName); err != nil {
		return notSent("EHLO", err)
	}
	if c.cfg.StartTLS {
		if ok, _ := cl.Extension("STARTTLS"); !ok {
			return notSent("STARTTLS", errors.New("the server does not offer STARTTLS"))
		}
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if c.cfg.TLSConfig != nil {
			tc = c.cfg.TLSConfig.Clone()
		}
		if tc.ServerName == "" {
			tc.ServerName = c.host
		}
		if err := cl.StartTLS(tc); err != nil {
			return notSent("STARTTLS", err)
		}
	}
	if c.cfg.Username != "" {
		// A refused login is a configuration problem, not this message's:
		// retry once someone fixed it.
		if err := cl.Auth(smtp.PlainAuth("", c.cfg.Username, c.cfg.Password, c.host)); err != nil {
			return notSent("AUTH", err)
		}
	}
	if err := cl.Mail(sender); err != nil {
		return refused("MAIL FROM", err)
	}
	if err := cl.Rcpt(rcpt); err != nil {
		return refused("RCPT TO", err)
	}
	w, err := cl.Data()
	if err != nil {
		return refused("DATA", err)
	}
	if _, err := w.Write(raw); err != nil {
		// The terminating dot was not sent: the server cannot have accepted.
		return notSent("message", err)
	}
	// Close sends the final dot and reads the reply. A 4xx or 5xx reply is
	// a clear answer; anything else (timeout, reset) leaves us not knowing
	// whether the server queued the message, so it is not ErrNotSent.
	if err := w.Close(); err != nil {
		var te *textproto.Error
		if errors.As(err, &te) {
			return refused("end of data", err)
		}
		return fmt.Errorf("end of data (the message may have been accepted): %w", err)
	}
	// The message is queued; a failing QUIT changes nothing.
	_ = cl.Quit()
	return nil
}

// notSent wraps a failure after which the message was certainly not accepted.
func notSent(step string, err error) error {
	return fmt.Errorf("%s: %w: %w", step, ErrNotSent, err)
}

// refused classifies the server's answer to a command: a temporary 4xx
// (or no answer at all, before the data was sent) is ErrNotSent, a
// permanent 5xx is final.
func refused(step string, err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return fmt.Errorf("%s: %w", step, err)
	}
	return notSent(step, err)
}

// messageIDPattern is what Message.ID may contain to be used verbatim.
var messageIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)

// compose checks m and renders it as an RFC 5322 message with CRLF line
// endings: UTF-8 subject as RFC 2047 encoded words, body as
// quoted-printable UTF-8 (7-bit safe, lines within the 998-octet limit).
// Dot-stuffing is left to net/smtp's data writer.
func (c *SMTP) compose(m Message) (raw []byte, sender, rcpt string, err error) {
	to, err := parseAddress("To", m.To)
	if err != nil {
		return nil, "", "", err
	}
	from, err := parseAddress("From", m.From)
	if err != nil {
		return nil, "", "", err
	}
	sender = c.cfg.From
	if sender == "" {
		sender = from.Address
	} else if a, err := mail.ParseAddress(sender); err == nil {
		sender = a.Address
	}
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	domain := "localhost"
	if at := strings.LastIndexByte(from.Address, '@'); at >= 0 {
		domain = from.Address[at+1:]
	}
	id := m.ID
	if !messageIDPattern.MatchString(id) {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		id = hex.EncodeToString(b)
	}

	var buf bytes.Buffer
	header := func(k, v string) { buf.WriteString(k + ": " + v + "\r\n") }
	header("From", from.String())
	header("To", to.String())
	header("Subject", encodeSubject(m.Subject))
	header("Date", date.Format(time.RFC1123Z))
	header("Message-ID", "<"+id+"@"+domain+">")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	buf.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&buf)
	// The quoted-printable writer turns each "\n" or "\r\n" into CRLF.
	if _, err := qp.Write([]byte(m.Body)); err != nil {
		return nil, "", "", fmt.Errorf("smtp: encode body: %w", err)
	}
	if err := qp.Close(); err != nil {
		return nil, "", "", fmt.Errorf("smtp: encode body: %w", err)
	}
	if !bytes.HasSuffix(buf.Bytes(), []byte("\r\n")) {
		buf.WriteString("\r\n")
	}
	return buf.Bytes(), sender, to.Address, nil
}

// parseAddress reads one address; a malformed one is a permanent failure.
func parseAddress(field, s string) (*mail.Address, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, fmt.Errorf("smtp: %s address contains a line break", field)
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("smtp: %s address %q: %w", field, s, err)
	}
	return a, nil
}

// encodeSubject encodes a subject as RFC 2047 Q encoded words when it is not
// plain ASCII, folding between words so no header line grows past the
// 998-octet limit. Encoded words hold no spaces, so "?= =?" only occurs
// between two of them. Line breaks become spaces first: a header is one line.
func encodeSubject(s string) string {
	s = strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace(s)
	return strings.ReplaceAll(mime.QEncoding.Encode("utf-8", s), "?= =?", "?=\r\n =?")
}
