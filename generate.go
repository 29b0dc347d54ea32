// Package billing is the root of the billing service. This file holds the
// one code-generation entry point: `make generate` runs `go generate .`,
// which regenerates the ent client, the ent GraphQL schema and the gqlgen
// server, in that order, from the repository root.
package billing

//go:generate go run -mod=mod ./ent/entc.go
//go:generate go tool gqlgen generate --config gqlgen.yml
