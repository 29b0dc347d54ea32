package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"billing/ent"
	"billing/ent/notification"
	"billing/ent/outboxevent"
	"billing/internal/account"
	"billing/internal/auth"
	"billing/internal/events"
	"billing/internal/fault"
	"billing/internal/notify"
	"billing/internal/pulid"
	"billing/internal/store"
	"billing/internal/testdb"
)

var t0 = time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)

// waitFor bounds every wait on asynchronous delivery.
const waitFor = 10 * time.Second

type bundle struct {
	dsn    string
	db     *store.DB
	clock  *clockwork.FakeClock
	ctx    context.Context // system viewer
	hub    *events.Hub
	outbox *events.Outbox
	logs   *syncBuffer
	svc    *notify.Service // no mailer: e-mails are logged
}

func setup(t *testing.T) *bundle {
	t.Helper()
	dsn := testdb.NewDSN(t)
	db := testdb.Open(t, dsn)
	require.NoError(t, db.Migrate(context.Background()))
	clock := clockwork.NewFakeClockAt(t0)
	hub := events.NewHub()
	b := &bundle{
		dsn: dsn, db: db, clock: clock, hub: hub,
		ctx:    auth.SystemContext(context.Background()),
		outbox: events.NewOutbox(db.IsPostgres(), hub),
		logs:   &syncBuffer{},
	}
	b.svc = b.service(db, nil)
	return b
}

// service returns a service on db with mailer (nil: log only), logging
// JSON into b.logs.
func (b *bundle) service(db *store.DB, mailer notify.Mailer) *notify.Service {
	return notify.New(notify.Config{
		DB:     db,
		Outbox: b.outbox,
		Clock:  b.clock,
		Logger: slog.New(slog.NewJSONHandler(b.logs, nil)),
		Mailer: mailer,
		From:   "Billing <billing@example.vn>",
	})
}

// account opens an account with an optional e-mail address.
func (b *bundle) account(t *testing.T, name, email string) pulid.ID {
	t.Helper()
	acc, err := account.New(b.db, b.clock).Create(b.ctx, account.CreateInput{Name: name, Email: email, OwnerSubject: "owner-" + name})
	require.NoError(t, err)
	return acc.ID
}

// notify runs Notify in a transaction of its own.
func (b *bundle) notify(t *testing.T, n notify.Notice) bool {
	t.Helper()
	var created bool
	require.NoError(t, store.WithTx(b.ctx, b.db.Client, func(tx *ent.Tx) error {
		var err error
		created, err = b.svc.Notify(b.ctx, tx, n)
		return err
	}))
	return created
}

// customer returns a context acting as the customer of acc.
func customer(acc pulid.ID) context.Context {
	return auth.WithViewer(context.Background(), auth.Viewer{Subject: "owner", Role: auth.RoleCustomer, AccountID: string(acc)})
}

// rows returns the notifications, oldest first.
func (b *bundle) rows(t *testing.T) []*ent.Notification {
	t.Helper()
	ns, err := b.db.Client.Notification.Query().Order(notification.ByCreatedAt(), notification.ByID()).All(b.ctx)
	require.NoError(t, err)
	return ns
}

// outboxEvents returns the notification events in the outbox.
func (b *bundle) outboxEvents(t *testing.T) []*ent.OutboxEvent {
	t.Helper()
	evs, err := b.db.Client.OutboxEvent.Query().
		Where(outboxevent.Topic(events.TopicNotification)).
		Order(outboxevent.ByID()).
		All(context.Background())
	require.NoError(t, err)
	return evs
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

// records returns the logged JSON records with the given message.
func (s *syncBuffer) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(s.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec))
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

func reminder(acc, res pulid.ID, step string) notify.Notice {
	return notify.Notice{
		AccountID:  acc,
		ResourceID: res,
		Kind:       notify.KindRenewalReminder,
		Title:      "Máy chủ srv-1 hết hạn sau 7 ngày",
		Body:       "Gia hạn trước 04/12/2026 để không bị gián đoạn.",
		DedupeKey:  notify.PeriodKey(res, t0.AddDate(0, 0, 7), step),
	}
}

func TestNotifyCreatesOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t, "acme", "billing@acme.vn")
	res := pulid.New("res")
	n := reminder(acc, res, "t-7")

	// The first notice and a duplicate in the same transaction.
	require.NoError(t, store.WithTx(b.ctx, b.db.Client, func(tx *ent.Tx) error {
		created, err := b.svc.Notify(b.ctx, tx, n)
		require.NoError(t, err)
		require.True(t, created)
		created, err = b.svc.Notify(b.ctx, tx, n)
		require.NoError(t, err)
		require.False(t, created)
		return nil
	}))
	// A duplicate in a later transaction, with other text: still dropped.
	b.clock.Advance(time.Hour)
	dup := n
	dup.Title = "other"
	require.False(t, b.notify(t, dup))

	rows := b.rows(t)
	require.Len(t, rows, 1)
	got := rows[0]
	require.Equal(t, "ntf", got.ID.Prefix())
	require.Equal(t, acc, got.AccountID)
	require.Equal(t, res, got.ResourceID)
	require.Equal(t, "renewal.reminder", got.Kind)
	require.Equal(t, "Máy chủ srv-1 hết hạn sau 7 ngày", got.Title)
	require.Equal(t, "Gia hạn trước 04/12/2026 để không bị gián đoạn.", got.Body)
	require.Equal(t, "resource:"+string(res)+":20261204T093000Z:t-7", got.DedupeKey)
	require.True(t, t0.Equal(got.CreatedAt))
	require.Nil(t, got.ReadAt)
	require.Nil(t, got.EmailedAt)

	evs := b.outboxEvents(t)
	require.Len(t, evs, 1)
	require.Equal(t, string(acc), evs[0].AccountID)
	require.Equal(t, string(got.ID), evs[0].SubjectID)
	require.True(t, t0.Equal(evs[0].CreatedAt))
	var p notify.EventPayload
	require.NoError(t, json.Unmarshal(evs[0].Payload, &p))
	require.Equal(t, notify.EventPayload{ID: got.ID, Kind: "renewal.reminder", Title: "Máy chủ srv-1 hết hạn sau 7 ngày", ResourceID: res, CreatedAt: t0}, p)
}

func TestNotifyConcurrentDuplicates(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t, "acme", "")
	n := reminder(acc, pulid.New("res"), "t-1")

	const workers = 10
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		mu      sync.Mutex
		created int
		errs    []error
	)
	for range workers {
		wg.Go(func() {
			<-start
			err := store.WithTx(b.ctx, b.db.Client, func(tx *ent.Tx) error {
				ok, err := b.svc.Notify(b.ctx, tx, n)
				if ok {
					mu.Lock()
					created++
					mu.Unlock()
				}
				return err
			})
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, 1, created)
	require.Len(t, b.rows(t), 1)
	require.Len(t, b.outboxEvents(t), 1)
}

// A duplicate must not abort the caller's transaction: on PostgreSQL a
// unique violation would fail every later statement of the transaction.
func TestNotifyDuplicateKeepsTransactionUsable(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t, "acme", "")
	res := pulid.New("res")
	require.True(t, b.notify(t, reminder(acc, res, "t-7")))

	require.NoError(t, store.WithTx(b.ctx, b.db.Client, func(tx *ent.Tx) error {
		created, err := b.svc.Notify(b.ctx, tx, reminder(acc, res, "t-7"))
		require.NoError(t, err)
		require.False(t, created)
		// The caller's own work goes on in the same transaction.
		require.NoError(t, tx.Account.UpdateOneID(acc).SetName("Acme 2").Exec(b.ctx))
		created, err = b.svc.Notify(b.ctx, tx, reminder(acc, res, "t-3"))
		require.NoError(t, err)
		require.True(t, created)
		return nil
	}))

	rows := b.rows(t)
	require.Len(t, rows, 2)
	require.Equal(t, notify.PeriodKey(res, t0.AddDate(0, 0, 7), "t-3"), rows[1].DedupeKey)
	require.Len(t, b.outboxEvents(t), 2)
	a, err := b.db.Client.Account.Get(b.ctx, acc)
	require.NoError(t, err)
	require.Equal(t, "Acme 2", a.Name)
}

