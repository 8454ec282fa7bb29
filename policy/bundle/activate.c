/* patchgate: activating a verified bundle as the policy database.
 *
 * Order matters: signature (over the raw bytes, before anything is parsed),
 * then the manifest and the payload's SHA-256, then the serial against the
 * active one, then, under the writer lock that every change to the policy
 * database takes (base/writer_lock.h), the payload is written to a temp
 * file beside the policy database, checked as a patchgate database and
 * stamped in its meta table, and copied into the active database in place,
 * in one transaction (store_edit_replace: SQLite's backup API), as every
 * writer changes it; the policy index is compiled under the same lock.  A
 * reader sees the old database or the new one, and an activation killed
 * midway changes nothing.
 */
#include "bundle/bundle.h"
#include "store/meta.h"
#include "rules/policy.h"
#include "index/index.h"
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

void
activate_result_free (struct pg_activate_result *r)
{
  if (r == NULL)
    return;
  free (r->key);
  bundle_manifest_free (&r->manifest);
  memset (r, 0, sizeof (*r));
}

int
policy_lock (const char *policy_db, int *fd, pg_error_t *err)
{
  cleanup_free char *path = NULL;

  *fd = -1;
  if (pg_ensure_parent_dir (policy_db, err) < 0)
    return -1;
  xasprintf (&path, "%s.sync.lock", policy_db);
  *fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (*fd < 0)
    return pg_make_error (err, errno, "%s: open", path);
  if (flock (*fd, LOCK_EX | LOCK_NB) < 0)
    {
      int e = errno;
      close (*fd);
      *fd = -1;
      if (e == EWOULDBLOCK)
        return pg_make_error (err, 0, "%s: another patchgate sync or activate is running", path);
      return pg_make_error (err, e, "%s: lock", path);
    }
  return 0;
}

