#include "store/store.h"
#include "rules/policy_cache.h"
#include "base/digest.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

struct pg_store
{
  sqlite3 *db;
  char *path;
  bool readonly;
  /* The package names records load, sorted (store_set_package_filter);
     has_package_filter false: all.  */
  bool has_package_filter;
  char **package_filter;
  size_t n_package_filter;
};

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
};

static int
sqlite_error (pg_error_t *err, pg_store *store, const char *what)
{
  return pg_make_error (err, 0, "%s: %s: %s", store->path, what, sqlite3_errmsg (store->db));
}

/* Prepared statements are kept until store_close: an import of many reports
   compiles each statement once, not once per scan.  The cache is keyed by
   the store and the SQL text.  A statement from prepare() goes back to the
   cache (reset, bindings cleared) when its cleanup_stmt variable goes out of
   scope; one that was not cached (cache full, or the cached one is still
   stepping in an outer caller) is finalized there as before.  Like the
   connections (SQLITE_OPEN_NOMUTEX), this is for one thread.  */
#define PG_STMT_CACHE 64
static struct
{
  pg_store *store;
  sqlite3_stmt *st;
} stmt_cache[PG_STMT_CACHE];

static bool
stmt_cached (sqlite3_stmt *st)
{
  for (size_t i = 0; st && i < PG_STMT_CACHE; i++)
    if (stmt_cache[i].st == st)
      return true;
  return false;
}

static void
stmt_cache_drop (pg_store *store)
{
  for (size_t i = 0; i < PG_STMT_CACHE; i++)
    if (stmt_cache[i].store == store)
      {
        sqlite3_finalize (stmt_cache[i].st);
        stmt_cache[i].store = NULL;
        stmt_cache[i].st = NULL;
      }
}

static void
cleanup_stmtp (sqlite3_stmt **s)
{
  if (*s && stmt_cached (*s))
    {
      sqlite3_reset (*s);
      sqlite3_clear_bindings (*s);
    }
  else
    sqlite3_finalize (*s);
}
#define cleanup_stmt __attribute__ ((cleanup (cleanup_stmtp)))

static int
prepare (pg_store *store, const char *sql, sqlite3_stmt **out, pg_error_t *err)
{
  size_t free_slot = PG_STMT_CACHE;

  for (size_t i = 0; i < PG_STMT_CACHE; i++)
    {
      if (stmt_cache[i].store == NULL)
        {
          if (free_slot == PG_STMT_CACHE)
            free_slot = i;
          continue;
        }
      if (stmt_cache[i].store != store || strcmp (sqlite3_sql (stmt_cache[i].st), sql) != 0)
        continue;
      if (sqlite3_stmt_busy (stmt_cache[i].st))
        break; /* in use further up the stack: a private copy */
      *out = stmt_cache[i].st;
      return 0;
    }
  if (sqlite3_prepare_v3 (store->db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL) != SQLITE_OK)
    return sqlite_error (err, store, "prepare");
  if (free_slot < PG_STMT_CACHE && *out && strcmp (sqlite3_sql (*out), sql) == 0)
    {
      bool dup = false;
      for (size_t i = 0; i < PG_STMT_CACHE; i++)
        dup |= stmt_cache[i].store == store && strcmp (sqlite3_sql (stmt_cache[i].st), sql) == 0;
      if (!dup)
        {
          stmt_cache[free_slot].store = store;
          stmt_cache[free_slot].st = *out;
        }
    }
  return 0;
}

static int
exec_sql (pg_store *store, const char *sql, pg_error_t *err)
{
  char *msg = NULL;
  if (sqlite3_exec (store->db, sql, NULL, NULL, &msg) != SQLITE_OK)
    {
      pg_make_error (err, 0, "%s: %s", store->path, msg ? msg : sqlite3_errmsg (store->db));
      sqlite3_free (msg);
      return -1;
    }
  return 0;
}

static int
schema_version (pg_store *store, int *version, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (prepare (store, "PRAGMA user_version", &st, err) < 0)
    return -1;
  if (sqlite3_step (st) != SQLITE_ROW)
    return sqlite_error (err, store, "reading the schema version");
  *version = sqlite3_column_int (st, 0);
  return 0;
}

static int
migrate (pg_store *store, int from, pg_error_t *err)
{
  char pragma[64];
  if (exec_sql (store, "BEGIN IMMEDIATE", err) < 0)
    return -1;
  for (int v = from; v < PG_SCHEMA_VERSION; v++)
    if (exec_sql (store, migrations[v], err) < 0)
      goto fail;
  snprintf (pragma, sizeof (pragma), "PRAGMA user_version = %d", PG_SCHEMA_VERSION);
  if (exec_sql (store, pragma, err) < 0 || exec_sql (store, "COMMIT", err) < 0)
    goto fail;
  return 0;
fail:
  sqlite3_exec (store->db, "ROLLBACK", NULL, NULL, NULL);
  return pg_error_wrap (err, "migrating the schema from version %d", from);
}

