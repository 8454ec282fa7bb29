/* patchgate: which images to rebuild when a base is patched or revoked
 * (lineage.h).
 *
 * A line is a base's repository:tag; its builds are the scanned images
 * recorded under it, each first seen under it at some time, and the newest
 * is the one first seen last.  An image X is built on a line's build when
 * that build's DiffIDs start X's; of several such builds, X is built on the
 * one with the longest list (a patched base made by adding a layer to the
 * old one starts with the old one's layers too).  X is to be rebuilt when
 * every build of the line with that list is older than the newest: X has
 * the old base's layers and not the new one's.  The builds themselves are
 * never "to rebuild" in their own line.
 */
#include "lineage/lineage.h"
#include "base/clock.h"

#include <string.h>

/* ---- lines ---- */

struct line_build
{
  size_t image;
  int64_t first_seen;
};

struct line
{
  const char *repository; /* borrowed from the catalog */
  const char *tag;
  struct line_build *builds;
  size_t n_builds;
  size_t newest; /* index into builds */
  /* Per build: the images to rebuild on it.  */
  struct pg_rebuild_image **rebuild;
  size_t *n_rebuild;
};

struct lines
{
  struct line *v;
  size_t n;
};

static int
compare_line_key (const char *repo, const char *tag, const struct line *l)
{
  int c = strcmp (repo, l->repository);
  return c ? c : strcmp (tag, l->tag);
}

