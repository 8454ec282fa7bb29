/* patchgate: compiling the decision index from the store: every image
 * (index_compile, and a policy's refresh), or only the images the store's
 * change log names since the previous index, the rest copied from it
 * (index_refresh after an import).  What a record holds is record.c's;
 * writing the file, writer.c's.
 */
#include "index/index.h"
#include "index/writer.h"
#include "rules/policy_cache.h"
#include "store/meta.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

static bool
rowid_in (int64_t rowid, const int64_t *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (v[i] == rowid)
      return true;
  return false;
}

/* ---- from the store ---- */

static int
compile_image (pg_store *store, pg_index_writer *w, int64_t rowid, pg_error_t *err)
{
  cleanup_image_record struct pg_image_record rec = { 0 };
  struct pg_eval_facts newer = { 0 };
  char **digests = NULL;
  size_t n_digests = 0;
  int ret = -1;

  if (store_load_image (store, rowid, &rec, err) < 0
      || store_image_digests (store, rowid, &digests, &n_digests, err) < 0)
    return -1;
  if (!rec.has_scan
      || store_find_newer_build (store, &rec, &newer.newer_digest, &newer.newer_name, &newer.newer_since, err)
             >= 0)
    ret = index_writer_add_image (w, &rec, &newer, digests, n_digests, err);
  pg_eval_facts_free (&newer);
  strv_free (digests, n_digests);
  return ret;
}

/* What decide_image reads beside the image, for every image: the policy
   (NULL when none is set), the revoked bases, the bundle's facts.  */
static int
load_globals (pg_store *store, struct pg_policy **policy, struct pg_eval_facts *g, pg_error_t *err)
{
  cleanup_free char *body = NULL;
  int r;

  if (store_meta_get_int (store, "bundle_created", &g->bundle_created, err) < 0
      || store_meta_get_int (store, "bundle_serial", &g->bundle_serial, err) < 0)
    return -1;
  /* A database without a policy compiles to an index without one: every
     decision from it is an error, as from the database.  */
  r = store_get_policy (store, &body, NULL, NULL, err);
  if (r <= 0)
    return r;
  if (policy_load_cached (store, policy, err) < 0 || decide_load_revoked_bases (store, *policy, g, err) < 0)
    return -1;
  return 0;
}

/* Records need only the packages a floor names (as decide_image).  */
static void
filter_packages (pg_store *store, const struct pg_policy *policy)
{
  const char **floors = xmalloc0 ((policy->n_min_versions + 1) * sizeof (*floors));
  for (size_t i = 0; i < policy->n_min_versions; i++)
    floors[i] = policy->min_versions[i].package;
  store_set_package_filter (store, floors, policy->n_min_versions);
  free (floors);
}

static int
compile_images (pg_store *store, pg_index_writer *w, const struct pg_policy *policy, const int64_t *rowids,
                size_t n, pg_error_t *err)
{
  int ret = 0;
  filter_packages (store, policy);
  for (size_t i = 0; i < n && ret == 0; i++)
    ret = compile_image (store, w, rowids[i], err);
  store_set_package_filter (store, NULL, 0);
  return ret;
}

/* ---- an incremental compile: the previous index's records of unchanged
   images copied as they are, the changed ones compiled again ---- */

static int
compare_rowid (const void *a, const void *b)
{
  int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
  return x < y ? -1 : x > y;
}

/* The images to compile again: those the log names, and the other builds
   of their repository:tag names (whose newer build they may have become). */
