/* patchgate: compiling the decision index from the store and its policy.
 *
 * Each image's record holds what eval_image reads of it, with what the
 * policy can never look at left out.  Every filter below is a condition
 * the rule itself tests before it reads the item, so the rule sees the same
 * items in the same order and decides the same (tests/unit/test_index.c
 * compares the two over the eval suite, real reports and random data):
 *
 * - findings: a rule_fixable finding needs a fixed version, a status that
 *   does not block the fix, and a severity whose grace is a number in the
 *   defaults or some scope; rule_min_versions reads a finding's package and
 *   installed version only for the packages of a floor of the image's
 *   distribution.  Findings kept for the floors alone lose their fixed
 *   version (rule_fixable then skips them, as it skipped them before); the
 *   status is never kept (the kept ones do not block);
 * - packages: only those a floor of the image's distribution names;
 * - OpenVEX statements: only for the findings kept as fixable;
 * - layers: only as many as the longest revoked base that this image is
 *   built on, and only those bases;
 * - names: the first repository:tag (all that eval_image and image_label
 *   read) and every repository (scopes and waivers match them);
 * - the policy's waivers, floors, end-of-life entries and revoked digests:
 *   only those whose digest is one of the image's, whose repository glob
 *   matches one of its repositories, whose CVE or package it has, whose
 *   distribution is its own.  Scopes are kept whole: the namespace and the
 *   engine's name for the image are known only at the container's start.
 */
#include "index/index.h"
#include "index/format.h"
#include "rules/policy_cache.h"
#include "rules/rule.h"
#include "rules/scope.h"
#include "store/meta.h"
#include "base/file.h"

#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

struct pg_index_writer
{
  char *path;
  char *tmp;
  int fd;
  int lock;
  bool started; /* cdb_make_start done, cdb_make_finish not yet */
  const struct pg_policy *policy;
  const struct pg_eval_facts *globals; /* revoked bases and the bundle's facts */
  bool keep_severity[PG_SEV_COUNT];
  struct cdb_make cm;
  struct pg_index_buf buf;
  struct pg_index_stats stats;
  char lineage[40];
  int64_t change_seq;
};

/* ---- what may concern one image ---- */

static bool
str_in (const char *s, const char *const *v, size_t n)
{
  for (size_t i = 0; s && i < n; i++)
    if (v[i] && strcmp (v[i], s) == 0)
      return true;
  return false;
}

/* A growable list of borrowed strings.  */
struct names
{
  const char **v;
  size_t n;
};

static void
names_add (struct names *l, const char *s)
{
  if (s == NULL || str_in (s, l->v, l->n))
    return;
  l->v = xrealloc (l->v, (l->n + 1) * sizeof (*l->v));
  l->v[l->n++] = s;
}

/* What one image's record keeps: positions in the record's and the
   policy's arrays.  */
struct selection
{
  struct names digests;     /* every digest that names the image */
  struct names floor_names; /* packages of the kept floors */
  struct names fixable_ids; /* findings kept as fixable */
  struct names fixable_pkgs;
  size_t *floors, n_floors;
  size_t *eols, n_eols;
  size_t *waivers, n_waivers;
  size_t *revoked, n_revoked;
  size_t *bases, n_bases;
  size_t n_diff_ids;
};

static void
selection_free (struct selection *s)
{
  free (s->digests.v);
  free (s->floor_names.v);
  free (s->fixable_ids.v);
  free (s->fixable_pkgs.v);
  free (s->floors);
  free (s->eols);
  free (s->waivers);
  free (s->revoked);
  free (s->bases);
}

static void
push_index (size_t **v, size_t *n, size_t i)
{
  *v = xrealloc (*v, (*n + 1) * sizeof (**v));
  (*v)[(*n)++] = i;
}

static bool
vuln_fixable (const struct pg_index_writer *c, const struct pg_vuln *v)
{
  return v->fixed != NULL && !fixable_status_blocks_fix (v->status) && (int) v->severity >= 0
         && v->severity < PG_SEV_COUNT && c->keep_severity[v->severity];
}

static bool
vuln_for_floors (const struct selection *s, const struct pg_vuln *v)
{
  return v->installed != NULL && str_in (v->pkg, s->floor_names.v, s->floor_names.n);
}

