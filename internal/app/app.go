// Package app wires the service together: the database, the event bus, the
// services, the payment gateway (VNPAY or the built-in sandbox), the
// provisioner, the scheduler and the HTTP server. cmd/billing and the
// end-to-end tests build the service through it, so both run the same
// wiring.
package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"

	"billing/graph"
	"billing/internal/auth"
	"billing/internal/checkout"
	"billing/internal/coupon"
	"billing/internal/events"
	"billing/internal/gateway"
	"billing/internal/gateway/sandbox"
	"billing/internal/gateway/vnpay"
	"billing/internal/invoicing"
	"billing/internal/jobs"
	"billing/internal/ledger"
	"billing/internal/lifecycle"
	"billing/internal/notify"
	"billing/internal/postpaid"
	"billing/internal/provision"
	"billing/internal/server"
	"billing/internal/store"
)

// Options configure the service.
type Options struct {
	DB *store.DB
	// DatabaseURL is the PostgreSQL URL DB was opened with (the event
	// listener needs its own connection); empty on SQLite.
	DatabaseURL string
	Secret      []byte
	Clock       clockwork.Clock
	Location    *time.Location
	Logger      *slog.Logger
	// PublicURL is the service's external base URL (gateway links).
	PublicURL string
	// Dev is the embedded default: introspection for all and the
	// playground opens with PlaygroundToken.
	Dev             bool
	PlaygroundToken string
	PaymentExpiry   time.Duration
	// Sandbox serves the built-in sandbox gateway under /sandbox/ and pays
	// through it; otherwise VNPay is used.
	Sandbox bool
	VNPay   vnpay.Config
	// SandboxRetryInterval spaces the sandbox's IPN retries (0: default).
	SandboxRetryInterval time.Duration
	// Provisioner is "simulator" or "external".
	Provisioner             string
	ProvisionDelay          time.Duration
	ProvisionFailurePercent int
	// Scheduler runs the jobs in this process.
	Scheduler bool
	// Limits bound GraphQL operations and websockets (zero: defaults).
	Limits server.Limits
	// Mailer sends e-mail notices; nil logs them. From is their sender.
	Mailer   notify.Mailer
	MailFrom string
	// InvoiceDueDays: a MONTHLY invoice is due this many days after issue
	// (0: postpaid.DefaultDueDays). OverdueDays: this many days past due
	// the account's postpaid resources are suspended (0: the default).
	InvoiceDueDays int
	OverdueDays    int

	// schedulerHook lets this package's tests watch the scheduler: it may
	// change its options and wrap its jobs before they are scheduled.
	schedulerHook func(*jobs.Options, []jobs.Job) []jobs.Job
}

// App is the wired service.
type App struct {
	Server    *server.Server
	Issuer    *auth.Issuer
	Bus       *events.Bus
	Ledger    *ledger.Service
	Coupons   *coupon.Service
	Checkout  *checkout.Service
	Notify    *notify.Service
	Lifecycle *lifecycle.Service
	Postpaid  *postpaid.Service
	Gateway   gateway.Gateway
	Sandbox   *sandbox.Sandbox     // nil unless Options.Sandbox
	Simulator *provision.Simulator // nil with the external provisioner
	scheduler *jobs.Scheduler
	elector   *jobs.PGElector
	clock     clockwork.Clock
}

// SandboxCredentials derives the sandbox terminal's code and hash secret
// from the token secret, so every instance of one deployment agrees on
// them without another setting.
func SandboxCredentials(secret []byte) (tmnCode, hashSecret string) {
	sum := sha256.Sum256(append([]byte("billing sandbox gateway:"), secret...))
	return "BILLSBX1", hex.EncodeToString(sum[:16])
}

