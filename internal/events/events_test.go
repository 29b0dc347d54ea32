package events

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"billing/ent"
	"billing/internal/pulid"
	"billing/internal/store"
	"billing/internal/testdb"
)

// waitFor bounds every wait on asynchronous delivery.
const waitFor = 10 * time.Second

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// startBus starts a bus on db (tune adjusts its listener before Start, on
// PostgreSQL) and stops it when the test ends.
func startBus(t *testing.T, db *store.DB, databaseURL string, tune func(*Listener)) *Bus {
	t.Helper()
	b := NewBus(db, databaseURL, testLogger(t))
	if l := b.Listener(); l != nil && tune != nil {
		tune(l)
	}
	require.NoError(t, b.Start(context.Background()))
	t.Cleanup(func() { require.NoError(t, b.Stop(context.Background())) })
	return b
}

// appendCommitted commits one transaction appending an event per subject.
func appendCommitted(t *testing.T, db *store.DB, o *Outbox, subjects ...string) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, store.WithTx(ctx, db.Client, func(tx *ent.Tx) error {
		for _, s := range subjects {
			if err := o.Append(ctx, tx, TopicWallet, "acc_1", s, map[string]string{"subject": s}, time.Now()); err != nil {
				return err
			}
		}
		return nil
	}))
}

// openWith begins a transaction that appended an event about subject.
func openWith(t *testing.T, db *store.DB, o *Outbox, subject string) *ent.Tx {
	t.Helper()
	ctx := context.Background()
	tx, err := db.Client.Tx(ctx)
	require.NoError(t, err)
	require.NoError(t, o.Append(ctx, tx, TopicWallet, "acc_1", subject, map[string]string{"subject": subject}, time.Now()))
	return tx
}

// receive waits for the next n events on sub and returns them.
func receive(t *testing.T, sub *Subscription, n int) []Event {
	t.Helper()
	timeout := time.NewTimer(waitFor)
	defer timeout.Stop()
	evs := make([]Event, 0, n)
	for len(evs) < n {
		select {
		case ev, ok := <-sub.C:
			require.True(t, ok, "subscription closed after %d events", len(evs))
			evs = append(evs, ev)
		case <-timeout.C:
			require.FailNow(t, "timed out", "got %d of %d events: %v", len(evs), n, subjectsOf(evs))
		}
	}
	return evs
}

// requireNone asserts that nothing is waiting on sub.
func requireNone(t *testing.T, sub *Subscription) {
	t.Helper()
	select {
	case ev := <-sub.C:
		require.FailNow(t, "unexpected event", "%+v", ev)
	default:
	}
}

func subjectsOf(evs []Event) []string {
	s := make([]string, len(evs))
	for i, ev := range evs {
		s[i] = ev.SubjectID
	}
	return s
}

func requireIncreasing(t *testing.T, evs []Event) {
	t.Helper()
	for i := 1; i < len(evs); i++ {
		require.Less(t, evs[i-1].ID, evs[i].ID, "events out of id order: %v", evs)
	}
}

// TestOutboxPublishesAfterCommit runs on both engines: on SQLite through
// the commit hook, on PostgreSQL through the listener.
func TestOutboxPublishesAfterCommit(t *testing.T) {
	t.Parallel()
	dsn := testdb.NewDSN(t)
	db := testdb.Open(t, dsn)
	require.NoError(t, db.Migrate(context.Background()))
	bus := startBus(t, db, dsn, nil)
	sub := bus.Hub.Subscribe(16, nil)
	defer sub.Close()

	// Not before commit.
	late := openWith(t, db, bus.Outbox, "late")
	if db.IsPostgres() {
		// A later event committed meanwhile is delivered alone: the scan
		// that found it could not see the open transaction's row.
		appendCommitted(t, db, bus.Outbox, "meanwhile")
		require.Equal(t, []string{"meanwhile"}, subjectsOf(receive(t, sub, 1)))
	}
	// On SQLite publishing is synchronous: had Append published, the event
	// would be waiting already.
	requireNone(t, sub)
	require.NoError(t, late.Commit())
	require.Equal(t, []string{"late"}, subjectsOf(receive(t, sub, 1)))

	// Not on rollback.
	rolled := openWith(t, db, bus.Outbox, "rolled-back")
	require.NoError(t, rolled.Rollback())
	appendCommitted(t, db, bus.Outbox, "after-rollback")
	require.Equal(t, []string{"after-rollback"}, subjectsOf(receive(t, sub, 1)))

	// A transaction's events arrive in Append order.
	appendCommitted(t, db, bus.Outbox, "a", "b", "c")
	evs := receive(t, sub, 3)
	require.Equal(t, []string{"a", "b", "c"}, subjectsOf(evs))
	requireIncreasing(t, evs)
	require.Equal(t, TopicWallet, evs[0].Topic)
	var body map[string]string
	require.NoError(t, evs[0].Decode(&body))
	require.Equal(t, map[string]string{"subject": "a"}, body)
	requireNone(t, sub)
}

