#include "store/store.h"
#include "store/connection.h"
#include "base/digest.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* Each entry upgrades the schema from version i to i+1.  Never edit a
   released entry: append a new one and bump PG_SCHEMA_VERSION.  */
static const char *const migrations[] = {
  /* 0 -> 1 */
  "CREATE TABLE images ("
  "  id INTEGER PRIMARY KEY,"
  "  image_id TEXT UNIQUE,"
  "  created INTEGER NOT NULL DEFAULT 0,"
  "  first_seen INTEGER NOT NULL,"
  "  diff_ids TEXT NOT NULL DEFAULT '');"
  /* Every digest that names an image: image ID, manifest and repo digests. */
  "CREATE TABLE digests ("
  "  digest TEXT PRIMARY KEY,"
  "  image INTEGER NOT NULL REFERENCES images(id),"
  "  kind TEXT NOT NULL) WITHOUT ROWID;"
  "CREATE INDEX digests_image ON digests(image);"
  "CREATE TABLE names ("
  "  image INTEGER NOT NULL REFERENCES images(id),"
  "  repository TEXT NOT NULL,"
  "  tag TEXT NOT NULL DEFAULT '',"
  "  first_seen INTEGER NOT NULL,"
  "  PRIMARY KEY (image, repository, tag)) WITHOUT ROWID;"
  "CREATE INDEX names_repo ON names(repository, tag);"
  "CREATE TABLE scans ("
  "  id INTEGER PRIMARY KEY,"
  "  image INTEGER NOT NULL REFERENCES images(id),"
  "  scanned_at INTEGER NOT NULL,"
  "  scanner TEXT NOT NULL,"
  "  scanner_version TEXT,"
  "  os_family TEXT,"
  "  os_name TEXT,"
  "  eosl INTEGER NOT NULL DEFAULT 0,"
  "  source TEXT,"
  "  imported_at INTEGER NOT NULL,"
  "  UNIQUE (image, scanner, scanned_at));"
  "CREATE TABLE vulns ("
  "  scan INTEGER NOT NULL REFERENCES scans(id),"
  "  vuln_id TEXT NOT NULL,"
  "  pkg TEXT NOT NULL,"
  "  installed TEXT,"
  "  fixed TEXT,"
  "  severity INTEGER NOT NULL,"
  "  status TEXT);"
  "CREATE INDEX vulns_scan ON vulns(scan);"
  "CREATE TABLE packages ("
  "  scan INTEGER NOT NULL REFERENCES scans(id),"
  "  name TEXT NOT NULL,"
  "  version TEXT NOT NULL);"
  "CREATE INDEX packages_scan ON packages(scan);"
  /* When a fix for (vulnerability, package) first appeared in any scan: the
     grace period for fixable findings runs from there.  */
  "CREATE TABLE fixes ("
  "  vuln_id TEXT NOT NULL,"
  "  pkg TEXT NOT NULL,"
  "  first_seen INTEGER NOT NULL,"
  "  PRIMARY KEY (vuln_id, pkg)) WITHOUT ROWID;"
  "CREATE TABLE policy ("
  "  id INTEGER PRIMARY KEY CHECK (id = 1),"
  "  version TEXT NOT NULL,"
  "  body TEXT NOT NULL,"
  "  set_at INTEGER NOT NULL);"
  "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;",
  /* 1 -> 2: OpenVEX statements, by any digest of an image.  */
  "CREATE TABLE vex ("
  "  digest TEXT NOT NULL,"
  "  vuln_id TEXT NOT NULL,"
  "  status TEXT NOT NULL,"
  "  issued INTEGER NOT NULL,"
  "  source TEXT,"
  "  PRIMARY KEY (digest, vuln_id)) WITHOUT ROWID;",
  /* 2 -> 3: a finding's remedy (the fixed version a rebuild needs, when the
     scanner names several), and the scanner's own date for when a fix
     became known (Grype's fix.available), the earliest any report gave.  */
  "ALTER TABLE vulns ADD COLUMN remedy TEXT;"
  "ALTER TABLE fixes ADD COLUMN fix_date INTEGER;"
  "ALTER TABLE fixes ADD COLUMN fix_date_kind TEXT;",
  /* 3 -> 4: OpenVEX as its specification means it.  Every statement is
     kept, whatever its status (the latest that applies to a finding
     decides, so an `affected` withdraws an earlier `not_affected`), with
     the names it answers to, the subcomponents it is restricted to, its
     product (a digest, or a repository and tag naming none) and where it
     came from; a finding's package URL (kept once in purls), to match
     subcomponents.  And the
     grace clock of a fix runs from the first scan in which the finding was
     fixable: a version named under will_not_fix and the like is no fix.  */
  "CREATE TABLE vex_statements ("
  "  id INTEGER PRIMARY KEY,"
  "  digest TEXT NOT NULL DEFAULT '',"
  "  repository TEXT NOT NULL DEFAULT '',"
  "  tag TEXT NOT NULL DEFAULT '',"
  "  vuln_id TEXT NOT NULL,"
  "  aliases TEXT NOT NULL,"
  "  status TEXT NOT NULL,"
  "  justification TEXT,"
  "  issued INTEGER NOT NULL,"
  "  subcomponents TEXT NOT NULL DEFAULT '',"
  "  source TEXT,"
  "  document TEXT,"
  "  statement INTEGER NOT NULL DEFAULT 0,"
  "  UNIQUE (digest, repository, tag, aliases, subcomponents, status, issued));"
  "CREATE INDEX vex_statements_repository ON vex_statements(repository) WHERE repository != '';"
  "INSERT OR IGNORE INTO vex_statements (digest, vuln_id, aliases, status, issued, source) "
  "  SELECT digest, vuln_id, vuln_id, status, issued, source FROM vex;"
  "DROP TABLE vex;"
  /* Package URLs are long (80 bytes, a third more than the rest of a
     finding) and the same in every image built on one base: kept once. */
  "CREATE TABLE purls (id INTEGER PRIMARY KEY, purl TEXT NOT NULL UNIQUE);"
  "ALTER TABLE vulns ADD COLUMN purl INTEGER;" /* purls.id */
  "UPDATE fixes SET first_seen = (SELECT min(s.scanned_at) FROM vulns v JOIN scans s ON s.id = v.scan"
  "  WHERE v.vuln_id = fixes.vuln_id AND v.pkg = fixes.pkg AND v.fixed IS NOT NULL"
  "  AND lower(coalesce(v.status, '')) NOT IN ('will_not_fix', 'wont-fix', 'wont_fix', 'not-fixed',"
  "  'not_fixed', 'fix_deferred', 'not_affected', 'end_of_life'))"
  " WHERE EXISTS (SELECT 1 FROM vulns v WHERE v.vuln_id = fixes.vuln_id AND v.pkg = fixes.pkg"
  "  AND v.fixed IS NOT NULL AND lower(coalesce(v.status, '')) NOT IN ('will_not_fix', 'wont-fix',"
  "  'wont_fix', 'not-fixed', 'not_fixed', 'fix_deferred', 'not_affected', 'end_of_life'));",
  /* 4 -> 5: the log of changes the decision index (index/) has to compile
     in, written by triggers whoever the writer is; the lineage names this
     log, so that an index is brought up to date only from its own.  */
  "CREATE TABLE changes ("
  "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  what TEXT NOT NULL," /* image: that image; vex: the images DIGEST names; all: every image */
  "  image INTEGER,"
  "  digest TEXT);"
  "INSERT OR IGNORE INTO meta (key, value) VALUES ('lineage', lower(hex(randomblob(16))));"
  "CREATE TRIGGER changes_images_ins AFTER INSERT ON images BEGIN "
  "  INSERT INTO changes (what, image) VALUES ('image', NEW.id); END;"
  "CREATE TRIGGER changes_images_upd AFTER UPDATE ON images WHEN NEW.image_id IS NOT OLD.image_id "
  "  OR NEW.created IS NOT OLD.created OR NEW.first_seen IS NOT OLD.first_seen "
  "  OR NEW.diff_ids IS NOT OLD.diff_ids BEGIN "
  "  INSERT INTO changes (what, image) VALUES ('image', NEW.id); END;"
  "CREATE TRIGGER changes_digests AFTER INSERT ON digests BEGIN "
  "  INSERT INTO changes (what, image) VALUES ('image', NEW.image); END;"
  "CREATE TRIGGER changes_names_ins AFTER INSERT ON names BEGIN "
  "  INSERT INTO changes (what, image) VALUES ('image', NEW.image); END;"
  "CREATE TRIGGER changes_names_upd AFTER UPDATE ON names WHEN NEW.first_seen IS NOT OLD.first_seen BEGIN "
  "  INSERT INTO changes (what, image) VALUES ('image', NEW.image); END;"
  "CREATE TRIGGER changes_scans AFTER INSERT ON scans BEGIN "
  "  INSERT INTO changes (what, image) VALUES ('image', NEW.image); END;"
  /* A fix known earlier than recorded: every image with that finding.  */
  "CREATE TRIGGER changes_fixes AFTER UPDATE ON fixes WHEN NEW.first_seen IS NOT OLD.first_seen "
  "  OR NEW.fix_date IS NOT OLD.fix_date BEGIN "
  "  INSERT INTO changes (what) VALUES ('all'); END;"
  /* A statement about a digest: the images it names; about a repository
     (no digest): any image.  */
  "CREATE TRIGGER changes_vex_ins AFTER INSERT ON vex_statements WHEN NEW.digest != '' BEGIN "
  "  INSERT INTO changes (what, digest) VALUES ('vex', NEW.digest); END;"
  "CREATE TRIGGER changes_vex_repo AFTER INSERT ON vex_statements WHEN NEW.digest = '' BEGIN "
  "  INSERT INTO changes (what) VALUES ('all'); END;"
  "CREATE TRIGGER changes_vex_upd AFTER UPDATE ON vex_statements BEGIN "
  "  INSERT INTO changes (what) VALUES ('all'); END;"
  "CREATE TRIGGER changes_policy_ins AFTER INSERT ON policy BEGIN INSERT INTO changes (what) VALUES ('all'); "
  "END;"
  "CREATE TRIGGER changes_policy_upd AFTER UPDATE ON policy BEGIN INSERT INTO changes (what) VALUES ('all'); "
  "END;"
  /* Patchgate never deletes; whoever does changes what any image may be.  */
  "CREATE TRIGGER changes_images_del AFTER DELETE ON images BEGIN INSERT INTO changes (what) VALUES ('all'); "
  "END;"
  "CREATE TRIGGER changes_digests_del AFTER DELETE ON digests BEGIN INSERT INTO changes (what) VALUES "
  "('all'); END;"
  "CREATE TRIGGER changes_names_del AFTER DELETE ON names BEGIN INSERT INTO changes (what) VALUES ('all'); "
  "END;"
  "CREATE TRIGGER changes_scans_del AFTER DELETE ON scans BEGIN INSERT INTO changes (what) VALUES ('all'); "
  "END;"
  /* Findings and packages come with their scan (logged above); added to
     an older scan, they change that scan's image.  */
  "CREATE TRIGGER changes_vulns_ins AFTER INSERT ON vulns WHEN NEW.scan != (SELECT max(id) FROM scans) BEGIN "
  "  INSERT INTO changes (what, image) SELECT 'image', image FROM scans WHERE id = NEW.scan; END;"
  "CREATE TRIGGER changes_packages_ins AFTER INSERT ON packages WHEN NEW.scan != (SELECT max(id) FROM scans) "
  "  BEGIN INSERT INTO changes (what, image) SELECT 'image', image FROM scans WHERE id = NEW.scan; END;"
  "CREATE TRIGGER changes_vulns AFTER DELETE ON vulns BEGIN INSERT INTO changes (what) VALUES ('all'); END;"
  "CREATE TRIGGER changes_vulns_upd AFTER UPDATE ON vulns BEGIN INSERT INTO changes (what) VALUES ('all'); "
  "END;"
  "CREATE TRIGGER changes_packages AFTER DELETE ON packages BEGIN INSERT INTO changes (what) VALUES ('all'); "
  "END;"
  "CREATE TRIGGER changes_packages_upd AFTER UPDATE ON packages BEGIN "
  "  INSERT INTO changes (what) VALUES ('all'); END;"
  "CREATE TRIGGER changes_scans_upd AFTER UPDATE ON scans BEGIN INSERT INTO changes (what) VALUES ('all'); "
  "END;"
  "CREATE TRIGGER changes_fixes_del AFTER DELETE ON fixes BEGIN INSERT INTO changes (what) VALUES ('all'); "
  "END;"
  "CREATE TRIGGER changes_vex_del AFTER DELETE ON vex_statements BEGIN INSERT INTO changes (what) VALUES "
  "('all'); END;"
  "CREATE TRIGGER changes_policy_del AFTER DELETE ON policy BEGIN INSERT INTO changes (what) VALUES ('all'); "
  "END;",
};

