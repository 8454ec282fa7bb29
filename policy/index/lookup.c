/* patchgate: reading the decision index: check its trailer and that it
 * is not older than the database, look a digest up, and run eval_image
 * over what the record holds.  Nothing here touches SQLite or parses JSON:
 * this is the hook's whole start path after identification.
 *
 * A decision maps the head of the file (the policy and the facts, written
 * first) and reads the rest it needs (the trailer, a hash slot, a record)
 * with pread.  Mapping the whole file cost a start more: the kernel walks
 * the page tables of the whole mapping, gigabytes at a million images, at
 * munmap and again at exit (BENCHMARKS.md).  Only a walk over every record
 * maps the whole file.
 */
#include "index/index.h"
#include "index/format.h"
#include "rules/policy_cache.h"
#include "base/clock.h"
#include "base/digest.h"

#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

/* Bytes read from the file past the mapped head (a policy larger than
   the head), kept while the index is open: the policy is a view into
   them.  */
struct index_chunk
{
  struct index_chunk *next;
  uint64_t pos;
  size_t len;
  unsigned char bytes[];
};

struct pg_index
{
  char *path;
  int fd;
  bool mapped; /* the whole file, by index_foreach only */
  struct cdb cdb;
  const unsigned char *head; /* the first head_len bytes, mapped */
  size_t head_len;
  struct index_chunk *chunks;
  struct pg_index_trailer t;
  struct stat st;
  bool db_matches;
  int64_t db_changed_at;
  int64_t bundle_created, bundle_serial;
  struct pg_policy *policy; /* a view into the head (or a chunk), read at the first decision */
};

char *
index_path_for_db (const char *db)
{
  size_t n = strlen (db);
  char *out = NULL;
  if (n > 3 && strcmp (db + n - 3, ".db") == 0)
    xasprintf (&out, "%.*s.idx", (int) (n - 3), db);
  else
    xasprintf (&out, "%s.idx", db);
  return out;
}

const char *
index_path (const pg_index *idx)
{
  return idx->path;
}

void
index_close (pg_index *idx)
{
  if (idx == NULL)
    return;
  policy_view_free (idx->policy);
  if (idx->mapped)
    cdb_free (&idx->cdb);
  if (idx->head)
    munmap ((void *) idx->head, idx->head_len);
  while (idx->chunks)
    {
      struct index_chunk *c = idx->chunks;
      idx->chunks = c->next;
      free (c);
    }
  if (idx->fd >= 0)
    close (idx->fd);
  free (idx->path);
  free (idx);
}

void
cleanup_indexp (pg_index **idx)
{
  index_close (*idx);
}

void
index_get_info (const pg_index *idx, struct pg_index_info *info)
{
  memset (info, 0, sizeof (*info));
  info->compiled_at = idx->t.compiled_at;
  memcpy (info->lineage, idx->t.lineage, sizeof (info->lineage));
  info->lineage[sizeof (info->lineage) - 1] = '\0';
  info->change_seq = idx->t.change_seq;
  info->images = idx->t.images;
  info->keys = idx->t.keys;
  info->size = (uint64_t) idx->st.st_size;
  info->db_matches = idx->db_matches;
  info->db_changed_at = idx->db_changed_at;
  info->from_bundle = idx->t.origin == PG_INDEX_ORIGIN_BUNDLE;
  info->bundle_serial = idx->t.bundle_serial;
  info->bundle_created = idx->t.bundle_created;
  info->bundle_activated_at = idx->t.bundle_activated_at;
}

#define RECOMPILE "recompile it: patchgate index build"

uint64_t
index_build_fingerprint (void)
{
#ifdef PG_INDEX_BUILD_ID
  static const char id[] = PG_INDEX_BUILD_ID;
#else
  static const char id[] = "no PG_INDEX_BUILD_ID";
#endif
  uint64_t policy = policy_record_fingerprint ();
  uint64_t h = pg_index_fnv1a (id, sizeof (id)) ^ (policy * 0x9e3779b97f4a7c15ULL) ^ PG_INDEX_FORMAT;
  return policy == 0 ? 0 : h | 1;
}

