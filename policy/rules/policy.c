#include "rules/policy.h"
#include "version/version.h"
#include "base/json.h"
#include "base/clock.h"
#include "base/digest.h"

#include <fnmatch.h>
#include <string.h>

const char *
mode_name (enum pg_mode m)
{
  switch (m)
    {
    case PG_MODE_ENFORCE:
      return "enforce";
    case PG_MODE_AUDIT:
      return "audit";
    case PG_MODE_OFF:
      return "off";
    }
  return "enforce";
}

const char *
verdict_name (enum pg_verdict v)
{
  switch (v)
    {
    case PG_VERDICT_ALLOW:
      return "allow";
    case PG_VERDICT_DENY:
      return "deny";
    case PG_VERDICT_AUDIT:
      return "audit";
    }
  return "deny";
}

/* Safe defaults: enforce, refuse what is not known, no age limits that an
   admin did not ask for.  */
void
policy_builtin_rules (struct pg_rules *r)
{
  memset (r, 0, sizeof (*r));
  r->mode = PG_MODE_ENFORCE;
  r->unscanned = PG_VERDICT_DENY;
  r->max_scan_age = -1;
  r->max_image_age = -1;
  for (int i = 0; i < PG_SEV_COUNT; i++)
    r->grace[i] = -1;
  r->superseded_grace = -1;
  r->vex_max_age = -1;
}

/* ---- field parsers: each names the field on error ---- */

static int
check_keys (json_t *obj, const char *where, const char *const *allowed, pg_error_t *err)
{
  const char *key;
  json_t *v;

  json_object_foreach (obj, key, v)
    {
      bool ok = false;
      for (size_t i = 0; allowed[i]; i++)
        if (strcmp (key, allowed[i]) == 0)
          ok = true;
      if (!ok)
        return pg_make_error (err, 0, "%s%s%s: unknown field", where, *where ? "." : "", key);
    }
  return 0;
}

static int
get_string (json_t *obj, const char *key, const char *where, bool required, const char **out, pg_error_t *err)
{
  json_t *v = json_object_get (obj, key);
  *out = NULL;
  if (v == NULL)
    {
      if (required)
        return pg_make_error (err, 0, "%s.%s: missing (required)", where, key);
      return 0;
    }
  if (!json_is_string (v) || json_string_length (v) == 0)
    return pg_make_error (err, 0, "%s.%s: must be a non-empty string", where, key);
  if (json_string_length (v) > 4096)
    return pg_make_error (err, 0, "%s.%s: longer than 4096 characters", where, key);
  *out = json_string_value (v);
  return 0;
}

static int
get_duration (json_t *obj, const char *key, const char *where, bool *has, int64_t *out, pg_error_t *err)
{
  const char *s;
  if (get_string (obj, key, where, false, &s, err) < 0)
    return -1;
  if (s == NULL)
    return 0;
  if (strcmp (s, "none") == 0)
    *out = -1;
  else if (parse_duration (s, out) < 0)
    return pg_make_error (err, 0,
                          "%s.%s: `%s` is not a duration (e.g. \"7d\", \"12h\", \"1d12h\", or \"none\")",
                          where, key, s);
  *has = true;
  return 0;
}

static int
get_verdict (json_t *obj, const char *key, const char *where, bool *has, enum pg_verdict *out,
             pg_error_t *err)
{
  const char *s;
  if (get_string (obj, key, where, false, &s, err) < 0)
    return -1;
  if (s == NULL)
    return 0;
  if (strcmp (s, "deny") == 0)
    *out = PG_VERDICT_DENY;
  else if (strcmp (s, "allow") == 0)
    *out = PG_VERDICT_ALLOW;
  else if (strcmp (s, "audit") == 0)
    *out = PG_VERDICT_AUDIT;
  else
    return pg_make_error (err, 0, "%s.%s: `%s` must be one of deny, allow, audit", where, key, s);
  if (has)
    *has = true;
  return 0;
}

static int
get_mode (json_t *obj, const char *where, struct pg_rules *r, pg_error_t *err)
{
  const char *s;
  if (get_string (obj, "mode", where, false, &s, err) < 0)
    return -1;
  if (s == NULL)
    return 0;
  if (strcmp (s, "enforce") == 0)
    r->mode = PG_MODE_ENFORCE;
  else if (strcmp (s, "audit") == 0)
    r->mode = PG_MODE_AUDIT;
  else if (strcmp (s, "off") == 0)
    r->mode = PG_MODE_OFF;
  else
    return pg_make_error (err, 0, "%s.mode: `%s` must be one of enforce, audit, off", where, s);
  r->has_mode = true;
  return 0;
}

