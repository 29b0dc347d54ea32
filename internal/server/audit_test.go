package server_test

import (
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"

	"billing/internal/testdb"
)

// TestGraphQLOverHTTPAudit runs the graphql-http package's serverAudits
// (scripts/graphql-http-audit) against the server: every MUST must pass.
// The audit's requests use __type, so it runs with an operator token
// (introspection is for operators outside dev mode). It needs Node.js and npm; CI has both (BILLING_REQUIRE_NODE=1 makes a
// missing Node a failure instead of a skip).
func TestGraphQLOverHTTPAudit(t *testing.T) {
	if testdb.Postgres() {
		t.Skip("HTTP-level audit runs once, in the SQLite suite: it does not depend on the engine")
	}
	if _, err := exec.LookPath("npm"); err != nil {
		if os.Getenv("BILLING_REQUIRE_NODE") == "1" {
			t.Fatal("npm not found: the graphql-http audit cannot run")
		}
		t.Skip("npm not found: graphql-http audit not run")
	}
	b := setup(t)
	cmd := exec.Command("bash", "../../scripts/graphql-http-audit/run.sh", b.srv.URL+"/graphql")
	cmd.Env = append(os.Environ(), "AUDIT_TOKEN="+b.admin)
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	require.NoError(t, err)
	require.Regexp(t, `(?m)^\d+ passed, 0 failed$`, string(out))
}