/* A read-only opener never creates or migrates: a missing or foreign file
   is an error the hook turns into a refusal.  */
static int
check_schema (pg_store *store, bool older_ok, pg_error_t *err)
{
  int version = 0;

  if (schema_version (store, &version, err) < 0)
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

/* "file:PATH?immutable=1", PATH percent-encoded as RFC 3986 wants.  */
static char *
immutable_uri (const char *path)
{
  static const char hex[] = "0123456789ABCDEF";
  char *uri = xmalloc0 (strlen (path) * 3 + sizeof ("file:?immutable=1"));
  char *o = uri;

  o = stpcpy (o, "file:");
  for (const unsigned char *p = (const unsigned char *) path; *p; p++)
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
        || strchr ("/-._~", *p))
      *o++ = (char) *p;
    else
      {
        *o++ = '%';
        *o++ = hex[*p >> 4];
        *o++ = hex[*p & 15];
      }
  strcpy (o, "?immutable=1");
  return uri;
}

int
store_sqlite_open_readonly (const char *path, sqlite3 **db, pg_error_t *err)
{
  /* immutable=1: no lock taken, no journal looked for, nothing written.
     Sound because the live file is only ever replaced by rename, never
     changed in place (store.h); a killed writer's leftovers and another
     user's lock are then nothing to the reader.  */
  cleanup_free char *uri = immutable_uri (path);

  *db = NULL;
  if (sqlite3_open_v2 (uri, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL)
      != SQLITE_OK)
    {
      pg_make_error (err, 0, "policy database %s: %s", path, *db ? sqlite3_errmsg (*db) : "out of memory");
      sqlite3_close_v2 (*db);
      *db = NULL;
      return -1;
    }
  return 0;
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
      /* Only the writer itself uses its copy; the busy timeout is for a
         legacy database recovered in place (store_recover_live).  */
      sqlite3_busy_timeout (store->db, 5000);
    }
  sqlite3_extended_result_codes (store->db, 1);
  if (check_schema (store, (flags & PG_STORE_OLDER_OK) != 0, err) < 0
      || (!store->readonly && exec_sql (store, "PRAGMA foreign_keys = ON", err) < 0))
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
  stmt_cache_drop (store);
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

