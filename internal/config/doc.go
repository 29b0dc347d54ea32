// Package config reads the service's configuration from environment variables
// and command-line flags.
//
// Every setting has an environment variable BILLING_<NAME> and a flag
// -<name>; a flag given on the command line wins over the variable, which wins
// over the default. An empty variable counts as unset. The defaults run the
// embedded mode: SQLite under ./data, a signing secret generated there, the
// sandbox payment gateway, listening on loopback only. Setting a database URL
// switches to PostgreSQL, which then requires an explicit signing secret and
// an explicit sslmode for any host that is not on this machine.
//
// Usage renders the table of settings for the README from the same list Load
// reads, so the two cannot drift apart.
package config
