package schema

import (
	"billing/internal/money"
	"billing/internal/pulid"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Wallet is an account's VND credit wallet. Balance and held are running
// totals of the account's ledger entries (AVAILABLE + HELD and HELD alone);
// the CHECK constraints make a negative available balance impossible even
// for a statement that forgets the guard.
type Wallet struct{ ent.Schema }

// Mixin of Wallet.
func (Wallet) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "wal"}, TimeMixin{}, TenantMixin{One: true}}
}

// Fields of Wallet.
func (Wallet) Fields() []ent.Field {
	return []ent.Field{
		field.String("currency").Default("VND").Immutable(),
		field.Int64("balance").GoType(money.Amount{}).Annotations(decimalGQL()...).DefaultFunc(zero),
		field.Int64("held").GoType(money.Amount{}).Annotations(decimalGQL()...).DefaultFunc(zero),
		field.Int64("version").Default(0).Comment("bumped on every change; orders events").
			Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Edges of Wallet.
func (Wallet) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("account", Account.Type).Ref("wallet").Field("account_id").Unique().Required().Immutable(),
	}
}

// Annotations of Wallet.
func (Wallet) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entsql.Checks(map[string]string{
			"wallet_held_not_negative":      "held >= 0",
			"wallet_available_not_negative": "balance - held >= 0",
		}),
	}
}

// LedgerAccount is one account of the double-entry ledger: a customer's
// AVAILABLE and HELD credit, or a system account (gateway clearing,
// revenue, refunds, discounts, operator adjustments).
type LedgerAccount struct{ ent.Schema }

// Mixin of LedgerAccount.
func (LedgerAccount) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "lac"}, TimeMixin{}, TenantMixin{Optional: true}}
}

// Fields of LedgerAccount.
func (LedgerAccount) Fields() []ent.Field {
	return []ent.Field{
		field.String("code").NotEmpty().Unique().Immutable().
			Comment("customer:<account>:available, system:revenue, …"),
		field.Enum("kind").Values(
			"CUSTOMER_AVAILABLE", "CUSTOMER_HELD",
			"GATEWAY_CLEARING", "REVENUE", "REFUNDS", "DISCOUNTS", "ADJUSTMENTS",
		).Immutable(),
		field.String("currency").Default("VND").Immutable(),
	}
}

// Annotations of LedgerAccount.
func (LedgerAccount) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// LedgerTransaction groups the entries of one money movement; its entries
// sum to zero. Transactions and entries are never updated or deleted.
type LedgerTransaction struct{ ent.Schema }

// Mixin of LedgerTransaction.
func (LedgerTransaction) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "ltx"}, TenantMixin{Optional: true, Covered: true}}
}

// Fields of LedgerTransaction.
func (LedgerTransaction) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("kind").Values(ledgerKinds...).Immutable(),
		field.String("description").Default("").Immutable(),
		field.String("reference").Optional().Immutable().Comment("id of the payment, hold, invoice… it belongs to"),
		field.String("actor").Optional().Immutable(),
		field.Time("created_at").Immutable(),
	}
}

// Edges of LedgerTransaction.
func (LedgerTransaction) Edges() []ent.Edge {
	return []ent.Edge{edge.To("entries", LedgerEntry.Type)}
}

// Indexes of LedgerTransaction.
func (LedgerTransaction) Indexes() []ent.Index {
	return []ent.Index{index.Fields("reference"), index.Fields("account_id", "created_at")}
}

// Annotations of LedgerTransaction.
func (LedgerTransaction) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

var ledgerKinds = []string{
	"DEPOSIT", "PURCHASE", "REFUND", "HOLD", "RELEASE", "CAPTURE", "ADJUSTMENT", "INVOICE_PAYMENT",
}

// LedgerEntry is one line of a ledger transaction on one ledger account.
// Entries on a customer's AVAILABLE account form the credit history; they
// carry the wallet balance, held and available amounts right after them.
type LedgerEntry struct{ ent.Schema }

// Mixin of LedgerEntry.
func (LedgerEntry) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "len"}, TenantMixin{Optional: true, Covered: true}}
}

// Fields of LedgerEntry.
func (LedgerEntry) Fields() []ent.Field {
	return []ent.Field{
		field.String("transaction_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Annotations(idGQL()...).Immutable(),
		field.String("ledger_account_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Annotations(idGQL()...).Immutable(),
		field.Enum("kind").Values(ledgerKinds...).Immutable(),
		field.Enum("ledger_kind").Values(
			"CUSTOMER_AVAILABLE", "CUSTOMER_HELD",
			"GATEWAY_CLEARING", "REVENUE", "REFUNDS", "DISCOUNTS", "ADJUSTMENTS",
		).Immutable().Annotations(noFilter()),
		field.Int64("amount").GoType(money.Amount{}).Annotations(decimalGQL()...).Immutable(),
		field.Int64("balance_after").GoType(money.Amount{}).Annotations(decimalGQL()...).Optional().Immutable(),
		field.Int64("held_after").GoType(money.Amount{}).Annotations(decimalGQL()...).Optional().Immutable(),
		field.String("description").Default("").Immutable().Annotations(noFilter()),
		field.String("reference").Optional().Immutable().Annotations(noFilter()),
		field.Time("created_at").Immutable().Annotations(entgql.OrderField("CREATED_AT")),
	}
}

// Edges of LedgerEntry.
func (LedgerEntry) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("transaction", LedgerTransaction.Type).Ref("entries").Field("transaction_id").
			Unique().Required().Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Indexes of LedgerEntry.
func (LedgerEntry) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("ledger_account_id", "created_at"),
		index.Fields("account_id", "ledger_kind", "created_at"),
		index.Fields("transaction_id"),
	}
}

// Annotations of LedgerEntry.
func (LedgerEntry) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.MultiOrder()}
}

// Hold reserves part of a wallet's balance for a pending payment; it ends
// CAPTURED (the money is spent) or RELEASED (available again).
type Hold struct{ ent.Schema }

// Mixin of Hold.
func (Hold) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "hld"}, TimeMixin{}, TenantMixin{}}
}

// Fields of Hold.
func (Hold) Fields() []ent.Field {
	return []ent.Field{
		field.Int64("amount").GoType(money.Amount{}).Annotations(decimalGQL()...).Immutable(),
		field.Enum("status").Values("ACTIVE", "CAPTURED", "RELEASED").Default("ACTIVE"),
		field.String("reason").Default(""),
		field.String("payment_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Annotations(idGQL()...).Optional(),
		field.Time("resolved_at").Optional().Nillable(),
	}
}

// Indexes of Hold.
func (Hold) Indexes() []ent.Index {
	return []ent.Index{index.Fields("payment_id"), index.Fields("status")}
}

// Annotations of Hold.
func (Hold) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
