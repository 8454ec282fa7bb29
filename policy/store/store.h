/* patchgate: the policy database (SQLite).
 *
 * One image record is reachable from any of its digests: the image ID (config
 * digest), the manifest digest, and every repo digest.  Scans hang off the
 * image; vulnerabilities and packages hang off the scan.
 *
 * The live database is changed in place, by SQLite's own transactions, in
 * WAL mode.  Every writer (import, policy set, prune, activate) takes the
 * writer lock (base/writer_lock.h), so that writers take turns, and makes
 * its whole change in one transaction (store_edit_begin/commit: BEGIN
 * IMMEDIATE ... COMMIT); the decision index beside the database is
 * compiled after the commit under the same lock.  A writer killed at any
 * moment leaves at most an uncommitted tail in the WAL, which SQLite
 * ignores: the database is what was committed, and nothing is left to
 * recover by hand.  Readers (the CLI's; the hook never opens the database,
 * it decides from the index) open it read-only with SQLite's normal
 * locking and a busy timeout (PG_STORE_READONLY): in WAL mode a reader
 * never blocks a writer, nor a writer a reader.
 *
 * The index records the database file's identity (stat: device, inode,
 * size, mtime) and the hook refuses an index older than a change of it
 * (index/index.h).  In WAL mode a commit need not write the main file, so
 * every writer sets the file's mtime itself just before its COMMIT and
 * again after its last write to the file (store_edit_commit): the identity
 * changes with every change, only under the writer lock, and a writer
 * killed after its COMMIT leaves an index that reads as stale, never one
 * that reads as current without the change.  Nothing but patchgate may
 * write the live file.
 */
#ifndef PATCHGATE_STORE_H
#define PATCHGATE_STORE_H

#include "base/digest.h"
#include "base/writer_lock.h"
#include <sqlite3.h>

#define PG_DEFAULT_DB "/var/lib/patchgate/policy.db"
/* Bumped whenever the schema changes; store_open migrates older databases
   and refuses newer ones.  */
#define PG_SCHEMA_VERSION 5
/* How long a reader waits for a lock of the database (in WAL mode only
   while a connection recovers the WAL, or a writer turns a database of an
   older patchgate to WAL).  */
#define PG_STORE_BUSY_MS (60 * 1000)

enum pg_severity
{
  PG_SEV_UNKNOWN = 0,
  PG_SEV_NEGLIGIBLE,
  PG_SEV_LOW,
  PG_SEV_MEDIUM,
  PG_SEV_HIGH,
  PG_SEV_CRITICAL,
  PG_SEV_COUNT
};
const char *severity_name (enum pg_severity s);
/* Case-insensitive; "Negligible", "HIGH", ... unknown words map to UNKNOWN. */
enum pg_severity severity_parse (const char *s);

struct pg_vuln
{
  char *id;        /* CVE-..., GHSA-..., ... */
  char *pkg;       /* package name */
  char *purl;      /* the scanner's package URL (Trivy PkgIdentifier.PURL, Grype artifact.purl), or NULL */
  char *installed; /* installed version */
  char *fixed;     /* fixed version(s) as "a, b"; NULL when the scanner names none */
  /* When FIXED names several (one per release branch: "3.2.12, 4.0.10"),
     the one a rebuild needs: the smallest above INSTALLED.  NULL when FIXED
     names one, or when its versions cannot be ordered.  */
  char *remedy;
  enum pg_severity severity;
  char *status; /* scanner's status word, may be NULL */
  /* The report's own date for when the fix became known (Grype's
     fix.available[].date, the earliest), 0: none; and how that date was
     obtained (Grype's kind: "advisory", "first-observed", ...), or NULL.  */
  int64_t fix_date;
  char *fix_date_kind;
  /* Loaded records, findings with a fix only: when the fix became known,
     the earliest of any report's fix_date and the first imported scan that
     listed a fix (for this vulnerability in this package), and which of
     the two that was, as words for a reason's detail.  */
  int64_t fix_known_since;
  char *fix_known_source;
};

/* Whether STATUS, a scanner's status word, says that a named fixed version
   is no fix for this image (will_not_fix, wont-fix, not-fixed,
   fix_deferred, not_affected, end_of_life, ...).  */
