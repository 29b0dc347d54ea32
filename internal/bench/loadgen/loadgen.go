// Package loadgen is the checkout load the benchmarks run next to a job
// (a lifecycle sweep, month-end invoicing): workers placing CREDIT
// checkouts through checkout.Service, each on its own funded account,
// counted while the job runs and alone for as long, so a benchmark can
// report how much the job slows checkouts down.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"billing/ent/payment"
	"billing/internal/auth"
	"billing/internal/checkout"
	"billing/internal/pulid"
)

// Rate is a count (checkouts, rows) over a duration.
type Rate struct {
	N int
	D time.Duration
}

// Add sums two rates' counts and durations.
func (r *Rate) Add(o Rate) { r.N += o.N; r.D += o.D }

// PerSec is the count per second.
func (r Rate) PerSec() float64 { return float64(r.N) / r.D.Seconds() }

// Load places checkouts: one resource of Plan for one month, paid by
// CREDIT, by one worker per account.
type Load struct {
	co       *checkout.Service
	plan     string
	accounts []pulid.ID
	keys     atomic.Int64
}

// New returns a load of one worker per account (each must afford every
// checkout it will place), buying plan.
func New(co *checkout.Service, plan string, accounts []pulid.ID) *Load {
	return &Load{co: co, plan: plan, accounts: accounts}
}

// Accounts are the load's accounts, one per worker.
func (l *Load) Accounts() []pulid.ID { return l.accounts }

// Run places checkouts until stop is closed and returns how many
// completed and how long the workers ran. A failed checkout stops its
// worker and is returned.
func (l *Load) Run(stop <-chan struct{}) (Rate, error) {
	var (
		wg    sync.WaitGroup
		done  atomic.Int64
		mu    sync.Mutex
		errs  []error
		start = time.Now()
	)
	for _, acc := range l.accounts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := auth.WithViewer(context.Background(), auth.Viewer{Subject: "owner", Role: auth.RoleCustomer, AccountID: string(acc)})
			for {
				select {
				case <-stop:
					return
				default:
				}
				res, err := l.co.PlaceOrder(ctx, checkout.PlaceOrderInput{
					IdempotencyKey: fmt.Sprintf("load-%d", l.keys.Add(1)), Method: payment.MethodCREDIT,
					Items: []checkout.ItemInput{{PlanRef: l.plan, Count: 1, Months: 1}},
				})
				if err == nil && res.Payment.Status != payment.StatusSUCCEEDED {
					err = fmt.Errorf("payment %s", res.Payment.Status)
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	return Rate{N: int(done.Load()), D: time.Since(start)}, errors.Join(errs...)
}

// Loaded is a job's duration and the checkouts placed meanwhile.
type Loaded struct {
	Rate
	Job time.Duration
}

// During runs job while the load runs (the load stops when the job
// ends) and returns what job returned, the checkouts and the job's
// duration.
func (l *Load) During(job func() (int, error)) (int, Loaded, error) {
	stop := make(chan struct{})
	var (
		r       Rate
		loadErr error
		wg      sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		r, loadErr = l.Run(stop)
	}()
	start := time.Now()
	n, err := job()
	d := time.Since(start)
	close(stop)
	wg.Wait()
	return n, Loaded{Rate: r, Job: d}, errors.Join(err, loadErr)
}

// Alone runs the load by itself for d.
func (l *Load) Alone(d time.Duration) (Rate, error) {
	stop := make(chan struct{})
	t := time.AfterFunc(d, func() { close(stop) })
	defer t.Stop()
	return l.Run(stop)
}

// Report reports checkouts per second during the job, without it for as
// long, and their ratio, as benchmark metrics.
func Report(b interface{ ReportMetric(float64, string) }, during, alone Rate) {
	b.ReportMetric(during.PerSec(), "checkouts/s-during")
	b.ReportMetric(alone.PerSec(), "checkouts/s-alone")
	b.ReportMetric(during.PerSec()/alone.PerSec(), "checkout-ratio")
}
