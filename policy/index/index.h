/* patchgate: the decision index, the compiled form of the policy and the
 * database: one read-only file that the hook reads instead of opening
 * SQLite and parsing the policy.
 *
 * For every digest of every image (image ID, manifest, repo digests) it
 * holds what eval_image reads of that image, pre-filtered by what the
 * policy can look at, and the policy itself in its flat record.  The
 * decision is eval_image's, run over what the index holds: index_decide
 * decides exactly as decide_image does over the database it was compiled
 * from (tests/unit/test_index.c checks it, case by case and at random).
 *
 * Writers (patchgate import, policy set, activate) recompile it after each
 * change they commit: a temp file beside it, fsync, rename, fsync of the
 * directory, so a reader sees the old index or the new one.  The file
 * records the database file it was compiled from; a reader refuses an index
 * that is missing, cut short, of another format or build, or stale: older
 * than a change of the database made more than max_lag ago.  An index
 * activated from a signed bundle came from no local database: the trailer
 * says so, with the bundle's serial and signature, and writers refuse to
 * compile a local database over it.
 */
#ifndef PATCHGATE_INDEX_H
#define PATCHGATE_INDEX_H

#include "rules/eval.h"

#define PG_DEFAULT_INDEX "/var/lib/patchgate/policy.idx"
/* How long after the database changed an index compiled before the change
   is still used: the writer's recompile is under way (hook config key
   `index_max_lag`).  */
#define PG_INDEX_DEFAULT_MAX_LAG 600

/* The index beside database DB: "X.db" -> "X.idx", else DB + ".idx".  */
char *index_path_for_db (const char *db);

/* ---- compiling (compile.c) ---- */

struct pg_index_stats
{
  bool incremental;  /* only the changed images were compiled */
  uint64_t images;   /* images in the index */
  uint64_t compiled; /* records compiled from the database */
  uint64_t copied;   /* records copied from the previous index */
  uint64_t keys;     /* digests */
  uint64_t bytes;    /* file size */
};

/* Compile the database STORE (open, no transaction in progress) with its
   policy into INDEX_PATH, every image.  NOW is the compile time recorded in
   the file.  STATS may be NULL.  */
int index_compile (pg_store *store, const char *index_path, int64_t now, struct pg_index_stats *stats,
                   pg_error_t *err);

/* The one step every writer of the database runs after it committed a
   change (import, policy set, activate): bring the index at INDEX_PATH up
   to the database at DB_PATH.  */
int index_refresh (const char *db_path, const char *index_path, int64_t now, struct pg_index_stats *stats,
                   pg_error_t *err);

/* ---- indexes that travel in signed bundles (bundle/bundle.h) ---- */

#define PG_INDEX_ORIGIN_DATABASE 0
#define PG_INDEX_ORIGIN_BUNDLE 1

/* Compile STORE into INDEX_PATH, every image, for a bundle: its globals
   carry the bundle's SERIAL and CREATED (POLICY_STALE counts from there),
   the trailer says it came from a bundle and names no database (the
   building host's means nothing on the hosts).  *POLICY_VERSION (the
   caller frees) gets the policy's version; a database without a policy is
   refused.  */
int index_compile_bundle (pg_store *store, const char *index_path, int64_t now, int64_t serial,
                          int64_t created, char **policy_version, struct pg_index_stats *stats,
                          pg_error_t *err);

/* Stamp the bundle index at PATH (not yet renamed into place) with the
   activation: when, and the SHA-256 of the signature it was verified with
   (what sync compares); fsynced.  Refuses a file that is not a bundle index
   of this format.  */
int index_stamp_bundle (const char *path, int64_t activated_at, const unsigned char sig_sha256[32],
                        pg_error_t *err);

/* What the active index at PATH says of where it came from, read from its
   trailer alone (any build of this format): for the serial a bundle must
   beat and for `patchgate status`, also where the index could not be used
   by this build.  */
struct pg_index_origin
{
  bool exists;   /* a file is there */
  bool readable; /* its trailer reads as this format's */
  bool from_bundle;
  int64_t bundle_serial;
  int64_t bundle_created;
  int64_t bundle_activated_at;
  char bundle_sig_sha256[65]; /* hex; "" when not from a bundle */
  uint64_t images;
};
int index_read_origin (const char *path, struct pg_index_origin *o, pg_error_t *err);

/* One writer of the index file at a time (compile, activate): an flock on
   "<index_path>.lock", waited for.  *FD is the caller's to close.  */
int index_lock (const char *index_path, int *fd, pg_error_t *err);