// A rolled-back transaction takes its notice with it, so a re-run notifies.
func TestNotifyRolledBack(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t, "acme", "")
	n := reminder(acc, pulid.New("res"), "t-7")
	err := store.WithTx(b.ctx, b.db.Client, func(tx *ent.Tx) error {
		created, err := b.svc.Notify(b.ctx, tx, n)
		require.NoError(t, err)
		require.True(t, created)
		return fault.New(fault.InsufficientCredit, "not enough credit")
	})
	require.True(t, fault.Is(err, fault.InsufficientCredit))
	require.Empty(t, b.rows(t))
	require.Empty(t, b.outboxEvents(t))
	require.True(t, b.notify(t, n))
}

func TestNotifyRejects(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t, "acme", "")
	other := b.account(t, "globex", "")
	valid := reminder(acc, pulid.New("res"), "t-7")
	require.True(t, b.notify(t, valid))

	with := func(f func(*notify.Notice)) notify.Notice { n := valid; n.DedupeKey = "k:" + t.Name(); f(&n); return n }
	tests := []struct {
		name  string
		ctx   context.Context
		n     notify.Notice
		code  fault.Code
		field string
	}{
		{"no account", b.ctx, with(func(n *notify.Notice) { n.AccountID = "" }), fault.Invalid, "accountId"},
		{"not an account id", b.ctx, with(func(n *notify.Notice) { n.AccountID = pulid.New("res") }), fault.Invalid, "accountId"},
		{"bad resource id", b.ctx, with(func(n *notify.Notice) { n.ResourceID = "res_1" }), fault.Invalid, "resourceId"},
		{"no kind", b.ctx, with(func(n *notify.Notice) { n.Kind = "" }), fault.Invalid, "kind"},
		{"kind shape", b.ctx, with(func(n *notify.Notice) { n.Kind = "Renewal Reminder" }), fault.Invalid, "kind"},
		{"kind too long", b.ctx, with(func(n *notify.Notice) { n.Kind = strings.Repeat("a", 65) }), fault.Invalid, "kind"},
		{"no title", b.ctx, with(func(n *notify.Notice) { n.Title = "  " }), fault.Invalid, "title"},
		{"title too long", b.ctx, with(func(n *notify.Notice) { n.Title = strings.Repeat("ạ", 201) }), fault.Invalid, "title"},
		{"title two lines", b.ctx, with(func(n *notify.Notice) { n.Title = "a\r\nBcc: x@y.z" }), fault.Invalid, "title"},
		{"body too long", b.ctx, with(func(n *notify.Notice) { n.Body = strings.Repeat("a", 10_001) }), fault.Invalid, "body"},
		{"no key", b.ctx, with(func(n *notify.Notice) { n.DedupeKey = "" }), fault.Invalid, "dedupeKey"},
		{"key too long", b.ctx, with(func(n *notify.Notice) { n.DedupeKey = strings.Repeat("k", 256) }), fault.Invalid, "dedupeKey"},
		{"unknown account", b.ctx, with(func(n *notify.Notice) { n.AccountID = pulid.New("acc") }), fault.NotFound, "accountId"},
		{"another customer's account", customer(other), with(func(*notify.Notice) {}), fault.NotFound, "accountId"},
		{"key of another account", b.ctx, func() notify.Notice { n := valid; n.AccountID = other; return n }(), fault.Conflict, "dedupeKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := store.WithTx(tt.ctx, b.db.Client, func(tx *ent.Tx) error {
				_, err := b.svc.Notify(tt.ctx, tx, tt.n)
				return err
			})
			f, ok := fault.As(err)
			require.True(t, ok, "%v", err)
			require.Equal(t, tt.code, f.Code)
			require.Equal(t, []string{tt.field}, f.Field)
		})
	}
	t.Cleanup(func() {
		require.Len(t, b.rows(t), 1)
		require.Len(t, b.outboxEvents(t), 1)
	})
}

