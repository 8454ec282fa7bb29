/* One case of the data-driven evaluation suite (tests/unit/data/eval/):
   its policy, image record, facts and context, as test_eval.c and
   test_index.c read them.  Header-only, as suite.h.  */
#ifndef PATCHGATE_TEST_EVAL_CASE_H
#define PATCHGATE_TEST_EVAL_CASE_H

#include "suite.h"
#include "rules/eval.h"
#include "base/json.h"
#include "base/clock.h"

static inline int64_t
time_field (json_t *obj, const char *key)
{
  int64_t t = 0;
  const char *s = pg_json_string (obj, key);
  if (s && parse_rfc3339 (s, &t) < 0)
    fail_msg ("bad time %s=%s", key, s);
  return t;
}

static inline void
strv_from_json (json_t *arr, char ***v, size_t *n)
{
  size_t i;
  json_t *e;
  json_array_foreach (arr, i, e)
    strv_append (v, n, json_string_value (e));
}

static inline void
record_from_json (json_t *j, struct pg_image_record *rec)
{
  json_t *scan = json_object_get (j, "scan");
  json_t *e;
  size_t i;

  memset (rec, 0, sizeof (*rec));
  rec->rowid = 1;
  rec->image_id = xstrdup (pg_json_string (j, "image_id"));
  rec->manifest_digest = xstrdup (pg_json_string (j, "manifest_digest"));
  /* Every digest the database knows for the image, as the store loads
     them: the image ID, the manifest digest and "repo_digests".  */
  if (rec->image_id)
    strv_append (&rec->digests, &rec->n_digests, rec->image_id);
  if (rec->manifest_digest)
    strv_append (&rec->digests, &rec->n_digests, rec->manifest_digest);
  strv_from_json (json_object_get (j, "repo_digests"), &rec->digests, &rec->n_digests);
  strv_from_json (json_object_get (j, "repositories"), &rec->repositories, &rec->n_repositories);
  strv_from_json (json_object_get (j, "repo_tags"), &rec->repo_tags, &rec->n_repo_tags);
  strv_from_json (json_object_get (j, "diff_ids"), &rec->diff_ids, &rec->n_diff_ids);
  rec->created = time_field (j, "created");
  rec->first_seen = time_field (j, "first_seen");
  if (scan == NULL)
    return;
  rec->has_scan = true;
  rec->scanned_at = time_field (scan, "scanned_at");
  rec->scanner = xstrdup ("trivy");
  rec->os_family = xstrdup (pg_json_string (scan, "os_family"));
  rec->os_name = xstrdup (pg_json_string (scan, "os_name"));
  rec->eosl = json_is_true (json_object_get (scan, "eosl"));
  json_array_foreach (json_object_get (scan, "vulns"), i, e)
    {
      struct pg_vuln *v;
      rec->vulns = xrealloc (rec->vulns, (rec->n_vulns + 1) * sizeof (*v));
      v = &rec->vulns[rec->n_vulns++];
      memset (v, 0, sizeof (*v));
      v->id = xstrdup (pg_json_string (e, "id"));
      v->pkg = xstrdup (pg_json_string (e, "pkg"));
      v->purl = xstrdup (pg_json_string (e, "purl"));
      v->installed = xstrdup (pg_json_string (e, "installed"));
      v->fixed = xstrdup (pg_json_string (e, "fixed"));
      v->severity = severity_parse (pg_json_string (e, "severity"));
      v->status = xstrdup (pg_json_string (e, "status"));
      v->fix_known_since = time_field (e, "fix_known_since");
      v->fix_known_source = xstrdup (pg_json_string (e, "fix_known_source"));
      v->remedy = xstrdup (pg_json_string (e, "remedy"));
    }
  json_array_foreach (json_object_get (j, "vex"), i, e)
    {
      struct pg_vex *x;
      rec->vex = xrealloc (rec->vex, (rec->n_vex + 1) * sizeof (*x));
      x = &rec->vex[rec->n_vex++];
      memset (x, 0, sizeof (*x));
      x->vuln_id = xstrdup (pg_json_string (e, "id"));
      strv_from_json (json_object_get (e, "aliases"), &x->aliases, &x->n_aliases);
      x->status = xstrdup (pg_json_string (e, "status"));
      x->issued = time_field (e, "issued");
      /* The product: a digest (by default the image ID), or a repository
         and tag.  */
      x->repository = xstrdup (pg_json_string (e, "repository"));
      x->tag = xstrdup (pg_json_string (e, "tag"));
      x->digest = xstrdup (pg_json_string (e, "digest"));
      if (x->digest == NULL && x->repository == NULL)
        x->digest = xstrdup (rec->image_id);
      strv_from_json (json_object_get (e, "subcomponents"), &x->subcomponents, &x->n_subcomponents);
      x->source = xstrdup (pg_json_string (e, "source"));
      x->document = xstrdup (pg_json_string (e, "document"));
      x->index = (size_t) json_integer_value (json_object_get (e, "index"));
    }
  json_array_foreach (json_object_get (scan, "packages"), i, e)
    {
      struct pg_package *p;
      rec->packages = xrealloc (rec->packages, (rec->n_packages + 1) * sizeof (*p));
      p = &rec->packages[rec->n_packages++];
      p->name = xstrdup (pg_json_string (e, "name"));
      p->version = xstrdup (pg_json_string (e, "version"));
    }
}

static inline void
facts_from_json (json_t *j, struct pg_eval_facts *x)
{
  json_t *newer = json_object_get (j, "newer");
  json_t *b;
  size_t i;

  if (newer)
    {
      x->newer_digest = xstrdup (pg_json_string (newer, "digest"));
      x->newer_name = xstrdup (pg_json_string (newer, "name"));
      x->newer_since = time_field (newer, "since");
    }
  json_array_foreach (json_object_get (j, "bases"), i, b)
    {
      x->bases = xrealloc (x->bases, (x->n_bases + 1) * sizeof (*x->bases));
      memset (&x->bases[x->n_bases], 0, sizeof (x->bases[0]));
      x->bases[x->n_bases].digest = xstrdup (pg_json_string (b, "digest"));
      strv_from_json (json_object_get (b, "diff_ids"), &x->bases[x->n_bases].diff_ids,
                      &x->bases[x->n_bases].n_diff_ids);
      x->n_bases++;
    }
  x->bundle_created = time_field (j, "bundle_created");
  x->bundle_serial = json_integer_value (json_object_get (j, "bundle_serial"));
}

/* The context.json fields.  */
static inline void
context_from_json (json_t *cj, const char *name, struct pg_context *ctx)
{
  memset (ctx, 0, sizeof (*ctx));
  ctx->digest = pg_json_string (cj, "digest");
  ctx->namespace = pg_json_string (cj, "namespace");
  ctx->image_ref = pg_json_string (cj, "image_ref");
  ctx->conflict = pg_json_string (cj, "conflict");
  ctx->container_id = "c1";
  ctx->policy_stale = PG_VERDICT_DENY;
  if (pg_json_string (cj, "max_policy_age")
      && parse_duration (pg_json_string (cj, "max_policy_age"), &ctx->max_policy_age) < 0)
    fail_msg ("%s: bad max_policy_age", name);
  if (pg_json_string (cj, "policy_stale"))
    ctx->policy_stale = strcmp (pg_json_string (cj, "policy_stale"), "allow") == 0   ? PG_VERDICT_ALLOW
                        : strcmp (pg_json_string (cj, "policy_stale"), "audit") == 0 ? PG_VERDICT_AUDIT
                                                                                     : PG_VERDICT_DENY;
}

#endif