unsigned
index_format_version (void)
{
  return PG_INDEX_FORMAT;
}

void
index_build_id (char out[17])
{
  snprintf (out, 17, "%016llx", (unsigned long long) index_build_fingerprint ());
}

static bool
trailer_valid (const struct pg_index_trailer *t)
{
  return memcmp (t->magic, PG_INDEX_MAGIC, sizeof (t->magic)) == 0 && t->format == PG_INDEX_FORMAT
         && t->trailer_size == sizeof (*t)
         && t->checksum == pg_index_fnv1a (t, offsetof (struct pg_index_trailer, checksum))
         && (t->origin == PG_INDEX_ORIGIN_DATABASE || t->origin == PG_INDEX_ORIGIN_BUNDLE);
}

int
index_read_origin (const char *path, struct pg_index_origin *o, pg_error_t *err)
{
  static const unsigned char zero[32];
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  struct pg_index_trailer t;
  struct stat st;

  memset (o, 0, sizeof (*o));
  if (fd < 0)
    return errno == ENOENT ? 0 : pg_make_error (err, errno, "policy index %s", path);
  o->exists = true;
  if (fstat (fd, &st) < 0)
    return pg_make_error (err, errno, "policy index %s", path);
  if (!S_ISREG (st.st_mode) || st.st_size < (off_t) sizeof (t))
    return 0;
  if (pread (fd, &t, sizeof (t), st.st_size - sizeof (t)) != (ssize_t) sizeof (t) || !trailer_valid (&t)
      || t.file_size != (uint64_t) st.st_size)
    return 0;
  o->readable = true;
  o->images = t.images;
  if (t.origin != PG_INDEX_ORIGIN_BUNDLE)
    return 0;
  o->from_bundle = true;
  o->bundle_serial = t.bundle_serial;
  o->bundle_created = t.bundle_created;
  o->bundle_activated_at = t.bundle_activated_at;
  if (memcmp (t.bundle_sig_sha256, zero, sizeof (zero)) != 0)
    for (size_t i = 0; i < 32; i++)
      snprintf (o->bundle_sig_sha256 + 2 * i, 3, "%02x", t.bundle_sig_sha256[i]);
  return 0;
}

/* LEN bytes at POS into BUF: 0, or -1 and errno (EPROTO: the file ends
   before).  */
static int
read_at (int fd, void *buf, size_t len, uint64_t pos)
{
  unsigned char *p = buf;
  while (len > 0)
    {
      ssize_t r = pread (fd, p, len, (off_t) pos);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        {
          if (r == 0)
            errno = EPROTO;
          return -1;
        }
      p += r;
      pos += (uint64_t) r;
      len -= (size_t) r;
    }
  return 0;
}

/* Are LEN bytes at POS all in the file?  (index_open refused a file past
   PG_INDEX_MAX_SIZE: tinycdb's 32-bit offsets reach all of it.)  */
static bool
index_holds (const pg_index *idx, uint64_t pos, uint64_t len)
{
  uint64_t size = (uint64_t) idx->st.st_size;

  return pos <= size && len <= size - pos;
}

/* LEN bytes at POS, kept until the index is closed: in the mapped head,
   else read into a chunk.  NULL and errno when they are not all in the
   file.  */
static const unsigned char *
index_bytes (pg_index *idx, uint64_t pos, uint64_t len)
{
  struct index_chunk *c;

  if (!index_holds (idx, pos, len))
    return errno = EPROTO, NULL;
  if (pos + len <= idx->head_len)
    return idx->head + pos;
  for (c = idx->chunks; c; c = c->next)
    if (pos >= c->pos && pos - c->pos + len <= c->len)
      return c->bytes + (pos - c->pos);
  c = xrealloc (NULL, sizeof (*c) + (len ? len : 1));
  if (read_at (idx->fd, c->bytes, len, pos) < 0)
    {
      free (c);
      return NULL;
    }
  c->pos = pos;
  c->len = len;
  c->next = idx->chunks;
  idx->chunks = c;
  return c->bytes;
}

