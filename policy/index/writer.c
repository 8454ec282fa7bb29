/* patchgate: writing the decision index: a tinycdb file beside the index,
 * its trailer last, fsync, rename, fsync of the directory, under a lock so
 * that the last rename is the newest state's (index/format.h).
 */
#include "index/writer.h"
#include "index/record.h"
#include "rules/policy_cache.h"
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
  struct pg_index_record_ctx records;
  struct cdb_make cm;
  struct pg_index_buf buf;
  struct pg_index_stats stats;
  char lineage[40];
  int64_t change_seq;
  bool for_bundle;
  int64_t bundle_serial, bundle_created;
};

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
  if (n_digests == 0)
    return 0; /* nothing can look it up */
  if (c->policy == NULL)
    return pg_make_error (err, 0, "%s: an index without a policy holds no image", c->path);
  index_record_encode (&c->records, rec, newer, digests, n_digests, &c->buf);
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
  pg_index_put_i64 (&facts, c->records.globals->bundle_created);
  pg_index_put_i64 (&facts, c->records.globals->bundle_serial);
  if (r == 0)
    r = add (c, PG_INDEX_KEY_FACTS, PG_INDEX_KEY_LEN (PG_INDEX_KEY_FACTS), facts.p, facts.len, NULL, err);
  free (facts.p);
  return r;
}

/* One compile (or activation) at a time per index: a later one waits, so
   that the last rename is the newest state's.  */
int
index_lock (const char *index_path, int *fd, pg_error_t *err)
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

/* A host that enforces signed bundles has its policy from the active
   index alone: a local database compiled over it would silently replace
   the bundle's policy (until the next sync put it back).  Going back to
   local policy is the admin's explicit step.  Checked under the lock, so
   that an activation cannot slip in between.  */
static int
refuse_over_bundle (const char *index_path, pg_error_t *err)
{
  struct pg_index_origin o;

  if (index_read_origin (index_path, &o, err) < 0)
    return -1;
  if (!o.from_bundle)
    return 0;
  return pg_make_error (err, 0,
                        "it was activated from the signed bundle serial %lld: compiling the local database "
                        "over it would replace the bundle's policy.  A host that takes bundles does not "
                        "import; to enforce a local database instead, remove %s first",
                        (long long) o.bundle_serial, index_path);
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
  index_record_ctx_init (&c->records, policy, globals);
  if (index_lock (index_path, &c->lock, err) < 0 || refuse_over_bundle (index_path, err) < 0
      || pg_mkstemp_beside (index_path, &c->tmp, &c->fd, err) < 0)
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
  if (c->for_bundle)
    {
      t.origin = PG_INDEX_ORIGIN_BUNDLE;
      t.bundle_serial = c->bundle_serial;
      t.bundle_created = c->bundle_created;
    }
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

void
index_writer_set_bundle (pg_index_writer *c, int64_t serial, int64_t created)
{
  c->for_bundle = true;
  c->bundle_serial = serial;
  c->bundle_created = created;
}

int
index_stamp_bundle (const char *path, int64_t activated_at, const unsigned char sig_sha256[32],
                    pg_error_t *err)
{
  cleanup_close int fd = open (path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  struct pg_index_trailer t;
  struct stat st;

  if (fd < 0)
    return pg_make_error (err, errno, "%s: open", path);
  if (fstat (fd, &st) < 0)
    return pg_make_error (err, errno, "%s: fstat", path);
  if (st.st_size < (off_t) sizeof (t) || pread (fd, &t, sizeof (t), st.st_size - sizeof (t)) != sizeof (t)
      || memcmp (t.magic, PG_INDEX_MAGIC, sizeof (t.magic)) != 0 || t.format != PG_INDEX_FORMAT
      || t.trailer_size != sizeof (t)
      || t.checksum != pg_index_fnv1a (&t, offsetof (struct pg_index_trailer, checksum)))
    return pg_make_error (err, 0, "%s: not a policy index of format %u", path, PG_INDEX_FORMAT);
  if (t.origin != PG_INDEX_ORIGIN_BUNDLE)
    return pg_make_error (err, 0, "%s: not compiled for a bundle", path);
  t.bundle_activated_at = activated_at;
  memcpy (t.bundle_sig_sha256, sig_sha256, sizeof (t.bundle_sig_sha256));
  t.checksum = pg_index_fnv1a (&t, offsetof (struct pg_index_trailer, checksum));
  if (pwrite (fd, &t, sizeof (t), st.st_size - sizeof (t)) != (ssize_t) sizeof (t))
    return pg_make_error (err, errno ? errno : EIO, "%s: writing the trailer", path);
  if (fsync (fd) < 0)
    return pg_make_error (err, errno, "%s: fsync", path);
  return 0;
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

struct copier
{
  pg_index_writer *w;
  const int64_t *dirty;
  size_t n_dirty;
  uint64_t old_pos, new_pos; /* where the last copied record was, and is */
  bool damaged;              /* the previous index does not read as written */
};

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

int
index_writer_copy (pg_index_writer *w, pg_index *old, const int64_t *dirty, size_t n_dirty, pg_error_t *err)
{
  struct copier cp = { w, dirty, n_dirty, 0, 0, false };
  if (index_foreach (old, copy_entry, &cp, err) < 0)
    {
      if (!cp.damaged)
        return -1;
      pg_error_release (err); /* compile it all instead */
      return 0;
    }
  w->stats.incremental = true;
  return 1;
}

const struct pg_index_stats *
index_writer_stats (const pg_index_writer *w)
{
  return &w->stats;
}
