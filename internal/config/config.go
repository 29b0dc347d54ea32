package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	// Embedded zone data, so Asia/Ho_Chi_Minh resolves on machines and
	// containers that ship no /usr/share/zoneinfo.
	_ "time/tzdata"
)

// MinJWTSecretLen is the shortest accepted signing secret, in bytes; it
// matches auth.MinSecretLen (not imported, to keep config free of dependencies).
const MinJWTSecretLen = 32

// The default values of the settings that have a fixed default.
const (
	DefaultAddr          = "127.0.0.1:8080"
	DefaultDataDir       = "./data"
	DefaultTimezone      = "Asia/Ho_Chi_Minh"
	DefaultLogLevel      = "info"
	DefaultLogFormat     = "text"
	DefaultPaymentExpiry = 15 * time.Minute
	DefaultVNPayPayURL   = "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html"
	DefaultVNPayAPIURL   = "https://sandbox.vnpayment.vn/merchant_webapi/api/transaction"
	// DefaultInvoiceDueDays is how long after issue a MONTHLY invoice is due.
	DefaultInvoiceDueDays = 15
	// DefaultOverdueDays is how long past its due date an unpaid invoice
	// may stay before the account's postpaid resources are suspended.
	DefaultOverdueDays = 15
	// MaxBillingDays bounds the due and overdue periods.
	MaxBillingDays = 365
)

// sqliteFileName is the database file of the embedded mode inside the data directory.
const sqliteFileName = "billing.db"

// Config is the service's configuration. Load fills every field, including
// the derived Location, and validates it.
type Config struct {
	// Addr is the host:port the HTTP server listens on.
	Addr string
	// DataDir holds the embedded database and the generated signing secret.
	DataDir string
	// DatabaseURL is a PostgreSQL URL; empty selects the embedded SQLite file.
	DatabaseURL string
	// JWTSecret signs bearer tokens; empty lets the embedded mode generate one in DataDir.
	JWTSecret string
	// Timezone is the IANA name of the zone that billing periods and invoices use.
	Timezone string
	// Location is Timezone loaded; set by Load.
	Location *time.Location
	// Scheduler runs the lifecycle jobs (renewals, expiries, reminders) in this process.
	Scheduler bool
	// LogLevel is one of debug, info, warn, error.
	LogLevel string
	// LogFormat is text or json.
	LogFormat string
	// Sandbox selects the simulated payment gateway instead of real ones.
	Sandbox bool
	// PaymentExpiry is how long a pending payment waits for the gateway before it expires.
	PaymentExpiry time.Duration
	// PublicURL is the externally reachable base URL, used in gateway return and callback links.
	PublicURL string
	// VNPAY terminal: code, hash secret and endpoints (used when Sandbox is off).
	VNPayTmnCode, VNPayHashSecret, VNPayPayURL, VNPayAPIURL string
	// Provisioner is "simulator" (built in) or "external" (product services
	// report back through reportProvisioning).
	Provisioner string
	// ProvisionDelay is how long the simulator takes per resource.
	ProvisionDelay time.Duration
	// ProvisionFailurePercent is the share of simulated provisionings that fail (0–100).
	ProvisionFailurePercent int
	// SMTP server for e-mail notices; empty Addr logs e-mails instead.
	SMTPAddr, SMTPUsername, SMTPPassword, SMTPFrom string
	// InvoiceDueDays: a postpaid MONTHLY invoice is due this many days
	// after it is issued (1–MaxBillingDays; 0 in a hand-built Config: the default).
	InvoiceDueDays int
	// OverdueDays: this many days past its due date an unpaid invoice
	// suspends the account's postpaid resources (1–MaxBillingDays; 0: the default).
	OverdueDays int
}

// setting describes one configuration value: its names, default and meaning.
// The same list registers the flags, reads the environment and renders Usage.
type setting struct {
	flag, env  string
	isBool     bool
	flagDef    string // the default shown by -help; empty for derived defaults
	usageDef   string // the default as written in Usage (markdown)
	meaning    string
	apply      func(c *Config, v string) error // v is never empty; errors must not quote secrets
	applyFlagB func(c *Config, v bool)
}

