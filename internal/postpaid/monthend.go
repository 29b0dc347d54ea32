package postpaid

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/lib/pq"

	"billing/ent"
	"billing/internal/fault"
	"billing/internal/invoicing"
	"billing/internal/money"
	"billing/internal/pricing"
	"billing/internal/pulid"
	"billing/internal/store"
)

// MonthEndResult is what a month-end run issued.
type MonthEndResult struct {
	// PeriodStart and PeriodEnd are the billing month invoiced, in UTC.
	PeriodStart, PeriodEnd time.Time
	// Invoices is how many invoices this run created (0 when another run
	// already had).
	Invoices int
	// Total is the sum of their totals.
	Total money.Amount
}

// RunMonthEnd issues the MONTHLY invoices of the billing month before the
// one now falls in (the month just closed, at 00:00 on the 1st): see
// InvoiceMonth. It is the scheduler's job and operators may re-run it.
func (s *Service) RunMonthEnd(ctx context.Context, now time.Time) (MonthEndResult, error) {
	start, _ := PreviousMonth(now, s.loc)
	return s.InvoiceMonth(ctx, start, now)
}

// InvoiceMonth issues, at now, one MONTHLY invoice per postpaid resource
// that ran in the billing month containing month (which must have ended
// by now), for its usage in that month: one line per usage interval
// clipped to the month, rounded once; VAT once on the subtotal; UNPAID,
// due DueDays after now. Resources deleted during the month are invoiced
// for their usage up to the deletion.
//
// It is set-based and safe to run twice or on several instances at once:
// resources are taken in id order, Batch per transaction; each
// transaction first takes a lock on the month (a PostgreSQL
// transaction-level advisory lock; SQLite serializes writers), then
// selects only resources without an invoice for the month — so the
// unique (resource, MONTHLY, period start) key is never hit — and issues
// their invoices with one code reservation and one INSERT each for
// invoices and lines (invoicing.CreateMonthly).
func (s *Service) InvoiceMonth(ctx context.Context, month, now time.Time) (MonthEndResult, error) {
	ctx, err := jobContext(ctx)
	if err != nil {
		return MonthEndResult{}, err
	}
	now = norm(now)
	start, end := Month(month, s.loc)
	res := MonthEndResult{PeriodStart: start, PeriodEnd: end}
	if now.Before(end) {
		return res, fault.Newf(fault.Invalid, []string{"month"},
			"the month %s is not over yet", start.In(s.loc).Format("01/2006"))
	}
	due := now.Add(time.Duration(s.dueDays) * day)
	configs := map[string]config{}
	cursor := ""
	for {
		var (
			last  string
			count int
			total money.Amount
			more  bool
		)
		err := store.WithTx(ctx, s.db.Client, func(tx *ent.Tx) error {
			var err error
			last, count, total, more, err = s.invoiceBatch(ctx, tx, start, end, cursor, now, due, configs)
			return err
		})
		if err != nil {
			return res, fmt.Errorf("month-end %s: %w", start.In(s.loc).Format("01/2006"), err)
		}
		res.Invoices += count
		res.Total = res.Total.Add(total)
		if !more {
			return res, nil
		}
		cursor = last
	}
}

// lockMonth serializes month-end transactions of one billing month across
// instances: a transaction-level advisory lock on PostgreSQL, released at
// commit or rollback. SQLite needs none: BEGIN IMMEDIATE serializes
// writers.
func (s *Service) lockMonth(ctx context.Context, tx *ent.Tx, start time.Time) error {
	if !s.db.IsPostgres() {
		return nil
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte("billing:postpaid:month-end:" + start.UTC().Format(time.RFC3339)))
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(h.Sum64())); err != nil {
		return fmt.Errorf("lock month: %w", err)
	}
	return nil
}

// overlaps is the condition "usage interval u has at least one minute in
// [$1, $2)": intervals are on whole minutes, so overlapping the month and
// not being empty is enough.
const overlaps = `u.start < $2 AND (u."end" IS NULL OR (u."end" > $1 AND u."end" > u.start))`

// usageRow is one usage interval of a resource to invoice.
type usageRow struct {
	resourceID, accountID, productID string
	interval                         Interval
}

// invoiceBatch invoices the next batch of resources after cursor. It
// returns the last resource id of the batch, how many invoices it created
// and their total, and whether the batch was full (more may follow).
//
// Each step is an index lookup whatever the table statistics say (they
// lag behind while month-end inserts its invoices): the batch's resource
// ids by keyset on usage_intervals (resource_id, start); those already
// invoiced by the unique (resource_id, action, period_start) index; their
// intervals and products by resource id.
func (s *Service) invoiceBatch(ctx context.Context, tx *ent.Tx, start, end time.Time, cursor string,
	now, due time.Time, configs map[string]config) (string, int, money.Amount, bool, error) {
	if err := s.lockMonth(ctx, tx, start); err != nil {
		return "", 0, money.Zero, false, err
	}
	ids, err := queryStrings(ctx, tx, `SELECT DISTINCT u.resource_id FROM usage_intervals u
		WHERE u.resource_id > $3 AND `+overlaps+` ORDER BY u.resource_id LIMIT $4`,
		start, end, cursor, s.batch)
	if err != nil {
		return "", 0, money.Zero, false, fmt.Errorf("select resources: %w", err)
	}
	if len(ids) == 0 {
		return "", 0, money.Zero, false, nil
	}
	last, full := ids[len(ids)-1], len(ids) == s.batch
	in, args := s.inList(ids, 2)
	done, err := queryStrings(ctx, tx, `SELECT resource_id FROM invoices
		WHERE resource_id `+in+` AND action = 'MONTHLY' AND period_start = $1`, append([]any{start}, args...)...)
	if err != nil {
		return "", 0, money.Zero, false, fmt.Errorf("select invoiced resources: %w", err)
	}
	if len(done) > 0 {
		skip := make(map[string]bool, len(done))
		for _, id := range done {
			skip[id] = true
		}
		todo := ids[:0:0]
		for _, id := range ids {
			if !skip[id] {
				todo = append(todo, id)
			}
		}
		ids = todo
	}
	if len(ids) == 0 {
		return last, 0, money.Zero, full, nil
	}
	rows, err := s.readUsage(ctx, tx, start, end, ids, configs)
	if err != nil {
		return "", 0, money.Zero, false, err
	}
	var (
		ins   []invoicing.MonthlyInput
		total money.Amount
	)
	for i := 0; i < len(rows); {
		j := i
		var list []Interval
		for ; j < len(rows) && rows[j].resourceID == rows[i].resourceID; j++ {
			list = append(list, rows[j].interval)
		}
		if b := BillIntervals(list, start, end); len(b.Lines) > 0 {
			ins = append(ins, monthlyInput(rows[i], b, start, end, due))
			total = total.Add(b.Total)
		}
		i = j
	}
	if _, err := s.invoices.CreateMonthly(ctx, tx, now, ins); err != nil {
		return "", 0, money.Zero, false, err
	}
	return last, len(ins), total, full, nil
}

