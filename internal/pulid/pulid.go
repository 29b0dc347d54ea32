// Package pulid makes the service's identifiers: a short type prefix and a
// ULID, such as "acc_01JDX3Q6V7N2M8K4P5R6S7T8V9".
//
// The prefix makes an id opaque yet typed: node(id) finds the table from the
// prefix alone, an id of the wrong type is rejected before any query runs,
// and operators can tell an invoice id from a payment id in a log line. ULIDs
// sort by creation time, so cursors over ids follow creation order.
package pulid

import (
	"crypto/rand"
	"database/sql/driver"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// ID is a prefixed ULID.
type ID string

var (
	entropyMu sync.Mutex
	entropy   = ulid.Monotonic(rand.Reader, 0)
)

// New returns a fresh ID with the given prefix (without the underscore).
func New(prefix string) ID {
	entropyMu.Lock()
	u := ulid.MustNew(ulid.Timestamp(time.Now()), entropy)
	entropyMu.Unlock()
	return ID(prefix + "_" + u.String())
}

// Prefix returns the type prefix of the id, or "" if it has none.
func (id ID) Prefix() string {
	p, _, ok := strings.Cut(string(id), "_")
	if !ok {
		return ""
	}
	return p
}

// Valid reports whether the id is a prefix, an underscore and a ULID.
func (id ID) Valid() bool {
	p, rest, ok := strings.Cut(string(id), "_")
	if !ok || p == "" || len(p) > 8 || len(rest) != ulid.EncodedSize {
		return false
	}
	_, err := ulid.ParseStrict(rest)
	return err == nil
}

// String returns the id as text.
func (id ID) String() string { return string(id) }

// Scan implements sql.Scanner.
func (id *ID) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*id = ""
	case string:
		*id = ID(v)
	case []byte:
		*id = ID(string(v))
	default:
		return fmt.Errorf("pulid: unexpected type %T", src)
	}
	return nil
}

// Value implements driver.Valuer.
func (id ID) Value() (driver.Value, error) { return string(id), nil }

// UnmarshalGQL reads an ID scalar; it must be a string.
func (id *ID) UnmarshalGQL(v any) error {
	switch s := v.(type) {
	case string:
		*id = ID(s)
	case ID:
		*id = s
	default:
		return fmt.Errorf("ID must be a string")
	}
	return nil
}

// MarshalGQL writes the ID scalar.
func (id ID) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(id))) }
