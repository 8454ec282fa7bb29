/* patchgate: the policy database (SQLite).
 *
 * One image record is reachable from any of its digests: the image ID (config
 * digest), the manifest digest, and every repo digest.  Scans hang off the
 * image; vulnerabilities and packages hang off the scan.  Writers wrap each
 * import or policy change in one transaction, so a reader (the hook) sees the
 * old state or the new, never half.
 */
#ifndef PATCHGATE_STORE_H
#define PATCHGATE_STORE_H

#include "base/digest.h"
#include <sqlite3.h>

#define PG_DEFAULT_DB "/var/lib/patchgate/policy.db"
/* Bumped whenever the schema changes; store_open migrates older databases
   and refuses newer ones.  */
#define PG_SCHEMA_VERSION 3

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
  char *installed; /* installed version */
  char *fixed;     /* fixed version(s) as "a, b"; NULL when the scanner names none */
  enum pg_severity severity;
  char *status;            /* scanner's status word, may be NULL */
  int64_t fix_known_since; /* loaded records, findings with a fix only: earliest scan that saw one */
};

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
void pg_scan_add_vuln (struct pg_scan *scan, const struct pg_vuln *v); /* copies */
void pg_scan_add_package (struct pg_scan *scan, const char *name, const char *version);

/* An OpenVEX statement that clears a vulnerability (not_affected, fixed)
   for the images it names.  Loaded records carry no digests.  */
struct pg_vex
{
  char *vuln_id;
  char *status;
  int64_t issued;
  char **digests;
  size_t n_digests;
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
  struct pg_vex *vex; /* statements naming any of its digests */
  size_t n_vex;
};
void pg_image_record_free (struct pg_image_record *rec);
#define cleanup_image_record __attribute__ ((cleanup (pg_image_record_free)))

typedef struct pg_store pg_store;

enum
{
  PG_STORE_READONLY = 1 << 0,
  PG_STORE_CREATE = 1 << 1,
};

int store_open (const char *path, int flags, pg_store **out, pg_error_t *err);
void store_close (pg_store *store);
void cleanup_storep (pg_store **s);
#define cleanup_store __attribute__ ((cleanup (cleanup_storep)))
sqlite3 *store_db (pg_store *store);
const char *store_path (pg_store *store);

int store_begin (pg_store *store, bool write, pg_error_t *err);
int store_commit (pg_store *store, pg_error_t *err);
void store_rollback (pg_store *store);

/* Record a scan.  Returns 1 when added, 0 when the same scan (image, scanner,
   time) was already there.  Call inside a write transaction.  */
int store_add_scan (pg_store *store, const struct pg_scan *scan, int64_t now, pg_error_t *err);

/* Record a VEX statement for each digest it names; a newer statement for
   the same (digest, vulnerability) replaces an older one.  */
int store_add_vex (pg_store *store, const struct pg_vex *vex, const char *source, pg_error_t *err);

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
