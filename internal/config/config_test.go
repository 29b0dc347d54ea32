package config

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const testSecret = "0123456789abcdef0123456789abcdef"

// load runs Load with a fresh flag set over args and a fake environment.
func load(t *testing.T, args []string, env map[string]string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("billing", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return Load(fs, args, func(k string) string { return env[k] })
}

// mustLoad is load that fails the test on error and drops the Location pointer
// (checked separately) so configs compare with require.Equal.
func mustLoad(t *testing.T, args []string, env map[string]string) Config {
	t.Helper()
	c, err := load(t, args, env)
	require.NoError(t, err)
	require.NotNil(t, c.Location)
	require.Equal(t, c.Timezone, c.Location.String())
	c.Location = nil
	return c
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c, err := load(t, nil, nil)
	require.NoError(t, err)

	// The zone must resolve from the embedded tzdata: Vietnam is UTC+7 with no DST.
	_, offset := time.Date(2025, 7, 1, 0, 0, 0, 0, c.Location).Zone()
	require.Equal(t, 7*3600, offset)

	c.Location = nil
	require.Equal(t, Config{
		Addr:           "127.0.0.1:8080",
		DataDir:        "./data",
		DatabaseURL:    "",
		JWTSecret:      "",
		Timezone:       "Asia/Ho_Chi_Minh",
		Scheduler:      true,
		LogLevel:       "info",
		LogFormat:      "text",
		Sandbox:        true,
		PaymentExpiry:  15 * time.Minute,
		PublicURL:      "http://127.0.0.1:8080",
		VNPayPayURL:    "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html",
		VNPayAPIURL:    "https://sandbox.vnpayment.vn/merchant_webapi/api/transaction",
		Provisioner:    "simulator",
		ProvisionDelay: 2 * time.Second,
		SMTPFrom:       "billing@localhost",
		InvoiceDueDays: 15,
		OverdueDays:    15,
	}, c)
	require.True(t, c.Embedded())
	require.Equal(t, "data/billing.db", c.SQLitePath())
}

func TestLoadPrecedence(t *testing.T) {
	t.Parallel()
	const pgLocal = "postgres://billing@localhost:5432/billing?sslmode=disable"
	const pgEnv = "postgres://env@localhost:5432/billing?sslmode=disable"
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(t *testing.T, c Config)
	}{
		{name: "addr env", env: map[string]string{"BILLING_ADDR": "127.0.0.1:9000"},
			check: func(t *testing.T, c Config) { require.Equal(t, "127.0.0.1:9000", c.Addr) }},
		{name: "addr flag beats env", args: []string{"-addr", "127.0.0.1:9001"}, env: map[string]string{"BILLING_ADDR": "127.0.0.1:9000"},
			check: func(t *testing.T, c Config) { require.Equal(t, "127.0.0.1:9001", c.Addr) }},
		{name: "data dir env", env: map[string]string{"BILLING_DATA_DIR": "/var/lib/billing"},
			check: func(t *testing.T, c Config) { require.Equal(t, "/var/lib/billing/billing.db", c.SQLitePath()) }},
		{name: "data dir flag beats env", args: []string{"-data-dir=/srv/b"}, env: map[string]string{"BILLING_DATA_DIR": "/var/lib/billing"},
			check: func(t *testing.T, c Config) { require.Equal(t, "/srv/b", c.DataDir) }},
		{name: "database url env", env: map[string]string{"BILLING_DATABASE_URL": pgEnv, "BILLING_JWT_SECRET": testSecret},
			check: func(t *testing.T, c Config) { require.Equal(t, pgEnv, c.DatabaseURL) }},
		{name: "database url flag beats env", args: []string{"-database-url", pgLocal},
			env:   map[string]string{"BILLING_DATABASE_URL": pgEnv, "BILLING_JWT_SECRET": testSecret},
			check: func(t *testing.T, c Config) { require.Equal(t, pgLocal, c.DatabaseURL) }},
		{name: "jwt secret env", env: map[string]string{"BILLING_JWT_SECRET": testSecret},
			check: func(t *testing.T, c Config) { require.Equal(t, testSecret, c.JWTSecret) }},
		{name: "jwt secret flag beats env", args: []string{"-jwt-secret", strings.Repeat("f", 40)}, env: map[string]string{"BILLING_JWT_SECRET": testSecret},
			check: func(t *testing.T, c Config) { require.Equal(t, strings.Repeat("f", 40), c.JWTSecret) }},
		{name: "timezone env", env: map[string]string{"BILLING_TIMEZONE": "UTC"},
			check: func(t *testing.T, c Config) { require.Equal(t, "UTC", c.Timezone) }},
		{name: "timezone flag beats env", args: []string{"-timezone", "Asia/Tokyo"}, env: map[string]string{"BILLING_TIMEZONE": "UTC"},
			check: func(t *testing.T, c Config) { require.Equal(t, "Asia/Tokyo", c.Timezone) }},
		{name: "scheduler env", env: map[string]string{"BILLING_SCHEDULER": "false"},
			check: func(t *testing.T, c Config) { require.False(t, c.Scheduler) }},
		{name: "scheduler flag beats env", args: []string{"-scheduler"}, env: map[string]string{"BILLING_SCHEDULER": "false"},
			check: func(t *testing.T, c Config) { require.True(t, c.Scheduler) }},
		{name: "scheduler flag false beats default", args: []string{"-scheduler=false"},
			check: func(t *testing.T, c Config) { require.False(t, c.Scheduler) }},
		{name: "log level env is lowercased", env: map[string]string{"BILLING_LOG_LEVEL": "DEBUG"},
			check: func(t *testing.T, c Config) { require.Equal(t, "debug", c.LogLevel) }},
		{name: "log level flag beats env", args: []string{"-log-level", "warn"}, env: map[string]string{"BILLING_LOG_LEVEL": "debug"},
			check: func(t *testing.T, c Config) { require.Equal(t, "warn", c.LogLevel) }},
		{name: "log format env", env: map[string]string{"BILLING_LOG_FORMAT": "json"},
			check: func(t *testing.T, c Config) { require.Equal(t, "json", c.LogFormat) }},
		{name: "log format flag beats env", args: []string{"-log-format", "text"}, env: map[string]string{"BILLING_LOG_FORMAT": "json"},
			check: func(t *testing.T, c Config) { require.Equal(t, "text", c.LogFormat) }},
		{name: "sandbox env overrides embedded default", env: map[string]string{"BILLING_SANDBOX": "false"},
			check: func(t *testing.T, c Config) { require.False(t, c.Sandbox) }},
		{name: "sandbox flag beats env", args: []string{"-sandbox=true"}, env: map[string]string{"BILLING_SANDBOX": "false"},
			check: func(t *testing.T, c Config) { require.True(t, c.Sandbox) }},
		{name: "invoice due days env", env: map[string]string{"BILLING_INVOICE_DUE_DAYS": "30"},
			check: func(t *testing.T, c Config) { require.Equal(t, 30, c.InvoiceDueDays) }},
		{name: "invoice due days flag beats env", args: []string{"-invoice-due-days", "7"}, env: map[string]string{"BILLING_INVOICE_DUE_DAYS": "30"},
			check: func(t *testing.T, c Config) { require.Equal(t, 7, c.InvoiceDueDays) }},
		{name: "overdue days env", env: map[string]string{"BILLING_OVERDUE_DAYS": "1"},
			check: func(t *testing.T, c Config) { require.Equal(t, 1, c.OverdueDays) }},
		{name: "overdue days flag beats env", args: []string{"-overdue-days=365"}, env: map[string]string{"BILLING_OVERDUE_DAYS": "1"},
			check: func(t *testing.T, c Config) { require.Equal(t, 365, c.OverdueDays) }},
		{name: "payment expiry env", env: map[string]string{"BILLING_PAYMENT_EXPIRY": "1h"},
			check: func(t *testing.T, c Config) { require.Equal(t, time.Hour, c.PaymentExpiry) }},
		{name: "payment expiry flag beats env", args: []string{"-payment-expiry", "30m"}, env: map[string]string{"BILLING_PAYMENT_EXPIRY": "1h"},
			check: func(t *testing.T, c Config) { require.Equal(t, 30*time.Minute, c.PaymentExpiry) }},
		{name: "public url env", env: map[string]string{"BILLING_PUBLIC_URL": "https://billing.example.com"},
			check: func(t *testing.T, c Config) { require.Equal(t, "https://billing.example.com", c.PublicURL) }},
		{name: "public url flag beats env", args: []string{"-public-url", "https://b.example.com"}, env: map[string]string{"BILLING_PUBLIC_URL": "https://billing.example.com"},
			check: func(t *testing.T, c Config) { require.Equal(t, "https://b.example.com", c.PublicURL) }},
		{name: "empty env counts as unset", env: map[string]string{"BILLING_ADDR": "", "BILLING_TIMEZONE": "  "},
			check: func(t *testing.T, c Config) {
				require.Equal(t, "127.0.0.1:8080", c.Addr)
				require.Equal(t, "Asia/Ho_Chi_Minh", c.Timezone)
			}},
		{name: "positional arguments are left", args: []string{"-addr", "127.0.0.1:1", "serve", "-x"},
			check: func(t *testing.T, c Config) { require.Equal(t, "127.0.0.1:1", c.Addr) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.check(t, mustLoad(t, tt.args, tt.env))
		})
	}
}

