/* patchgate: the store's records in memory: scans as importers build them,
 * images as evaluation reads them, and how to free them.
 */
#include "store/store.h"

#include <string.h>
#include <strings.h>

static const char *const severity_names[PG_SEV_COUNT]
    = { "UNKNOWN", "NEGLIGIBLE", "LOW", "MEDIUM", "HIGH", "CRITICAL" };

const char *
severity_name (enum pg_severity s)
{
  return (s >= 0 && s < PG_SEV_COUNT) ? severity_names[s] : "UNKNOWN";
}

enum pg_severity
severity_parse (const char *s)
{
  if (s == NULL)
    return PG_SEV_UNKNOWN;
  for (int i = 0; i < PG_SEV_COUNT; i++)
    if (strcasecmp (s, severity_names[i]) == 0)
      return (enum pg_severity) i;
  return PG_SEV_UNKNOWN;
}

void
pg_vuln_clear (struct pg_vuln *v)
{
  free (v->id);
  free (v->pkg);
  free (v->purl);
  free (v->installed);
  free (v->fixed);
  free (v->remedy);
  free (v->status);
  free (v->fix_date_kind);
  free (v->fix_known_source);
}

void
pg_scan_add_vuln (struct pg_scan *scan, const struct pg_vuln *v)
{
  struct pg_vuln *d;
  scan->vulns = xrealloc (scan->vulns, (scan->n_vulns + 1) * sizeof (*scan->vulns));
  d = &scan->vulns[scan->n_vulns++];
  d->id = xstrdup (v->id);
  d->pkg = xstrdup (v->pkg);
  d->purl = xstrdup (v->purl);
  d->installed = xstrdup (v->installed);
  d->fixed = xstrdup (v->fixed);
  d->remedy = xstrdup (v->remedy);
  d->severity = v->severity;
  d->status = xstrdup (v->status);
  d->fix_date = v->fix_date;
  d->fix_date_kind = xstrdup (v->fix_date_kind);
  d->fix_known_since = v->fix_known_since;
  d->fix_known_source = xstrdup (v->fix_known_source);
}

static int
compare_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

bool
pg_fix_status_blocks (const char *status)
{
  static const char *const words[]
      = { "will_not_fix", "wont-fix",     "wont_fix",    "not-fixed", "not_fixed",
          "fix_deferred", "not_affected", "end_of_life", NULL };
  for (size_t i = 0; status && words[i]; i++)
    if (strcasecmp (status, words[i]) == 0)
      return true;
  return false;
}

bool
pg_vuln_fixable (const struct pg_vuln *v)
{
  return v->fixed != NULL && !pg_fix_status_blocks (v->status);
}

/* Split "a, b" (as the importers normalise it) onto *V.  */
static void
split_fixed (const char *list, char ***v, size_t *n)
{
  for (const char *p = list; p && *p;)
    {
      const char *sep = strstr (p, ", ");
      size_t len = sep ? (size_t) (sep - p) : strlen (p);
      cleanup_free char *one = strndup (p, len);
      bool seen = false;
      for (size_t i = 0; i < *n && !seen; i++)
        seen = strcmp ((*v)[i], one) == 0;
      if (len && !seen)
        strv_append (v, n, one);
      p = sep ? sep + 2 : NULL;
    }
}

char *
pg_fixed_union (const char *a, const char *b)
{
  char **v = NULL;
  size_t n = 0, len = 0;
  char *out;

  split_fixed (a, &v, &n);
  split_fixed (b, &v, &n);
  if (n == 0)
    return NULL;
  qsort (v, n, sizeof (*v), compare_str);
  for (size_t i = 0; i < n; i++)
    len += strlen (v[i]) + 2;
  out = xmalloc0 (len + 1);
  for (size_t i = 0; i < n; i++)
    {
      if (i)
        strcat (out, ", ");
      strcat (out, v[i]);
    }
  strv_free (v, n);
  return out;
}

/* The one of A and B to keep, whichever way round they come: a word over
   none, then the smaller.  */
static const char *
pick_word (const char *a, const char *b)
{
  if (a == NULL || b == NULL)
    return a ? a : b;
  return strcmp (a, b) <= 0 ? a : b;
}

static void
replace_str (char **dst, const char *src)
{
  char *copy = xstrdup (src);
  free (*dst);
  *dst = copy;
}

/* The status a merged finding keeps.  Of fixable entries, theirs; else a
   word that blocks the fix over one that does not, so that a version named
   under will_not_fix stays no fix after the merge.  */
static const char *
merged_status (const struct pg_vuln *a, const struct pg_vuln *b, bool a_fix, bool b_fix)
{
  bool a_blocks = pg_fix_status_blocks (a->status), b_blocks = pg_fix_status_blocks (b->status);

  if (a_fix != b_fix)
    return a_fix ? a->status : b->status;
  if (!a_fix && a_blocks != b_blocks)
    return a_blocks ? a->status : b->status;
  return pick_word (a->status, b->status);
}

/* The earlier of two (time, words) pairs, 0 meaning none; on a tie the
   smaller word.  */
