// Package account manages tenants: a customer organisation with its
// members, its credit wallet and its ledger accounts.
//
// Create opens an account in one transaction: the account (PREPAID unless
// an operator says otherwise), its OWNER member (the token subject that
// will act for it), its empty wallet and its two customer ledger accounts
// (customer:<id>:available and customer:<id>:held, see package ledger),
// plus an audit entry. Accounts are opened by operators or by the process
// itself (seed, provisioning from the identity system), never by a
// customer token.
package account