// TestListenerTwoInstances: two instances on one database, each with its
// own listener and hub, both receive every committed event exactly once.
func TestListenerTwoInstances(t *testing.T) {
	t.Parallel()
	testdb.RequirePostgres(t)
	dsn := testdb.NewDSN(t)
	dbA := testdb.Open(t, dsn)
	require.NoError(t, dbA.Migrate(context.Background()))
	dbB := testdb.Open(t, dsn)
	busA := startBus(t, dbA, dsn, nil)
	busB := startBus(t, dbB, dsn, nil)
	subA := busA.Hub.Subscribe(64, nil)
	subB := busB.Hub.Subscribe(64, nil)

	appendCommitted(t, dbB, busB.Outbox, "e1", "e2")
	rolled := openWith(t, dbB, busB.Outbox, "rolled-back")
	require.NoError(t, rolled.Rollback())
	appendCommitted(t, dbB, busB.Outbox, "e3")
	appendCommitted(t, dbA, busA.Outbox, "e4")

	want := []string{"e1", "e2", "e3", "e4"}
	gotA, gotB := receive(t, subA, len(want)), receive(t, subB, len(want))
	require.Equal(t, want, subjectsOf(gotA))
	require.Equal(t, gotA, gotB, "both instances see the same events")
	requireIncreasing(t, gotA)

	// Anything duplicated would have been published before this marker.
	appendCommitted(t, dbA, busA.Outbox, "marker")
	require.Equal(t, []string{"marker"}, subjectsOf(receive(t, subA, 1)))
	require.Equal(t, []string{"marker"}, subjectsOf(receive(t, subB, 1)))
	requireNone(t, subA)
	requireNone(t, subB)
}

// TestListenerOutOfOrderCommits: tx1 takes the smaller id but commits after
// tx2; both are delivered, once.
func TestListenerOutOfOrderCommits(t *testing.T) {
	t.Parallel()
	testdb.RequirePostgres(t)
	dsn := testdb.NewDSN(t)
	db := testdb.Open(t, dsn)
	require.NoError(t, db.Migrate(context.Background()))
	// No safety tick: only the notifications drive delivery.
	bus := startBus(t, db, dsn, func(l *Listener) { l.safetyInterval = time.Hour })
	sub := bus.Hub.Subscribe(16, nil)

	tx1 := openWith(t, db, bus.Outbox, "tx1")
	tx2 := openWith(t, db, bus.Outbox, "tx2")
	require.NoError(t, tx2.Commit())
	second := receive(t, sub, 1)[0]
	require.Equal(t, "tx2", second.SubjectID)

	require.NoError(t, tx1.Commit())
	first := receive(t, sub, 1)[0]
	require.Equal(t, "tx1", first.SubjectID)
	require.Less(t, first.ID, second.ID, "tx1 took the smaller id")

	appendCommitted(t, db, bus.Outbox, "tx3")
	require.Equal(t, []string{"tx3"}, subjectsOf(receive(t, sub, 1)))
	requireNone(t, sub)
}

// gateDialer lets the first connection through and, once closed, holds
// every dial until opened again: the test decides when pq reconnects.
type gateDialer struct {
	mu   sync.Mutex
	gate chan struct{} // nil: open
}

func (g *gateDialer) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gate == nil {
		g.gate = make(chan struct{})
	}
}

func (g *gateDialer) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gate != nil {
		close(g.gate)
		g.gate = nil
	}
}

func (g *gateDialer) wait() {
	g.mu.Lock()
	gate := g.gate
	g.mu.Unlock()
	if gate != nil {
		<-gate
	}
}

func (g *gateDialer) Dial(network, address string) (net.Conn, error) {
	g.wait()
	return net.Dial(network, address)
}

func (g *gateDialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	g.wait()
	return net.DialTimeout(network, address, timeout)
}