static int
check_trailer (pg_index *idx, pg_error_t *err)
{
  struct pg_index_trailer *t = &idx->t;

  if (read_at (idx->fd, t, sizeof (*t), (uint64_t) idx->st.st_size - sizeof (*t)) < 0)
    return pg_make_error (err, errno == EPROTO ? 0 : errno,
                          "policy index %s is truncated or not a patchgate index: %s", idx->path, RECOMPILE);
  if (memcmp (t->magic, PG_INDEX_MAGIC, sizeof (t->magic)) != 0)
    return pg_make_error (err, 0, "policy index %s is truncated or not a patchgate index: %s", idx->path,
                          RECOMPILE);
  if (t->format != PG_INDEX_FORMAT || t->trailer_size != sizeof (*t))
    return pg_make_error (err, 0, "policy index %s has format %u; this patchgate reads format %u: %s",
                          idx->path, t->format, PG_INDEX_FORMAT, RECOMPILE);
  if (!trailer_valid (t))
    return pg_make_error (err, 0, "policy index %s is damaged (its trailer's checksum): %s", idx->path,
                          RECOMPILE);
  if (t->file_size != (uint64_t) idx->st.st_size)
    return pg_make_error (
        err, 0, "policy index %s is %lld bytes, its trailer says %llu: truncated or damaged: %s", idx->path,
        (long long) idx->st.st_size, (unsigned long long) t->file_size, RECOMPILE);
  if (t->build_fingerprint != index_build_fingerprint () || t->build_fingerprint == 0)
    return pg_make_error (err, 0, "policy index %s was compiled by another build of patchgate: %s", idx->path,
                          RECOMPILE);
  return 0;
}

/* Was the index compiled from the database as it is now?  If not, the
   change is either a writer's, whose recompile is under way (use the index
   a while: MAX_LAG), or one that was never compiled in: refuse.  */
static int
check_fresh (pg_index *idx, const struct pg_index_open_opts *o, pg_error_t *err)
{
  const struct pg_index_trailer *t = &idx->t;
  int64_t lag = o->max_lag > 0 ? o->max_lag : PG_INDEX_DEFAULT_MAX_LAG;
  int64_t wall = o->wall_now ? o->wall_now : (int64_t) time (NULL);
  char changed[32], compiled[32], max[32];
  struct stat db;

  if (o->db_path == NULL)
    {
      idx->db_matches = true;
      return 0;
    }
  /* A bundle's index was compiled from the building host's database, and
     a local one (if any) is not its source: its freshness is the bundle
     time's (POLICY_STALE), its authenticity the activation's.  */
  if (t->origin == PG_INDEX_ORIGIN_BUNDLE)
    return 0;
  if (stat (o->db_path, &db) < 0)
    return pg_make_error (err, errno, "policy index %s: its policy database %s", idx->path, o->db_path);
  idx->db_changed_at = db.st_mtim.tv_sec;
  idx->db_matches = (uint64_t) db.st_dev == t->db_dev && (uint64_t) db.st_ino == t->db_ino
                    && (uint64_t) db.st_size == t->db_size && db.st_mtim.tv_sec == t->db_mtime_sec
                    && db.st_mtim.tv_nsec == t->db_mtime_nsec;
  if (idx->db_matches || wall - db.st_mtim.tv_sec <= lag)
    return 0;
  format_rfc3339 (db.st_mtim.tv_sec, changed, sizeof (changed));
  format_rfc3339 (t->compiled_at, compiled, sizeof (compiled));
  format_duration (lag, max, sizeof (max));
  return pg_make_error (err, 0,
                        "policy index %s is stale: the policy database %s changed (%s) since the index was "
                        "compiled (%s) and was not recompiled within %s (index_max_lag): %s",
                        idx->path, o->db_path, changed, compiled, max, RECOMPILE);
}

/* LEN bytes at POS as a value: in the mapping (index_foreach made one),
   else kept until the index is closed (KEEP: the policy, the facts) or
   read into *OWNED, which the caller frees (a record: a decision reads one
   or two, and `report expiring` thousands).  0, or -1 and errno.  */
