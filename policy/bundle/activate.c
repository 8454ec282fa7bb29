/* patchgate: activating a verified bundle: its index becomes the one the
 * hook reads.
 *
 * Order matters: signature (over the raw bytes, before anything is parsed),
 * then the manifest and the payload's SHA-256, then the serial against the
 * active index's and the index's build against this one, then, under the
 * index's lock (index_lock: a local compile cannot interleave), the payload
 * is inflated into a temp file beside the index, bounded by the size the
 * manifest declares, checked against the manifest's SHA-256, stamped with
 * the signature, opened as an index, fsynced and renamed over the active
 * one; the directory is fsynced last.  A hook that opens the index
 * meanwhile sees the old file or the new one.  No database is opened.
 */
#include "bundle/bundle.h"
#include "store/meta.h"
#include "index/index.h"
#include "base/file.h"

#include <openssl/evp.h>

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

/* The serial the database of a host that activated format-1 bundles
   recorded (meta.bundle_serial), so that upgrading cannot roll it back.  */
static int
legacy_db_bundle (const char *path, int64_t *serial, char **sig_sha256, pg_error_t *err)
{
  sqlite3 *db = NULL;
  int r;

  *serial = 0;
  *sig_sha256 = NULL;
  if (access (path, F_OK) < 0 && errno == ENOENT)
    return 0;
  if (store_sqlite_open_readonly (path, &db, err) < 0)
    return -1;
  r = store_meta_get_int_db (db, path, "bundle_serial", serial, err);
  if (r >= 0)
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
policy_active_bundle (const char *policy_db, const char *policy_index, int64_t *serial, char **sig_sha256,
                      pg_error_t *err)
{
  cleanup_free char *derived = policy_index ? NULL : index_path_for_db (policy_db);
  cleanup_free char *legacy_sig = NULL;
  struct pg_index_origin o;
  int64_t legacy = 0;

  *serial = 0;
  if (sig_sha256)
    *sig_sha256 = NULL;
  if (index_read_origin (policy_index ? policy_index : derived, &o, err) < 0
      || legacy_db_bundle (policy_db, &legacy, &legacy_sig, err) < 0)
    return -1;
  if (o.from_bundle && o.bundle_serial >= legacy)
    {
      *serial = o.bundle_serial;
      if (sig_sha256 && o.bundle_sig_sha256[0])
        *sig_sha256 = xstrdup (o.bundle_sig_sha256);
      return 0;
    }
  *serial = legacy;
  if (sig_sha256 && legacy > 0)
    {
      *sig_sha256 = legacy_sig;
      legacy_sig = NULL;
    }
  return 0;
}

int
policy_active_serial (const char *policy_db, const char *policy_index, int64_t *serial, pg_error_t *err)
{
  return policy_active_bundle (policy_db, policy_index, serial, NULL, err);
}

/* The inflated index at TMP, stamped, must open as an index of this build
   and be the one the manifest describes.  */
static int
check_new_index (const char *tmp, const struct pg_bundle_manifest *m, pg_error_t *err)
{
  cleanup_index pg_index *idx = NULL;
  struct pg_index_info info;
  const char *version;

  if (index_open (tmp, NULL, &idx, err) < 0)
    return -1;
  index_get_info (idx, &info);
  if (!info.from_bundle || info.bundle_serial != m->serial || info.bundle_created != m->created
      || (int64_t) info.images != m->images)
    return pg_make_error (err, 0, "the index is not the one its manifest describes (serial, time or images)");
  version = index_policy_version (idx, err);
  if (version == NULL)
    return -1;
  if (strcmp (version, m->policy_version) != 0)
    return pg_make_error (err, 0, "the index's policy is version %s, its manifest says %s", version,
                          m->policy_version);
  return 0;
}

static int
install_index (const char *index, const struct pg_bundle *b, const unsigned char sig_raw[32], int64_t now,
               pg_error_t *err)
{
  const struct pg_bundle_manifest *m = &b->manifest;
  cleanup_close int lock = -1;
  cleanup_close int fd = -1;
  cleanup_unlink char *tmp = NULL;
  uint64_t size = 0;
  char sha[65];

  if (pg_ensure_parent_dir (index, err) < 0 || index_lock (index, &lock, err) < 0
      || pg_mkstemp_beside (index, &tmp, &fd, err) < 0)
    return -1;
  if (fchmod (fd, 0644) < 0)
    return pg_make_error (err, errno, "%s: chmod", tmp);
  if (bundle_payload_inflate (b->data + b->payload_off, b->size - b->payload_off, fd, tmp, m->index_size,
                              &size, sha, err)
      < 0)
    return -1;
  if (size != m->index_size)
    return pg_make_error (err, 0, "the payload inflates to %llu bytes, its manifest says %llu",
                          (unsigned long long) size, (unsigned long long) m->index_size);
  if (strcmp (sha, m->index_sha256) != 0)
    return pg_make_error (err, 0, "the index's SHA-256 is %s, its manifest says %s", sha, m->index_sha256);
  if (fsync (fd) < 0)
    return pg_make_error (err, errno, "%s: fsync", tmp);
  if (index_stamp_bundle (tmp, now, sig_raw, err) < 0 || check_new_index (tmp, m, err) < 0)
    return -1;
  if (rename (tmp, index) < 0)
    return pg_make_error (err, errno, "rename %s to %s", tmp, index);
  free (tmp);
  tmp = NULL;
  return pg_fsync_parent (index, err);
}

static int
verify_bundle (const struct pg_activate_opts *o, struct pg_bundle *b, const char *bundle_path,
               const char *sig_path, const char **key, unsigned char sig_raw[32], char sig_sha256[65],
               pg_error_t *err)
{
  unsigned char sig[PG_ED25519_SIG_SIZE];
  unsigned int n = 0;

  if (o->n_trusted_keys == 0)
    return pg_make_error (
        err, 0, "no trusted_keys in the hook config: refusing to activate a bundle nobody can verify");
  if (bundle_read_signature (sig_path, sig, err) < 0)
    return -1;
  bundle_sig_sha256 (sig, sig_sha256);
  EVP_Digest (sig, sizeof (sig), sig_raw, &n, EVP_sha256 (), NULL);
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
  cleanup_free char *derived = o->policy_index ? NULL : index_path_for_db (o->policy_db);
  const char *index = o->policy_index ? o->policy_index : derived;
  struct pg_bundle b;
  const char *key = NULL;
  unsigned char sig_raw[32];
  char sig_sha256[65], build[17];
  int ret = -1;

  memset (res, 0, sizeof (*res));
  memset (&b, 0, sizeof (b));
  if (verify_bundle (o, &b, bundle_path, sig_path, &key, sig_raw, sig_sha256, err) < 0)
    goto out;
  if (policy_active_serial (o->policy_db, index, &res->previous_serial, err) < 0)
    goto out;
  if (b.manifest.serial < res->previous_serial)
    {
      pg_make_error (err, 0,
                     "bundle %s: serial %lld is lower than the active serial %lld: refusing a rollback",
                     bundle_path, (long long) b.manifest.serial, (long long) res->previous_serial);
      goto out;
    }
  index_build_id (build);
  if (b.manifest.index_format != (int64_t) index_format_version ()
      || strcmp (b.manifest.index_build, build) != 0)
    {
      pg_make_error (err, 0,
                     "bundle %s: its index was compiled by another build of patchgate (index format %lld, "
                     "build %s; this patchgate reads format %u, build %s): build bundles with the "
                     "patchgate the hosts run",
                     bundle_path, (long long) b.manifest.index_format, b.manifest.index_build,
                     index_format_version (), build);
      goto out;
    }
  res->key = xstrdup (key);
  memcpy (res->sig_sha256, sig_sha256, sizeof (res->sig_sha256));
  if (b.manifest.serial > res->previous_serial)
    {
      if (install_index (index, &b, sig_raw, o->now, err) < 0)
        {
          pg_error_wrap (err, "bundle %s", bundle_path);
          goto out;
        }
      res->activated = true;
    }
  res->manifest = b.manifest;
  memset (&b.manifest, 0, sizeof (b.manifest));
  ret = 0;
out:
  bundle_close (&b);
  return ret;
}