bool pg_fix_status_blocks (const char *status);
/* Whether V counts as fixable: a fixed version under a status that does
   not block it.  */
bool pg_vuln_fixable (const struct pg_vuln *v);
/* Merge FROM into INTO, two entries for one finding (vulnerability,
   package, installed version), such that the result does not depend on
   their order: the higher severity; fixable when either is, with the fixed
   versions of the fixable entries merged (the union, sorted); the earliest
   fix date and fix_known_since.  INTO's remedy is dropped when FROM's
   differs (the caller that can order versions computes it again).  */
void pg_vuln_merge (struct pg_vuln *into, const struct pg_vuln *from);
/* Free the strings of V (not V itself).  */
void pg_vuln_clear (struct pg_vuln *v);
/* The union of two fixed-version lists ("a, b"), each version once, in
   strcmp order; NULL when both are.  */
char *pg_fixed_union (const char *a, const char *b);

struct pg_package
{
  char *name;
  char *version;
};

/* One scan report, as the importers produce it and the store records it.  */
struct pg_scan
{
  char *scanner;         /* "trivy", "grype" */
  char *scanner_version; /* may be NULL */
  int64_t scanned_at;
  char *image_id;        /* config digest "sha256:..." or NULL */
  char *manifest_digest; /* may be NULL */
  char **repo_digests;   /* "repository@sha256:..." */
  size_t n_repo_digests;
  char **repo_tags; /* "repository:tag" */
  size_t n_repo_tags;
  int64_t created; /* image build time; 0 when unknown */
  char *os_family; /* "debian", "alpine", "rocky", ... lowercase */
  char *os_name;   /* release, "12.11" */
  bool eosl;       /* scanner says the OS is past end of life */
  char **diff_ids;
  size_t n_diff_ids;
  struct pg_vuln *vulns;
  size_t n_vulns;
  struct pg_package *packages;
  size_t n_packages;
  char *source; /* where the report came from, for messages */
};
void pg_scan_free (struct pg_scan *scan);
/* The digests that name SCAN's image, as the store records them: its image
   ID, manifest digest and the digests of its repo digests, with their kind
   ("image_id", "manifest", "repo"); at most MAX.  Pointers into SCAN.  */
struct pg_scan_digest
{
  const char *digest;
  const char *kind;
};
size_t pg_scan_digests (const struct pg_scan *scan, struct pg_scan_digest *out, size_t max);
void pg_scan_add_vuln (struct pg_scan *scan, const struct pg_vuln *v); /* copies */
void pg_scan_add_package (struct pg_scan *scan, const char *name, const char *version);

/* One OpenVEX statement about one product, as the importer produces it,
   the store keeps it and evaluation reads it (rules/vex.c): a statement
   naming two products is two of these.  Every status is kept: a later
   `affected` or `under_investigation` withdraws an earlier `not_affected`
   or `fixed`.  */
struct pg_vex
{
  char *vuln_id;  /* the statement's name for the vulnerability (its name, else its @id) */
  char **aliases; /* every name it answers to: name, @id (and an IRI's last segment), aliases */
  size_t n_aliases;
  char *status;        /* not_affected, fixed, affected, under_investigation */
  char *justification; /* may be NULL */
  int64_t issued;      /* the statement's timestamp, else its document's */
  /* The product: an image digest ("sha256:..."), or, when it names none, a
     repository (normalised as image names are) and maybe a tag.  */
  char *digest;
  char *repository;
  char *tag;
  /* The packages it is restricted to, as written (purls, or ids that are
     not, which match nothing); none: the whole image.  */
  char **subcomponents;
  size_t n_subcomponents;
  char *source;   /* the file it was imported from */
  char *document; /* the document's @id, may be NULL */
  size_t index;   /* its place in the document's statements */
};
void pg_vex_clear (struct pg_vex *v);
void pg_vex_free (struct pg_vex *v, size_t n);

/* What the evaluator needs to know of one image: its identity, and its
   newest scan.  */
