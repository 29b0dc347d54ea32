package coupon

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"

	"billing/ent"
	"billing/internal/auth"
	"billing/internal/fault"
	"billing/internal/pricing"
	"billing/internal/store"
)

// Service manages coupons and their redemptions.
type Service struct {
	db    *store.DB
	clock clockwork.Clock
}

// New returns a coupon service.
func New(db *store.DB, clock clockwork.Clock) *Service {
	if db == nil || clock == nil {
		panic("coupon.New: db and clock are required")
	}
	return &Service{db: db, clock: clock}
}

// now is the one reading of the clock per transaction, in microseconds:
// what PostgreSQL stores, so a returned entity equals a later read.
func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Microsecond) }

// codePattern is what a coupon code looks like once normalized.
var codePattern = regexp.MustCompile(`^[A-Z0-9_-]{3,32}$`)

// NormalizeCode is how codes are stored and looked up: trimmed and
// upper-case, so customers may type them in any case.
func NormalizeCode(code string) string { return strings.ToUpper(strings.TrimSpace(code)) }

// Terms returns what pricing needs of c.
func Terms(c *ent.Coupon) pricing.CouponTerms {
	t := pricing.CouponTerms{
		Code:           c.Code,
		Kind:           string(c.Kind),
		Amount:         c.Amount,
		Percent:        c.Percent,
		ProductCodes:   append([]string(nil), c.ProductCodes...),
		MinOrderAmount: c.MinOrderAmount,
	}
	if c.Cap != nil {
		v := *c.Cap
		t.Cap = &v
	}
	return t
}

// requireOperator lets admins (and the process itself, for seeding) manage
// coupons.
func requireOperator(ctx context.Context) error {
	v, ok := auth.FromContext(ctx)
	if !ok {
		return fault.New(fault.Unauthenticated, "authentication required")
	}
	if !v.IsAdmin() && !v.IsSystem() {
		return fault.New(fault.Forbidden, "only operators may manage coupons")
	}
	return nil
}

// day renders an instant for a customer-facing message.
func day(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }
