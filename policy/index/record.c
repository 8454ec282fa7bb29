/* patchgate: what the decision index holds of one image (its record).
 *
 * Each image's record holds what eval_image reads of it, with what the
 * policy can never look at left out.  Every filter below is a condition
 * the rule itself tests before it reads the item, so the rule sees the same
 * items in the same order and decides the same (tests/unit/test_index.c
 * compares the two over the eval suite, real reports and random data):
 *
 * - findings: a rule_fixable finding needs a fixed version, a status that
 *   does not block the fix, and a severity whose grace is a number in the
 *   defaults or some scope; rule_min_versions reads a finding's package and
 *   installed version only for the packages of a floor of the image's
 *   distribution.  Findings kept for the floors alone lose their fixed
 *   version (rule_fixable then skips them, as it skipped them before); the
 *   status is never kept (the kept ones do not block);
 * - packages: only those a floor of the image's distribution names;
 * - OpenVEX statements: only for the findings kept as fixable;
 * - layers: only as many as the longest revoked base that this image is
 *   built on, and only those bases;
 * - names: the first repository:tag (all that eval_image and image_label
 *   read) and every repository (scopes and waivers match them);
 * - the policy's waivers, floors, end-of-life entries and revoked digests:
 *   only those whose digest is one of the image's, whose repository glob
 *   matches one of its repositories, whose CVE or package it has, whose
 *   distribution is its own.  Scopes are kept whole: the namespace and the
 *   engine's name for the image are known only at the container's start.
 */
#include "index/record.h"
#include "rules/rule.h"
#include "rules/scope.h"

#include <string.h>
#include <strings.h>

void
index_record_ctx_init (struct pg_index_record_ctx *c, const struct pg_policy *policy,
                       const struct pg_eval_facts *globals)
{
  memset (c, 0, sizeof (*c));
  c->policy = policy;
  c->globals = globals;
  for (int sev = 0; policy && sev < PG_SEV_COUNT; sev++)
    {
      c->keep_severity[sev] = policy->defaults.grace[sev] >= 0;
      for (size_t i = 0; i < policy->n_scopes; i++)
        if (policy->scopes[i].rules.has_grace[sev] && policy->scopes[i].rules.grace[sev] >= 0)
          c->keep_severity[sev] = true;
    }
}

/* ---- what may concern one image ---- */

static bool
str_in (const char *s, const char *const *v, size_t n)
{
  for (size_t i = 0; s && i < n; i++)
    if (v[i] && strcmp (v[i], s) == 0)
      return true;
  return false;
}

/* A growable list of borrowed strings.  */
struct names
{
  const char **v;
  size_t n;
};

static void
names_add (struct names *l, const char *s)
{
  if (s == NULL || str_in (s, l->v, l->n))
    return;
  l->v = xrealloc (l->v, (l->n + 1) * sizeof (*l->v));
  l->v[l->n++] = s;
}

/* What one image's record keeps: positions in the record's and the
   policy's arrays.  */
struct selection
{
  struct names digests;     /* every digest that names the image */
  struct names floor_names; /* packages of the kept floors */
  struct names fixable_ids; /* findings kept as fixable */
  struct names fixable_pkgs;
  size_t *floors, n_floors;
  size_t *eols, n_eols;
  size_t *waivers, n_waivers;
  size_t *revoked, n_revoked;
  size_t *bases, n_bases;
  size_t n_diff_ids;
};

static void
selection_free (struct selection *s)
{
  free (s->digests.v);
  free (s->floor_names.v);
  free (s->fixable_ids.v);
  free (s->fixable_pkgs.v);
  free (s->floors);
  free (s->eols);
  free (s->waivers);
  free (s->revoked);
  free (s->bases);
}

static void
push_index (size_t **v, size_t *n, size_t i)
{
  *v = xrealloc (*v, (*n + 1) * sizeof (**v));
  (*v)[(*n)++] = i;
}

static bool
vuln_fixable (const struct pg_index_record_ctx *c, const struct pg_vuln *v)
{
  return v->fixed != NULL && !fixable_status_blocks_fix (v->status) && (int) v->severity >= 0
         && v->severity < PG_SEV_COUNT && c->keep_severity[v->severity];
}

static bool
vuln_for_floors (const struct selection *s, const struct pg_vuln *v)
{
  return v->installed != NULL && str_in (v->pkg, s->floor_names.v, s->floor_names.n);
}

static bool
is_own_digest (const struct selection *s, const struct pg_image_record *rec, const char *d)
{
  return str_in (d, s->digests.v, s->digests.n) || (rec->image_id && strcmp (rec->image_id, d) == 0)
         || (rec->manifest_digest && strcmp (rec->manifest_digest, d) == 0);
}

/* The waiver's repository glob against the repositories the image was
   scanned under, by match_applies itself (its namespace is for the start).  */
static bool
waiver_repository_matches (const struct pg_waiver *w, const struct pg_image_record *rec)
{
  struct pg_match m = { NULL, w->match.repository };
  struct pg_context none;
  memset (&none, 0, sizeof (none));
  return w->match.repository == NULL || match_applies (&m, rec, &none);
}

static bool
waiver_may_apply (const struct selection *s, const struct pg_waiver *w, const struct pg_image_record *rec)
{
  if (w->digest && !is_own_digest (s, rec, w->digest))
    return false;
  if (w->cve && !str_in (w->cve, s->fixable_ids.v, s->fixable_ids.n))
    return false;
  if (w->package && !str_in (w->package, s->fixable_pkgs.v, s->fixable_pkgs.n)
      && !str_in (w->package, s->floor_names.v, s->floor_names.n))
    return false;
  return waiver_repository_matches (w, rec);
}

/* rule_revoked_base's own test: the base's layers start the image's.  */
static bool
built_on (const struct pg_image_record *rec, const struct pg_revoked_base *b)
{
  bool prefix = b->n_diff_ids > 0 && b->n_diff_ids <= rec->n_diff_ids;
  for (size_t j = 0; prefix && j < b->n_diff_ids; j++)
    prefix = strcmp (b->diff_ids[j], rec->diff_ids[j]) == 0;
  return prefix;
}

static void
select_for_image (const struct pg_index_record_ctx *c, const struct pg_image_record *rec, char **digests,
                  size_t n_digests, struct selection *s)
{
  const struct pg_policy *p = c->policy;

  memset (s, 0, sizeof (*s));
  for (size_t i = 0; i < n_digests; i++)
    names_add (&s->digests, digests[i]);
  for (size_t i = 0; i < rec->n_digests; i++)
    names_add (&s->digests, rec->digests[i]);
  for (size_t i = 0; i < p->n_min_versions; i++)
    if (distro_matches (&p->min_versions[i].distro, rec->os_family, rec->os_name))
      {
        push_index (&s->floors, &s->n_floors, i);
        names_add (&s->floor_names, p->min_versions[i].package);
      }
  for (size_t i = 0; i < p->n_eol; i++)
    if (distro_matches (&p->eol[i].distro, rec->os_family, rec->os_name))
      push_index (&s->eols, &s->n_eols, i);
  for (size_t i = 0; i < rec->n_vulns; i++)
    if (vuln_fixable (c, &rec->vulns[i]))
      {
        names_add (&s->fixable_ids, rec->vulns[i].id);
        names_add (&s->fixable_pkgs, rec->vulns[i].pkg);
      }
  for (size_t i = 0; i < p->n_waivers; i++)
    if (waiver_may_apply (s, &p->waivers[i], rec))
      push_index (&s->waivers, &s->n_waivers, i);
  for (size_t i = 0; i < p->n_revoked_digests; i++)
    if (is_own_digest (s, rec, p->revoked_digests[i]))
      push_index (&s->revoked, &s->n_revoked, i);
  for (size_t i = 0; rec->has_scan && i < c->globals->n_bases; i++)
    if (built_on (rec, &c->globals->bases[i]))
      {
        push_index (&s->bases, &s->n_bases, i);
        if (c->globals->bases[i].n_diff_ids > s->n_diff_ids)
          s->n_diff_ids = c->globals->bases[i].n_diff_ids;
      }
}

/* ---- one record ---- */

static void
put_indexes (struct pg_index_buf *b, const size_t *v, size_t n)
{
  pg_index_put_varint (b, n);
  for (size_t i = 0; i < n; i++)
    pg_index_put_varint (b, v[i]);
}

static void
put_strv (struct pg_index_buf *b, char *const *v, size_t n)
{
  pg_index_put_varint (b, n);
  for (size_t i = 0; i < n; i++)
    pg_index_put_str (b, v[i]);
}

/* rules/vex.c's names_vulnerability, against every fixable finding.  */
static bool
vex_may_apply (const struct selection *s, const struct pg_vex *x)
{
  for (size_t i = 0; i < s->fixable_ids.n; i++)
    {
      const char *id = s->fixable_ids.v[i];
      if (x->n_aliases == 0 && x->vuln_id && strcasecmp (x->vuln_id, id) == 0)
        return true;
      for (size_t j = 0; j < x->n_aliases; j++)
        if (strcasecmp (x->aliases[j], id) == 0)
          return true;
    }
  return false;
}

static bool
digest_named (const struct pg_index_record_ctx *c, const struct pg_image_record *rec,
              const struct selection *s, const char *d)
{
  const struct pg_policy *p = c->policy;
  for (size_t i = 0; i < p->n_revoked_digests; i++)
    if (strcmp (p->revoked_digests[i], d) == 0)
      return true;
  for (size_t i = 0; i < p->n_waivers; i++)
    if (p->waivers[i].digest && strcmp (p->waivers[i].digest, d) == 0)
      return true;
  for (size_t i = 0; i < rec->n_vex; i++)
    if (rec->vex[i].digest && strcmp (rec->vex[i].digest, d) == 0 && vex_may_apply (s, &rec->vex[i]))
      return true;
  return false;
}