// settings is every configuration value, in the order Usage lists them.
var settings = []setting{
	{
		flag: "addr", env: "BILLING_ADDR", flagDef: DefaultAddr, usageDef: "`" + DefaultAddr + "`",
		meaning: "Address (host:port) the HTTP server listens on.",
		apply:   func(c *Config, v string) error { c.Addr = v; return nil },
	},
	{
		flag: "data-dir", env: "BILLING_DATA_DIR", flagDef: DefaultDataDir, usageDef: "`" + DefaultDataDir + "`",
		meaning: "Directory for the embedded SQLite database and the generated JWT secret.",
		apply:   func(c *Config, v string) error { c.DataDir = v; return nil },
	},
	{
		flag: "database-url", env: "BILLING_DATABASE_URL", usageDef: "empty: embedded SQLite at `<data-dir>/" + sqliteFileName + "`",
		meaning: "PostgreSQL URL (`postgres://` or `postgresql://`). Needs an explicit `sslmode` unless the host is " +
			"loopback (127.0.0.1, localhost, ::1), where `sslmode=disable` is added.",
		apply: func(c *Config, v string) error { c.DatabaseURL = v; return nil },
	},
	{
		flag: "jwt-secret", env: "BILLING_JWT_SECRET", usageDef: "empty: generated once into `<data-dir>/jwt-secret`",
		meaning: "Secret that signs bearer tokens (HS256), used as given, at least 32 bytes. " +
			"Required with a database URL; share it between all instances. " +
			"Prefer the variable: other local users can read a flag in the process list.",
		apply: func(c *Config, v string) error { c.JWTSecret = v; return nil },
	},
	{
		flag: "timezone", env: "BILLING_TIMEZONE", flagDef: DefaultTimezone, usageDef: "`" + DefaultTimezone + "`",
		meaning: "IANA time zone for billing periods, due dates and invoices.",
		apply:   func(c *Config, v string) error { c.Timezone = v; return nil },
	},
	{
		flag: "scheduler", env: "BILLING_SCHEDULER", isBool: true, flagDef: "true", usageDef: "`true`",
		meaning: "Run the scheduled lifecycle jobs (renewals, expiries, reminders) in this process.",
		apply: func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			c.Scheduler = b
			return boolErr(v, err)
		},
		applyFlagB: func(c *Config, v bool) { c.Scheduler = v },
	},
	{
		flag: "log-level", env: "BILLING_LOG_LEVEL", flagDef: DefaultLogLevel, usageDef: "`" + DefaultLogLevel + "`",
		meaning: "Log level: `debug`, `info`, `warn` or `error`.",
		apply:   func(c *Config, v string) error { c.LogLevel = strings.ToLower(v); return nil },
	},
	{
		flag: "log-format", env: "BILLING_LOG_FORMAT", flagDef: DefaultLogFormat, usageDef: "`" + DefaultLogFormat + "`",
		meaning: "Log format: `text` or `json`.",
		apply:   func(c *Config, v string) error { c.LogFormat = strings.ToLower(v); return nil },
	},
	{
		flag: "sandbox", env: "BILLING_SANDBOX", isBool: true, usageDef: "`true` when embedded, `false` with a database URL",
		meaning: "Use the simulated payment gateway instead of real ones.",
		apply: func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			c.Sandbox = b
			return boolErr(v, err)
		},
		applyFlagB: func(c *Config, v bool) { c.Sandbox = v },
	},
	{
		flag: "payment-expiry", env: "BILLING_PAYMENT_EXPIRY", flagDef: DefaultPaymentExpiry.String(), usageDef: "`15m`",
		meaning: "How long a pending payment stays open before it expires (Go duration, e.g. `15m`, `1h`).",
		apply: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("invalid duration %q", v)
			}
			c.PaymentExpiry = d
			return nil
		},
	},
	{
		flag: "vnpay-tmn-code", env: "BILLING_VNPAY_TMN_CODE", usageDef: "empty",
		meaning: "VNPAY terminal code (8 characters), when the sandbox is off.",
		apply:   func(c *Config, v string) error { c.VNPayTmnCode = v; return nil },
	},
	{
		flag: "vnpay-hash-secret", env: "BILLING_VNPAY_HASH_SECRET", usageDef: "empty",
		meaning: "VNPAY hash secret (HMAC-SHA512 key). Never logged. Prefer the variable.",
		apply:   func(c *Config, v string) error { c.VNPayHashSecret = v; return nil },
	},
	{
		flag: "vnpay-pay-url", env: "BILLING_VNPAY_PAY_URL", flagDef: DefaultVNPayPayURL, usageDef: "VNPAY's sandbox page",
		meaning: "VNPAY hosted payment page URL.",
		apply:   func(c *Config, v string) error { c.VNPayPayURL = v; return nil },
	},
	{
		flag: "vnpay-api-url", env: "BILLING_VNPAY_API_URL", flagDef: DefaultVNPayAPIURL, usageDef: "VNPAY's sandbox API",
		meaning: "VNPAY merchant API URL (querydr, refund).",
		apply:   func(c *Config, v string) error { c.VNPayAPIURL = v; return nil },
	},
	{
		flag: "provisioner", env: "BILLING_PROVISIONER", flagDef: "simulator", usageDef: "`simulator`",
		meaning: "`simulator` provisions resources in-process; `external` waits for product services to call `reportProvisioning`.",
		apply: func(c *Config, v string) error {
			if v != "simulator" && v != "external" {
				return fmt.Errorf("invalid provisioner %q (use simulator or external)", v)
			}
			c.Provisioner = v
			return nil
		},
	},
	{
		flag: "provision-delay", env: "BILLING_PROVISION_DELAY", flagDef: "2s", usageDef: "`2s`",
		meaning: "How long the provisioning simulator takes per resource.",
		apply: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return fmt.Errorf("invalid duration %q", v)
			}
			c.ProvisionDelay = d
			return nil
		},
	},
	{
		flag: "provision-failure-percent", env: "BILLING_PROVISION_FAILURE_PERCENT", flagDef: "0", usageDef: "`0`",
		meaning: "Share of simulated provisionings that fail, in percent (0–100).",
		apply: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 100 {
				return fmt.Errorf("invalid percent %q (0–100)", v)
			}
			c.ProvisionFailurePercent = n
			return nil
		},
	},
	{
		flag: "smtp-addr", env: "BILLING_SMTP_ADDR", usageDef: "empty: e-mails are logged",
		meaning: "SMTP server (host:port) for e-mail notices; STARTTLS is used when the server offers it.",
		apply:   func(c *Config, v string) error { c.SMTPAddr = v; return nil },
	},
	{
		flag: "smtp-username", env: "BILLING_SMTP_USERNAME", usageDef: "empty",
		meaning: "SMTP user name (AUTH PLAIN, only over TLS or to this machine).",
		apply:   func(c *Config, v string) error { c.SMTPUsername = v; return nil },
	},
	{
		flag: "smtp-password", env: "BILLING_SMTP_PASSWORD", usageDef: "empty",
		meaning: "SMTP password. Never logged. Prefer the variable.",
		apply:   func(c *Config, v string) error { c.SMTPPassword = v; return nil },
	},
	{
		flag: "smtp-from", env: "BILLING_SMTP_FROM", flagDef: "billing@localhost", usageDef: "`billing@localhost`",
		meaning: "Sender address of e-mail notices.",
		apply:   func(c *Config, v string) error { c.SMTPFrom = v; return nil },
	},
	{
		flag: "invoice-due-days", env: "BILLING_INVOICE_DUE_DAYS", flagDef: strconv.Itoa(DefaultInvoiceDueDays),
		usageDef: "`" + strconv.Itoa(DefaultInvoiceDueDays) + "`",
		meaning:  "Days after issue that a postpaid monthly invoice is due (1–365).",
		apply: func(c *Config, v string) error {
			n, err := days(v)
			c.InvoiceDueDays = n
			return err
		},
	},
	{
		flag: "overdue-days", env: "BILLING_OVERDUE_DAYS", flagDef: strconv.Itoa(DefaultOverdueDays),
		usageDef: "`" + strconv.Itoa(DefaultOverdueDays) + "`",
		meaning: "Days past the due date after which an unpaid invoice suspends the account's postpaid resources " +
			"(1–365); paying the overdue invoices lifts the suspension.",
		apply: func(c *Config, v string) error {
			n, err := days(v)
			c.OverdueDays = n
			return err
		},
	},
	{
		flag: "public-url", env: "BILLING_PUBLIC_URL", usageDef: "`http://<addr>` (`localhost` for a wildcard host)",
		meaning: "Externally reachable base URL, used in payment return and callback links.",
		apply:   func(c *Config, v string) error { c.PublicURL = v; return nil },
	},
}

