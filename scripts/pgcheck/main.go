// Command pgcheck exits 0 when the PostgreSQL URL given as its argument
// accepts connections; scripts/test.sh uses it to decide whether the
// PostgreSQL suite can run.
package main

import (
	"context"
	"database/sql"
	"os"
	"time"

	_ "github.com/lib/pq"
)

func main() {
	if len(os.Args) != 2 {
		os.Exit(2)
	}
	db, err := sql.Open("postgres", os.Args[1])
	if err != nil {
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		os.Exit(1)
	}
}