static void
encode_record (const struct pg_index_record_ctx *c, const struct pg_image_record *rec,
               const struct pg_eval_facts *newer, const struct selection *s, struct pg_index_buf *b)
{
  unsigned char flags = (rec->has_scan ? PG_INDEX_HAS_SCAN : 0) | (rec->eosl ? PG_INDEX_EOSL : 0);
  size_t n;

  b->len = 0;
  pg_index_put (b, (const char[]){ PG_INDEX_RECORD }, 1);
  pg_index_put_varint (b, (uint64_t) rec->rowid);
  pg_index_put (b, &flags, 1);
  pg_index_put_i64 (b, rec->created);
  pg_index_put_i64 (b, rec->first_seen);
  pg_index_put_i64 (b, rec->scanned_at);
  pg_index_put_str (b, rec->image_id);
  pg_index_put_str (b, rec->manifest_digest);
  pg_index_put_str (b, rec->os_family);
  pg_index_put_str (b, rec->os_name);
  pg_index_put_varint (b, rec->n_repositories);
  for (size_t i = 0; i < rec->n_repositories; i++)
    pg_index_put_str (b, rec->repositories[i]);
  /* All of them: an OpenVEX statement may name the image by
     repository:tag.  */
  put_strv (b, rec->repo_tags, rec->n_repo_tags);
  pg_index_put_varint (b, s->n_diff_ids);
  for (size_t i = 0; i < s->n_diff_ids; i++)
    pg_index_put_str (b, rec->diff_ids[i]);

  pg_index_put_str (b, newer->newer_digest);
  pg_index_put_str (b, newer->newer_name);
  pg_index_put_i64 (b, newer->newer_since);
  pg_index_put_varint (b, s->n_bases);
  for (size_t i = 0; i < s->n_bases; i++)
    {
      pg_index_put_str (b, c->globals->bases[s->bases[i]].digest);
      pg_index_put_varint (b, c->globals->bases[s->bases[i]].n_diff_ids);
    }

  n = 0;
  for (size_t i = 0; i < rec->n_vulns; i++)
    n += vuln_fixable (c, &rec->vulns[i]) || vuln_for_floors (s, &rec->vulns[i]);
  pg_index_put_varint (b, n);
  for (size_t i = 0; i < rec->n_vulns; i++)
    {
      const struct pg_vuln *v = &rec->vulns[i];
      bool fixable = vuln_fixable (c, v);
      if (!fixable && !vuln_for_floors (s, v))
        continue;
      pg_index_put_str (b, v->id);
      pg_index_put_str (b, v->pkg);
      pg_index_put_str (b, v->installed);
      pg_index_put_str (b, fixable ? v->fixed : NULL);
      pg_index_put (b, (const unsigned char[]){ (unsigned char) v->severity }, 1);
      pg_index_put_i64 (b, fixable ? v->fix_known_since : 0);
      /* What the detail, the remedy and OpenVEX subcomponents read.  */
      pg_index_put_str (b, fixable ? v->fix_known_source : NULL);
      pg_index_put_str (b, fixable ? v->remedy : NULL);
      pg_index_put_str (b, fixable ? v->purl : NULL);
    }
  n = 0;
  for (size_t i = 0; i < rec->n_packages; i++)
    n += str_in (rec->packages[i].name, s->floor_names.v, s->floor_names.n);
  pg_index_put_varint (b, n);
  for (size_t i = 0; i < rec->n_packages; i++)
    if (str_in (rec->packages[i].name, s->floor_names.v, s->floor_names.n))
      {
        pg_index_put_str (b, rec->packages[i].name);
        pg_index_put_str (b, rec->packages[i].version);
      }
  /* Every statement that may name a fixable finding (the latest decides,
     withdrawals included), whole: rules/vex.c reads all of it.  */
  n = 0;
  for (size_t i = 0; i < rec->n_vex; i++)
    n += vex_may_apply (s, &rec->vex[i]);
  pg_index_put_varint (b, n);
  for (size_t i = 0; i < rec->n_vex; i++)
    if (vex_may_apply (s, &rec->vex[i]))
      {
        const struct pg_vex *x = &rec->vex[i];
        pg_index_put_str (b, x->vuln_id);
        put_strv (b, x->aliases, x->n_aliases);
        pg_index_put_str (b, x->status);
        pg_index_put_str (b, x->justification);
        pg_index_put_i64 (b, x->issued);
        pg_index_put_str (b, x->digest);
        pg_index_put_str (b, x->repository);
        pg_index_put_str (b, x->tag);
        put_strv (b, x->subcomponents, x->n_subcomponents);
        pg_index_put_str (b, x->source);
        pg_index_put_str (b, x->document);
        pg_index_put_varint (b, x->index);
      }
  /* The image's digests that the policy or a kept statement names: what
     image_has_digest compares them with, besides the ID and manifest.  */
  n = 0;
  for (size_t i = 0; i < rec->n_digests; i++)
    n += digest_named (c, rec, s, rec->digests[i]);
  pg_index_put_varint (b, n);
  for (size_t i = 0; i < rec->n_digests; i++)
    if (digest_named (c, rec, s, rec->digests[i]))
      pg_index_put_str (b, rec->digests[i]);

  put_indexes (b, s->waivers, s->n_waivers);
  put_indexes (b, s->floors, s->n_floors);
  put_indexes (b, s->eols, s->n_eols);
  put_indexes (b, s->revoked, s->n_revoked);
}

void
index_record_encode (const struct pg_index_record_ctx *c, const struct pg_image_record *rec,
                     const struct pg_eval_facts *newer, char *const *digests, size_t n_digests,
                     struct pg_index_buf *out)
{
  static const struct pg_eval_facts none = { 0 };
  struct selection s;

  select_for_image (c, rec, (char **) digests, n_digests, &s);
  encode_record (c, rec, newer && rec->has_scan ? newer : &none, &s, out);
  selection_free (&s);
}
