/* patchgate: every image the store knows, with its names and when it was
 * last scanned: what reports over the whole database read (lineage/).
 */
#ifndef PATCHGATE_CATALOG_H
#define PATCHGATE_CATALOG_H

#include "store/store.h"

struct pg_catalog_name
{
  char *repository;
  char *tag; /* "" for the name a repo digest gives */
  int64_t first_seen;
};

struct pg_catalog_image
{
  int64_t rowid;
  char *digest; /* its image ID; else its manifest digest; else its smallest digest */
  char **diff_ids;
  size_t n_diff_ids;
  int64_t created;
  int64_t first_seen;
  int64_t last_scan;             /* its newest scan, 0: never scanned */
  struct pg_catalog_name *names; /* by repository, then tag */
  size_t n_names;
};

struct pg_catalog
{
  struct pg_catalog_image *images; /* by row */
  size_t n_images;
};

/* Read every image.  Call inside a read transaction.  */
int store_catalog_load (pg_store *store, struct pg_catalog *out, pg_error_t *err);
void pg_catalog_free (struct pg_catalog *c);
#define cleanup_catalog __attribute__ ((cleanup (pg_catalog_free)))
/* The image of row ROWID, or NULL.  */
const struct pg_catalog_image *pg_catalog_find (const struct pg_catalog *c, int64_t rowid);

#endif
