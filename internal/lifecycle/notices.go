package lifecycle

import (
	"fmt"
	"time"

	"billing/ent"
	"billing/internal/notify"
)

// KindPurged is the notice of a resource deleted for good when its trash
// window ended (the other lifecycle kinds are notify's constants).
const KindPurged = "resource.purged"

// Dedupe steps of the lifecycle notices, under notify.PeriodKey(resource,
// period end, step): each is sent once per resource and period.
const (
	StepExpired   = "expired"
	StepSuspended = "suspended"
	StepReleased  = "released"
	// StepPurged is keyed by the purge time instead of the period end.
	StepPurged = "purged"
	// StepRenewed is the auto-renew success of a period.
	StepRenewed = notify.KindAutoRenewSucceeded
)

// ReminderStep is the dedupe step of the reminder k days before a
// deadline: "t-7", "t-3", "t-1" before expiry, "suspension-7"… before
// suspension, "release-7"… before release.
func ReminderStep(deadline Deadline, k int) string {
	return fmt.Sprintf("%s-%d", deadline, k)
}

// Deadline names what a reminder counts down to.
type Deadline string

// The deadlines of a period that was not renewed.
const (
	DeadlineExpiry     Deadline = "t"
	DeadlineSuspension Deadline = "suspension"
	DeadlineRelease    Deadline = "release"
)

// when renders an instant for customers, in the billing time zone.
func (s *Service) when(t time.Time) string { return t.In(s.loc).Format("2006-01-02 15:04 MST") }

func months(n int) string {
	if n == 1 {
		return "1 month"
	}
	return fmt.Sprintf("%d months", n)
}

// nextAttempt is the first auto-renew attempt of the period ending at end
// after now, if any is left.
func (s *Service) nextAttempt(end, now time.Time) (time.Time, bool) {
	for _, t := range AutoRenewSchedule(end, s.loc) {
		if t.After(now) {
			return t, true
		}
	}
	return time.Time{}, false
}

func (s *Service) renewedNotice(r *ent.Resource, now time.Time) notify.Notice {
	end := r.PeriodEnd.Add(time.Duration(r.AutoRenewMonths) * 30 * day)
	return notify.Notice{
		AccountID: r.AccountID, ResourceID: r.ID, At: now,
		Kind:      notify.KindAutoRenewSucceeded,
		DedupeKey: notify.PeriodKey(r.ID, *r.PeriodEnd, StepRenewed),
		Title:     fmt.Sprintf("%s was renewed automatically", r.Name),
		Body: fmt.Sprintf("%s was renewed for %s from your credit. It now runs until %s. The invoice is in your invoice list.",
			r.Name, months(r.AutoRenewMonths), s.when(end)),
	}
}

func (s *Service) failedNotice(a attempt, reason string, now time.Time) notify.Notice {
	r, end := a.r, *a.r.PeriodEnd
	body := fmt.Sprintf("We could not renew %s for %s from your credit: %s.", r.Name, months(r.AutoRenewMonths), reason)
	if next, ok := s.nextAttempt(end, now); ok && a.k > 0 {
		body += fmt.Sprintf(" We will try again at %s; top up your credit before then, or renew it yourself.", s.when(next))
	} else {
		body += " That was the last automatic attempt for this period: renew it yourself to keep it."
	}
	if end.After(now) {
		body += fmt.Sprintf(" It expires at %s.", s.when(end))
	} else {
		body += fmt.Sprintf(" It expired at %s and is in its grace period.", s.when(end))
	}
	return notify.Notice{
		AccountID: r.AccountID, ResourceID: r.ID, At: now,
		Kind:      notify.KindAutoRenewFailed,
		DedupeKey: notify.PeriodKey(r.ID, end, attemptNotice(a.k)),
		Title:     fmt.Sprintf("Automatic renewal of %s failed", r.Name),
		Body:      body,
	}
}