static struct line *
find_line (const struct lines *ls, const char *repo, const char *tag)
{
  size_t lo = 0, hi = ls->n;
  while (lo < hi)
    {
      size_t mid = lo + (hi - lo) / 2;
      int c = compare_line_key (repo, tag, &ls->v[mid]);
      if (c == 0)
        return &ls->v[mid];
      if (c > 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  return NULL;
}

struct name_ref
{
  const struct pg_catalog_name *name;
  size_t image;
};

static int
compare_name_refs (const void *a, const void *b)
{
  const struct name_ref *x = a, *y = b;
  int c = strcmp (x->name->repository, y->name->repository);
  if (c == 0)
    c = strcmp (x->name->tag, y->name->tag);
  if (c == 0)
    c = x->image < y->image ? -1 : x->image > y->image;
  return c;
}

/* Every repository:tag of a scanned image, with its builds.  */
static void
lines_build (const struct pg_catalog *cat, struct lines *ls)
{
  struct name_ref *refs = NULL;
  size_t n = 0;

  memset (ls, 0, sizeof (*ls));
  for (size_t i = 0; i < cat->n_images; i++)
    for (size_t j = 0; cat->images[i].last_scan > 0 && j < cat->images[i].n_names; j++)
      if (*cat->images[i].names[j].tag)
        {
          refs = xrealloc (refs, (n + 1) * sizeof (*refs));
          refs[n++] = (struct name_ref){ &cat->images[i].names[j], i };
        }
  if (n > 1)
    qsort (refs, n, sizeof (*refs), compare_name_refs);
  for (size_t i = 0; i < n; i++)
    {
      struct line *l;
      const struct pg_catalog_name *nm = refs[i].name;
      if (ls->n == 0 || compare_line_key (nm->repository, nm->tag, &ls->v[ls->n - 1]) != 0)
        {
          ls->v = xrealloc (ls->v, (ls->n + 1) * sizeof (*ls->v));
          memset (&ls->v[ls->n], 0, sizeof (*ls->v));
          ls->v[ls->n].repository = nm->repository;
          ls->v[ls->n].tag = nm->tag;
          ls->n++;
        }
      l = &ls->v[ls->n - 1];
      l->builds = xrealloc (l->builds, (l->n_builds + 1) * sizeof (*l->builds));
      l->builds[l->n_builds++] = (struct line_build){ refs[i].image, nm->first_seen };
    }
  free (refs);
  for (size_t i = 0; i < ls->n; i++)
    {
      struct line *l = &ls->v[i];
      /* The newest: first seen last; of two at once, the later row.  */
      for (size_t b = 1; b < l->n_builds; b++)
        if (l->builds[b].first_seen > l->builds[l->newest].first_seen
            || (l->builds[b].first_seen == l->builds[l->newest].first_seen
                && cat->images[l->builds[b].image].rowid > cat->images[l->builds[l->newest].image].rowid))
          l->newest = b;
      l->rebuild = xmalloc0 ((l->n_builds + 1) * sizeof (*l->rebuild));
      l->n_rebuild = xmalloc0 ((l->n_builds + 1) * sizeof (*l->n_rebuild));
    }
}

static void
lines_free (struct lines *ls)
{
  for (size_t i = 0; i < ls->n; i++)
    {
      for (size_t b = 0; b < ls->v[i].n_builds; b++)
        free (ls->v[i].rebuild[b]);
      free (ls->v[i].rebuild);
      free (ls->v[i].n_rebuild);
      free (ls->v[i].builds);
    }
  free (ls->v);
  memset (ls, 0, sizeof (*ls));
}

static bool
stale (const struct line *l, size_t b)
{
  return l->builds[b].first_seen < l->builds[l->newest].first_seen;
}

static bool
image_in_line (const struct pg_catalog_image *im, const struct line *l)
{
  for (size_t i = 0; i < im->n_names; i++)
    if (strcmp (im->names[i].repository, l->repository) == 0 && strcmp (im->names[i].tag, l->tag) == 0)
      return true;
  return false;
}

/* Where X sits below a base whose list has N_BASE DiffIDs: the image it was
   built FROM when that is above the base, and how many steps down.  */
static struct pg_rebuild_image
rebuild_entry (const struct pg_lineage *l, size_t x, size_t n_base)
{
  struct pg_rebuild_image r = { x, PG_LINEAGE_NONE, 1 };
  size_t p = l->parent[x];

  if (p != PG_LINEAGE_NONE && l->cat->images[p].n_diff_ids > n_base)
    r.via = p;
  for (; p != PG_LINEAGE_NONE && l->cat->images[p].n_diff_ids > n_base; p = l->parent[p])
    r.depth++;
  return r;
}

static void
add_rebuild (struct pg_rebuild_image **v, size_t *n, struct pg_rebuild_image r)
{
  *v = xrealloc (*v, (*n + 1) * sizeof (**v));
  (*v)[(*n)++] = r;
}

/* The line builds in the run sorted[FIRST..END), which all share one list.
   Returns the build X is on when X must be rebuilt, else PG_LINEAGE_NONE;
   *SEEN says whether the line has a build in the run at all.  */
static size_t
line_verdict (const struct pg_lineage *l, const struct line *ln, size_t first, size_t end, bool *seen)
{
  size_t on = PG_LINEAGE_NONE;

  *seen = false;
  for (size_t b = 0; b < ln->n_builds; b++)
    for (size_t k = first; k < end; k++)
      if (l->sorted[k] == ln->builds[b].image)
        {
          *seen = true;
          if (!stale (ln, b))
            return PG_LINEAGE_NONE; /* on the newest build's layers */
          if (on == PG_LINEAGE_NONE || ln->builds[b].first_seen > ln->builds[on].first_seen)
            on = b;
        }
  return on;
}

/* For image X, each line with a build whose DiffIDs start X's: the longest
   such list decides.  DECIDED collects the lines already decided for X.  */
static void
place_image (const struct pg_lineage *l, struct lines *ls, size_t x, struct line ***decided,
             size_t *n_decided)
{
  const struct pg_catalog_image *im = &l->cat->images[x];
  size_t len = l->key_len[x];

  *n_decided = 0;
  /* Every prefix, the whole list included, longest first.  */
  for (size_t cut = len; cut > 0; cut--)
    {
      size_t first, end;
      if (l->key[x][cut - 1] != '\n')
        continue;
      lineage_prefix_run (l, x, cut, &first, &end);
      for (size_t k = first; k < end; k++)
        {
          const struct pg_catalog_image *b = &l->cat->images[l->sorted[k]];
          for (size_t j = 0; j < b->n_names; j++)
            {
              struct line *ln;
              bool done = false, seen;
              size_t on;
              if (*b->names[j].tag == '\0' || l->sorted[k] == x)
                continue;
              ln = find_line (ls, b->names[j].repository, b->names[j].tag);
              for (size_t d = 0; ln && d < *n_decided && !done; d++)
                done = (*decided)[d] == ln;
              if (ln == NULL || done || image_in_line (im, ln))
                continue;
              *decided = xrealloc (*decided, (*n_decided + 1) * sizeof (**decided));
              (*decided)[(*n_decided)++] = ln;
              on = line_verdict (l, ln, first, end, &seen);
              if (on != PG_LINEAGE_NONE)
                add_rebuild (&ln->rebuild[on], &ln->n_rebuild[on],
                             rebuild_entry (l, x, l->cat->images[ln->builds[on].image].n_diff_ids));
            }
        }
    }
}

/* ---- groups ---- */

static int
compare_rebuild (const void *a, const void *b, void *data)
{
  const struct pg_catalog *cat = data;
  const struct pg_rebuild_image *x = a, *y = b;
  if (x->depth != y->depth)
    return x->depth < y->depth ? -1 : 1;
  return strcmp (cat->images[x->image].digest, cat->images[y->image].digest);
}

static void
sort_rebuild (const struct pg_catalog *cat, struct pg_rebuild_image *v, size_t n)
{
  if (n > 1)
    qsort_r (v, n, sizeof (*v), compare_rebuild, (void *) cat);
}

static struct pg_rebuild_group *
new_group (struct pg_rebuilds *r, enum pg_rebuild_kind kind)
{
  struct pg_rebuild_group *g;
  r->groups = xrealloc (r->groups, (r->n_groups + 1) * sizeof (*r->groups));
  g = &r->groups[r->n_groups++];
  memset (g, 0, sizeof (*g));
  g->kind = kind;
  g->newest = PG_LINEAGE_NONE;
  return g;
}

static bool
same_builds (const struct pg_rebuild_group *a, const struct pg_rebuild_group *b)
{
  if (a->kind != b->kind || a->newest != b->newest || a->n_builds != b->n_builds)
    return false;
  for (size_t i = 0; i < a->n_builds; i++)
    {
      if (a->builds[i].image != b->builds[i].image || a->builds[i].n_rebuild != b->builds[i].n_rebuild)
        return false;
      for (size_t j = 0; j < a->builds[i].n_rebuild; j++)
        if (a->builds[i].rebuild[j].image != b->builds[i].rebuild[j].image)
          return false;
    }
  return true;
}

static void
group_free (struct pg_rebuild_group *g)
{
  strv_free (g->names, g->n_names);
  for (size_t i = 0; i < g->n_builds; i++)
    free (g->builds[i].rebuild);
  free (g->builds);
}

static bool
is_revoked (const struct pg_rebuild_query *q, const struct pg_catalog_image *im)
{
  for (size_t i = 0; i < q->n_revoked; i++)
    if (q->revoked[i] == im->rowid)
      return true;
  return false;
}

/* A line's group: its older builds, each with what is built on it.  EMPTY:
   also when nothing is (a line the admin named).  */
static void
line_group (const struct pg_lineage *l, const struct pg_rebuild_query *q, struct line *ln, bool empty,
            struct pg_rebuilds *r)
{
  struct pg_rebuild_group *g, *prev;
  cleanup_free char *name = NULL;
  size_t total = 0;

  for (size_t b = 0; b < ln->n_builds; b++)
    total += ln->n_rebuild[b];
  if (total == 0 && !empty)
    return;
  g = new_group (r, PG_REBUILD_LINE);
  xasprintf (&name, "%s:%s", ln->repository, ln->tag);
  strv_append (&g->names, &g->n_names, name);
  g->newest = ln->builds[ln->newest].image;
  g->newest_since = ln->builds[ln->newest].first_seen;
  for (size_t b = 0; b < ln->n_builds; b++)
    {
      struct pg_base_build *bb;
      if (!stale (ln, b))
        continue;
      g->builds = xrealloc (g->builds, (g->n_builds + 1) * sizeof (*g->builds));
      bb = &g->builds[g->n_builds++];
      bb->image = ln->builds[b].image;
      bb->first_seen = ln->builds[b].first_seen;
      bb->revoked = is_revoked (q, &l->cat->images[bb->image]);
      bb->rebuild = ln->rebuild[b];
      bb->n_rebuild = ln->n_rebuild[b];
      ln->rebuild[b] = NULL;
      ln->n_rebuild[b] = 0;
      sort_rebuild (l->cat, bb->rebuild, bb->n_rebuild);
    }
  /* base:1 and base:latest naming the same builds are one group.  */
  for (size_t i = 0; i + 1 < r->n_groups; i++)
    {
      prev = &r->groups[i];
      if (same_builds (prev, g))
        {
          strv_append (&prev->names, &prev->n_names, name);
          group_free (g);
          r->n_groups--;
          return;
        }
    }
}

/* One build (named by digest, or revoked): every image its DiffIDs start,
   as rule_revoked_base sees them.  */
static void
build_group (const struct pg_lineage *l, const struct pg_rebuild_query *q, const struct lines *ls, size_t d,
             struct pg_rebuilds *r)
{
  const struct pg_catalog *cat = l->cat;
  const struct pg_catalog_image *base = &cat->images[d];
  struct pg_rebuild_group *g = new_group (r, PG_REBUILD_BUILD);
  struct pg_base_build *bb = xmalloc0 (sizeof (*bb));

  g->builds = bb;
  g->n_builds = 1;
  bb->image = d;
  bb->first_seen = base->first_seen;
  bb->revoked = is_revoked (q, base);
  for (size_t i = 0; i < base->n_names; i++)
    if (*base->names[i].tag)
      {
        const struct line *ln = find_line (ls, base->names[i].repository, base->names[i].tag);
        cleanup_free char *name = NULL;
        xasprintf (&name, "%s:%s", base->names[i].repository, base->names[i].tag);
        strv_append (&g->names, &g->n_names, name);
        /* What to rebuild on: the newest build of one of its names.  */
        if (ln && ln->builds[ln->newest].image != d && g->newest == PG_LINEAGE_NONE)
          {
            g->newest = ln->builds[ln->newest].image;
            g->newest_since = ln->builds[ln->newest].first_seen;
          }
      }
  for (size_t x = 0; x < cat->n_images; x++)
    if (x != d && cat->images[x].last_scan > 0 && lineage_starts_with (&cat->images[x], base))
      add_rebuild (&bb->rebuild, &bb->n_rebuild, rebuild_entry (l, x, base->n_diff_ids));
  sort_rebuild (cat, bb->rebuild, bb->n_rebuild);
}

static size_t
index_of_row (const struct pg_catalog *cat, int64_t rowid)
{
  const struct pg_catalog_image *im = pg_catalog_find (cat, rowid);
  return im ? (size_t) (im - cat->images) : PG_LINEAGE_NONE;
}

static void
count_images (const struct pg_catalog *cat, struct pg_rebuilds *r)
{
  cleanup_free bool *seen = xmalloc0 ((cat->n_images + 1) * sizeof (*seen));
  for (size_t g = 0; g < r->n_groups; g++)
    for (size_t b = 0; b < r->groups[g].n_builds; b++)
      for (size_t i = 0; i < r->groups[g].builds[b].n_rebuild; i++)
        {
          size_t x = r->groups[g].builds[b].rebuild[i].image;
          if (!seen[x])
            r->n_images++;
          seen[x] = true;
        }
}

int
lineage_rebuilds (const struct pg_lineage *l, const struct pg_rebuild_query *q, struct pg_rebuilds *out,
                  pg_error_t *err)
{
  const struct pg_catalog *cat = l->cat;
  struct lines ls;
  struct line **decided = NULL;
  size_t n_decided = 0, named = 0;

  memset (out, 0, sizeof (*out));
  lines_build (cat, &ls);
  for (size_t x = 0; x < cat->n_images; x++)
    if (cat->images[x].last_scan > 0)
      place_image (l, &ls, x, &decided, &n_decided);
  free (decided);

  for (size_t i = 0; i < ls.n; i++)
    {
      bool match = q->repository && strcmp (ls.v[i].repository, q->repository) == 0
                   && (q->tag == NULL || strcmp (ls.v[i].tag, q->tag) == 0);
      if (q->all || match)
        line_group (l, q, &ls.v[i], match, out);
      named += match;
    }
  if (q->repository && named == 0)
    {
      lines_free (&ls);
      return pg_make_error (err, 0, "no scanned image is named %s%s%s", q->repository, q->tag ? ":" : "",
                            q->tag ? q->tag : "");
    }
  if (q->image)
    {
      size_t d = index_of_row (cat, q->image);
      if (d == PG_LINEAGE_NONE)
        {
          lines_free (&ls);
          return pg_make_error (err, 0, "the base image is not in the database");
        }
      build_group (l, q, &ls, d, out);
    }
  for (size_t i = 0; q->all && i < q->n_revoked; i++)
    {
      size_t d = index_of_row (cat, q->revoked[i]);
      if (d != PG_LINEAGE_NONE)
        build_group (l, q, &ls, d, out);
    }
  lines_free (&ls);
  count_images (cat, out);
  return 0;
}

void
pg_rebuilds_free (struct pg_rebuilds *r)
{
  for (size_t i = 0; i < r->n_groups; i++)
    group_free (&r->groups[i]);
  free (r->groups);
  memset (r, 0, sizeof (*r));
}

/* ---- JSON ---- */

static json_t *
time_json (int64_t t)
{
  char buf[32];
  if (t <= 0)
    return json_null ();
  format_rfc3339 (t, buf, sizeof (buf));
  return json_string (buf);
}

static json_t *
strv_json (char **v, size_t n)
{
  json_t *a = json_array ();
  for (size_t i = 0; i < n; i++)
    json_array_append_new (a, json_string (v[i]));
  return a;
}

static json_t *
image_json (const struct pg_catalog_image *im)
{
  char **tags, **repos;
  size_t n_tags, n_repos;
  json_t *j;

  lineage_image_names (im, &tags, &n_tags, &repos, &n_repos);
  j = json_pack ("{s:s, s:o, s:o, s:o}", "digest", im->digest, "names", strv_json (tags, n_tags),
                 "repositories", strv_json (repos, n_repos), "last_scan", time_json (im->last_scan));
  strv_free (tags, n_tags);
  strv_free (repos, n_repos);
  return j;
}

json_t *
lineage_rebuilds_json (const struct pg_lineage *l, const struct pg_rebuilds *r)
{
  const struct pg_catalog *cat = l->cat;
  json_t *bases = json_array ();

  for (size_t g = 0; g < r->n_groups; g++)
    {
      const struct pg_rebuild_group *grp = &r->groups[g];
      json_t *builds = json_array (), *newest = json_null ();
      if (grp->newest != PG_LINEAGE_NONE)
        {
          json_decref (newest);
          newest = image_json (&cat->images[grp->newest]);
          json_object_set_new (newest, "first_seen", time_json (grp->newest_since));
        }
      for (size_t b = 0; b < grp->n_builds; b++)
        {
          const struct pg_base_build *bb = &grp->builds[b];
          json_t *build = image_json (&cat->images[bb->image]), *list = json_array ();
          for (size_t i = 0; i < bb->n_rebuild; i++)
            {
              const struct pg_rebuild_image *ri = &bb->rebuild[i];
              json_t *item = image_json (&cat->images[ri->image]);
              json_object_set_new (item, "via",
                                   ri->via == PG_LINEAGE_NONE ? json_null ()
                                                              : json_string (cat->images[ri->via].digest));
              json_object_set_new (item, "depth", json_integer ((json_int_t) ri->depth));
              json_array_append_new (list, item);
            }
          json_object_set_new (build, "first_seen", time_json (bb->first_seen));
          json_object_set_new (build, "revoked", json_boolean (bb->revoked));
          json_object_set_new (build, "rebuild", list);
          json_array_append_new (builds, build);
        }
      json_array_append_new (bases, json_pack ("{s:s, s:o, s:o, s:o}", "kind",
                                               grp->kind == PG_REBUILD_LINE ? "line" : "build", "names",
                                               strv_json (grp->names, grp->n_names), "newest", newest,
                                               "builds", builds));
    }
  return json_pack ("{s:o, s:I}", "bases", bases, "images_to_rebuild", (json_int_t) r->n_images);
}
