package schema

import (
	"billing/internal/money"
	"billing/internal/pulid"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Coupon is a discount code: a fixed VND amount or a percentage with an
// optional cap, with scope, validity and redemption limits.
type Coupon struct{ ent.Schema }

// Mixin of Coupon.
func (Coupon) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "cpn"}, TimeMixin{}}
}

// Fields of Coupon.
func (Coupon) Fields() []ent.Field {
	return []ent.Field{
		field.String("code").NotEmpty().Unique(),
		field.String("description").Default("").Annotations(noFilter()),
		field.Enum("kind").Values("FIXED", "PERCENT"),
		field.Int64("amount").GoType(money.Amount{}).Annotations(decimalGQL()...).DefaultFunc(zero).Comment("VND off, for FIXED"),
		field.Int64("percent").GoType(money.Amount{}).Annotations(decimalGQL()...).DefaultFunc(zero).Comment("percent off, for PERCENT"),
		field.Int64("cap").GoType(money.Amount{}).Annotations(decimalGQL()...).Optional().Nillable().Comment("largest discount, for PERCENT"),
		field.JSON("product_codes", []string{}).Optional().Comment("empty: every product"),
		field.Time("valid_from").Optional().Nillable().Annotations(noFilter()),
		field.Time("valid_until").Optional().Nillable().Annotations(noFilter()),
		field.Int64("min_order_amount").GoType(money.Amount{}).Annotations(decimalGQL()...).DefaultFunc(zero),
		field.Int("max_redemptions").Optional().Nillable().Annotations(noFilter()),
		field.Int("per_account_limit").Default(1).Annotations(noFilter()),
		field.Bool("first_order_only").Default(false).Annotations(noFilter()),
		field.Int("redeemed_count").Default(0).Annotations(noFilter()).
			Comment("reserved + consumed redemptions; guarded by max_redemptions"),
		field.Bool("active").Default(true),
	}
}

// Annotations of Coupon.
func (Coupon) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.QueryField(), entgql.MultiOrder()}
}

// CouponRedemption is one use of a coupon by an order: RESERVED when the
// order is placed, CONSUMED when it is paid, RELEASED when payment fails or
// expires.
type CouponRedemption struct{ ent.Schema }

// Mixin of CouponRedemption.
func (CouponRedemption) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "crd"}, TimeMixin{}, TenantMixin{}}
}

// Fields of CouponRedemption.
func (CouponRedemption) Fields() []ent.Field {
	return []ent.Field{
		field.String("coupon_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Annotations(idGQL()...).Immutable(),
		field.String("order_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Annotations(idGQL()...).Immutable(),
		field.Enum("status").Values("RESERVED", "CONSUMED", "RELEASED").Default("RESERVED"),
		field.Int64("amount").GoType(money.Amount{}).Annotations(decimalGQL()...),
	}
}

// Indexes of CouponRedemption.
func (CouponRedemption) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("coupon_id", "account_id", "status"),
		index.Fields("order_id").Unique(),
	}
}

// Annotations of CouponRedemption.
func (CouponRedemption) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipWhereInput)}
}
