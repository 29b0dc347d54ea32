package audit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"billing/ent"
	"billing/internal/auth"
	"billing/internal/pulid"
	"billing/internal/requestid"
)

// Entry is one audited action.
type Entry struct {
	// Action names what happened, "<noun>.<verb>", e.g. "credit.adjust".
	Action string
	// TargetType and TargetID name what it happened to ("wallet", "wal_…").
	TargetType string
	TargetID   string
	// AccountID is the account concerned, if any.
	AccountID pulid.ID
	// Reason is the operator's justification.
	Reason string
	// Details holds the action's facts (amounts as strings).
	Details map[string]any
	// At is the transaction's "now".
	At time.Time
}

// Record writes e in tx on behalf of the viewer in ctx.
func Record(ctx context.Context, tx *ent.Tx, e Entry) error {
	v, ok := auth.FromContext(ctx)
	if !ok || v.Subject == "" {
		return fmt.Errorf("audit %s: no viewer in context", e.Action)
	}
	if e.Action == "" {
		return errors.New("audit: action is required")
	}
	if e.At.IsZero() {
		return fmt.Errorf("audit %s: time is required", e.Action)
	}
	c := tx.AuditLog.Create().
		SetActor(v.Subject).
		SetActorRole(v.Role.String()).
		SetAction(e.Action).
		SetTargetType(e.TargetType).
		SetTargetID(e.TargetID).
		SetReason(e.Reason).
		SetRequestID(requestid.From(ctx)).
		SetCreatedAt(e.At.UTC())
	if e.AccountID != "" {
		c.SetAccountID(e.AccountID)
	}
	if e.Details != nil {
		c.SetDetails(e.Details)
	}
	if err := c.Exec(ctx); err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}