static bool
is_own_digest (const struct selection *s, const struct pg_image_record *rec, const char *d)
{
  return str_in (d, s->digests.v, s->digests.n) || (rec->image_id && strcmp (rec->image_id, d) == 0)
         || (rec->manifest_digest && strcmp (rec->manifest_digest, d) == 0);
}

/* The waiver's repository glob against the repositories the image was
   scanned under, by match_applies itself (its namespace is for the start).  */
static bool
waiver_repository_matches (const struct pg_waiver *w, const struct pg_image_record *rec)
{
  struct pg_match m = { NULL, w->match.repository };
  struct pg_context none;
  memset (&none, 0, sizeof (none));
  return w->match.repository == NULL || match_applies (&m, rec, &none);
}

static bool
waiver_may_apply (const struct selection *s, const struct pg_waiver *w, const struct pg_image_record *rec)
{
  if (w->digest && !is_own_digest (s, rec, w->digest))
    return false;
  if (w->cve && !str_in (w->cve, s->fixable_ids.v, s->fixable_ids.n))
    return false;
  if (w->package && !str_in (w->package, s->fixable_pkgs.v, s->fixable_pkgs.n)
      && !str_in (w->package, s->floor_names.v, s->floor_names.n))
    return false;
  return waiver_repository_matches (w, rec);
}

/* rule_revoked_base's own test: the base's layers start the image's.  */
static bool
built_on (const struct pg_image_record *rec, const struct pg_revoked_base *b)
{
  bool prefix = b->n_diff_ids > 0 && b->n_diff_ids <= rec->n_diff_ids;
  for (size_t j = 0; prefix && j < b->n_diff_ids; j++)
    prefix = strcmp (b->diff_ids[j], rec->diff_ids[j]) == 0;
  return prefix;
}

static void
select_for_image (const struct pg_index_writer *c, const struct pg_image_record *rec, char **digests,
                  size_t n_digests, struct selection *s)
{
  const struct pg_policy *p = c->policy;

  memset (s, 0, sizeof (*s));
  for (size_t i = 0; i < n_digests; i++)
    names_add (&s->digests, digests[i]);
  for (size_t i = 0; i < p->n_min_versions; i++)
    if (distro_matches (&p->min_versions[i].distro, rec->os_family, rec->os_name))
      {
        push_index (&s->floors, &s->n_floors, i);
        names_add (&s->floor_names, p->min_versions[i].package);
      }
  for (size_t i = 0; i < p->n_eol; i++)
    if (distro_matches (&p->eol[i].distro, rec->os_family, rec->os_name))
      push_index (&s->eols, &s->n_eols, i);
  for (size_t i = 0; i < rec->n_vulns; i++)
    if (vuln_fixable (c, &rec->vulns[i]))
      {
        names_add (&s->fixable_ids, rec->vulns[i].id);
        names_add (&s->fixable_pkgs, rec->vulns[i].pkg);
      }
  for (size_t i = 0; i < p->n_waivers; i++)
    if (waiver_may_apply (s, &p->waivers[i], rec))
      push_index (&s->waivers, &s->n_waivers, i);
  for (size_t i = 0; i < p->n_revoked_digests; i++)
    if (is_own_digest (s, rec, p->revoked_digests[i]))
      push_index (&s->revoked, &s->n_revoked, i);
  for (size_t i = 0; rec->has_scan && i < c->globals->n_bases; i++)
    if (built_on (rec, &c->globals->bases[i]))
      {
        push_index (&s->bases, &s->n_bases, i);
        if (c->globals->bases[i].n_diff_ids > s->n_diff_ids)
          s->n_diff_ids = c->globals->bases[i].n_diff_ids;
      }
}

/* ---- one record ---- */

static void
put_indexes (struct pg_index_buf *b, const size_t *v, size_t n)
{
  pg_index_put_varint (b, n);
  for (size_t i = 0; i < n; i++)
    pg_index_put_varint (b, v[i]);
}

