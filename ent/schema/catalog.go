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
)

// Product is a cloud service (vServer, vStorage, vMonitor) with its
// lifecycle policy: which periods may be bought, whether deletion refunds,
// and how long grace, suspension and the trash last.
type Product struct{ ent.Schema }

// Mixin of Product.
func (Product) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "prd"}, TimeMixin{}}
}

// Fields of Product.
func (Product) Fields() []ent.Field {
	return []ent.Field{
		field.String("code").NotEmpty().Unique(),
		field.String("name").NotEmpty().Annotations(noFilter()),
		field.String("description").Default("").Annotations(noFilter()),
		field.JSON("allowed_periods", []int{}).Annotations(entgql.Type("[Int!]")).
			Comment("months a prepaid period may last, e.g. [1,3,6,12,24,36]"),
		field.Bool("refundable").Default(true).Annotations(noFilter()),
		field.Int("grace_days").Default(15).NonNegative().Annotations(noFilter()),
		field.Int("suspension_days").Default(15).NonNegative().Annotations(noFilter()).
			Comment("days between suspension and release; release happens at end + grace + suspension"),
		field.Int("trash_days").Default(7).NonNegative().Annotations(noFilter()),
		field.Bool("auto_renew_optional").Default(true).Annotations(noFilter()).
			Comment("whether customers may turn auto-renew off"),
		field.Bool("active").Default(true),
	}
}

// Edges of Product.
func (Product) Edges() []ent.Edge {
	return []ent.Edge{edge.To("plans", Plan.Type)}
}

// Annotations of Product.
func (Product) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.QueryField(), entgql.MultiOrder()}
}

// Plan is a configuration of a product that customers buy, such as server
// flavor s-general-2x4, made of priced components.
type Plan struct{ ent.Schema }

// Mixin of Plan.
func (Plan) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "pln"}, TimeMixin{}}
}

// Fields of Plan.
func (Plan) Fields() []ent.Field {
	return []ent.Field{
		field.String("product_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Annotations(idGQL()...).Immutable(),
		field.String("code").NotEmpty().Unique(),
		field.String("name").NotEmpty().Annotations(noFilter()),
		field.String("description").Default("").Annotations(noFilter()),
		field.Bool("active").Default(true),
		field.Int("sort_order").Default(0).Annotations(noFilter()),
	}
}

// Edges of Plan.
func (Plan) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("product", Product.Type).Ref("plans").Field("product_id").Unique().Required().Immutable(),
		edge.To("components", PlanComponent.Type),
	}
}

// Indexes of Plan.
func (Plan) Indexes() []ent.Index {
	return []ent.Index{index.Fields("product_id")}
}

// Annotations of Plan.
func (Plan) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.QueryField(), entgql.MultiOrder()}
}

// PlanComponent is one priced part of a plan: the flavor, root disk GB,
// storage quota GB… with the quantities a customer may choose.
type PlanComponent struct{ ent.Schema }

// Mixin of PlanComponent.
func (PlanComponent) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "cmp"}, TimeMixin{}}
}

// Fields of PlanComponent.
func (PlanComponent) Fields() []ent.Field {
	return []ent.Field{
		field.String("plan_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Annotations(idGQL()...).Immutable(),
		field.String("code").NotEmpty(),
		field.String("name").NotEmpty(),
		field.String("unit").NotEmpty().Comment("what a quantity counts: server, GB, check…"),
		field.Int64("min_quantity").Default(1).NonNegative(),
		field.Int64("max_quantity").Default(1).Positive(),
		field.Int64("default_quantity").Default(1).NonNegative(),
		field.Int64("step").Default(1).Positive(),
	}
}

// Edges of PlanComponent.
func (PlanComponent) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("plan", Plan.Type).Ref("components").Field("plan_id").Unique().Required().Immutable(),
		edge.To("prices", Price.Type),
	}
}

// Indexes of PlanComponent.
func (PlanComponent) Indexes() []ent.Index {
	return []ent.Index{index.Fields("plan_id", "code").Unique()}
}

// Annotations of PlanComponent.
func (PlanComponent) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipWhereInput)}
}

// Price is what one unit of a component costs for one billing mode:
// per 30 days for recurring components, per unit for metered usage, with
// its VAT rate and whether the amount already includes VAT (prepaid list
// prices do, postpaid rates do not).
type Price struct{ ent.Schema }

// Mixin of Price.
func (Price) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "prc"}, TimeMixin{}}
}

// Fields of Price.
func (Price) Fields() []ent.Field {
	return []ent.Field{
		field.String("component_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Annotations(idGQL()...).Immutable(),
		field.Enum("billing_mode").Values("PREPAID", "POSTPAID"),
		field.Enum("per").Values("PERIOD_30_DAYS", "UNIT").Default("PERIOD_30_DAYS"),
		field.Int64("unit_price").GoType(money.Amount{}).Annotations(decimalGQL()...),
		field.Int64("vat_rate").GoType(money.Amount{}).Annotations(decimalGQL()...).Comment("percent: 10 means 10%"),
		field.Bool("vat_included"),
		field.Bool("active").Default(true),
	}
}

// Edges of Price.
func (Price) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("component", PlanComponent.Type).Ref("prices").Field("component_id").Unique().Required().Immutable(),
	}
}

// Indexes of Price.
func (Price) Indexes() []ent.Index {
	return []ent.Index{index.Fields("component_id", "billing_mode")}
}

// Annotations of Price.
func (Price) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipWhereInput)}
}
