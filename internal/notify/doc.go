// Package notify tells customers what happens to their account: an in-app
// list with an unread count, a live subscription, and an e-mail per notice
// when SMTP is configured (logged otherwise). Each notice happens once.
//
// # Creating: once per dedupe key
//
// Services call Notify inside the transaction of the change they report
// (a failed auto-renewal, a suspension…). Notify inserts the notification
// with INSERT … ON CONFLICT (dedupe_key) DO NOTHING and, only when a row was
// inserted, appends an events.TopicNotification event to the outbox in the
// same transaction. So the notice, its event and the change commit together
// or not at all, and a second notice under the same key writes nothing:
//
//	job run 1 ─ Notify(key K) ─ insert ──────── event ── commit   → 1 row, 1 event
//	job run 2 ─ Notify(key K) ─ conflict: nothing ───── commit    → created=false
//
// DO NOTHING never raises, so the caller's PostgreSQL transaction stays
// usable (a unique violation would abort it). Two transactions inserting
// the same key at once: PostgreSQL makes the second wait for the first and
// then do nothing (or insert, if the first rolled back); SQLite runs one
// writer at a time. The key is the step's natural identity: PeriodKey
// (resource, period end, step) for lifecycle reminders, DedupeKey for
// anything else (for example DedupeKey("payment", id, "failed")).
//
// # Reading and marking read
//
// The list itself is the generated Notification connection (tenant-filtered
// by the schema's interceptor). UnreadCount counts an account's unread
// notices. MarkRead and MarkAllRead set read_at once: only a customer may,
// on its own account; ids that are unknown, foreign or already read are
// ignored, so a repeat returns 0 and a customer learns nothing about other
// accounts' ids. Read-only members may count but not mark: read state is
// shared by the whole account. The live subscription is the outbox event:
// subscribe to events.TopicNotification for the account and decode
// EventPayload.
//
// # E-mail: at most once, retried when it surely failed
//
// DeliverEmails, run by a scheduled job on every instance, reads notices
// with emailed_at NULL oldest first and, for each one, first claims it,
// then sends it:
//
//	UPDATE notifications SET emailed_at = now WHERE id = ? AND emailed_at IS NULL
//	  1 row  → ours: send (or log "email (not configured)" without a Mailer)
//	  0 rows → another instance or run claimed it: skip
//
// A claim is one autocommitted statement; concurrent claims of a row queue
// on its lock and only the first matches. Claiming before sending means a
// crash between the claim and the SMTP server's "250 queued" loses that
// e-mail, but nothing can ever send it twice. We prefer that over sending
// first (a crash after sending, before marking, would resend), because a
// notice is always in the in-app list anyway while a duplicate e-mail
// cannot be taken back.
//
// Failures that certainly did not deliver are not lost, though: when the
// Mailer's error wraps ErrNotSent (server unreachable, login refused, a
// temporary 4xx answer — SMTP classifies these), the claim is given back
// (emailed_at set to NULL again) and the run stops, so the next run retries
// from that notice. A permanent refusal (5xx, malformed address) or an
// unclear one (the connection broke while waiting for the final reply,
// when the server may have queued the message) keeps the claim and is
// logged. Each e-mail's Message-ID is derived from the notification id, so
// even a resend by hand is recognisable as the same message.
//
// emailed_at therefore means "handled": sent, logged, skipped (the account
// has no e-mail address), or abandoned after a permanent failure.
//
// # SMTP
//
// NewSMTP sends through net/smtp, one connection per message, with
// STARTTLS when configured (required, never a silent downgrade) and
// AUTH PLAIN only over TLS or to a server on this machine. Messages carry
// Date, Message-ID, MIME-Version and Content-Type headers, an RFC 2047
// UTF-8 subject and a quoted-printable UTF-8 body, with CRLF line endings;
// net/smtp does the dot-stuffing.
package notify