// days parses a number of days from 1 to MaxBillingDays.
func days(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxBillingDays {
		return 0, fmt.Errorf("invalid number of days %q (1–%d)", v, MaxBillingDays)
	}
	return n, nil
}

// boolErr turns a strconv.ParseBool failure into a message that names the value.
func boolErr(v string, err error) error {
	if err != nil {
		return fmt.Errorf("invalid boolean %q (use true or false)", v)
	}
	return nil
}

// Load registers the settings' flags on fs, parses args, and returns the
// configuration with precedence flag > environment (read through getenv) >
// default, normalized and validated. Arguments after the flags are left in
// fs.Args(). Load defines its flags on fs, so it is called once per flag set.
func Load(fs *flag.FlagSet, args []string, getenv func(string) string) (Config, error) {
	flagVals := make(map[string]*string, len(settings))
	flagBools := make(map[string]*bool, len(settings))
	for _, s := range settings {
		help := s.meaning + " (env " + s.env + ")"
		if s.isBool {
			flagBools[s.flag] = fs.Bool(s.flag, s.flagDef == "true", help)
		} else {
			flagVals[s.flag] = fs.String(s.flag, s.flagDef, help)
		}
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, fmt.Errorf("load config: parse flags: %w", err)
	}
	given := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })

	c := Config{
		Addr:           DefaultAddr,
		DataDir:        DefaultDataDir,
		Timezone:       DefaultTimezone,
		Scheduler:      true,
		LogLevel:       DefaultLogLevel,
		LogFormat:      DefaultLogFormat,
		PaymentExpiry:  DefaultPaymentExpiry,
		VNPayPayURL:    DefaultVNPayPayURL,
		VNPayAPIURL:    DefaultVNPayAPIURL,
		Provisioner:    "simulator",
		ProvisionDelay: 2 * time.Second,
		SMTPFrom:       "billing@localhost",
		InvoiceDueDays: DefaultInvoiceDueDays,
		OverdueDays:    DefaultOverdueDays,
	}
	var (
		errs         []error
		sandboxSet   bool
		publicURLSet bool
	)
	for _, s := range settings {
		var (
			v      string
			source string
		)
		switch {
		case given[s.flag] && s.isBool:
			s.applyFlagB(&c, *flagBools[s.flag])
		case given[s.flag]:
			v, source = strings.TrimSpace(*flagVals[s.flag]), "-"+s.flag
		default:
			v, source = strings.TrimSpace(getenv(s.env)), s.env
		}
		if v != "" {
			if err := s.apply(&c, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", source, err))
			}
		}
		// An empty value counts as unset, from a flag as from the environment.
		explicit := v != "" || (given[s.flag] && s.isBool)
		switch s.flag {
		case "sandbox":
			sandboxSet = explicit
		case "public-url":
			publicURLSet = explicit
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("load config: %w", err)
	}
	if !sandboxSet {
		c.Sandbox = c.Embedded()
	}
	if !publicURLSet {
		c.PublicURL = defaultPublicURL(c.Addr)
	}
	c.normalize()
	if err := errors.Join(c.problems()...); err != nil {
		return Config{}, fmt.Errorf("load config: %w", err)
	}
	return c, nil
}

