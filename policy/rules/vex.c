/* patchgate: OpenVEX statements and the findings they clear (vex.h). */
#include "rules/vex.h"
#include "rules/scope.h"
#include "rules/waiver.h"
#include "base/clock.h"
#include "base/purl.h"

#include <string.h>
#include <strings.h>

static bool
clears (const struct pg_vex *s)
{
  return strcmp (s->status, "not_affected") == 0 || strcmp (s->status, "fixed") == 0;
}

static bool
names_vulnerability (const struct pg_vex *s, const char *id)
{
  /* Vulnerability IDs compare without case: "cve-2023-1234" in a
     hand-written document is CVE-2023-1234.  */
  if (s->n_aliases == 0)
    return strcasecmp (s->vuln_id, id) == 0;
  for (size_t i = 0; i < s->n_aliases; i++)
    if (strcasecmp (s->aliases[i], id) == 0)
      return true;
  return false;
}

static bool
has_string (char *const *v, size_t n, const char *s)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp (v[i], s) == 0)
      return true;
  return false;
}

/* Whether the statement's product is this image: one of its digests, or a
   repository (and tag) it was scanned under.  The repositories are the
   admin's facts (imported scans), never the engine's name for the image. */
static bool
names_image (const struct pg_vex *s, const struct pg_rule_env *env)
{
  const struct pg_image_record *rec = env->rec;
  cleanup_free char *full = NULL;

  if (s->digest)
    return image_has_digest (rec, env->ctx, s->digest);
  if (s->repository == NULL || !has_string (rec->repositories, rec->n_repositories, s->repository))
    return false;
  if (s->tag == NULL)
    return true;
  xasprintf (&full, "%s:%s", s->repository, s->tag);
  return has_string (rec->repo_tags, rec->n_repo_tags, full);
}

static bool
same_part (const char *a, const char *b)
{
  return (a == NULL && b == NULL) || (a && b && strcmp (a, b) == 0);
}

/* A subcomponent names the finding's package: type, namespace and name;
   the version when the statement gives one; other qualifiers are ignored
   (scanners write distro= each their own way, and the image is pinned
   already), but not an `arch` both give: one image may hold a package for
   two architectures.  */
static bool
subcomponent_matches (const char *sub, const struct pg_purl *pkg)
{
  struct pg_purl s;
  bool ok;
  const char *sa, *pa;

  if (purl_parse (sub, &s) < 0)
    return false; /* not a purl: nothing to match a package by */
  sa = purl_qualifier (&s, "arch");
  pa = purl_qualifier (pkg, "arch");
  ok = strcmp (s.type, pkg->type) == 0 && same_part (s.namespace, pkg->namespace)
       && strcmp (s.name, pkg->name) == 0
       && (s.version == NULL || (pkg->version && strcmp (s.version, pkg->version) == 0))
       && (sa == NULL || pa == NULL || strcasecmp (sa, pa) == 0);
  purl_clear (&s);
  return ok;
}

/* A statement with subcomponents speaks of those packages only.  A finding
   whose report gave no package URL cannot be told apart, and is not
   cleared by it.  */
static bool
names_package (const struct pg_vex *s, const struct pg_purl *pkg, bool have_pkg)
{
  if (s->n_subcomponents == 0)
    return true;
  if (!have_pkg)
    return false;
  for (size_t i = 0; i < s->n_subcomponents; i++)
    if (subcomponent_matches (s->subcomponents[i], pkg))
      return true;
  return false;
}

/* Is A later than B?  On the same second a withdrawal wins (fail closed);
   otherwise the one met first stays.  */
static bool
later (const struct pg_vex *a, const struct pg_vex *b)
{
  if (a->issued != b->issued)
    return a->issued > b->issued;
  return clears (b) && !clears (a);
}

/* "not_affected (vulnerable_code_not_present) of 2023-07-17T18:28:47Z,
   alpine.vex.json statements[3] (https://openvex.dev/docs/...)" */
static char *
describe (const struct pg_vex *s)
{
  char when[32];
  char *out = NULL;

  format_rfc3339 (s->issued, when, sizeof (when));
  xasprintf (&out, "%s%s%s%s of %s, %s statements[%zu]%s%s%s", s->status, s->justification ? " (" : "",
             s->justification ? s->justification : "", s->justification ? ")" : "", when,
             s->source ? s->source : "(unknown document)", s->index, s->document ? " (" : "",
             s->document ? s->document : "", s->document ? ")" : "");
  return out;
}

static void
note (struct pg_decision *d, const struct pg_vuln *v, const char *outcome)
{
  cleanup_free char *line = NULL;
  xasprintf (&line, "vex: %s in %s %s", v->id, v->pkg, outcome);
  decision_add_note (d, line);
}

bool
vex_clears (const struct pg_rule_env *env, const struct pg_vuln *v, struct pg_decision *d)
{
  const struct pg_rules *rules = env->rules;
  const struct pg_image_record *rec = env->rec;
  const struct pg_vex *latest = NULL, *latest_clear = NULL, *unpinned = NULL;
  cleanup_free char *label = NULL;
  cleanup_free char *what = NULL;
  cleanup_free char *text = NULL;
  struct pg_purl pkg;
  bool have_pkg = v->purl && purl_parse (v->purl, &pkg) == 0;

  for (size_t i = 0; i < rec->n_vex; i++)
    {
      const struct pg_vex *s = &rec->vex[i];
      if (!names_vulnerability (s, v->id) || !names_image (s, env) || !names_package (s, &pkg, have_pkg))
        continue;
      /* A statement by repository may withdraw (that is only stricter),
         but clears only where the policy allows it.  */
      if (s->digest == NULL && clears (s) && !rules->vex_repository_products)
        {
          if (unpinned == NULL || later (s, unpinned))
            unpinned = s;
          continue;
        }
      if (latest == NULL || later (s, latest))
        latest = s;
      if (clears (s) && (latest_clear == NULL || later (s, latest_clear)))
        latest_clear = s;
    }
  if (have_pkg)
    purl_clear (&pkg);

  if (latest == NULL)
    {
      if (unpinned)
        {
          what = describe (unpinned);
          xasprintf (&text,
                     "not cleared: %s names %s%s%s without a digest, and the policy's "
                     "vex_repository_products is off",
                     what, unpinned->repository, unpinned->tag ? ":" : "",
                     unpinned->tag ? unpinned->tag : "");
          note (d, v, text);
        }
      return false;
    }
  what = describe (latest);
  if (!clears (latest))
    {
      cleanup_free char *withdrawn = latest_clear ? describe (latest_clear) : NULL;
      xasprintf (&text, "not cleared: the latest statement is %s%s%s", what,
                 withdrawn ? ", which withdraws " : "", withdrawn ? withdrawn : "");
      note (d, v, text);
      return false;
    }
  if (rules->vex_max_age < 0)
    {
      xasprintf (&text, "not cleared: %s; the policy honours no VEX statement (vex_max_age is not set)",
                 what);
      note (d, v, text);
      return false;
    }
  xasprintf (&label, "vex:%s", v->id);
  if (env->now - latest->issued < rules->vex_max_age)
    {
      waiver_note (&d->waivers_applied, &d->n_waivers_applied, label);
      xasprintf (&text, "cleared: %s", what);
      note (d, v, text);
      return true;
    }
  {
    char max[32];
    format_duration (rules->vex_max_age, max, sizeof (max));
    waiver_note (&d->waivers_expired, &d->n_waivers_expired, label);
    xasprintf (&text, "not cleared: %s is older than vex_max_age (%s)", what, max);
    note (d, v, text);
  }
  return false;
}
