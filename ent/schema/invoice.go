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

// Invoice is issued per resource per chargeable action. Prepaid invoices are
// created PAID once provisioning succeeded; postpaid MONTHLY invoices start
// UNPAID. An invoice snapshots everything it shows, so later catalog or
// resource changes never rewrite it.
type Invoice struct{ ent.Schema }

// Mixin of Invoice.
func (Invoice) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "inv"}, TimeMixin{}, TenantMixin{Covered: true}}
}

// Fields of Invoice.
func (Invoice) Fields() []ent.Field {
	return []ent.Field{
		field.String("code").NotEmpty().Unique().Immutable().Comment("gapless: INV-202611-000042"),
		field.String("resource_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Annotations(idGQL()...).Optional().Immutable(),
		field.String("product_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Annotations(entgql.Type("ID")).Optional().Immutable(),
		field.String("order_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Annotations(idGQL()...).Optional().Immutable(),
		field.Enum("action").Values("CREATE", "RESIZE", "RENEW", "RECOVER", "AUTO_RENEW", "MONTHLY").Immutable(),
		field.Enum("status").Values("PAID", "PARTIALLY_PAID", "UNPAID", "VOID"),
		field.Time("period_start").Immutable().Annotations(noFilter()),
		field.Time("period_end").Immutable().Annotations(noFilter()),
		field.Int64("subtotal").GoType(money.Amount{}).Annotations(decimalGQL()...).Immutable(),
		field.Int64("vat").GoType(money.Amount{}).Annotations(decimalGQL()...).Immutable(),
		field.Int64("discount").GoType(money.Amount{}).Annotations(decimalGQL()...).DefaultFunc(zero).Immutable(),
		field.Int64("total").GoType(money.Amount{}).Annotations(decimalGQL()...).Immutable(),
		field.Int64("amount_paid").GoType(money.Amount{}).Annotations(decimalGQL()...).DefaultFunc(zero),
		field.String("currency").Default("VND").Immutable().Annotations(noFilter()),
		field.Time("issued_at").Immutable().Annotations(entgql.OrderField("ISSUED_AT")),
		field.Time("due_at").Optional().Nillable(),
		field.Time("paid_at").Optional().Nillable().Annotations(noFilter()),
		field.String("superseded_by_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Annotations(idGQL()...).Optional(),
	}
}

// Edges of Invoice.
func (Invoice) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("account", Account.Type).Ref("invoices").Field("account_id").Unique().Required().Immutable().
			Annotations(entgql.Skip(entgql.SkipWhereInput)),
		edge.From("resource", Resource.Type).Ref("invoices").Field("resource_id").Unique().Immutable().
			Annotations(entgql.Skip(entgql.SkipWhereInput)),
		edge.To("lines", InvoiceLine.Type).Annotations(entgql.Skip(entgql.SkipWhereInput)),
	}
}

// Indexes of Invoice.
func (Invoice) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("account_id", "status", "issued_at"),
		index.Fields("status", "due_at"),
		index.Fields("action"),
		index.Fields("product_id"),
		index.Fields("issued_at"),
		index.Fields("resource_id", "action", "period_start").Unique().
			Annotations(),
	}
}

// Annotations of Invoice.
func (Invoice) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.QueryField(), entgql.MultiOrder()}
}

// InvoiceLine is one line of an invoice, rounded to whole VND once.
type InvoiceLine struct{ ent.Schema }

// Mixin of InvoiceLine.
func (InvoiceLine) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "inl"}, TenantMixin{}}
}

// Fields of InvoiceLine.
func (InvoiceLine) Fields() []ent.Field {
	return []ent.Field{
		field.String("invoice_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Annotations(idGQL()...).Immutable(),
		field.Int("position").Immutable(),
		field.String("description").Immutable(),
		field.Int64("unit_price").GoType(money.Amount{}).Annotations(decimalGQL()...).Immutable(),
		field.Int64("quantity").Immutable(),
		field.Int64("duration_minutes").Immutable(),
		field.Time("period_start").Optional().Nillable().Immutable(),
		field.Time("period_end").Optional().Nillable().Immutable(),
		field.Int64("discount_percent").GoType(money.Amount{}).Annotations(decimalGQL()...).DefaultFunc(zero).Immutable(),
		field.Int64("coupon_share").GoType(money.Amount{}).Annotations(decimalGQL()...).DefaultFunc(zero).Immutable(),
		field.Int64("amount").GoType(money.Amount{}).Annotations(decimalGQL()...).Immutable(),
	}
}

// Edges of InvoiceLine.
func (InvoiceLine) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("invoice", Invoice.Type).Ref("lines").Field("invoice_id").Unique().Required().Immutable(),
	}
}

// Indexes of InvoiceLine.
func (InvoiceLine) Indexes() []ent.Index {
	return []ent.Index{index.Fields("invoice_id", "position").Unique()}
}

// Annotations of InvoiceLine.
func (InvoiceLine) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipWhereInput)}
}

// InvoiceSequence hands out gapless invoice numbers per prefix (one per
// month, "INV-202611"). The next number is taken by a row-locking UPDATE in
// the transaction that creates the invoice, so a rolled-back invoice gives
// its number back.
type InvoiceSequence struct{ ent.Schema }

// Fields of InvoiceSequence.
func (InvoiceSequence) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").NotEmpty().Immutable().Comment("the prefix, e.g. INV-202611"),
		field.Int64("last_value").Default(0),
	}
}

// Annotations of InvoiceSequence.
func (InvoiceSequence) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