struct pg_image_record
{
  int64_t rowid;
  char *image_id;
  char *manifest_digest;
  char **digests; /* every digest that names it: image ID, manifest and repo digests */
  size_t n_digests;
  char **repositories; /* repository names it was scanned under */
  size_t n_repositories;
  char **repo_tags; /* "repository:tag" */
  size_t n_repo_tags;
  int64_t created;
  int64_t first_seen;
  char **diff_ids;
  size_t n_diff_ids;
  bool has_scan;
  int64_t scanned_at;
  char *scanner;
  char *os_family;
  char *os_name;
  bool eosl;
  struct pg_vuln *vulns;
  size_t n_vulns;
  struct pg_package *packages;
  size_t n_packages;
  /* OpenVEX statements whose product is one of its digests, or one of the
     repositories it was scanned under (rules/vex.c decides which count).  */
  struct pg_vex *vex;
  size_t n_vex;
  /* Only in a record made from a scan not recorded (store_record_from_scan):
     when the image was first seen under each of repo_tags, for the newer
     build lookup; NULL in a loaded record, whose names are in the store.  */
  int64_t *repo_tag_first_seen;
};
void pg_image_record_free (struct pg_image_record *rec);
#define cleanup_image_record __attribute__ ((cleanup (pg_image_record_free)))

typedef struct pg_store pg_store;

enum
{
  /* Read-only, with SQLite's normal locking and a busy timeout of
     PG_STORE_BUSY_MS: how every reader opens the live database.  Never
     writes it (nor migrates it: an older schema is an error).  */
  PG_STORE_READONLY = 1 << 0,
  /* Read-write, created when missing: a database of the caller's own that
     no one else uses (a bundle's payload before it is copied in, tests);
     the live database is changed through store_edit_begin.  */
  PG_STORE_CREATE = 1 << 1,
  /* With PG_STORE_READONLY: an older schema is no error (a reader that
     snapshots the database, whose snapshot is then migrated).  */
  PG_STORE_OLDER_OK = 1 << 2,
};

/* Flags 0: read-write, as PG_STORE_CREATE but never creating.  */
int store_open (const char *path, int flags, pg_store **out, pg_error_t *err);
/* The same, naming the database NAME in messages.  */
int store_open_named (const char *path, const char *name, int flags, pg_store **out, pg_error_t *err);
/* A raw read-only connection to PATH as PG_STORE_READONLY opens it.  */
int store_sqlite_open_readonly (const char *path, sqlite3 **db, pg_error_t *err);

/* One change to the live database at PATH, in place (see above).
   store_edit_begin takes the writer lock (waiting for another writer),
   creates the database when missing (0600; its directory 0700) or gives
   an existing one back to root when root writes it (never group or world
   write: base/writer_lock.h), opens it in WAL mode and begins the
   change's transaction (BEGIN IMMEDIATE), migrating an older schema in it.
   The caller changes E->store as any store: its store_begin, store_commit
   and store_rollback are savepoints inside that transaction, so that
   with --keep-going a failed report rolls back alone.  store_edit_commit
   commits (marking the file changed around the commit, above), runs the
   VACUUM store_prune asked for, checkpoints the WAL into the file and
   closes the connection; the lock is held until store_edit_end, so that
   the caller compiles the index under it.  Without store_edit_commit, or
   on any error, nothing of the change is in the database.  */
struct pg_store_edit
{
  char *path;
  int lock_fd;     /* holds the writer lock */
  pg_store *store; /* the live database, inside the change's transaction */
  /* After store_edit_commit: the file's size when it ran a VACUUM
     (store_prune's reclaim), else 0.  */
  int64_t bytes_after;
  bool created; /* the file did not exist: removed again unless committed */
  bool committed;
};
#define PG_STORE_EDIT_INIT                                                                                   \
  {                                                                                                          \
    .path = NULL, .lock_fd = -1, .store = NULL, .bytes_after = 0, .created = false, .committed = false       \
  }
int store_edit_begin (const char *path, struct pg_store_edit *e, pg_error_t *err);
int store_edit_commit (struct pg_store_edit *e, pg_error_t *err);
/* Roll back whatever was not committed, close, release the lock.  Safe on
   PG_STORE_EDIT_INIT and after a failed store_edit_begin.  */
