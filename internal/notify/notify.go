package notify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jonboulle/clockwork"

	"billing/ent"
	entaccount "billing/ent/account"
	"billing/ent/notification"
	"billing/internal/events"
	"billing/internal/fault"
	"billing/internal/pulid"
	"billing/internal/store"
)

// Length limits of a notice, checked by Notice.Validate.
const (
	// MaxKindLength bounds Kind, in bytes (kinds are ASCII).
	MaxKindLength = 64
	// MaxTitleLength bounds Title, in characters; it is also the e-mail subject.
	MaxTitleLength = 200
	// MaxBodyLength bounds Body, in characters.
	MaxBodyLength = 10_000
	// MaxDedupeKeyLength bounds DedupeKey, in bytes: it is a unique index
	// entry, and PostgreSQL refuses btree entries over about 2.7 kB.
	MaxDedupeKeyLength = 255
)

// Kinds of notice the lifecycle sends. Kind is free text checked by
// kindPattern; these constants only keep the common ones spelled alike.
const (
	KindRenewalReminder    = "renewal.reminder"
	KindExpired            = "resource.expired"
	KindGraceReminder      = "grace.reminder"
	KindSuspended          = "resource.suspended"
	KindSuspensionReminder = "suspension.reminder"
	KindReleased           = "resource.released"
	KindAutoRenewSucceeded = "autorenew.succeeded"
	KindAutoRenewFailed    = "autorenew.failed"
)

// kindPattern is dot-separated lowercase words: "renewal.reminder".
var kindPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$`)

// Config wires a Service.
type Config struct {
	// DB is the database (required).
	DB *store.DB
	// Outbox carries the "notification created" events to live
	// subscriptions (required).
	Outbox *events.Outbox
	// Clock stamps notices, reads and deliveries (required).
	Clock clockwork.Clock
	// Logger receives delivery problems and, without a Mailer, the e-mails
	// themselves; nil means slog.Default().
	Logger *slog.Logger
	// Mailer sends e-mails; nil means e-mails are only logged.
	Mailer Mailer
	// From is the From header of e-mails, e.g. "Billing <billing@example.vn>";
	// required with a Mailer.
	From string
}

// Service creates notifications, marks them read and delivers them by e-mail.
type Service struct {
	db     *store.DB
	outbox *events.Outbox
	clock  clockwork.Clock
	logger *slog.Logger
	mailer Mailer
	from   string
}

// New returns a notification service. It panics on a missing dependency or
// an invalid From with a Mailer: both are wiring mistakes, caught at start.
func New(cfg Config) *Service {
	if cfg.DB == nil || cfg.Outbox == nil || cfg.Clock == nil {
		panic("notify.New: DB, Outbox and Clock are required")
	}
	if cfg.Mailer != nil {
		if _, err := mail.ParseAddress(cfg.From); err != nil {
			panic(fmt.Sprintf("notify.New: From %q is not a valid address: %v", cfg.From, err))
		}
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	return &Service{db: cfg.DB, outbox: cfg.Outbox, clock: cfg.Clock, logger: logger, mailer: cfg.Mailer, from: cfg.From}
}

// Notice is one thing to tell an account.
type Notice struct {
	// AccountID is the account told (required).
	AccountID pulid.ID
	// ResourceID is the resource the notice is about, if any.
	ResourceID pulid.ID
	// Kind classifies the notice: dot-separated lowercase words such as
	// "renewal.reminder" (required; see the Kind constants).
	Kind string
	// Title is the one-line summary, also the e-mail subject (required).
	Title string
	// Body is the text, also the e-mail body.
	Body string
	// DedupeKey makes the notice happen once: a second notice with the same
	// key is dropped (required; build it with DedupeKey or PeriodKey).
	DedupeKey string
	// At is when the notice happened; zero means the service clock's now.
	// Callers pass their transaction's now so a change and its notice agree.
	At time.Time
}

// Validate checks the notice; faults name the Notice field.
func (n Notice) Validate() error {
	switch {
	case !n.AccountID.Valid() || n.AccountID.Prefix() != "acc":
		return fault.New(fault.Invalid, "the account id is not valid", "accountId")
	case n.ResourceID != "" && !n.ResourceID.Valid():
		return fault.New(fault.Invalid, "the resource id is not valid", "resourceId")
	case n.Kind == "":
		return fault.New(fault.Invalid, "a kind is required", "kind")
	case len(n.Kind) > MaxKindLength || !kindPattern.MatchString(n.Kind):
		return fault.Newf(fault.Invalid, []string{"kind"}, "the kind must be dot-separated lowercase words of at most %d characters", MaxKindLength)
	case strings.TrimSpace(n.Title) == "":
		return fault.New(fault.Invalid, "a title is required", "title")
	case !utf8.ValidString(n.Title) || utf8.RuneCountInString(n.Title) > MaxTitleLength:
		return fault.Newf(fault.Invalid, []string{"title"}, "the title must be valid UTF-8 of at most %d characters", MaxTitleLength)
	case strings.ContainsAny(n.Title, "\r\n"):
		return fault.New(fault.Invalid, "the title must be one line", "title")
	case !utf8.ValidString(n.Body) || utf8.RuneCountInString(n.Body) > MaxBodyLength:
		return fault.Newf(fault.Invalid, []string{"body"}, "the body must be valid UTF-8 of at most %d characters", MaxBodyLength)
	case n.DedupeKey == "":
		return fault.New(fault.Invalid, "a dedupe key is required", "dedupeKey")
	case len(n.DedupeKey) > MaxDedupeKeyLength || !utf8.ValidString(n.DedupeKey):
		return fault.Newf(fault.Invalid, []string{"dedupeKey"}, "the dedupe key must be valid UTF-8 of at most %d bytes", MaxDedupeKeyLength)
	}
	return nil
}

// EventPayload is the payload of the events.TopicNotification event written
// when a notification is created; the event's subject is the notification id.
type EventPayload struct {
	ID         pulid.ID  `json:"id"`
	Kind       string    `json:"kind"`
	Title      string    `json:"title"`
	ResourceID pulid.ID  `json:"resourceId,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
}