static int
migrate (pg_store *store, int from, pg_error_t *err)
{
  char pragma[64];
  /* In a writer's change (store_edit_begin), a savepoint of it.  */
  if (store_begin (store, true, err) < 0)
    return -1;
  for (int v = from; v < PG_SCHEMA_VERSION; v++)
    if (store_exec_sql (store, migrations[v], err) < 0)
      goto fail;
  snprintf (pragma, sizeof (pragma), "PRAGMA user_version = %d", PG_SCHEMA_VERSION);
  if (store_exec_sql (store, pragma, err) < 0 || store_commit (store, err) < 0)
    goto fail;
  return 0;
fail:
  store_rollback (store);
  return pg_error_wrap (err, "migrating the schema from version %d", from);
}

/* A read-only opener never creates or migrates: a missing or foreign file
   is an error the hook turns into a refusal.  */
static int
check_schema (pg_store *store, bool older_ok, pg_error_t *err)
{
  int version = 0;

  if (store_schema_version (store, &version, err) < 0)
    return -1;
  if (version > PG_SCHEMA_VERSION)
    return pg_make_error (err, 0,
                          "%s: database schema version %d is newer than this patchgate supports (%d): "
                          "upgrade patchgate",
                          store->path, version, PG_SCHEMA_VERSION);
  if (version == PG_SCHEMA_VERSION || (older_ok && version > 0))
    return 0;
  if (store->readonly)
    return pg_make_error (err, 0, "%s: not a patchgate database (schema version %d), or never initialised",
                          store->path, version);
  return migrate (store, version, err);
}

