package idempotency_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"billing/ent"
	"billing/ent/idempotencyrecord"
	"billing/internal/fault"
	"billing/internal/idempotency"
	"billing/internal/store"
	"billing/internal/testdb"
)

var t0 = time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)

type result struct {
	ID     string `json:"id"`
	Amount string `json:"amount"`
}

type request struct {
	Account string `json:"account"`
	Amount  string `json:"amount"`
}

// work returns an fn that counts its runs and writes one outbox row, so a
// test can see whether its writes were kept.
func work(runs *atomic.Int32, id string) func(context.Context, *ent.Tx) (result, error) {
	return func(ctx context.Context, tx *ent.Tx) (result, error) {
		runs.Add(1)
		err := tx.OutboxEvent.Create().SetTopic("test").SetSubjectID(id).SetPayload([]byte(`{}`)).SetCreatedAt(t0).Exec(ctx)
		return result{ID: id, Amount: "100"}, err
	}
}

func count(t *testing.T, db *store.DB, table string) int {
	t.Helper()
	var n int
	require.NoError(t, db.SQL.QueryRow(`SELECT COUNT(*) FROM `+table).Scan(&n))
	return n
}

func TestRunReplays(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	var runs atomic.Int32
	req := request{Account: "acc_1", Amount: "100"}

	v, replayed, err := idempotency.Do(ctx, db, "acc_1", "k1", "topUp", req, work(&runs, "first"), idempotency.At(t0))
	require.NoError(t, err)
	require.False(t, replayed)
	require.Equal(t, result{ID: "first", Amount: "100"}, v)

	rec, err := db.Client.IdempotencyRecord.Query().Where(idempotencyrecord.Key("k1")).Only(ctx)
	require.NoError(t, err)
	require.Equal(t, "acc_1", rec.Scope)
	require.Equal(t, "topUp", rec.Operation)
	require.JSONEq(t, `{"id":"first","amount":"100"}`, string(rec.Response))
	require.True(t, t0.Equal(rec.CreatedAt))
	hash, err := idempotency.Hash("topUp", req)
	require.NoError(t, err)
	require.Equal(t, hash, rec.RequestHash)

	// The same request, even as a map with its keys in another order: the
	// stored result, fn not run.
	v, replayed, err = idempotency.Do(ctx, db, "acc_1", "k1", "topUp",
		map[string]any{"amount": "100", "account": "acc_1"}, work(&runs, "second"))
	require.NoError(t, err)
	require.True(t, replayed)
	require.Equal(t, result{ID: "first", Amount: "100"}, v)
	v, err = idempotency.Run(ctx, db, "acc_1", "k1", "topUp", req, work(&runs, "third"))
	require.NoError(t, err)
	require.Equal(t, "first", v.ID)
	require.Equal(t, int32(1), runs.Load())
	require.Equal(t, 1, count(t, db, "outbox_events"))

	// The same key in another scope is another key.
	v, err = idempotency.Run(ctx, db, "acc_2", "k1", "topUp", req, work(&runs, "other scope"))
	require.NoError(t, err)
	require.Equal(t, "other scope", v.ID)
	require.Equal(t, int32(2), runs.Load())
}

func TestRunRejectsReusedKey(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	var runs atomic.Int32
	_, err := idempotency.Run(ctx, db, "acc_1", "k1", "topUp", request{Account: "acc_1", Amount: "100"}, work(&runs, "first"))
	require.NoError(t, err)

	tests := []struct {
		name      string
		operation string
		request   any
	}{
		{"other amount", "topUp", request{Account: "acc_1", Amount: "101"}},
		{"other operation", "checkout", request{Account: "acc_1", Amount: "100"}},
		{"extra field", "topUp", map[string]any{"account": "acc_1", "amount": "100", "coupon": "X"}},
		{"number instead of string", "topUp", map[string]any{"account": "acc_1", "amount": 100}},
		{"no request", "topUp", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := idempotency.Run(ctx, db, "acc_1", "k1", tt.operation, tt.request, work(&runs, "again"))
			require.Equal(t, fault.IdempotencyKeyReused, fault.CodeOf(err), "%v", err)
			f, _ := fault.As(err)
			require.Equal(t, []string{"input", "idempotencyKey"}, f.Field)
		})
	}
	require.Equal(t, int32(1), runs.Load())
	require.Equal(t, 1, count(t, db, "outbox_events"))
	require.Equal(t, 1, count(t, db, "idempotency_records"))
}

func TestRunValidatesKey(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	var runs atomic.Int32
	tests := []struct {
		name  string
		key   string
		valid bool
	}{
		{"empty", "", false},
		{"blank", "  \t", false},
		{"201 bytes", strings.Repeat("k", 201), false},
		{"200 bytes", strings.Repeat("k", 200), true},
		{"one character", "k", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := idempotency.Run(ctx, db, "acc_1", tt.key, "topUp", request{}, work(&runs, tt.name))
			if tt.valid {
				require.NoError(t, err)
				return
			}
			require.Equal(t, fault.Invalid, fault.CodeOf(err), "%v", err)
			require.Equal(t, fault.Invalid, fault.CodeOf(idempotency.ValidateKey(tt.key)))
		})
	}
	require.Equal(t, int32(2), runs.Load())
	require.Equal(t, 2, count(t, db, "idempotency_records"))
}

