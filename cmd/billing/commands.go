package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"

	"billing/ent"
	"billing/ent/member"
	"billing/internal/account"
	"billing/internal/app"
	"billing/internal/auth"
	"billing/internal/catalog"
	"billing/internal/config"
	"billing/internal/gateway/vnpay"
	"billing/internal/jobs"
	"billing/internal/notify"
	"billing/internal/store"
)

// Demo account of the embedded default: the seed creates it and the
// start-up log prints a customer token for it.
const (
	demoSubject  = "demo@example.com"
	demoName     = "Demo Customer"
	adminSubject = "admin@billing.local"
)

// env holds what every command needs: configuration, logger, secret.
type env struct {
	cfg    config.Config
	logger *slog.Logger
	secret []byte
}

func load(name string, args []string, getenv func(string) string, stderr io.Writer, extra func(*flag.FlagSet)) (env, error) {
	fs := flag.NewFlagSet("billing "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	if extra != nil {
		extra(fs)
	}
	cfg, err := config.Load(fs, args, getenv)
	if err != nil {
		return env{}, err
	}
	e := env{cfg: cfg, logger: newLogger(stderr, cfg.LogLevel, cfg.LogFormat)}
	if cfg.JWTSecret != "" {
		e.secret = []byte(cfg.JWTSecret)
	} else if cfg.Embedded() {
		if e.secret, err = auth.LoadOrCreateSecret(cfg.DataDir); err != nil {
			return env{}, err
		}
	} else {
		return env{}, errors.New("BILLING_JWT_SECRET is required with BILLING_DATABASE_URL")
	}
	return e, nil
}

func (e env) open(ctx context.Context) (*store.DB, error) {
	db, err := store.Open(ctx, e.cfg.DatabaseURL, e.cfg.SQLitePath())
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	e, err := load("serve", args, getenv, stderr, nil)
	if err != nil {
		return err
	}
	db, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	clock := clockwork.NewRealClock()
	var demo *ent.Account
	if e.cfg.Embedded() {
		// The embedded default seeds itself on first start.
		if demo, err = seedAll(ctx, db, clock, e.logger); err != nil {
			return err
		}
	}
	// Listen first: with port 0 the public URL (gateway links) needs the
	// port the system picked.
	ln, err := net.Listen("tcp", e.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", e.cfg.Addr, err)
	}
	public := e.cfg.PublicURL
	if strings.HasSuffix(public, ":0") {
		public = "http://" + ln.Addr().String()
	}
	opts := app.Options{
		DB: db, DatabaseURL: e.cfg.DatabaseURL, Secret: e.secret, Clock: clock, Location: e.cfg.Location,
		Logger: e.logger, PublicURL: public, Dev: e.cfg.Embedded(), PaymentExpiry: e.cfg.PaymentExpiry,
		Sandbox: e.cfg.Sandbox, Provisioner: e.cfg.Provisioner, ProvisionDelay: e.cfg.ProvisionDelay,
		ProvisionFailurePercent: e.cfg.ProvisionFailurePercent, Scheduler: e.cfg.Scheduler,
		InvoiceDueDays: e.cfg.InvoiceDueDays, OverdueDays: e.cfg.OverdueDays,
		VNPay: vnpay.Config{
			TmnCode: e.cfg.VNPayTmnCode, HashSecret: e.cfg.VNPayHashSecret, PayURL: e.cfg.VNPayPayURL,
			APIURL: e.cfg.VNPayAPIURL, Location: e.cfg.Location,
		},
	}
	issuer, err := auth.NewIssuer(e.secret, clock.Now)
	if err != nil {
		_ = ln.Close()
		return err
	}
	if e.cfg.Embedded() {
		if opts.PlaygroundToken, err = issuer.Issue(auth.Viewer{Subject: adminSubject, Role: auth.RoleAdmin}, 30*24*time.Hour); err != nil {
			_ = ln.Close()
			return err
		}
	}
	if opts.Mailer, err = mailer(e.cfg); err != nil {
		_ = ln.Close()
		return err
	}
	opts.MailFrom = e.cfg.SMTPFrom
	a, err := app.New(ctx, opts)
	if err != nil {
		_ = ln.Close()
		return err
	}
	defer func() { _ = a.Close(context.Background()) }()
	return a.Server.Serve(ctx, ln, 20*time.Second, func(addr net.Addr) {
		e.logger.Info("billing is serving", "addr", addr.String(), "engine", db.Dialect, "config", e.cfg.Redacted())
		if !e.cfg.Embedded() {
			return
		}
		base := "http://" + addr.String()
		custTok, err := issuer.Issue(auth.Viewer{Subject: demoSubject, Role: auth.RoleCustomer, AccountID: string(demo.ID)}, 30*24*time.Hour)
		if err != nil {
			e.logger.Error("issue demo token", "err", err)
			return
		}
		fmt.Fprintf(stderr, "\n  Admin playground:   %s/playground/\n  GraphQL endpoint:   %s/graphql\n  Sandbox gateway:    %s/sandbox/\n  Admin token:        %s\n  Demo customer (%s) token:\n                      %s\n\n",
			base, base, base, opts.PlaygroundToken, demo.ID, custTok)
	})
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	e, err := load("migrate", args, getenv, stderr, nil)
	if err != nil {
		return err
	}
	db, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	applied, pending, err := db.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	e.logger.Info("migrations applied", "engine", db.Dialect, "applied", len(applied), "pending", len(pending))
	return nil
}

func seed(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	e, err := load("seed", args, getenv, stderr, nil)
	if err != nil {
		return err
	}
	db, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = seedAll(ctx, db, clockwork.NewRealClock(), e.logger)
	return err
}

// seedAll seeds the catalog and the demo account; both steps are
// idempotent, so it runs on every embedded start.
func seedAll(ctx context.Context, db *store.DB, clock clockwork.Clock, logger *slog.Logger) (*ent.Account, error) {
	ctx = auth.SystemContext(ctx)
	res, err := catalog.Seed(ctx, db.Client)
	if err != nil {
		return nil, fmt.Errorf("seed catalog: %w", err)
	}
	m, err := db.Client.Member.Query().Where(member.Subject(demoSubject)).WithAccount().First(ctx)
	switch {
	case err == nil:
		return m.Edges.Account, nil
	case !ent.IsNotFound(err):
		return nil, fmt.Errorf("seed demo account: %w", err)
	}
	acc, err := account.New(db, clock).Create(ctx, account.CreateInput{
		Name: demoName, Email: demoSubject, OwnerSubject: demoSubject,
	})
	if err != nil {
		return nil, fmt.Errorf("seed demo account: %w", err)
	}
	logger.Info("seeded", "catalog", fmt.Sprintf("%+v", res), "demo_account", acc.ID)
	return acc, nil
}

func token(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var role, accountID, subject string
	var ttl time.Duration
	e, err := load("token", args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&role, "role", "", "admin, customer, viewer or service")
		fs.StringVar(&accountID, "account", "", "account id (customer and viewer tokens)")
		fs.StringVar(&subject, "subject", "", "who the token is for (default: the role name)")
		fs.DurationVar(&ttl, "ttl", 24*time.Hour, "how long the token is valid")
	})
	if err != nil {
		return err
	}
	r, err := auth.ParseRole(strings.ToLower(role))
	if err != nil || r == auth.RoleSystem {
		return fmt.Errorf("--role must be admin, customer, viewer or service")
	}
	if subject == "" {
		subject = string(r)
	}
	issuer, err := auth.NewIssuer(e.secret, nil)
	if err != nil {
		return err
	}
	tok, err := issuer.Issue(auth.Viewer{Subject: subject, Role: r, AccountID: accountID}, ttl)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}