// inList is the condition "IN the ids" with its arguments, numbered from
// $first: one array parameter on PostgreSQL, one parameter per id on
// SQLite (a batch stays far below its 32,766 parameters).
func (s *Service) inList(ids []string, first int) (string, []any) {
	if s.db.IsPostgres() {
		return fmt.Sprintf("= ANY($%d::text[])", first), []any{pq.Array(ids)}
	}
	marks := make([]string, len(ids))
	args := make([]any, len(ids))
	for i, id := range ids {
		marks[i] = fmt.Sprintf("$%d", first+i)
		args[i] = id
	}
	return "IN (" + strings.Join(marks, ", ") + ")", args
}

// queryStrings runs a query of one text column.
func queryStrings(ctx context.Context, tx *ent.Tx, query string, args ...any) ([]string, error) {
	rs, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		var v string
		if err := rs.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rs.Err()
}

// config is a configuration snapshot as stored, parsed once per run:
// resources mostly share a handful of configurations.
type config struct {
	components []pricing.Component
	groups     []rateGroup
}

// maxConfigs bounds the parsed configurations a run remembers.
const maxConfigs = 10_000

// readUsage reads the month's usage intervals of the resources, with
// their products, ordered by resource then start; configs caches the
// parsed component snapshots by their stored JSON.
func (s *Service) readUsage(ctx context.Context, tx *ent.Tx, start, end time.Time, ids []string,
	configs map[string]config) ([]usageRow, error) {
	in, args := s.inList(ids, 3)
	query := `SELECT u.resource_id, u.account_id, r.product_id, u.start, u."end", u.components, u.discount_percent
		FROM usage_intervals u JOIN resources r ON r.id = u.resource_id
		WHERE u.resource_id ` + in + ` AND r.id ` + in + ` AND ` + overlaps + `
		ORDER BY u.resource_id, u.start, u.id`
	rs, err := tx.QueryContext(ctx, query, append([]any{start.UTC(), end.UTC()}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("read usage: %w", err)
	}
	defer rs.Close()
	var out []usageRow
	for rs.Next() {
		var (
			row      usageRow
			product  sql.NullString
			startAt  time.Time
			endAt    sql.NullTime
			comps    []byte
			discount money.Amount
		)
		if err := rs.Scan(&row.resourceID, &row.accountID, &product, &startAt, &endAt, &comps, &discount); err != nil {
			return nil, fmt.Errorf("read usage: %w", err)
		}
		row.productID = product.String
		row.interval = Interval{ResourceID: pulid.ID(row.resourceID), Start: startAt.UTC(), DiscountPercent: discount}
		if endAt.Valid {
			e := endAt.Time.UTC()
			row.interval.End = &e
		}
		c, ok := configs[string(comps)]
		if !ok {
			if err := json.Unmarshal(comps, &c.components); err != nil {
				return nil, fmt.Errorf("read usage of %s: components: %w", row.resourceID, err)
			}
			c.groups = groupByRate(c.components)
			if len(configs) < maxConfigs {
				configs[string(comps)] = c
			}
		}
		row.interval.Components, row.interval.groups = c.components, c.groups
		out = append(out, row)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("read usage: %w", err)
	}
	return out, nil
}

// monthlyInput turns a resource's bill for the month into its invoice.
func monthlyInput(row usageRow, b Bill, start, end, due time.Time) invoicing.MonthlyInput {
	lines := make([]invoicing.MonthlyLine, len(b.Lines))
	for i, l := range b.Lines {
		lines[i] = invoicing.MonthlyLine{
			Description: l.Description, UnitPrice: l.UnitPrice, Quantity: l.Quantity,
			DurationMinutes: l.Minutes, PeriodStart: l.Start, PeriodEnd: l.End,
			DiscountPercent: l.DiscountPercent, Amount: l.Amount,
		}
	}
	return invoicing.MonthlyInput{
		AccountID: pulid.ID(row.accountID), ResourceID: pulid.ID(row.resourceID), ProductID: pulid.ID(row.productID),
		PeriodStart: start, PeriodEnd: end, Lines: lines,
		Subtotal: b.Subtotal, VAT: b.VAT, Discount: b.Discount, Total: b.Total, DueAt: due,
	}
}
