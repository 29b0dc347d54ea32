package audit_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"billing/ent"
	"billing/internal/audit"
	"billing/internal/auth"
	"billing/internal/pulid"
	"billing/internal/requestid"
	"billing/internal/store"
	"billing/internal/testdb"
)

var t0 = time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)

func TestRecord(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	accountID := pulid.New("acc")
	admin := requestid.With(auth.WithViewer(context.Background(), auth.Viewer{Subject: "ops@example.com", Role: auth.RoleAdmin}), "req-1")
	tests := []struct {
		name    string
		ctx     context.Context
		entry   audit.Entry
		wantErr string
		want    *ent.AuditLog
	}{
		{
			name: "operator action on an account",
			ctx:  admin,
			entry: audit.Entry{
				Action: "credit.adjust", TargetType: "wallet", TargetID: "wal_1", AccountID: accountID,
				Reason: "goodwill", Details: map[string]any{"amount": "-5000", "n": 2}, At: t0,
			},
			want: &ent.AuditLog{
				Actor: "ops@example.com", ActorRole: "admin", Action: "credit.adjust", TargetType: "wallet", TargetID: "wal_1",
				AccountID: accountID, Reason: "goodwill", Details: map[string]any{"amount": "-5000", "n": float64(2)}, RequestID: "req-1", CreatedAt: t0,
			},
		},
		{
			name:  "system action on no account",
			ctx:   auth.SystemContext(context.Background()),
			entry: audit.Entry{Action: "jobs.rerun", At: t0.In(time.FixedZone("ICT", 7*3600))},
			want:  &ent.AuditLog{Actor: "system", ActorRole: "system", Action: "jobs.rerun", CreatedAt: t0},
		},
		{name: "no viewer", ctx: context.Background(), entry: audit.Entry{Action: "x.y", At: t0}, wantErr: "no viewer"},
		{name: "no action", ctx: admin, entry: audit.Entry{At: t0}, wantErr: "action is required"},
		{name: "no time", ctx: admin, entry: audit.Entry{Action: "x.y"}, wantErr: "time is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var id pulid.ID
			err := store.WithTx(tt.ctx, db.Client, func(tx *ent.Tx) error {
				if err := audit.Record(tt.ctx, tx, tt.entry); err != nil {
					return err
				}
				// The entry is in the caller's transaction.
				row, err := tx.AuditLog.Query().Order(ent.Desc("id")).First(auth.SystemContext(tt.ctx))
				if err == nil {
					id = row.ID
				}
				return err
			})
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			got, err := db.Client.AuditLog.Get(auth.SystemContext(context.Background()), id)
			require.NoError(t, err)
			require.True(t, tt.want.CreatedAt.Equal(got.CreatedAt))
			got.CreatedAt, tt.want.CreatedAt = time.Time{}, time.Time{}
			tt.want.ID = id
			require.Equal(t, tt.want.String(), got.String())
			require.Equal(t, tt.want.Details, got.Details)
		})
	}
	n, err := db.Client.AuditLog.Query().Count(auth.SystemContext(context.Background()))
	require.NoError(t, err)
	require.Equal(t, 2, n)
}
