-- Drop index "invoice_account_id" from table: "invoices"
DROP INDEX "invoice_account_id";
-- Drop index "ledgerentry_account_id" from table: "ledger_entries"
DROP INDEX "ledgerentry_account_id";
-- Drop index "ledgertransaction_account_id" from table: "ledger_transactions"
DROP INDEX "ledgertransaction_account_id";
-- Drop index "member_account_id" from table: "members"
DROP INDEX "member_account_id";
-- Drop index "notification_account_id" from table: "notifications"
DROP INDEX "notification_account_id";
-- Drop index "order_account_id" from table: "orders"
DROP INDEX "order_account_id";
-- Drop index "payment_account_id" from table: "payments"
DROP INDEX "payment_account_id";
-- Drop index "resource_account_id" from table: "resources"
DROP INDEX "resource_account_id";
