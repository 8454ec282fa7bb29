/* patchgate: inside the decision index: the file's layout, shared by its
 * writer (writer.c, record.c) and its reader (lookup.c).  Nothing outside
 * policy/index/ includes this but tests/unit/test_index.c, which damages
 * trailers on purpose.
 *
 * The file is a tinycdb constant database (cdb(5): a 2048-byte table of
 * contents, the records, the hash tables) followed by a fixed trailer.
 * Keys:
 *
 *   "sha256:<hex>"   every digest of every image in the database (image ID,
 *                    manifest, repo digests): its record ('R'), or, for the
 *                    image's other digests, where that record is ('A');
 *   "\0policy"       the policy, as policy_record.c encodes it (empty body),
 *                    read in place (policy_cache_view);
 *   "\0facts"        what every decision reads: the bundle's time and serial.
 *
 * A record holds what eval_image reads of one image, pre-filtered by what
 * the policy can look at (record.c says why each filter keeps the
 * decision exact), and which of the policy's waivers, floors, end-of-life
 * entries and revoked digests can concern the image at all.  Strings are
 * stored NUL-terminated so that the reader points at them in the mapping.
 *
 * The trailer comes last, so that a file cut short anywhere has none.
 * Host byte order: the build fingerprint, checked on open, is only equal on
 * a build with the same sources, layouts and byte order.
 */
#ifndef PATCHGATE_INDEX_FORMAT_H
#define PATCHGATE_INDEX_FORMAT_H

#include "base/util.h"

#include <string.h>

#define PG_INDEX_MAGIC "PGINDEX\n"
/* Bump on any change of the records, the keys or the trailer.  */
#define PG_INDEX_FORMAT 3

#define PG_INDEX_KEY_POLICY "\0policy"
#define PG_INDEX_KEY_FACTS "\0facts"
#define PG_INDEX_KEY_LEN(k) (sizeof (k) - 1)

#define PG_INDEX_RECORD 'R'
#define PG_INDEX_ALIAS 'A'

/* Record flags.  */
#define PG_INDEX_HAS_SCAN 0x01
#define PG_INDEX_EOSL 0x02

/* The first bytes of the file: the table of contents, the policy and the
   facts (writer.c writes them before any record), read ahead on open.  */
#define PG_INDEX_HEAD (64 * 1024)

/* tinycdb keeps offsets in 32 bits.  */
#define PG_INDEX_MAX_SIZE 0xffffffffULL

struct pg_index_trailer
{
  char magic[8];
  uint32_t format;
  uint32_t trailer_size;
  uint64_t file_size; /* the whole file, trailer included */
  int64_t compiled_at;
  /* The database file as it was when the index was compiled from it.  */
  uint64_t db_dev;
  uint64_t db_ino;
  uint64_t db_size;
  int64_t db_mtime_sec;
  int64_t db_mtime_nsec;
  uint64_t build_fingerprint; /* index_build_fingerprint () of the writer */
  uint64_t images;
  uint64_t keys;
  /* Incremental compiles (compile.c): the database's lineage and the last
     change of its log the index includes.  */
  char lineage[40];
  int64_t change_seq;
  /* PG_INDEX_ORIGIN_BUNDLE: compiled on the host that built a signed
     bundle (bundle/bundle.c), which the database fields above do not name
     (they are zero), and activated here (bundle/activate.c), which stamps
     the signature it was verified with and when.  A reader does not hold
     it against the local database.  */
  uint32_t origin;
  uint32_t pad;
  int64_t bundle_serial;
  int64_t bundle_created;
  int64_t bundle_activated_at;
  unsigned char bundle_sig_sha256[32];
  uint64_t reserved[4];
  uint64_t checksum; /* FNV-1a of every byte before it */
} __attribute__ ((packed));

/* Which builds may read an index: the policy record's layout and parser
   (policy_record_fingerprint) and the sources that decide what a record
   holds and how it is read (the Makefile's PG_INDEX_BUILD_ID: a hash of
   policy/index, policy/rules and policy/store).  Another build refuses the
   index and says to recompile it.  0: this build writes no index.  */
