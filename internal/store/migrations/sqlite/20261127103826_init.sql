-- Create "accounts" table
CREATE TABLE `accounts` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL, `email` text NULL, `type` text NOT NULL DEFAULT ('PREPAID'), `credit_limit` integer NOT NULL, `status` text NOT NULL DEFAULT ('ACTIVE'), PRIMARY KEY (`id`));
-- Create index "account_type" to table: "accounts"
CREATE INDEX `account_type` ON `accounts` (`type`);
-- Create "audit_logs" table
CREATE TABLE `audit_logs` (`id` text NOT NULL, `account_id` text NULL, `actor` text NOT NULL, `actor_role` text NOT NULL, `action` text NOT NULL, `target_type` text NOT NULL DEFAULT (''), `target_id` text NOT NULL DEFAULT (''), `reason` text NOT NULL DEFAULT (''), `details` json NULL, `request_id` text NOT NULL DEFAULT (''), `created_at` datetime NOT NULL, PRIMARY KEY (`id`));
-- Create index "auditlog_account_id" to table: "audit_logs"
CREATE INDEX `auditlog_account_id` ON `audit_logs` (`account_id`);
-- Create index "auditlog_created_at" to table: "audit_logs"
CREATE INDEX `auditlog_created_at` ON `audit_logs` (`created_at`);
-- Create index "auditlog_target_id" to table: "audit_logs"
CREATE INDEX `auditlog_target_id` ON `audit_logs` (`target_id`);
-- Create index "auditlog_action" to table: "audit_logs"
CREATE INDEX `auditlog_action` ON `audit_logs` (`action`);
-- Create index "auditlog_actor" to table: "audit_logs"
CREATE INDEX `auditlog_actor` ON `audit_logs` (`actor`);
-- Create "coupons" table
CREATE TABLE `coupons` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `code` text NOT NULL, `description` text NOT NULL DEFAULT (''), `kind` text NOT NULL, `amount` integer NOT NULL, `percent` integer NOT NULL, `cap` integer NULL, `product_codes` json NULL, `valid_from` datetime NULL, `valid_until` datetime NULL, `min_order_amount` integer NOT NULL, `max_redemptions` integer NULL, `per_account_limit` integer NOT NULL DEFAULT (1), `first_order_only` bool NOT NULL DEFAULT (false), `redeemed_count` integer NOT NULL DEFAULT (0), `active` bool NOT NULL DEFAULT (true), PRIMARY KEY (`id`));
-- Create index "coupons_code_key" to table: "coupons"
CREATE UNIQUE INDEX `coupons_code_key` ON `coupons` (`code`);
-- Create "coupon_redemptions" table
CREATE TABLE `coupon_redemptions` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `account_id` text NOT NULL, `coupon_id` text NOT NULL, `order_id` text NOT NULL, `status` text NOT NULL DEFAULT ('RESERVED'), `amount` integer NOT NULL, PRIMARY KEY (`id`));
-- Create index "couponredemption_account_id" to table: "coupon_redemptions"
CREATE INDEX `couponredemption_account_id` ON `coupon_redemptions` (`account_id`);
-- Create index "couponredemption_coupon_id_account_id_status" to table: "coupon_redemptions"
CREATE INDEX `couponredemption_coupon_id_account_id_status` ON `coupon_redemptions` (`coupon_id`, `account_id`, `status`);
-- Create index "couponredemption_order_id" to table: "coupon_redemptions"
CREATE UNIQUE INDEX `couponredemption_order_id` ON `coupon_redemptions` (`order_id`);
-- Create "gateway_attempts" table
CREATE TABLE `gateway_attempts` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `account_id` text NOT NULL, `gateway` text NOT NULL, `txn_ref` text NOT NULL, `amount` integer NOT NULL, `status` text NOT NULL DEFAULT ('CREATED'), `gateway_transaction_no` text NULL, `response_code` text NULL, `bank_code` text NULL, `paid_at` datetime NULL, `linked_account_id` text NULL, `payment_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `gateway_attempts_payments_attempts` FOREIGN KEY (`payment_id`) REFERENCES `payments` (`id`) ON DELETE NO ACTION);
-- Create index "gateway_attempts_txn_ref_key" to table: "gateway_attempts"
CREATE UNIQUE INDEX `gateway_attempts_txn_ref_key` ON `gateway_attempts` (`txn_ref`);
-- Create index "gateway_attempts_gateway_transaction_no_key" to table: "gateway_attempts"
CREATE UNIQUE INDEX `gateway_attempts_gateway_transaction_no_key` ON `gateway_attempts` (`gateway_transaction_no`);
-- Create index "gatewayattempt_account_id" to table: "gateway_attempts"
CREATE INDEX `gatewayattempt_account_id` ON `gateway_attempts` (`account_id`);
-- Create index "gatewayattempt_payment_id" to table: "gateway_attempts"
CREATE INDEX `gatewayattempt_payment_id` ON `gateway_attempts` (`payment_id`);
-- Create index "gatewayattempt_status" to table: "gateway_attempts"
CREATE INDEX `gatewayattempt_status` ON `gateway_attempts` (`status`);
-- Create "holds" table
CREATE TABLE `holds` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `account_id` text NOT NULL, `amount` integer NOT NULL, `status` text NOT NULL DEFAULT ('ACTIVE'), `reason` text NOT NULL DEFAULT (''), `payment_id` text NULL, `resolved_at` datetime NULL, PRIMARY KEY (`id`));
-- Create index "hold_account_id" to table: "holds"
CREATE INDEX `hold_account_id` ON `holds` (`account_id`);
-- Create index "hold_payment_id" to table: "holds"
CREATE INDEX `hold_payment_id` ON `holds` (`payment_id`);
-- Create index "hold_status" to table: "holds"
CREATE INDEX `hold_status` ON `holds` (`status`);
-- Create "idempotency_records" table
CREATE TABLE `idempotency_records` (`id` text NOT NULL, `scope` text NOT NULL, `key` text NOT NULL, `operation` text NOT NULL, `request_hash` text NOT NULL, `response` blob NULL, `created_at` datetime NOT NULL, PRIMARY KEY (`id`));
-- Create index "idempotencyrecord_scope_key" to table: "idempotency_records"
CREATE UNIQUE INDEX `idempotencyrecord_scope_key` ON `idempotency_records` (`scope`, `key`);
-- Create "invoices" table
CREATE TABLE `invoices` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `code` text NOT NULL, `product_id` text NULL, `order_id` text NULL, `action` text NOT NULL, `status` text NOT NULL, `period_start` datetime NOT NULL, `period_end` datetime NOT NULL, `subtotal` integer NOT NULL, `vat` integer NOT NULL, `discount` integer NOT NULL, `total` integer NOT NULL, `amount_paid` integer NOT NULL, `currency` text NOT NULL DEFAULT ('VND'), `issued_at` datetime NOT NULL, `due_at` datetime NULL, `paid_at` datetime NULL, `superseded_by_id` text NULL, `account_id` text NOT NULL, `resource_id` text NULL, PRIMARY KEY (`id`), CONSTRAINT `invoices_accounts_invoices` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE NO ACTION, CONSTRAINT `invoices_resources_invoices` FOREIGN KEY (`resource_id`) REFERENCES `resources` (`id`) ON DELETE SET NULL);
-- Create index "invoices_code_key" to table: "invoices"
CREATE UNIQUE INDEX `invoices_code_key` ON `invoices` (`code`);
-- Create index "invoice_account_id" to table: "invoices"
CREATE INDEX `invoice_account_id` ON `invoices` (`account_id`);
-- Create index "invoice_account_id_status_issued_at" to table: "invoices"
CREATE INDEX `invoice_account_id_status_issued_at` ON `invoices` (`account_id`, `status`, `issued_at`);
-- Create index "invoice_status_due_at" to table: "invoices"
CREATE INDEX `invoice_status_due_at` ON `invoices` (`status`, `due_at`);
-- Create index "invoice_action" to table: "invoices"
CREATE INDEX `invoice_action` ON `invoices` (`action`);
-- Create index "invoice_product_id" to table: "invoices"
CREATE INDEX `invoice_product_id` ON `invoices` (`product_id`);
-- Create index "invoice_issued_at" to table: "invoices"
CREATE INDEX `invoice_issued_at` ON `invoices` (`issued_at`);
-- Create index "invoice_resource_id_action_period_start" to table: "invoices"
CREATE UNIQUE INDEX `invoice_resource_id_action_period_start` ON `invoices` (`resource_id`, `action`, `period_start`);
-- Create "invoice_lines" table
CREATE TABLE `invoice_lines` (`id` text NOT NULL, `account_id` text NOT NULL, `position` integer NOT NULL, `description` text NOT NULL, `unit_price` integer NOT NULL, `quantity` integer NOT NULL, `duration_minutes` integer NOT NULL, `period_start` datetime NULL, `period_end` datetime NULL, `discount_percent` integer NOT NULL, `coupon_share` integer NOT NULL, `amount` integer NOT NULL, `invoice_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `invoice_lines_invoices_lines` FOREIGN KEY (`invoice_id`) REFERENCES `invoices` (`id`) ON DELETE NO ACTION);
-- Create index "invoiceline_account_id" to table: "invoice_lines"
CREATE INDEX `invoiceline_account_id` ON `invoice_lines` (`account_id`);
-- Create index "invoiceline_invoice_id_position" to table: "invoice_lines"
CREATE UNIQUE INDEX `invoiceline_invoice_id_position` ON `invoice_lines` (`invoice_id`, `position`);
-- Create "invoice_sequences" table
CREATE TABLE `invoice_sequences` (`id` text NOT NULL, `last_value` integer NOT NULL DEFAULT (0), PRIMARY KEY (`id`));
-- Create "ledger_accounts" table
CREATE TABLE `ledger_accounts` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `account_id` text NULL, `code` text NOT NULL, `kind` text NOT NULL, `currency` text NOT NULL DEFAULT ('VND'), PRIMARY KEY (`id`));
-- Create index "ledger_accounts_code_key" to table: "ledger_accounts"
CREATE UNIQUE INDEX `ledger_accounts_code_key` ON `ledger_accounts` (`code`);
-- Create index "ledgeraccount_account_id" to table: "ledger_accounts"
CREATE INDEX `ledgeraccount_account_id` ON `ledger_accounts` (`account_id`);
-- Create "ledger_entries" table
CREATE TABLE `ledger_entries` (`id` text NOT NULL, `account_id` text NULL, `ledger_account_id` text NOT NULL, `kind` text NOT NULL, `ledger_kind` text NOT NULL, `amount` integer NOT NULL, `balance_after` integer NULL, `held_after` integer NULL, `description` text NOT NULL DEFAULT (''), `reference` text NULL, `created_at` datetime NOT NULL, `transaction_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `ledger_entries_ledger_transactions_entries` FOREIGN KEY (`transaction_id`) REFERENCES `ledger_transactions` (`id`) ON DELETE NO ACTION);
-- Create index "ledgerentry_account_id" to table: "ledger_entries"
CREATE INDEX `ledgerentry_account_id` ON `ledger_entries` (`account_id`);
-- Create index "ledgerentry_ledger_account_id_created_at" to table: "ledger_entries"
CREATE INDEX `ledgerentry_ledger_account_id_created_at` ON `ledger_entries` (`ledger_account_id`, `created_at`);
-- Create index "ledgerentry_account_id_ledger_kind_created_at" to table: "ledger_entries"
CREATE INDEX `ledgerentry_account_id_ledger_kind_created_at` ON `ledger_entries` (`account_id`, `ledger_kind`, `created_at`);
-- Create index "ledgerentry_transaction_id" to table: "ledger_entries"
CREATE INDEX `ledgerentry_transaction_id` ON `ledger_entries` (`transaction_id`);
-- Create "ledger_transactions" table
CREATE TABLE `ledger_transactions` (`id` text NOT NULL, `account_id` text NULL, `kind` text NOT NULL, `description` text NOT NULL DEFAULT (''), `reference` text NULL, `actor` text NULL, `created_at` datetime NOT NULL, PRIMARY KEY (`id`));
-- Create index "ledgertransaction_account_id" to table: "ledger_transactions"
CREATE INDEX `ledgertransaction_account_id` ON `ledger_transactions` (`account_id`);
-- Create index "ledgertransaction_reference" to table: "ledger_transactions"
CREATE INDEX `ledgertransaction_reference` ON `ledger_transactions` (`reference`);
-- Create index "ledgertransaction_account_id_created_at" to table: "ledger_transactions"
CREATE INDEX `ledgertransaction_account_id_created_at` ON `ledger_transactions` (`account_id`, `created_at`);
-- Create "lifecycle_steps" table
CREATE TABLE `lifecycle_steps` (`id` text NOT NULL, `resource_id` text NOT NULL, `period_end` datetime NOT NULL, `step` text NOT NULL, `outcome` text NOT NULL DEFAULT (''), `created_at` datetime NOT NULL, PRIMARY KEY (`id`));
-- Create index "lifecyclestep_resource_id_period_end_step" to table: "lifecycle_steps"
CREATE UNIQUE INDEX `lifecyclestep_resource_id_period_end_step` ON `lifecycle_steps` (`resource_id`, `period_end`, `step`);
-- Create "linked_accounts" table
CREATE TABLE `linked_accounts` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `account_id` text NOT NULL, `gateway` text NOT NULL, `token` text NOT NULL, `label` text NOT NULL DEFAULT (''), `active` bool NOT NULL DEFAULT (true), PRIMARY KEY (`id`));
-- Create index "linkedaccount_account_id" to table: "linked_accounts"
CREATE INDEX `linkedaccount_account_id` ON `linked_accounts` (`account_id`);
-- Create "members" table
CREATE TABLE `members` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `subject` text NOT NULL, `email` text NULL, `role` text NOT NULL DEFAULT ('OWNER'), `account_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `members_accounts_members` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE NO ACTION);
-- Create index "member_account_id" to table: "members"
CREATE INDEX `member_account_id` ON `members` (`account_id`);
-- Create index "member_account_id_subject" to table: "members"
CREATE UNIQUE INDEX `member_account_id_subject` ON `members` (`account_id`, `subject`);
-- Create "notifications" table
CREATE TABLE `notifications` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `account_id` text NOT NULL, `kind` text NOT NULL, `resource_id` text NULL, `title` text NOT NULL, `body` text NOT NULL, `dedupe_key` text NOT NULL, `read_at` datetime NULL, `emailed_at` datetime NULL, `account_notifications` text NULL, PRIMARY KEY (`id`), CONSTRAINT `notifications_accounts_notifications` FOREIGN KEY (`account_notifications`) REFERENCES `accounts` (`id`) ON DELETE SET NULL);
-- Create index "notifications_dedupe_key_key" to table: "notifications"
CREATE UNIQUE INDEX `notifications_dedupe_key_key` ON `notifications` (`dedupe_key`);
-- Create index "notification_account_id" to table: "notifications"
CREATE INDEX `notification_account_id` ON `notifications` (`account_id`);
-- Create index "notification_account_id_read_at" to table: "notifications"
CREATE INDEX `notification_account_id_read_at` ON `notifications` (`account_id`, `read_at`);
-- Create index "notification_kind" to table: "notifications"
CREATE INDEX `notification_kind` ON `notifications` (`kind`);
-- Create "orders" table
CREATE TABLE `orders` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `status` text NOT NULL DEFAULT ('PENDING'), `coupon_id` text NULL, `coupon_code` text NULL, `subtotal` integer NOT NULL, `discount` integer NOT NULL, `total` integer NOT NULL, `currency` text NOT NULL DEFAULT ('VND'), `idempotency_key` text NULL, `account_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `orders_accounts_orders` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE NO ACTION);
-- Create index "order_account_id" to table: "orders"
CREATE INDEX `order_account_id` ON `orders` (`account_id`);
-- Create index "order_status" to table: "orders"
CREATE INDEX `order_status` ON `orders` (`status`);
-- Create index "order_account_id_created_at" to table: "orders"
CREATE INDEX `order_account_id_created_at` ON `orders` (`account_id`, `created_at`);
-- Create index "order_created_at" to table: "orders"
CREATE INDEX `order_created_at` ON `orders` (`created_at`);
-- Create "order_items" table
CREATE TABLE `order_items` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `account_id` text NOT NULL, `action` text NOT NULL, `plan_id` text NULL, `resource_id` text NULL, `quantity` integer NOT NULL DEFAULT (1), `period_months` integer NOT NULL DEFAULT (0), `components` json NOT NULL, `amount` integer NOT NULL, `discount` integer NOT NULL, `total` integer NOT NULL, `status` text NOT NULL DEFAULT ('PENDING'), `failure_reason` text NULL, `order_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `order_items_orders_items` FOREIGN KEY (`order_id`) REFERENCES `orders` (`id`) ON DELETE NO ACTION);
-- Create index "orderitem_account_id" to table: "order_items"
CREATE INDEX `orderitem_account_id` ON `order_items` (`account_id`);
-- Create index "orderitem_order_id" to table: "order_items"
CREATE INDEX `orderitem_order_id` ON `order_items` (`order_id`);
-- Create index "orderitem_resource_id" to table: "order_items"
CREATE INDEX `orderitem_resource_id` ON `order_items` (`resource_id`);
-- Create "outbox_events" table
CREATE TABLE `outbox_events` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `topic` text NOT NULL, `account_id` text NULL, `subject_id` text NULL, `payload` blob NOT NULL, `created_at` datetime NOT NULL);
-- Create index "outboxevent_created_at" to table: "outbox_events"
CREATE INDEX `outboxevent_created_at` ON `outbox_events` (`created_at`);
-- Create "payments" table
CREATE TABLE `payments` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `purpose` text NOT NULL, `method` text NOT NULL, `status` text NOT NULL DEFAULT ('PENDING'), `amount` integer NOT NULL, `credit_amount` integer NOT NULL, `gateway_amount` integer NOT NULL, `refunded_amount` integer NOT NULL, `currency` text NOT NULL DEFAULT ('VND'), `hold_id` text NULL, `redirect_url` text NULL, `return_url` text NULL, `expires_at` datetime NULL, `failure_reason` text NULL, `invoice_ids` json NULL, `idempotency_key` text NULL, `account_id` text NOT NULL, `order_id` text NULL, PRIMARY KEY (`id`), CONSTRAINT `payments_accounts_payments` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE NO ACTION, CONSTRAINT `payments_orders_payments` FOREIGN KEY (`order_id`) REFERENCES `orders` (`id`) ON DELETE SET NULL);
-- Create index "payment_account_id" to table: "payments"
CREATE INDEX `payment_account_id` ON `payments` (`account_id`);
-- Create index "payment_status_expires_at" to table: "payments"
CREATE INDEX `payment_status_expires_at` ON `payments` (`status`, `expires_at`);
-- Create index "payment_account_id_created_at" to table: "payments"
CREATE INDEX `payment_account_id_created_at` ON `payments` (`account_id`, `created_at`);
-- Create index "payment_method" to table: "payments"
CREATE INDEX `payment_method` ON `payments` (`method`);
-- Create index "payment_purpose" to table: "payments"
CREATE INDEX `payment_purpose` ON `payments` (`purpose`);
-- Create index "payment_created_at" to table: "payments"
CREATE INDEX `payment_created_at` ON `payments` (`created_at`);
-- Create "plans" table
CREATE TABLE `plans` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `code` text NOT NULL, `name` text NOT NULL, `description` text NOT NULL DEFAULT (''), `active` bool NOT NULL DEFAULT (true), `sort_order` integer NOT NULL DEFAULT (0), `product_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `plans_products_plans` FOREIGN KEY (`product_id`) REFERENCES `products` (`id`) ON DELETE NO ACTION);
-- Create index "plans_code_key" to table: "plans"
CREATE UNIQUE INDEX `plans_code_key` ON `plans` (`code`);
-- Create index "plan_product_id" to table: "plans"
CREATE INDEX `plan_product_id` ON `plans` (`product_id`);
-- Create "plan_components" table
CREATE TABLE `plan_components` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `code` text NOT NULL, `name` text NOT NULL, `unit` text NOT NULL, `min_quantity` integer NOT NULL DEFAULT (1), `max_quantity` integer NOT NULL DEFAULT (1), `default_quantity` integer NOT NULL DEFAULT (1), `step` integer NOT NULL DEFAULT (1), `plan_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `plan_components_plans_components` FOREIGN KEY (`plan_id`) REFERENCES `plans` (`id`) ON DELETE NO ACTION);
-- Create index "plancomponent_plan_id_code" to table: "plan_components"
CREATE UNIQUE INDEX `plancomponent_plan_id_code` ON `plan_components` (`plan_id`, `code`);
-- Create "prices" table
CREATE TABLE `prices` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `billing_mode` text NOT NULL, `per` text NOT NULL DEFAULT ('PERIOD_30_DAYS'), `unit_price` integer NOT NULL, `vat_rate` integer NOT NULL, `vat_included` bool NOT NULL, `active` bool NOT NULL DEFAULT (true), `component_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `prices_plan_components_prices` FOREIGN KEY (`component_id`) REFERENCES `plan_components` (`id`) ON DELETE NO ACTION);
-- Create index "price_component_id_billing_mode" to table: "prices"
CREATE INDEX `price_component_id_billing_mode` ON `prices` (`component_id`, `billing_mode`);
-- Create "products" table
CREATE TABLE `products` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `code` text NOT NULL, `name` text NOT NULL, `description` text NOT NULL DEFAULT (''), `allowed_periods` json NOT NULL, `refundable` bool NOT NULL DEFAULT (true), `grace_days` integer NOT NULL DEFAULT (15), `suspension_days` integer NOT NULL DEFAULT (15), `trash_days` integer NOT NULL DEFAULT (7), `auto_renew_optional` bool NOT NULL DEFAULT (true), `active` bool NOT NULL DEFAULT (true), PRIMARY KEY (`id`));
-- Create index "products_code_key" to table: "products"
CREATE UNIQUE INDEX `products_code_key` ON `products` (`code`);
-- Create "resources" table
CREATE TABLE `resources` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `product_id` text NOT NULL, `plan_id` text NOT NULL, `name` text NOT NULL, `billing_mode` text NOT NULL, `state` text NOT NULL DEFAULT ('PENDING'), `suspend_reason` text NULL, `components` json NOT NULL, `period_price` integer NOT NULL, `period_paid` integer NOT NULL, `period_months` integer NOT NULL DEFAULT (0), `period_start` datetime NULL, `period_end` datetime NULL, `auto_renew` bool NOT NULL DEFAULT (false), `auto_renew_months` integer NOT NULL DEFAULT (1), `trashed_at` datetime NULL, `purge_at` datetime NULL, `released_at` datetime NULL, `external_ref` text NULL, `account_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `resources_accounts_resources` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE NO ACTION);
-- Create index "resource_account_id" to table: "resources"
CREATE INDEX `resource_account_id` ON `resources` (`account_id`);
-- Create index "resource_state_period_end" to table: "resources"
CREATE INDEX `resource_state_period_end` ON `resources` (`state`, `period_end`);
-- Create index "resource_account_id_state" to table: "resources"
CREATE INDEX `resource_account_id_state` ON `resources` (`account_id`, `state`);
-- Create index "resource_product_id" to table: "resources"
CREATE INDEX `resource_product_id` ON `resources` (`product_id`);
-- Create index "resource_plan_id" to table: "resources"
CREATE INDEX `resource_plan_id` ON `resources` (`plan_id`);
-- Create index "resource_billing_mode" to table: "resources"
CREATE INDEX `resource_billing_mode` ON `resources` (`billing_mode`);
-- Create index "resource_auto_renew" to table: "resources"
CREATE INDEX `resource_auto_renew` ON `resources` (`auto_renew`);
-- Create index "resource_purge_at" to table: "resources"
CREATE INDEX `resource_purge_at` ON `resources` (`purge_at`);
-- Create index "resource_suspend_reason" to table: "resources"
CREATE INDEX `resource_suspend_reason` ON `resources` (`suspend_reason`);
-- Create index "resource_period_end" to table: "resources"
CREATE INDEX `resource_period_end` ON `resources` (`period_end`);
-- Create index "resource_created_at" to table: "resources"
CREATE INDEX `resource_created_at` ON `resources` (`created_at`);
-- Create "usage_intervals" table
CREATE TABLE `usage_intervals` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `account_id` text NOT NULL, `start` datetime NOT NULL, `end` datetime NULL, `components` json NOT NULL, `discount_percent` integer NOT NULL, `resource_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `usage_intervals_resources_usage_intervals` FOREIGN KEY (`resource_id`) REFERENCES `resources` (`id`) ON DELETE NO ACTION);
-- Create index "usageinterval_account_id" to table: "usage_intervals"
CREATE INDEX `usageinterval_account_id` ON `usage_intervals` (`account_id`);
-- Create index "usageinterval_resource_id_start" to table: "usage_intervals"
CREATE INDEX `usageinterval_resource_id_start` ON `usage_intervals` (`resource_id`, `start`);
-- Create index "usageinterval_end" to table: "usage_intervals"
CREATE INDEX `usageinterval_end` ON `usage_intervals` (`end`);
-- Create "wallets" table
CREATE TABLE `wallets` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `currency` text NOT NULL DEFAULT ('VND'), `balance` integer NOT NULL, `held` integer NOT NULL, `version` integer NOT NULL DEFAULT (0), `account_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `wallets_accounts_wallet` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE NO ACTION, CONSTRAINT `wallet_available_not_negative` CHECK (balance - held >= 0), CONSTRAINT `wallet_held_not_negative` CHECK (held >= 0));
-- Create index "wallets_account_id_key" to table: "wallets"
CREATE UNIQUE INDEX `wallets_account_id_key` ON `wallets` (`account_id`);
