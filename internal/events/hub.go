package events

import (
	"sync"

	"billing/internal/pulid"
)

// Hub fans events out to in-process subscribers. Publish never blocks: a
// subscriber whose buffer is full loses its subscription (its channel is
// closed) and must resubscribe and re-read the current state.
type Hub struct {
	mu   sync.RWMutex
	subs map[*Subscription]struct{}
}

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{subs: map[*Subscription]struct{}{}} }

// Subscription receives the events that match its filter.
type Subscription struct {
	// C receives the matching events; it is closed by Close, or by the hub
	// when the subscriber fell a whole buffer behind.
	C      chan Event
	match  func(Event) bool
	hub    *Hub
	closed bool
}

// Subscribe registers a subscriber for events matching match (nil matches
// everything), with a buffer of size events. The buffer is the subscriber's
// whole slack: size should cover a burst (a transaction's events), at
// least 1.
func (h *Hub) Subscribe(size int, match func(Event) bool) *Subscription {
	s := &Subscription{C: make(chan Event, size), match: match, hub: h}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

// SubscribeTopic subscribes to the events of topic; a non-empty accountID
// or subjectID narrows it to that account or that subject.
func (h *Hub) SubscribeTopic(topic string, accountID pulid.ID, subjectID string, size int) *Subscription {
	return h.Subscribe(size, func(ev Event) bool {
		return ev.Topic == topic &&
			(accountID == "" || ev.AccountID == accountID) &&
			(subjectID == "" || ev.SubjectID == subjectID)
	})
}

// Close removes the subscription; it is safe to call twice.
func (s *Subscription) Close() {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	delete(h.subs, s)
	close(s.C)
}

// Publish delivers ev to every matching subscriber without blocking.
func (h *Hub) Publish(ev Event) {
	var slow []*Subscription
	// Sends happen under the read lock, so Close (write lock) can never
	// close a channel while a send to it is in flight.
	h.mu.RLock()
	for s := range h.subs {
		if s.match != nil && !s.match(ev) {
			continue
		}
		select {
		case s.C <- ev:
		default:
			slow = append(slow, s)
		}
	}
	h.mu.RUnlock()
	for _, s := range slow {
		s.Close()
	}
}
