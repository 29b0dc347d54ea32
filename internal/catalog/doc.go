// Package catalog owns what the cloud sells: products (vServer, vStorage,
// vMonitor) with their lifecycle policy, the plans customers buy, the
// components a plan is made of and the price of each component per billing
// mode.
//
// Seed inserts the reference catalog of seed_data.go. It only ever adds
// rows that are missing, inside one transaction whose first statement
// row-locks the first product, so it is safe to run on every start and from
// several instances at once; operators change prices afterwards through the
// admin API, and a later Seed never overwrites them.
//
// The read helpers are what a checkout needs to turn "plan + quantities"
// into a price snapshot: ActivePlan loads a plan that may still be sold,
// PriceComponents validates the chosen quantities and attaches the active
// price of the billing mode, PeriodPrice sums a snapshot per 30 days, and
// AllowedPeriod checks the number of months against the product's policy.
// Expected failures are fault errors (NotFound, Invalid) naming the input
// field they concern. See README.md for the seeded prices.
package catalog
