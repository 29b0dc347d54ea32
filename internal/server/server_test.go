package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"billing/internal/auth"
)

func TestHealthReadyMetrics(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for path, want := range map[string]string{"/healthz": `{"status":"ok"}`, "/readyz": `{"status":"ready"}`} {
		resp, err := http.Get(b.srv.URL + path)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		require.JSONEq(t, want, string(body), path)
	}
	r := b.gql(t, b.custA, `query Mine { viewer { role } }`, nil)
	var d struct{ Viewer struct{ Role string } }
	r.mustData(t, &d)
	require.Equal(t, "CUSTOMER", d.Viewer.Role)
	r = b.gql(t, b.custA, `query Broken { auditLogs { totalCount } }`, nil)
	require.Equal(t, []string{"FORBIDDEN"}, r.codes())

	resp, err := http.Get(b.srv.URL + "/metrics")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	require.Contains(t, text, `billing_graphql_requests_total{operation="Mine",kind="query"} 1`)
	require.Contains(t, text, `billing_graphql_errors_total{operation="Mine",kind="query"} 0`)
	require.Contains(t, text, `billing_graphql_errors_total{operation="Broken",kind="query"} 1`)
	require.Contains(t, text, `billing_graphql_request_duration_seconds_count{operation="Mine",kind="query"} 1`)
	require.Contains(t, text, `billing_db_open_connections`)
	require.Contains(t, text, `billing_http_requests_total{path="/graphql",code="200"}`)
}

func TestCatalogAndViewerWallet(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := b.gql(t, b.custA, `{
		products(first: 10) { totalCount edges { node { code allowedPeriods } } }
		plans(first: 100, where: {code: "s-general-1x1"}) { edges { node { code components { code prices { billingMode unitPrice vatRate vatIncluded } } } } }
		viewer { role account { id name type wallet { balance held available } } }
	}`, nil)
	var d struct {
		Products struct {
			TotalCount int
			Edges      []struct {
				Node struct {
					Code           string
					AllowedPeriods []int
				}
			}
		}
		Plans struct {
			Edges []struct {
				Node struct {
					Code       string
					Components []struct {
						Code   string
						Prices []struct {
							BillingMode, UnitPrice, VatRate string
							VatIncluded                     bool
						}
					}
				}
			}
		}
		Viewer struct {
			Role    string
			Account struct {
				ID, Name, Type string
				Wallet         struct{ Balance, Held, Available string }
			}
		}
	}
	r.mustData(t, &d)
	require.Equal(t, 3, d.Products.TotalCount)
	require.Len(t, d.Plans.Edges, 1)
	var flavor string
	for _, c := range d.Plans.Edges[0].Node.Components {
		if c.Code == "flavor" {
			for _, p := range c.Prices {
				if p.BillingMode == "PREPAID" {
					flavor = p.UnitPrice + "/" + p.VatRate + "/" + map[bool]string{true: "incl"}[p.VatIncluded]
				}
			}
		}
	}
	require.Equal(t, "181000/10/incl", flavor)
	require.Equal(t, string(b.accA.ID), d.Viewer.Account.ID)
	require.Equal(t, "PREPAID", d.Viewer.Account.Type)
	require.Equal(t, struct{ Balance, Held, Available string }{"0", "0", "0"}, d.Viewer.Account.Wallet)
}

const adjustMutation = `mutation Adjust($input: AdjustCreditInput!) {
	adjustCredit(input: $input) {
		replayed
		wallet { balance held available }
		entry { kind amount balanceAfter heldAfter availableAfter }
		userErrors { code field message }
	}
}`

type adjustResult struct {
	AdjustCredit struct {
		Replayed bool
		Wallet   *struct{ Balance, Held, Available string }
		Entry    *struct {
			Kind, Amount, BalanceAfter, HeldAfter, AvailableAfter string
		}
		UserErrors []struct {
			Code    string
			Field   []string
			Message string
		}
	}
}

func (b *bundle) adjust(t *testing.T, token string, input map[string]any) (adjustResult, gqlResponse) {
	t.Helper()
	r := b.gql(t, token, adjustMutation, map[string]any{"input": input})
	var out adjustResult
	if len(r.Errors) == 0 {
		require.NoError(t, json.Unmarshal(r.Data, &out))
	}
	return out, r
}