static int
dirty_images (pg_store *store, const struct pg_store_changes *ch, int64_t **out, size_t *n, pg_error_t *err)
{
  int64_t *v = NULL;
  size_t nv = 0;

  for (size_t i = 0; i < ch->n_images; i++)
    {
      int64_t *sib = NULL;
      size_t ns = 0;
      if (store_images_sharing_names (store, ch->images[i], &sib, &ns, err) < 0)
        {
          free (v);
          return -1;
        }
      v = xrealloc (v, (nv + ns + 1) * sizeof (*v));
      v[nv++] = ch->images[i];
      if (ns)
        memcpy (v + nv, sib, ns * sizeof (*v));
      nv += ns;
      free (sib);
    }
  if (nv)
    qsort (v, nv, sizeof (*v), compare_rowid);
  *n = 0;
  for (size_t i = 0; i < nv; i++)
    if (*n == 0 || v[*n - 1] != v[i])
      v[(*n)++] = v[i];
  *out = v;
  return 0;
}

/* Is one of the changed images a base the policy revokes?  Its layers are
   part of every record then.  */
static int
touches_a_base (pg_store *store, const struct pg_policy *policy, const int64_t *dirty, size_t n, bool *yes,
                pg_error_t *err)
{
  *yes = false;
  for (size_t i = 0; i < policy->n_revoked_bases && !*yes; i++)
    {
      int64_t rowid;
      int r = store_find_image_rowid (store, policy->revoked_bases[i], &rowid, err);
      if (r < 0)
        return -1;
      *yes = r > 0 && rowid_in (rowid, dirty, n);
    }
  return 0;
}

/* Copy the previous index's unchanged records into W and compile the
   changed images: 1 when done, 0 when the previous index cannot serve
   (missing, of another build or database, or the change concerns every
   image), -1 on error.  */
static int
compile_changes (pg_store *store, pg_index_writer *w, const struct pg_policy *policy, const char *index_path,
                 const char *lineage, int64_t since, pg_error_t *err)
{
  struct pg_store_changes ch;
  cleanup_free int64_t *dirty = NULL;
  cleanup_index pg_index *old = NULL;
  cleanup_error pg_error_t ignored = NULL;
  struct pg_index_info info;
  size_t n_dirty = 0;
  bool base;
  int r;

  if (policy == NULL || index_open (index_path, NULL, &old, &ignored) < 0)
    return 0;
  index_get_info (old, &info);
  if (lineage == NULL || strcmp (info.lineage, lineage) != 0 || info.change_seq > since)
    return 0;
  if (store_changes_since (store, info.change_seq, &ch, err) < 0)
    return -1;
  r = ch.all || ch.last != since ? 0 : dirty_images (store, &ch, &dirty, &n_dirty, err);
  free (ch.images);
  if (ch.all || ch.last != since || r < 0)
    return r;
  /* Beyond a quarter of the images, compiling them all costs no more.  */
  if (n_dirty > info.images / 4 + 16 || touches_a_base (store, policy, dirty, n_dirty, &base, err) < 0
      || base)
    return 0;
  r = index_writer_copy (w, old, dirty, n_dirty, err);
  if (r <= 0)
    return r;
  if (compile_images (store, w, policy, dirty, n_dirty, err) < 0)
    return -1;
  return 1;
}

/* Compile the database (in the caller's read transaction) into
   INDEX_PATH: incrementally from the previous index when INCREMENTAL and
   it can serve, else every image.  */
static int
compile_in_transaction (pg_store *store, const char *index_path, int64_t now, bool incremental,
                        struct pg_index_stats *stats, pg_error_t *err)
{
  cleanup_policy struct pg_policy *policy = NULL;
  cleanup_free char *lineage = NULL;
  struct pg_eval_facts globals = { 0 };
  struct pg_store_changes ch = { 0 };
  pg_index_writer *w = NULL;
  struct stat db;
  int r = -1;

