/* patchgate: importing scanner reports (Trivy, Grype) into the policy store.
 *
 * A report is recognised by its content, never by its file name.  Each
 * importer turns one parsed report into a struct pg_scan; import_run reads
 * files, directory trees and stdin and records every scan, in one write
 * transaction (a failed import leaves the database as it was) or, keeping
 * going, one per report.
 *
 * Conventions shared by both importers, which the evaluator relies on:
 * - pg_vuln.fixed is NULL unless the scanner names a fixed version.  When it
 *   names several (Trivy "1.2-3, 1.2-4"; Grype fix.versions), they are kept
 *   as one string normalised to "a, b": any one of them fixes the finding.
 * - pg_vuln.status is the scanner's own word ("fixed", "will_not_fix",
 *   "wont-fix", ...) or NULL.
 * - os_family uses the names version_scheme_for_distro knows: lowercase,
 *   with scanner aliases folded ("redhat" -> "rhel", "rockylinux" -> "rocky").
 * - packages are the OS packages only (deb, rpm, apk): they feed the
 *   per-distro minimum versions, which a language package would only confuse.
 * - vulnerabilities are deduplicated on (id, package, installed version).
 *   Duplicates (Grype lists a finding once per matcher; reports may list
 *   one twice with different data) merge by a rule that does not depend on
 *   their order in the report (pg_vuln_merge): the highest severity;
 *   fixable when any entry names a fixed version under a status that does
 *   not block it, with the fixed versions of the fixable entries merged
 *   (sorted, each once) and their status; otherwise a blocking status wins
 *   over one that does not block, so a version named under will_not_fix
 *   stays no fix; the earliest fix date.  The store merges two scanners'
 *   entries for one finding by the same rule when it loads a record.
 * - pg_vuln.remedy: when the fixed versions are several (one per release
 *   branch: "3.2.12, 4.0.10"), the smallest above the installed version, in
 *   the package manager's order for OS packages (dpkg, rpm, apk) and in
 *   numeric order for other ecosystems when both versions are plain dotted
 *   numbers (a leading "v" and "+build" metadata aside); NULL when any of
 *   them cannot be ordered, so that a remedy is never a guess.
 * - pg_vuln.fix_date: Grype's fix.available[].date (newer Grype, DB schema
 *   v6), the earliest of them, with its kind ("advisory", "first-observed",
 *   "release", ...); only for a finding with a fix.  Trivy gives none.
 */
#ifndef PATCHGATE_IMPORT_H
#define PATCHGATE_IMPORT_H

#include "base/util.h"
#include "store/store.h"

struct import_stats
{
  size_t reports;       /* reports recorded */
  size_t images;        /* distinct images their scans are of */
  size_t scans_added;   /* store_add_scan returned 1 */
  size_t scans_present; /* the same scan was already recorded */
  size_t vulns;         /* findings in the scans added */
  size_t vex;           /* OpenVEX statements read that name an image */
  size_t vex_images;    /* distinct products (image digests, repositories) they name */
  size_t vex_skipped;   /* OpenVEX statements skipped: they name no image */
  size_t failed;        /* reports that failed (keep_going) */
  size_t skipped;       /* entries of directories not read (symlinks, ...) */
};

/* Detect the format of DOC and convert it.  SOURCE names the report in
   messages ("nginx.json", "stdin report 2") and is copied into OUT->source.
   *OUT must be zeroed; on failure it is left zeroed.  */
int import_parse_report (json_t *doc, const char *source, struct pg_scan *out, pg_error_t *err);

/* Where reports come from (PATHS, in the order given):
   - FILE: one report;
   - DIR: every *.json regular file in DIR and its subfolders (reports are
     commonly kept one folder per image, <image>/trivy-results.json), depth
     first, each folder in bytewise name order, so that every run over the
     same tree reads the same order.  Names starting with "." are left out.
     Symlinks below DIR are never followed, whether they point inside DIR
     or out of it (a link must not lead a nightly import of a shared folder
     elsewhere; a target inside DIR is read where it is): each is listed in
     import_result.skipped, as is a *.json that is not a regular file.
     Files are opened one component at a time with O_NOFOLLOW, so a link
     swapped in after the walk is refused too.  DIR itself may be a link.
   - "-": a stream of concatenated reports on stdin.  */

