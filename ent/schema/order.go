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

// Order is a checkout: one or more items with at most one coupon, the quote
// they were sold at, and one payment.
type Order struct{ ent.Schema }

// Mixin of Order.
func (Order) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "ord"}, TimeMixin{}, TenantMixin{Covered: true}}
}

// Fields of Order.
func (Order) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("status").Values(
			"PENDING", "PAID", "COMPLETED", "PARTIALLY_FAILED", "FAILED", "CANCELED", "EXPIRED",
		).Default("PENDING"),
		field.String("coupon_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Annotations(idGQL()...).Optional(),
		field.String("coupon_code").Optional().Annotations(noFilter()),
		field.Int64("subtotal").GoType(money.Amount{}).Annotations(decimalGQL()...),
		field.Int64("discount").GoType(money.Amount{}).Annotations(decimalGQL()...).DefaultFunc(zero),
		field.Int64("total").GoType(money.Amount{}).Annotations(decimalGQL()...),
		field.String("currency").Default("VND").Immutable().Annotations(noFilter()),
		field.String("idempotency_key").Optional().Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Edges of Order.
func (Order) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("account", Account.Type).Ref("orders").Field("account_id").Unique().Required().Immutable().
			Annotations(entgql.Skip(entgql.SkipWhereInput)),
		edge.To("items", OrderItem.Type).Annotations(entgql.Skip(entgql.SkipWhereInput)),
		edge.To("payments", Payment.Type).Annotations(entgql.Skip(entgql.SkipWhereInput)),
	}
}

// Indexes of Order.
func (Order) Indexes() []ent.Index {
	return []ent.Index{index.Fields("status"), index.Fields("account_id", "created_at"), index.Fields("created_at")}
}

// Annotations of Order.
func (Order) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.QueryField(), entgql.MultiOrder()}
}

// OrderItem is one line of an order: create N resources of a plan, or
// renew, resize or recover one resource.
type OrderItem struct{ ent.Schema }

// Mixin of OrderItem.
func (OrderItem) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "oit"}, TimeMixin{}, TenantMixin{}}
}

// Fields of OrderItem.
func (OrderItem) Fields() []ent.Field {
	return []ent.Field{
		field.String("order_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Annotations(idGQL()...).Immutable(),
		field.Enum("action").Values("CREATE", "RENEW", "RESIZE", "RECOVER").Immutable(),
		field.String("plan_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Annotations(idGQL()...).Optional(),
		field.String("resource_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Annotations(idGQL()...).Optional(),
		field.Int("quantity").Default(1).Positive(),
		field.Int("period_months").Default(0),
		field.JSON("components", []pricing.Component{}).Annotations(entgql.Type("[ResourceComponent!]")),
		field.Int64("amount").GoType(money.Amount{}).Annotations(decimalGQL()...),
		field.Int64("discount").GoType(money.Amount{}).Annotations(decimalGQL()...).DefaultFunc(zero),
		field.Int64("total").GoType(money.Amount{}).Annotations(decimalGQL()...),
		field.Enum("status").Values("PENDING", "PROVISIONING", "SUCCEEDED", "FAILED", "REFUNDED").Default("PENDING"),
		field.String("failure_reason").Optional(),
	}
}

// Edges of OrderItem.
func (OrderItem) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("order", Order.Type).Ref("items").Field("order_id").Unique().Required().Immutable(),
	}
}

// Indexes of OrderItem.
func (OrderItem) Indexes() []ent.Index {
	return []ent.Index{index.Fields("order_id"), index.Fields("resource_id")}
}

// Annotations of OrderItem.
func (OrderItem) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipWhereInput)}
}

// Payment is the one payment of an order, an invoice payment or a credit
// top-up. It splits into a credit part and a gateway part; its status is
// what the live payment subscription streams.
type Payment struct{ ent.Schema }

// Mixin of Payment.
func (Payment) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "pay"}, TimeMixin{}, TenantMixin{Covered: true}}
}