// The live subscription gets one event per notice, after commit, on the
// engine's real path (commit hook on SQLite, LISTEN/NOTIFY on PostgreSQL).
func TestNotifyLiveEvent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bus := events.NewBus(b.db, b.dsn, slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})))
	require.NoError(t, bus.Start(context.Background()))
	t.Cleanup(func() { require.NoError(t, bus.Stop(context.Background())) })
	b.outbox = bus.Outbox
	b.svc = b.service(b.db, nil)

	acc := b.account(t, "acme", "")
	other := b.account(t, "globex", "")
	sub := bus.Hub.SubscribeTopic(events.TopicNotification, acc, "", 16)
	defer sub.Close()

	res := pulid.New("res")
	require.True(t, b.notify(t, reminder(acc, res, "t-7")))
	require.False(t, b.notify(t, reminder(acc, res, "t-7")))
	require.True(t, b.notify(t, reminder(other, pulid.New("res"), "t-7")))
	require.True(t, b.notify(t, reminder(acc, res, "t-3")))

	rows := b.rows(t)
	require.Len(t, rows, 3)
	for _, want := range []*ent.Notification{rows[0], rows[2]} {
		select {
		case ev := <-sub.C:
			var p notify.EventPayload
			require.NoError(t, ev.Decode(&p))
			require.Equal(t, want.ID, p.ID)
			require.Equal(t, string(want.ID), ev.SubjectID)
			require.Equal(t, acc, ev.AccountID)
		case <-time.After(waitFor):
			t.Fatalf("no event for %s", want.ID)
		}
	}
}

func TestDedupeKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		parts []string
		want  string
	}{
		{[]string{"payment", "pay_01", "failed"}, "payment:pay_01:failed"},
		{[]string{"a:b", "c"}, "a%3Ab:c"},
		{[]string{"a", "b:c"}, "a:b%3Ac"},
		{[]string{"100%", ""}, "100%25:"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, notify.DedupeKey(tt.parts...), "%q", tt.parts)
	}
	hcm := time.FixedZone("ICT", 7*3600)
	end := time.Date(2026, 12, 4, 16, 30, 0, 123456789, hcm)
	require.Equal(t, "resource:res_1:20261204T093000Z:t-7", notify.PeriodKey("res_1", end, "t-7"))
	require.Equal(t, notify.PeriodKey("res_1", end.UTC().Truncate(time.Microsecond), "t-7"), notify.PeriodKey("res_1", end, "t-7"))
}