static void
encode_record (const struct pg_index_writer *c, const struct pg_image_record *rec,
               const struct pg_eval_facts *newer, const struct selection *s, struct pg_index_buf *b)
{
  unsigned char flags = (rec->has_scan ? PG_INDEX_HAS_SCAN : 0) | (rec->eosl ? PG_INDEX_EOSL : 0);
  size_t n;

  b->len = 0;
  pg_index_put (b, (const char[]){ PG_INDEX_RECORD }, 1);
  pg_index_put_varint (b, (uint64_t) rec->rowid);
  pg_index_put (b, &flags, 1);
  pg_index_put_i64 (b, rec->created);
  pg_index_put_i64 (b, rec->first_seen);
  pg_index_put_i64 (b, rec->scanned_at);
  pg_index_put_str (b, rec->image_id);
  pg_index_put_str (b, rec->manifest_digest);
  pg_index_put_str (b, rec->os_family);
  pg_index_put_str (b, rec->os_name);
  pg_index_put_varint (b, rec->n_repositories);
  for (size_t i = 0; i < rec->n_repositories; i++)
    pg_index_put_str (b, rec->repositories[i]);
  pg_index_put_varint (b, rec->n_repo_tags ? 1 : 0);
  if (rec->n_repo_tags)
    pg_index_put_str (b, rec->repo_tags[0]);
  pg_index_put_varint (b, s->n_diff_ids);
  for (size_t i = 0; i < s->n_diff_ids; i++)
    pg_index_put_str (b, rec->diff_ids[i]);

  pg_index_put_str (b, newer->newer_digest);
  pg_index_put_str (b, newer->newer_name);
  pg_index_put_i64 (b, newer->newer_since);
  pg_index_put_varint (b, s->n_bases);
  for (size_t i = 0; i < s->n_bases; i++)
    {
      pg_index_put_str (b, c->globals->bases[s->bases[i]].digest);
      pg_index_put_varint (b, c->globals->bases[s->bases[i]].n_diff_ids);
    }

  n = 0;
  for (size_t i = 0; i < rec->n_vulns; i++)
    n += vuln_fixable (c, &rec->vulns[i]) || vuln_for_floors (s, &rec->vulns[i]);
  pg_index_put_varint (b, n);
  for (size_t i = 0; i < rec->n_vulns; i++)
    {
      const struct pg_vuln *v = &rec->vulns[i];
      bool fixable = vuln_fixable (c, v);
      if (!fixable && !vuln_for_floors (s, v))
        continue;
      pg_index_put_str (b, v->id);
      pg_index_put_str (b, v->pkg);
      pg_index_put_str (b, v->installed);
      pg_index_put_str (b, fixable ? v->fixed : NULL);
      pg_index_put (b, (const unsigned char[]){ (unsigned char) v->severity }, 1);
      pg_index_put_i64 (b, fixable ? v->fix_known_since : 0);
    }
  n = 0;
  for (size_t i = 0; i < rec->n_packages; i++)
    n += str_in (rec->packages[i].name, s->floor_names.v, s->floor_names.n);
  pg_index_put_varint (b, n);
  for (size_t i = 0; i < rec->n_packages; i++)
    if (str_in (rec->packages[i].name, s->floor_names.v, s->floor_names.n))
      {
        pg_index_put_str (b, rec->packages[i].name);
        pg_index_put_str (b, rec->packages[i].version);
      }
  n = 0;
  for (size_t i = 0; i < rec->n_vex; i++)
    n += str_in (rec->vex[i].vuln_id, s->fixable_ids.v, s->fixable_ids.n);
  pg_index_put_varint (b, n);
  for (size_t i = 0; i < rec->n_vex; i++)
    if (str_in (rec->vex[i].vuln_id, s->fixable_ids.v, s->fixable_ids.n))
      {
        pg_index_put_str (b, rec->vex[i].vuln_id);
        pg_index_put_str (b, rec->vex[i].status);
        pg_index_put_i64 (b, rec->vex[i].issued);
      }

  put_indexes (b, s->waivers, s->n_waivers);
  put_indexes (b, s->floors, s->n_floors);
  put_indexes (b, s->eols, s->n_eols);
  put_indexes (b, s->revoked, s->n_revoked);
}

/* ---- the file ---- */