// New wires the service and starts its background parts (event listener,
// scheduler). Close stops them.
func New(ctx context.Context, o Options) (*App, error) {
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Location == nil {
		loc, err := time.LoadLocation("Asia/Ho_Chi_Minh") // the default billing zone
		if err != nil {
			return nil, err
		}
		o.Location = loc
	}
	issuer, err := auth.NewIssuer(o.Secret, o.Clock.Now)
	if err != nil {
		return nil, err
	}
	a := &App{Issuer: issuer, clock: o.Clock}
	a.Bus = events.NewBus(o.DB, o.DatabaseURL, o.Logger)
	if err := a.Bus.Start(ctx); err != nil {
		return nil, err
	}
	a.Ledger = ledger.New(o.DB, a.Bus.Outbox, o.Clock)
	a.Coupons = coupon.New(o.DB, o.Clock)
	from := o.MailFrom
	if from == "" {
		from = "billing@localhost"
	}
	a.Notify = notify.New(notify.Config{DB: o.DB, Outbox: a.Bus.Outbox, Clock: o.Clock, Logger: o.Logger, Mailer: o.Mailer, From: from})
	public := strings.TrimRight(o.PublicURL, "/")

	if o.Sandbox {
		tmn, hash := SandboxCredentials(o.Secret)
		a.Sandbox = sandbox.New(sandbox.Config{
			TmnCode: tmn, HashSecret: hash,
			IPNURL: public + "/gateway/vnpay/ipn", LinkIPNURL: public + "/gateway/vnpay/link-ipn",
			Location: o.Location, Now: o.Clock.Now, Logger: o.Logger, RetryInterval: o.SandboxRetryInterval,
		})
		cfg := a.Sandbox.ClientConfig(public + "/sandbox")
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
		a.Gateway = vnpay.New(cfg)
	} else {
		cfg := o.VNPay
		if cfg.TmnCode == "" || cfg.HashSecret == "" {
			a.Gateway = unconfigured{}
		} else {
			if cfg.Now == nil {
				cfg.Now = o.Clock.Now
			}
			a.Gateway = vnpay.New(cfg)
		}
	}

	var prov provision.Provisioner
	if o.Provisioner == "external" {
		prov = provision.NewExternal(o.Logger)
	} else {
		a.Simulator = provision.NewSimulator(provision.SimulatorConfig{
			Delay: o.ProvisionDelay, FailureRate: float64(o.ProvisionFailurePercent) / 100,
			Seed: time.Now().UnixNano(), Clock: o.Clock, Logger: o.Logger,
		})
		prov = a.Simulator
	}
	invoices := invoicing.New(o.DB, o.Clock, o.Location)
	// Postpaid before the checkout, which settles invoice payments with it.
	a.Postpaid = postpaid.New(postpaid.Config{
		DB: o.DB, Ledger: a.Ledger, Notify: a.Notify, Invoices: invoices, Outbox: a.Bus.Outbox, Clock: o.Clock,
		DueDays: o.InvoiceDueDays, OverdueDays: o.OverdueDays, Logger: o.Logger,
	})
	a.Checkout = checkout.New(checkout.Config{
		DB: o.DB, Ledger: a.Ledger, Outbox: a.Bus.Outbox, Coupons: a.Coupons, Gateway: a.Gateway,
		Provisioner: prov, Invoices: invoices, Clock: o.Clock, Postpaid: a.Postpaid,
		Location: o.Location, PaymentExpiry: o.PaymentExpiry, PublicURL: public, Logger: o.Logger,
	})

	a.Lifecycle = lifecycle.New(lifecycle.Config{
		DB: o.DB, Checkout: a.Checkout, Ledger: a.Ledger, Outbox: a.Bus.Outbox, Clock: o.Clock, Logger: o.Logger,
		Notify: a.Notify, Location: o.Location,
	})

	resolver := &graph.Resolver{
		DB: o.DB, Ledger: a.Ledger, Coupons: a.Coupons, Checkout: a.Checkout, Notify: a.Notify, Hub: a.Bus.Hub,
		Lifecycle: a.Lifecycle, Postpaid: a.Postpaid, Location: o.Location, Clock: o.Clock, Logger: o.Logger,
	}
	routes := map[string]http.Handler{
		"/gateway/vnpay/ipn":                gateway.IPNHandler(a.Gateway, a.Checkout.ApplyGatewayCallback, o.Logger),
		"/gateway/vnpay/link-ipn":           gateway.LinkIPNHandler(a.Gateway, a.Checkout.ApplyLinkCallback, o.Logger),
		"GET " + checkout.DefaultReturnPath: gateway.ReturnHandler(a.Gateway, returnPage),
	}
	if a.Sandbox != nil {
		routes["/sandbox/"] = a.Sandbox.Handler()
	}
	a.Server = server.New(server.Options{
		DB: o.DB, Issuer: issuer, Resolver: resolver, Logger: o.Logger, Dev: o.Dev,
		PlaygroundToken: o.PlaygroundToken, Routes: routes, Limits: o.Limits,
	})

	if o.Scheduler {
		opts := jobs.Options{Clock: o.Clock, Location: o.Location, Logger: o.Logger}
		if o.DB.IsPostgres() {
			a.elector = jobs.NewPGElector(o.DB.SQL)
			opts.Elector = a.elector
		}
		js := a.Jobs()
		if o.schedulerHook != nil {
			js = o.schedulerHook(&opts, js)
		}
		a.scheduler, err = jobs.New(opts, js...)
		if err != nil {
			_ = a.Bus.Stop(ctx)
			return nil, err
		}
		a.scheduler.Start()
	}
	return a, nil
}

// Close stops the scheduler, the simulator, the sandbox and the event bus.
func (a *App) Close(ctx context.Context) error {
	var errs []error
	if a.scheduler != nil {
		errs = append(errs, a.scheduler.Stop())
	}
	if a.elector != nil {
		errs = append(errs, a.elector.Close())
	}
	if a.Simulator != nil {
		a.Simulator.Stop()
	}
	if a.Sandbox != nil {
		a.Sandbox.Close()
	}
	errs = append(errs, a.Bus.Stop(ctx))
	return errors.Join(errs...)
}

