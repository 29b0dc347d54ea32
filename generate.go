// Package billing is the root of the billing service. This file holds the
// one code-generation entry point: `make generate` runs `go generate .`,
// which regenerates the ent client, the ent GraphQL schema, the gqlgen
// server and (when the schema changed) a new versioned migration per
// database engine, in that order, from the repository root.
package billing

//go:generate go run -mod=mod ./ent/entc.go
//go:generate go tool gqlgen generate --config gqlgen.yml
//go:generate go run ./internal/store/migrategen
