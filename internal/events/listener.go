package events

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lib/pq"

	"billing/ent"
	"billing/ent/outboxevent"
	"billing/internal/pulid"
	"billing/internal/store"
)

// ListenerApplicationName is the application_name the listener's connection
// reports (unless the URL sets one), so operators can find it in
// pg_stat_activity.
const ListenerApplicationName = "billing-listener"

// Listener feeds a Hub from the outbox table on PostgreSQL. An instance runs
// one: a single pq.Listener connection LISTENs on NotifyChannel and every
// wake-up (a notification, a reconnect, a safety tick) re-reads the outbox
// rows the listener has not published yet. See the package doc for how ids
// that commit out of order are handled.
type Listener struct {
	databaseURL string
	db          *store.DB
	hub         *Hub
	logger      *slog.Logger

	// Tunables, fixed before Start; tests in this package shorten them.
	batchSize      int           // rows read per query
	safetyInterval time.Duration // re-scan and ping this often even without notifications
	gapHorizon     time.Duration // how long a skipped id is waited for
	maxGaps        int           // bound on the skipped ids tracked at once
	seedWindow     int64         // ids below the start-up max(id) treated as possibly in flight
	minReconnect   time.Duration
	maxReconnect   time.Duration
	dialer         pq.Dialer // nil: pq's default dialer; tests gate reconnects with it
	now            func() time.Time

	// kick asks the loop for a scan; buffered 1, so wake-ups coalesce.
	kick chan struct{}
	// connected mirrors the pq connection state, for health and tests.
	connected atomic.Bool
	pinging   atomic.Bool

	mu      sync.Mutex // guards the fields below (Start/Stop)
	pl      *pq.Listener
	cancel  context.CancelFunc
	done    chan struct{} // closed when the loop has returned
	pingWG  sync.WaitGroup
	drained chan struct{} // closed when pl's Notify channel is closed

	// Owned by the loop goroutine (and by Start before it runs).
	lastSeen int64               // every id <= lastSeen is published or in gaps
	gaps     map[int64]time.Time // skipped id → when to give up on it
}

// NewListener returns a listener that connects with databaseURL (the same
// URL as db), reads the outbox through db and publishes to hub. A nil
// logger discards logs.
func NewListener(databaseURL string, db *store.DB, hub *Hub, logger *slog.Logger) *Listener {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Listener{
		databaseURL:    databaseURL,
		db:             db,
		hub:            hub,
		logger:         logger.With("component", "events.listener"),
		batchSize:      500,
		safetyInterval: 5 * time.Second,
		gapHorizon:     2 * time.Minute,
		maxGaps:        10_000,
		seedWindow:     1_000,
		minReconnect:   100 * time.Millisecond,
		maxReconnect:   10 * time.Second,
		now:            time.Now,
		kick:           make(chan struct{}, 1),
		gaps:           map[int64]time.Time{},
	}
}

// Start connects, LISTENs, reads the current max(id) and starts the loop.
// It returns once the listener is listening, or with ctx's error if the
// database cannot be reached before ctx ends.
func (l *Listener) Start(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done != nil {
		return errors.New("start events listener: already started")
	}
	dsn, err := listenerDSN(l.databaseURL)
	if err != nil {
		return fmt.Errorf("start events listener: %w", err)
	}
	var pl *pq.Listener
	if l.dialer != nil {
		pl = pq.NewDialListener(l.dialer, dsn, l.minReconnect, l.maxReconnect, l.onEvent)
	} else {
		pl = pq.NewListener(dsn, l.minReconnect, l.maxReconnect, l.onEvent)
	}
	drained := make(chan struct{})
	closePL := func() {
		_ = pl.Close()
		// pq blocks sending on Notify until someone reads it; drain it
		// until pq closes it on its way out.
		go func() {
			for range pl.Notify {
			}
			close(drained)
		}()
	}
	// Listen blocks until the connection is up (pq retries on its own).
	listened := make(chan error, 1)
	go func() { listened <- pl.Listen(NotifyChannel) }()
	select {
	case err = <-listened:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err == nil {
		err = l.seed(ctx)
	}
	if err != nil {
		closePL()
		return fmt.Errorf("start events listener: %w", err)
	}

	l.logger.InfoContext(ctx, "events listener started", "channel", NotifyChannel, "last_seen", l.lastSeen, "gaps", len(l.gaps))
	loopCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l.pl, l.cancel, l.done, l.drained = pl, cancel, make(chan struct{}), drained
	go l.run(loopCtx, closePL)
	return nil
}

// Stop ends the loop and closes the connection. It waits for both, or
// until ctx ends.
func (l *Listener) Stop(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done == nil {
		return nil
	}
	l.cancel()
	for _, ch := range []chan struct{}{l.done, l.drained} {
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("stop events listener: %w", ctx.Err())
		}
	}
	pinged := make(chan struct{})
	go func() { l.pingWG.Wait(); close(pinged) }()
	select {
	case <-pinged:
	case <-ctx.Done():
		return fmt.Errorf("stop events listener: %w", ctx.Err())
	}
	l.done = nil
	return nil
}

// Connected reports whether the listener's connection is currently up.
func (l *Listener) Connected() bool { return l.connected.Load() }

// onEvent is pq's connection-state callback. It runs on pq's dispatch
// goroutine, so it only records and signals.
func (l *Listener) onEvent(ev pq.ListenerEventType, err error) {
	switch ev {
	case pq.ListenerEventConnected, pq.ListenerEventReconnected:
		l.connected.Store(true)
		l.logger.Info("events listener connected", "event", ev.String())
		// Notifications sent while the connection was down are lost: re-read
		// the table from the last seen id.
		l.wake()
	case pq.ListenerEventDisconnected:
		l.connected.Store(false)
		l.logger.Warn("events listener disconnected", "err", err)
	case pq.ListenerEventConnectionAttemptFailed:
		l.logger.Warn("events listener connection attempt failed", "err", err)
	}
}

// wake asks the loop for a scan without ever blocking.
func (l *Listener) wake() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

func (l *Listener) run(ctx context.Context, closePL func()) {
	defer close(l.done)
	defer closePL()
	tick := time.NewTicker(l.safetyInterval)
	defer tick.Stop()
	notify := l.pl.NotificationChannel()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-notify:
			if !ok {
				return
			}
			// A nil notification (after a reconnect) means "some may have
			// been lost"; either way, the scan below re-reads the table.
			drain(notify)
		case <-l.kick:
		case <-tick.C:
			l.ping()
		}
		if err := l.scan(ctx); err != nil && ctx.Err() == nil {
			// The next wake-up (at worst the safety tick) retries from the
			// same place.
			l.logger.WarnContext(ctx, "events listener scan failed", "err", err, "last_seen", l.lastSeen)
		}
	}
}

// drain discards the notifications already queued: one scan covers them.
func drain(ch <-chan *pq.Notification) {
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		default:
			return
		}
	}
}

// ping checks the connection in the background: a connection that died
// silently would otherwise only be noticed when the kernel gives up on it.
// A failed ping closes the connection, which makes pq reconnect (and then
// the loop re-scans).
func (l *Listener) ping() {
	if !l.pinging.CompareAndSwap(false, true) {
		return
	}
	l.pingWG.Add(1)
	go func() {
		defer l.pingWG.Done()
		defer l.pinging.Store(false)
		if err := l.pl.Ping(); err != nil {
			l.logger.Warn("events listener ping failed", "err", err)
			l.wake()
		}
	}()
}

// seed sets lastSeen to the current max(id) and marks the ids missing in
// the window just below it as gaps: they may belong to transactions still
// in flight, which commit after the listener started.
func (l *Listener) seed(ctx context.Context) error {
	top, err := l.db.Client.OutboxEvent.Query().
		Order(ent.Desc(outboxevent.FieldID)).
		Limit(1).
		IDs(ctx)
	if err != nil {
		return fmt.Errorf("read last outbox id: %w", err)
	}
	if len(top) == 0 {
		l.lastSeen = 0
		return nil
	}
	maxID := top[0]
	low := max(maxID-l.seedWindow, 0)
	ids, err := l.db.Client.OutboxEvent.Query().
		Where(outboxevent.IDGT(low)).
		Order(ent.Asc(outboxevent.FieldID)).
		IDs(ctx)
	if err != nil {
		return fmt.Errorf("read recent outbox ids: %w", err)
	}
	l.lastSeen = low
	now := l.now()
	for _, id := range ids {
		l.addGaps(l.lastSeen+1, id, now)
		l.lastSeen = id
	}
	return nil
}

