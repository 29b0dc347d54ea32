package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"billing/internal/gateway/vnpay"
	"billing/internal/money"
)

// Config configures a Sandbox.
type Config struct {
	// TmnCode and HashSecret are the one terminal the sandbox knows.
	TmnCode    string
	HashSecret string
	// IPNURL receives payment IPNs, e.g.
	// http://127.0.0.1:8080/gateway/vnpay/ipn. Empty: no IPN is sent.
	IPNURL string
	// LinkIPNURL receives link (token_create) IPNs. Empty: none is sent.
	LinkIPNURL string
	// Location is the wire time zone; default fixed GMT+7.
	Location *time.Location
	// Now is the clock; default time.Now.
	Now func() time.Time
	// HTTPClient sends the IPNs; default a client with a 10-second timeout.
	HTTPClient *http.Client
	// Logger; default discards.
	Logger *slog.Logger
	// RetryInterval separates IPN attempts; default 5 s.
	RetryInterval time.Duration
	// MaxAttempts is the number of IPN calls before giving up; default 10.
	MaxAttempts int
	// HangLimit bounds how long the answer to a timeout-token charge is
	// held back when the client does not give up; default 2 min.
	HangLimit time.Duration
}

// Faults are deliberate misbehaviours of IPN delivery, for tests of the
// merchant side. They apply to results decided after SetFaults.
type Faults struct {
	// SkipIPN: send no IPN at all (the merchant must reconcile by querydr).
	SkipIPN bool
	// IPNBeforeRedirect: make the first IPN call before answering the
	// browser's decision, instead of in the background.
	IPNBeforeRedirect bool
	// DuplicateIPN: send every IPN call twice, concurrently.
	DuplicateIPN bool
	// TamperAmount: the IPN states 100 VND more than the payment,
	// correctly signed (the merchant must answer 04).
	TamperAmount bool
	// BadSignature: the IPN's signature is wrong (the merchant must answer 97).
	BadSignature bool
	// IPNDelay: wait this long before the first IPN call.
	IPNDelay time.Duration
}

// Transaction kinds.
const (
	KindPay      = "pay"
	KindLink     = "token_create"
	KindTokenPay = "token_pay"
)

// Transaction is the sandbox's record of a payment, link or token charge.
type Transaction struct {
	Kind       string
	TxnRef     string
	Amount     money.Amount // whole VND; zero for a link
	OrderInfo  string
	CreateDate string // vnp_CreateDate as sent (GMT+7)
	ExpireDate string
	ReturnURL  string
	// ResponseCode is empty while pending.
	ResponseCode string
	// TransactionStatus: 01 pending, 00 paid, 02 failed; 06 after a refund.
	TransactionStatus string
	// TransactionType: 01 payment, 02 full refund, 03 partial refund.
	TransactionType string
	TransactionNo   string
	BankCode        string
	BankTranNo      string
	CardType        string
	CardNumber      string // masked
	PayDate         string
	UserID          string
	Token           string
	Refunded        money.Amount
	// IPNAttempts counts IPN calls made; IPNDelivered is set once the
	// merchant answered 00 or 02; IPNLastCode is its last RspCode ("" for
	// no usable answer).
	IPNAttempts  int
	IPNDelivered bool
	IPNLastCode  string
	// RedirectURL is where the browser was (or would be) sent after the
	// decision.
	RedirectURL string
}

type txn struct {
	Transaction
	id         string
	hash       string // signature of the creating request: a reload is not a duplicate
	amountWire string
	expire     time.Time
	cancelURL  string
	bankCode   string // vnp_BankCode the merchant preselected
	ipnTarget  string
	ipnQuery   string // signed IPN query, kept for ResendIPN
}

type linkedToken struct {
	userID string
	card   Card
}

// Sandbox is an in-memory VNPAY. Create it with New, serve Handler, stop
// it with Close.
type Sandbox struct {
	cfg    Config
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu         sync.Mutex
	closed     bool
	faults     Faults
	seq        int
	txns       []*txn
	byID       map[string]*txn
	byRef      map[string][]*txn
	tokens     map[string]*linkedToken
	requestIDs map[string]bool
}