  if (load_globals (store, &policy, &globals, err) < 0
      || store_meta_get_text (store, "lineage", &lineage, err) < 0
      || store_changes_since (store, INT64_MAX, &ch, err) < 0)
    goto out;
  if (stat (store_path (store), &db) < 0)
    {
      pg_make_error (err, errno, "policy database %s", store_path (store));
      goto out;
    }
  if (index_writer_start (index_path, policy, &globals, &w, err) < 0)
    goto out;
  index_writer_set_origin (w, lineage, ch.last);
  r = incremental ? compile_changes (store, w, policy, index_path, lineage, ch.last, err) : 0;
  if (r == 0 && index_writer_stats (w)->keys > 0)
    {
      /* The previous index could not serve after all: start over.  */
      index_writer_abort (w);
      w = NULL;
      if (index_writer_start (index_path, policy, &globals, &w, err) < 0)
        {
          r = -1;
          goto out;
        }
      index_writer_set_origin (w, lineage, ch.last);
    }
  if (r == 0 && policy)
    {
      cleanup_free int64_t *rowids = NULL;
      size_t n = 0;
      r = store_list_images (store, &rowids, &n, err);
      if (r == 0)
        r = compile_images (store, w, policy, rowids, n, err);
    }
  if (r < 0)
    {
      index_writer_abort (w);
      goto out;
    }
  store_rollback (store);
  r = index_writer_finish (w, &db, now, stats, err);
out:
  pg_eval_facts_free (&globals);
  free (ch.images);
  return r;
}

static int
compile (pg_store *store, const char *index_path, int64_t now, bool incremental, struct pg_index_stats *stats,
         pg_error_t *err)
{
  int r;
  /* One read transaction: the index is one state of the database, and the
     file identity recorded is that state's (a writer cannot commit while
     it is open).  */
  if (store_begin (store, false, err) < 0)
    return pg_error_wrap (err, "compiling the policy index %s", index_path);
  r = compile_in_transaction (store, index_path, now, incremental, stats, err);
  store_rollback (store);
  if (r < 0)
    return pg_error_wrap (err, "compiling the policy index %s", index_path);
  return 0;
}

int
index_compile (pg_store *store, const char *index_path, int64_t now, struct pg_index_stats *stats,
               pg_error_t *err)
{
  return compile (store, index_path, now, false, stats, err);
}

int
index_compile_bundle (pg_store *store, const char *index_path, int64_t now, int64_t serial, int64_t created,
                      char **policy_version, struct pg_index_stats *stats, pg_error_t *err)
{
  cleanup_policy struct pg_policy *policy = NULL;
  cleanup_free int64_t *rowids = NULL;
  struct pg_eval_facts globals = { 0 };
  pg_index_writer *w = NULL;
  size_t n = 0;
  int r = -1;

  *policy_version = NULL;
  /* One read transaction: the bundle is one state of the database.  */
  if (store_begin (store, false, err) < 0)
    return pg_error_wrap (err, "compiling the bundle's index");
  if (load_globals (store, &policy, &globals, err) < 0)
    goto out;
  if (policy == NULL)
    {
      pg_make_error (err, 0, "%s has no policy (patchgate policy set POLICY.json)", store_path (store));
      goto out;
    }
  /* The building host's own bundle, if it ever took one, is not this one. */
  globals.bundle_serial = serial;
  globals.bundle_created = created;
  if (store_list_images (store, &rowids, &n, err) < 0
      || index_writer_start (index_path, policy, &globals, &w, err) < 0)
    goto out;
  index_writer_set_bundle (w, serial, created);
  if (compile_images (store, w, policy, rowids, n, err) < 0)
    {
      index_writer_abort (w);
      goto out;
    }
  store_rollback (store);
  r = index_writer_finish (w, NULL, now, stats, err);
  if (r == 0)
    *policy_version = xstrdup (policy->version);
out:
  store_rollback (store);
  pg_eval_facts_free (&globals);
  return r < 0 ? pg_error_wrap (err, "compiling the bundle's index") : 0;
}

int
index_refresh (const char *db_path, const char *index_path, int64_t now, struct pg_index_stats *stats,
               pg_error_t *err)
{
  cleanup_store pg_store *store = NULL;

  if (store_open (db_path, PG_STORE_READONLY, &store, err) < 0)
    return pg_error_wrap (err, "compiling the policy index %s", index_path);
  return compile (store, index_path, now, true, stats, err);
}
