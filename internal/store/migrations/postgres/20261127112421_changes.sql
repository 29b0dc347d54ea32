-- Modify "notifications" table
ALTER TABLE "notifications" DROP CONSTRAINT "notifications_accounts_notifications", DROP COLUMN "account_notifications", ADD CONSTRAINT "notifications_accounts_notifications" FOREIGN KEY ("account_id") REFERENCES "accounts" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION;
-- Create index "notification_unsent" to table: "notifications"
CREATE INDEX "notification_unsent" ON "notifications" ("created_at") WHERE (emailed_at IS NULL);