// reminderNotice is the reminder k days before deadline of r's period; p
// is r's product (grace and suspension days).
func (s *Service) reminderNotice(r *ent.Resource, p *ent.Product, deadline Deadline, k int, now time.Time) notify.Notice {
	end := *r.PeriodEnd
	suspend, release := s.suspendAt(end, p), s.releaseAt(end, p)
	n := notify.Notice{
		AccountID: r.AccountID, ResourceID: r.ID, At: now,
		DedupeKey: notify.PeriodKey(r.ID, end, ReminderStep(deadline, k)),
	}
	in := "in 1 day"
	if k > 1 {
		in = fmt.Sprintf("in %d days", k)
	}
	switch deadline {
	case DeadlineExpiry:
		n.Kind = notify.KindRenewalReminder
		n.Title = fmt.Sprintf("%s expires %s", r.Name, in)
		n.Body = fmt.Sprintf("%s expires at %s.", r.Name, s.when(end))
		if next, ok := s.nextAttempt(end, now); ok && r.AutoRenew {
			n.Body += fmt.Sprintf(" Automatic renewal is on: we will renew it for %s from your credit at %s. "+
				"Make sure your available credit covers it.", months(r.AutoRenewMonths), s.when(next))
		} else {
			n.Body += fmt.Sprintf(" Renew it before then to keep it running; after that it keeps running in a grace period until %s, "+
				"then it is suspended.", s.when(suspend))
		}
	case DeadlineSuspension:
		n.Kind = notify.KindGraceReminder
		n.Title = fmt.Sprintf("%s will be suspended %s", r.Name, in)
		n.Body = fmt.Sprintf("%s expired at %s and runs in its grace period until %s, when it is suspended. "+
			"Renew it before then to keep it running.", r.Name, s.when(end), s.when(suspend))
	case DeadlineRelease:
		n.Kind = notify.KindSuspensionReminder
		n.Title = fmt.Sprintf("%s will be released %s", r.Name, in)
		n.Body = fmt.Sprintf("%s is suspended since it expired at %s. At %s it is released and its data deleted; "+
			"renew it before then to get it back.", r.Name, s.when(end), s.when(release))
	}
	return n
}

func (s *Service) suspendAt(end time.Time, p *ent.Product) time.Time {
	return end.Add(time.Duration(p.GraceDays) * day)
}

func (s *Service) releaseAt(end time.Time, p *ent.Product) time.Time {
	return end.Add(time.Duration(p.GraceDays+p.SuspensionDays) * day)
}

// expiredNotice is the notice of ExpireDue.
func (s *Service) expiredNotice(r *ent.Resource, p *ent.Product, now time.Time) notify.Notice {
	end := *r.PeriodEnd
	body := fmt.Sprintf("%s expired at %s. It keeps running in its grace period until %s, then it is suspended; "+
		"renew it before then to keep it running.", r.Name, s.when(end), s.when(s.suspendAt(end, p)))
	if next, ok := s.nextAttempt(end, now); ok && r.AutoRenew {
		body += fmt.Sprintf(" Automatic renewal makes its last attempt from your credit at %s.", s.when(next))
	}
	return notify.Notice{
		AccountID: r.AccountID, ResourceID: r.ID, At: now,
		Kind:      notify.KindExpired,
		DedupeKey: notify.PeriodKey(r.ID, end, StepExpired),
		Title:     fmt.Sprintf("%s has expired", r.Name),
		Body:      body,
	}
}

// suspendedNotice is the notice of SuspendDue.
func (s *Service) suspendedNotice(r *ent.Resource, p *ent.Product, now time.Time) notify.Notice {
	end := *r.PeriodEnd
	return notify.Notice{
		AccountID: r.AccountID, ResourceID: r.ID, At: now,
		Kind:      notify.KindSuspended,
		DedupeKey: notify.PeriodKey(r.ID, end, StepSuspended),
		Title:     fmt.Sprintf("%s is suspended", r.Name),
		Body: fmt.Sprintf("%s expired at %s and was not renewed during its grace period, so it is stopped; its data is kept. "+
			"At %s it is released and its data deleted; renew it before then to get it back.",
			r.Name, s.when(end), s.when(s.releaseAt(end, p))),
	}
}

// releasedNotice is the notice of ReleaseDue.
func (s *Service) releasedNotice(r *ent.Resource, _ *ent.Product, now time.Time) notify.Notice {
	end := *r.PeriodEnd
	return notify.Notice{
		AccountID: r.AccountID, ResourceID: r.ID, At: now,
		Kind:      notify.KindReleased,
		DedupeKey: notify.PeriodKey(r.ID, end, StepReleased),
		Title:     fmt.Sprintf("%s was released", r.Name),
		Body: fmt.Sprintf("%s expired at %s and was not renewed, so it was released and its data deleted. "+
			"It can no longer be renewed.", r.Name, s.when(end)),
	}
}

// purgedNotice is the notice of PurgeDue.
func (s *Service) purgedNotice(r *ent.Resource, _ *ent.Product, now time.Time) notify.Notice {
	return notify.Notice{
		AccountID: r.AccountID, ResourceID: r.ID, At: now,
		Kind:      KindPurged,
		DedupeKey: notify.PeriodKey(r.ID, *r.PurgeAt, StepPurged),
		Title:     fmt.Sprintf("%s was deleted for good", r.Name),
		Body:      fmt.Sprintf("%s stayed in the trash until %s and is now deleted for good.", r.Name, s.when(*r.PurgeAt)),
	}
}
