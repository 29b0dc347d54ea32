package schema

import (
	"billing/internal/pulid"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Notification is what a customer is told, in the app and by e-mail. The
// dedupe key (resource, period, step…) is unique so each notice goes out once.
type Notification struct{ ent.Schema }

// Mixin of Notification.
func (Notification) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "ntf"}, TimeMixin{}, TenantMixin{Covered: true}}
}

// Fields of Notification.
func (Notification) Fields() []ent.Field {
	return []ent.Field{
		field.String("kind").NotEmpty(),
		field.String("resource_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Annotations(idGQL()...).Optional(),
		field.String("title").Annotations(noFilter()),
		field.Text("body").Annotations(noFilter()),
		field.String("dedupe_key").NotEmpty().Unique().Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.Time("read_at").Optional().Nillable().Annotations(noFilter()),
		field.Time("emailed_at").Optional().Nillable().Annotations(noFilter()),
	}
}

// Edges of Notification.
func (Notification) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("account", Account.Type).Ref("notifications").Field("account_id").Unique().Required().Immutable().
			Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Indexes of Notification.
func (Notification) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("account_id", "read_at"),
		index.Fields("kind"),
		// E-mail delivery scans only what is still to send.
		index.Fields("created_at").Annotations(entsql.IndexWhere("emailed_at IS NULL")).StorageKey("notification_unsent"),
	}
}

// Annotations of Notification.
func (Notification) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.QueryField(), entgql.MultiOrder()}
}

// OutboxEvent is a change written in the same transaction as the change
// itself; live subscriptions are fed from it only after commit. Its integer
// id orders events and lets a listener re-scan from the last id it saw.
type OutboxEvent struct{ ent.Schema }

// Fields of OutboxEvent.
func (OutboxEvent) Fields() []ent.Field {
	return []ent.Field{
		field.Int64("id"),
		field.String("topic").NotEmpty().Immutable(),
		field.String("account_id").Optional().Immutable(),
		field.String("subject_id").Optional().Immutable().Comment("the wallet, payment… it is about"),
		field.Bytes("payload").Immutable(),
		field.Time("created_at").Immutable(),
	}
}

// Indexes of OutboxEvent.
func (OutboxEvent) Indexes() []ent.Index {
	return []ent.Index{index.Fields("created_at")}
}

// Annotations of OutboxEvent.
func (OutboxEvent) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// IdempotencyRecord remembers the first result of a money-moving request
// under (scope, key), so a replay returns it and a different request under
// the same key is rejected.
type IdempotencyRecord struct{ ent.Schema }

// Mixin of IdempotencyRecord.
func (IdempotencyRecord) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "idm"}}
}

// Fields of IdempotencyRecord.
func (IdempotencyRecord) Fields() []ent.Field {
	return []ent.Field{
		field.String("scope").NotEmpty().Immutable().Comment("the account, or admin:<subject>"),
		field.String("key").NotEmpty().MaxLen(200).Immutable(),
		field.String("operation").NotEmpty().Immutable(),
		field.String("request_hash").NotEmpty().Immutable(),
		field.Bytes("response").Optional(),
		field.Time("created_at").Immutable(),
	}
}

// Indexes of IdempotencyRecord.
func (IdempotencyRecord) Indexes() []ent.Index {
	return []ent.Index{index.Fields("scope", "key").Unique()}
}

// Annotations of IdempotencyRecord.
func (IdempotencyRecord) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// AuditLog records who did what, when and why: every operator action and
// every change of money or account terms.
type AuditLog struct{ ent.Schema }

// Mixin of AuditLog.
func (AuditLog) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "aud"}, TenantMixin{Optional: true}}
}

// Fields of AuditLog.
func (AuditLog) Fields() []ent.Field {
	return []ent.Field{
		field.String("actor").NotEmpty().Immutable(),
		field.String("actor_role").NotEmpty().Immutable().Annotations(noFilter()),
		field.String("action").NotEmpty().Immutable(),
		field.String("target_type").Default("").Immutable().Annotations(noFilter()),
		field.String("target_id").Default("").Immutable(),
		field.String("reason").Default("").Immutable().Annotations(noFilter()),
		field.JSON("details", map[string]any{}).Optional().Immutable().Annotations(entgql.Type("Map")),
		field.String("request_id").Default("").Immutable().Annotations(noFilter()),
		field.Time("created_at").Immutable().Annotations(entgql.OrderField("CREATED_AT")),
	}
}

// Indexes of AuditLog.
func (AuditLog) Indexes() []ent.Index {
	return []ent.Index{index.Fields("created_at"), index.Fields("target_id"), index.Fields("action"), index.Fields("actor")}
}

// Annotations of AuditLog.
func (AuditLog) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.QueryField(), entgql.MultiOrder()}
}
