// Package schema is the data model of the service: one ent schema per table.
// See the README's "Data model" section for how the tables fit together.
package schema

import (
	"context"
	"errors"
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"entgo.io/ent/schema/mixin"

	"billing/ent/intercept"
	"billing/internal/auth"
	"billing/internal/money"
	"billing/internal/pulid"
)

// IDMixin gives a table prefixed ULID ids ("acc_01J…").
type IDMixin struct {
	mixin.Schema
	Prefix string
}

// Fields of the IDMixin.
func (m IDMixin) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").
			GoType(pulid.ID("")).
			DefaultFunc(func() pulid.ID { return pulid.New(m.Prefix) }).
			Immutable().
			SchemaType(map[string]string{dialect.Postgres: "varchar(40)"}),
	}
}

// TimeMixin records when a row was created and last changed. Services set
// both from their injected clock; the defaults only cover forgotten paths.
type TimeMixin struct{ mixin.Schema }

// Fields of the TimeMixin.
func (TimeMixin) Fields() []ent.Field {
	return []ent.Field{
		field.Time("created_at").Default(time.Now).Immutable().
			Annotations(entgql.OrderField("CREATED_AT")),
		field.Time("updated_at").Default(time.Now).UpdateDefault(time.Now),
	}
}

// ErrNoViewer is returned by a tenant-scoped query run without a viewer in
// its context: every code path must say who it acts for.
var ErrNoViewer = errors.New("tenancy: query without a viewer")

// TenantMixin adds the owning account to a table and filters every query on
// it by the viewer's account when the viewer is a customer or a read-only
// member. This is the single place tenancy is enforced for reads, so a
// resolver that forgets a Where clause still cannot see another account's rows.
type TenantMixin struct {
	mixin.Schema
	// Optional is set for tables that also hold rows of no account
	// (system ledger accounts, system audit entries).
	Optional bool
	// Self is set on the accounts table itself, filtered by id.
	Self bool
	// One is set for tables with at most one row per account (wallets),
	// whose unique one-to-one edge already indexes account_id.
	One bool
	// Covered is set for tables with an index of their own that starts
	// with account_id: it serves every lookup by account (the tenancy
	// filter included), so a separate account_id index would only cost
	// every insert.
	Covered bool
}

// Fields of the TenantMixin.
func (m TenantMixin) Fields() []ent.Field {
	if m.Self {
		return nil
	}
	f := field.String("account_id").GoType(pulid.ID("")).Immutable().
		SchemaType(map[string]string{dialect.Postgres: "varchar(40)"}).
		Annotations(idGQL()...)
	if m.Optional {
		f = f.Optional()
	}
	return []ent.Field{f}
}

// Indexes of the TenantMixin.
func (m TenantMixin) Indexes() []ent.Index {
	if m.Self {
		return nil
	}
	if m.One {
		return nil // the one-to-one edge already makes account_id unique
	}
	if m.Covered {
		return nil // an index of the table's own starts with account_id
	}
	return []ent.Index{index.Fields("account_id")}
}

// Interceptors of the TenantMixin.
func (m TenantMixin) Interceptors() []ent.Interceptor {
	column := "account_id"
	if m.Self {
		column = "id"
	}
	return []ent.Interceptor{
		intercept.TraverseFunc(func(ctx context.Context, q intercept.Query) error {
			v, ok := auth.FromContext(ctx)
			if !ok {
				return ErrNoViewer
			}
			if v.IsCustomerScoped() {
				q.WhereP(sql.FieldEQ(column, v.AccountID))
			}
			return nil
		}),
	}
}

// decimalGQL exposes a money column as the Decimal scalar, kept out of
// the WhereInput (amounts are not indexed).
func decimalGQL() []schema.Annotation {
	return []schema.Annotation{entgql.Type("Decimal"), entgql.Skip(entgql.SkipWhereInput)}
}

// idGQL exposes a foreign key column as a GraphQL ID, kept out of the
// WhereInput (edges are filtered through their own connections).
func idGQL() []schema.Annotation {
	return []schema.Annotation{entgql.Type("ID"), entgql.Skip(entgql.SkipWhereInput)}
}

// zero is the default of money columns.
func zero() money.Amount { return money.Zero }

// idSchemaType sizes id columns on PostgreSQL (SQLite ignores lengths).
var idSchemaType = map[string]string{dialect.Postgres: "varchar(40)"}

// noFilter keeps a field out of the generated GraphQL WhereInput: only
// indexed fields are filterable.
func noFilter() entgql.Annotation { return entgql.Skip(entgql.SkipWhereInput) }
