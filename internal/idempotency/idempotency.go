package idempotency

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"billing/ent"
	"billing/ent/idempotencyrecord"
	"billing/internal/fault"
	"billing/internal/pulid"
	"billing/internal/store"
)

// MaxKeyLength is the longest idempotency key accepted, in bytes.
const MaxKeyLength = 200

// ValidateKey checks a client's idempotency key: not blank and at most
// MaxKeyLength bytes. The fault names the input field idempotencyKey.
func ValidateKey(key string) error {
	if strings.TrimSpace(key) == "" {
		return fault.New(fault.Invalid, "an idempotency key is required", "input", "idempotencyKey")
	}
	if len(key) > MaxKeyLength {
		return fault.New(fault.Invalid, fmt.Sprintf("the idempotency key is longer than %d characters", MaxKeyLength), "input", "idempotencyKey")
	}
	return nil
}

// Option changes how Run records a request.
type Option func(*options)

type options struct {
	at     time.Time
	expect any
}

// At sets the record's creation time: pass the transaction's one "now"
// from the caller's clock. Without it the wall clock is used; the time is
// only bookkeeping for purging old records, never a business rule.
func At(t time.Time) Option { return func(o *options) { o.at = t } }

// Expect gives the result fn will return when the caller knows it before
// fn runs (its ids generated up front). The record is then inserted with
// its response already in place and, when fn's result encodes the same,
// not updated after fn: one statement less per call. A different result
// is stored as usual, so a wrong guess costs only that statement. The
// record still commits or rolls back with fn's writes: nobody else can
// see the response before fn's transaction commits.
func Expect(v any) Option { return func(o *options) { o.expect = v } }

// Run runs fn once per (scope, key) — see the package documentation. fn
// receives the transaction that also holds the idempotency record and must
// do all its writes through it. T must survive a JSON round trip: a replay
// returns the stored JSON decoded into a fresh T.
func Run[T any](ctx context.Context, db *store.DB, scope, key, operation string, request any,
	fn func(ctx context.Context, tx *ent.Tx) (T, error), opts ...Option,
) (T, error) {
	v, _, err := Do(ctx, db, scope, key, operation, request, fn, opts...)
	return v, err
}

// Do is Run that also reports whether the result was replayed from an
// earlier call (fn did not run).
func Do[T any](ctx context.Context, db *store.DB, scope, key, operation string, request any,
	fn func(ctx context.Context, tx *ent.Tx) (T, error), opts ...Option,
) (result T, replayed bool, err error) {
	var zero T
	if err := ValidateKey(key); err != nil {
		return zero, false, err
	}
	if scope == "" || operation == "" {
		return zero, false, errors.New("idempotency: scope and operation are required")
	}
	o := options{at: time.Now()}
	for _, opt := range opts {
		opt(&o)
	}
	hash, err := Hash(operation, request)
	if err != nil {
		return zero, false, fmt.Errorf("%s: %w", operation, err)
	}
	var expected []byte
	response := any(nil) // NULL until fn's result is stored
	if o.expect != nil {
		if expected, err = json.Marshal(o.expect); err != nil {
			return zero, false, fmt.Errorf("store %s result: %w", operation, err)
		}
		response = expected
	}
	err = store.WithTx(ctx, db.Client, func(tx *ent.Tx) error {
		res, err := tx.ExecContext(ctx,
			`INSERT INTO idempotency_records (id, scope, "key", operation, request_hash, created_at, response)
			 VALUES ($1, $2, $3, $4, $5, $6, $7)
			 ON CONFLICT (scope, "key") DO NOTHING`,
			string(pulid.New("idm")), scope, key, operation, hash, o.at.UTC(), response)
		if err != nil {
			return fmt.Errorf("record idempotency key: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("record idempotency key: %w", err)
		}
		if n == 0 {
			result, err = replay[T](ctx, tx, scope, key, operation, hash)
			replayed = err == nil
			return err
		}
		if result, err = fn(ctx, tx); err != nil {
			return err
		}
		body, err := json.Marshal(result)
		if err != nil {
			return fmt.Errorf("store %s result: %w", operation, err)
		}
		if expected != nil && bytes.Equal(body, expected) {
			return nil // inserted with the record
		}
		err = tx.IdempotencyRecord.Update().
			Where(idempotencyrecord.Scope(scope), idempotencyrecord.Key(key)).
			SetResponse(body).
			Exec(ctx)
		if err != nil {
			return fmt.Errorf("store %s result: %w", operation, err)
		}
		return nil
	})
	if err != nil {
		return zero, false, err
	}
	return result, replayed, nil
}

// replay returns the stored result of a committed record, or
// fault.IdempotencyKeyReused when the record is for another request.
func replay[T any](ctx context.Context, tx *ent.Tx, scope, key, operation, hash string) (T, error) {
	var v T
	rec, err := tx.IdempotencyRecord.Query().
		Where(idempotencyrecord.Scope(scope), idempotencyrecord.Key(key)).
		Only(ctx)
	if err != nil {
		return v, fmt.Errorf("read idempotency record: %w", err)
	}
	if rec.Operation != operation || rec.RequestHash != hash {
		return v, fault.New(fault.IdempotencyKeyReused,
			"this idempotency key was already used for a different request", "input", "idempotencyKey")
	}
	if rec.Response == nil {
		// Records commit with their response; an empty one was written by
		// something other than Run.
		return v, fmt.Errorf("idempotency record %s has no stored result", rec.ID)
	}
	if err := json.Unmarshal(rec.Response, &v); err != nil {
		return v, fmt.Errorf("decode stored %s result: %w", operation, err)
	}
	return v, nil
}

// Hash returns the hex SHA-256 of the canonical JSON of operation and
// request. The request is encoded, decoded into generic values (numbers
// kept verbatim) and encoded again, so key order and Go types do not
// matter, only the JSON content.
func Hash(operation string, request any) (string, error) {
	raw, err := json.Marshal(request)
	if err != nil {
		return "", fmt.Errorf("encode request: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return "", fmt.Errorf("canonicalize request: %w", err)
	}
	canonical, err := json.Marshal(struct {
		Operation string `json:"operation"`
		Request   any    `json:"request"`
	}{operation, generic})
	if err != nil {
		return "", fmt.Errorf("canonicalize request: %w", err)
	}
	sum := sha256.Sum256(canonical)
	return hex.EncodeToString(sum[:]), nil
}