static void
merge_dated (int64_t *t, char **words, int64_t t2, const char *words2)
{
  if (t2 == 0)
    return;
  if (*t == 0 || t2 < *t || (t2 == *t && pick_word (*words, words2) != *words))
    {
      *t = t2;
      replace_str (words, words2);
    }
}

void
pg_vuln_merge (struct pg_vuln *into, const struct pg_vuln *from)
{
  bool into_fix = pg_vuln_fixable (into), from_fix = pg_vuln_fixable (from);
  cleanup_free char *status = xstrdup (merged_status (into, from, into_fix, from_fix));
  char *fixed;

  if (from->severity > into->severity)
    into->severity = from->severity;
  if (into_fix != from_fix)
    /* Only the fixable entry's versions: a version named under a blocking
       status is no fix, and must not become one by the merge.  */
    fixed = xstrdup (into_fix ? into->fixed : from->fixed);
  else
    fixed = pg_fixed_union (into->fixed, from->fixed);
  if (!into_fix && from_fix)
    replace_str (&into->remedy, from->remedy);
  else if (into_fix == from_fix
           && (into->remedy == NULL || from->remedy == NULL || strcmp (into->remedy, from->remedy) != 0))
    replace_str (&into->remedy, NULL);
  free (into->fixed);
  into->fixed = fixed;
  free (into->status);
  into->status = status;
  status = NULL;
  /* Two scanners write one package's purl differently (Trivy adds
     distro=debian-12.11): either names it; keep one, whatever the order. */
  if (pick_word (into->purl, from->purl) != into->purl)
    replace_str (&into->purl, from->purl);
  merge_dated (&into->fix_date, &into->fix_date_kind, from->fix_date, from->fix_date_kind);
  merge_dated (&into->fix_known_since, &into->fix_known_source, from->fix_known_since,
               from->fix_known_source);
}

void
pg_scan_add_package (struct pg_scan *scan, const char *name, const char *version)
{
  struct pg_package *p;
  scan->packages = xrealloc (scan->packages, (scan->n_packages + 1) * sizeof (*scan->packages));
  p = &scan->packages[scan->n_packages++];
  p->name = xstrdup (name);
  p->version = xstrdup (version);
}

static void
packages_free (struct pg_package *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (p[i].name);
      free (p[i].version);
    }
  free (p);
}

static void
vulns_free (struct pg_vuln *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    pg_vuln_clear (&v[i]);
  free (v);
}

void
pg_scan_free (struct pg_scan *scan)
{
  if (scan == NULL)
    return;
  free (scan->scanner);
  free (scan->scanner_version);
  free (scan->image_id);
  free (scan->manifest_digest);
  strv_free (scan->repo_digests, scan->n_repo_digests);
  strv_free (scan->repo_tags, scan->n_repo_tags);
  free (scan->os_family);
  free (scan->os_name);
  strv_free (scan->diff_ids, scan->n_diff_ids);
  vulns_free (scan->vulns, scan->n_vulns);
  packages_free (scan->packages, scan->n_packages);
  free (scan->source);
  memset (scan, 0, sizeof (*scan));
}

size_t
pg_scan_digests (const struct pg_scan *scan, struct pg_scan_digest *out, size_t max)
{
  size_t n = 0;
  if (scan->image_id && n < max)
    out[n++] = (struct pg_scan_digest){ scan->image_id, "image_id" };
  if (scan->manifest_digest && n < max)
    out[n++] = (struct pg_scan_digest){ scan->manifest_digest, "manifest" };
  for (size_t i = 0; i < scan->n_repo_digests && n < max; i++)
    {
      const char *at = strchr (scan->repo_digests[i], '@');
      if (at && is_sha256_digest (at + 1))
        out[n++] = (struct pg_scan_digest){ at + 1, "repo" };
    }
  return n;
}

void
pg_vex_clear (struct pg_vex *v)
{
  free (v->vuln_id);
  strv_free (v->aliases, v->n_aliases);
  free (v->status);
  free (v->justification);
  free (v->digest);
  free (v->repository);
  free (v->tag);
  strv_free (v->subcomponents, v->n_subcomponents);
  free (v->source);
  free (v->document);
  memset (v, 0, sizeof (*v));
}

void
pg_vex_free (struct pg_vex *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    pg_vex_clear (&v[i]);
  free (v);
}

void
pg_image_record_free (struct pg_image_record *rec)
{
  if (rec == NULL)
    return;
  free (rec->image_id);
  free (rec->manifest_digest);
  strv_free (rec->digests, rec->n_digests);
  strv_free (rec->repositories, rec->n_repositories);
  strv_free (rec->repo_tags, rec->n_repo_tags);
  strv_free (rec->diff_ids, rec->n_diff_ids);
  free (rec->scanner);
  free (rec->os_family);
  free (rec->os_name);
  vulns_free (rec->vulns, rec->n_vulns);
  packages_free (rec->packages, rec->n_packages);
  pg_vex_free (rec->vex, rec->n_vex);
  free (rec->repo_tag_first_seen);
  memset (rec, 0, sizeof (*rec));
}
