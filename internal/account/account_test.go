package account_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"billing/ent"
	entaccount "billing/ent/account"
	"billing/ent/auditlog"
	"billing/ent/ledgeraccount"
	"billing/ent/member"
	"billing/ent/wallet"
	"billing/internal/account"
	"billing/internal/auth"
	"billing/internal/events"
	"billing/internal/fault"
	"billing/internal/ledger"
	"billing/internal/requestid"
	"billing/internal/testdb"
)

var t0 = time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)

func TestCreate(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	clock := clockwork.NewFakeClockAt(t0)
	svc := account.New(db, clock)
	sys := auth.SystemContext(context.Background())
	admin := requestid.With(auth.WithViewer(context.Background(), auth.Viewer{Subject: "ops", Role: auth.RoleAdmin}), "req-7")
	tests := []struct {
		name     string
		ctx      context.Context
		in       account.CreateInput
		wantName string
		wantType entaccount.Type
		actor    string
	}{
		{"prepaid by default", sys, account.CreateInput{Name: "  Acme  ", Email: "billing@acme.vn", OwnerSubject: "user-1"}, "Acme", entaccount.TypePREPAID, "system"},
		{"postpaid by an operator", admin, account.CreateInput{Name: "Big Corp", OwnerSubject: "user-2", Type: entaccount.TypePOSTPAID}, "Big Corp", entaccount.TypePOSTPAID, "ops"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			acc, err := svc.Create(tt.ctx, tt.in)
			require.NoError(t, err)
			require.Equal(t, tt.wantName, acc.Name)
			require.Equal(t, strings.TrimSpace(tt.in.Email), acc.Email)
			require.Equal(t, tt.wantType, acc.Type)
			require.Equal(t, entaccount.StatusACTIVE, acc.Status)
			require.True(t, acc.CreditLimit.IsZero())
			require.True(t, t0.Equal(acc.CreatedAt))
			require.Equal(t, "acc", acc.ID.Prefix())

			owners, err := acc.QueryMembers().All(sys)
			require.NoError(t, err)
			require.Len(t, owners, 1)
			require.Equal(t, tt.in.OwnerSubject, owners[0].Subject)
			require.Equal(t, member.RoleOWNER, owners[0].Role)

			w, err := db.Client.Wallet.Query().Where(wallet.AccountID(acc.ID)).Only(sys)
			require.NoError(t, err)
			require.Equal(t, "VND", w.Currency)
			require.True(t, w.Balance.IsZero())
			require.True(t, w.Held.IsZero())
			require.Zero(t, w.Version)

			las, err := db.Client.LedgerAccount.Query().Where(ledgeraccount.AccountID(acc.ID)).Order(ent.Asc(ledgeraccount.FieldCode)).All(sys)
			require.NoError(t, err)
			require.Len(t, las, 2)
			require.Equal(t, "customer:"+string(acc.ID)+":available", las[0].Code)
			require.Equal(t, ledgeraccount.KindCUSTOMER_AVAILABLE, las[0].Kind)
			require.Equal(t, "customer:"+string(acc.ID)+":held", las[1].Code)
			require.Equal(t, ledgeraccount.KindCUSTOMER_HELD, las[1].Kind)

			logs, err := db.Client.AuditLog.Query().Where(auditlog.AccountID(acc.ID)).All(sys)
			require.NoError(t, err)
			require.Len(t, logs, 1)
			require.Equal(t, "account.create", logs[0].Action)
			require.Equal(t, tt.actor, logs[0].Actor)
			require.Equal(t, string(acc.ID), logs[0].TargetID)

			l := ledger.New(db, events.NewOutbox(db.IsPostgres(), nil), clock)
			require.NoError(t, l.Verify(sys, acc.ID))
		})
	}
}

func TestCreateRejected(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	svc := account.New(db, clockwork.NewFakeClockAt(t0))
	sys := auth.SystemContext(context.Background())
	valid := account.CreateInput{Name: "Acme", Email: "a@acme.vn", OwnerSubject: "user-1"}
	with := func(f func(*account.CreateInput)) account.CreateInput {
		in := valid
		f(&in)
		return in
	}
	tests := []struct {
		name      string
		ctx       context.Context
		in        account.CreateInput
		wantCode  fault.Code
		wantField []string
	}{
		{"no viewer", context.Background(), valid, fault.Unauthenticated, nil},
		{"customer", auth.WithViewer(context.Background(), auth.Viewer{Subject: "u", Role: auth.RoleCustomer, AccountID: "acc_x"}), valid, fault.Forbidden, nil},
		{"service", auth.WithViewer(context.Background(), auth.Viewer{Subject: "vserver", Role: auth.RoleService}), valid, fault.Forbidden, nil},
		{"no name", sys, with(func(in *account.CreateInput) { in.Name = " " }), fault.Invalid, []string{"input", "name"}},
		{"name too long", sys, with(func(in *account.CreateInput) { in.Name = strings.Repeat("n", 201) }), fault.Invalid, []string{"input", "name"}},
		{"no owner", sys, with(func(in *account.CreateInput) { in.OwnerSubject = "" }), fault.Invalid, []string{"input", "ownerSubject"}},
		{"bad email", sys, with(func(in *account.CreateInput) { in.Email = "not an email" }), fault.Invalid, []string{"input", "email"}},
		{"email with a display name", sys, with(func(in *account.CreateInput) { in.Email = "Acme <a@acme.vn>" }), fault.Invalid, []string{"input", "email"}},
		{"unknown type", sys, with(func(in *account.CreateInput) { in.Type = "FREE" }), fault.Invalid, []string{"input", "type"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := svc.Create(tt.ctx, tt.in)
			require.Equal(t, tt.wantCode, fault.CodeOf(err), "%v", err)
			if tt.wantField != nil {
				f, _ := fault.As(err)
				require.Equal(t, tt.wantField, f.Field)
				require.Equal(t, fault.Invalid, fault.CodeOf(tt.in.Validate()))
			}
		})
	}
	for _, table := range []string{"accounts", "members", "wallets", "ledger_accounts", "audit_logs"} {
		var n int
		require.NoError(t, db.SQL.QueryRow(`SELECT COUNT(*) FROM `+table).Scan(&n))
		require.Zero(t, n, table)
	}
	require.NoError(t, valid.Validate())
}
