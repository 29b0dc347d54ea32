package catalog

import (
	"context"
	"fmt"
	"time"

	"billing/ent"
	"billing/ent/plan"
	"billing/ent/plancomponent"
	"billing/ent/price"
	"billing/ent/product"
	"billing/internal/store"
)

// SeedResult counts the rows one Seed run inserted; a run on an already
// seeded database returns all zeros.
type SeedResult struct {
	Products   int
	Plans      int
	Components int
	Prices     int
}

// Total is the number of rows inserted.
func (r SeedResult) Total() int { return r.Products + r.Plans + r.Components + r.Prices }

// Seed inserts the reference catalog (seed_data.go) where it is missing. It
// never updates or deactivates existing rows: a product, plan or component
// is matched by its unique code, and a component that already has a price
// of a billing mode (active or not) gets no seeded price for that mode, so
// operator changes survive a re-run.
//
// Everything happens in one transaction. Its first statement is an upsert
// of the first product, which on PostgreSQL row-locks that product until
// commit (on SQLite every write transaction is BEGIN IMMEDIATE), so
// concurrent seeders run one after the other and the later ones find
// everything present. client must not be a transactional client.
func Seed(ctx context.Context, client *ent.Client) (SeedResult, error) {
	var res SeedResult
	err := store.WithTx(ctx, client, func(tx *ent.Tx) error {
		s := seeder{tx: tx, now: time.Now().UTC()}
		for i := range seedCatalog {
			if err := s.product(ctx, &seedCatalog[i]); err != nil {
				return err
			}
		}
		res = s.res
		return nil
	})
	if err != nil {
		return SeedResult{}, fmt.Errorf("seed catalog: %w", err)
	}
	return res, nil
}

type seeder struct {
	tx  *ent.Tx
	now time.Time // one clock reading for every row of the run
	res SeedResult
}

// Each upsert below proposes a fresh id and, on conflict with the unique
// code, sets every column to its current value (ent's Ignore): nothing
// changes, but PostgreSQL locks the row, which is what serialises
// concurrent seeders. Reading the row back and comparing ids tells whether
// this run inserted it.

func (s *seeder) product(ctx context.Context, sp *seedProduct) error {
	id := product.DefaultID()
	err := s.tx.Product.Create().
		SetID(id).
		SetCode(sp.Code).
		SetName(sp.Name).
		SetDescription(sp.Description).
		SetAllowedPeriods(sp.Periods).
		SetRefundable(sp.Refundable).
		SetGraceDays(sp.GraceDays).
		SetSuspensionDays(sp.SuspensionDays).
		SetTrashDays(sp.TrashDays).
		SetAutoRenewOptional(sp.AutoRenewOptional).
		SetActive(true).
		SetCreatedAt(s.now).
		SetUpdatedAt(s.now).
		OnConflictColumns(product.FieldCode).
		Ignore().
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("upsert product %s: %w", sp.Code, err)
	}
	p, err := s.tx.Product.Query().Where(product.Code(sp.Code)).Only(ctx)
	if err != nil {
		return fmt.Errorf("read product %s: %w", sp.Code, err)
	}
	if p.ID == id {
		s.res.Products++
	}
	for i := range sp.Plans {
		if err := s.plan(ctx, p, &sp.Plans[i], (i+1)*10); err != nil {
			return err
		}
	}
	return nil
}

func (s *seeder) plan(ctx context.Context, p *ent.Product, sp *seedPlan, sortOrder int) error {
	id := plan.DefaultID()
	err := s.tx.Plan.Create().
		SetID(id).
		SetProductID(p.ID).
		SetCode(sp.Code).
		SetName(sp.Name).
		SetDescription(sp.Description).
		SetActive(true).
		SetSortOrder(sortOrder).
		SetCreatedAt(s.now).
		SetUpdatedAt(s.now).
		OnConflictColumns(plan.FieldCode).
		Ignore().
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("upsert plan %s: %w", sp.Code, err)
	}
	pl, err := s.tx.Plan.Query().Where(plan.Code(sp.Code)).Only(ctx)
	if err != nil {
		return fmt.Errorf("read plan %s: %w", sp.Code, err)
	}
	if pl.ProductID != p.ID {
		// Plan codes are unique across products; refuse to hang seeded
		// components under someone else's plan.
		return fmt.Errorf("plan %s exists under product %s, not %s", sp.Code, pl.ProductID, p.Code)
	}
	if pl.ID == id {
		s.res.Plans++
	}
	for i := range sp.Components {
		if err := s.component(ctx, pl, &sp.Components[i]); err != nil {
			return err
		}
	}
	return nil
}

func (s *seeder) component(ctx context.Context, pl *ent.Plan, sc *seedComponent) error {
	id := plancomponent.DefaultID()
	err := s.tx.PlanComponent.Create().
		SetID(id).
		SetPlanID(pl.ID).
		SetCode(sc.Code).
		SetName(sc.Name).
		SetUnit(sc.Unit).
		SetMinQuantity(sc.Min).
		SetMaxQuantity(sc.Max).
		SetDefaultQuantity(sc.Default).
		SetStep(sc.Step).
		SetCreatedAt(s.now).
		SetUpdatedAt(s.now).
		OnConflictColumns(plancomponent.FieldPlanID, plancomponent.FieldCode).
		Ignore().
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("upsert component %s/%s: %w", pl.Code, sc.Code, err)
	}
	c, err := s.tx.PlanComponent.Query().
		Where(plancomponent.PlanID(pl.ID), plancomponent.Code(sc.Code)).
		Only(ctx)
	if err != nil {
		return fmt.Errorf("read component %s/%s: %w", pl.Code, sc.Code, err)
	}
	if c.ID == id {
		s.res.Components++
	}
	for _, sp := range sc.Prices {
		// Prices have no unique key (a component keeps its old, inactive
		// prices), so this check-then-insert relies on the product row lock
		// taken above.
		exists, err := s.tx.Price.Query().
			Where(price.ComponentID(c.ID), price.BillingModeEQ(sp.Mode)).
			Exist(ctx)
		if err != nil {
			return fmt.Errorf("read %s prices of %s/%s: %w", sp.Mode, pl.Code, sc.Code, err)
		}
		if exists {
			continue
		}
		err = s.tx.Price.Create().
			SetComponentID(c.ID).
			SetBillingMode(sp.Mode).
			SetPer(price.PerPERIOD_30_DAYS).
			SetUnitPrice(sp.UnitPrice).
			SetVatRate(sp.VATRate).
			SetVatIncluded(sp.VATIncluded).
			SetActive(true).
			SetCreatedAt(s.now).
			SetUpdatedAt(s.now).
			Exec(ctx)
		if err != nil {
			return fmt.Errorf("insert %s price of %s/%s: %w", sp.Mode, pl.Code, sc.Code, err)
		}
		s.res.Prices++
	}
	return nil
}
