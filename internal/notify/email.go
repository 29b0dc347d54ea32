package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"billing/ent"
	entaccount "billing/ent/account"
	"billing/ent/notification"
	"billing/internal/auth"
	"billing/internal/fault"
	"billing/internal/pulid"
)

// Message is one e-mail.
type Message struct {
	// To is the recipient's address (required).
	To string
	// From is the From header, e.g. "Billing <billing@example.vn>" (required).
	From string
	// Subject is the subject, any UTF-8 text on one line.
	Subject string
	// Body is the plain-text body, any UTF-8 text.
	Body string
	// Date is the Date header; zero means the mailer's current time.
	Date time.Time
	// ID, when set, makes the Message-ID "<ID@domain of From>", so a
	// notification's e-mail always carries the same Message-ID; it must be
	// letters, digits, '_', '-' and '.'. Empty means a random one.
	ID string
}

// Mailer sends e-mails.
//
// An error that wraps ErrNotSent promises that the message was certainly
// not accepted and that trying again later makes sense (the server was
// unreachable, refused the login, or answered with a temporary 4xx code):
// DeliverEmails then gives the notice back for a later run. Any other error
// is taken as "may have been accepted, or will never be": the notice stays
// delivered, since sending it again could duplicate it. A Mailer that does
// not know about ErrNotSent therefore never causes duplicates.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// ErrNotSent marks a Mailer error after which the message was certainly not
// accepted and a retry is worthwhile.
var ErrNotSent = errors.New("message not sent")

// emailBatch is how many notices DeliverEmails reads at a time, and
// emailMaxBatches how many batches one run handles at most, so a run ends
// even while new notices keep arriving (the next run picks them up).
const (
	emailBatch      = 50
	emailMaxBatches = 20
)

// releaseTimeout bounds giving a claim back after a failed send, which runs
// even when the run's context was cancelled.
const releaseTimeout = 5 * time.Second

// DeliverEmails e-mails the notifications not e-mailed yet, oldest first,
// and returns how many it sent (or logged, without a Mailer). It is safe to
// run at the same time on any number of instances: each notice is claimed
// by one conditional UPDATE before it is sent, so it is sent at most once
// (see the package doc). Notices of an account without an e-mail address
// are marked and skipped.
//
// A failure wrapping ErrNotSent gives that notice back and ends the run with
// the error: the server is probably down, the next run retries from there.
// Any other send failure is logged and the run goes on. Only the system and
// operators may run it.
func (s *Service) DeliverEmails(ctx context.Context) (int, error) {
	v, ok := auth.FromContext(ctx)
	if !ok {
		return 0, fault.New(fault.Unauthenticated, "authentication required")
	}
	if !v.IsSystem() && !v.IsAdmin() {
		return 0, fault.New(fault.Forbidden, "only the system or an operator may deliver e-mails")
	}
	sent := 0
	for range emailMaxBatches {
		batch, err := s.db.Client.Notification.Query().
			Where(notification.EmailedAtIsNil()).
			Order(notification.ByCreatedAt(), notification.ByID()).
			Limit(emailBatch).
			All(ctx)
		if err != nil {
			return sent, fmt.Errorf("deliver e-mails: read notifications: %w", err)
		}
		if len(batch) == 0 {
			return sent, nil
		}
		addrs, err := s.addresses(ctx, batch)
		if err != nil {
			return sent, err
		}
		for _, n := range batch {
			ok, err := s.deliver(ctx, n, addrs[n.AccountID])
			if ok {
				sent++
			}
			if err != nil {
				return sent, err
			}
		}
		if len(batch) < emailBatch {
			return sent, nil
		}
	}
	return sent, nil
}

// addresses returns the e-mail address of each account of batch.
func (s *Service) addresses(ctx context.Context, batch []*ent.Notification) (map[pulid.ID]string, error) {
	ids := make([]pulid.ID, 0, len(batch))
	for _, n := range batch {
		ids = append(ids, n.AccountID)
	}
	accs, err := s.db.Client.Account.Query().
		Where(entaccount.IDIn(ids...)).
		Select(entaccount.FieldID, entaccount.FieldEmail).
		All(ctx)
	if err != nil {
		return nil, fmt.Errorf("deliver e-mails: read accounts: %w", err)
	}
	addrs := make(map[pulid.ID]string, len(accs))
	for _, a := range accs {
		addrs[a.ID] = a.Email
	}
	return addrs, nil
}

// deliver claims n and sends it to addr. It reports whether it sent (or
// logged) an e-mail; an error means the run should stop.
func (s *Service) deliver(ctx context.Context, n *ent.Notification, addr string) (bool, error) {
	now := s.clock.Now().UTC().Truncate(time.Microsecond)
	// The claim: whoever flips emailed_at from NULL owns the notice. Another
	// instance's UPDATE of the same row waits for this one (PostgreSQL row
	// lock, SQLite write lock) and then matches no row.
	claimed, err := s.db.Client.Notification.Update().
		Where(notification.ID(n.ID), notification.EmailedAtIsNil()).
		SetEmailedAt(now).
		SetUpdatedAt(now).
		Save(ctx)
	if err != nil {
		return false, fmt.Errorf("deliver e-mail of %s: claim: %w", n.ID, err)
	}
	if claimed == 0 {
		return false, nil // another run got it
	}
	log := s.logger.With("notification", string(n.ID), "account", string(n.AccountID), "kind", n.Kind)
	if addr == "" {
		log.Info("email skipped: account has no e-mail address")
		return false, nil
	}
	if s.mailer == nil {
		log.Info("email (not configured)", "to", addr, "subject", n.Title, "body", n.Body)
		return true, nil
	}
	err = s.mailer.Send(ctx, Message{
		To:      addr,
		From:    s.from,
		Subject: n.Title,
		Body:    n.Body,
		Date:    now,
		ID:      string(n.ID),
	})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrNotSent):
		if rerr := s.release(ctx, n.ID); rerr != nil {
			// Still claimed: this notice is not e-mailed. Say so once, here.
			return false, fmt.Errorf("deliver e-mail of %s: %w (giving it back failed, it will not be retried: %v)", n.ID, err, rerr)
		}
		return false, fmt.Errorf("deliver e-mail of %s: %w", n.ID, err)
	default:
		log.Error("email failed and will not be retried", "to", addr, "error", err)
		return false, nil
	}
}

// release gives a claimed notice back after a send that certainly failed.
// Nobody else writes emailed_at of a claimed row, so matching on the id is
// enough. It runs even when ctx was cancelled: a cancelled send is a
// typical reason to give the notice back.
func (s *Service) release(ctx context.Context, id pulid.ID) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	return s.db.Client.Notification.UpdateOneID(id).
		ClearEmailedAt().
		SetUpdatedAt(s.clock.Now().UTC().Truncate(time.Microsecond)).
		Exec(ctx)
}