int
policy_active_bundle (const char *path, int64_t *serial, char **sig_sha256, pg_error_t *err)
{
  sqlite3 *db = NULL;
  int r;

  *serial = 0;
  if (sig_sha256)
    *sig_sha256 = NULL;
  if (access (path, F_OK) < 0 && errno == ENOENT)
    return 0;
  if (store_sqlite_open_readonly (path, &db, err) < 0)
    return -1;
  r = store_meta_get_int_db (db, path, "bundle_serial", serial, err);
  if (r >= 0 && sig_sha256)
    r = store_meta_get_text_db (db, path, "bundle_sig_sha256", sig_sha256, err);
  if (r < 0)
    {
      int code = sqlite3_errcode (db);
      /* A database that is not a patchgate one (or too old to have meta)
         has no serial to protect; a busy or unreadable one is an error. */
      if (code == SQLITE_ERROR || code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
        {
          pg_error_release (err);
          r = 0;
        }
    }
  sqlite3_close_v2 (db);
  return r < 0 ? -1 : 0;
}

int
policy_active_serial (const char *path, int64_t *serial, pg_error_t *err)
{
  return policy_active_bundle (path, serial, NULL, err);
}

static int
stamp_meta (pg_store *store, const struct pg_activate_opts *o, const struct pg_bundle_manifest *m,
            const char *key, const char *sig_sha256, pg_error_t *err)
{
  char result[64];
  snprintf (result, sizeof (result), "activated serial %lld", (long long) m->serial);
  if (store_begin (store, true, err) < 0)
    return -1;
  if (store_meta_set_int (store, "bundle_serial", m->serial, err) < 0
      || store_meta_set_int (store, "bundle_created", m->created, err) < 0
      || store_meta_set_text (store, "bundle_source", o->source ? o->source : "", err) < 0
      || store_meta_set_text (store, "bundle_policy_version", m->policy_version, err) < 0
      || store_meta_set_text (store, "bundle_sha256", m->payload_sha256, err) < 0
      || store_meta_set_text (store, "bundle_key", key, err) < 0
      || store_meta_set_text (store, "bundle_sig_sha256", sig_sha256, err) < 0
      || store_meta_set_int (store, "bundle_activated_at", o->now, err) < 0
      || store_meta_set_text (store, "last_sync_result", result, err) < 0
      || store_meta_set_int (store, "last_sync_time", o->now, err) < 0)
    {
      store_rollback (store);
      return -1;
    }
  return store_commit (store, err);
}

/* Open the written payload as the hook would use it: a patchgate database
   (older schemas are migrated here) with a policy that parses.  */
static int
prepare_new_db (const char *tmp, const struct pg_activate_opts *o, const struct pg_bundle_manifest *m,
                const char *key, const char *sig_sha256, pg_error_t *err)
{
  cleanup_store pg_store *store = NULL;
  cleanup_policy struct pg_policy *policy = NULL;
  char *msg = NULL;
  int r;

  if (store_open (tmp, 0, &store, err) < 0)
    return pg_error_wrap (err, "the bundle's database");
  if (sqlite3_exec (store_db (store), "PRAGMA journal_mode = DELETE", NULL, NULL, &msg) != SQLITE_OK)
    {
      pg_make_error (err, 0, "the bundle's database: %s", msg ? msg : "journal mode");
      sqlite3_free (msg);
      return -1;
    }
  if (store_begin (store, false, err) < 0)
    return -1;
  r = policy_load_from_store (store, &policy, err);
  store_rollback (store);
  if (r < 0)
    return pg_error_wrap (err, "the bundle's database");
  return stamp_meta (store, o, m, key, sig_sha256, err);
}

static int
refresh_index (const struct pg_activate_opts *o, pg_error_t *err)
{
  cleanup_free char *derived = o->policy_index ? NULL : index_path_for_db (o->policy_db);
  if (index_refresh (o->policy_db, o->policy_index ? o->policy_index : derived, o->now, NULL, err) < 0)
    return pg_error_wrap (err, "activated, but");
  return 0;
}

/* The payload in, then the index, under the writer lock.  *ACTIVATED once
   the database holds the payload.  */
static int
install_payload (const struct pg_activate_opts *o, const struct pg_bundle *b, const char *key,
                 const char *sig_sha256, bool *activated, pg_error_t *err)
{
  cleanup_store_edit struct pg_store_edit e = PG_STORE_EDIT_INIT;
  cleanup_writer_temp char *tmp = NULL;
  cleanup_close int fd = -1;

  /* The payload's temp file is made under the lock: a killed activation's
     is swept by the next writer.  */
  if (store_edit_lock (o->policy_db, &e, err) < 0 || pg_writer_temp (o->policy_db, &tmp, &fd, err) < 0)
    return -1;
  if (pg_write_all (fd, b->data + b->payload_off, b->size - b->payload_off, tmp, err) < 0)
    return -1;
  if (prepare_new_db (tmp, o, &b->manifest, key, sig_sha256, err) < 0)
    return -1;
  if (store_edit_replace (&e, tmp, err) < 0)
    return -1;
  *activated = true;
  /* Committed: now the index the hook reads, under the same lock.  */
  return refresh_index (o, err);
}

static int
verify_bundle (const struct pg_activate_opts *o, struct pg_bundle *b, const char *bundle_path,
               const char *sig_path, const char **key, char sig_sha256[65], pg_error_t *err)
{
  unsigned char sig[PG_ED25519_SIG_SIZE];

  if (o->n_trusted_keys == 0)
    return pg_make_error (
        err, 0, "no trusted_keys in the hook config: refusing to activate a bundle nobody can verify");
  if (bundle_read_signature (sig_path, sig, err) < 0)
    return -1;
  bundle_sig_sha256 (sig, sig_sha256);
  if (bundle_map (bundle_path, o->max_size ? o->max_size : PG_MAX_BUNDLE_SIZE, b, err) < 0)
    return -1;
  if (bundle_verify_signature (b, sig, sizeof (sig), o->trusted_keys, o->n_trusted_keys, key, err) < 0)
    return -1;
  return bundle_check_payload (b, err);
}

int
bundle_activate (const struct pg_activate_opts *o, const char *bundle_path, const char *sig_path,
                 struct pg_activate_result *res, pg_error_t *err)
{
  struct pg_bundle b;
  const char *key = NULL;
  char sig_sha256[65];
  int ret = -1;

  memset (res, 0, sizeof (*res));
  memset (&b, 0, sizeof (b));
  if (verify_bundle (o, &b, bundle_path, sig_path, &key, sig_sha256, err) < 0)
    goto out;
  if (policy_active_serial (o->policy_db, &res->previous_serial, err) < 0)
    goto out;
  if (b.manifest.serial < res->previous_serial)
    {
      pg_make_error (err, 0,
                     "bundle %s: serial %lld is lower than the active serial %lld: refusing a rollback",
                     bundle_path, (long long) b.manifest.serial, (long long) res->previous_serial);
      goto out;
    }
  if (b.manifest.schema_version > PG_SCHEMA_VERSION)
    {
      pg_make_error (err, 0,
                     "bundle %s: database schema version %d is newer than this patchgate supports (%d)",
                     bundle_path, b.manifest.schema_version, PG_SCHEMA_VERSION);
      goto out;
    }
  res->key = xstrdup (key);
  memcpy (res->sig_sha256, sig_sha256, sizeof (res->sig_sha256));
  if (b.manifest.serial > res->previous_serial)
    {
      if (install_payload (o, &b, key, sig_sha256, &res->activated, err) < 0)
        goto out;
    }
  res->manifest = b.manifest;
  memset (&b.manifest, 0, sizeof (b.manifest));
  ret = 0;
out:
  bundle_close (&b);
  return ret;
}