/* A report that failed (keep_going), or a directory entry not read.  */
struct import_problem
{
  char *source; /* the report's path, "stdin report 3", ... */
  char *reason;
};

/* After each report, recorded or failed.  TOTAL is 0 when unknown (a
   stream on stdin is counted as it is read).  */
struct import_progress
{
  size_t done;
  size_t total;
  size_t failed;
  const char *source;
};
typedef void (*import_progress_cb) (const struct import_progress *p, void *data);

struct import_opts
{
  /* false: every report in one write transaction: if one fails, none is
     recorded and the error names it.  true: each report in a transaction
     of its own; a report that fails is listed in import_result.failures
     and the others are recorded.  */
  bool keep_going;
  import_progress_cb progress; /* may be NULL */
  void *progress_data;
};

struct import_result
{
  struct import_stats stats;
  struct import_problem *failures;
  size_t n_failures;
  struct import_problem *skipped;
  size_t n_skipped;
};
void import_result_free (struct import_result *r);

/* Import PATHS under O.  Returns -1 on an error that stops the run (any
   failed report without keep_going: nothing is recorded; the store, with
   it); 0 otherwise, with RES->n_failures telling whether some reports
   failed.  RES is filled either way (skipped entries even on -1) and
   released with import_result_free.  */
int import_run (pg_store *store, char **paths, size_t n, int64_t now, const struct import_opts *o,
                struct import_result *res, pg_error_t *err);

/* import_run in one transaction, without progress.  STATS may be NULL.  */
int import_paths (pg_store *store, char **paths, size_t n, int64_t now, struct import_stats *stats,
                  pg_error_t *err);

/* Called for each report import_foreach_report reads; DOC is borrowed.  */
typedef int (*import_report_cb) (json_t *doc, const char *source, void *data, pg_error_t *err);

/* The reading half of import_paths, without the store: calls CB for every
   report in PATHS, in order, and stops at the first error.  */
int import_foreach_report (char **paths, size_t n, import_report_cb cb, void *data, pg_error_t *err);

/* Parse the JSON text in BUF[0..LEN) with patchgate's bounds.  With STREAM,
   stop after the first value and store the bytes used in *USED; otherwise
   the whole buffer must be one value.  Unlike pg_json_parse, strings may
   hold NUL bytes (Grype copies versions out of binaries verbatim); the
   importers read them as C strings, and refuse them where identity is at
   stake.  */
int import_parse_json (const char *buf, size_t len, const char *name, bool stream, json_t **out, size_t *used,
                       pg_error_t *err);

/* The formats (import/trivy.c, import/grype.c, import/openvex.c).  */
int import_trivy (json_t *doc, struct pg_scan *out, pg_error_t *err);
int import_grype (json_t *doc, struct pg_scan *out, pg_error_t *err);

/* OpenVEX: a document's statements, one record per (statement, product
   naming an image); every status is kept.  */
struct import_vex
{
  struct pg_vex *records;
  size_t n_records;
  size_t statements;         /* statements that gave records */
  size_t skipped_no_product; /* statements naming no image (no products, or packages only) */
};
bool import_is_openvex (json_t *doc);
/* A document whose statements cannot all be read (no vulnerability, an
   unknown status, no timestamp of its own nor the document's, a malformed
   value) fails as a whole; a statement that names no image is skipped and
   counted.  *OUT is filled either way, empty on failure.  */
int import_openvex (json_t *doc, const char *source, struct import_vex *out, pg_error_t *err);
void import_vex_clear (struct import_vex *v);

#endif
