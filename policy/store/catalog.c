/* patchgate: every image of the store, for whole-database reports.  */
#include "store/catalog.h"
#include "store/connection.h"
#include "store/read.h"

#include <string.h>

static int
load_images (pg_store *store, struct pg_catalog *c, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  int r;

  if (store_prepare (
          store,
          "SELECT i.id, coalesce(i.image_id, (SELECT min(d.digest) FROM digests d WHERE d.image = i.id "
          "AND d.kind = 'manifest'), (SELECT min(d.digest) FROM digests d WHERE d.image = i.id)), "
          "i.diff_ids, i.created, i.first_seen, "
          "coalesce((SELECT max(s.scanned_at) FROM scans s WHERE s.image = i.id), 0) "
          "FROM images i ORDER BY i.id",
          &st, err)
      < 0)
    return -1;
  while ((r = sqlite3_step (st)) == SQLITE_ROW)
    {
      struct pg_catalog_image *im;
      c->images = xrealloc (c->images, (c->n_images + 1) * sizeof (*c->images));
      im = &c->images[c->n_images++];
      memset (im, 0, sizeof (*im));
      im->rowid = sqlite3_column_int64 (st, 0);
      im->digest = store_column_strdup (st, 1);
      store_split_diff_ids ((const char *) sqlite3_column_text (st, 2), &im->diff_ids, &im->n_diff_ids);
      im->created = sqlite3_column_int64 (st, 3);
      im->first_seen = sqlite3_column_int64 (st, 4);
      im->last_scan = sqlite3_column_int64 (st, 5);
      if (im->digest == NULL)
        im->digest = xstrdup ("(no digest)");
    }
  if (r != SQLITE_DONE)
    return store_sqlite_error (err, store, "reading images");
  return 0;
}

static int
load_names (pg_store *store, struct pg_catalog *c, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  int r;

  if (store_prepare (store,
                     "SELECT image, repository, tag, first_seen FROM names ORDER BY image, repository, tag",
                     &st, err)
      < 0)
    return -1;
  while ((r = sqlite3_step (st)) == SQLITE_ROW)
    {
      struct pg_catalog_image *im
          = (struct pg_catalog_image *) pg_catalog_find (c, sqlite3_column_int64 (st, 0));
      struct pg_catalog_name *n;
      if (im == NULL)
        continue;
      im->names = xrealloc (im->names, (im->n_names + 1) * sizeof (*im->names));
      n = &im->names[im->n_names++];
      n->repository = store_column_strdup (st, 1);
      n->tag = store_column_strdup (st, 2);
      n->first_seen = sqlite3_column_int64 (st, 3);
      if (n->repository == NULL)
        n->repository = xstrdup ("");
      if (n->tag == NULL)
        n->tag = xstrdup ("");
    }
  if (r != SQLITE_DONE)
    return store_sqlite_error (err, store, "reading image names");
  return 0;
}

int
store_catalog_load (pg_store *store, struct pg_catalog *out, pg_error_t *err)
{
  memset (out, 0, sizeof (*out));
  if (load_images (store, out, err) < 0 || load_names (store, out, err) < 0)
    {
      pg_catalog_free (out);
      return -1;
    }
  return 0;
}

const struct pg_catalog_image *
pg_catalog_find (const struct pg_catalog *c, int64_t rowid)
{
  size_t lo = 0, hi = c->n_images;
  while (lo < hi)
    {
      size_t mid = lo + (hi - lo) / 2;
      if (c->images[mid].rowid == rowid)
        return &c->images[mid];
      if (c->images[mid].rowid < rowid)
        lo = mid + 1;
      else
        hi = mid;
    }
  return NULL;
}

void
pg_catalog_free (struct pg_catalog *c)
{
  for (size_t i = 0; i < c->n_images; i++)
    {
      struct pg_catalog_image *im = &c->images[i];
      free (im->digest);
      strv_free (im->diff_ids, im->n_diff_ids);
      for (size_t j = 0; j < im->n_names; j++)
        {
          free (im->names[j].repository);
          free (im->names[j].tag);
        }
      free (im->names);
    }
  free (c->images);
  memset (c, 0, sizeof (*c));
}
