/*
 * pg_schema - the cluster schema as migrations (see pg_schema.h).
 *
 * Conventions: domains are stored lowercase (a CHECK says so). Account
 * addresses follow accounts.h's case rules: an all-ASCII address is
 * stored lowercase (CHECK), a UTF-8 local part as given; they are unique
 * and looked up by tem_fold(address), which lowers ASCII letters only
 * (lower() would also fold non-ASCII letters under a UTF-8 locale, which
 * the rules do not, and makes the result depend on the locale).
 * tem_fold is an inlinable SQL function, so `tem_fold(address) =
 * tem_fold($1)` uses the expression indexes. Times are timestamptz;
 * every table that a user owns hangs off users(id) with ON DELETE
 * CASCADE, so deleting an account leaves nothing behind (the embedded
 * store leaves ACL rows: a known gap this schema does not repeat).
 *
 * Trust: constant data.
 */
#include <stddef.h>

#include "pg/pg_schema.h"

/*
 * Version 1: accounts, the mail store, message blobs, the queue, Sieve,
 * counters. The UID and MODSEQ of a folder come from its mailboxes row
 * (UPDATE ... SET uidnext = uidnext + 1 ... RETURNING): the row lock
 * serialises appenders to one folder across nodes, and a rolled-back
 * transaction gives its number back, so UIDs stay dense without a
 * sequence per folder.
 */
