/* patchgate: what the format importers share (import/scan_builder.c).  */
#ifndef PATCHGATE_SCAN_BUILDER_H
#define PATCHGATE_SCAN_BUILDER_H

#include "base/util.h"
#include "store/store.h"

/* OBJ[KEY] as a C string; NULL when absent, not a string, or empty.  */
const char *import_str (json_t *obj, const char *key);
/* V as a C string when it is a string holding no NUL byte, else NULL.  */
const char *import_str_exact (json_t *v);
/* "name@sha256:<64 hex>" with a plausible name.  */
bool import_is_repo_digest (const char *s);
/* Normalise a list of fixed versions to "a, b" (trimmed, empty ones
   dropped); NULL when nothing is left.  */
char *import_fixed_versions (const char *const *versions, size_t n);
/* Lowercase, with known scanner aliases folded.  NULL for NULL or "".  */
char *import_os_family (const char *family);

/* How a finding's versions are ordered, to name its remedy (pg_vuln.remedy):
   a value of enum pg_version_scheme for OS packages (the package manager's
   own order); IMPORT_ORDER_PLAIN for any other ecosystem, where only plain
   dotted numbers ("3.2.12", "v1.4.0") are ordered, since every ecosystem
   orders those alike; IMPORT_ORDER_NONE when nothing can be.  */
enum
{
  IMPORT_ORDER_NONE = -2,
  IMPORT_ORDER_PLAIN = -1,
};
/* The order of an OS package of FAMILY (os_family): NONE when unknown.  */
int import_order_for_os (const char *family);
/* Of all FIXED's versions ("a, b"), the smallest above INSTALLED, under
   ORDER; NULL when FIXED names fewer than two, or when one of them cannot
   be ordered against INSTALLED (naming a wrong one would mislead).  */
char *import_remedy (int order, const char *installed, const char *fixed);

/* Deduplication while a scan is being built.  */
struct import_seen
{
  json_t *vulns; /* key -> index into scan->vulns */
  json_t *pkgs;  /* key -> true */
};
void import_seen_init (struct import_seen *seen);
void import_seen_release (struct import_seen *seen);
/* Add V, or merge it into the entry for the same (id, package, installed
   version) with pg_vuln_merge, so that the order of a report's entries does
   not matter; then name its remedy under ORDER (import_remedy).  */
void import_add_vuln (struct pg_scan *scan, struct import_seen *seen, const struct pg_vuln *v, int order);
void import_add_package (struct pg_scan *scan, struct import_seen *seen, const char *name,
                         const char *version);
/* Append S to V unless it is already there.  */
void import_strv_add (char ***v, size_t *n, const char *s);

#endif