static int
get_grace (json_t *obj, const char *where, struct pg_rules *r, pg_error_t *err)
{
  json_t *g = json_object_get (obj, "fixable_grace");
  const char *key;
  json_t *v;
  char path[128];

  if (g == NULL)
    return 0;
  snprintf (path, sizeof (path), "%s.fixable_grace", where);
  if (!json_is_object (g))
    return pg_make_error (err, 0, "%s: must be an object of severity to duration", path);
  json_object_foreach (g, key, v)
    {
      enum pg_severity s = severity_parse (key);
      if (s == PG_SEV_UNKNOWN && strcasecmp (key, "UNKNOWN") != 0)
        return pg_make_error (
            err, 0, "%s.%s: unknown severity (use CRITICAL, HIGH, MEDIUM, LOW, NEGLIGIBLE, UNKNOWN)", path,
            key);
      if (get_duration (g, key, path, &r->has_grace[s], &r->grace[s], err) < 0)
        return -1;
    }
  return 0;
}

static int
get_bool (json_t *obj, const char *key, const char *where, bool *has, bool *out, pg_error_t *err)
{
  json_t *v = json_object_get (obj, key);
  if (v == NULL)
    return 0;
  if (!json_is_boolean (v))
    return pg_make_error (err, 0, "%s.%s: must be true or false", where, key);
  *out = json_is_true (v);
  *has = true;
  return 0;
}

static const char *const rule_keys[] = { "mode",
                                         "unscanned",
                                         "max_scan_age",
                                         "max_image_age",
                                         "fixable_grace",
                                         "superseded_grace",
                                         "vex_max_age",
                                         "vex_repository_products",
                                         NULL };

static int
parse_rules (json_t *obj, const char *where, struct pg_rules *r, pg_error_t *err)
{
  if (get_mode (obj, where, r, err) < 0
      || get_verdict (obj, "unscanned", where, &r->has_unscanned, &r->unscanned, err) < 0
      || get_duration (obj, "max_scan_age", where, &r->has_max_scan_age, &r->max_scan_age, err) < 0
      || get_duration (obj, "max_image_age", where, &r->has_max_image_age, &r->max_image_age, err) < 0
      || get_grace (obj, where, r, err) < 0
      || get_duration (obj, "superseded_grace", where, &r->has_superseded_grace, &r->superseded_grace, err)
             < 0
      || get_duration (obj, "vex_max_age", where, &r->has_vex_max_age, &r->vex_max_age, err) < 0
      || get_bool (obj, "vex_repository_products", where, &r->has_vex_repository_products,
                   &r->vex_repository_products, err)
             < 0)
    return -1;
  return 0;
}

static int
parse_match (json_t *obj, const char *where, bool required, bool strict, struct pg_match *m, pg_error_t *err)
{
  static const char *const keys[] = { "namespace", "repository", NULL };
  json_t *match = json_object_get (obj, "match");
  char path[128];
  const char *ns, *repo;

  snprintf (path, sizeof (path), "%s.match", where);
  if (match == NULL)
    {
      if (required)
        return pg_make_error (err, 0, "%s: missing (required)", path);
      return 0;
    }
  if (!json_is_object (match))
    return pg_make_error (err, 0, "%s: must be an object", path);
  if ((strict && check_keys (match, path, keys, err) < 0)
      || get_string (match, "namespace", path, false, &ns, err) < 0
      || get_string (match, "repository", path, false, &repo, err) < 0)
    return -1;
  if (required && ns == NULL && repo == NULL)
    return pg_make_error (err, 0, "%s: needs a namespace or a repository", path);
  m->namespace = xstrdup (ns);
  m->repository = xstrdup (repo);
  return 0;
}