func TestMarkReadTenancy(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acme := b.account(t, "acme", "")
	globex := b.account(t, "globex", "")
	var a, g []pulid.ID
	for i, step := range []string{"t-7", "t-3", "t-1"} {
		b.clock.Advance(time.Minute)
		require.True(t, b.notify(t, reminder(acme, pulid.New("res"), step)))
		if i < 2 {
			require.True(t, b.notify(t, reminder(globex, pulid.New("res"), step)))
		}
	}
	for _, n := range b.rows(t) {
		if n.AccountID == acme {
			a = append(a, n.ID)
		} else {
			g = append(g, n.ID)
		}
	}
	require.Len(t, a, 3)
	require.Len(t, g, 2)

	ctxA, ctxG := customer(acme), customer(globex)
	count := func(ctx context.Context, acc pulid.ID) int {
		t.Helper()
		n, err := b.svc.UnreadCount(ctx, acc)
		require.NoError(t, err)
		return n
	}
	require.Equal(t, 3, count(ctxA, ""))
	require.Equal(t, 2, count(ctxG, globex))

	b.clock.Advance(time.Hour)
	readAt := b.clock.Now()
	// Acme's customer names one of its own, one of Globex's and an unknown
	// id: only its own changes.
	n, err := b.svc.MarkRead(ctxA, []pulid.ID{a[0], g[0], pulid.New("ntf"), a[0]})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, 2, count(ctxA, acme))
	require.Equal(t, 2, count(ctxG, ""))
	require.Equal(t, 2, count(b.ctx, globex))

	// Idempotent: the first read time stays.
	b.clock.Advance(time.Hour)
	n, err = b.svc.MarkRead(ctxA, []pulid.ID{a[0]})
	require.NoError(t, err)
	require.Equal(t, 0, n)
	got, err := b.db.Client.Notification.Get(b.ctx, a[0])
	require.NoError(t, err)
	require.True(t, readAt.Equal(*got.ReadAt))

	// A customer cannot count another account, existing or not.
	_, err = b.svc.UnreadCount(ctxA, globex)
	require.True(t, fault.Is(err, fault.NotFound), "%v", err)
	_, err = b.svc.UnreadCount(ctxA, pulid.New("acc"))
	require.True(t, fault.Is(err, fault.NotFound), "%v", err)

	// Mark all: only the caller's account, then nothing left.
	n, err = b.svc.MarkAllRead(ctxA)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	n, err = b.svc.MarkAllRead(ctxA)
	require.NoError(t, err)
	require.Equal(t, 0, n)
	require.Equal(t, 0, count(ctxA, ""))
	require.Equal(t, 2, count(ctxG, ""))
	for _, id := range g {
		got, err := b.db.Client.Notification.Get(b.ctx, id)
		require.NoError(t, err)
		require.Nil(t, got.ReadAt)
	}
}

func TestInboxRoles(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t, "acme", "")
	require.True(t, b.notify(t, reminder(acc, pulid.New("res"), "t-7")))
	id := b.rows(t)[0].ID

	member := auth.WithViewer(context.Background(), auth.Viewer{Subject: "ro", Role: auth.RoleViewer, AccountID: string(acc)})
	admin := auth.WithViewer(context.Background(), auth.Viewer{Subject: "ops", Role: auth.RoleAdmin})
	service := auth.WithViewer(context.Background(), auth.Viewer{Subject: "vserver", Role: auth.RoleService})

	tests := []struct {
		name string
		ctx  context.Context
		code fault.Code // of MarkRead and MarkAllRead
	}{
		{"no viewer", context.Background(), fault.Unauthenticated},
		{"read-only member", member, fault.Forbidden},
		{"operator", admin, fault.Forbidden},
		{"system", b.ctx, fault.Forbidden},
		{"product service", service, fault.Forbidden},
	}
	for _, tt := range tests {
		_, err := b.svc.MarkRead(tt.ctx, []pulid.ID{id})
		require.True(t, fault.Is(err, tt.code), "%s: %v", tt.name, err)
		_, err = b.svc.MarkAllRead(tt.ctx)
		require.True(t, fault.Is(err, tt.code), "%s: %v", tt.name, err)
	}

	// Counting: members their own account, operators any named account.
	n, err := b.svc.UnreadCount(member, "")
	require.NoError(t, err)
	require.Equal(t, 1, n)
	n, err = b.svc.UnreadCount(admin, acc)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	_, err = b.svc.UnreadCount(admin, "")
	require.True(t, fault.Is(err, fault.Invalid), "%v", err)
	_, err = b.svc.UnreadCount(service, acc)
	require.True(t, fault.Is(err, fault.Forbidden), "%v", err)
	_, err = b.svc.UnreadCount(context.Background(), acc)
	require.True(t, fault.Is(err, fault.Unauthenticated), "%v", err)

	// More than a page of ids at once is refused.
	ids := make([]pulid.ID, notify.MaxMarkRead+1)
	for i := range ids {
		ids[i] = pulid.New("ntf")
	}
	_, err = b.svc.MarkRead(customer(acc), ids)
	require.True(t, fault.Is(err, fault.Invalid), "%v", err)
	require.Nil(t, b.rows(t)[0].ReadAt)
}