static int
index_value_at (pg_index *idx, uint64_t pos, uint64_t len, bool keep, const unsigned char **data,
                unsigned char **owned)
{
  if (!index_holds (idx, pos, len))
    return errno = EPROTO, -1;
  if (idx->mapped)
    *data = cdb_get (&idx->cdb, (unsigned) len, (unsigned) pos);
  else if (keep)
    *data = index_bytes (idx, pos, len);
  else
    {
      free (*owned);
      *owned = xrealloc (NULL, len ? len : 1);
      *data = read_at (idx->fd, *owned, len, pos) < 0 ? NULL : *owned;
    }
  return *data ? 0 : -1;
}

/* KEY's value: 1 and *DATA, *LEN (as index_value_at: KEEP, *OWNED), 0 when
   the index does not hold KEY, -1 and errno.  Unmapped, tinycdb's
   cdb_seek reads the table of contents, the hash slots and the key it
   compares where they lie, a few bytes each.  */
static int
index_lookup (pg_index *idx, const char *key, unsigned klen, bool keep, const unsigned char **data,
              size_t *len, unsigned char **owned)
{
  unsigned dlen;
  off_t pos;
  int r;

  if (idx->mapped)
    {
      r = cdb_find (&idx->cdb, key, klen);
      if (r > 0)
        {
          *data = cdb_getdata (&idx->cdb);
          *len = cdb_datalen (&idx->cdb);
        }
      return r;
    }
  r = cdb_seek (idx->fd, key, klen, &dlen);
  if (r <= 0)
    return r;
  pos = lseek (idx->fd, 0, SEEK_CUR);
  if (pos < 0 || index_value_at (idx, (uint64_t) pos, dlen, keep, data, owned) < 0)
    return -1;
  *len = dlen;
  return 1;
}

/* One of the head's keys (the policy, the facts), kept: the writer puts
   them first (writer.c, add_globals), so they are read where they lie,
   without the hash slot a lookup reads first, elsewhere in the file.  An
   index written otherwise is looked up.  Like index_lookup.  */
static int
find_head_key (pg_index *idx, const char *key, unsigned klen, const unsigned char **data, size_t *len)
{
  uint64_t pos = 2048;

  for (int i = 0; i < 2 && pos < PG_INDEX_HEAD; i++)
    {
      const unsigned char *h = index_bytes (idx, pos, 8), *k;
      uint64_t kl, dl;

      if (h == NULL)
        return -1;
      kl = cdb_unpack (h);
      dl = cdb_unpack (h + 4);
      if ((k = index_bytes (idx, pos + 8, kl + dl)) == NULL)
        return -1;
      if (kl == klen && memcmp (k, key, klen) == 0)
        {
          *data = k + kl;
          *len = (size_t) dl;
          return 1;
        }
      pos += 8 + kl + dl;
    }
  return index_lookup (idx, key, klen, true, data, len, NULL);
}

static int
read_facts (pg_index *idx, pg_error_t *err)
{
  struct pg_index_cursor c;
  const unsigned char *v = NULL;
  size_t n = 0;
  int r = find_head_key (idx, PG_INDEX_KEY_FACTS, PG_INDEX_KEY_LEN (PG_INDEX_KEY_FACTS), &v, &n);

  if (r <= 0)
    return pg_make_error (err, 0, "policy index %s is damaged (no facts): %s", idx->path, RECOMPILE);
  c = (struct pg_index_cursor){ v, n, false };
  idx->bundle_created = pg_index_get_i64 (&c);
  idx->bundle_serial = pg_index_get_i64 (&c);
  if (c.bad || c.p == NULL)
    return pg_make_error (err, 0, "policy index %s is damaged (facts): %s", idx->path, RECOMPILE);
  return 0;
}