// jobsCmd lists the scheduled jobs or runs one now, for operators.
func jobsCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "run") {
		return errors.New("usage: billing jobs list | billing jobs run NAME [flags]")
	}
	verb, args := args[0], args[1:]
	var name string
	if verb == "run" {
		if len(args) == 0 || strings.HasPrefix(args[0], "-") {
			return errors.New("usage: billing jobs run NAME [flags]")
		}
		name, args = args[0], args[1:]
	}
	e, err := load("jobs", args, getenv, stderr, nil)
	if err != nil {
		return err
	}
	db, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	clock := clockwork.NewRealClock()
	a, err := app.New(ctx, app.Options{
		DB: db, DatabaseURL: e.cfg.DatabaseURL, Secret: e.secret, Clock: clock, Location: e.cfg.Location,
		Logger: e.logger, PublicURL: e.cfg.PublicURL, PaymentExpiry: e.cfg.PaymentExpiry, Sandbox: e.cfg.Sandbox,
		Provisioner: "external", InvoiceDueDays: e.cfg.InvoiceDueDays, OverdueDays: e.cfg.OverdueDays,
		VNPay: vnpay.Config{
			TmnCode: e.cfg.VNPayTmnCode, HashSecret: e.cfg.VNPayHashSecret, PayURL: e.cfg.VNPayPayURL,
			APIURL: e.cfg.VNPayAPIURL, Location: e.cfg.Location,
		},
	})
	if err != nil {
		return err
	}
	defer func() { _ = a.Close(context.Background()) }()
	if verb == "list" {
		now := clock.Now()
		for _, j := range a.Jobs() {
			next, err := j.Next(now, e.cfg.Location)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%-28s %-16s next %s  %s\n", j.Name, j.Schedule(), next.Format(time.RFC3339), j.Description)
		}
		return nil
	}
	j, ok := a.Job(name)
	if !ok {
		return fmt.Errorf("unknown job %q (billing jobs list shows them)", name)
	}
	n, err := jobs.RunOnce(ctx, j)
	if err != nil {
		return fmt.Errorf("job %s: %w", name, err)
	}
	fmt.Fprintf(stdout, "%s: %d done\n", name, n)
	return nil
}

// mailer returns the SMTP mailer when one is configured, else nil (e-mails
// are logged).
func mailer(cfg config.Config) (notify.Mailer, error) {
	if cfg.SMTPAddr == "" {
		return nil, nil
	}
	m, err := notify.NewSMTP(notify.SMTPConfig{
		Addr: cfg.SMTPAddr, Username: cfg.SMTPUsername, Password: cfg.SMTPPassword, From: cfg.SMTPFrom,
	})
	if err != nil {
		return nil, fmt.Errorf("smtp: %w", err)
	}
	return m, nil
}