static int
parse_scopes (json_t *doc, struct pg_policy *p, pg_error_t *err)
{
  json_t *scopes = json_object_get (doc, "scopes");
  json_t *s;
  size_t i;

  if (scopes == NULL)
    return 0;
  if (!json_is_array (scopes))
    return pg_make_error (err, 0, "scopes: must be an array");
  p->scopes = xmalloc0 (json_array_size (scopes) * sizeof (*p->scopes));
  json_array_foreach (scopes, i, s)
    {
      const char *keys[16];
      struct pg_scope *sc = &p->scopes[i];
      char where[64];
      const char *name;
      size_t k = 0;

      snprintf (where, sizeof (where), "scopes[%zu]", i);
      if (!json_is_object (s))
        return pg_make_error (err, 0, "%s: must be an object", where);
      keys[k++] = "name";
      keys[k++] = "match";
      for (size_t r = 0; rule_keys[r]; r++)
        keys[k++] = rule_keys[r];
      keys[k] = NULL;
      p->n_scopes++;
      policy_builtin_rules (&sc->rules);
      if (check_keys (s, where, keys, err) < 0 || get_string (s, "name", where, false, &name, err) < 0
          || parse_match (s, where, true, true, &sc->match, err) < 0
          || parse_rules (s, where, &sc->rules, err) < 0)
        return -1;
      sc->name = name ? xstrdup (name) : xstrdup (where);
    }
  return 0;
}

static int
parse_string_list (json_t *arr, const char *where, bool digests, char ***out, size_t *n, pg_error_t *err)
{
  json_t *v;
  size_t i;
  if (arr == NULL)
    return 0;
  if (!json_is_array (arr))
    return pg_make_error (err, 0, "%s: must be an array", where);
  json_array_foreach (arr, i, v)
    {
      const char *s = json_string_value (v);
      if (s == NULL || *s == '\0')
        return pg_make_error (err, 0, "%s[%zu]: must be a non-empty string", where, i);
      if (digests && !is_sha256_digest (s))
        return pg_make_error (err, 0, "%s[%zu]: `%s` is not a digest (sha256:<64 lowercase hex>)", where, i,
                              s);
      strv_append (out, n, s);
    }
  return 0;
}

static int
parse_revoked (json_t *doc, struct pg_policy *p, pg_error_t *err)
{
  static const char *const keys[] = { "digests", "bases", NULL };
  json_t *rev = json_object_get (doc, "revoked");
  if (rev == NULL)
    return 0;
  if (!json_is_object (rev))
    return pg_make_error (err, 0, "revoked: must be an object");
  if (check_keys (rev, "revoked", keys, err) < 0
      || parse_string_list (json_object_get (rev, "digests"), "revoked.digests", true, &p->revoked_digests,
                            &p->n_revoked_digests, err)
             < 0
      || parse_string_list (json_object_get (rev, "bases"), "revoked.bases", true, &p->revoked_bases,
                            &p->n_revoked_bases, err)
             < 0)
    return -1;
  return 0;
}

/* The reason codes a waiver may name: findings of the image that an admin
   may accept for a while.  */
static bool
is_reason_code (const char *s)
{
  static const char *const codes[]
      = { "UNSCANNED", "SCAN_STALE", "IMAGE_TOO_OLD", "BELOW_MIN_VERSION", "SUPERSEDED", "EOL_OS", NULL };
  for (size_t i = 0; codes[i]; i++)
    if (strcmp (s, codes[i]) == 0)
      return true;
  /* severity_parse maps unknown words to UNKNOWN, which is itself a
     severity the hook reports (FIXABLE_UNKNOWN): only the word counts.  */
  return strncmp (s, "FIXABLE_", 8) == 0
         && (severity_parse (s + 8) != PG_SEV_UNKNOWN || strcmp (s + 8, "UNKNOWN") == 0);
}

/* Why a code the hook emits cannot be waived (NULL: not one of them).  A
   waiver softens the verdict on an image; these are the admin's own
   refusal, a container with no identity to scope a waiver to, or faults of
   the host and of the container's input, which `on_error`,
   `on_unidentified` and the hook config decide.  */
static const char *
unwaivable_why (const char *s)
{
  static const struct
  {
    const char *code, *why;
  } codes[] = {
    { "REVOKED", "the policy itself revokes the digest: take it out of revoked.digests" },
    { "REVOKED_BASE", "the policy itself revokes the base: take it out of revoked.bases" },
    { "UNIDENTIFIED", "an unidentified image has no digest or repository to scope a waiver to: set "
                      "defaults.on_unidentified" },
    { "POLICY_STALE", "a stale policy bundle is the host's state, not the image's: see the hook config's "
                      "max_policy_age and policy_stale" },
    { "POLICY_ERROR", "a fault of the host is decided by the hook config's on_error" },
    { "INVALID_INPUT", "malformed or oversized container input is always refused" },
  };
  for (size_t i = 0; i < sizeof (codes) / sizeof (codes[0]); i++)
    if (strcmp (s, codes[i].code) == 0)
      return codes[i].why;
  return NULL;
}