// TestListenerReconnect: events committed while the listener's connection
// is down are delivered after it reconnects, by the re-scan alone.
func TestListenerReconnect(t *testing.T) {
	t.Parallel()
	testdb.RequirePostgres(t)
	dsn := testdb.NewDSN(t)
	db := testdb.Open(t, dsn)
	require.NoError(t, db.Migrate(context.Background()))

	// A name of its own, so parallel tests never kill each other's listener.
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	appName := ListenerApplicationName + "-" + hex.EncodeToString(b)
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	q := u.Query()
	q.Set("application_name", appName)
	u.RawQuery = q.Encode()

	gate := &gateDialer{}
	bus := startBus(t, db, u.String(), func(l *Listener) {
		l.dialer = gate
		l.minReconnect = 10 * time.Millisecond
		// No safety tick: only the reconnect can trigger the re-scan.
		l.safetyInterval = time.Hour
	})
	t.Cleanup(gate.open) // runs before the bus stops: pq holds its lock while dialing
	l := bus.Listener()
	sub := bus.Hub.Subscribe(16, nil)

	appendCommitted(t, db, bus.Outbox, "before")
	require.Equal(t, []string{"before"}, subjectsOf(receive(t, sub, 1)))

	gate.close()
	var killed int
	require.NoError(t, db.SQL.QueryRow(
		`SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1) k`,
		appName).Scan(&killed))
	require.Equal(t, 1, killed, "exactly one listener connection")
	require.Eventually(t, func() bool { return !l.Connected() }, waitFor, 5*time.Millisecond)

	// Committed while nobody listens: their notifications are lost.
	appendCommitted(t, db, bus.Outbox, "down1")
	appendCommitted(t, db, bus.Outbox, "down2", "down3")

	gate.open()
	evs := receive(t, sub, 3)
	require.Equal(t, []string{"down1", "down2", "down3"}, subjectsOf(evs))
	requireIncreasing(t, evs)
	// pq may hand the loop its post-reconnect nil notification (which
	// triggers the re-scan) before it reports the reconnection itself.
	require.Eventually(t, l.Connected, waitFor, 5*time.Millisecond)

	// Live again, and nothing was delivered twice.
	appendCommitted(t, db, bus.Outbox, "after")
	require.Equal(t, []string{"after"}, subjectsOf(receive(t, sub, 1)))
	requireNone(t, sub)
}

// TestListenerGaps drives the scan directly with a fake clock; it only
// reads the table, so it runs on both engines.
func TestListenerGaps(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.New(t)
	hub := NewHub()
	sub := hub.Subscribe(64, nil)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewListener("", db, hub, testLogger(t))
	l.now = func() time.Time { return now }
	l.batchSize = 2
	insert := func(ids ...int64) {
		for _, id := range ids {
			require.NoError(t, db.Client.OutboxEvent.Create().
				SetID(id).SetTopic(TopicWallet).SetSubjectID(fmt.Sprint(id)).
				SetPayload([]byte(`{}`)).SetCreatedAt(now).Exec(ctx))
		}
	}
	scan := func() []string {
		require.NoError(t, l.scan(ctx))
		var got []string
		for {
			select {
			case ev := <-sub.C:
				got = append(got, ev.SubjectID)
			default:
				return got
			}
		}
	}

	// At start, 3 may be a transaction still in flight.
	insert(1, 2, 4)
	require.NoError(t, l.seed(ctx))
	require.Equal(t, int64(4), l.lastSeen)
	require.Equal(t, []int64{3}, gapIDs(l))
	require.Empty(t, scan())

	// Several batches, one skipped id.
	insert(5, 6, 8, 9, 10)
	require.Equal(t, []string{"5", "6", "8", "9", "10"}, scan())
	require.Equal(t, []int64{3, 7}, gapIDs(l))

	// A gap fills: published once, before newer ids.
	insert(7, 11)
	require.Equal(t, []string{"7", "11"}, scan())
	require.Equal(t, []int64{3}, gapIDs(l))
	require.Empty(t, scan())

	// Past the horizon a gap is given up (its transaction rolled back).
	now = now.Add(l.gapHorizon)
	insert(3)
	require.Empty(t, scan())
	require.Empty(t, gapIDs(l))
}

