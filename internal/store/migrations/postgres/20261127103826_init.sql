-- Create "idempotency_records" table
CREATE TABLE "idempotency_records" ("id" character varying(40) NOT NULL, "scope" character varying NOT NULL, "key" character varying NOT NULL, "operation" character varying NOT NULL, "request_hash" character varying NOT NULL, "response" bytea NULL, "created_at" timestamptz NOT NULL, PRIMARY KEY ("id"));
-- Create index "idempotencyrecord_scope_key" to table: "idempotency_records"
CREATE UNIQUE INDEX "idempotencyrecord_scope_key" ON "idempotency_records" ("scope", "key");
-- Create "accounts" table
CREATE TABLE "accounts" ("id" character varying(40) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "name" character varying NOT NULL, "email" character varying NULL, "type" character varying NOT NULL DEFAULT 'PREPAID', "credit_limit" bigint NOT NULL, "status" character varying NOT NULL DEFAULT 'ACTIVE', PRIMARY KEY ("id"));
-- Create index "account_type" to table: "accounts"
CREATE INDEX "account_type" ON "accounts" ("type");
-- Create "coupons" table
CREATE TABLE "coupons" ("id" character varying(40) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "code" character varying NOT NULL, "description" character varying NOT NULL DEFAULT '', "kind" character varying NOT NULL, "amount" bigint NOT NULL, "percent" bigint NOT NULL, "cap" bigint NULL, "product_codes" jsonb NULL, "valid_from" timestamptz NULL, "valid_until" timestamptz NULL, "min_order_amount" bigint NOT NULL, "max_redemptions" bigint NULL, "per_account_limit" bigint NOT NULL DEFAULT 1, "first_order_only" boolean NOT NULL DEFAULT false, "redeemed_count" bigint NOT NULL DEFAULT 0, "active" boolean NOT NULL DEFAULT true, PRIMARY KEY ("id"));
-- Create index "coupons_code_key" to table: "coupons"
CREATE UNIQUE INDEX "coupons_code_key" ON "coupons" ("code");
-- Create "coupon_redemptions" table
CREATE TABLE "coupon_redemptions" ("id" character varying(40) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "account_id" character varying(40) NOT NULL, "coupon_id" character varying(40) NOT NULL, "order_id" character varying(40) NOT NULL, "status" character varying NOT NULL DEFAULT 'RESERVED', "amount" bigint NOT NULL, PRIMARY KEY ("id"));
-- Create index "couponredemption_account_id" to table: "coupon_redemptions"
CREATE INDEX "couponredemption_account_id" ON "coupon_redemptions" ("account_id");
-- Create index "couponredemption_coupon_id_account_id_status" to table: "coupon_redemptions"
CREATE INDEX "couponredemption_coupon_id_account_id_status" ON "coupon_redemptions" ("coupon_id", "account_id", "status");
-- Create index "couponredemption_order_id" to table: "coupon_redemptions"
CREATE UNIQUE INDEX "couponredemption_order_id" ON "coupon_redemptions" ("order_id");
-- Create "linked_accounts" table
CREATE TABLE "linked_accounts" ("id" character varying(40) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "account_id" character varying(40) NOT NULL, "gateway" character varying NOT NULL, "token" character varying NOT NULL, "label" character varying NOT NULL DEFAULT '', "active" boolean NOT NULL DEFAULT true, PRIMARY KEY ("id"));
-- Create index "linkedaccount_account_id" to table: "linked_accounts"
CREATE INDEX "linkedaccount_account_id" ON "linked_accounts" ("account_id");
-- Create "holds" table
CREATE TABLE "holds" ("id" character varying(40) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "account_id" character varying(40) NOT NULL, "amount" bigint NOT NULL, "status" character varying NOT NULL DEFAULT 'ACTIVE', "reason" character varying NOT NULL DEFAULT '', "payment_id" character varying(40) NULL, "resolved_at" timestamptz NULL, PRIMARY KEY ("id"));
-- Create index "hold_account_id" to table: "holds"
CREATE INDEX "hold_account_id" ON "holds" ("account_id");
-- Create index "hold_payment_id" to table: "holds"
CREATE INDEX "hold_payment_id" ON "holds" ("payment_id");
-- Create index "hold_status" to table: "holds"
CREATE INDEX "hold_status" ON "holds" ("status");
-- Create "audit_logs" table
CREATE TABLE "audit_logs" ("id" character varying(40) NOT NULL, "account_id" character varying(40) NULL, "actor" character varying NOT NULL, "actor_role" character varying NOT NULL, "action" character varying NOT NULL, "target_type" character varying NOT NULL DEFAULT '', "target_id" character varying NOT NULL DEFAULT '', "reason" character varying NOT NULL DEFAULT '', "details" jsonb NULL, "request_id" character varying NOT NULL DEFAULT '', "created_at" timestamptz NOT NULL, PRIMARY KEY ("id"));
-- Create index "auditlog_account_id" to table: "audit_logs"
CREATE INDEX "auditlog_account_id" ON "audit_logs" ("account_id");
-- Create index "auditlog_action" to table: "audit_logs"
CREATE INDEX "auditlog_action" ON "audit_logs" ("action");
-- Create index "auditlog_actor" to table: "audit_logs"
CREATE INDEX "auditlog_actor" ON "audit_logs" ("actor");
-- Create index "auditlog_created_at" to table: "audit_logs"
CREATE INDEX "auditlog_created_at" ON "audit_logs" ("created_at");
-- Create index "auditlog_target_id" to table: "audit_logs"
CREATE INDEX "auditlog_target_id" ON "audit_logs" ("target_id");
-- Create "ledger_accounts" table
CREATE TABLE "ledger_accounts" ("id" character varying(40) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "account_id" character varying(40) NULL, "code" character varying NOT NULL, "kind" character varying NOT NULL, "currency" character varying NOT NULL DEFAULT 'VND', PRIMARY KEY ("id"));
-- Create index "ledger_accounts_code_key" to table: "ledger_accounts"
CREATE UNIQUE INDEX "ledger_accounts_code_key" ON "ledger_accounts" ("code");
-- Create index "ledgeraccount_account_id" to table: "ledger_accounts"
CREATE INDEX "ledgeraccount_account_id" ON "ledger_accounts" ("account_id");
-- Create "lifecycle_steps" table
CREATE TABLE "lifecycle_steps" ("id" character varying(40) NOT NULL, "resource_id" character varying(40) NOT NULL, "period_end" timestamptz NOT NULL, "step" character varying NOT NULL, "outcome" character varying NOT NULL DEFAULT '', "created_at" timestamptz NOT NULL, PRIMARY KEY ("id"));
-- Create index "lifecyclestep_resource_id_period_end_step" to table: "lifecycle_steps"
CREATE UNIQUE INDEX "lifecyclestep_resource_id_period_end_step" ON "lifecycle_steps" ("resource_id", "period_end", "step");
-- Create "invoice_sequences" table
CREATE TABLE "invoice_sequences" ("id" character varying NOT NULL, "last_value" bigint NOT NULL DEFAULT 0, PRIMARY KEY ("id"));
-- Create "outbox_events" table
CREATE TABLE "outbox_events" ("id" bigint NOT NULL GENERATED BY DEFAULT AS IDENTITY, "topic" character varying NOT NULL, "account_id" character varying NULL, "subject_id" character varying NULL, "payload" bytea NOT NULL, "created_at" timestamptz NOT NULL, PRIMARY KEY ("id"));
-- Create index "outboxevent_created_at" to table: "outbox_events"
CREATE INDEX "outboxevent_created_at" ON "outbox_events" ("created_at");
-- Create "orders" table
CREATE TABLE "orders" ("id" character varying(40) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "status" character varying NOT NULL DEFAULT 'PENDING', "coupon_id" character varying(40) NULL, "coupon_code" character varying NULL, "subtotal" bigint NOT NULL, "discount" bigint NOT NULL, "total" bigint NOT NULL, "currency" character varying NOT NULL DEFAULT 'VND', "idempotency_key" character varying NULL, "account_id" character varying(40) NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "orders_accounts_orders" FOREIGN KEY ("account_id") REFERENCES "accounts" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "order_account_id" to table: "orders"
CREATE INDEX "order_account_id" ON "orders" ("account_id");
-- Create index "order_account_id_created_at" to table: "orders"
CREATE INDEX "order_account_id_created_at" ON "orders" ("account_id", "created_at");
-- Create index "order_created_at" to table: "orders"
CREATE INDEX "order_created_at" ON "orders" ("created_at");
-- Create index "order_status" to table: "orders"
CREATE INDEX "order_status" ON "orders" ("status");
-- Create "payments" table
CREATE TABLE "payments" ("id" character varying(40) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "purpose" character varying NOT NULL, "method" character varying NOT NULL, "status" character varying NOT NULL DEFAULT 'PENDING', "amount" bigint NOT NULL, "credit_amount" bigint NOT NULL, "gateway_amount" bigint NOT NULL, "refunded_amount" bigint NOT NULL, "currency" character varying NOT NULL DEFAULT 'VND', "hold_id" character varying(40) NULL, "redirect_url" character varying NULL, "return_url" character varying NULL, "expires_at" timestamptz NULL, "failure_reason" character varying NULL, "invoice_ids" jsonb NULL, "idempotency_key" character varying NULL, "account_id" character varying(40) NOT NULL, "order_id" character varying(40) NULL, PRIMARY KEY ("id"), CONSTRAINT "payments_accounts_payments" FOREIGN KEY ("account_id") REFERENCES "accounts" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "payments_orders_payments" FOREIGN KEY ("order_id") REFERENCES "orders" ("id") ON UPDATE NO ACTION ON DELETE SET NULL);
-- Create index "payment_account_id" to table: "payments"
CREATE INDEX "payment_account_id" ON "payments" ("account_id");
-- Create index "payment_account_id_created_at" to table: "payments"
CREATE INDEX "payment_account_id_created_at" ON "payments" ("account_id", "created_at");
-- Create index "payment_created_at" to table: "payments"
CREATE INDEX "payment_created_at" ON "payments" ("created_at");
-- Create index "payment_method" to table: "payments"
CREATE INDEX "payment_method" ON "payments" ("method");
-- Create index "payment_purpose" to table: "payments"
CREATE INDEX "payment_purpose" ON "payments" ("purpose");
-- Create index "payment_status_expires_at" to table: "payments"
CREATE INDEX "payment_status_expires_at" ON "payments" ("status", "expires_at");
-- Create "gateway_attempts" table
CREATE TABLE "gateway_attempts" ("id" character varying(40) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "account_id" character varying(40) NOT NULL, "gateway" character varying NOT NULL, "txn_ref" character varying NOT NULL, "amount" bigint NOT NULL, "status" character varying NOT NULL DEFAULT 'CREATED', "gateway_transaction_no" character varying NULL, "response_code" character varying NULL, "bank_code" character varying NULL, "paid_at" timestamptz NULL, "linked_account_id" character varying(40) NULL, "payment_id" character varying(40) NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "gateway_attempts_payments_attempts" FOREIGN KEY ("payment_id") REFERENCES "payments" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "gateway_attempts_gateway_transaction_no_key" to table: "gateway_attempts"
CREATE UNIQUE INDEX "gateway_attempts_gateway_transaction_no_key" ON "gateway_attempts" ("gateway_transaction_no");
-- Create index "gateway_attempts_txn_ref_key" to table: "gateway_attempts"
CREATE UNIQUE INDEX "gateway_attempts_txn_ref_key" ON "gateway_attempts" ("txn_ref");
-- Create index "gatewayattempt_account_id" to table: "gateway_attempts"
CREATE INDEX "gatewayattempt_account_id" ON "gateway_attempts" ("account_id");
-- Create index "gatewayattempt_payment_id" to table: "gateway_attempts"
CREATE INDEX "gatewayattempt_payment_id" ON "gateway_attempts" ("payment_id");
-- Create index "gatewayattempt_status" to table: "gateway_attempts"
CREATE INDEX "gatewayattempt_status" ON "gateway_attempts" ("status");
-- Create "resources" table
CREATE TABLE "resources" ("id" character varying(40) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "product_id" character varying(40) NOT NULL, "plan_id" character varying(40) NOT NULL, "name" character varying NOT NULL, "billing_mode" character varying NOT NULL, "state" character varying NOT NULL DEFAULT 'PENDING', "suspend_reason" character varying NULL, "components" jsonb NOT NULL, "period_price" bigint NOT NULL, "period_paid" bigint NOT NULL, "period_months" bigint NOT NULL DEFAULT 0, "period_start" timestamptz NULL, "period_end" timestamptz NULL, "auto_renew" boolean NOT NULL DEFAULT false, "auto_renew_months" bigint NOT NULL DEFAULT 1, "trashed_at" timestamptz NULL, "purge_at" timestamptz NULL, "released_at" timestamptz NULL, "external_ref" character varying NULL, "account_id" character varying(40) NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "resources_accounts_resources" FOREIGN KEY ("account_id") REFERENCES "accounts" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "resource_account_id" to table: "resources"
CREATE INDEX "resource_account_id" ON "resources" ("account_id");
-- Create index "resource_account_id_state" to table: "resources"
CREATE INDEX "resource_account_id_state" ON "resources" ("account_id", "state");
-- Create index "resource_auto_renew" to table: "resources"
CREATE INDEX "resource_auto_renew" ON "resources" ("auto_renew");
-- Create index "resource_billing_mode" to table: "resources"
CREATE INDEX "resource_billing_mode" ON "resources" ("billing_mode");
-- Create index "resource_created_at" to table: "resources"
CREATE INDEX "resource_created_at" ON "resources" ("created_at");
-- Create index "resource_period_end" to table: "resources"
CREATE INDEX "resource_period_end" ON "resources" ("period_end");
-- Create index "resource_plan_id" to table: "resources"
CREATE INDEX "resource_plan_id" ON "resources" ("plan_id");
-- Create index "resource_product_id" to table: "resources"
CREATE INDEX "resource_product_id" ON "resources" ("product_id");
-- Create index "resource_purge_at" to table: "resources"
CREATE INDEX "resource_purge_at" ON "resources" ("purge_at");
-- Create index "resource_state_period_end" to table: "resources"
CREATE INDEX "resource_state_period_end" ON "resources" ("state", "period_end");
-- Create index "resource_suspend_reason" to table: "resources"
CREATE INDEX "resource_suspend_reason" ON "resources" ("suspend_reason");
-- Create "invoices" table
CREATE TABLE "invoices" ("id" character varying(40) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "code" character varying NOT NULL, "product_id" character varying(40) NULL, "order_id" character varying(40) NULL, "action" character varying NOT NULL, "status" character varying NOT NULL, "period_start" timestamptz NOT NULL, "period_end" timestamptz NOT NULL, "subtotal" bigint NOT NULL, "vat" bigint NOT NULL, "discount" bigint NOT NULL, "total" bigint NOT NULL, "amount_paid" bigint NOT NULL, "currency" character varying NOT NULL DEFAULT 'VND', "issued_at" timestamptz NOT NULL, "due_at" timestamptz NULL, "paid_at" timestamptz NULL, "superseded_by_id" character varying(40) NULL, "account_id" character varying(40) NOT NULL, "resource_id" character varying(40) NULL, PRIMARY KEY ("id"), CONSTRAINT "invoices_accounts_invoices" FOREIGN KEY ("account_id") REFERENCES "accounts" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "invoices_resources_invoices" FOREIGN KEY ("resource_id") REFERENCES "resources" ("id") ON UPDATE NO ACTION ON DELETE SET NULL);
-- Create index "invoice_account_id" to table: "invoices"
CREATE INDEX "invoice_account_id" ON "invoices" ("account_id");
-- Create index "invoice_account_id_status_issued_at" to table: "invoices"
CREATE INDEX "invoice_account_id_status_issued_at" ON "invoices" ("account_id", "status", "issued_at");
-- Create index "invoice_action" to table: "invoices"
CREATE INDEX "invoice_action" ON "invoices" ("action");
-- Create index "invoice_issued_at" to table: "invoices"
CREATE INDEX "invoice_issued_at" ON "invoices" ("issued_at");
-- Create index "invoice_product_id" to table: "invoices"
CREATE INDEX "invoice_product_id" ON "invoices" ("product_id");
-- Create index "invoice_resource_id_action_period_start" to table: "invoices"
CREATE UNIQUE INDEX "invoice_resource_id_action_period_start" ON "invoices" ("resource_id", "action", "period_start");
-- Create index "invoice_status_due_at" to table: "invoices"
CREATE INDEX "invoice_status_due_at" ON "invoices" ("status", "due_at");
-- Create index "invoices_code_key" to table: "invoices"
CREATE UNIQUE INDEX "invoices_code_key" ON "invoices" ("code");
-- Create "invoice_lines" table
CREATE TABLE "invoice_lines" ("id" character varying(40) NOT NULL, "account_id" character varying(40) NOT NULL, "position" bigint NOT NULL, "description" character varying NOT NULL, "unit_price" bigint NOT NULL, "quantity" bigint NOT NULL, "duration_minutes" bigint NOT NULL, "period_start" timestamptz NULL, "period_end" timestamptz NULL, "discount_percent" bigint NOT NULL, "coupon_share" bigint NOT NULL, "amount" bigint NOT NULL, "invoice_id" character varying(40) NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "invoice_lines_invoices_lines" FOREIGN KEY ("invoice_id") REFERENCES "invoices" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "invoiceline_account_id" to table: "invoice_lines"
CREATE INDEX "invoiceline_account_id" ON "invoice_lines" ("account_id");
-- Create index "invoiceline_invoice_id_position" to table: "invoice_lines"
CREATE UNIQUE INDEX "invoiceline_invoice_id_position" ON "invoice_lines" ("invoice_id", "position");
-- Create "ledger_transactions" table
CREATE TABLE "ledger_transactions" ("id" character varying(40) NOT NULL, "account_id" character varying(40) NULL, "kind" character varying NOT NULL, "description" character varying NOT NULL DEFAULT '', "reference" character varying NULL, "actor" character varying NULL, "created_at" timestamptz NOT NULL, PRIMARY KEY ("id"));
-- Create index "ledgertransaction_account_id" to table: "ledger_transactions"
CREATE INDEX "ledgertransaction_account_id" ON "ledger_transactions" ("account_id");
-- Create index "ledgertransaction_account_id_created_at" to table: "ledger_transactions"
CREATE INDEX "ledgertransaction_account_id_created_at" ON "ledger_transactions" ("account_id", "created_at");
-- Create index "ledgertransaction_reference" to table: "ledger_transactions"
CREATE INDEX "ledgertransaction_reference" ON "ledger_transactions" ("reference");
-- Create "ledger_entries" table
CREATE TABLE "ledger_entries" ("id" character varying(40) NOT NULL, "account_id" character varying(40) NULL, "ledger_account_id" character varying(40) NOT NULL, "kind" character varying NOT NULL, "ledger_kind" character varying NOT NULL, "amount" bigint NOT NULL, "balance_after" bigint NULL, "held_after" bigint NULL, "description" character varying NOT NULL DEFAULT '', "reference" character varying NULL, "created_at" timestamptz NOT NULL, "transaction_id" character varying(40) NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "ledger_entries_ledger_transactions_entries" FOREIGN KEY ("transaction_id") REFERENCES "ledger_transactions" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "ledgerentry_account_id" to table: "ledger_entries"
CREATE INDEX "ledgerentry_account_id" ON "ledger_entries" ("account_id");
-- Create index "ledgerentry_account_id_ledger_kind_created_at" to table: "ledger_entries"
CREATE INDEX "ledgerentry_account_id_ledger_kind_created_at" ON "ledger_entries" ("account_id", "ledger_kind", "created_at");
-- Create index "ledgerentry_ledger_account_id_created_at" to table: "ledger_entries"
CREATE INDEX "ledgerentry_ledger_account_id_created_at" ON "ledger_entries" ("ledger_account_id", "created_at");
-- Create index "ledgerentry_transaction_id" to table: "ledger_entries"
CREATE INDEX "ledgerentry_transaction_id" ON "ledger_entries" ("transaction_id");
-- Create "members" table
CREATE TABLE "members" ("id" character varying(40) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "subject" character varying NOT NULL, "email" character varying NULL, "role" character varying NOT NULL DEFAULT 'OWNER', "account_id" character varying(40) NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "members_accounts_members" FOREIGN KEY ("account_id") REFERENCES "accounts" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "member_account_id" to table: "members"
CREATE INDEX "member_account_id" ON "members" ("account_id");
-- Create index "member_account_id_subject" to table: "members"
CREATE UNIQUE INDEX "member_account_id_subject" ON "members" ("account_id", "subject");
-- Create "notifications" table
CREATE TABLE "notifications" ("id" character varying(40) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "account_id" character varying(40) NOT NULL, "kind" character varying NOT NULL, "resource_id" character varying(40) NULL, "title" character varying NOT NULL, "body" text NOT NULL, "dedupe_key" character varying NOT NULL, "read_at" timestamptz NULL, "emailed_at" timestamptz NULL, "account_notifications" character varying(40) NULL, PRIMARY KEY ("id"), CONSTRAINT "notifications_accounts_notifications" FOREIGN KEY ("account_notifications") REFERENCES "accounts" ("id") ON UPDATE NO ACTION ON DELETE SET NULL);
-- Create index "notification_account_id" to table: "notifications"
CREATE INDEX "notification_account_id" ON "notifications" ("account_id");
-- Create index "notification_account_id_read_at" to table: "notifications"
CREATE INDEX "notification_account_id_read_at" ON "notifications" ("account_id", "read_at");
-- Create index "notification_kind" to table: "notifications"
CREATE INDEX "notification_kind" ON "notifications" ("kind");
-- Create index "notifications_dedupe_key_key" to table: "notifications"
CREATE UNIQUE INDEX "notifications_dedupe_key_key" ON "notifications" ("dedupe_key");
-- Create "order_items" table
CREATE TABLE "order_items" ("id" character varying(40) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "account_id" character varying(40) NOT NULL, "action" character varying NOT NULL, "plan_id" character varying(40) NULL, "resource_id" character varying(40) NULL, "quantity" bigint NOT NULL DEFAULT 1, "period_months" bigint NOT NULL DEFAULT 0, "components" jsonb NOT NULL, "amount" bigint NOT NULL, "discount" bigint NOT NULL, "total" bigint NOT NULL, "status" character varying NOT NULL DEFAULT 'PENDING', "failure_reason" character varying NULL, "order_id" character varying(40) NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "order_items_orders_items" FOREIGN KEY ("order_id") REFERENCES "orders" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "orderitem_account_id" to table: "order_items"
CREATE INDEX "orderitem_account_id" ON "order_items" ("account_id");
-- Create index "orderitem_order_id" to table: "order_items"
CREATE INDEX "orderitem_order_id" ON "order_items" ("order_id");
-- Create index "orderitem_resource_id" to table: "order_items"
CREATE INDEX "orderitem_resource_id" ON "order_items" ("resource_id");
-- Create "products" table
CREATE TABLE "products" ("id" character varying(40) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "code" character varying NOT NULL, "name" character varying NOT NULL, "description" character varying NOT NULL DEFAULT '', "allowed_periods" jsonb NOT NULL, "refundable" boolean NOT NULL DEFAULT true, "grace_days" bigint NOT NULL DEFAULT 15, "suspension_days" bigint NOT NULL DEFAULT 15, "trash_days" bigint NOT NULL DEFAULT 7, "auto_renew_optional" boolean NOT NULL DEFAULT true, "active" boolean NOT NULL DEFAULT true, PRIMARY KEY ("id"));
-- Create index "products_code_key" to table: "products"
CREATE UNIQUE INDEX "products_code_key" ON "products" ("code");
-- Create "plans" table
CREATE TABLE "plans" ("id" character varying(40) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "code" character varying NOT NULL, "name" character varying NOT NULL, "description" character varying NOT NULL DEFAULT '', "active" boolean NOT NULL DEFAULT true, "sort_order" bigint NOT NULL DEFAULT 0, "product_id" character varying(40) NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "plans_products_plans" FOREIGN KEY ("product_id") REFERENCES "products" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "plan_product_id" to table: "plans"
CREATE INDEX "plan_product_id" ON "plans" ("product_id");
-- Create index "plans_code_key" to table: "plans"
CREATE UNIQUE INDEX "plans_code_key" ON "plans" ("code");
-- Create "plan_components" table
CREATE TABLE "plan_components" ("id" character varying(40) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "code" character varying NOT NULL, "name" character varying NOT NULL, "unit" character varying NOT NULL, "min_quantity" bigint NOT NULL DEFAULT 1, "max_quantity" bigint NOT NULL DEFAULT 1, "default_quantity" bigint NOT NULL DEFAULT 1, "step" bigint NOT NULL DEFAULT 1, "plan_id" character varying(40) NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "plan_components_plans_components" FOREIGN KEY ("plan_id") REFERENCES "plans" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "plancomponent_plan_id_code" to table: "plan_components"
CREATE UNIQUE INDEX "plancomponent_plan_id_code" ON "plan_components" ("plan_id", "code");
-- Create "prices" table
CREATE TABLE "prices" ("id" character varying(40) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "billing_mode" character varying NOT NULL, "per" character varying NOT NULL DEFAULT 'PERIOD_30_DAYS', "unit_price" bigint NOT NULL, "vat_rate" bigint NOT NULL, "vat_included" boolean NOT NULL, "active" boolean NOT NULL DEFAULT true, "component_id" character varying(40) NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "prices_plan_components_prices" FOREIGN KEY ("component_id") REFERENCES "plan_components" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "price_component_id_billing_mode" to table: "prices"
CREATE INDEX "price_component_id_billing_mode" ON "prices" ("component_id", "billing_mode");
-- Create "usage_intervals" table
CREATE TABLE "usage_intervals" ("id" character varying(40) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "account_id" character varying(40) NOT NULL, "start" timestamptz NOT NULL, "end" timestamptz NULL, "components" jsonb NOT NULL, "discount_percent" bigint NOT NULL, "resource_id" character varying(40) NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "usage_intervals_resources_usage_intervals" FOREIGN KEY ("resource_id") REFERENCES "resources" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "usageinterval_account_id" to table: "usage_intervals"
CREATE INDEX "usageinterval_account_id" ON "usage_intervals" ("account_id");
-- Create index "usageinterval_end" to table: "usage_intervals"
CREATE INDEX "usageinterval_end" ON "usage_intervals" ("end");
-- Create index "usageinterval_resource_id_start" to table: "usage_intervals"
CREATE INDEX "usageinterval_resource_id_start" ON "usage_intervals" ("resource_id", "start");
-- Create "wallets" table
CREATE TABLE "wallets" ("id" character varying(40) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "currency" character varying NOT NULL DEFAULT 'VND', "balance" bigint NOT NULL, "held" bigint NOT NULL, "version" bigint NOT NULL DEFAULT 0, "account_id" character varying(40) NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "wallets_accounts_wallet" FOREIGN KEY ("account_id") REFERENCES "accounts" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "wallet_available_not_negative" CHECK ((balance - held) >= 0), CONSTRAINT "wallet_held_not_negative" CHECK (held >= 0));
-- Create index "wallets_account_id_key" to table: "wallets"
CREATE UNIQUE INDEX "wallets_account_id_key" ON "wallets" ("account_id");
