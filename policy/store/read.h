/* patchgate: inside the store: what read.c shares with scan_record.c, which
 * computes a record as the store would load it, for a scan not recorded.
 * Nothing outside policy/store/ includes this.
 */
#ifndef PATCHGATE_STORE_READ_H
#define PATCHGATE_STORE_READ_H

#include "store/store.h"

char *store_column_strdup (sqlite3_stmt *st, int i);
/* The images table's DiffIDs column ("d1\nd2\n") onto *V.  */
void store_split_diff_ids (const char *text, char ***v, size_t *n);
/* The images row of IMAGE: image ID, build time, first seen, DiffIDs.  */
int store_load_identity (pg_store *store, int64_t image, struct pg_image_record *rec, pg_error_t *err);
/* The newest scan of IMAGE (of any scanner) onto REC: 1 and its *SCAN_ID,
   0 when it has none.  */
int store_load_newest_scan (pg_store *store, int64_t image, struct pg_image_record *rec, int64_t *scan_id,
                            pg_error_t *err);
/* The scans whose findings a record carries: the newest of each scanner
   (the later row on a tie), in the order of the scanners' names.  */
struct pg_scan_ref
{
  int64_t id;
  char *scanner;
  int64_t scanned_at;
};
int store_newest_scans (pg_store *store, int64_t image, struct pg_scan_ref **out, size_t *n, pg_error_t *err);
void pg_scan_refs_free (struct pg_scan_ref *v, size_t n);
/* One scan's findings and (filtered) packages onto REC, merged as loaded.  */
int store_load_scan_findings (pg_store *store, int64_t scan_id, struct pg_image_record *rec, pg_error_t *err);
/* Whether records carry the package NAME (store_set_package_filter).  */
bool store_package_wanted (pg_store *store, const char *name);
/* V's fix_known_since and fix_known_source, for a finding with a fix, from
   its fixes row: the first scan that listed a fix (FIRST_SEEN) and the
   earliest date a report gave (DATE, of KIND), 0 each when none.  */
void store_fix_known (struct pg_vuln *v, int64_t first_seen, int64_t date, const char *kind);
/* Two scanners report the same finding (vulnerability, package, installed
   version): V is merged into REC's entry as one report's duplicate entries
   are (pg_vuln_merge), so that the decision does not depend on which
   report was imported first; else appended.  Takes V's strings.  */
void store_add_loaded_vuln (struct pg_image_record *rec, struct pg_vuln *v);
/* Step ST, whose rows are (vuln_id, status, issued), onto REC's VEX
   statements.  */
int store_load_vex_rows (pg_store *store, sqlite3_stmt *st, struct pg_image_record *rec, pg_error_t *err);

/* What a newer build is (store_find_newer_build), after "FROM <me>" where
   <me> has the columns (image, repository, tag, first_seen) of the names of
   the image asked about and ?1 is its row: the oldest scanned image first
   seen under one of its tags later than it was.  */
#define PG_NEWER_BUILD_SQL_TAIL                                                                              \
  " JOIN names o ON o.repository = me.repository AND o.tag = me.tag AND o.image != me.image "                \
  "JOIN images i ON i.id = o.image "                                                                         \
  "WHERE me.image = ?1 AND me.tag != '' AND o.first_seen > me.first_seen "                                   \
  "AND EXISTS (SELECT 1 FROM scans s WHERE s.image = o.image) "                                              \
  "ORDER BY o.first_seen ASC LIMIT 1"
#define PG_NEWER_BUILD_SQL_HEAD "SELECT i.image_id, o.repository || ':' || o.tag, o.first_seen FROM "

#endif