// Jobs is every scheduled job of the service: what the scheduler runs and
// what operators list and run with `billing jobs`. Cron schedules are in
// the billing time zone. Every run reads the app's clock once and hands
// that instant to the service, so a fake clock drives them all in tests.
//
// The lifecycle jobs are idempotent (each step is keyed by resource,
// period end and step), so running one twice, by hand or on two
// instances, changes nothing the second time. auto-renew runs before
// reminders so that a resource renewed at 08:00 gets no reminder at 08:05.
//
// The postpaid jobs are idempotent too: month-end issues each resource's
// invoice for a month once (unique per resource and period), auto-pay
// finds paid invoices or spent credit the second time, and a suspension
// happens once per resource. suspend-overdue runs after auto-pay, so that
// credit on hand pays an invoice before it can suspend anything.
func (a *App) Jobs() []jobs.Job {
	at := func(run func(context.Context, time.Time) (int, error)) func(context.Context) (int, error) {
		return func(ctx context.Context) (int, error) { return run(ctx, a.clock.Now()) }
	}
	return []jobs.Job{
		{Name: "expire-abandoned-payments", Every: time.Minute, Run: a.Checkout.ExpireAbandoned,
			Description: "expire gateway payments left unfinished past BILLING_PAYMENT_EXPIRY; release holds and coupons"},
		{Name: "resume-provisioning", Every: time.Minute,
			Description: "hand paid resources that got no provisioning result within 10 minutes to the provisioner again",
			Run:         func(ctx context.Context) (int, error) { return a.Checkout.ResumeProvisioning(ctx, 0) }},
		{Name: "reconcile-unknown-charges", Every: time.Minute, Run: a.Checkout.ReconcileUnknown,
			Description: "ask the gateway about linked-account charges that got no answer"},
		{Name: "auto-renew", Cron: "0 8 * * *", Run: at(a.Lifecycle.RunAutoRenewAttempts),
			Description: "renew from credit the resources with auto-renew on at T-7, T-4, T-1 and T (earliest end first)"},
		{Name: "reminders", Cron: "5 8 * * *", Run: at(a.Lifecycle.SendReminders),
			Description: "remind of expiry (T-7, T-3, T-1), suspension and release (7, 3, 1 days before), once each"},
		{Name: "expire-resources", Every: 5 * time.Minute, Run: at(a.Lifecycle.ExpireDue),
			Description: "move resources whose period ended to GRACE and notify"},
		{Name: "suspend-resources", Every: 5 * time.Minute, Run: at(a.Lifecycle.SuspendDue),
			Description: "suspend resources whose grace period is over and notify"},
		{Name: "release-resources", Every: 5 * time.Minute, Run: at(a.Lifecycle.ReleaseDue),
			Description: "release resources not renewed by the end of their suspension and notify"},
		{Name: "purge-trash", Every: 5 * time.Minute, Run: at(a.Lifecycle.PurgeDue),
			Description: "delete for good the resources whose trash window is over and notify"},
		{Name: "deliver-emails", Every: time.Minute, Run: a.Notify.DeliverEmails,
			Description: "e-mail new notices once each (logged when no SMTP server is configured)"},
		{Name: "month-end-invoices", Cron: "0 0 1 * *", Description: "issue the postpaid MONTHLY invoices of the month just closed (UNPAID, due after BILLING_INVOICE_DUE_DAYS)",
			Run: at(func(ctx context.Context, now time.Time) (int, error) {
				res, err := a.Postpaid.RunMonthEnd(ctx, now)
				return res.Invoices, err
			})},
		{Name: "auto-pay-invoices", Cron: "0 1 * * *", Description: "pay open postpaid invoices from available credit, oldest first, then smallest",
			Run: at(func(ctx context.Context, now time.Time) (int, error) {
				res, err := a.Postpaid.AutoPay(ctx, now)
				return res.Invoices, err
			})},
		{Name: "suspend-overdue", Cron: "30 1 * * *", Description: "suspend the postpaid resources of accounts with invoices unpaid BILLING_OVERDUE_DAYS past due",
			Run: at(func(ctx context.Context, now time.Time) (int, error) {
				res, err := a.Postpaid.SuspendOverdue(ctx, now)
				return res.Resources, err
			})},
		{Name: "prune-outbox", Every: time.Hour, Description: "delete live-event rows older than 7 days",
			Run: func(ctx context.Context) (int, error) { return a.Bus.Prune(ctx, a.clock.Now().Add(-7*24*time.Hour)) }},
	}
}

// Job returns the job called name.
func (a *App) Job(name string) (jobs.Job, bool) {
	for _, j := range a.Jobs() {
		if j.Name == name {
			return j, true
		}
	}
	return jobs.Job{}, false
}