static const char v1[] =
    /* ---- accounts ---------------------------------------------------- */
    "CREATE TABLE domains ("
    "  name text PRIMARY KEY CHECK (name = lower(name)),"
    "  added timestamptz NOT NULL DEFAULT now());"
    "CREATE FUNCTION tem_fold(text) RETURNS text LANGUAGE sql"
    "  IMMUTABLE STRICT PARALLEL SAFE AS"
    "  $$SELECT translate($1, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',"
    "    'abcdefghijklmnopqrstuvwxyz')$$;"
    "CREATE TABLE users ("
    "  id bigserial PRIMARY KEY,"
    /* all ASCII: lowercase; with UTF-8 (more bytes than characters):
       the local part as given */
    "  address text NOT NULL CHECK (address = tem_fold(address) OR"
    "    octet_length(address) <> char_length(address)),"
    "  domain text NOT NULL REFERENCES domains(name),"
    "  hash text NOT NULL,"
    "  quota_storage bigint,"		/* NULL: default_quota */
    "  quota_messages bigint,"
    "  added timestamptz NOT NULL DEFAULT now());"
    "CREATE UNIQUE INDEX users_address ON users(tem_fold(address));"
    "CREATE INDEX users_domain ON users(domain);"
    "CREATE TABLE aliases ("
    "  address text PRIMARY KEY CHECK (address = tem_fold(address) OR"
    "    octet_length(address) <> char_length(address)),"
    "  domain text NOT NULL REFERENCES domains(name),"
    "  targets text[] NOT NULL CHECK (cardinality(targets) > 0),"
    "  added timestamptz NOT NULL DEFAULT now());"
    "CREATE UNIQUE INDEX aliases_address ON aliases(tem_fold(address));"
    "CREATE INDEX aliases_domain ON aliases(domain);"
    "CREATE TABLE dkim_keys ("
    "  domain text NOT NULL REFERENCES domains(name) ON DELETE CASCADE,"
    "  selector text NOT NULL,"
    "  algorithm text NOT NULL CHECK (algorithm IN ('rsa', 'ed25519')),"
    "  private_pem text NOT NULL,"
    "  created timestamptz NOT NULL DEFAULT now(),"
    "  PRIMARY KEY (domain, selector));"
    /* One row: bumped by every accounts change (with NOTIFY), so each
       node reloads its snapshot, as accounts.serial does on one host. */
    "CREATE TABLE accounts_serial ("
    "  one boolean PRIMARY KEY DEFAULT true CHECK (one),"
    "  serial bigint NOT NULL);"
    "INSERT INTO accounts_serial(serial) VALUES (1);"

    /* ---- the mail store --------------------------------------------- */
    "CREATE TABLE mailboxes ("
    "  id bigserial PRIMARY KEY,"
    "  user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  name text NOT NULL,"		/* UTF-8, "/"-separated */
    "  uidvalidity bigint NOT NULL CHECK (uidvalidity BETWEEN 1 AND"
    "    4294967295),"
    "  uidnext bigint NOT NULL DEFAULT 1,"
    "  highestmodseq bigint NOT NULL DEFAULT 1,"
    "  vanished_floor bigint NOT NULL DEFAULT 0,"
    "  recent_uid bigint NOT NULL DEFAULT 0,"
    "  special_use smallint NOT NULL DEFAULT 0,"
    "  UNIQUE (user_id, name));"
    /* The last UIDVALIDITY given to a folder of the user: a new folder
       gets greatest(last + 1, now in seconds), so a name deleted and
       created again never sees its old UIDVALIDITY; the row lock also
       orders one user's folder creations across nodes. */
    "CREATE TABLE mailbox_uidvalidity ("
    "  user_id bigint PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,"
    "  last bigint NOT NULL);"
    /* Subscriptions are names, not folders: one may subscribe to a
       name that does not exist, and DELETE keeps it (RFC 9051 6.3.7). */
    "CREATE TABLE subscriptions ("
    "  user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  name text NOT NULL,"
    "  PRIMARY KEY (user_id, name));"
    /* Message bytes, shared by copies (COPY/MOVE add a messages row, not
       a blob); refs counts the rows and queue entries holding it. */
    "CREATE TABLE blobs ("
    "  id bigserial PRIMARY KEY,"
    "  size bigint NOT NULL,"
    "  refs integer NOT NULL DEFAULT 1,"
    "  data bytea NOT NULL);"
    "CREATE TABLE messages ("
    "  mailbox_id bigint NOT NULL REFERENCES mailboxes(id)"
    "    ON DELETE CASCADE,"
    "  uid bigint NOT NULL,"
    "  modseq bigint NOT NULL,"
    "  blob_id bigint NOT NULL REFERENCES blobs(id),"
    "  size bigint NOT NULL,"
    "  internaldate timestamptz NOT NULL,"
    "  savedate timestamptz,"
    "  flags smallint NOT NULL DEFAULT 0,"	/* \\Seen ... bits */
    "  keywords text[] NOT NULL DEFAULT '{}',"
    "  PRIMARY KEY (mailbox_id, uid));"
    "CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);"
    "CREATE INDEX messages_blob ON messages(blob_id);"
    /* Every messages row deleted, whatever the path (EXPUNGE, MOVE's
       source, a folder's DELETE, an account's deletion cascading, an
       administrator's SQL), drops its blob reference here, and a blob
       left with none goes: once per statement, over its transition
       table. Adding references is the writer's (APPEND makes the blob
       with one, COPY and MOVE add one per row). */
    "CREATE FUNCTION tem_messages_unref() RETURNS trigger LANGUAGE plpgsql"
    "  AS $$BEGIN"
    "  UPDATE blobs b SET refs = b.refs - g.n FROM (SELECT blob_id,"
    "    count(*) AS n FROM gone GROUP BY blob_id) g"
    "    WHERE b.id = g.blob_id;"
    "  DELETE FROM blobs b WHERE b.refs <= 0 AND b.id IN"
    "    (SELECT blob_id FROM gone);"
    "  RETURN NULL;"
    "  END$$;"
    "CREATE TRIGGER messages_unref AFTER DELETE ON messages"
    "  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT"
    "  EXECUTE FUNCTION tem_messages_unref();"
    "CREATE TABLE expunged ("
    "  mailbox_id bigint NOT NULL REFERENCES mailboxes(id)"
    "    ON DELETE CASCADE,"
    "  uid bigint NOT NULL,"
    "  modseq bigint NOT NULL,"
    "  PRIMARY KEY (mailbox_id, uid));"
    "CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq);"
    "CREATE TABLE acl ("
    "  mailbox_id bigint NOT NULL REFERENCES mailboxes(id)"
    "    ON DELETE CASCADE,"
    "  ident text NOT NULL,"
    "  rights text NOT NULL,"
    "  PRIMARY KEY (mailbox_id, ident));"
    "CREATE INDEX acl_ident ON acl(ident);"
    "CREATE TABLE mailbox_metadata ("
    "  user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  mailbox text NOT NULL,"		/* '' for server entries */
    "  entry text NOT NULL,"
    "  value bytea NOT NULL,"
    "  PRIMARY KEY (user_id, mailbox, entry));"

    /* ---- the outbound queue ----------------------------------------- */
    /* One row a message (queue/queue_pg.c). next_attempt is the earliest
       pending recipient's next_try, or, while a node holds the lease,
       lease_until: so `next_attempt <= now()` on queue_due alone finds
       the messages a node may take, and a dead node's messages come due
       when its leases run out. */
    "CREATE TABLE queue ("
    "  id text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{16}$'),"
    "  sender text NOT NULL,"
    "  envid text,"
    "  ret smallint NOT NULL DEFAULT 0,"
    "  flags integer NOT NULL DEFAULT 0,"	/* 8bit, smtputf8, ... */
    "  received timestamptz NOT NULL DEFAULT now(),"
    "  blob_id bigint NOT NULL REFERENCES blobs(id),"
    "  next_attempt timestamptz NOT NULL DEFAULT now(),"
    "  attempts integer NOT NULL DEFAULT 0,"
    "  lease_owner text,"		/* the node delivering it */
    "  lease_until timestamptz);"
    "CREATE INDEX queue_due ON queue(next_attempt);"
    "CREATE INDEX queue_lease ON queue(lease_until)"
    "  WHERE lease_until IS NOT NULL;"
    "CREATE TABLE queue_rcpts ("
    "  queue_id text NOT NULL REFERENCES queue(id) ON DELETE CASCADE,"
    "  idx integer NOT NULL,"
    "  address text NOT NULL,"
    "  orcpt text,"
    "  notify smallint NOT NULL DEFAULT 0,"
    "  state smallint NOT NULL DEFAULT 0,"	/* pending, delivered, ... */
    "  flags smallint NOT NULL DEFAULT 0,"	/* DSN sent, delay DSN sent */
    "  attempts integer NOT NULL DEFAULT 0,"
    "  next_try timestamptz NOT NULL DEFAULT now(),"
    "  last_text text,"
    "  PRIMARY KEY (queue_id, idx));"

    /* ---- Sieve ------------------------------------------------------ */
    "CREATE TABLE sieve_scripts ("
    "  user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  name text NOT NULL,"
    "  script text NOT NULL,"
    "  active boolean NOT NULL DEFAULT false,"
    "  PRIMARY KEY (user_id, name));"
    "CREATE UNIQUE INDEX sieve_one_active ON sieve_scripts(user_id)"
    "  WHERE active;"
    "CREATE TABLE sieve_duplicates ("
    "  user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  id text NOT NULL,"
    "  expiry timestamptz NOT NULL,"
    "  PRIMARY KEY (user_id, id));"
    "CREATE INDEX sieve_duplicates_expiry ON sieve_duplicates(expiry);"
    "CREATE TABLE sieve_vacation ("
    "  user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  address text NOT NULL,"
    "  sent timestamptz NOT NULL,"
    "  PRIMARY KEY (user_id, address));"
    "CREATE INDEX sieve_vacation_sent ON sieve_vacation(sent);"

    /* ---- counters --------------------------------------------------- */
    /* Rate limits and auth failures shared by the nodes. UNLOGGED: not
       written to the WAL (cheap), emptied by a database crash, which only
       forgives a few failures. */
    "CREATE UNLOGGED TABLE counters ("
    "  key text PRIMARY KEY,"		/* "authfail:ADDR", "rate:USER" */
    "  window_start timestamptz NOT NULL,"
    "  count bigint NOT NULL);";

