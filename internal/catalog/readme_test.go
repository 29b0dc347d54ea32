package catalog

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"billing/ent/price"
	"billing/internal/money"
)

var update = flag.Bool("update", false, "rewrite the generated tables in README.md")

const (
	tablesBegin = "<!-- seed tables: generated from seed_data.go by `go test ./internal/catalog -run TestREADME -update` -->\n"
	tablesEnd   = "<!-- end of seed tables -->\n"
)

// TestREADMEPriceTable keeps the README's tables equal to the seed data.
func TestREADMEPriceTable(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("README.md")
	require.NoError(t, err)
	readme := string(raw)
	i, j := strings.Index(readme, tablesBegin), strings.Index(readme, tablesEnd)
	require.True(t, i >= 0 && j > i, "README.md lacks the seed table markers")
	want := readme[:i+len(tablesBegin)] + renderSeedTables() + readme[j:]
	if *update {
		require.NoError(t, os.WriteFile("README.md", []byte(want), 0o644))
		return
	}
	require.Equal(t, want, readme, "README.md is out of date: run go test ./internal/catalog -run TestREADME -update")
}

func renderSeedTables() string {
	var b strings.Builder
	b.WriteString("\n| product | code | periods (months) | refundable | grace | suspension | trash | auto-renew may be turned off |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, p := range seedCatalog {
		periods := make([]string, len(p.Periods))
		for i, m := range p.Periods {
			periods[i] = strconv.Itoa(m)
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %d days | %d days | %d days | %s |\n",
			p.Name, p.Code, strings.Join(periods, ", "), yesNo(p.Refundable),
			p.GraceDays, p.SuspensionDays, p.TrashDays, yesNo(p.AutoRenewOptional))
	}

	b.WriteString("\nPrices per unit per 30 days. Prepaid: VAT 10% included. Postpaid: VAT 10% added on the invoice.\n\n")
	b.WriteString("| product | plan | component | unit | quantity (min–max, step; default) | prepaid, VAT incl. | postpaid, excl. VAT |\n")
	b.WriteString("|---|---|---|---|---|--:|--:|\n")
	for _, p := range seedCatalog {
		for _, pl := range p.Plans {
			for _, c := range pl.Components {
				var pre, post money.Amount
				for _, pr := range c.Prices {
					if pr.Mode == price.BillingModePREPAID {
						pre = pr.UnitPrice
					} else {
						post = pr.UnitPrice
					}
				}
				fmt.Fprintf(&b, "| %s | `%s` | `%s` | %s | %d–%d, step %d; %d | %s | %s |\n",
					p.Name, pl.Code, c.Code, c.Unit, c.Min, c.Max, c.Step, c.Default, pre.Format(), post.Format())
			}
		}
	}
	b.WriteString("\n")
	return b.String()
}

func yesNo(v bool) string {
	if v {
		return "yes"
	}
	return "no"
}