int
index_open (const char *path, const struct pg_index_open_opts *opts, pg_index **out, pg_error_t *err)
{
  static const struct pg_index_open_opts none = { 0 };
  pg_index *idx = xmalloc0 (sizeof (*idx));

  *out = NULL;
  idx->path = xstrdup (path);
  idx->fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (idx->fd < 0)
    {
      if (errno == ENOENT)
        pg_make_error (err, ENOENT,
                       "policy index %s is missing: compile it with `patchgate index build` (import, policy "
                       "set and activate do)",
                       path);
      else
        pg_make_error (err, errno, "policy index %s", path);
      goto fail;
    }
  if (fstat (idx->fd, &idx->st) < 0)
    {
      pg_make_error (err, errno, "policy index %s", path);
      goto fail;
    }
  if (!S_ISREG (idx->st.st_mode) || idx->st.st_size < (off_t) (2048 + sizeof (idx->t))
      || (uint64_t) idx->st.st_size > PG_INDEX_MAX_SIZE)
    {
      pg_make_error (err, 0, "policy index %s is truncated or not a patchgate index: %s", path, RECOMPILE);
      goto fail;
    }
  /* Out of the page cache, a decision reads the head (the table of
     contents, then the policy and the facts, written first: writer.c),
     the trailer, a hash slot and a record.  The head is asked for first,
     so that it is read while the trailer is, and so that no fault on its
     mapping finds it missing: such a fault reads around as far as the
     device's read-ahead (8 MiB on this machine's disk: most of a cold
     decision, BENCHMARKS.md).  The rest is a handful of pages spread over
     the file, each read by a pread that FADV_RANDOM keeps to the pages it
     asks for.  */
  (void) posix_fadvise (idx->fd, 0, 0, POSIX_FADV_RANDOM);
  (void) posix_fadvise (idx->fd, 0, PG_INDEX_HEAD, POSIX_FADV_WILLNEED);
  idx->head_len = (uint64_t) idx->st.st_size < PG_INDEX_HEAD ? (size_t) idx->st.st_size : PG_INDEX_HEAD;
  idx->head = mmap (NULL, idx->head_len, PROT_READ, MAP_PRIVATE, idx->fd, 0);
  if (idx->head == MAP_FAILED)
    {
      idx->head = NULL;
      pg_make_error (err, errno, "policy index %s: mapping its head", path);
      goto fail;
    }
  if (check_trailer (idx, err) < 0 || check_fresh (idx, opts ? opts : &none, err) < 0
      || read_facts (idx, err) < 0)
    goto fail;
  *out = idx;
  return 0;
fail:
  index_close (idx);
  return -1;
}

int
index_foreach (pg_index *idx, pg_index_entry_fn fn, void *data, pg_error_t *err)
{
  unsigned pos;
  int r;

  if (!idx->mapped)
    {
      /* Every record, in file order: mapped, read ahead.  */
      if (cdb_init (&idx->cdb, idx->fd) < 0)
        return pg_make_error (err, errno, "policy index %s: mapping it", idx->path);
      (void) madvise ((void *) idx->cdb.cdb_mem, (size_t) idx->st.st_size, MADV_SEQUENTIAL);
      idx->mapped = true;
    }
  cdb_seqinit (&pos, &idx->cdb);
  while ((r = cdb_seqnext (&pos, &idx->cdb)) > 0)
    {
      const unsigned char *k = cdb_getkey (&idx->cdb), *v = cdb_getdata (&idx->cdb);
      if (k == NULL || v == NULL)
        return pg_make_error (err, 0, "policy index %s is damaged: %s", idx->path, RECOMPILE);
      if (fn (k, cdb_keylen (&idx->cdb), v, cdb_datalen (&idx->cdb), cdb_datapos (&idx->cdb), data, err) < 0)
        return -1;
    }
  if (r < 0)
    return pg_make_error (err, errno, "policy index %s is damaged: %s", idx->path, RECOMPILE);
  return 0;
}

/* ---- one image ---- */

/* A record read in place: the strings point into its bytes (read, or the
   mapping); only the arrays are the entry's own.  */
struct entry
{
  struct pg_image_record rec;
  struct pg_eval_facts facts;
  struct pg_policy policy;
};

static void
entry_free (struct entry *e)
{
  free (e->rec.repositories);
  free (e->rec.repo_tags);
  free (e->rec.diff_ids);
  free (e->rec.vulns);
  free (e->rec.packages);
  for (size_t i = 0; e->rec.vex && i < e->rec.n_vex; i++)
    {
      free (e->rec.vex[i].aliases);
      free (e->rec.vex[i].subcomponents);
    }
  free (e->rec.vex);
  free (e->rec.digests);
  free (e->facts.bases);
  free (e->policy.waivers);
  free (e->policy.min_versions);
  free (e->policy.eol);
  free (e->policy.revoked_digests);
}

