package schema

import (
	"billing/internal/money"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Account is the tenant: a customer organisation that owns resources and a
// credit wallet. Accounts are PREPAID unless an operator makes them POSTPAID.
type Account struct{ ent.Schema }

// Mixin of Account.
func (Account) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "acc"}, TimeMixin{}, TenantMixin{Self: true}}
}

// Fields of Account.
func (Account) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().Annotations(noFilter()),
		field.String("email").Optional().Annotations(noFilter()),
		field.Enum("type").Values("PREPAID", "POSTPAID").Default("PREPAID"),
		field.Int64("credit_limit").GoType(money.Amount{}).Annotations(decimalGQL()...).DefaultFunc(zero).Comment("postpaid credit limit in VND"),
		field.Enum("status").Values("ACTIVE", "SUSPENDED", "CLOSED").Default("ACTIVE"),
	}
}

// Edges of Account.
func (Account) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("members", Member.Type).Annotations(entgql.Skip(entgql.SkipAll)),
		edge.To("wallet", Wallet.Type).Unique(),
		edge.To("resources", Resource.Type).Annotations(entgql.RelayConnection()),
		edge.To("orders", Order.Type).Annotations(entgql.RelayConnection()),
		edge.To("payments", Payment.Type).Annotations(entgql.RelayConnection()),
		edge.To("invoices", Invoice.Type).Annotations(entgql.RelayConnection()),
		edge.To("notifications", Notification.Type).Annotations(entgql.RelayConnection()),
	}
}

// Indexes of Account.
func (Account) Indexes() []ent.Index {
	return []ent.Index{index.Fields("type")}
}

// Annotations of Account.
func (Account) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.QueryField(), entgql.MultiOrder()}
}

// Member links a user (the token subject) to an account with a role.
type Member struct{ ent.Schema }

// Mixin of Member.
func (Member) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "mem"}, TimeMixin{}, TenantMixin{Covered: true}}
}

// Fields of Member.
func (Member) Fields() []ent.Field {
	return []ent.Field{
		field.String("subject").NotEmpty().Comment("user id as it appears in tokens"),
		field.String("email").Optional(),
		field.Enum("role").Values("OWNER", "VIEWER").Default("OWNER"),
	}
}

// Edges of Member.
func (Member) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("account", Account.Type).Ref("members").Field("account_id").Unique().Required().Immutable(),
	}
}

// Indexes of Member.
func (Member) Indexes() []ent.Index {
	return []ent.Index{index.Fields("account_id", "subject").Unique()}
}

// Annotations of Member.
func (Member) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
