package events

import "sync"

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
	C      chan Event
	match  func(Event) bool
	hub    *Hub
	closed bool
}

// Subscribe registers a subscriber for events matching match, with a
// buffer of size events.
func (h *Hub) Subscribe(size int, match func(Event) bool) *Subscription {
	s := &Subscription{C: make(chan Event, size), match: match, hub: h}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
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
