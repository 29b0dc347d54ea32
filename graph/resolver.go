// Package graph holds the GraphQL resolvers. Resolvers are thin: they check
// who is asking, call one service method and map its result and faults to
// the schema. Billing rules, SQL and event publishing live in internal/.
package graph

import (
	"log/slog"
	"time"

	"github.com/jonboulle/clockwork"

	"billing/internal/checkout"
	"billing/internal/coupon"
	"billing/internal/events"
	"billing/internal/ledger"
	"billing/internal/lifecycle"
	"billing/internal/notify"
	"billing/internal/postpaid"
	"billing/internal/store"
)

// Resolver is the root resolver; it carries the services.
type Resolver struct {
	DB        *store.DB
	Ledger    *ledger.Service
	Coupons   *coupon.Service
	Checkout  *checkout.Service
	Notify    *notify.Service
	Lifecycle *lifecycle.Service
	Postpaid  *postpaid.Service
	// Location is the billing time zone.
	Location *time.Location
	Hub      *events.Hub
	Clock    clockwork.Clock
	Logger   *slog.Logger
}