func TestLoadDerivedDefaults(t *testing.T) {
	t.Parallel()
	pg := map[string]string{
		"BILLING_DATABASE_URL": "postgres://b@db.internal/billing?sslmode=require",
		"BILLING_JWT_SECRET":   testSecret,
	}
	tests := []struct {
		name          string
		args          []string
		env           map[string]string
		wantSandbox   bool
		wantPublicURL string
	}{
		{name: "embedded", wantSandbox: true, wantPublicURL: "http://127.0.0.1:8080"},
		{name: "postgres turns sandbox off", env: pg, wantSandbox: false, wantPublicURL: "http://127.0.0.1:8080"},
		{name: "postgres with sandbox forced on", args: []string{"-sandbox"}, env: pg, wantSandbox: true, wantPublicURL: "http://127.0.0.1:8080"},
		{name: "public url follows addr", args: []string{"-addr", "10.0.0.5:9000"}, wantSandbox: true, wantPublicURL: "http://10.0.0.5:9000"},
		{name: "wildcard ipv4 becomes localhost", args: []string{"-addr", "0.0.0.0:9000"}, wantSandbox: true, wantPublicURL: "http://localhost:9000"},
		{name: "empty host becomes localhost", args: []string{"-addr", ":9000"}, wantSandbox: true, wantPublicURL: "http://localhost:9000"},
		{name: "wildcard ipv6 becomes localhost", args: []string{"-addr", "[::]:9000"}, wantSandbox: true, wantPublicURL: "http://localhost:9000"},
		{name: "ipv6 keeps brackets", args: []string{"-addr", "[::1]:9000"}, wantSandbox: true, wantPublicURL: "http://[::1]:9000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := mustLoad(t, tt.args, tt.env)
			require.Equal(t, tt.wantSandbox, c.Sandbox)
			require.Equal(t, tt.wantPublicURL, c.PublicURL)
		})
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	const password = "hunter2-s3cret"
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
	}{
		{name: "unknown timezone", env: map[string]string{"BILLING_TIMEZONE": "Mars/Olympus"},
			wantErr: `load config: BILLING_TIMEZONE: unknown time zone "Mars/Olympus"`},
		{name: "empty timezone flag falls back to default", args: []string{"-timezone="}},
		{name: "bad log level", env: map[string]string{"BILLING_LOG_LEVEL": "verbose"},
			wantErr: `load config: BILLING_LOG_LEVEL: "verbose" is not one of debug, info, warn, error`},
		{name: "bad log format", args: []string{"-log-format", "xml"},
			wantErr: `load config: BILLING_LOG_FORMAT: "xml" is not one of text, json`},
		{name: "bad duration from env", env: map[string]string{"BILLING_PAYMENT_EXPIRY": "15"},
			wantErr: `load config: BILLING_PAYMENT_EXPIRY: invalid duration "15"`},
		{name: "bad duration from flag", args: []string{"-payment-expiry", "soon"},
			wantErr: `load config: -payment-expiry: invalid duration "soon"`},
		{name: "negative duration", env: map[string]string{"BILLING_PAYMENT_EXPIRY": "-1m"},
			wantErr: `load config: BILLING_PAYMENT_EXPIRY: -1m0s is not positive`},
		{name: "bad boolean", env: map[string]string{"BILLING_SCHEDULER": "maybe"},
			wantErr: `load config: BILLING_SCHEDULER: invalid boolean "maybe" (use true or false)`},
		{name: "two bad values are both reported", env: map[string]string{"BILLING_SCHEDULER": "maybe", "BILLING_SANDBOX": "perhaps"},
			wantErr: "load config: BILLING_SCHEDULER: invalid boolean \"maybe\" (use true or false)\nBILLING_SANDBOX: invalid boolean \"perhaps\" (use true or false)"},
		{name: "bad addr", args: []string{"-addr", "localhost"},
			wantErr: `load config: BILLING_ADDR: "localhost" is not host:port`},
		{name: "bad port", args: []string{"-addr", "localhost:99999", "-public-url", "http://localhost"},
			wantErr: `load config: BILLING_ADDR: "localhost:99999" has an invalid port`},
		{name: "public url without scheme", env: map[string]string{"BILLING_PUBLIC_URL": "billing.example.com"},
			wantErr: `load config: BILLING_PUBLIC_URL: "billing.example.com" is not an absolute http or https URL`},
		{name: "short secret", env: map[string]string{"BILLING_JWT_SECRET": "short"},
			wantErr: `load config: BILLING_JWT_SECRET: 5 bytes, need at least 32`},
		{name: "database url needs a secret", env: map[string]string{"BILLING_DATABASE_URL": "postgres://b:" + password + "@localhost/billing"},
			wantErr: `load config: BILLING_JWT_SECRET: required with BILLING_DATABASE_URL, at least 32 bytes, the same on every instance`},
		{name: "database url with another scheme", env: map[string]string{"BILLING_DATABASE_URL": "mysql://b:" + password + "@db/billing", "BILLING_JWT_SECRET": testSecret},
			wantErr: `load config: BILLING_DATABASE_URL: must start with postgres:// or postgresql://`},
		{name: "database url as key=value", env: map[string]string{"BILLING_DATABASE_URL": "host=db password=" + password, "BILLING_JWT_SECRET": testSecret},
			wantErr: `load config: BILLING_DATABASE_URL: must start with postgres:// or postgresql://`},
		{name: "unparseable database url", env: map[string]string{"BILLING_DATABASE_URL": "postgres://b:" + password + "@db:port/billing", "BILLING_JWT_SECRET": testSecret},
			wantErr: `load config: BILLING_DATABASE_URL: not a valid URL`},
		{name: "remote database without sslmode", env: map[string]string{"BILLING_DATABASE_URL": "postgres://b:" + password + "@db.example.com:5432/billing", "BILLING_JWT_SECRET": testSecret},
			wantErr: `load config: BILLING_DATABASE_URL: host "db.example.com" is not loopback, so sslmode must be explicit (add ?sslmode=verify-full, require, or disable if the network is trusted)`},
		{name: "unknown sslmode", env: map[string]string{"BILLING_DATABASE_URL": "postgresql://b:" + password + "@db.example.com/billing?sslmode=on", "BILLING_JWT_SECRET": testSecret},
			wantErr: `load config: BILLING_DATABASE_URL: sslmode "on" is not one of disable, allow, prefer, require, verify-ca, verify-full`},
		{name: "invoice due days zero", env: map[string]string{"BILLING_INVOICE_DUE_DAYS": "0"},
			wantErr: `load config: BILLING_INVOICE_DUE_DAYS: invalid number of days "0" (1–365)`},
		{name: "overdue days not a number", args: []string{"-overdue-days", "2w"},
			wantErr: `load config: -overdue-days: invalid number of days "2w" (1–365)`},
		{name: "overdue days too many", env: map[string]string{"BILLING_OVERDUE_DAYS": "366"},
			wantErr: `load config: BILLING_OVERDUE_DAYS: invalid number of days "366" (1–365)`},
		{name: "help", args: []string{"-help"}, wantErr: "load config: parse flags: flag: help requested"},
		{name: "unknown flag", args: []string{"-port", "80"}, wantErr: "load config: parse flags: flag provided but not defined: -port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := load(t, tt.args, tt.env)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tt.wantErr)
			require.NotContains(t, err.Error(), password)
			require.Equal(t, Config{}, c)
		})
	}
}