static int
compare_strp (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

void
store_set_package_filter (pg_store *store, const char *const *names, size_t n)
{
  strv_free (store->package_filter, store->n_package_filter);
  store->package_filter = NULL;
  store->n_package_filter = 0;
  store->has_package_filter = names != NULL;
  for (size_t i = 0; names && i < n; i++)
    strv_append (&store->package_filter, &store->n_package_filter, names[i]);
  if (store->n_package_filter > 1)
    qsort (store->package_filter, store->n_package_filter, sizeof (char *), compare_strp);
}

int
store_begin (pg_store *store, bool write, pg_error_t *err)
{
  /* A read transaction keeps every query of one decision on one snapshot.  */
  return exec_sql (store, write ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED", err);
}

int
store_commit (pg_store *store, pg_error_t *err)
{
  return exec_sql (store, "COMMIT", err);
}

void
store_rollback (pg_store *store)
{
  if (!sqlite3_get_autocommit (store->db))
    sqlite3_exec (store->db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- scans: in-memory model ---- */

static const char *const severity_names[PG_SEV_COUNT]
    = { "UNKNOWN", "NEGLIGIBLE", "LOW", "MEDIUM", "HIGH", "CRITICAL" };

const char *
severity_name (enum pg_severity s)
{
  return (s >= 0 && s < PG_SEV_COUNT) ? severity_names[s] : "UNKNOWN";
}

enum pg_severity
severity_parse (const char *s)
{
  if (s == NULL)
    return PG_SEV_UNKNOWN;
  for (int i = 0; i < PG_SEV_COUNT; i++)
    if (strcasecmp (s, severity_names[i]) == 0)
      return (enum pg_severity) i;
  return PG_SEV_UNKNOWN;
}

static void
vuln_clear (struct pg_vuln *v)
{
  free (v->id);
  free (v->pkg);
  free (v->installed);
  free (v->fixed);
  free (v->status);
}

void
pg_scan_add_vuln (struct pg_scan *scan, const struct pg_vuln *v)
{
  struct pg_vuln *d;
  scan->vulns = xrealloc (scan->vulns, (scan->n_vulns + 1) * sizeof (*scan->vulns));
  d = &scan->vulns[scan->n_vulns++];
  d->id = xstrdup (v->id);
  d->pkg = xstrdup (v->pkg);
  d->installed = xstrdup (v->installed);
  d->fixed = xstrdup (v->fixed);
  d->severity = v->severity;
  d->status = xstrdup (v->status);
  d->fix_known_since = v->fix_known_since;
}

void
pg_scan_add_package (struct pg_scan *scan, const char *name, const char *version)
{
  struct pg_package *p;
  scan->packages = xrealloc (scan->packages, (scan->n_packages + 1) * sizeof (*scan->packages));
  p = &scan->packages[scan->n_packages++];
  p->name = xstrdup (name);
  p->version = xstrdup (version);
}

static void
packages_free (struct pg_package *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (p[i].name);
      free (p[i].version);
    }
  free (p);
}

static void
vulns_free (struct pg_vuln *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    vuln_clear (&v[i]);
  free (v);
}

void
pg_scan_free (struct pg_scan *scan)
{
  if (scan == NULL)
    return;
  free (scan->scanner);
  free (scan->scanner_version);
  free (scan->image_id);
  free (scan->manifest_digest);
  strv_free (scan->repo_digests, scan->n_repo_digests);
  strv_free (scan->repo_tags, scan->n_repo_tags);
  free (scan->os_family);
  free (scan->os_name);
  strv_free (scan->diff_ids, scan->n_diff_ids);
  vulns_free (scan->vulns, scan->n_vulns);
  packages_free (scan->packages, scan->n_packages);
  free (scan->source);
  memset (scan, 0, sizeof (*scan));
}

void
pg_vex_clear (struct pg_vex *v)
{
  free (v->vuln_id);
  free (v->status);
  strv_free (v->digests, v->n_digests);
  memset (v, 0, sizeof (*v));
}

void
pg_vex_free (struct pg_vex *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    pg_vex_clear (&v[i]);
  free (v);
}

void
pg_image_record_free (struct pg_image_record *rec)
{
  if (rec == NULL)
    return;
  free (rec->image_id);
  free (rec->manifest_digest);
  strv_free (rec->repositories, rec->n_repositories);
  strv_free (rec->repo_tags, rec->n_repo_tags);
  strv_free (rec->diff_ids, rec->n_diff_ids);
  free (rec->scanner);
  free (rec->os_family);
  free (rec->os_name);
  vulns_free (rec->vulns, rec->n_vulns);
  packages_free (rec->packages, rec->n_packages);
  pg_vex_free (rec->vex, rec->n_vex);
  memset (rec, 0, sizeof (*rec));
}

/* ---- writing scans ---- */

static int
bind_text_or_null (sqlite3_stmt *st, int i, const char *s)
{
  return s ? sqlite3_bind_text (st, i, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null (st, i);
}

static int
step_done (pg_store *store, sqlite3_stmt *st, const char *what, pg_error_t *err)
{
  int r = sqlite3_step (st);
  if (r != SQLITE_DONE && r != SQLITE_ROW)
    return sqlite_error (err, store, what);
  sqlite3_reset (st);
  sqlite3_clear_bindings (st);
  return 0;
}

static int
find_image_by_digest (pg_store *store, const char *digest, int64_t *rowid, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  int r;
  if (prepare (store, "SELECT image FROM digests WHERE digest = ?", &st, err) < 0)
    return -1;
  sqlite3_bind_text (st, 1, digest, -1, SQLITE_STATIC);
  r = sqlite3_step (st);
  if (r == SQLITE_ROW)
    {
      *rowid = sqlite3_column_int64 (st, 0);
      return 1;
    }
  if (r != SQLITE_DONE)
    return sqlite_error (err, store, "looking up a digest");
  return 0;
}

/* The digests of a scan, "sha256:..." each, with their kind.  */
struct digest_ref
{
  const char *digest;
  const char *kind;
};

static size_t
scan_digests (const struct pg_scan *scan, struct digest_ref *out, size_t max)
{
  size_t n = 0;
  if (scan->image_id && n < max)
    out[n++] = (struct digest_ref){ scan->image_id, "image_id" };
  if (scan->manifest_digest && n < max)
    out[n++] = (struct digest_ref){ scan->manifest_digest, "manifest" };
  for (size_t i = 0; i < scan->n_repo_digests && n < max; i++)
    {
      const char *at = strchr (scan->repo_digests[i], '@');
      if (at && is_sha256_digest (at + 1))
        out[n++] = (struct digest_ref){ at + 1, "repo" };
    }
  return n;
}

static int
upsert_image (pg_store *store, const struct pg_scan *scan, int64_t now, int64_t *rowid, pg_error_t *err)
{
  struct digest_ref refs[64];
  size_t n = scan_digests (scan, refs, 64);
  cleanup_stmt sqlite3_stmt *ins = NULL;
  cleanup_free char *diff_ids = NULL;
  size_t dlen = 0;

  if (n == 0)
    return pg_make_error (err, 0, "%s: the report names no image digest",
                          scan->source ? scan->source : "report");

  for (size_t i = 0; i < n; i++)
    {
      int r = find_image_by_digest (store, refs[i].digest, rowid, err);
      if (r < 0)
        return -1;
      if (r > 0)
        goto have_image;
    }

  for (size_t i = 0; i < scan->n_diff_ids; i++)
    dlen += strlen (scan->diff_ids[i]) + 1;
  diff_ids = xmalloc0 (dlen + 1);
  for (size_t i = 0; i < scan->n_diff_ids; i++)
    {
      strcat (diff_ids, scan->diff_ids[i]);
      strcat (diff_ids, "\n");
    }
  if (prepare (store, "INSERT INTO images (image_id, created, first_seen, diff_ids) VALUES (?, ?, ?, ?)",
               &ins, err)
      < 0)
    return -1;
  bind_text_or_null (ins, 1, scan->image_id);
  sqlite3_bind_int64 (ins, 2, scan->created);
  /* First seen: the earlier of the scan and the import, so that importing
     an old report later does not make an image look newer than it is.  */
  sqlite3_bind_int64 (ins, 3, scan->scanned_at < now ? scan->scanned_at : now);
  sqlite3_bind_text (ins, 4, diff_ids, -1, SQLITE_STATIC);
  if (step_done (store, ins, "adding an image", err) < 0)
    return -1;
  *rowid = sqlite3_last_insert_rowid (store->db);

have_image:
  {
    cleanup_stmt sqlite3_stmt *dig = NULL;
    cleanup_stmt sqlite3_stmt *upd = NULL;
    if (prepare (store, "INSERT OR IGNORE INTO digests (digest, image, kind) VALUES (?, ?, ?)", &dig, err)
        < 0)
      return -1;
    for (size_t i = 0; i < n; i++)
      {
        int64_t other;
        int r = find_image_by_digest (store, refs[i].digest, &other, err);
        if (r < 0)
          return -1;
        if (r > 0 && other != *rowid)
          return pg_make_error (err, 0, "%s: digest %s already belongs to another image record",
                                scan->source ? scan->source : "report", refs[i].digest);
        sqlite3_bind_text (dig, 1, refs[i].digest, -1, SQLITE_STATIC);
        sqlite3_bind_int64 (dig, 2, *rowid);
        sqlite3_bind_text (dig, 3, refs[i].kind, -1, SQLITE_STATIC);
        if (step_done (store, dig, "adding a digest", err) < 0)
          return -1;
      }
    /* Fill in what an earlier report lacked (Grype gives no image ID for
       some sources; an old report may lack the build time).  */
    if (prepare (store,
                 "UPDATE images SET image_id = coalesce(image_id, ?), created = max(created, ?), "
                 "first_seen = min(first_seen, ?) WHERE id = ?",
                 &upd, err)
        < 0)
      return -1;
    bind_text_or_null (upd, 1, scan->image_id);
    sqlite3_bind_int64 (upd, 2, scan->created);
    sqlite3_bind_int64 (upd, 3, scan->scanned_at < now ? scan->scanned_at : now);
    sqlite3_bind_int64 (upd, 4, *rowid);
    return step_done (store, upd, "updating an image", err);
  }
}

static int
add_name (pg_store *store, sqlite3_stmt *st, int64_t image, const char *ref, int64_t seen, pg_error_t *err)
{
  cleanup_free char *repo = NULL;
  cleanup_free char *tag = NULL;
  if (image_ref_parse (ref, &repo, &tag, NULL) < 0)
    return 0; /* scanners write odd names ("REDACTED"); they only lose a name */
  sqlite3_bind_int64 (st, 1, image);
  sqlite3_bind_text (st, 2, repo, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 3, tag ? tag : "", -1, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 4, seen);
  return step_done (store, st, "adding an image name", err);
}

static int
add_names (pg_store *store, const struct pg_scan *scan, int64_t image, int64_t seen, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (prepare (store,
               "INSERT INTO names (image, repository, tag, first_seen) VALUES (?, ?, ?, ?) "
               "ON CONFLICT DO UPDATE SET first_seen = min(first_seen, excluded.first_seen)",
               &st, err)
      < 0)
    return -1;
  for (size_t i = 0; i < scan->n_repo_tags; i++)
    if (add_name (store, st, image, scan->repo_tags[i], seen, err) < 0)
      return -1;
  for (size_t i = 0; i < scan->n_repo_digests; i++)
    if (add_name (store, st, image, scan->repo_digests[i], seen, err) < 0)
      return -1;
  return 0;
}

static int
add_vulns (pg_store *store, const struct pg_scan *scan, int64_t scan_id, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  cleanup_stmt sqlite3_stmt *fix = NULL;
  if (prepare (store,
               "INSERT INTO vulns (scan, vuln_id, pkg, installed, fixed, severity, status) "
               "VALUES (?, ?, ?, ?, ?, ?, ?)",
               &st, err)
          < 0
      || prepare (store,
                  "INSERT INTO fixes (vuln_id, pkg, first_seen) VALUES (?, ?, ?) "
                  "ON CONFLICT DO UPDATE SET first_seen = min(first_seen, excluded.first_seen)",
                  &fix, err)
             < 0)
    return -1;
  for (size_t i = 0; i < scan->n_vulns; i++)
    {
      const struct pg_vuln *v = &scan->vulns[i];
      sqlite3_bind_int64 (st, 1, scan_id);
      sqlite3_bind_text (st, 2, v->id ? v->id : "", -1, SQLITE_STATIC);
      sqlite3_bind_text (st, 3, v->pkg ? v->pkg : "", -1, SQLITE_STATIC);
      bind_text_or_null (st, 4, v->installed);
      bind_text_or_null (st, 5, v->fixed);
      sqlite3_bind_int (st, 6, (int) v->severity);
      bind_text_or_null (st, 7, v->status);
      if (step_done (store, st, "adding a vulnerability", err) < 0)
        return -1;
      if (v->fixed == NULL)
        continue;
      sqlite3_bind_text (fix, 1, v->id ? v->id : "", -1, SQLITE_STATIC);
      sqlite3_bind_text (fix, 2, v->pkg ? v->pkg : "", -1, SQLITE_STATIC);
      sqlite3_bind_int64 (fix, 3, scan->scanned_at);
      if (step_done (store, fix, "recording a fix", err) < 0)
        return -1;
    }
  return 0;
}

static int
add_packages (pg_store *store, const struct pg_scan *scan, int64_t scan_id, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (scan->n_packages == 0)
    return 0;
  if (prepare (store, "INSERT INTO packages (scan, name, version) VALUES (?, ?, ?)", &st, err) < 0)
    return -1;
  for (size_t i = 0; i < scan->n_packages; i++)
    {
      sqlite3_bind_int64 (st, 1, scan_id);
      sqlite3_bind_text (st, 2, scan->packages[i].name, -1, SQLITE_STATIC);
      sqlite3_bind_text (st, 3, scan->packages[i].version, -1, SQLITE_STATIC);
      if (step_done (store, st, "adding a package", err) < 0)
        return -1;
    }
  return 0;
}

int
store_add_scan (pg_store *store, const struct pg_scan *scan, int64_t now, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  int64_t image, scan_id;

  if (upsert_image (store, scan, now, &image, err) < 0
      || add_names (store, scan, image, scan->scanned_at, err) < 0)
    return -1;
  if (prepare (
          store,
          "INSERT OR IGNORE INTO scans (image, scanned_at, scanner, scanner_version, os_family, os_name, "
          "eosl, source, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
          &st, err)
      < 0)
    return -1;
  sqlite3_bind_int64 (st, 1, image);
  sqlite3_bind_int64 (st, 2, scan->scanned_at);
  sqlite3_bind_text (st, 3, scan->scanner ? scan->scanner : "unknown", -1, SQLITE_STATIC);
  bind_text_or_null (st, 4, scan->scanner_version);
  bind_text_or_null (st, 5, scan->os_family);
  bind_text_or_null (st, 6, scan->os_name);
  sqlite3_bind_int (st, 7, scan->eosl ? 1 : 0);
  bind_text_or_null (st, 8, scan->source);
  sqlite3_bind_int64 (st, 9, now);
  if (sqlite3_step (st) != SQLITE_DONE)
    return sqlite_error (err, store, "adding a scan");
  if (sqlite3_changes (store->db) == 0)
    return 0;
  scan_id = sqlite3_last_insert_rowid (store->db);
  if (add_vulns (store, scan, scan_id, err) < 0 || add_packages (store, scan, scan_id, err) < 0)
    return -1;
  return 1;
}

int
store_add_vex (pg_store *store, const struct pg_vex *vex, const char *source, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (prepare (store,
               "INSERT INTO vex (digest, vuln_id, status, issued, source) VALUES (?, ?, ?, ?, ?) "
               "ON CONFLICT DO UPDATE SET status = excluded.status, issued = excluded.issued, "
               "source = excluded.source WHERE excluded.issued >= vex.issued",
               &st, err)
      < 0)
    return -1;
  for (size_t i = 0; i < vex->n_digests; i++)
    {
      sqlite3_bind_text (st, 1, vex->digests[i], -1, SQLITE_STATIC);
      sqlite3_bind_text (st, 2, vex->vuln_id, -1, SQLITE_STATIC);
      sqlite3_bind_text (st, 3, vex->status, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (st, 4, vex->issued);
      bind_text_or_null (st, 5, source);
      if (step_done (store, st, "adding a VEX statement", err) < 0)
        return -1;
    }
  return 0;
}

/* ---- reading image records ---- */

static char *
column_strdup (sqlite3_stmt *st, int i)
{
  const unsigned char *s = sqlite3_column_text (st, i);
  return s ? xstrdup ((const char *) s) : NULL;
}

static int
load_identity (pg_store *store, int64_t image, struct pg_image_record *rec, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  const char *p;

  if (prepare (store, "SELECT image_id, created, first_seen, diff_ids FROM images WHERE id = ?", &st, err)
      < 0)
    return -1;
  sqlite3_bind_int64 (st, 1, image);
  if (sqlite3_step (st) != SQLITE_ROW)
    return sqlite_error (err, store, "reading an image");
  rec->rowid = image;
  rec->image_id = column_strdup (st, 0);
  rec->created = sqlite3_column_int64 (st, 1);
  rec->first_seen = sqlite3_column_int64 (st, 2);
  p = (const char *) sqlite3_column_text (st, 3);
  while (p && *p)
    {
      const char *nl = strchr (p, '\n');
      size_t n = nl ? (size_t) (nl - p) : strlen (p);
      char *d = strndup (p, n);
      strv_append (&rec->diff_ids, &rec->n_diff_ids, d);
      free (d);
      p += n + (nl ? 1 : 0);
    }
  return 0;
}

static int
load_names (pg_store *store, int64_t image, struct pg_image_record *rec, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  cleanup_stmt sqlite3_stmt *dg = NULL;
  int r;

  if (prepare (store, "SELECT repository, tag FROM names WHERE image = ? ORDER BY repository, tag", &st, err)
      < 0)
    return -1;
  sqlite3_bind_int64 (st, 1, image);
  while ((r = sqlite3_step (st)) == SQLITE_ROW)
    {
      const char *repo = (const char *) sqlite3_column_text (st, 0);
      const char *tag = (const char *) sqlite3_column_text (st, 1);
      if (rec->n_repositories == 0 || strcmp (rec->repositories[rec->n_repositories - 1], repo) != 0)
        strv_append (&rec->repositories, &rec->n_repositories, repo);
      if (tag && *tag)
        {
          cleanup_free char *full = NULL;
          xasprintf (&full, "%s:%s", repo, tag);
          strv_append (&rec->repo_tags, &rec->n_repo_tags, full);
        }
    }
  if (r != SQLITE_DONE)
    return sqlite_error (err, store, "reading image names");
  if (prepare (store, "SELECT digest FROM digests WHERE image = ? AND kind = 'manifest'", &dg, err) < 0)
    return -1;
  sqlite3_bind_int64 (dg, 1, image);
  if (sqlite3_step (dg) == SQLITE_ROW)
    rec->manifest_digest = column_strdup (dg, 0);
  return 0;
}

static int
load_newest_scan (pg_store *store, int64_t image, struct pg_image_record *rec, int64_t *scan_id,
                  pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  int r;

  if (prepare (store,
               "SELECT id, scanned_at, scanner, os_family, os_name, eosl FROM scans WHERE image = ? "
               "ORDER BY scanned_at DESC, id DESC LIMIT 1",
               &st, err)
      < 0)
    return -1;
  sqlite3_bind_int64 (st, 1, image);
  r = sqlite3_step (st);
  if (r == SQLITE_DONE)
    return 0;
  if (r != SQLITE_ROW)
    return sqlite_error (err, store, "reading scans");
  *scan_id = sqlite3_column_int64 (st, 0);
  rec->has_scan = true;
  rec->scanned_at = sqlite3_column_int64 (st, 1);
  rec->scanner = column_strdup (st, 2);
  rec->os_family = column_strdup (st, 3);
  rec->os_name = column_strdup (st, 4);
  rec->eosl = sqlite3_column_int (st, 5) != 0;
  return 1;
}

/* Two scanners report the same finding: keep one.  */
static bool
vuln_already_loaded (const struct pg_image_record *rec, sqlite3_stmt *st)
{
  const char *id = (const char *) sqlite3_column_text (st, 0);
  const char *pkg = (const char *) sqlite3_column_text (st, 1);
  const char *installed = (const char *) sqlite3_column_text (st, 2);
  for (size_t i = 0; i < rec->n_vulns; i++)
    if (strcmp (rec->vulns[i].id, id) == 0 && strcmp (rec->vulns[i].pkg, pkg) == 0
        && (installed == NULL) == (rec->vulns[i].installed == NULL)
        && (installed == NULL || strcmp (installed, rec->vulns[i].installed) == 0))
      {
        /* Keep the fixed version if only one scanner named it.  */
        return rec->vulns[i].fixed != NULL || sqlite3_column_type (st, 3) == SQLITE_NULL;
      }
  return false;
}

static int
load_vulns (pg_store *store, int64_t scan_id, struct pg_image_record *rec, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  int r;

  /* fix_known_since means something only for a finding with a fix, and
     each lookup in fixes is a random page: look up only those.  */
  if (prepare (store,
               "SELECT v.vuln_id, v.pkg, v.installed, v.fixed, v.severity, v.status, "
               "CASE WHEN v.fixed IS NOT NULL THEN (SELECT f.first_seen FROM fixes f "
               "WHERE f.vuln_id = v.vuln_id AND f.pkg = v.pkg) END "
               "FROM vulns v WHERE v.scan = ?",
               &st, err)
      < 0)
    return -1;
  sqlite3_bind_int64 (st, 1, scan_id);
  while ((r = sqlite3_step (st)) == SQLITE_ROW)
    {
      struct pg_vuln *v;
      if (vuln_already_loaded (rec, st))
        continue;
      rec->vulns = xrealloc (rec->vulns, (rec->n_vulns + 1) * sizeof (*rec->vulns));
      v = &rec->vulns[rec->n_vulns++];
      v->id = column_strdup (st, 0);
      v->pkg = column_strdup (st, 1);
      v->installed = column_strdup (st, 2);
      v->fixed = column_strdup (st, 3);
      v->severity = (enum pg_severity) sqlite3_column_int (st, 4);
      if (v->severity < 0 || v->severity >= PG_SEV_COUNT)
        v->severity = PG_SEV_UNKNOWN;
      v->status = column_strdup (st, 5);
      v->fix_known_since = sqlite3_column_int64 (st, 6);
    }
  if (r != SQLITE_DONE)
    return sqlite_error (err, store, "reading vulnerabilities");
  return 0;
}

static int
load_packages (pg_store *store, int64_t scan_id, struct pg_image_record *rec, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  int r;

  if (prepare (store, "SELECT name, version FROM packages WHERE scan = ?", &st, err) < 0)
    return -1;
  sqlite3_bind_int64 (st, 1, scan_id);
  while ((r = sqlite3_step (st)) == SQLITE_ROW)
    {
      struct pg_package *p;
      const char *name = (const char *) sqlite3_column_text (st, 0);
      if (store->has_package_filter
          && (name == NULL || store->n_package_filter == 0
              || bsearch (&name, store->package_filter, store->n_package_filter, sizeof (char *),
                          compare_strp)
                     == NULL))
        continue; /* not one the caller needs (store_set_package_filter) */
      rec->packages = xrealloc (rec->packages, (rec->n_packages + 1) * sizeof (*rec->packages));
      p = &rec->packages[rec->n_packages++];
      p->name = column_strdup (st, 0);
      p->version = column_strdup (st, 1);
    }
  if (r != SQLITE_DONE)
    return sqlite_error (err, store, "reading packages");
  return 0;
}

/* Findings come from the newest scan of each scanner: a Grype and a Trivy
   report of the same image both count, and an older report of the same
   scanner is superseded by the newer one.  */
static int
load_findings (pg_store *store, int64_t image, struct pg_image_record *rec, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  int r;

  if (prepare (store,
               "SELECT id FROM scans s WHERE image = ?1 AND id = (SELECT id FROM scans o WHERE o.image = ?1 "
               "AND o.scanner = s.scanner ORDER BY scanned_at DESC, id DESC LIMIT 1)",
               &st, err)
      < 0)
    return -1;
  sqlite3_bind_int64 (st, 1, image);
  while ((r = sqlite3_step (st)) == SQLITE_ROW)
    {
      int64_t scan_id = sqlite3_column_int64 (st, 0);
      if (load_vulns (store, scan_id, rec, err) < 0 || load_packages (store, scan_id, rec, err) < 0)
        return -1;
    }
  if (r != SQLITE_DONE)
    return sqlite_error (err, store, "reading scans");
  return 0;
}

static int
load_vex (pg_store *store, int64_t image, struct pg_image_record *rec, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  int r;

  if (prepare (store,
               "SELECT v.vuln_id, v.status, max(v.issued) FROM vex v JOIN digests d ON d.digest = v.digest "
               "WHERE d.image = ? GROUP BY v.vuln_id",
               &st, err)
      < 0)
    return -1;
  sqlite3_bind_int64 (st, 1, image);
  while ((r = sqlite3_step (st)) == SQLITE_ROW)
    {
      struct pg_vex *v;
      rec->vex = xrealloc (rec->vex, (rec->n_vex + 1) * sizeof (*rec->vex));
      v = &rec->vex[rec->n_vex++];
      memset (v, 0, sizeof (*v));
      v->vuln_id = column_strdup (st, 0);
      v->status = column_strdup (st, 1);
      v->issued = sqlite3_column_int64 (st, 2);
    }
  if (r != SQLITE_DONE)
    return sqlite_error (err, store, "reading VEX statements");
  return 0;
}

static int
load_record (pg_store *store, int64_t image, struct pg_image_record *rec, pg_error_t *err)
{
  int64_t scan_id = 0;
  int r;

  memset (rec, 0, sizeof (*rec));
  if (load_identity (store, image, rec, err) < 0 || load_names (store, image, rec, err) < 0)
    goto fail;
  r = load_newest_scan (store, image, rec, &scan_id, err);
  if (r < 0)
    goto fail;
  if (r > 0 && (load_findings (store, image, rec, err) < 0 || load_vex (store, image, rec, err) < 0))
    goto fail;
  return 1;
fail:
  pg_image_record_free (rec);
  return -1;
}

/* A digest as users and engines write it ("sha256:<hex>" or a bare image
   ID) to the image's row.  */
static int
find_image (pg_store *store, const char *digest, int64_t *image, pg_error_t *err)
{
  char buf[80];

  if (is_hex64 (digest))
    {
      snprintf (buf, sizeof (buf), "sha256:%s", digest);
      digest = buf;
    }
  if (!is_sha256_digest (digest))
    return pg_make_error (err, 0, "`%s` is not a sha256 digest", digest);
  return find_image_by_digest (store, digest, image, err);
}

int
store_lookup_digest (pg_store *store, const char *digest, struct pg_image_record *rec, pg_error_t *err)
{
  int64_t image;
  int r = find_image (store, digest, &image, err);
  if (r <= 0)
    return r;
  return load_record (store, image, rec, err);
}

int
store_lookup_diff_ids (pg_store *store, const char *digest, char ***diff_ids, size_t *n_diff_ids,
                       pg_error_t *err)
{
  struct pg_image_record rec;
  int64_t image;
  int r = find_image (store, digest, &image, err);

  if (r <= 0)
    return r;
  memset (&rec, 0, sizeof (rec));
  if (load_identity (store, image, &rec, err) < 0)
    {
      pg_image_record_free (&rec);
      return -1;
    }
  *diff_ids = rec.diff_ids;
  *n_diff_ids = rec.n_diff_ids;
  rec.diff_ids = NULL;
  rec.n_diff_ids = 0;
  pg_image_record_free (&rec);
  return 1;
}

int
store_lookup_name (pg_store *store, const char *repository, const char *tag, struct pg_image_record *rec,
                   pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  int r;

  if (prepare (store,
               "SELECT n.image FROM names n JOIN scans s ON s.image = n.image "
               "WHERE n.repository = ? AND n.tag = ? ORDER BY s.scanned_at DESC LIMIT 1",
               &st, err)
      < 0)
    return -1;
  sqlite3_bind_text (st, 1, repository, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 2, tag ? tag : "latest", -1, SQLITE_STATIC);
  r = sqlite3_step (st);
  if (r == SQLITE_DONE)
    return 0;
  if (r != SQLITE_ROW)
    return sqlite_error (err, store, "looking up an image name");
  return load_record (store, sqlite3_column_int64 (st, 0), rec, err);
}

int
store_find_newer_build (pg_store *store, const struct pg_image_record *rec, char **digest, char **name,
                        int64_t *since, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  int r;

  /* A newer build carries the same repository:tag and was first seen under
     it after this image was.  The oldest such build starts the grace period. */
  if (prepare (store,
               "SELECT i.image_id, o.repository || ':' || o.tag, o.first_seen FROM names me "
               "JOIN names o ON o.repository = me.repository AND o.tag = me.tag AND o.image != me.image "
               "JOIN images i ON i.id = o.image "
               "WHERE me.image = ? AND me.tag != '' AND o.first_seen > me.first_seen "
               "AND EXISTS (SELECT 1 FROM scans s WHERE s.image = o.image) "
               "ORDER BY o.first_seen ASC LIMIT 1",
               &st, err)
      < 0)
    return -1;
  sqlite3_bind_int64 (st, 1, rec->rowid);
  r = sqlite3_step (st);
  if (r == SQLITE_DONE)
    return 0;
  if (r != SQLITE_ROW)
    return sqlite_error (err, store, "looking for newer builds");
  *digest = column_strdup (st, 0);
  *name = column_strdup (st, 1);
  *since = sqlite3_column_int64 (st, 2);
  return 1;
}

/* ---- policy ---- */

int
store_get_policy (pg_store *store, char **json, char **version, int64_t *set_at, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  int r;

  *json = NULL;
  if (prepare (store, "SELECT body, version, set_at FROM policy WHERE id = 1", &st, err) < 0)
    return -1;
  r = sqlite3_step (st);
  if (r == SQLITE_DONE)
    return 0;
  if (r != SQLITE_ROW)
    return sqlite_error (err, store, "reading the policy");
  *json = column_strdup (st, 0);
  if (version)
    *version = column_strdup (st, 1);
  if (set_at)
    *set_at = sqlite3_column_int64 (st, 2);
  return 1;
}

int
store_set_policy (pg_store *store, const char *json, const char *version, int64_t now, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (prepare (store, "INSERT OR REPLACE INTO policy (id, version, body, set_at) VALUES (1, ?, ?, ?)", &st,
               err)
      < 0)
    return -1;
  sqlite3_bind_text (st, 1, version, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 2, json, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 3, now);
  if (step_done (store, st, "storing the policy", err) < 0)
    return -1;
  /* And its parsed form, which the hook reads instead of parsing the text.  */
  return policy_cache_store (store, json, err);
}

static int
count (pg_store *store, const char *sql, int64_t *out, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (prepare (store, sql, &st, err) < 0)
    return -1;
  if (sqlite3_step (st) != SQLITE_ROW)
    return sqlite_error (err, store, sql);
  *out = sqlite3_column_int64 (st, 0);
  return 0;
}

int
store_status (pg_store *store, struct pg_store_status *s, pg_error_t *err)
{
  memset (s, 0, sizeof (*s));
  if (schema_version (store, &s->schema_version, err) < 0)
    return -1;
  if (count (store, "SELECT count(*) FROM images", &s->images, err) < 0
      || count (store, "SELECT count(*) FROM scans", &s->scans, err) < 0
      || count (store, "SELECT count(*) FROM vulns", &s->vulns, err) < 0
      || count (store, "SELECT coalesce(max(scanned_at), 0) FROM scans", &s->newest_scan, err) < 0
      || count (store, "SELECT coalesce(max(imported_at), 0) FROM scans", &s->last_import, err) < 0)
    return -1;
  return 0;
}