int
store_sqlite_open_readonly (const char *path, sqlite3 **db, pg_error_t *err)
{
  /* Read-only with SQLite's normal locking: writers change the database
     in place (store.h).  In WAL mode a reader takes no lock a writer
     waits for, and sees the last commit before its read began; it never
     writes the file (it cannot checkpoint), though it may create the WAL
     and its shared memory beside it when a writer left none.  */
  *db = NULL;
  if (sqlite3_open_v2 (path, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
    {
      pg_make_error (err, 0, "policy database %s: %s", path, *db ? sqlite3_errmsg (*db) : "out of memory");
      sqlite3_close_v2 (*db);
      *db = NULL;
      return -1;
    }
  sqlite3_busy_timeout (*db, PG_STORE_BUSY_MS);
  return 0;
}

int
store_open_live (const char *path, bool begin, pg_store **out, pg_error_t *err)
{
  pg_store *store = xmalloc0 (sizeof (*store));
  int persist = 1;

  *out = NULL;
  store->path = xstrdup (path);
  if (sqlite3_open_v2 (path, &store->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
    {
      pg_make_error (err, 0, "policy database %s: %s", path,
                     store->db ? sqlite3_errmsg (store->db) : "out of memory");
      store_close (store);
      return -1;
    }
  /* Writers take turns under the writer lock: what this waits for is a
     reader of an older patchgate's rollback-journal database while it is
     turned to WAL, or a writer that is not patchgate.  */
  sqlite3_busy_timeout (store->db, PG_WRITER_LOCK_WAIT_MS);
  sqlite3_extended_result_codes (store->db, 1);
  /* The WAL and its shared memory stay beside the file when the last
     connection closes (emptied: journal_size_limit 0), so that a reader
     without write access to the directory can open it.  */
  sqlite3_file_control (store->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
  if (store_exec_sql (store, "PRAGMA journal_mode = WAL", err) < 0
      || store_exec_sql (
             store, "PRAGMA journal_size_limit = 0; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON", err)
             < 0)
    goto fail;
  {
    /* journal_mode says what it got: a file system without shared memory
       keeps the old mode.  */
    cleanup_stmt sqlite3_stmt *st = NULL;
    if (store_prepare (store, "PRAGMA journal_mode", &st, err) < 0)
      goto fail;
    if (sqlite3_step (st) != SQLITE_ROW || sqlite3_column_text (st, 0) == NULL
        || strcmp ((const char *) sqlite3_column_text (st, 0), "wal") != 0)
      {
        pg_make_error (err, 0, "policy database %s: cannot use WAL mode (journal mode %s)", path,
                       sqlite3_column_text (st, 0) ? (const char *) sqlite3_column_text (st, 0) : "unknown");
        goto fail;
      }
  }
  if (begin)
    {
      if (store_exec_sql (store, "BEGIN IMMEDIATE", err) < 0)
        goto fail;
      store->edit = true;
      if (check_schema (store, false, err) < 0)
        goto fail;
    }
  *out = store;
  return 0;
fail:
  store_close (store);
  return -1;
}

int
store_open_named (const char *path, const char *name, int flags, pg_store **out, pg_error_t *err)
{
  int oflags;
  pg_store *store;

  if (!(flags & PG_STORE_CREATE))
    {
      struct stat st;
      if (stat (path, &st) < 0)
        return pg_make_error (err, errno, "policy database %s", name);
    }
  store = xmalloc0 (sizeof (*store));
  store->path = xstrdup (name);
  store->readonly = (flags & PG_STORE_READONLY) != 0;
  if (store->readonly)
    {
      if (store_sqlite_open_readonly (path, &store->db, err) < 0)
        {
          store_close (store);
          return -1;
        }
    }
  else
    {
      oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
      if (flags & PG_STORE_CREATE)
        oflags |= SQLITE_OPEN_CREATE;
      if (sqlite3_open_v2 (path, &store->db, oflags, NULL) != SQLITE_OK)
        {
          pg_make_error (err, 0, "policy database %s: %s", name,
                         store->db ? sqlite3_errmsg (store->db) : "out of memory");
          store_close (store);
          return -1;
        }
      /* A database of the caller's own: the busy timeout is for a
         connection another process still holds.  */
      sqlite3_busy_timeout (store->db, 5000);
    }
  sqlite3_extended_result_codes (store->db, 1);
  if (check_schema (store, (flags & PG_STORE_OLDER_OK) != 0, err) < 0
      || (!store->readonly && store_exec_sql (store, "PRAGMA foreign_keys = ON", err) < 0))
    {
      store_close (store);
      return -1;
    }
  *out = store;
  return 0;
}

int
store_open (const char *path, int flags, pg_store **out, pg_error_t *err)
{
  return store_open_named (path, path, flags, out, err);
}

void
store_close (pg_store *store)
{
  if (store == NULL)
    return;
  store_stmt_cache_drop (store);
  sqlite3_close_v2 (store->db);
  free (store->path);
  strv_free (store->package_filter, store->n_package_filter);
  free (store);
}

void
cleanup_storep (pg_store **s)
{
  store_close (*s);
}

sqlite3 *
store_db (pg_store *store)
{
  return store->db;
}

const char *
store_path (pg_store *store)
{
  return store->path;
}

int
store_begin (pg_store *store, bool write, pg_error_t *err)
{
  if (store->edit)
    {
      if (store_exec_sql (store, "SAVEPOINT pg", err) < 0)
        return -1;
      store->depth++;
      return 0;
    }
  /* A read transaction keeps every query of one decision on one snapshot.  */
  return store_exec_sql (store, write ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED", err);
}

int
store_commit (pg_store *store, pg_error_t *err)
{
  if (store->edit)
    {
      if (store->depth == 0)
        return pg_make_error (err, 0, "%s: no savepoint to release", store->path);
      store->depth--;
      return store_exec_sql (store, "RELEASE pg", err);
    }
  return store_exec_sql (store, "COMMIT", err);
}

void
store_rollback (pg_store *store)
{
  if (store->edit)
    {
      /* The writer's own transaction ends in store_edit_commit or _end.  */
      if (store->depth == 0)
        return;
      store->depth--;
      if (!sqlite3_get_autocommit (store->db))
        sqlite3_exec (store->db, "ROLLBACK TO pg; RELEASE pg", NULL, NULL, NULL);
      return;
    }
  if (!sqlite3_get_autocommit (store->db))
    sqlite3_exec (store->db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- scans: in-memory model ---- */
