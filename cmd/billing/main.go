// Command billing is the billing and payment back end: one binary with the
// subcommands serve (the default), migrate, seed and token.
//
//	billing [serve] [flags]     run the GraphQL server (and the scheduler)
//	billing migrate [flags]     apply database migrations and exit
//	billing seed [flags]        seed the catalog and a demo account
//	billing token --role R [--account ID] [--subject S] [--ttl D]
//	                            print a signed bearer token on stdout
//	billing jobs list           the scheduled jobs and their next run
//	billing jobs run NAME       run one job now, once
//
// Configuration comes from BILLING_* environment variables, with flags of
// the same names (see README).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "billing:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
		return serve(ctx, args, getenv, stderr)
	case "migrate":
		return migrate(ctx, args, getenv, stderr)
	case "seed":
		return seed(ctx, args, getenv, stderr)
	case "token":
		return token(args, getenv, stdout, stderr)
	case "jobs":
		return jobsCmd(ctx, args, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		return fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
}

const usage = `usage: billing [command] [flags]

commands:
  serve     run the GraphQL server (default)
  migrate   apply database migrations and exit
  seed      seed the catalog and the demo account (idempotent)
  token     print a signed token: token --role admin|customer|viewer|service [--account ID]
  jobs      list the scheduled jobs with their next run (jobs list), or run one now (jobs run NAME)

Every command takes the configuration flags (billing serve -h lists them).
`

func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
