/* patchgate: the image hierarchy from layer DiffIDs (lineage.h).  */
#include "lineage/lineage.h"

#include <string.h>

bool
lineage_starts_with (const struct pg_catalog_image *image, const struct pg_catalog_image *base)
{
  if (base->n_diff_ids == 0 || base->n_diff_ids > image->n_diff_ids)
    return false;
  for (size_t i = 0; i < base->n_diff_ids; i++)
    if (strcmp (base->diff_ids[i], image->diff_ids[i]) != 0)
      return false;
  return true;
}

static char *
join_diff_ids (const struct pg_catalog_image *im, size_t *len)
{
  size_t n = 0;
  char *key, *o;

  for (size_t i = 0; i < im->n_diff_ids; i++)
    n += strlen (im->diff_ids[i]) + 1;
  o = key = xmalloc0 (n + 1);
  for (size_t i = 0; i < im->n_diff_ids; i++)
    {
      o = stpcpy (o, im->diff_ids[i]);
      *o++ = '\n';
    }
  *len = n;
  return key;
}

static int
compare_bytes (const char *a, size_t alen, const char *b, size_t blen)
{
  int c = memcmp (a, b, alen < blen ? alen : blen);
  if (c)
    return c;
  return alen < blen ? -1 : alen > blen;
}

static int
compare_sorted (const void *a, const void *b, void *data)
{
  const struct pg_lineage *l = data;
  size_t x = *(const size_t *) a, y = *(const size_t *) b;
  const struct pg_catalog_image *ix = &l->cat->images[x], *iy = &l->cat->images[y];
  int c = compare_bytes (l->key[x], l->key_len[x], l->key[y], l->key_len[y]);

  if (c)
    return c;
  if (ix->first_seen != iy->first_seen)
    return ix->first_seen < iy->first_seen ? -1 : 1;
  return strcmp (ix->digest, iy->digest);
}

void
lineage_prefix_run (const struct pg_lineage *l, size_t image, size_t len, size_t *first, size_t *end)
{
  const char *s = l->key[image];
  size_t lo = 0, hi = l->n_sorted;

  while (lo < hi)
    {
      size_t mid = lo + (hi - lo) / 2, m = l->sorted[mid];
      if (compare_bytes (l->key[m], l->key_len[m], s, len) < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  *first = *end = lo;
  while (*end < l->n_sorted
         && compare_bytes (l->key[l->sorted[*end]], l->key_len[l->sorted[*end]], s, len) == 0)
    ++*end;
}

void
lineage_build (const struct pg_catalog *cat, struct pg_lineage *out)
{
  size_t n = cat->n_images;

  memset (out, 0, sizeof (*out));
  out->cat = cat;
  out->parent = xmalloc0 ((n + 1) * sizeof (*out->parent));
  out->n_children = xmalloc0 ((n + 1) * sizeof (*out->n_children));
  out->key = xmalloc0 ((n + 1) * sizeof (*out->key));
  out->key_len = xmalloc0 ((n + 1) * sizeof (*out->key_len));
  out->sorted = xmalloc0 ((n + 1) * sizeof (*out->sorted));
  for (size_t i = 0; i < n; i++)
    {
      out->parent[i] = PG_LINEAGE_NONE;
      out->key[i] = join_diff_ids (&cat->images[i], &out->key_len[i]);
      if (cat->images[i].last_scan > 0 && cat->images[i].n_diff_ids > 0)
        out->sorted[out->n_sorted++] = i;
    }
  qsort_r (out->sorted, out->n_sorted, sizeof (*out->sorted), compare_sorted, out);

  for (size_t i = 0; i < n; i++)
    {
      /* The proper prefixes, longest first: each cut after a newline
         before the last entry's.  */
      for (size_t cut = out->key_len[i] ? out->key_len[i] - 1 : 0; cut > 0; cut--)
        {
          size_t first, end;
          if (out->key[i][cut - 1] != '\n')
            continue;
          lineage_prefix_run (out, i, cut, &first, &end);
          if (first < end)
            {
              out->parent[i] = out->sorted[first];
              out->n_children[out->sorted[first]]++;
              break;
            }
        }
    }
}

void
lineage_free (struct pg_lineage *l)
{
  for (size_t i = 0; l->cat && i < l->cat->n_images; i++)
    free (l->key[i]);
  free (l->key);
  free (l->key_len);
  free (l->sorted);
  free (l->parent);
  free (l->n_children);
  memset (l, 0, sizeof (*l));
}

void
lineage_image_names (const struct pg_catalog_image *im, char ***tags, size_t *n_tags, char ***repos,
                     size_t *n_repos)
{
  *tags = *repos = NULL;
  *n_tags = *n_repos = 0;
  for (size_t i = 0; i < im->n_names; i++)
    {
      const struct pg_catalog_name *nm = &im->names[i];
      if (*n_repos == 0 || strcmp ((*repos)[*n_repos - 1], nm->repository) != 0)
        strv_append (repos, n_repos, nm->repository);
      if (*nm->tag)
        {
          cleanup_free char *full = NULL;
          xasprintf (&full, "%s:%s", nm->repository, nm->tag);
          strv_append (tags, n_tags, full);
        }
    }
}
