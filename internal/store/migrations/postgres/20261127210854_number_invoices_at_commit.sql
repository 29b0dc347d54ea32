-- Hand-written migration: statements run in one transaction, in order.
--
-- Invoices numbered at commit (invoicing.IssuePrepaidAtCommit). Such an
-- invoice is inserted under the placeholder code "<month prefix>#<id>"
-- (INV-202611#inv_01…): unique, never committed. This deferred trigger
-- fires for it when its transaction commits, after every statement of the
-- transaction, and gives it the month's next number, exactly as NextCode
-- would: the month's invoice_sequences row (created on first use) is
-- incremented and stays locked until the commit ends, so codes stay gapless
-- and a rolled-back transaction never takes a number. Because the row is
-- taken inside COMMIT, it is held for the commit's own work (this trigger
-- and the WAL flush) and not across a client round trip. Rows of one
-- transaction are numbered in insertion order.
CREATE FUNCTION "invoice_number_at_commit"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	prefix text := split_part(NEW.code, '#', 1);
	n bigint;
BEGIN
	-- The row as it is now: still under its placeholder (never renamed by
	-- anything else, but a number must not be spent on a row that is gone).
	PERFORM 1 FROM invoices WHERE id = NEW.id AND code = NEW.code;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	INSERT INTO invoice_sequences AS s (id, last_value) VALUES (prefix, 1)
	ON CONFLICT (id) DO UPDATE SET last_value = s.last_value + 1
	RETURNING s.last_value INTO n;
	UPDATE invoices SET code = prefix || '-' || lpad(n::text, greatest(6, length(n::text)), '0')
	WHERE id = NEW.id;
	RETURN NULL;
END
$$;
-- Fires only for placeholder codes; every other invoice has its number.
CREATE CONSTRAINT TRIGGER "invoices_number_at_commit" AFTER INSERT ON "invoices"
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
	WHEN (strpos(NEW.code, '#') > 0)
	EXECUTE FUNCTION "invoice_number_at_commit"();