/* The format this build writes and reads (the manifest of a bundle names
   it), and the build fingerprint as 16 hex digits.  */
unsigned index_format_version (void);
void index_build_id (char out[17]);

/* The writer index_compile uses, for any source of records (the unit tests
   feed it the eval suite's): start with the policy (NULL: none is set) and
   GLOBALS (the revoked bases the database knows, the bundle's time and
   serial), add each image under every digest that names it with its newer
   build (NEWER's newer_* fields, or NULL), and finish: the trailer records
   DB (the database file's stat; NULL: none) and NOW, then fsync and rename.
   The policy and GLOBALS must outlive the writer.  abort drops the file.  */
typedef struct pg_index_writer pg_index_writer;
int index_writer_start (const char *index_path, const struct pg_policy *policy,
                        const struct pg_eval_facts *globals, pg_index_writer **out, pg_error_t *err);
int index_writer_add_image (pg_index_writer *w, const struct pg_image_record *rec,
                            const struct pg_eval_facts *newer, char *const *digests, size_t n_digests,
                            pg_error_t *err);
struct stat;
int index_writer_finish (pg_index_writer *w, const struct stat *db, int64_t now, struct pg_index_stats *stats,
                         pg_error_t *err);
/* The change log the records come from (the trailer's lineage and last
   change), for the next incremental compile; none by default.  */
void index_writer_set_origin (pg_index_writer *w, const char *lineage, int64_t change_seq);
void index_writer_abort (pg_index_writer *w);

/* ---- reading (lookup.c) ---- */

typedef struct pg_index pg_index;

struct pg_index_open_opts
{
  /* The database the index must have been compiled from, checked by its
     file identity (stat): NULL skips the check.  */
  const char *db_path;
  /* Seconds an index older than a change of the database is still used;
     <= 0: PG_INDEX_DEFAULT_MAX_LAG.  */
  int64_t max_lag;
  /* The wall clock for that check; 0: the system's.  */
  int64_t wall_now;
};

struct pg_index_info
{
  int64_t compiled_at;
  char lineage[40];   /* the database's change log it was compiled from ("": none) */
  int64_t change_seq; /* the last change of that log it includes */
  uint64_t images;
  uint64_t keys;
  uint64_t size;
  bool db_matches; /* the database is the one it was compiled from */
  int64_t db_changed_at;
  /* Activated from a signed bundle: no database to hold it against.  */
  bool from_bundle;
  int64_t bundle_serial;
  int64_t bundle_created;
  int64_t bundle_activated_at;
};

int index_open (const char *path, const struct pg_index_open_opts *opts, pg_index **out, pg_error_t *err);
void index_close (pg_index *idx);
void cleanup_indexp (pg_index **idx);
#define cleanup_index __attribute__ ((cleanup (cleanup_indexp)))
const char *index_path (const pg_index *idx);
void index_get_info (const pg_index *idx, struct pg_index_info *info);
/* The version of the policy the index holds (a pointer into the index's head):
   NULL and an error when it holds none or a damaged one.  */
const char *index_policy_version (pg_index *idx, pg_error_t *err);

/* Every key and value of the file, in file order (writer.c copies the
   records of unchanged images from the previous index).  */
typedef int (*pg_index_entry_fn) (const unsigned char *key, size_t klen, const unsigned char *val,
                                  size_t vlen, uint64_t val_pos, void *data, pg_error_t *err);
int index_foreach (pg_index *idx, pg_index_entry_fn fn, void *data, pg_error_t *err);

/* Every image of the index once (its record, not its aliases), in file
   order, as index_decide reads it: the digest its record is stored under
   (the first it was added with; index_compile's: the smallest of the
   image's digests), the record (names filtered as index/record.c says:
   every repository, the first repository:tag), the facts beside it (its
   newer build, the bundle's time) and the policy as it concerns the image
   (every scope; the waivers, floors, end-of-life entries and revoked
   digests that can name it).  Strings point into the mapping; the arrays
   are freed after FN returns.  An index without a policy is an error, as
   for index_decide.  */
struct pg_index_image
{
  const char *digest;
  const struct pg_image_record *rec;
  const struct pg_eval_facts *facts;
  const struct pg_policy *policy;
};
typedef int (*pg_index_image_fn) (const struct pg_index_image *image, void *data, pg_error_t *err);
int index_foreach_image (pg_index *idx, pg_index_image_fn fn, void *data, pg_error_t *err);

/* The decision for CTX at NOW: decide_image's, from the index alone.  */
int index_decide (pg_index *idx, const struct pg_context *ctx, int64_t now, struct pg_decision *out,
                  pg_error_t *err);

#endif
