// Package state is the state machine of resources (SPEC §6), in one place:
// every change of a resource's state — by the checkout (provisioning,
// renewals, resizes, recoveries), by customers (stop, start, delete) and
// by the scheduler (expiry, suspension, release, purge) — is one of the
// named Transitions below, applied by Machine as a conditional
//
//	UPDATE resources SET state = <to>, … WHERE id = ? AND state IN (<from>…)
//
// so that of two concurrent attempts at a transition exactly one happens,
// and each appends an Event on TopicResource in the same transaction.
//
//	PENDING ──Activate──► ACTIVE ◄──Start/Stop──► STOPPED
//	   └──Fail──► FAILED    │ ▲                      │
//	                 Expire │ └──Renewed──┐          │ Expire
//	                        ▼             │          ▼
//	                      GRACE ──Suspend──► SUSPENDED
//	                        └──Release──►  RELEASED ◄──┘ Release
//	ACTIVE | STOPPED | GRACE | SUSPENDED ──Trash──► TRASHED ──Purge──► DELETED
//	                                     ──Delete─────────────────────► DELETED
//	TRASHED ──Recover──► ACTIVE
//
// Extend (a renewal of a running resource), Resize and Configure (auto-renew
// settings) keep the state but are transitions all the same: they are only
// allowed from their From states, under the same conditional update.
//
// This package sits below the checkout and the lifecycle service (both
// use it), so it imports neither.
package state

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"billing/ent"
	"billing/ent/predicate"
	"billing/ent/resource"
	"billing/internal/events"
	"billing/internal/fault"
	"billing/internal/pulid"
)

// TopicResource is the outbox topic of resource state changes; the subject
// is the resource id and the payload an Event.
const TopicResource = "resource"

// Transition is a named change of a resource's state.
type Transition struct {
	// Name identifies the transition in events and logs ("Expire").
	Name string
	// Verb is what was attempted, for error messages ("renew").
	Verb string
	// From are the states the transition is allowed from.
	From []resource.State
	// To is the state after the transition; empty keeps the state.
	To resource.State
}

// The transitions. See the package documentation for the diagram.
var (
	Activate  = Transition{"Activate", "activate", states(resource.StatePENDING), resource.StateACTIVE}
	Fail      = Transition{"Fail", "fail", states(resource.StatePENDING), resource.StateFAILED}
	Stop      = Transition{"Stop", "stop", states(resource.StateACTIVE), resource.StateSTOPPED}
	Start     = Transition{"Start", "start", states(resource.StateSTOPPED), resource.StateACTIVE}
	Extend    = Transition{"Extend", "renew", running, ""}
	Renewed   = Transition{"Renewed", "renew", states(resource.StateGRACE, resource.StateSUSPENDED), resource.StateACTIVE}
	Resize    = Transition{"Resize", "resize", running, ""}
	Configure = Transition{"Configure", "change the settings of", live, ""}
	Expire    = Transition{"Expire", "expire", running, resource.StateGRACE}
	Suspend   = Transition{"Suspend", "suspend", states(resource.StateGRACE), resource.StateSUSPENDED}
	Release   = Transition{"Release", "release", states(resource.StateGRACE, resource.StateSUSPENDED), resource.StateRELEASED}
	Trash     = Transition{"Trash", "delete", live, resource.StateTRASHED}
	Delete    = Transition{"Delete", "delete", live, resource.StateDELETED}
	Purge     = Transition{"Purge", "purge", states(resource.StateTRASHED), resource.StateDELETED}
	Recover   = Transition{"Recover", "recover", states(resource.StateTRASHED), resource.StateACTIVE}

	// Renew is the customer's renewal: Extend from ACTIVE or STOPPED,
	// Renewed from GRACE or SUSPENDED. It is only checked (Check); Machine
	// applies Extend or Renewed (see RenewTransition).
	Renew = Transition{"Renew", "renew", live, ""}
)

// Transitions lists every transition, for documentation and tests.
var Transitions = []Transition{
	Activate, Fail, Stop, Start, Extend, Renewed, Resize, Configure,
	Expire, Suspend, Release, Trash, Delete, Purge, Recover,
}

var (
	// running are the states in which the service period runs and the
	// resource is the customer's to change.
	running = states(resource.StateACTIVE, resource.StateSTOPPED)
	// live are the states of a resource that exists for the customer:
	// running, or expired but not yet released.
	live = states(resource.StateACTIVE, resource.StateSTOPPED, resource.StateGRACE, resource.StateSUSPENDED)
)

func states(s ...resource.State) []resource.State { return s }

// Allows reports whether the transition may happen from st.
func (t Transition) Allows(st resource.State) bool { return slices.Contains(t.From, st) }

// Target is the state the transition leaves a resource in that was in
// from: To, or from itself when the transition keeps the state.
func (t Transition) Target(from resource.State) resource.State {
	if t.To == "" {
		return from
	}
	return t.To
}