static int
parse_waiver (json_t *w, const char *where, struct pg_waiver *wv, pg_error_t *err)
{
  static const char *const keys[] = { "id", "match", "expires", "reason", "owner", NULL };
  static const char *const match_keys[]
      = { "namespace", "repository", "digest", "cve", "package", "reason_code", NULL };
  const char *id, *expires, *reason, *owner, *digest, *cve, *package, *code;
  json_t *m = json_object_get (w, "match");
  char mwhere[96];

  if (!json_is_object (w))
    return pg_make_error (err, 0, "%s: must be an object", where);
  if (check_keys (w, where, keys, err) < 0 || get_string (w, "id", where, true, &id, err) < 0
      || get_string (w, "expires", where, true, &expires, err) < 0
      || get_string (w, "reason", where, true, &reason, err) < 0
      || get_string (w, "owner", where, true, &owner, err) < 0)
    return -1;
  if (parse_rfc3339 (expires, &wv->expires) < 0)
    return pg_make_error (err, 0, "%s.expires: `%s` is not an RFC 3339 time", where, expires);
  snprintf (mwhere, sizeof (mwhere), "%s.match", where);
  if (!json_is_object (m))
    return pg_make_error (err, 0, "%s: missing (required) or not an object", mwhere);
  if (check_keys (m, mwhere, match_keys, err) < 0
      || parse_match (w, where, false, false, &wv->match, err) < 0)
    return -1;
  if (get_string (m, "digest", mwhere, false, &digest, err) < 0
      || get_string (m, "cve", mwhere, false, &cve, err) < 0
      || get_string (m, "package", mwhere, false, &package, err) < 0
      || get_string (m, "reason_code", mwhere, false, &code, err) < 0)
    return -1;
  if (digest && !is_sha256_digest (digest))
    return pg_make_error (err, 0, "%s.digest: `%s` is not a digest", mwhere, digest);
  if (code && unwaivable_why (code))
    return pg_make_error (err, 0, "%s.reason_code: `%s` cannot be waived: %s", mwhere, code,
                          unwaivable_why (code));
  if (code && !is_reason_code (code))
    return pg_make_error (
        err, 0,
        "%s.reason_code: `%s` is not a reason code a waiver may name (UNSCANNED, SCAN_STALE, "
        "IMAGE_TOO_OLD, FIXABLE_<SEVERITY>, BELOW_MIN_VERSION, SUPERSEDED, EOL_OS)",
        mwhere, code);
  if (!cve && !package && !code)
    return pg_make_error (err, 0, "%s: must name what it waives: cve, package or reason_code", mwhere);
  if (!digest && !wv->match.repository && !wv->match.namespace)
    return pg_make_error (err, 0, "%s: must name where it applies: digest, repository or namespace", mwhere);
  wv->id = xstrdup (id);
  wv->reason = xstrdup (reason);
  wv->owner = xstrdup (owner);
  wv->digest = xstrdup (digest);
  wv->cve = xstrdup (cve);
  wv->package = xstrdup (package);
  wv->reason_code = xstrdup (code);
  return 0;
}

static int
parse_waivers (json_t *doc, struct pg_policy *p, pg_error_t *err)
{
  json_t *ws = json_object_get (doc, "waivers");
  json_t *w;
  size_t i;

  if (ws == NULL)
    return 0;
  if (!json_is_array (ws))
    return pg_make_error (err, 0, "waivers: must be an array");
  p->waivers = xmalloc0 (json_array_size (ws) * sizeof (*p->waivers));
  json_array_foreach (ws, i, w)
    {
      char where[64];
      snprintf (where, sizeof (where), "waivers[%zu]", i);
      p->n_waivers++;
      if (parse_waiver (w, where, &p->waivers[i], err) < 0)
        return -1;
      for (size_t j = 0; j < i; j++)
        if (strcmp (p->waivers[j].id, p->waivers[i].id) == 0)
          return pg_make_error (err, 0, "%s.id: `%s` is used twice", where, p->waivers[i].id);
    }
  return 0;
}