// Notify records n in the caller's transaction and appends its event to the
// outbox, so the notice exists exactly when the caller's change commits.
// A notice whose dedupe key exists already (committed, or earlier in tx) is
// dropped: created is false and nothing is written. The insert is
// INSERT … ON CONFLICT (dedupe_key) DO NOTHING, which never raises, so tx
// stays usable on PostgreSQL; a concurrent transaction inserting the same
// key waits for this one and then does nothing (or inserts, if this one
// rolls back).
//
// The account must exist and be visible to ctx's viewer (NOT_FOUND
// otherwise). A key already used for another account is a CONFLICT: it is
// a caller bug that would otherwise silently swallow this notice.
func (s *Service) Notify(ctx context.Context, tx *ent.Tx, n Notice) (created bool, err error) {
	if err := n.Validate(); err != nil {
		return false, err
	}
	at := n.At
	if at.IsZero() {
		at = s.clock.Now()
	}
	// Microseconds: what PostgreSQL stores, so both engines read back the same.
	at = at.UTC().Truncate(time.Microsecond)

	// notifications.account_id carries no foreign key, so check the account
	// here rather than leave an orphan nobody can read.
	ok, err := tx.Account.Query().Where(entaccount.ID(n.AccountID)).Exist(ctx)
	if err != nil {
		return false, fmt.Errorf("notify %s: look up account: %w", n.DedupeKey, err)
	}
	if !ok {
		return false, fault.Newf(fault.NotFound, []string{"accountId"}, "account %s not found", n.AccountID)
	}

	c := tx.Notification.Create().
		SetAccountID(n.AccountID).
		SetKind(n.Kind).
		SetTitle(n.Title).
		SetBody(n.Body).
		SetDedupeKey(n.DedupeKey).
		SetCreatedAt(at).
		SetUpdatedAt(at)
	if n.ResourceID != "" {
		c.SetResourceID(n.ResourceID)
	}
	// With DO NOTHING and a conflict, RETURNING yields no row: ErrNoRows.
	id, err := c.OnConflictColumns(notification.FieldDedupeKey).DoNothing().ID(ctx)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, s.checkDuplicate(ctx, tx, n)
	case err != nil:
		return false, fmt.Errorf("notify %s: insert: %w", n.DedupeKey, err)
	}

	payload := EventPayload{ID: id, Kind: n.Kind, Title: n.Title, ResourceID: n.ResourceID, CreatedAt: at}
	if err := s.outbox.Append(ctx, tx, events.TopicNotification, n.AccountID, string(id), payload, at); err != nil {
		return false, fmt.Errorf("notify %s: %w", n.DedupeKey, err)
	}
	return true, nil
}

// checkDuplicate makes sure the existing notice under n's key belongs to
// n's account.
func (s *Service) checkDuplicate(ctx context.Context, tx *ent.Tx, n Notice) error {
	owner, err := tx.Notification.Query().
		Where(notification.DedupeKey(n.DedupeKey)).
		Select(notification.FieldAccountID).
		String(ctx)
	// Not found: the row belongs to an account the viewer cannot see.
	if ent.IsNotFound(err) || (err == nil && pulid.ID(owner) != n.AccountID) {
		return fault.Newf(fault.Conflict, []string{"dedupeKey"}, "dedupe key %q is used by another account's notice", n.DedupeKey)
	}
	if err != nil {
		return fmt.Errorf("notify %s: read duplicate: %w", n.DedupeKey, err)
	}
	return nil
}

// keyEscaper escapes the part separator (and the escape character) inside
// a part, so different part lists never make the same key.
var keyEscaper = strings.NewReplacer("%", "%25", ":", "%3A")

// DedupeKey joins parts with ":" into a dedupe key, escaping ":" and "%"
// inside parts so that ("a:b", "c") and ("a", "b:c") differ:
//
//	DedupeKey("payment", "pay_01J…", "failed") == "payment:pay_01J…:failed"
func DedupeKey(parts ...string) string {
	esc := make([]string, len(parts))
	for i, p := range parts {
		esc[i] = keyEscaper.Replace(p)
	}
	return strings.Join(esc, ":")
}

// periodKeyLayout is ISO 8601 basic format: second precision, no colons,
// so the key stays readable after DedupeKey's escaping.
const periodKeyLayout = "20060102T150405Z"

// PeriodKey is the dedupe key of a lifecycle step of one service period of
// a resource: each (resource, period end, step) notifies once, however
// often or wherever the job runs. The end is taken in UTC to the second,
// so the same instant read from either engine or in any zone gives the
// same key:
//
//	PeriodKey("res_01J…", end, "t-7") == "resource:res_01J…:20261204T093000Z:t-7"
func PeriodKey(resourceID pulid.ID, periodEnd time.Time, step string) string {
	return DedupeKey("resource", string(resourceID), periodEnd.UTC().Format(periodKeyLayout), step)
}