func gapIDs(l *Listener) []int64 {
	ids := []int64{}
	for id := range l.gaps {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func TestListenerGapsBounded(t *testing.T) {
	t.Parallel()
	l := NewListener("", nil, NewHub(), testLogger(t))
	l.maxGaps = 3
	now := time.Now()
	l.addGaps(1, 100, now) // an id jump: only the last ids are tracked
	require.Equal(t, []int64{97, 98, 99}, gapIDs(l))
	l.addGaps(101, 103, now) // over the bound: the oldest go
	require.Equal(t, []int64{99, 101, 102}, gapIDs(l))
}

func TestListenerDSN(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"postgres://u@h:5432/db?sslmode=disable", "postgres://u@h:5432/db?application_name=billing-listener&sslmode=disable"},
		{"postgres://u@h/db?application_name=mine&sslmode=disable", "postgres://u@h/db?application_name=mine&sslmode=disable"},
		{"host=h dbname=db sslmode=disable", "host=h dbname=db sslmode=disable application_name=billing-listener"},
		{"host=h application_name=mine", "host=h application_name=mine"},
	} {
		got, err := listenerDSN(tc.in)
		require.NoError(t, err)
		require.Equal(t, tc.want, got)
	}
	_, err := listenerDSN("")
	require.Error(t, err)
}

func TestHubSlowSubscriberDropped(t *testing.T) {
	t.Parallel()
	hub := NewHub()
	slow := hub.Subscribe(1, nil) // never read while publishing
	fast := hub.Subscribe(100, nil)

	// Publish returns although slow's buffer is full from the second event.
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 25 {
				hub.Publish(Event{ID: int64(w*25 + i + 1), Topic: TopicWallet})
			}
		})
	}
	wg.Wait()

	require.Len(t, receive(t, fast, 100), 100)
	_, ok := <-slow.C
	require.True(t, ok, "the buffered event is still readable")
	_, ok = <-slow.C
	require.False(t, ok, "a subscriber that fell behind is closed")
	slow.Close() // closing again is safe
	hub.mu.RLock()
	require.Len(t, hub.subs, 1)
	hub.mu.RUnlock()
}

func TestHubSubscribeTopic(t *testing.T) {
	t.Parallel()
	events := []Event{
		{ID: 1, Topic: TopicWallet, AccountID: "acc_1", SubjectID: "wal_1"},
		{ID: 2, Topic: TopicWallet, AccountID: "acc_1", SubjectID: "wal_2"},
		{ID: 3, Topic: TopicWallet, AccountID: "acc_2", SubjectID: "wal_3"},
		{ID: 4, Topic: TopicPayment, AccountID: "acc_1", SubjectID: "pay_1"},
	}
	for _, tc := range []struct {
		name             string
		topic            string
		account, subject string
		want             []int64
	}{
		{"topic", TopicWallet, "", "", []int64{1, 2, 3}},
		{"account", TopicWallet, "acc_1", "", []int64{1, 2}},
		{"subject", TopicWallet, "", "wal_3", []int64{3}},
		{"account and subject", TopicWallet, "acc_1", "wal_3", nil},
		{"other topic", TopicPayment, "acc_1", "", []int64{4}},
		{"no match", TopicNotification, "", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hub := NewHub()
			sub := hub.SubscribeTopic(tc.topic, pulid.ID(tc.account), tc.subject, len(events))
			for _, ev := range events {
				hub.Publish(ev)
			}
			sub.Close()
			var got []int64
			for ev := range sub.C {
				got = append(got, ev.ID)
			}
			require.Equal(t, tc.want, got)
		})
	}
}

// TestBusPrune runs on both engines.
func TestBusPrune(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.New(t)
	bus := NewBus(db, "", testLogger(t)) // not started: Prune needs no listener
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i, at := range []time.Time{now.Add(-72 * time.Hour), now.Add(-25 * time.Hour), now.Add(-time.Hour), now} {
		require.NoError(t, store.WithTx(ctx, db.Client, func(tx *ent.Tx) error {
			return bus.Outbox.Append(ctx, tx, TopicPayment, "", fmt.Sprint(i), struct{}{}, at)
		}))
	}
	n, err := bus.Prune(ctx, now.Add(-24*time.Hour))
	require.NoError(t, err)
	require.Equal(t, 2, n)
	left, err := db.Client.OutboxEvent.Query().Count(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, left)
	n, err = bus.Prune(ctx, now.Add(-24*time.Hour))
	require.NoError(t, err)
	require.Zero(t, n)
}