/*
 * Version 2: byte-exact messages and POP3 maildrop locks across nodes.
 * messages.exact: the blob holds the bytes of a literal8 APPEND as sent
 * (bare LFs too; size stays the wire size, every bare LF counted as
 * CRLF), as Maildir's ",X=1"; COPY/MOVE carry it. pop3_locks: one row
 * per user whose maildrop a POP3 session holds (RFC 1939), a lease
 * until `until` that the holder's node renews: a node that dies frees
 * its users when the lease runs out. No index beyond the key: taking,
 * renewing and releasing go by user_id or owner, with few rows.
 */
static const char v2[] =
    "ALTER TABLE messages ADD COLUMN exact boolean NOT NULL DEFAULT false;"
    "CREATE TABLE pop3_locks ("
    "  user_id bigint PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,"
    "  owner text NOT NULL,"		/* host:pid:start of the node */
    "  until timestamptz NOT NULL);";

const struct pg_migration pg_migrations[] = {
	{ 1, "accounts, mail store, blobs, queue, Sieve, counters", v1 },
	{ 2, "byte-exact messages, POP3 locks", v2 },
	{ 0, NULL, NULL },
};

int
pg_schema_latest(void)
{
	int v = 0;

	for (const struct pg_migration *m = pg_migrations; m->sql; m++)
		v = m->version;
	return v;
}