static const char *const rhel_likes[]
    = { "rhel", "redhat", "centos", "rocky", "alma", "almalinux", "oracle", "ol", NULL };

bool
distro_matches (const struct pg_distro *d, const char *os_family, const char *os_name)
{
  bool family = false;
  size_t n;

  if (os_family == NULL)
    return false;
  if (strcasecmp (d->family, os_family) == 0)
    family = true;
  else if (strcasecmp (d->family, "rhel") == 0)
    for (size_t i = 0; rhel_likes[i]; i++)
      if (strcasecmp (rhel_likes[i], os_family) == 0)
        family = true;
  if (!family)
    return false;
  if (d->release == NULL)
    return true;
  /* "12" matches "12" and "12.11", not "120".  */
  n = strlen (d->release);
  return os_name && strncmp (os_name, d->release, n) == 0 && (os_name[n] == '\0' || os_name[n] == '.');
}

static int
parse_distro_key (const char *key, const char *where, struct pg_distro *d, enum pg_version_scheme *scheme,
                  pg_error_t *err)
{
  const char *colon = strchr (key, ':');
  cleanup_free char *family = colon ? strndup (key, (size_t) (colon - key)) : xstrdup (key);
  cleanup_error pg_error_t serr = NULL;

  if (colon && colon[1] == '\0')
    return pg_make_error (err, 0, "%s.%s: empty release after `:`", where, key);
  if (version_scheme_for_distro (family, scheme, &serr) < 0)
    return pg_make_error (err, 0, "%s.%s: unknown distro family `%s`", where, key, family);
  d->family = family;
  family = NULL;
  d->release = colon ? xstrdup (colon + 1) : NULL;
  return 0;
}

static int
parse_min_versions (json_t *doc, struct pg_policy *p, pg_error_t *err)
{
  json_t *mv = json_object_get (doc, "min_versions");
  const char *family, *pkg;
  json_t *pkgs, *v;

  if (mv == NULL)
    return 0;
  if (!json_is_object (mv))
    return pg_make_error (err, 0, "min_versions: must be an object of distro family to {package: version}");
  json_object_foreach (mv, family, pkgs)
    {
      struct pg_distro d = { 0 };
      enum pg_version_scheme scheme;

      if (!json_is_object (pkgs))
        return pg_make_error (err, 0, "min_versions.%s: must be an object of package to version", family);
      if (parse_distro_key (family, "min_versions", &d, &scheme, err) < 0)
        return -1;
      json_object_foreach (pkgs, pkg, v)
        {
          struct pg_min_version *m;
          cleanup_error pg_error_t verr = NULL;
          int cmp;

          if (!json_is_string (v) || json_string_length (v) == 0)
            {
              free (d.family);
              free (d.release);
              return pg_make_error (err, 0, "min_versions.%s.%s: must be a version string", family, pkg);
            }
          /* A floor the comparator cannot read could never be enforced.  */
          if (version_compare (scheme, json_string_value (v), json_string_value (v), &cmp, &verr) < 0)
            {
              free (d.family);
              free (d.release);
              return pg_make_error (err, 0, "min_versions.%s.%s: `%s` is not a valid %s version: %s", family,
                                    pkg, json_string_value (v), version_scheme_name (scheme), verr->msg);
            }
          p->min_versions = xrealloc (p->min_versions, (p->n_min_versions + 1) * sizeof (*p->min_versions));
          m = &p->min_versions[p->n_min_versions++];
          m->distro.family = xstrdup (d.family);
          m->distro.release = xstrdup (d.release);
          m->package = xstrdup (pkg);
          m->version = xstrdup (json_string_value (v));
        }
      free (d.family);
      free (d.release);
    }
  return 0;
}

static int
parse_eol (json_t *doc, struct pg_policy *p, pg_error_t *err)
{
  json_t *eol = json_object_get (doc, "eol");
  const char *key;
  json_t *v;

  if (eol == NULL)
    return 0;
  if (!json_is_object (eol))
    return pg_make_error (err, 0, "eol: must be an object of \"family:release\" to an RFC 3339 end date");
  json_object_foreach (eol, key, v)
    {
      struct pg_eol e = { 0 };
      enum pg_version_scheme scheme;
      const char *date = json_string_value (v);

      if (date == NULL || parse_rfc3339 (date, &e.date) < 0)
        return pg_make_error (err, 0, "eol.%s: must be an RFC 3339 time", key);
      if (parse_distro_key (key, "eol", &e.distro, &scheme, err) < 0)
        return -1;
      if (e.distro.release == NULL)
        {
          free (e.distro.family);
          return pg_make_error (err, 0, "eol.%s: name a release (\"%s:12\")", key, key);
        }
      p->eol = xrealloc (p->eol, (p->n_eol + 1) * sizeof (*p->eol));
      p->eol[p->n_eol++] = e;
    }
  return 0;
}