// RenewTransition is the transition a paid renewal applies to a resource
// in state st: Renewed from GRACE or SUSPENDED (the resource runs again),
// Extend otherwise.
func RenewTransition(st resource.State) Transition {
	if Renewed.Allows(st) {
		return Renewed
	}
	return Extend
}

// Check returns nil when t may happen to r now, else a fault.InvalidState
// saying why in words the customer understands.
func Check(t Transition, r *ent.Resource) error {
	if t.Allows(r.State) {
		return nil
	}
	return Refusal(t, r)
}

// Refusal is the fault.InvalidState for t attempted on r in its state.
func Refusal(t Transition, r *ent.Resource) error {
	msg := fmt.Sprintf("cannot %s %s: it %s", t.Verb, r.Name, describe[r.State])
	if h := hint(t, r.State); h != "" {
		msg += "; " + h
	}
	return fault.New(fault.InvalidState, msg, "input", "resourceId")
}

// describe says what a state means for the customer.
var describe = map[resource.State]string{
	resource.StatePENDING:   "is still being created",
	resource.StateACTIVE:    "is running",
	resource.StateSTOPPED:   "is stopped",
	resource.StateGRACE:     "has expired and is in its grace period",
	resource.StateSUSPENDED: "is suspended",
	resource.StateRELEASED:  "was released after it expired and can no longer be renewed",
	resource.StateTRASHED:   "is in the trash",
	resource.StateDELETED:   "was deleted for good",
	resource.StateFAILED:    "could not be created",
}

func hint(t Transition, st resource.State) string {
	switch {
	case t.Verb == "resize" && (st == resource.StateGRACE || st == resource.StateSUSPENDED):
		return "renew it first"
	case st == resource.StateTRASHED && t.Name != Purge.Name:
		return "recover it first"
	case st == resource.StateRELEASED || st == resource.StateDELETED || st == resource.StateFAILED:
		return "buy a new one instead"
	}
	return ""
}

// Event is the payload of a TopicResource event: one state transition of
// one resource.
type Event struct {
	ResourceID pulid.ID `json:"resourceId"`
	AccountID  pulid.ID `json:"accountId"`
	// Transition is the transition's Name.
	Transition string `json:"transition"`
	// From and To are the states before and after (equal for Extend,
	// Resize and Configure).
	From resource.State `json:"from"`
	To   resource.State `json:"to"`
	// PeriodEnd is the end of the service period after the change.
	PeriodEnd *time.Time `json:"periodEnd,omitempty"`
	// Reason says why, when the caller gave one ("expired", "deleted by
	// the customer", …).
	Reason string `json:"reason,omitempty"`
}

// Change is what a transition writes besides the state.
type Change struct {
	// Set adds columns to the UPDATE (period, snapshot, timestamps…).
	Set func(*ent.ResourceUpdate)
	// Where adds conditions to the UPDATE besides id and state (for
	// example "still in the trash window"); when they fail the transition
	// is refused with Refused (fault.Conflict unless given).
	Where []predicate.Resource
	// Refused is the error when Where failed but the state allowed it.
	Refused error
	// Reason is carried by the event.
	Reason string
}

// Machine applies transitions and records their events.
type Machine struct {
	outbox   *events.Outbox
	postgres bool
}

// New returns a machine writing its events to outbox; postgres says
// whether rows can be locked with SELECT … FOR UPDATE.
func New(outbox *events.Outbox, postgres bool) *Machine {
	if outbox == nil {
		panic("state.New: outbox is required")
	}
	return &Machine{outbox: outbox, postgres: postgres}
}

// Lock reads the resource inside tx, with its row locked until the
// transaction ends on PostgreSQL (SQLite serializes writers with BEGIN
// IMMEDIATE). The read goes through the tenant filter, so a customer's
// query for another account's resource is a fault.NotFound, as is an
// unknown id.
func (m *Machine) Lock(ctx context.Context, tx *ent.Tx, id pulid.ID) (*ent.Resource, error) {
	q := tx.Resource.Query().Where(resource.ID(id))
	if m.postgres {
		q.ForUpdate()
	}
	r, err := q.Only(ctx)
	if ent.IsNotFound(err) {
		return nil, fault.New(fault.NotFound, "resource not found", "input", "resourceId")
	}
	if err != nil {
		return nil, fmt.Errorf("lock resource %s: %w", id, err)
	}
	return r, nil
}

// LockAll locks several resources in id order (the one order every
// transaction locks resources in, so two of them never deadlock) and
// returns them in that order. Unknown or invisible ids are a
// fault.NotFound, returned with the resources that were found (and
// locked) so the caller can tell which ones are missing.
func (m *Machine) LockAll(ctx context.Context, tx *ent.Tx, ids []pulid.ID) ([]*ent.Resource, error) {
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	q := tx.Resource.Query().Where(resource.IDIn(sorted...)).Order(ent.Asc(resource.FieldID))
	if m.postgres {
		q.ForUpdate()
	}
	rs, err := q.All(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock resources: %w", err)
	}
	if len(rs) != len(sorted) {
		return rs, fault.New(fault.NotFound, "resource not found", "input", "resourceId")
	}
	return rs, nil
}