func TestLoadHelpIsErrHelp(t *testing.T) {
	t.Parallel()
	_, err := load(t, []string{"-h"}, nil)
	require.ErrorIs(t, err, flag.ErrHelp)
}

func TestSSLModeRule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		url     string
		want    string
		wantErr string
	}{
		{name: "localhost gets disable", url: "postgres://b:pw@localhost:5432/billing",
			want: "postgres://b:pw@localhost:5432/billing?sslmode=disable"},
		{name: "127.0.0.1 gets disable", url: "postgres://b:pw@127.0.0.1/billing",
			want: "postgres://b:pw@127.0.0.1/billing?sslmode=disable"},
		{name: "::1 gets disable", url: "postgresql://b@[::1]:5432/billing",
			want: "postgresql://b@[::1]:5432/billing?sslmode=disable"},
		{name: "other params are kept", url: "postgres://b@localhost/billing?connect_timeout=5",
			want: "postgres://b@localhost/billing?connect_timeout=5&sslmode=disable"},
		{name: "explicit sslmode on loopback is kept", url: "postgres://b@localhost/billing?sslmode=require",
			want: "postgres://b@localhost/billing?sslmode=require"},
		{name: "explicit sslmode on a remote host", url: "postgres://b@db.example.com/billing?sslmode=verify-full",
			want: "postgres://b@db.example.com/billing?sslmode=verify-full"},
		{name: "remote host without sslmode", url: "postgres://b@10.0.0.7/billing",
			wantErr: `load config: BILLING_DATABASE_URL: host "10.0.0.7" is not loopback, so sslmode must be explicit (add ?sslmode=verify-full, require, or disable if the network is trusted)`},
		{name: "no host without sslmode", url: "postgres:///billing",
			wantErr: `load config: BILLING_DATABASE_URL: host "" is not loopback, so sslmode must be explicit (add ?sslmode=verify-full, require, or disable if the network is trusted)`},
		{name: "localhost lookalike", url: "postgres://b@localhost.example.com/billing",
			wantErr: `load config: BILLING_DATABASE_URL: host "localhost.example.com" is not loopback, so sslmode must be explicit (add ?sslmode=verify-full, require, or disable if the network is trusted)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := load(t, nil, map[string]string{"BILLING_DATABASE_URL": tt.url, "BILLING_JWT_SECRET": testSecret})
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, c.DatabaseURL)
			require.False(t, c.Embedded())
			require.NoError(t, c.Validate())
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	valid := Config{
		Addr: "127.0.0.1:8080", DataDir: "./data", Timezone: "UTC", LogLevel: "info", LogFormat: "json",
		PaymentExpiry: time.Minute, PublicURL: "https://billing.example.com",
	}
	require.NoError(t, valid.Validate())

	broken := valid
	broken.Timezone = "Nowhere/Land"
	broken.DataDir = ""
	broken.DatabaseURL = "postgres://u:topsecret@db.example.com/billing"
	broken.OverdueDays = -1
	require.EqualError(t, broken.Validate(), "validate config: BILLING_DATA_DIR: must not be empty\n"+
		`BILLING_TIMEZONE: unknown time zone "Nowhere/Land"`+"\n"+
		"BILLING_OVERDUE_DAYS: -1 is not from 1 to 365\n"+
		"BILLING_JWT_SECRET: required with BILLING_DATABASE_URL, at least 32 bytes, the same on every instance\n"+
		`BILLING_DATABASE_URL: host "db.example.com" is not loopback, so sslmode must be explicit (add ?sslmode=verify-full, require, or disable if the network is trusted)`)
}

func TestRedacted(t *testing.T) {
	t.Parallel()
	c := mustLoad(t, nil, map[string]string{
		"BILLING_DATABASE_URL":      "postgres://billing:hunter2@db.example.com:5432/billing?sslmode=require",
		"BILLING_JWT_SECRET":        testSecret,
		"BILLING_VNPAY_TMN_CODE":    "DEMOV210",
		"BILLING_VNPAY_HASH_SECRET": "topsecretvnpaykey",
	})
	require.NotContains(t, fmt.Sprint(c.Redacted()), "topsecretvnpaykey")
	require.Equal(t, map[string]string{
		"addr":              "127.0.0.1:8080",
		"data-dir":          "./data",
		"database-url":      "postgres://billing:xxxxx@db.example.com:5432/billing?sslmode=require",
		"jwt-secret":        "[redacted]",
		"invoice-due-days":  "15",
		"overdue-days":      "15",
		"timezone":          "Asia/Ho_Chi_Minh",
		"scheduler":         "true",
		"log-level":         "info",
		"log-format":        "text",
		"sandbox":           "false",
		"payment-expiry":    "15m0s",
		"public-url":        "http://127.0.0.1:8080",
		"provisioner":       "simulator",
		"vnpay-tmn-code":    "DEMOV210",
		"vnpay-hash-secret": "[redacted]",
		"smtp-addr":         "",
		"smtp-password":     "",
	}, c.Redacted())

	embedded := mustLoad(t, nil, nil).Redacted()
	require.Equal(t, "", embedded["database-url"])
	require.Equal(t, "(generated in data dir)", embedded["jwt-secret"])
	require.Equal(t, "data/billing.db", embedded["sqlite-path"])

	tests := []struct {
		in, want string
	}{
		{in: "postgres://b@db/x?sslmode=require&password=hunter2", want: "postgres://b@db/x?password=xxxxx&sslmode=require"},
		{in: "postgres://b@db/x?sslmode=require&sslpassword=hunter2", want: "postgres://b@db/x?sslmode=require&sslpassword=xxxxx"},
		{in: "postgres://b@db/x?sslmode=require", want: "postgres://b@db/x?sslmode=require"},
		{in: "postgres://b:hunter2@db:bad/x", want: "(unparseable URL)"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, Config{DatabaseURL: tt.in}.Redacted()["database-url"])
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	u := Usage()
	lines := strings.Split(strings.TrimSuffix(u, "\n"), "\n")
	require.Equal(t, "| Variable | Flag | Default | Meaning |", lines[0])
	require.Equal(t, "| --- | --- | --- | --- |", lines[1])
	require.Len(t, lines, 2+24)
	require.Equal(t, "| `BILLING_ADDR` | `-addr` | `127.0.0.1:8080` | Address (host:port) the HTTP server listens on. |", lines[2])
	require.Equal(t, "| `BILLING_PAYMENT_EXPIRY` | `-payment-expiry` | `15m` | How long a pending payment stays open before it expires (Go duration, e.g. `15m`, `1h`). |", lines[11])

	// Every flag Load registers has its row, and every row's env var is the flag's.
	fs := flag.NewFlagSet("billing", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	_, err := Load(fs, nil, func(string) string { return "" })
	require.NoError(t, err)
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		n++
		env := "BILLING_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		require.Contains(t, lines, findRow(lines, "| `"+env+"` | `-"+f.Name+"` |"))
		require.Contains(t, f.Usage, "(env "+env+")")
	})
	require.Equal(t, 24, n)
}

// findRow returns the line that starts with prefix, or "" when none does.
func findRow(lines []string, prefix string) string {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}