uint64_t index_build_fingerprint (void);

static inline uint64_t
pg_index_fnv1a (const void *data, size_t len)
{
  const unsigned char *p = data;
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < len; i++)
    h = (h ^ p[i]) * 0x100000001b3ULL;
  return h;
}

/* ---- values: varints, 64-bit integers, strings ---- */

struct pg_index_buf
{
  unsigned char *p;
  size_t len, cap;
};

static inline void
pg_index_put (struct pg_index_buf *b, const void *data, size_t n)
{
  if (b->len + n > b->cap)
    {
      b->cap = (b->len + n) * 2 + 256;
      b->p = xrealloc (b->p, b->cap);
    }
  memcpy (b->p + b->len, data, n);
  b->len += n;
}

static inline void
pg_index_put_varint (struct pg_index_buf *b, uint64_t v)
{
  unsigned char tmp[10];
  size_t n = 0;
  do
    {
      tmp[n] = (unsigned char) (v & 0x7f);
      v >>= 7;
      if (v)
        tmp[n] |= 0x80;
      n++;
    }
  while (v);
  pg_index_put (b, tmp, n);
}

static inline void
pg_index_put_i64 (struct pg_index_buf *b, int64_t v)
{
  pg_index_put (b, &v, sizeof (v));
}

/* NULL: 0; else strlen + 1, then the bytes and their NUL.  */
static inline void
pg_index_put_str (struct pg_index_buf *b, const char *s)
{
  size_t n = s ? strlen (s) + 1 : 0;
  pg_index_put_varint (b, n);
  if (s)
    pg_index_put (b, s, n);
}

/* Reading never goes past LEFT: a short or damaged value sets BAD, and
   every later read yields zeros and NULLs.  */
struct pg_index_cursor
{
  const unsigned char *p;
  size_t left;
  bool bad;
};

static inline uint64_t
pg_index_get_varint (struct pg_index_cursor *c)
{
  uint64_t v = 0;
  for (unsigned shift = 0; !c->bad; shift += 7)
    {
      unsigned char byte;
      if (c->left == 0 || shift > 63)
        break;
      byte = *c->p++;
      c->left--;
      v |= (uint64_t) (byte & 0x7f) << shift;
      if (!(byte & 0x80))
        return v;
    }
  c->bad = true;
  return 0;
}

static inline int64_t
pg_index_get_i64 (struct pg_index_cursor *c)
{
  int64_t v = 0;
  if (c->bad || c->left < sizeof (v))
    {
      c->bad = true;
      return 0;
    }
  memcpy (&v, c->p, sizeof (v));
  c->p += sizeof (v);
  c->left -= sizeof (v);
  return v;
}

static inline unsigned char
pg_index_get_byte (struct pg_index_cursor *c)
{
  if (c->bad || c->left < 1)
    {
      c->bad = true;
      return 0;
    }
  c->left--;
  return *c->p++;
}

/* A string in place: a pointer into the value, which ends in its NUL.  */
static inline const char *
pg_index_get_str (struct pg_index_cursor *c)
{
  uint64_t n = pg_index_get_varint (c);
  const char *s;
  if (c->bad || n == 0)
    return NULL;
  if (n > c->left || c->p[n - 1] != '\0')
    {
      c->bad = true;
      return NULL;
    }
  s = (const char *) c->p;
  c->p += n;
  c->left -= (size_t) n;
  return s;
}

/* A count of items of at least MIN_SIZE bytes each: never more than the
   value could hold, so that allocating it is bounded by the file.  */
static inline size_t
pg_index_get_count (struct pg_index_cursor *c, size_t min_size)
{
  uint64_t n = pg_index_get_varint (c);
  if (c->bad || n > c->left / min_size)
    {
      c->bad = true;
      return 0;
    }
  return (size_t) n;
}

#endif