// Apply moves r through t inside tx: one conditional UPDATE … WHERE id AND
// state IN (t.From) AND c.Where, then the event. r should have been read
// under its lock (Lock), so that r.State is the state the event reports as
// From. It returns the resource as it is now. When the update matches no
// row it changes nothing and returns Check's fault.InvalidState for the
// current state, or c.Refused when the state allowed it but c.Where did
// not.
func (m *Machine) Apply(ctx context.Context, tx *ent.Tx, t Transition, r *ent.Resource, now time.Time, c Change) (*ent.Resource, error) {
	u := tx.Resource.Update().
		Where(resource.ID(r.ID), resource.StateIn(t.From...)).
		Where(c.Where...).
		SetUpdatedAt(now)
	if t.To != "" {
		u.SetState(t.To)
	}
	if c.Set != nil {
		c.Set(u)
	}
	n, err := u.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("resource %s: %s: %w", r.ID, t.Name, err)
	}
	cur, err := tx.Resource.Get(ctx, r.ID)
	if err != nil {
		return nil, fmt.Errorf("read resource %s: %w", r.ID, err)
	}
	if n == 0 {
		if !t.Allows(cur.State) {
			return nil, Refusal(t, cur)
		}
		if c.Refused != nil {
			return nil, c.Refused
		}
		return nil, fault.Newf(fault.Conflict, []string{"input", "resourceId"},
			"%s changed meanwhile; try again", cur.Name)
	}
	if err := m.emit(ctx, tx, t, r.State, cur, c.Reason, now); err != nil {
		return nil, err
	}
	return cur, nil
}

// ApplyAll moves every resource of rs through t with one UPDATE … WHERE id
// IN (…) AND state IN (t.From) AND c.Where, and appends an event per
// resource, in bulk (one multi-row INSERT on PostgreSQL). The rows must be
// locked by the caller's transaction (selected FOR UPDATE with the same
// conditions) so that every one of them matches; if one does not, nothing
// is kept (the error rolls the transaction back). It is what the
// scheduler's sweeps use: rs need only carry the id, account, state and
// period end (a partial select), and c.Set must leave the period alone,
// because the events report the period of rs.
func (m *Machine) ApplyAll(ctx context.Context, tx *ent.Tx, t Transition, rs []*ent.Resource, now time.Time, c Change) (int, error) {
	if len(rs) == 0 {
		return 0, nil
	}
	ids := make([]pulid.ID, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	u := tx.Resource.Update().
		Where(resource.IDIn(ids...), resource.StateIn(t.From...)).
		Where(c.Where...).
		SetUpdatedAt(now)
	if t.To != "" {
		u.SetState(t.To)
	}
	if c.Set != nil {
		c.Set(u)
	}
	n, err := u.Save(ctx)
	if err != nil {
		return 0, fmt.Errorf("%s %d resources: %w", t.Name, len(rs), err)
	}
	if n != len(rs) {
		return 0, fmt.Errorf("%s: %d of %d locked resources matched", t.Name, n, len(rs))
	}
	evs := make([]events.Record, len(rs))
	for i, r := range rs {
		evs[i] = events.Record{
			Topic: TopicResource, AccountID: r.AccountID, SubjectID: string(r.ID), At: now,
			Payload: Event{
				ResourceID: r.ID, AccountID: r.AccountID, Transition: t.Name,
				From: r.State, To: t.Target(r.State), PeriodEnd: r.PeriodEnd, Reason: c.Reason,
			},
		}
	}
	if err := m.outbox.AppendAll(ctx, tx, evs); err != nil {
		return 0, fmt.Errorf("%s: events: %w", t.Name, err)
	}
	return n, nil
}

func (m *Machine) emit(ctx context.Context, tx *ent.Tx, t Transition, from resource.State, cur *ent.Resource, reason string, now time.Time) error {
	ev := Event{
		ResourceID: cur.ID, AccountID: cur.AccountID, Transition: t.Name,
		From: from, To: cur.State, PeriodEnd: cur.PeriodEnd, Reason: reason,
	}
	if err := m.outbox.Append(ctx, tx, TopicResource, cur.AccountID, string(cur.ID), ev, now); err != nil {
		return fmt.Errorf("resource %s event: %w", cur.ID, err)
	}
	return nil
}

// Table renders the transitions as a Markdown table (docs and tests).
func Table() string {
	var b strings.Builder
	b.WriteString("| transition | from | to |\n|---|---|---|\n")
	for _, t := range Transitions {
		from := make([]string, len(t.From))
		for i, s := range t.From {
			from[i] = string(s)
		}
		to := string(t.To)
		if to == "" {
			to = "(unchanged)"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", t.Name, strings.Join(from, ", "), to)
	}
	return b.String()
}
