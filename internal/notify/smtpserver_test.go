package notify_test

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// smtpServer is a minimal RFC 5321 server on 127.0.0.1 for tests: greeting,
// EHLO/HELO, optional STARTTLS and AUTH PLAIN, MAIL, RCPT, DATA, RSET,
// NOOP, QUIT. It records every message it accepts and every line that did
// not end in CRLF.
type smtpServer struct {
	Addr string

	greeting   string      // "" means 220; anything else is sent, then the connection closed
	tls        *tls.Config // offers STARTTLS when set
	user, pass string      // requires AUTH PLAIN when user is set
	// rcptReply answers RCPT TO for an address; nil or "" means 250.
	rcptReply func(rcpt string) string

	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	msgs  []received
	bad   []string // lines without CRLF
	conns map[net.Conn]struct{}
}

// received is one accepted message.
type received struct {
	From     string
	To       []string
	Data     string // as sent, dot-stuffing undone, CRLF kept
	TLS      bool
	AuthUser string
}

// smtpOption configures a test server before it starts.
type smtpOption func(*smtpServer)

func withRcptReply(f func(string) string) smtpOption {
	return func(s *smtpServer) { s.rcptReply = f }
}

func withGreeting(g string) smtpOption {
	return func(s *smtpServer) { s.greeting = g }
}

func withTLSAuth(cfg *tls.Config, user, pass string) smtpOption {
	return func(s *smtpServer) { s.tls, s.user, s.pass = cfg, user, pass }
}

// startSMTP starts a server that is stopped when the test ends.
func startSMTP(t *testing.T, opts ...smtpOption) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &smtpServer{Addr: ln.Addr().String(), ln: ln, conns: map[net.Conn]struct{}{}}
	for _, o := range opts {
		o(s)
	}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			_ = c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
		s.mu.Lock()
		defer s.mu.Unlock()
		require.Empty(t, s.bad, "lines not terminated by CRLF")
	})
	return s
}

// Messages returns the accepted messages so far.
func (s *smtpServer) Messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.msgs...)
}

func (s *smtpServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// readLine reads one line and records it when it does not end in CRLF.
func (s *smtpServer) readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if !strings.HasSuffix(line, "\r\n") {
		s.mu.Lock()
		s.bad = append(s.bad, line)
		s.mu.Unlock()
	}
	return line, nil
}

func (s *smtpServer) serve(conn net.Conn) {
	defer conn.Close()
	r := bufio.NewReader(conn)
	reply := func(lines ...string) {
		for i, l := range lines {
			sep := " "
			if i < len(lines)-1 {
				sep = "-"
			}
			fmt.Fprintf(conn, "%s%s%s\r\n", l[:3], sep, l[min(len(l), 4):])
		}
	}
	var (
		from     string
		to       []string
		tlsOn    bool
		authUser string
	)
	if s.greeting != "" {
		reply(s.greeting)
		return
	}
	reply("220 test.local ESMTP ready")
	for {
		line, err := s.readLine(r)
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			ext := []string{"250 test.local greets " + arg, "250 8BITMIME"}
			if s.tls != nil && !tlsOn {
				ext = append(ext, "250 STARTTLS")
			}
			if s.user != "" {
				ext = append(ext, "250 AUTH PLAIN")
			}
			reply(ext...)
		case "HELO":
			reply("250 test.local")
		case "STARTTLS":
			if s.tls == nil || tlsOn {
				reply("502 not available")
				continue
			}
			reply("220 go ahead")
			tc := tls.Server(conn, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			conn, r, tlsOn = tc, bufio.NewReader(tc), true
			from, to, authUser = "", nil, ""
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			b, err := base64.StdEncoding.DecodeString(resp)
			parts := strings.Split(string(b), "\x00")
			if !strings.EqualFold(mech, "PLAIN") || err != nil || len(parts) != 3 || parts[1] != s.user || parts[2] != s.pass {
				reply("535 authentication failed")
				continue
			}
			authUser = parts[1]
			reply("235 authenticated")
		case "MAIL":
			if s.user != "" && authUser == "" {
				reply("530 authentication required")
				continue
			}
			from, to = between(arg), nil
			reply("250 sender ok")
		case "RCPT":
			rcpt := between(arg)
			if s.rcptReply != nil {
				if a := s.rcptReply(rcpt); a != "" {
					reply(a)
					continue
				}
			}
			to = append(to, rcpt)
			reply("250 recipient ok")
		case "DATA":
			if from == "" || len(to) == 0 {
				reply("503 need MAIL and RCPT first")
				continue
			}
			reply("354 end with <CRLF>.<CRLF>")
			var data strings.Builder
			for {
				l, err := s.readLine(r)
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(l, ".")) // undo dot-stuffing
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, received{From: from, To: to, Data: data.String(), TLS: tlsOn, AuthUser: authUser})
			s.mu.Unlock()
			from, to = "", nil
			reply("250 queued")
		case "RSET":
			from, to = "", nil
			reply("250 reset")
		case "NOOP":
			reply("250 ok")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 command not implemented")
		}
	}
}

// between returns the text between the first '<' and the next '>'.
func between(s string) string {
	_, rest, _ := strings.Cut(s, "<")
	addr, _, _ := strings.Cut(rest, ">")
	return addr
}

// mailMessage is a received message, decoded.
type mailMessage struct {
	Header  mail.Header
	Subject string
	Body    string // LF line endings
}

// decode parses a received message: RFC 2047 subject, quoted-printable body.
func decode(t *testing.T, m received) mailMessage {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(m.Data))
	require.NoError(t, err)
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	require.NoError(t, err)
	require.Equal(t, "quoted-printable", msg.Header.Get("Content-Transfer-Encoding"))
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	require.NoError(t, err)
	return mailMessage{Header: msg.Header, Subject: subject, Body: strings.ReplaceAll(string(body), "\r\n", "\n")}
}

// testCert returns a server TLS config for 127.0.0.1 and a client config
// trusting it.
func testCert(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "test smtp"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
	client = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return server, client
}