static int
add (struct pg_index_writer *c, const void *key, size_t klen, const void *val, size_t vlen, uint64_t *pos,
     pg_error_t *err)
{
  if ((uint64_t) c->cm.cdb_dpos + 8 + klen + vlen + 64 * 1024 * 1024 > PG_INDEX_MAX_SIZE)
    return pg_make_error (err, 0, "%s: the index would exceed 4 GiB, tinycdb's limit", c->path);
  /* Where the value lands: cdb(5) writes each record as its two lengths
     (8 bytes), the key, the value, from cdb_dpos on.  */
  if (pos)
    *pos = (uint64_t) c->cm.cdb_dpos + 8 + klen;
  if (cdb_make_add (&c->cm, key, (unsigned) klen, val, (unsigned) vlen) < 0)
    return pg_make_error (err, errno, "%s: writing the index", c->tmp);
  return 0;
}

static int
add_record (struct pg_index_writer *c, int64_t rowid, const unsigned char *val, size_t len,
            char *const *digests, size_t n_digests, pg_error_t *err)
{
  uint64_t pos = 0;

  if (add (c, digests[0], strlen (digests[0]), val, len, &pos, err) < 0)
    return -1;
  for (size_t i = 1; i < n_digests; i++)
    {
      struct pg_index_buf a = { 0 };
      int r;
      pg_index_put (&a, (const char[]){ PG_INDEX_ALIAS }, 1);
      pg_index_put_varint (&a, (uint64_t) rowid);
      pg_index_put_varint (&a, pos);
      pg_index_put_varint (&a, len);
      r = add (c, digests[i], strlen (digests[i]), a.p, a.len, NULL, err);
      free (a.p);
      if (r < 0)
        return -1;
    }
  c->stats.keys += n_digests;
  c->stats.images++;
  return 0;
}

int
index_writer_add_image (pg_index_writer *c, const struct pg_image_record *rec,
                        const struct pg_eval_facts *newer, char *const *digests, size_t n_digests,
                        pg_error_t *err)
{
  static const struct pg_eval_facts none = { 0 };
  struct selection s;

  if (n_digests == 0)
    return 0; /* nothing can look it up */
  if (c->policy == NULL)
    return pg_make_error (err, 0, "%s: an index without a policy holds no image", c->path);
  select_for_image (c, rec, (char **) digests, n_digests, &s);
  encode_record (c, rec, newer && rec->has_scan ? newer : &none, &s, &c->buf);
  selection_free (&s);
  c->stats.compiled++;
  return add_record (c, rec->rowid, c->buf.p, c->buf.len, digests, n_digests, err);
}

static int
add_globals (struct pg_index_writer *c, pg_error_t *err)
{
  cleanup_free void *policy = NULL;
  struct pg_index_buf facts = { 0 };
  size_t len = 0;
  int r = 0;

  if (c->policy)
    {
      policy = policy_cache_encode (c->policy, "", 0, &len);
      if (policy == NULL)
        return pg_make_error (err, 0,
                              "this patchgate was built without policy records (PG_POLICY_PARSER_ID)");
      r = add (c, PG_INDEX_KEY_POLICY, PG_INDEX_KEY_LEN (PG_INDEX_KEY_POLICY), policy, len, NULL, err);
    }
  pg_index_put_i64 (&facts, c->globals->bundle_created);
  pg_index_put_i64 (&facts, c->globals->bundle_serial);
  if (r == 0)
    r = add (c, PG_INDEX_KEY_FACTS, PG_INDEX_KEY_LEN (PG_INDEX_KEY_FACTS), facts.p, facts.len, NULL, err);
  free (facts.p);
  return r;
}

/* One compile at a time per index: a later one waits, so that the last
   rename is the newest state's.  */
static int
lock_index (const char *index_path, int *fd, pg_error_t *err)
{
  cleanup_free char *path = NULL;
  xasprintf (&path, "%s.lock", index_path);
  *fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (*fd < 0)
    return pg_make_error (err, errno, "%s: open", path);
  while (flock (*fd, LOCK_EX) < 0)
    if (errno != EINTR)
      return pg_make_error (err, errno, "%s: lock", path);
  return 0;
}