#define STR(c) ((char *) pg_index_get_str (c))

static char **
get_strv (struct pg_index_cursor *c, size_t *n)
{
  char **v;
  *n = pg_index_get_count (c, 1);
  v = xmalloc0 ((*n ? *n : 1) * sizeof (*v));
  for (size_t i = 0; i < *n; i++)
    v[i] = STR (c);
  return v;
}

/* The policy's items this image's record names, in the policy's order.  */
static void *
select_items (struct pg_index_cursor *c, const void *all, size_t n_all, size_t size, size_t *n)
{
  unsigned char *v;
  *n = pg_index_get_count (c, 1);
  v = xmalloc0 ((*n ? *n : 1) * size);
  for (size_t i = 0; i < *n; i++)
    {
      uint64_t k = pg_index_get_varint (c);
      if (c->bad || k >= n_all)
        {
          c->bad = true;
          *n = 0;
          return v;
        }
      memcpy (v + i * size, (const unsigned char *) all + k * size, size);
    }
  return v;
}

static void
decode_findings (struct pg_index_cursor *c, struct pg_image_record *rec)
{
  rec->n_vulns = pg_index_get_count (c, 13);
  rec->vulns = xmalloc0 ((rec->n_vulns ? rec->n_vulns : 1) * sizeof (*rec->vulns));
  for (size_t i = 0; i < rec->n_vulns; i++)
    {
      struct pg_vuln *v = &rec->vulns[i];
      unsigned char sev;
      v->id = STR (c);
      v->pkg = STR (c);
      v->installed = STR (c);
      v->fixed = STR (c);
      sev = pg_index_get_byte (c);
      v->severity = sev < PG_SEV_COUNT ? (enum pg_severity) sev : PG_SEV_UNKNOWN;
      v->fix_known_since = pg_index_get_i64 (c);
      v->fix_known_source = STR (c);
      v->remedy = STR (c);
      v->purl = STR (c);
      if (v->id == NULL || v->pkg == NULL)
        c->bad = true;
    }
  rec->n_packages = pg_index_get_count (c, 2);
  rec->packages = xmalloc0 ((rec->n_packages ? rec->n_packages : 1) * sizeof (*rec->packages));
  for (size_t i = 0; i < rec->n_packages; i++)
    {
      rec->packages[i].name = STR (c);
      rec->packages[i].version = STR (c);
    }
  rec->n_vex = pg_index_get_count (c, 10);
  rec->vex = xmalloc0 ((rec->n_vex ? rec->n_vex : 1) * sizeof (*rec->vex));
  for (size_t i = 0; i < rec->n_vex; i++)
    {
      struct pg_vex *x = &rec->vex[i];
      x->vuln_id = STR (c);
      x->aliases = get_strv (c, &x->n_aliases);
      x->status = STR (c);
      x->justification = STR (c);
      x->issued = pg_index_get_i64 (c);
      x->digest = STR (c);
      x->repository = STR (c);
      x->tag = STR (c);
      x->subcomponents = get_strv (c, &x->n_subcomponents);
      x->source = STR (c);
      x->document = STR (c);
      x->index = (size_t) pg_index_get_varint (c);
      if (x->vuln_id == NULL || x->status == NULL)
        c->bad = true;
    }
  rec->digests = get_strv (c, &rec->n_digests);
}