func TestRunFailureStoresNothing(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	var runs atomic.Int32
	boom := fault.New(fault.InsufficientCredit, "not enough credit", "input", "amount")
	_, err := idempotency.Run(ctx, db, "acc_1", "k1", "checkout", request{Amount: "5"},
		func(ctx context.Context, tx *ent.Tx) (result, error) {
			if _, err := work(&runs, "failed")(ctx, tx); err != nil {
				return result{}, err
			}
			return result{}, boom
		})
	require.True(t, errors.Is(err, boom), "%v", err)
	require.Equal(t, 0, count(t, db, "idempotency_records"))
	require.Equal(t, 0, count(t, db, "outbox_events"), "fn's writes are rolled back")

	// The retry runs fn for real.
	v, replayed, err := idempotency.Do(ctx, db, "acc_1", "k1", "checkout", request{Amount: "5"}, work(&runs, "retried"))
	require.NoError(t, err)
	require.False(t, replayed)
	require.Equal(t, "retried", v.ID)
	require.Equal(t, int32(2), runs.Load())
	require.Equal(t, 1, count(t, db, "outbox_events"))
}

// Concurrent calls with one key: fn runs once and every caller gets its
// result. On PostgreSQL the first fn waits until another caller is seen
// blocked on the record's unique index, so the waiting path is exercised.
func TestRunConcurrent(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	const workers = 12
	var runs atomic.Int32
	fn := func(ctx context.Context, tx *ent.Tx) (result, error) {
		if db.IsPostgres() {
			waitForBlockedInsert(t, db)
		}
		return work(&runs, "winner")(ctx, tx)
	}
	results := make([]result, workers)
	replays := make([]bool, workers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range workers {
		wg.Go(func() {
			<-start
			var err error
			results[i], replays[i], err = idempotency.Do(ctx, db, "acc_1", "same-key", "checkout", request{Amount: "9"}, fn)
			if err != nil {
				t.Errorf("unexpected error: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	require.Equal(t, int32(1), runs.Load())
	fresh := 0
	for i := range workers {
		require.Equal(t, result{ID: "winner", Amount: "100"}, results[i])
		if !replays[i] {
			fresh++
		}
	}
	require.Equal(t, 1, fresh)
	require.Equal(t, 1, count(t, db, "outbox_events"))
}

// waitForBlockedInsert polls pg_stat_activity until a session of this
// test's schema waits on a lock for an idempotency insert (at most 10 s:
// the test still checks the outcome if the scheduler never overlapped the
// calls).
func waitForBlockedInsert(t *testing.T, db *store.DB) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		var n int
		err := db.SQL.QueryRowContext(ctx, `
			SELECT COUNT(*) FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO idempotency_records%'
			  AND datname = current_database()`).Scan(&n)
		if err != nil || n > 0 {
			return
		}
	}
	t.Log("no blocked insert observed")
}

func TestHash(t *testing.T) {
	t.Parallel()
	a, err := idempotency.Hash("op", request{Account: "a", Amount: "1"})
	require.NoError(t, err)
	b, err := idempotency.Hash("op", map[string]string{"amount": "1", "account": "a"})
	require.NoError(t, err)
	c, err := idempotency.Hash("op2", request{Account: "a", Amount: "1"})
	require.NoError(t, err)
	d, err := idempotency.Hash("op", request{Account: "a", Amount: "1.0"})
	require.NoError(t, err)
	require.Equal(t, a, b)
	require.NotEqual(t, a, c)
	require.NotEqual(t, a, d)
	require.Len(t, a, 64)
	_, err = idempotency.Hash("op", func() {})
	require.Error(t, err)
}

// TestExpect: a result known up front is stored with the record; a wrong
// guess is overwritten by the real result; a failure stores nothing.
func TestExpect(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	var runs atomic.Int32
	stored := func(key string) string {
		t.Helper()
		rec, err := db.Client.IdempotencyRecord.Query().Where(idempotencyrecord.Key(key)).Only(ctx)
		require.NoError(t, err)
		return string(rec.Response)
	}

	tests := []struct {
		name   string
		expect result
	}{
		{"right guess", result{ID: "first", Amount: "100"}},
		{"wrong guess", result{ID: "other", Amount: "1"}},
	}
	for i, tt := range tests {
		key := "k" + string(rune('1'+i))
		v, replayed, err := idempotency.Do(ctx, db, "acc_1", key, "topUp", request{Account: "acc_1", Amount: "100"},
			work(&runs, "first"), idempotency.At(t0), idempotency.Expect(tt.expect))
		require.NoError(t, err, tt.name)
		require.False(t, replayed, tt.name)
		require.Equal(t, result{ID: "first", Amount: "100"}, v, tt.name)
		require.JSONEq(t, `{"id":"first","amount":"100"}`, stored(key), tt.name)
		v, replayed, err = idempotency.Do(ctx, db, "acc_1", key, "topUp", request{Account: "acc_1", Amount: "100"},
			work(&runs, "second"), idempotency.Expect(tt.expect))
		require.NoError(t, err, tt.name)
		require.True(t, replayed, tt.name)
		require.Equal(t, "first", v.ID, tt.name)
	}
	require.Equal(t, int32(2), runs.Load())

	_, err := idempotency.Run(ctx, db, "acc_1", "k9", "topUp", request{Account: "acc_1", Amount: "100"},
		func(ctx context.Context, tx *ent.Tx) (result, error) { return result{}, errors.New("boom") },
		idempotency.Expect(result{ID: "x"}))
	require.Error(t, err)
	n, err := db.Client.IdempotencyRecord.Query().Where(idempotencyrecord.Key("k9")).Count(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
}