int
policy_parse_json (json_t *doc, const char *name, struct pg_policy **out, pg_error_t *err)
{
  static const char *const keys[] = { "version", "defaults", "scopes",  "min_versions", "eol",
                                      "revoked", "waivers",  "$schema", "description",  NULL };
  static const char *const default_keys[] = { "mode",
                                              "unscanned",
                                              "on_unidentified",
                                              "max_scan_age",
                                              "max_image_age",
                                              "fixable_grace",
                                              "superseded_grace",
                                              "vex_max_age",
                                              "vex_repository_products",
                                              NULL };
  struct pg_policy *p;
  json_t *defaults;
  const char *version;

  if (!json_is_object (doc))
    return pg_make_error (err, 0, "%s: a policy must be a JSON object", name);
  p = xmalloc0 (sizeof (*p));
  policy_builtin_rules (&p->defaults);
  p->on_unidentified = PG_VERDICT_DENY;
  defaults = json_object_get (doc, "defaults");
  if (check_keys (doc, "", keys, err) < 0 || get_string (doc, "version", "policy", true, &version, err) < 0)
    goto fail;
  p->version = xstrdup (version);
  if (defaults && !json_is_object (defaults))
    {
      pg_make_error (err, 0, "defaults: must be an object");
      goto fail;
    }
  if (defaults
      && (check_keys (defaults, "defaults", default_keys, err) < 0
          || parse_rules (defaults, "defaults", &p->defaults, err) < 0
          || get_verdict (defaults, "on_unidentified", "defaults", NULL, &p->on_unidentified, err) < 0))
    goto fail;
  if (parse_scopes (doc, p, err) < 0 || parse_revoked (doc, p, err) < 0 || parse_waivers (doc, p, err) < 0
      || parse_min_versions (doc, p, err) < 0 || parse_eol (doc, p, err) < 0)
    goto fail;
  *out = p;
  return 0;
fail:
  policy_free (p);
  return pg_error_wrap (err, "%s", name);
}

int
policy_parse (const char *text, size_t len, const char *name, struct pg_policy **out, pg_error_t *err)
{
  cleanup_json json_t *doc = NULL;
  if (len > PG_MAX_POLICY_SIZE)
    return pg_make_error (err, 0, "%s: larger than the limit of %u bytes", name, PG_MAX_POLICY_SIZE);
  if (pg_json_parse (text, len, name, &doc, err) < 0)
    return -1;
  return policy_parse_json (doc, name, out, err);
}

static void
match_clear (struct pg_match *m)
{
  free (m->namespace);
  free (m->repository);
}

void
policy_free (struct pg_policy *p)
{
  if (p == NULL)
    return;
  free (p->version);
  for (size_t i = 0; i < p->n_scopes; i++)
    {
      free (p->scopes[i].name);
      match_clear (&p->scopes[i].match);
    }
  free (p->scopes);
  strv_free (p->revoked_digests, p->n_revoked_digests);
  strv_free (p->revoked_bases, p->n_revoked_bases);
  for (size_t i = 0; i < p->n_waivers; i++)
    {
      struct pg_waiver *w = &p->waivers[i];
      free (w->id);
      match_clear (&w->match);
      free (w->digest);
      free (w->cve);
      free (w->package);
      free (w->reason_code);
      free (w->reason);
      free (w->owner);
    }
  free (p->waivers);
  for (size_t i = 0; i < p->n_min_versions; i++)
    {
      free (p->min_versions[i].distro.family);
      free (p->min_versions[i].distro.release);
      free (p->min_versions[i].package);
      free (p->min_versions[i].version);
    }
  free (p->min_versions);
  for (size_t i = 0; i < p->n_eol; i++)
    {
      free (p->eol[i].distro.family);
      free (p->eol[i].distro.release);
    }
  free (p->eol);
  free (p);
}

void
cleanup_policyp (struct pg_policy **p)
{
  policy_free (*p);
}
