package schema

import (
	"billing/internal/money"
	"billing/internal/pulid"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"billing/internal/pricing"
)

// Resource is an instance of a plan owned by an account: its components
// with the prices it was sold at, its billing mode (fixed at creation), its
// lifecycle state and its current service period [period_start, period_end).
type Resource struct{ ent.Schema }

// Mixin of Resource.
func (Resource) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "res"}, TimeMixin{}, TenantMixin{Covered: true}}
}

// Fields of Resource.
func (Resource) Fields() []ent.Field {
	return []ent.Field{
		field.String("product_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Annotations(idGQL()...).Immutable(),
		field.String("plan_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Annotations(idGQL()...),
		field.String("name").NotEmpty().Annotations(noFilter()),
		field.Enum("billing_mode").Values("PREPAID", "POSTPAID").Immutable(),
		field.Enum("state").Values(
			"PENDING", "ACTIVE", "STOPPED", "GRACE", "SUSPENDED", "RELEASED", "TRASHED", "DELETED", "FAILED",
		).Default("PENDING"),
		field.Enum("suspend_reason").Values("EXPIRED", "NON_PAYMENT", "OPERATOR").Optional().Nillable(),
		field.JSON("components", []pricing.Component{}).Annotations(entgql.Type("[ResourceComponent!]")),
		field.Int64("period_price").GoType(money.Amount{}).Annotations(decimalGQL()...).Comment("price per 30 days of the configuration, VAT as sold"),
		field.Int64("period_paid").GoType(money.Amount{}).Annotations(decimalGQL()...).DefaultFunc(zero).Comment("net amount paid for the current period, for refunds"),
		field.Int("period_months").Default(0).Annotations(noFilter()),
		field.Time("period_start").Optional().Nillable().Annotations(noFilter()),
		field.Time("period_end").Optional().Nillable().Annotations(entgql.OrderField("PERIOD_END")),
		field.Bool("auto_renew").Default(false),
		field.Int("auto_renew_months").Default(1).Positive().Annotations(noFilter()),
		field.Time("trashed_at").Optional().Nillable().Annotations(noFilter()),
		field.Time("purge_at").Optional().Nillable(),
		field.Time("released_at").Optional().Nillable().Annotations(noFilter()),
		field.String("external_ref").Optional().Annotations(noFilter()).
			Comment("the product service's own id, once provisioned"),
	}
}

// Edges of Resource.
func (Resource) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("account", Account.Type).Ref("resources").Field("account_id").Unique().Required().Immutable().
			Annotations(entgql.Skip(entgql.SkipWhereInput)),
		edge.To("invoices", Invoice.Type).Annotations(entgql.RelayConnection(), entgql.Skip(entgql.SkipWhereInput)),
		edge.To("usage_intervals", UsageInterval.Type).Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Indexes of Resource.
func (Resource) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("state", "period_end"),
		index.Fields("account_id", "state"),
		index.Fields("product_id"),
		index.Fields("plan_id"),
		index.Fields("billing_mode"),
		index.Fields("auto_renew"),
		index.Fields("purge_at"),
		index.Fields("suspend_reason"),
		index.Fields("period_end"),
		index.Fields("created_at"),
	}
}

// Annotations of Resource.
func (Resource) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.QueryField(), entgql.MultiOrder()}
}

// UsageInterval records one stretch of a postpaid resource's life at one
// configuration and unit price; the month-end invoice has a line per
// interval. An open interval has no end.
type UsageInterval struct{ ent.Schema }

// Mixin of UsageInterval.
func (UsageInterval) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "usg"}, TimeMixin{}, TenantMixin{}}
}

// Fields of UsageInterval.
func (UsageInterval) Fields() []ent.Field {
	return []ent.Field{
		field.String("resource_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Annotations(idGQL()...).Immutable(),
		field.Time("start").Immutable(),
		field.Time("end").Optional().Nillable(),
		field.JSON("components", []pricing.Component{}).Immutable(),
		field.Int64("discount_percent").GoType(money.Amount{}).Annotations(decimalGQL()...).DefaultFunc(zero),
	}
}

// Edges of UsageInterval.
func (UsageInterval) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("resource", Resource.Type).Ref("usage_intervals").Field("resource_id").Unique().Required().Immutable(),
	}
}

// Indexes of UsageInterval.
func (UsageInterval) Indexes() []ent.Index {
	return []ent.Index{index.Fields("resource_id", "start"), index.Fields("end")}
}

// Annotations of UsageInterval.
func (UsageInterval) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// LifecycleStep records that a scheduled step (a reminder, an auto-renew
// attempt, a state change) happened for one resource and period end. Its
// unique key is what makes every job step happen once, even when a job runs
// twice or on two instances.
type LifecycleStep struct{ ent.Schema }

// Mixin of LifecycleStep.
func (LifecycleStep) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "lcs"}}
}

// Fields of LifecycleStep.
func (LifecycleStep) Fields() []ent.Field {
	return []ent.Field{
		field.String("resource_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Annotations(idGQL()...).Immutable(),
		field.Time("period_end").Immutable(),
		field.String("step").NotEmpty().Immutable(),
		field.String("outcome").Default(""),
		field.Time("created_at").Immutable(),
	}
}

// Indexes of LifecycleStep.
func (LifecycleStep) Indexes() []ent.Index {
	return []ent.Index{index.Fields("resource_id", "period_end", "step").Unique()}
}

// Annotations of LifecycleStep.
func (LifecycleStep) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