void store_edit_end (struct pg_store_edit *e);
#define cleanup_store_edit __attribute__ ((cleanup (store_edit_end)))

/* Only the first half of store_edit_begin: the writer lock, killed
   writers' temp files swept, the file created or its owner and mode
   settled; no connection.  For whatever must run under the lock (the
   index's compile by hand).  */
int store_edit_lock (const char *path, struct pg_store_edit *e, pg_error_t *err);

void store_close (pg_store *store);
void cleanup_storep (pg_store **s);
#define cleanup_store __attribute__ ((cleanup (cleanup_storep)))
sqlite3 *store_db (pg_store *store);
const char *store_path (pg_store *store);

/* A transaction (WRITE: BEGIN IMMEDIATE, else a read transaction, one
   snapshot), committed or rolled back; on a writer's store
   (store_edit_begin) a savepoint inside its transaction, released or
   rolled back to.  store_rollback does nothing when none is open.  */
int store_begin (pg_store *store, bool write, pg_error_t *err);
int store_commit (pg_store *store, pg_error_t *err);
void store_rollback (pg_store *store);

/* Record a scan.  Returns 1 when added, 0 when the same scan (image, scanner,
   time) was already there.  Call inside a write transaction.  */
int store_add_scan (pg_store *store, const struct pg_scan *scan, int64_t now, pg_error_t *err);
/* The same, and *IMAGE (may be NULL) gets the image's row, for counting
   the distinct images an import touched.  */
int store_add_scan_image (pg_store *store, const struct pg_scan *scan, int64_t now, int64_t *image,
                          pg_error_t *err);

/* Record an OpenVEX statement about one product.  Every statement is kept
   (evaluation picks the latest that applies to each finding); the same
   statement imported twice is kept once.  Returns 1 when added, 0 when it
   was there.  */
int store_add_vex (pg_store *store, const struct pg_vex *vex, pg_error_t *err);

/* Find an image by digest ("sha256:..." image ID, manifest or repo digest,
   or a bare 64-hex image ID).  Returns 1 and fills *rec when found, 0 when
   unknown.  */
int store_lookup_digest (pg_store *store, const char *digest, struct pg_image_record *rec, pg_error_t *err);
/* The database row of the image that DIGEST names (image ID, manifest or
   repo digest): 1 and *ROWID, or 0 when unknown.  */
int store_find_image_rowid (pg_store *store, const char *digest, int64_t *rowid, pg_error_t *err);
/* The record of the image in row ROWID (store_list_images), as
   store_lookup_digest loads it.  */
int store_load_image (pg_store *store, int64_t rowid, struct pg_image_record *rec, pg_error_t *err);
/* Every image's row, ascending.  */
int store_list_images (pg_store *store, int64_t **rowids, size_t *n, pg_error_t *err);
/* The rows of the other images that carry one of ROWID's repository:tag
   names (whose newer builds it may be, or be one of).  */
int store_images_sharing_names (pg_store *store, int64_t rowid, int64_t **rowids, size_t *n, pg_error_t *err);
/* What changed since entry SEQ of the change log (schema version 3: the
   triggers of store.c write it, whoever the writer is): the images whose
   records changed (sorted, once each), or ALL when a change concerns every
   image (the policy, a fix known earlier than recorded, a deletion).
   LAST is the log's newest entry.  */
struct pg_store_changes
{
  int64_t last;
  bool all;
  int64_t *images;
  size_t n_images;
};
int store_changes_since (pg_store *store, int64_t seq, struct pg_store_changes *out, pg_error_t *err);

/* Every digest that names the image in row ROWID (image ID, manifest and
   repo digests), sorted.  */
int store_image_digests (pg_store *store, int64_t rowid, char ***digests, size_t *n, pg_error_t *err);
/* The same lookup for only the image's layer DiffIDs (what a revoked base
   contributes), without its names, scans and findings.  */
int store_lookup_diff_ids (pg_store *store, const char *digest, char ***diff_ids, size_t *n_diff_ids,
                           pg_error_t *err);
/* Records looked up from now on carry only the packages named in NAMES[0..N)
   (N may be 0: none); NAMES NULL: all of them (the default).  decide_image
   sets the policy's floor packages, the only ones evaluation reads.  */