// New returns a sandbox with cfg's defaults filled in.
func New(cfg Config) *Sandbox {
	if cfg.Location == nil {
		cfg.Location = vnpay.GMT7
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = 5 * time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 10
	}
	if cfg.HangLimit <= 0 {
		cfg.HangLimit = 2 * time.Minute
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Sandbox{
		cfg:        cfg,
		log:        cfg.Logger.With("component", "vnpay-sandbox"),
		ctx:        ctx,
		cancel:     cancel,
		byID:       map[string]*txn{},
		byRef:      map[string][]*txn{},
		tokens:     map[string]*linkedToken{},
		requestIDs: map[string]bool{},
	}
}

// ClientConfig returns the vnpay adapter configuration that talks to this
// sandbox mounted at baseURL (e.g. "http://127.0.0.1:8080/sandbox"). Its
// Name is "sandbox"; HTTPClient is left to the caller.
func (s *Sandbox) ClientConfig(baseURL string) vnpay.Config {
	base := strings.TrimRight(baseURL, "/")
	return vnpay.Config{
		Name:       "sandbox",
		TmnCode:    s.cfg.TmnCode,
		HashSecret: s.cfg.HashSecret,
		PayURL:     base + "/paymentv2/vpcpay.html",
		APIURL:     base + "/merchant_webapi/api/transaction",
		TokenURL:   base + "/tokenUI",
		Location:   s.cfg.Location,
		Now:        s.cfg.Now,
	}
}

// Close stops IPN deliveries, releases held token-charge answers and waits
// for the delivery goroutines. It is safe to call more than once.
func (s *Sandbox) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}

// SetFaults switches IPN misbehaviours on or off.
func (s *Sandbox) SetFaults(f Faults) {
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
}

// Transactions returns a copy of every record, oldest first.
func (s *Sandbox) Transactions() []Transaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Transaction, len(s.txns))
	for i, t := range s.txns {
		out[i] = t.Transaction
	}
	return out
}

// Transaction returns the latest record with txnRef.
func (s *Sandbox) Transaction(txnRef string) (Transaction, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ts := s.byRef[txnRef]; len(ts) > 0 {
		return ts[len(ts)-1].Transaction, true
	}
	return Transaction{}, false
}

// Errors of the programmatic helpers.
var (
	ErrNotFound    = errors.New("sandbox: no such transaction")
	ErrNotPending  = errors.New("sandbox: transaction already decided")
	ErrUnknownCard = errors.New("sandbox: not a test card")
)

// Approve completes the pending payment txnRef with the success card, as
// the Approve button does (IPN included).
func (s *Sandbox) Approve(txnRef string) error { return s.PayWithCard(txnRef, CardSuccess) }

// Decline cancels the pending payment txnRef (code 24), as the Decline
// button does (IPN included).
func (s *Sandbox) Decline(txnRef string) error {
	t, err := s.pending(KindPay, txnRef)
	if err != nil {
		return err
	}
	_, err = s.decidePay(t, false, "", "")
	return err
}

// PayWithCard completes the pending payment txnRef with a test card and
// the right OTP; the card decides the outcome.
func (s *Sandbox) PayWithCard(txnRef, card string) error {
	t, err := s.pending(KindPay, txnRef)
	if err != nil {
		return err
	}
	_, err = s.decidePay(t, true, card, TestOTP)
	return err
}

// ApproveLink completes the pending link txnRef with the success card.
func (s *Sandbox) ApproveLink(txnRef string) error { return s.LinkWithCard(txnRef, CardSuccess) }

// LinkWithCard completes the pending link txnRef with a test card, as the
// link page does (link IPN included).
func (s *Sandbox) LinkWithCard(txnRef, card string) error {
	t, err := s.pending(KindLink, txnRef)
	if err != nil {
		return err
	}
	_, err = s.decideLink(t, true, card, TestOTP)
	return err
}

// LinkTestToken issues a token for userID without the link page or an
// IPN. outcome is OutcomeSuccess, OutcomeInsufficientFunds or
// OutcomeTimeout; anything else panics (it is a test helper).
func (s *Sandbox) LinkTestToken(userID, outcome string) (token string) {
	number, ok := outcomeCards[outcome]
	if !ok {
		panic(fmt.Sprintf("sandbox: unknown token outcome %q", outcome))
	}
	card, _ := FindCard(number)
	s.mu.Lock()
	defer s.mu.Unlock()
	token = newToken()
	s.tokens[token] = &linkedToken{userID: userID, card: card}
	return token
}