// defaultPublicURL derives the public URL from the listen address, naming
// localhost when the address listens on every interface.
func defaultPublicURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	switch host {
	case "", "0.0.0.0", "::":
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// normalize fills the derived fields: the loaded Location and, for a
// loopback database without sslmode, sslmode=disable. What it cannot parse it
// leaves for problems to report.
func (c *Config) normalize() {
	if c.Timezone != "" {
		if loc, err := time.LoadLocation(c.Timezone); err == nil {
			c.Location = loc
		}
	}
	if c.DatabaseURL == "" {
		return
	}
	u, err := parseDatabaseURL(c.DatabaseURL)
	if err != nil {
		return
	}
	q := u.Query()
	if !q.Has("sslmode") && isLoopback(u.Hostname()) {
		// A server on this machine is reached without crossing a network, and
		// local development servers rarely have TLS; lib/pq would default to require.
		if u.RawQuery != "" {
			u.RawQuery += "&"
		}
		u.RawQuery += "sslmode=disable"
		c.DatabaseURL = u.String()
	}
}

// Validate reports every setting that is missing or malformed. It never quotes
// the database password or the signing secret.
func (c Config) Validate() error {
	if err := errors.Join(c.problems()...); err != nil {
		return fmt.Errorf("validate config: %w", err)
	}
	return nil
}

// problems returns one error per invalid setting.
func (c Config) problems() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if _, port, err := net.SplitHostPort(c.Addr); err != nil {
		add("BILLING_ADDR: %q is not host:port", c.Addr)
	} else if n, err := strconv.ParseUint(port, 10, 16); err != nil || n > 65535 {
		add("BILLING_ADDR: %q has an invalid port", c.Addr)
	}
	if c.DataDir == "" {
		add("BILLING_DATA_DIR: must not be empty")
	}
	if c.Timezone == "" {
		add("BILLING_TIMEZONE: must not be empty")
	} else if _, err := time.LoadLocation(c.Timezone); err != nil {
		add("BILLING_TIMEZONE: unknown time zone %q", c.Timezone)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		add("BILLING_LOG_LEVEL: %q is not one of debug, info, warn, error", c.LogLevel)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		add("BILLING_LOG_FORMAT: %q is not one of text, json", c.LogFormat)
	}
	if c.PaymentExpiry <= 0 {
		add("BILLING_PAYMENT_EXPIRY: %s is not positive", c.PaymentExpiry)
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add("BILLING_PUBLIC_URL: %q is not an absolute http or https URL", redactURL(c.PublicURL))
	}
	if c.InvoiceDueDays < 0 || c.InvoiceDueDays > MaxBillingDays {
		add("BILLING_INVOICE_DUE_DAYS: %d is not from 1 to %d", c.InvoiceDueDays, MaxBillingDays)
	}
	if c.OverdueDays < 0 || c.OverdueDays > MaxBillingDays {
		add("BILLING_OVERDUE_DAYS: %d is not from 1 to %d", c.OverdueDays, MaxBillingDays)
	}
	if c.JWTSecret != "" && len(c.JWTSecret) < MinJWTSecretLen {
		add("BILLING_JWT_SECRET: %d bytes, need at least %d", len(c.JWTSecret), MinJWTSecretLen)
	}
	if !c.Embedded() {
		if c.JWTSecret == "" {
			add("BILLING_JWT_SECRET: required with BILLING_DATABASE_URL, at least %d bytes, the same on every instance", MinJWTSecretLen)
		}
		if err := checkDatabaseURL(c.DatabaseURL); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// validSSLModes are the sslmode values lib/pq understands.
var validSSLModes = map[string]bool{
	"disable": true, "allow": true, "prefer": true, "require": true, "verify-ca": true, "verify-full": true,
}

// parseDatabaseURL parses a postgres:// or postgresql:// URL. Its errors never
// quote the URL, which may hold a password.
func parseDatabaseURL(raw string) (*url.URL, error) {
	lower := strings.ToLower(raw)
	if !strings.HasPrefix(lower, "postgres://") && !strings.HasPrefix(lower, "postgresql://") {
		return nil, errors.New("BILLING_DATABASE_URL: must start with postgres:// or postgresql://")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the whole URL, password included, so it is dropped.
		return nil, errors.New("BILLING_DATABASE_URL: not a valid URL")
	}
	return u, nil
}

// checkDatabaseURL validates a PostgreSQL URL and its sslmode rule.
func checkDatabaseURL(raw string) error {
	u, err := parseDatabaseURL(raw)
	if err != nil {
		return err
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return errors.New("BILLING_DATABASE_URL: query string is malformed")
	}
	if !q.Has("sslmode") {
		if isLoopback(u.Hostname()) {
			return nil // Load adds sslmode=disable.
		}
		return fmt.Errorf("BILLING_DATABASE_URL: host %q is not loopback, so sslmode must be explicit "+
			"(add ?sslmode=verify-full, require, or disable if the network is trusted)", u.Hostname())
	}
	if mode := q.Get("sslmode"); !validSSLModes[mode] {
		return fmt.Errorf("BILLING_DATABASE_URL: sslmode %q is not one of disable, allow, prefer, require, verify-ca, verify-full", mode)
	}
	return nil
}

// isLoopback reports whether host names this machine: localhost or a loopback IP.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Embedded reports whether the service uses the embedded SQLite database.
func (c Config) Embedded() bool { return c.DatabaseURL == "" }

// SQLitePath returns the embedded database file, <DataDir>/billing.db; it is
// meaningful only when Embedded.
func (c Config) SQLitePath() string { return filepath.Join(c.DataDir, sqliteFileName) }

// Redacted returns the settings keyed by flag name, for logging at start-up:
// the database password is masked and the signing secret is never shown.
func (c Config) Redacted() map[string]string {
	secret := "[redacted]"
	if c.JWTSecret == "" {
		secret = "(generated in data dir)"
		if !c.Embedded() {
			secret = "(missing)"
		}
	}
	m := map[string]string{
		"addr":              c.Addr,
		"data-dir":          c.DataDir,
		"database-url":      redactURL(c.DatabaseURL),
		"jwt-secret":        secret,
		"timezone":          c.Timezone,
		"scheduler":         strconv.FormatBool(c.Scheduler),
		"log-level":         c.LogLevel,
		"log-format":        c.LogFormat,
		"sandbox":           strconv.FormatBool(c.Sandbox),
		"payment-expiry":    c.PaymentExpiry.String(),
		"public-url":        redactURL(c.PublicURL),
		"vnpay-tmn-code":    c.VNPayTmnCode,
		"vnpay-hash-secret": map[bool]string{true: "[redacted]", false: ""}[c.VNPayHashSecret != ""],
		"provisioner":       c.Provisioner,
		"smtp-addr":         c.SMTPAddr,
		"smtp-password":     map[bool]string{true: "[redacted]", false: ""}[c.SMTPPassword != ""],
		"invoice-due-days":  strconv.Itoa(c.InvoiceDueDays),
		"overdue-days":      strconv.Itoa(c.OverdueDays),
	}
	if c.Embedded() {
		m["sqlite-path"] = c.SQLitePath()
	}
	return m
}

// secretParams are query parameters lib/pq reads that hold secrets.
var secretParams = []string{"password", "sslpassword"}

// redactURL masks the password in a URL's user info and secret query
// parameters. A URL that does not parse is replaced whole, as it cannot be
// safely cut.
func redactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	if u.RawQuery != "" {
		q := u.Query()
		changed := false
		for _, p := range secretParams {
			if q.Has(p) {
				q.Set(p, "xxxxx")
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
	}
	return u.Redacted()
}