void
index_writer_abort (pg_index_writer *c)
{
  if (c == NULL)
    return;
  if (c->started)
    cdb_make_finish (&c->cm); /* only to free its lists: the file is dropped */
  if (c->fd >= 0)
    close (c->fd);
  if (c->tmp)
    unlink (c->tmp);
  if (c->lock >= 0)
    close (c->lock);
  free (c->tmp);
  free (c->path);
  free (c->buf.p);
  free (c);
}

int
index_writer_start (const char *index_path, const struct pg_policy *policy,
                    const struct pg_eval_facts *globals, pg_index_writer **out, pg_error_t *err)
{
  pg_index_writer *c = xmalloc0 (sizeof (*c));

  *out = NULL;
  c->fd = c->lock = -1;
  c->path = xstrdup (index_path);
  c->policy = policy;
  c->globals = globals;
  for (int sev = 0; policy && sev < PG_SEV_COUNT; sev++)
    {
      c->keep_severity[sev] = policy->defaults.grace[sev] >= 0;
      for (size_t i = 0; i < policy->n_scopes; i++)
        if (policy->scopes[i].rules.has_grace[sev] && policy->scopes[i].rules.grace[sev] >= 0)
          c->keep_severity[sev] = true;
    }
  if (lock_index (index_path, &c->lock, err) < 0 || pg_mkstemp_beside (index_path, &c->tmp, &c->fd, err) < 0)
    {
      index_writer_abort (c);
      return pg_error_wrap (err, "policy index %s", index_path);
    }
  if (fchmod (c->fd, 0644) < 0 || cdb_make_start (&c->cm, c->fd) < 0)
    {
      pg_make_error (err, errno, "%s: writing the index", c->tmp);
      index_writer_abort (c);
      return -1;
    }
  c->started = true;
  if (add_globals (c, err) < 0)
    {
      index_writer_abort (c);
      return -1;
    }
  *out = c;
  return 0;
}

static int
write_trailer (pg_index_writer *c, const struct stat *db, int64_t now, pg_error_t *err)
{
  struct pg_index_trailer t;
  struct stat st;

  if (fstat (c->fd, &st) < 0)
    return pg_make_error (err, errno, "%s: fstat", c->tmp);
  memset (&t, 0, sizeof (t));
  memcpy (t.magic, PG_INDEX_MAGIC, sizeof (t.magic));
  t.format = PG_INDEX_FORMAT;
  t.trailer_size = sizeof (t);
  t.file_size = (uint64_t) st.st_size + sizeof (t);
  t.compiled_at = now;
  if (db)
    {
      t.db_dev = (uint64_t) db->st_dev;
      t.db_ino = (uint64_t) db->st_ino;
      t.db_size = (uint64_t) db->st_size;
      t.db_mtime_sec = db->st_mtim.tv_sec;
      t.db_mtime_nsec = db->st_mtim.tv_nsec;
    }
  t.build_fingerprint = index_build_fingerprint ();
  memcpy (t.lineage, c->lineage, sizeof (t.lineage));
  t.change_seq = c->change_seq;
  t.images = c->stats.images;
  t.keys = c->stats.keys;
  t.checksum = pg_index_fnv1a (&t, offsetof (struct pg_index_trailer, checksum));
  if (t.file_size > PG_INDEX_MAX_SIZE)
    return pg_make_error (err, 0, "%s: the index would exceed 4 GiB, tinycdb's limit", c->path);
  if (pwrite (c->fd, &t, sizeof (t), st.st_size) != (ssize_t) sizeof (t))
    return pg_make_error (err, errno ? errno : EIO, "%s: writing the trailer", c->tmp);
  c->stats.bytes = t.file_size;
  return 0;
}

void
index_writer_set_origin (pg_index_writer *c, const char *lineage, int64_t change_seq)
{
  memset (c->lineage, 0, sizeof (c->lineage));
  if (lineage)
    snprintf (c->lineage, sizeof (c->lineage), "%s", lineage);
  c->change_seq = change_seq;
}

