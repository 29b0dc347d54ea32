-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Create "new_notifications" table
CREATE TABLE `new_notifications` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `kind` text NOT NULL, `resource_id` text NULL, `title` text NOT NULL, `body` text NOT NULL, `dedupe_key` text NOT NULL, `read_at` datetime NULL, `emailed_at` datetime NULL, `account_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `notifications_accounts_notifications` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE NO ACTION);
-- Copy rows from old table "notifications" to new temporary table "new_notifications"
INSERT INTO `new_notifications` (`id`, `created_at`, `updated_at`, `kind`, `resource_id`, `title`, `body`, `dedupe_key`, `read_at`, `emailed_at`, `account_id`) SELECT `id`, `created_at`, `updated_at`, `kind`, `resource_id`, `title`, `body`, `dedupe_key`, `read_at`, `emailed_at`, `account_id` FROM `notifications`;
-- Drop "notifications" table after copying rows
DROP TABLE `notifications`;
-- Rename temporary table "new_notifications" to "notifications"
ALTER TABLE `new_notifications` RENAME TO `notifications`;
-- Create index "notifications_dedupe_key_key" to table: "notifications"
CREATE UNIQUE INDEX `notifications_dedupe_key_key` ON `notifications` (`dedupe_key`);
-- Create index "notification_account_id" to table: "notifications"
CREATE INDEX `notification_account_id` ON `notifications` (`account_id`);
-- Create index "notification_account_id_read_at" to table: "notifications"
CREATE INDEX `notification_account_id_read_at` ON `notifications` (`account_id`, `read_at`);
-- Create index "notification_kind" to table: "notifications"
CREATE INDEX `notification_kind` ON `notifications` (`kind`);
-- Create index "notification_unsent" to table: "notifications"
CREATE INDEX `notification_unsent` ON `notifications` (`created_at`) WHERE emailed_at IS NULL;
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