static int
decode_record (const pg_index *idx, const unsigned char *data, size_t len, struct entry *e)
{
  struct pg_index_cursor c = { data + 1, len - 1, false };
  struct pg_image_record *rec = &e->rec;
  const struct pg_policy *p = idx->policy;
  unsigned char flags;

  rec->rowid = (int64_t) pg_index_get_varint (&c);
  flags = pg_index_get_byte (&c);
  rec->has_scan = (flags & PG_INDEX_HAS_SCAN) != 0;
  rec->eosl = (flags & PG_INDEX_EOSL) != 0;
  rec->created = pg_index_get_i64 (&c);
  rec->first_seen = pg_index_get_i64 (&c);
  rec->scanned_at = pg_index_get_i64 (&c);
  rec->image_id = STR (&c);
  rec->manifest_digest = STR (&c);
  rec->os_family = STR (&c);
  rec->os_name = STR (&c);
  rec->repositories = get_strv (&c, &rec->n_repositories);
  rec->repo_tags = get_strv (&c, &rec->n_repo_tags);
  rec->diff_ids = get_strv (&c, &rec->n_diff_ids);

  e->facts.bundle_created = idx->bundle_created;
  e->facts.bundle_serial = idx->bundle_serial;
  e->facts.newer_digest = STR (&c);
  e->facts.newer_name = STR (&c);
  e->facts.newer_since = pg_index_get_i64 (&c);
  e->facts.n_bases = pg_index_get_count (&c, 2);
  e->facts.bases = xmalloc0 ((e->facts.n_bases ? e->facts.n_bases : 1) * sizeof (*e->facts.bases));
  for (size_t i = 0; i < e->facts.n_bases; i++)
    {
      /* A base this image is built on: its layers are the image's first.  */
      uint64_t n;
      e->facts.bases[i].digest = STR (&c);
      n = pg_index_get_varint (&c);
      if (n > rec->n_diff_ids)
        c.bad = true;
      e->facts.bases[i].diff_ids = rec->diff_ids;
      e->facts.bases[i].n_diff_ids = c.bad ? 0 : (size_t) n;
    }
  decode_findings (&c, rec);

  e->policy = *p;
  e->policy.waivers = select_items (&c, p->waivers, p->n_waivers, sizeof (*p->waivers), &e->policy.n_waivers);
  e->policy.min_versions = select_items (&c, p->min_versions, p->n_min_versions, sizeof (*p->min_versions),
                                         &e->policy.n_min_versions);
  e->policy.eol = select_items (&c, p->eol, p->n_eol, sizeof (*p->eol), &e->policy.n_eol);
  e->policy.revoked_digests = select_items (&c, p->revoked_digests, p->n_revoked_digests,
                                            sizeof (*p->revoked_digests), &e->policy.n_revoked_digests);
  return c.bad || c.left != 0 ? -1 : 0;
}

/* The record's bytes for KEY: 1 and DATA/LEN (*OWNED: as index_value_at),
   0 when the digest is not in the index.  An alias names where its
   image's record is.  */
static int
find_record (pg_index *idx, const char *key, const unsigned char **data, size_t *len, unsigned char **owned,
             pg_error_t *err)
{
  const unsigned char *v = NULL;
  int r = index_lookup (idx, key, (unsigned) strlen (key), false, &v, len, owned);

  if (r < 0)
    return pg_make_error (err, errno == EPROTO ? 0 : errno, "policy index %s is damaged (looking up %s): %s",
                          idx->path, key, RECOMPILE);
  if (r == 0)
    return 0;
  if (v && *len > 1 && v[0] == PG_INDEX_ALIAS)
    {
      struct pg_index_cursor c = { v + 1, *len - 1, false };
      uint64_t rowid = pg_index_get_varint (&c), pos = pg_index_get_varint (&c), n = pg_index_get_varint (&c);
      struct pg_index_cursor t;
      if (c.bad || n < 2 || index_value_at (idx, pos, n, false, &v, owned) < 0)
        v = NULL;
      *len = (size_t) n;
      t = (struct pg_index_cursor){ v ? v + 1 : NULL, v ? *len - 1 : 0, false };
      if (v == NULL || v[0] != PG_INDEX_RECORD || pg_index_get_varint (&t) != rowid)
        v = NULL;
    }
  if (v == NULL || *len < 2 || v[0] != PG_INDEX_RECORD)
    return pg_make_error (err, 0, "policy index %s is damaged (the record of %s): %s", idx->path, key,
                          RECOMPILE);
  *data = v;
  return 1;
}

