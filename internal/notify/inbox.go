package notify

import (
	"context"
	"fmt"
	"slices"
	"time"

	"billing/ent/notification"
	"billing/internal/auth"
	"billing/internal/fault"
	"billing/internal/pulid"
)

// MaxMarkRead bounds the ids of one MarkRead call, like a connection page.
const MaxMarkRead = 100

// owner returns the account whose notices ctx's viewer may mark read: only
// a customer may, and only its own. Read state is one per notice, shared by
// every member of the account, so a read-only member marking a notice read
// would change what the owner sees; operators and the system do not read
// customers' notices for them.
func owner(ctx context.Context) (pulid.ID, error) {
	v, ok := auth.FromContext(ctx)
	if !ok {
		return "", fault.New(fault.Unauthenticated, "authentication required")
	}
	if v.Role != auth.RoleCustomer || v.AccountID == "" {
		return "", fault.New(fault.Forbidden, "only the account's customer may mark its notifications read")
	}
	return pulid.ID(v.AccountID), nil
}

// MarkRead marks the caller's unread notifications among ids read and
// returns how many it changed. Ids that are unknown, of another account or
// already read are ignored, never reported: a foreign id is
// indistinguishable from an unknown one, a list refreshed after a
// notification was pruned still succeeds, and repeating a call changes
// nothing (it returns 0 and keeps the first read time). Only a customer
// may call it (FORBIDDEN otherwise); more than MaxMarkRead ids is
// INVALID_INPUT.
func (s *Service) MarkRead(ctx context.Context, ids []pulid.ID) (int, error) {
	acc, err := owner(ctx)
	if err != nil {
		return 0, err
	}
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	if len(ids) > MaxMarkRead {
		return 0, fault.Newf(fault.Invalid, []string{"input", "ids"}, "at most %d notifications at a time", MaxMarkRead)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	now := s.clock.Now().UTC().Truncate(time.Microsecond)
	// Interceptors filter queries only, not updates: the account condition
	// here is what keeps a customer to its own rows.
	n, err := s.db.Client.Notification.Update().
		Where(
			notification.IDIn(ids...),
			notification.AccountID(acc),
			notification.ReadAtIsNil(),
		).
		SetReadAt(now).
		SetUpdatedAt(now).
		Save(ctx)
	if err != nil {
		return 0, fmt.Errorf("mark %d notifications read: %w", len(ids), err)
	}
	return n, nil
}

// MarkAllRead marks every unread notification of the caller's account read
// and returns how many it changed (0 on a repeat). Only a customer may call
// it.
func (s *Service) MarkAllRead(ctx context.Context) (int, error) {
	acc, err := owner(ctx)
	if err != nil {
		return 0, err
	}
	now := s.clock.Now().UTC().Truncate(time.Microsecond)
	n, err := s.db.Client.Notification.Update().
		Where(notification.AccountID(acc), notification.ReadAtIsNil()).
		SetReadAt(now).
		SetUpdatedAt(now).
		Save(ctx)
	if err != nil {
		return 0, fmt.Errorf("mark all notifications of %s read: %w", acc, err)
	}
	return n, nil
}

// UnreadCount returns how many notifications of accountID are unread.
// Customers and read-only members count their own account: accountID may be
// empty or must be theirs (another account is NOT_FOUND, whether it exists
// or not). Operators and the system name the account. Product services
// have no business here (FORBIDDEN).
func (s *Service) UnreadCount(ctx context.Context, accountID pulid.ID) (int, error) {
	v, ok := auth.FromContext(ctx)
	if !ok {
		return 0, fault.New(fault.Unauthenticated, "authentication required")
	}
	switch {
	case v.IsCustomerScoped():
		if accountID != "" && accountID != pulid.ID(v.AccountID) {
			return 0, fault.Newf(fault.NotFound, []string{"accountId"}, "account %s not found", accountID)
		}
		accountID = pulid.ID(v.AccountID)
	case v.IsAdmin() || v.IsSystem():
		if accountID == "" {
			return 0, fault.New(fault.Invalid, "an account is required", "accountId")
		}
	default:
		return 0, fault.New(fault.Forbidden, "not allowed to read notifications")
	}
	// The tenant interceptor adds the viewer's account again for customers.
	n, err := s.db.Client.Notification.Query().
		Where(notification.AccountID(accountID), notification.ReadAtIsNil()).
		Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count unread notifications of %s: %w", accountID, err)
	}
	return n, nil
}