// Fields of Payment.
func (Payment) Fields() []ent.Field {
	return []ent.Field{
		field.String("order_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Annotations(idGQL()...).Optional().Immutable(),
		field.Enum("purpose").Values("ORDER", "TOP_UP", "INVOICE").Immutable(),
		field.Enum("method").Values("CREDIT", "TOP_UP_AND_PAY", "GATEWAY", "LINKED_ACCOUNT").Immutable(),
		field.Enum("status").Values(
			"PENDING", "REQUIRES_ACTION", "PROCESSING", "SUCCEEDED", "FAILED", "CANCELED", "EXPIRED",
			"REFUNDED", "PARTIALLY_REFUNDED",
		).Default("PENDING"),
		field.Int64("amount").GoType(money.Amount{}).Annotations(decimalGQL()...),
		field.Int64("credit_amount").GoType(money.Amount{}).Annotations(decimalGQL()...).DefaultFunc(zero),
		field.Int64("gateway_amount").GoType(money.Amount{}).Annotations(decimalGQL()...).DefaultFunc(zero),
		field.Int64("refunded_amount").GoType(money.Amount{}).Annotations(decimalGQL()...).DefaultFunc(zero),
		field.String("currency").Default("VND").Immutable().Annotations(noFilter()),
		field.String("hold_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Annotations(idGQL()...).Optional(),
		field.String("redirect_url").Optional().Annotations(noFilter()),
		field.String("return_url").Optional().Annotations(noFilter()),
		field.Time("expires_at").Optional().Nillable(),
		field.String("failure_reason").Optional().Annotations(noFilter()),
		field.JSON("invoice_ids", []string{}).Optional().Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("idempotency_key").Optional().Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Edges of Payment.
func (Payment) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("account", Account.Type).Ref("payments").Field("account_id").Unique().Required().Immutable().
			Annotations(entgql.Skip(entgql.SkipWhereInput)),
		edge.From("order", Order.Type).Ref("payments").Field("order_id").Unique().Immutable().
			Annotations(entgql.Skip(entgql.SkipWhereInput)),
		edge.To("attempts", GatewayAttempt.Type).Annotations(entgql.Skip(entgql.SkipWhereInput)),
	}
}

// Indexes of Payment.
func (Payment) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("status", "expires_at"),
		index.Fields("account_id", "created_at"),
		index.Fields("method"),
		index.Fields("purpose"),
		index.Fields("created_at"),
	}
}

// Annotations of Payment.
func (Payment) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.QueryField(), entgql.MultiOrder()}
}

// GatewayAttempt is one charge sent to the payment gateway for a payment,
// keyed by our transaction reference; the gateway's own transaction number
// is unique so that a repeated callback is applied once.
type GatewayAttempt struct{ ent.Schema }

// Mixin of GatewayAttempt.
func (GatewayAttempt) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "gwa"}, TimeMixin{}, TenantMixin{}}
}

// Fields of GatewayAttempt.
func (GatewayAttempt) Fields() []ent.Field {
	return []ent.Field{
		field.String("payment_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Annotations(idGQL()...).Immutable(),
		field.String("gateway").NotEmpty().Immutable(),
		field.String("txn_ref").NotEmpty().Unique().Immutable(),
		field.Int64("amount").GoType(money.Amount{}).Annotations(decimalGQL()...).Immutable(),
		field.Enum("status").Values("CREATED", "PENDING", "SUCCEEDED", "FAILED", "UNKNOWN", "EXPIRED").Default("CREATED"),
		field.String("gateway_transaction_no").Optional().Nillable().Unique(),
		field.String("response_code").Optional(),
		field.String("bank_code").Optional(),
		field.Time("paid_at").Optional().Nillable(),
		field.String("linked_account_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Annotations(idGQL()...).Optional(),
	}
}

// Edges of GatewayAttempt.
func (GatewayAttempt) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("payment", Payment.Type).Ref("attempts").Field("payment_id").Unique().Required().Immutable(),
	}
}

// Indexes of GatewayAttempt.
func (GatewayAttempt) Indexes() []ent.Index {
	return []ent.Index{index.Fields("payment_id"), index.Fields("status")}
}

// Annotations of GatewayAttempt.
func (GatewayAttempt) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipWhereInput)}
}

// LinkedAccount is a payment account linked through the gateway: a token
// and a masked label, never card data.
type LinkedAccount struct{ ent.Schema }

// Mixin of LinkedAccount.
func (LinkedAccount) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "lnk"}, TimeMixin{}, TenantMixin{}}
}

// Fields of LinkedAccount.
func (LinkedAccount) Fields() []ent.Field {
	return []ent.Field{
		field.String("gateway").NotEmpty().Immutable(),
		field.String("token").NotEmpty().Sensitive().Immutable(),
		field.String("label").Default(""),
		field.Bool("active").Default(true),
	}
}

// Annotations of LinkedAccount.
func (LinkedAccount) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipWhereInput)}
}