// scan publishes, in id order, the committed rows not published yet: the
// gaps that have filled since the last scan, then everything above
// lastSeen, in batches. Gap ids all lie below lastSeen, so one query per
// batch reads both (WHERE id >= oldest gap AND (id > lastSeen OR id IN
// (gaps)) ORDER BY id):
// normally a wake-up costs one statement. Its only values are int64s,
// written into the SQL text, so lib/pq sends it with the simple protocol
// (one round trip, no Parse/Describe exchange; outside a transaction that
// exchange would also count as a transaction of its own). Only when more
// gaps are open than fit in a batch are the oldest looked up on their own
// first.
func (l *Listener) scan(ctx context.Context) error {
	now := l.now()
	for id, deadline := range l.gaps {
		if !now.Before(deadline) {
			delete(l.gaps, id)
		}
	}
	gaps := make([]int64, 0, len(l.gaps))
	for id := range l.gaps {
		gaps = append(gaps, id)
	}
	slices.Sort(gaps)
	for len(gaps) > l.batchSize {
		chunk := gaps[:l.batchSize]
		gaps = gaps[l.batchSize:]
		rows, err := l.read(ctx, "id IN ("+idList(chunk)+")", 0)
		if err != nil {
			return fmt.Errorf("read outbox gaps: %w", err)
		}
		for _, ev := range rows {
			delete(l.gaps, ev.ID)
			l.hub.Publish(ev)
		}
	}
	for {
		where := "id > " + strconv.FormatInt(l.lastSeen, 10)
		if len(gaps) > 0 {
			// The lower bound lets PostgreSQL start its ordered index scan
			// at the oldest gap; with the OR alone it walked the index
			// from the table's first row, in milliseconds per scan.
			where = "id >= " + strconv.FormatInt(gaps[0], 10) +
				" AND (" + where + " OR id IN (" + idList(gaps) + "))"
		}
		rows, err := l.read(ctx, where, l.batchSize)
		if err != nil {
			return fmt.Errorf("read outbox after %d: %w", l.lastSeen, err)
		}
		for _, ev := range rows {
			if ev.ID <= l.lastSeen {
				// A gap that filled; published once, then forgotten.
				if _, ok := l.gaps[ev.ID]; ok {
					delete(l.gaps, ev.ID)
					l.hub.Publish(ev)
				}
				continue
			}
			l.addGaps(l.lastSeen+1, ev.ID, now)
			l.lastSeen = ev.ID
			l.hub.Publish(ev)
		}
		if len(rows) < l.batchSize {
			return nil
		}
		// The next batch asks again only for the gaps still open.
		gaps = slices.DeleteFunc(gaps, func(id int64) bool { _, open := l.gaps[id]; return !open })
	}
}

// read returns the outbox rows matching where (SQL over the id column and
// integer literals only), in id order, at most limit of them (0: all).
func (l *Listener) read(ctx context.Context, where string, limit int) ([]Event, error) {
	q := `SELECT id, topic, account_id, subject_id, payload, created_at FROM outbox_events WHERE ` + where + ` ORDER BY id`
	if limit > 0 {
		q += ` LIMIT ` + strconv.Itoa(limit)
	}
	rows, err := l.db.SQL.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var evs []Event
	for rows.Next() {
		var (
			ev               Event
			account, subject sql.NullString
			payload          []byte
		)
		if err := rows.Scan(&ev.ID, &ev.Topic, &account, &subject, &payload, &ev.CreatedAt); err != nil {
			return nil, err
		}
		ev.AccountID, ev.SubjectID, ev.Payload = pulid.ID(account.String), subject.String, payload
		evs = append(evs, ev)
	}
	return evs, rows.Err()
}

// idList writes ids as a comma-separated list of SQL integer literals.
func idList(ids []int64) string {
	b := make([]byte, 0, len(ids)*8)
	for i, id := range ids {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(b)
}

// addGaps records the ids in [from, to) as skipped: not committed yet (or
// never: rolled back), waited for until now+gapHorizon.
func (l *Listener) addGaps(from, to int64, now time.Time) {
	if to-from > int64(l.maxGaps) {
		l.logger.Warn("events listener: outbox ids jumped, tracking only the last ones", "from", from, "to", to, "tracked", l.maxGaps)
		from = to - int64(l.maxGaps)
	}
	deadline := now.Add(l.gapHorizon)
	for id := from; id < to; id++ {
		l.gaps[id] = deadline
	}
	if over := len(l.gaps) - l.maxGaps; over > 0 {
		ids := make([]int64, 0, len(l.gaps))
		for id := range l.gaps {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids[:over] {
			delete(l.gaps, id)
		}
		l.logger.Warn("events listener: too many outbox gaps, gave up on the oldest", "dropped", over)
	}
}

// listenerDSN adds application_name to the connection string (URL or
// key=value form) unless it already has one.
func listenerDSN(databaseURL string) (string, error) {
	if databaseURL == "" {
		return "", errors.New("no database URL")
	}
	if strings.HasPrefix(databaseURL, "postgres://") || strings.HasPrefix(databaseURL, "postgresql://") {
		u, err := url.Parse(databaseURL)
		if err != nil {
			return "", errors.New("parse database URL") // the error would carry the password
		}
		q := u.Query()
		if q.Get("application_name") == "" {
			q.Set("application_name", ListenerApplicationName)
			u.RawQuery = q.Encode()
		}
		return u.String(), nil
	}
	if strings.Contains(databaseURL, "application_name=") {
		return databaseURL, nil
	}
	return databaseURL + " application_name=" + ListenerApplicationName, nil
}