int
index_writer_finish (pg_index_writer *c, const struct stat *db, int64_t now, struct pg_index_stats *stats,
                     pg_error_t *err)
{
  int ret = -1;

  c->started = false;
  if (cdb_make_finish (&c->cm) < 0)
    pg_make_error (err, errno, "%s: writing the index", c->tmp);
  else if (write_trailer (c, db, now, err) == 0)
    {
      if (fsync (c->fd) < 0)
        pg_make_error (err, errno, "%s: fsync", c->tmp);
      else if (rename (c->tmp, c->path) < 0)
        pg_make_error (err, errno, "rename %s to %s", c->tmp, c->path);
      else
        {
          free (c->tmp);
          c->tmp = NULL;
          ret = pg_fsync_parent (c->path, err);
        }
    }
  if (ret == 0 && stats)
    *stats = c->stats;
  index_writer_abort (c);
  return ret;
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

static bool
rowid_in (int64_t rowid, const int64_t *v, size_t n)
{
  size_t lo = 0, hi = n;
  while (lo < hi)
    {
      size_t mid = lo + (hi - lo) / 2;
      if (v[mid] == rowid)
        return true;
      if (v[mid] < rowid)
        lo = mid + 1;
      else
        hi = mid;
    }
  return false;
}

static int
compare_rowid (const void *a, const void *b)
{
  int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
  return x < y ? -1 : x > y;
}

struct copier
{
  pg_index_writer *w;
  const int64_t *dirty;
  size_t n_dirty;
  uint64_t old_pos, new_pos; /* where the last copied record was, and is */
  bool damaged;              /* the previous index does not read as written */
};

/* An image record or alias of the previous index: copied unless its image
   changed.  The trailer's keys (policy, facts) are the writer's own.  */
static int
copy_entry (const unsigned char *key, size_t klen, const unsigned char *val, size_t vlen, uint64_t pos,
            void *data, pg_error_t *err)
{
  struct copier *cp = data;
  struct pg_index_cursor c = { val + 1, vlen ? vlen - 1 : 0, false };
  int64_t rowid;

  if (klen == 0 || key[0] == '\0')
    return 0;
  if (vlen < 2 || (val[0] != PG_INDEX_RECORD && val[0] != PG_INDEX_ALIAS))
    {
      cp->damaged = true;
      return pg_make_error (err, 0, "%s: an entry of the previous index is not a record", cp->w->path);
    }
  rowid = (int64_t) pg_index_get_varint (&c);
  if (rowid_in (rowid, cp->dirty, cp->n_dirty))
    return 0;
  if (val[0] == PG_INDEX_RECORD)
    {
      cp->old_pos = pos;
      cp->new_pos = (uint64_t) cp->w->cm.cdb_dpos + 8 + klen;
      cp->w->stats.copied++;
      cp->w->stats.images++;
      cp->w->stats.keys++;
      return add (cp->w, key, klen, val, vlen, NULL, err);
    }
  {
    uint64_t target = pg_index_get_varint (&c), len = pg_index_get_varint (&c);
    struct pg_index_buf a = { 0 };
    int r;
    if (c.bad || target != cp->old_pos)
      {
        cp->damaged = true;
        return pg_make_error (err, 0, "%s: an alias of the previous index does not follow its record",
                              cp->w->path);
      }
    pg_index_put (&a, (const char[]){ PG_INDEX_ALIAS }, 1);
    pg_index_put_varint (&a, (uint64_t) rowid);
    pg_index_put_varint (&a, cp->new_pos);
    pg_index_put_varint (&a, len);
    r = add (cp->w, key, klen, a.p, a.len, NULL, err);
    free (a.p);
    cp->w->stats.keys++;
    return r;
  }
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
  struct copier cp = { 0 };
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
  cp.w = w;
  cp.dirty = dirty;
  cp.n_dirty = n_dirty;
  if (index_foreach (old, copy_entry, &cp, err) < 0)
    {
      if (!cp.damaged)
        return -1;
      pg_error_release (err); /* compile it all instead */
      return 0;
    }
  if (compile_images (store, w, policy, dirty, n_dirty, err) < 0)
    return -1;
  w->stats.incremental = true;
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
  if (r == 0 && w->stats.keys > 0)
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
index_refresh (const char *db_path, const char *index_path, int64_t now, struct pg_index_stats *stats,
               pg_error_t *err)
{
  cleanup_store pg_store *store = NULL;

  if (store_open (db_path, PG_STORE_READONLY, &store, err) < 0)
    return pg_error_wrap (err, "compiling the policy index %s", index_path);
  return compile (store, index_path, now, true, stats, err);
}