static int
load_policy (pg_index *idx, pg_error_t *err)
{
  const unsigned char *v = NULL;
  size_t n = 0;
  int r;
  if (idx->policy)
    return 0;
  r = find_head_key (idx, PG_INDEX_KEY_POLICY, PG_INDEX_KEY_LEN (PG_INDEX_KEY_POLICY), &v, &n);
  if (r < 0)
    return pg_make_error (err, errno, "policy index %s is damaged: %s", idx->path, RECOMPILE);
  if (r == 0)
    return pg_make_error (
        err, 0, "policy index %s: its database has no policy (patchgate policy set POLICY.json)", idx->path);
  if (policy_cache_view (v, n, &idx->policy) != 1)
    return pg_make_error (err, 0, "policy index %s is damaged (its policy): %s", idx->path, RECOMPILE);
  return 0;
}

const char *
index_policy_version (pg_index *idx, pg_error_t *err)
{
  if (load_policy (idx, err) < 0)
    return NULL;
  return idx->policy->version;
}

int
index_decide (pg_index *idx, const struct pg_context *ctx, int64_t now, struct pg_decision *out,
              pg_error_t *err)
{
  char key[80];
  const unsigned char *data = NULL;
  cleanup_free unsigned char *owned = NULL;
  size_t len = 0;
  struct entry e;
  int r = 0;

  memset (out, 0, sizeof (*out));
  if (ctx->digest)
    {
      /* As the store looks a digest up (store_lookup_digest).  */
      if (is_hex64 (ctx->digest))
        snprintf (key, sizeof (key), "sha256:%s", ctx->digest);
      else if (is_sha256_digest (ctx->digest))
        snprintf (key, sizeof (key), "%s", ctx->digest);
      else
        return pg_make_error (err, 0, "`%s` is not a sha256 digest", ctx->digest);
    }
  if (load_policy (idx, err) < 0)
    return -1;
  if (ctx->digest)
    r = find_record (idx, key, &data, &len, &owned, err);
  if (r < 0)
    return -1;
  memset (&e, 0, sizeof (e));
  if (r == 0)
    {
      /* Not in the database: the policy whole, and no image.  */
      e.facts.bundle_created = idx->bundle_created;
      e.facts.bundle_serial = idx->bundle_serial;
      return eval_image (idx->policy, NULL, &e.facts, ctx, now, out, err);
    }
  if (decode_record (idx, data, len, &e) < 0)
    {
      entry_free (&e);
      return pg_make_error (err, 0, "policy index %s is damaged (the record of %s): %s", idx->path, key,
                            RECOMPILE);
    }
  r = eval_image (&e.policy, &e.rec, &e.facts, ctx, now, out, err);
  entry_free (&e);
  return r;
}

/* ---- every image ---- */

struct image_walk
{
  pg_index *idx;
  pg_index_image_fn fn;
  void *data;
};

static int
walk_entry (const unsigned char *key, size_t klen, const unsigned char *val, size_t vlen, uint64_t pos,
            void *data, pg_error_t *err)
{
  struct image_walk *w = data;
  char digest[80];
  struct entry e;
  int r;

  /* The policy and the facts ("\0..."), and the aliases of records.  */
  if (klen == 0 || key[0] == '\0' || vlen < 2 || val[0] != PG_INDEX_RECORD)
    return 0;
  if (klen >= sizeof (digest))
    return pg_make_error (err, 0, "policy index %s is damaged (a key of %zu bytes): %s", w->idx->path, klen,
                          RECOMPILE);
  memcpy (digest, key, klen);
  digest[klen] = '\0';
  memset (&e, 0, sizeof (e));
  if (decode_record (w->idx, val, vlen, &e) < 0)
    {
      entry_free (&e);
      return pg_make_error (err, 0, "policy index %s is damaged (the record of %s): %s", w->idx->path, digest,
                            RECOMPILE);
    }
  {
    struct pg_index_image im = { digest, &e.rec, &e.facts, &e.policy };
    r = w->fn (&im, w->data, err);
  }
  entry_free (&e);
  return r;
}

int
index_foreach_image (pg_index *idx, pg_index_image_fn fn, void *data, pg_error_t *err)
{
  struct image_walk w = { idx, fn, data };
  if (load_policy (idx, err) < 0)
    return -1;
  return index_foreach (idx, walk_entry, &w, err);
}
