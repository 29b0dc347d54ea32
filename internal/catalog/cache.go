package catalog

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"billing/ent"
	"billing/internal/pulid"
)

// CacheTTL bounds how long a PlanCache serves a plan without reading it
// again: the delay after which a catalog change made outside the process
// (`billing seed` run elsewhere, SQL by hand) reaches checkouts and quotes.
// Changes made through the process's own ent client are seen at once.
const CacheTTL = 10 * time.Second

// PlanCache serves ActivePlan from memory. Every checkout prices its
// items from the catalog — a plan with its product, components and active
// prices, four queries — and the catalog changes rarely, so a checkout
// reads it from here instead.
//
// An entry is dropped when it is older than CacheTTL or when any Plan,
// Product, PlanComponent or Price was changed through the client the
// cache watches (NewPlanCache hooks it), whichever comes first. Only plans
// that may be sold are cached: an unknown or retired plan is looked up
// every time, so that its fault stays exact.
//
// The plans it returns are shared between goroutines: read them, never
// change them, and never query through them (their edges are loaded).
type PlanCache struct {
	ttl     time.Duration
	changes atomic.Uint64 // catalog mutations seen through the watched client

	mu      sync.Mutex
	entries map[string]planEntry // by reference as given (id or code)
}

type planEntry struct {
	plan    *ent.Plan
	changes uint64
	loaded  time.Time
}

// NewPlanCache returns a cache that watches client for catalog changes.
func NewPlanCache(client *ent.Client, ttl time.Duration) *PlanCache {
	c := &PlanCache{ttl: ttl, entries: map[string]planEntry{}}
	bump := func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			// Before and after: an entry loaded while the change runs is
			// not kept, and one loaded before it is dropped. A change in a
			// transaction may still be cached as it was until that commits:
			// at most CacheTTL more.
			c.changes.Add(1)
			v, err := next.Mutate(ctx, m)
			c.changes.Add(1)
			return v, err
		})
	}
	client.Plan.Use(bump)
	client.Product.Use(bump)
	client.PlanComponent.Use(bump)
	client.Price.Use(bump)
	return c
}

// Active is ActivePlan through the cache; client runs the lookup on a
// miss (the caller's transaction, usually).
func (c *PlanCache) Active(ctx context.Context, client *ent.Client, ref string) (*ent.Plan, error) {
	ref = strings.TrimSpace(ref)
	changes := c.changes.Load()
	c.mu.Lock()
	e, ok := c.entries[ref]
	c.mu.Unlock()
	if ok && e.changes == changes && time.Since(e.loaded) < c.ttl {
		return e.plan, nil
	}
	loaded := time.Now()
	p, err := ActivePlan(ctx, client, ref)
	if err != nil {
		return nil, err
	}
	if c.changes.Load() == changes {
		e := planEntry{plan: p, changes: changes, loaded: loaded}
		c.mu.Lock()
		c.entries[ref] = e
		if id := pulid.ID(ref); !id.Valid() || id != p.ID {
			c.entries[string(p.ID)] = e
		}
		c.mu.Unlock()
	}
	return p, nil
}
