// Package provision hands paid resources to the product services that
// create them (vServer, vStorage, vMonitor…) and carries their answer back
// to the checkout.
//
// Provisioner has two implementations:
//
//   - External, for production: the product service picks the resource up
//     through its own integration and reports the outcome with a service
//     token through the reportProvisioning mutation
//     (checkout.(*Service).ReportProvisioning).
//   - Simulator, for development and tests: it decides success or failure
//     itself — at a configured failure rate from a seeded generator, or as a
//     test tells it with FailResource / FailWhen — and reports through the
//     ReportFunc it was given, after Delay on the injected clock. Delay 0 is
//     the synchronous mode: the result is reported before Provision
//     returns, so tests need no sleeps. With a delay, Wait blocks until
//     every scheduled result has been reported (advance the fake clock
//     first) and Stop drops what is still pending at shutdown.
//
// The checkout calls Provision only after the payment transaction has
// committed, once per resource, so a slow or failing product service never
// holds a database transaction open. Both the simulator's report and the
// mutation end in the same checkout method, which applies a result exactly
// once.
package provision