func TestAdjustCredit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	in := map[string]any{"idempotencyKey": "k1", "accountId": string(b.accA.ID), "amount": "500000", "reason": "welcome credit"}
	res, r := b.adjust(t, b.admin, in)
	require.Empty(t, r.Errors)
	require.Empty(t, res.AdjustCredit.UserErrors)
	require.False(t, res.AdjustCredit.Replayed)
	require.Equal(t, "500000", res.AdjustCredit.Wallet.Balance)
	require.Equal(t, "500000", res.AdjustCredit.Wallet.Available)
	require.Equal(t, "ADJUSTMENT", res.AdjustCredit.Entry.Kind)
	require.Equal(t, "500000", res.AdjustCredit.Entry.Amount)
	require.Equal(t, "500000", res.AdjustCredit.Entry.BalanceAfter)
	require.Equal(t, "500000", res.AdjustCredit.Entry.AvailableAfter)

	// Replay: same answer, credited once.
	res, _ = b.adjust(t, b.admin, in)
	require.True(t, res.AdjustCredit.Replayed)
	require.Equal(t, "500000", res.AdjustCredit.Wallet.Balance)

	// Same key, other request.
	in2 := map[string]any{"idempotencyKey": "k1", "accountId": string(b.accA.ID), "amount": "1000", "reason": "welcome credit"}
	res, _ = b.adjust(t, b.admin, in2)
	require.Len(t, res.AdjustCredit.UserErrors, 1)
	require.Equal(t, "IDEMPOTENCY_KEY_REUSED", res.AdjustCredit.UserErrors[0].Code)

	// Debit below zero is refused.
	res, _ = b.adjust(t, b.admin, map[string]any{"idempotencyKey": "k2", "accountId": string(b.accA.ID), "amount": "-500001", "reason": "oops"})
	require.Equal(t, "INSUFFICIENT_CREDIT", res.AdjustCredit.UserErrors[0].Code)

	// A valid debit.
	res, _ = b.adjust(t, b.admin, map[string]any{"idempotencyKey": "k3", "accountId": string(b.accA.ID), "amount": "-200000", "reason": "correction"})
	require.Empty(t, res.AdjustCredit.UserErrors)
	require.Equal(t, "300000", res.AdjustCredit.Wallet.Balance)

	// Credit history as the customer sees it: newest first, balance after each.
	r = b.gql(t, b.custA, `{ viewer { account { creditHistory(first: 10) { totalCount edges { node { kind amount balanceAfter } } } } } }`, nil)
	var h struct {
		Viewer struct {
			Account struct {
				CreditHistory struct {
					TotalCount int
					Edges      []struct {
						Node struct{ Kind, Amount, BalanceAfter string }
					}
				}
			}
		}
	}
	r.mustData(t, &h)
	require.Equal(t, 2, h.Viewer.Account.CreditHistory.TotalCount)
	require.Equal(t, struct{ Kind, Amount, BalanceAfter string }{"ADJUSTMENT", "-200000", "300000"}, h.Viewer.Account.CreditHistory.Edges[0].Node)
	require.Equal(t, struct{ Kind, Amount, BalanceAfter string }{"ADJUSTMENT", "500000", "500000"}, h.Viewer.Account.CreditHistory.Edges[1].Node)

	// The audit log names the operator and the reason.
	r = b.gql(t, b.admin, `{ auditLogs(first: 10, where: {action: "credit.adjust"}) { totalCount edges { node { actor action reason accountID } } } }`, nil)
	var a struct {
		AuditLogs struct {
			TotalCount int
			Edges      []struct {
				Node struct{ Actor, Action, Reason, AccountID string }
			}
		}
	}
	r.mustData(t, &a)
	require.Equal(t, 2, a.AuditLogs.TotalCount)
	for _, e := range a.AuditLogs.Edges {
		require.Equal(t, "ops", e.Node.Actor)
		require.Equal(t, string(b.accA.ID), e.Node.AccountID)
	}
}

func TestAdjustCreditBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := string(b.accA.ID)
	cases := []struct {
		name  string
		token string
		input map[string]any
		code  string // userError code, or top-level code when top is set
		top   bool
	}{
		{"zero", b.admin, map[string]any{"idempotencyKey": "z", "accountId": acc, "amount": "0", "reason": "r"}, "INVALID_INPUT", false},
		{"fraction of a dong", b.admin, map[string]any{"idempotencyKey": "f", "accountId": acc, "amount": "10.5", "reason": "r"}, "INVALID_INPUT", false},
		{"absurd", b.admin, map[string]any{"idempotencyKey": "x", "accountId": acc, "amount": "1000000000000000", "reason": "r"}, "", true},
		{"no reason", b.admin, map[string]any{"idempotencyKey": "n", "accountId": acc, "amount": "1000", "reason": "   "}, "INVALID_INPUT", false},
		{"unknown account", b.admin, map[string]any{"idempotencyKey": "u", "accountId": "acc_01JDX3Q6V7N2M8K4P5R6S7T8V9", "amount": "1000", "reason": "r"}, "NOT_FOUND", false},
		{"malformed account id", b.admin, map[string]any{"idempotencyKey": "m", "accountId": "nope", "amount": "1000", "reason": "r"}, "NOT_FOUND", false},
		{"customer", b.custA, map[string]any{"idempotencyKey": "c", "accountId": acc, "amount": "1000", "reason": "r"}, "FORBIDDEN", true},
		{"read-only member", b.vwA, map[string]any{"idempotencyKey": "v", "accountId": acc, "amount": "1000", "reason": "r"}, "FORBIDDEN", true},
		{"no token", "", map[string]any{"idempotencyKey": "t", "accountId": acc, "amount": "1000", "reason": "r"}, "UNAUTHENTICATED", true},
		{"money as a JSON number", b.admin, map[string]any{"idempotencyKey": "j", "accountId": acc, "amount": 1000, "reason": "r"}, "", true},
	}
	for _, c := range cases {
		res, r := b.adjust(t, c.token, c.input)
		if c.top {
			require.NotEmpty(t, r.Errors, c.name)
			if c.code != "" {
				require.Equal(t, []string{c.code}, r.codes(), c.name)
			}
			continue
		}
		require.Empty(t, r.Errors, c.name)
		require.Len(t, res.AdjustCredit.UserErrors, 1, c.name)
		require.Equal(t, c.code, res.AdjustCredit.UserErrors[0].Code, c.name)
	}
	// Nothing was written.
	r := b.gql(t, b.admin, `{ auditLogs(where: {action: "credit.adjust"}) { totalCount } accounts(where: {id: "`+acc+`"}) { edges { node { wallet { balance } } } } }`, nil)
	var d struct {
		AuditLogs struct{ TotalCount int }
		Accounts  struct {
			Edges []struct {
				Node struct{ Wallet struct{ Balance string } }
			}
		}
	}
	r.mustData(t, &d)
	require.Equal(t, 0, d.AuditLogs.TotalCount)
	require.Equal(t, "0", d.Accounts.Edges[0].Node.Wallet.Balance)
}

func TestHTTPBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// Malformed JSON.
	r := b.post(t, b.custA, "application/json", []byte(`{"query": "{ viewer { role } }"`))
	require.Equal(t, http.StatusBadRequest, r.status)
	require.NotEmpty(t, r.Errors)
	// Unknown field.
	r = b.gql(t, b.custA, `{ viewer { nope } }`, nil)
	require.Equal(t, []string{"GRAPHQL_VALIDATION_FAILED"}, r.codes())
	// Wrong variable type.
	r = b.gql(t, b.custA, `query($n: Int) { resources(first: $n) { totalCount } }`, map[string]any{"n": "ten"})
	require.Equal(t, []string{"GRAPHQL_VALIDATION_FAILED"}, r.codes())
	// Too deep.
	r = b.gql(t, b.admin, `{ accounts { edges { node { resources { edges { node { invoices { edges { node { lines { invoice { resource { account { id } } } } } } } } } } } } } }`, nil)
	require.Equal(t, []string{"QUERY_TOO_DEEP"}, r.codes())
	// Too many tokens.
	r = b.gql(t, b.custA, "{ viewer { "+strings.Repeat("role ", 20000)+"} }", nil)
	require.NotEmpty(t, r.Errors)
	require.Contains(t, r.Errors[0].Message, "token")
	// Malformed cursor.
	r = b.gql(t, b.custA, `{ resources(after: "not-a-cursor") { totalCount } }`, nil)
	require.NotEmpty(t, r.Errors)
	// Page size cap.
	r = b.gql(t, b.custA, `{ plans(first: 1000) { edges { node { id } } } }`, nil)
	var p struct{ Plans struct{ Edges []any } }
	r.mustData(t, &p)
	require.LessOrEqual(t, len(p.Plans.Edges), 100)
	r = b.gql(t, b.custA, `{ plans(first: -1) { totalCount } }`, nil)
	require.Equal(t, []string{"INVALID_INPUT"}, r.codes())
	// Mutations over GET are refused.
	resp, err := http.Get(b.srv.URL + "/graphql?query=" + "mutation%7BadjustCredit(input%3A%7BidempotencyKey%3A%22g%22%2CaccountId%3A%22x%22%2Camount%3A%221%22%2Creason%3A%22r%22%7D)%7Breplayed%7D%7D")
	require.NoError(t, err)
	resp.Body.Close()
	require.NotEqual(t, http.StatusOK, resp.StatusCode)
	// Invalid and expired tokens.
	for _, tok := range []string{"garbage", b.expiredToken(t)} {
		r = b.post(t, tok, "application/json", []byte(`{"query":"{ viewer { role } }"}`))
		require.Equal(t, http.StatusUnauthorized, r.status)
		require.Equal(t, []string{"UNAUTHENTICATED"}, r.codes())
	}
}

func (b *bundle) expiredToken(t *testing.T) string {
	t.Helper()
	iss, err := auth.NewIssuer(testSecret, func() time.Time { return time.Now().Add(-2 * time.Hour) })
	require.NoError(t, err)
	tok, err := iss.Issue(auth.Viewer{Subject: "alice", Role: auth.RoleCustomer, AccountID: string(b.accA.ID)}, time.Hour)
	require.NoError(t, err)
	return tok
}

func TestViewerCannotMutate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := b.gql(t, b.vwA, `mutation { adjustCredit(input: {idempotencyKey: "v", accountId: "`+string(b.accA.ID)+`", amount: "1", reason: "r"}) { replayed } }`, nil)
	require.Equal(t, []string{"FORBIDDEN"}, r.codes())
	require.Equal(t, "null", string(r.Data))
	// But it reads its account.
	r = b.gql(t, b.vwA, `{ viewer { role account { id } } }`, nil)
	var d struct {
		Viewer struct {
			Role    string
			Account struct{ ID string }
		}
	}
	r.mustData(t, &d)
	require.Equal(t, "VIEWER", d.Viewer.Role)
	require.Equal(t, string(b.accA.ID), d.Viewer.Account.ID)
}