// ResendIPN delivers the IPN of the decided payment or link txnRef once
// more (a replay), with the usual retries.
func (s *Sandbox) ResendIPN(txnRef string) error {
	s.mu.Lock()
	var t *txn
	for _, c := range s.byRef[txnRef] {
		if c.ipnQuery != "" {
			t = c
		}
	}
	s.mu.Unlock()
	if t == nil {
		return fmt.Errorf("resend ipn %s: %w", txnRef, ErrNotFound)
	}
	s.deliver(t, Faults{}, false)
	return nil
}

func (s *Sandbox) pending(kind, txnRef string) (*txn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := s.byRef[txnRef]
	for i := len(ts) - 1; i >= 0; i-- {
		if ts[i].Kind == kind {
			if ts[i].ResponseCode != "" {
				return nil, fmt.Errorf("%s %s: %w", kind, txnRef, ErrNotPending)
			}
			return ts[i], nil
		}
	}
	return nil, fmt.Errorf("%s %s: %w", kind, txnRef, ErrNotFound)
}

func (s *Sandbox) now() time.Time { return s.cfg.Now().In(s.cfg.Location) }

func (s *Sandbox) format(t time.Time) string { return vnpay.FormatTime(t, s.cfg.Location) }

// record stores a new transaction. Callers hold s.mu.
func (s *Sandbox) record(t *txn) {
	s.seq++
	t.id = strconv.Itoa(s.seq)
	t.TransactionNo = strconv.Itoa(14000000 + s.seq)
	if t.TransactionType == "" {
		t.TransactionType = "01"
	}
	s.txns = append(s.txns, t)
	s.byID[t.id] = t
	s.byRef[t.TxnRef] = append(s.byRef[t.TxnRef], t)
}

// sameDay returns the record of txnRef created on the GMT+7 day of
// createDate (yyyyMMdd…), if any. Callers hold s.mu.
func (s *Sandbox) sameDay(txnRef, createDate string) *txn {
	for _, t := range s.byRef[txnRef] {
		if len(t.CreateDate) >= 8 && len(createDate) >= 8 && t.CreateDate[:8] == createDate[:8] {
			return t
		}
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newToken() string { return "tok" + randomHex(16) }

func withQuery(base, query string) string {
	if strings.Contains(base, "?") {
		return base + "&" + query
	}
	return base + "?" + query
}

// Handler returns the sandbox's HTTP handler, to be mounted at /sandbox/.
func (s *Sandbox) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

func (s *Sandbox) serveHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if p == "/sandbox" || strings.HasPrefix(p, "/sandbox/") {
		p = strings.TrimPrefix(p, "/sandbox")
	}
	w.Header().Set("Cache-Control", "no-store")
	switch {
	case p == "" || p == "/":
		s.serveIndex(w, r)
	case p == "/paymentv2/vpcpay.html" && r.Method == http.MethodGet:
		s.openPayment(w, r)
	case p == "/paymentv2/vpcpay.html" && r.Method == http.MethodPost:
		s.submitPayment(w, r)
	case p == "/tokenUI/create-token.html" && r.Method == http.MethodGet:
		s.openLink(w, r)
	case p == "/tokenUI/create-token.html" && r.Method == http.MethodPost:
		s.submitLink(w, r)
	case p == "/tokenUI/api/token-pay" && r.Method == http.MethodPost:
		s.tokenPay(w, r)
	case p == "/merchant_webapi/api/transaction" && r.Method == http.MethodPost:
		s.serveAPI(w, r)
	case p == "/qrpayauth/api/merchant/get_bank_list" && r.Method == http.MethodPost:
		s.bankList(w)
	case p == "/paymentv2/vpcpay.html" || p == "/tokenUI/create-token.html" || p == "/tokenUI/api/token-pay" ||
		p == "/merchant_webapi/api/transaction" || p == "/qrpayauth/api/merchant/get_bank_list":
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	default:
		http.NotFound(w, r)
	}
}

// parseForm reads a bounded POST form.
func parseForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	return r.PostForm, nil
}