void store_set_package_filter (pg_store *store, const char *const *names, size_t n);
/* Find the newest-scanned image carrying REPOSITORY:TAG.  */
int store_lookup_name (pg_store *store, const char *repository, const char *tag, struct pg_image_record *rec,
                       pg_error_t *err);

/* A newer scanned build of one of REC's repository:tag names, if any.
   Returns 1 and fills *digest (the newer image's ID) and *since (when that
   newer build was first seen).  */
int store_find_newer_build (pg_store *store, const struct pg_image_record *rec, char **digest, char **name,
                            int64_t *since, pg_error_t *err);

/* The record store_lookup_digest would load for SCAN's image right after
   store_add_scan (SCAN, NOW) recorded it, computed without writing: the
   image's stored identity and names merged with the scan's as the import
   merges them (first seen the earliest of the stored time, the scan's and
   NOW; a new name first seen at the scan's time); the newest scan and the
   findings of each scanner's newest scan, SCAN among them where it would be
   the newest of its scanner; each fix known since its stored fixes row with
   SCAN's entries folded in; the VEX statements naming any of its digests.
   A scan the store has already (image, scanner, time) adds nothing but its
   names, as on import.  REC->rowid is the stored image's row, 0 when the
   store does not know it.  Fails as the import would when the scan names no
   digest or digests of two stored images.  */
int store_record_from_scan (pg_store *store, const struct pg_scan *scan, int64_t now,
                            struct pg_image_record *rec, pg_error_t *err);

/* Retention (store/prune.c).  What decisions and their explanations read
   is never pruned: for each image, the newest scan of each scanner (its
   findings and packages), and the images, digests, names (with when each
   was first seen), fixes (when each fix was first known), VEX statements,
   the policy and meta.  Every other scan scanned before KEEP_SINCE goes,
   with its findings and packages.  Call inside a write transaction (of a
   writer: store_edit_begin).  */
struct pg_prune_stats
{
  int64_t scans;    /* scans removed */
  int64_t vulns;    /* their findings */
  int64_t packages; /* their packages */
  /* store_prune: the file's size before and after, and whether it was
     rewritten (VACUUM).  */
  int64_t bytes_before;
  int64_t bytes_after;
  bool vacuumed;
};
int store_prune_scans (pg_store *store, int64_t keep_since, struct pg_prune_stats *st, pg_error_t *err);
/* store_prune_scans in a write transaction of its own (a savepoint of a
   writer's change), then the space given back (VACUUM) when ALWAYS_VACUUM,
   or when over a quarter of the file is free pages (SQLite reuses free
   pages, so after a daily import and prune the file stays near its size
   without rewriting it every time).  On a writer's store (store_edit_begin)
   the VACUUM runs in store_edit_commit, after the commit (VACUUM cannot
   run inside a transaction): ST->vacuumed says it will, and the caller
   takes ST->bytes_after from the edit's bytes_after once committed.  On
   any other read-write store it runs here, outside any transaction.  */
int store_prune (pg_store *store, int64_t keep_since, bool always_vacuum, struct pg_prune_stats *st,
                 pg_error_t *err);
/* Pages of the database file, and how many of them are free.  */
int store_page_counts (pg_store *store, int64_t *pages, int64_t *free_pages, pg_error_t *err);
/* The database's size in bytes (pages times the page size).  */
int store_file_bytes (pg_store *store, int64_t *bytes, pg_error_t *err);
/* Rewrite the database without its free pages (SQLite's VACUUM), outside
   any transaction.  */
int store_vacuum (pg_store *store, pg_error_t *err);

/* Policy body (JSON text as the admin wrote it, validated).  Returns 0 and
 *json = NULL when no policy has been set.  */
int store_get_policy (pg_store *store, char **json, char **version, int64_t *set_at, pg_error_t *err);
int store_set_policy (pg_store *store, const char *json, const char *version, int64_t now, pg_error_t *err);

struct pg_store_status
{
  int64_t images;
  int64_t scans;
  int64_t vulns;
  int64_t newest_scan;
  int64_t last_import;
  int schema_version;
};
int store_status (pg_store *store, struct pg_store_status *st, pg_error_t *err);

#endif
