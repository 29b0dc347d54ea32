package jobs

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/jonboulle/clockwork"
	"github.com/robfig/cron/v3"

	"billing/internal/auth"
)

// Job is one scheduled task.
type Job struct {
	// Name identifies the job in logs and for operators (billing jobs run NAME).
	Name string
	// Description says what it does, for billing jobs list.
	Description string
	// Every is the interval between runs, or
	Every time.Duration
	// Cron is a five-field crontab schedule in the billing time zone
	// ("0 8 * * *" is 08:00 every day).
	Cron string
	// Run does the work; it gets a system viewer in its context and
	// returns how many things it did.
	Run func(ctx context.Context) (int, error)
}

// Schedule describes when the job runs.
func (j Job) Schedule() string {
	if j.Cron != "" {
		return "cron " + j.Cron
	}
	return "every " + j.Every.String()
}

// Next returns the job's next run after now, in loc.
func (j Job) Next(now time.Time, loc *time.Location) (time.Time, error) {
	if j.Cron == "" {
		return now.Add(j.Every).In(loc), nil
	}
	sched, err := cron.ParseStandard(j.Cron)
	if err != nil {
		return time.Time{}, fmt.Errorf("job %s: %w", j.Name, err)
	}
	return sched.Next(now.In(loc)), nil
}

// RunOnce runs one job now, as an operator would with billing jobs run.
func RunOnce(ctx context.Context, j Job) (int, error) {
	return j.Run(auth.SystemContext(ctx))
}

// Scheduler runs jobs.
type Scheduler struct {
	s      gocron.Scheduler
	logger *slog.Logger
	jobs   []Job
}

// Options configure a Scheduler.
type Options struct {
	Clock    clockwork.Clock
	Location *time.Location
	Logger   *slog.Logger
	// Elector, when set, lets only the leader run jobs (PostgreSQL).
	Elector gocron.Elector
	// LimitMode is what happens when a job is due while its previous run
	// is still going (0: gocron.LimitModeReschedule, the due run is
	// skipped). Tests that step a fake clock right after a run returned
	// use gocron.LimitModeWait: gocron frees the job a moment after its
	// function returns, and a run due in that moment must not be lost.
	LimitMode gocron.LimitMode
}

// New returns a scheduler for jobs; Start starts it.
func New(opts Options, jobs ...Job) (*Scheduler, error) {
	so := []gocron.SchedulerOption{gocron.WithClock(opts.Clock), gocron.WithLocation(opts.Location)}
	if opts.Elector != nil {
		so = append(so, gocron.WithDistributedElector(opts.Elector))
	}
	s, err := gocron.NewScheduler(so...)
	if err != nil {
		return nil, fmt.Errorf("new scheduler: %w", err)
	}
	limit := opts.LimitMode
	if limit == 0 {
		limit = gocron.LimitModeReschedule
	}
	sc := &Scheduler{s: s, logger: opts.Logger, jobs: jobs}
	for _, j := range jobs {
		j := j
		def := gocron.DurationJob(j.Every)
		if j.Cron != "" {
			def = gocron.CronJob(j.Cron, false)
		}
		_, err := s.NewJob(def, gocron.NewTask(func() { sc.run(j) }),
			gocron.WithName(j.Name), gocron.WithSingletonMode(limit))
		if err != nil {
			return nil, fmt.Errorf("schedule %s: %w", j.Name, err)
		}
	}
	return sc, nil
}

func (sc *Scheduler) run(j Job) {
	ctx := auth.SystemContext(context.Background())
	n, err := j.Run(ctx)
	if err != nil {
		sc.logger.Error("job failed", "job", j.Name, "err", err)
		return
	}
	if n > 0 {
		sc.logger.Info("job done", "job", j.Name, "count", n)
	}
}

// Start starts running jobs.
func (sc *Scheduler) Start() { sc.s.Start() }

// Stop stops the scheduler and waits for running jobs.
func (sc *Scheduler) Stop() error { return sc.s.Shutdown() }

// ErrNotLeader is returned by the Elector of an instance that does not
// hold the lock.
var ErrNotLeader = errors.New("jobs: not the scheduler leader")

// advisoryKey is the PostgreSQL advisory lock of the scheduler leader.
const advisoryKey = 1651076205

// PGElector elects one leader among instances sharing a PostgreSQL
// database: the instance whose dedicated connection holds a session
// advisory lock. If that connection dies, the lock is released by the
// server and another instance takes over at its next check.
type PGElector struct {
	db   *sql.DB
	mu   sync.Mutex
	conn *sql.Conn
}

// NewPGElector returns an elector on db.
func NewPGElector(db *sql.DB) *PGElector { return &PGElector{db: db} }

// IsLeader implements gocron.Elector.
func (e *PGElector) IsLeader(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.conn != nil {
		// Still leader while the connection holding the lock is alive.
		if err := e.conn.PingContext(ctx); err == nil {
			return nil
		}
		discard(e.conn)
		e.conn = nil
	}
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("elector: %w", err)
	}
	var ok bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, advisoryKey).Scan(&ok); err != nil {
		// The server may have granted the lock before the error (a
		// cancelled wait for the answer): end the session, not just this
		// use of it, or the lock would stay with an idle pooled
		// connection and no instance could lead.
		discard(conn)
		return fmt.Errorf("elector: %w", err)
	}
	if !ok {
		_ = conn.Close()
		return ErrNotLeader
	}
	e.conn = conn
	return nil
}

// Close gives up leadership.
func (e *PGElector) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.conn == nil {
		return nil
	}
	_, err := e.conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, advisoryKey)
	// The leader's session never goes back to the pool, unlocked or not.
	discard(e.conn)
	e.conn = nil
	return err
}

// discard ends conn's session instead of returning it to the pool, with
// any session-level advisory lock it holds.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = conn.Close()
}
