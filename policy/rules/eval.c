#include "rules/eval.h"
#include "rules/policy_cache.h"
#include "version/version.h"
#include "base/clock.h"
#include "base/digest.h"

#include <ctype.h>
#include <fnmatch.h>
#include <string.h>
#include <strings.h>

/* Reproducible builds stamp 1970 or 1980: such a build time says nothing. */
#define PG_MEANINGFUL_BUILD_TIME 347155200 /* 1981-01-01T00:00:00Z */

void
pg_decision_free (struct pg_decision *d)
{
  if (d == NULL)
    return;
  for (size_t i = 0; i < d->n_reasons; i++)
    {
      free (d->reasons[i].code);
      free (d->reasons[i].detail);
      free (d->reasons[i].remedy);
      free (d->reasons[i].log_fields);
    }
  free (d->reasons);
  free (d->scope);
  free (d->policy_version);
  strv_free (d->waivers_applied, d->n_waivers_applied);
  strv_free (d->waivers_expired, d->n_waivers_expired);
  free (d->image_id);
  free (d->image_name);
  free (d->log_fields);
  memset (d, 0, sizeof (*d));
}

void
pg_eval_extra_free (struct pg_eval_extra *x)
{
  free (x->newer_digest);
  free (x->newer_name);
  for (size_t i = 0; i < x->n_bases; i++)
    {
      free (x->bases[i].digest);
      strv_free (x->bases[i].diff_ids, x->bases[i].n_diff_ids);
    }
  free (x->bases);
  memset (x, 0, sizeof (*x));
}

/* ---- logfmt ---- */

void
logfmt_append (char **line, const char *key, const char *value)
{
  size_t len = *line ? strlen (*line) : 0;
  size_t vlen = value ? strlen (value) : 0;
  bool quote = vlen == 0;
  char *p;

  for (size_t i = 0; i < vlen; i++)
    {
      unsigned char c = (unsigned char) value[i];
      if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f)
        quote = true;
    }
  /* Worst case every byte becomes \xNN.  */
  *line = xrealloc (*line, len + strlen (key) + 4 * vlen + 8);
  p = *line + len;
  if (len)
    *p++ = ' ';
  p += sprintf (p, "%s=", key);
  if (quote)
    *p++ = '"';
  for (size_t i = 0; i < vlen; i++)
    {
      unsigned char c = (unsigned char) value[i];
      if (c == '"' || c == '\\')
        {
          *p++ = '\\';
          *p++ = (char) c;
        }
      else if (c < ' ' || c >= 0x7f)
        p += sprintf (p, "\\x%02x", c);
      else
        *p++ = (char) c;
    }
  if (quote)
    *p++ = '"';
  *p = '\0';
}

/* ---- scopes ---- */

static bool
glob_match (const char *pattern, const char *s)
{
  return pattern && s && fnmatch (pattern, s, 0) == 0;
}

static bool
repository_matches (const char *pattern, const struct pg_image_record *rec, const struct pg_context *ctx)
{
  cleanup_free char *repo = NULL;

  for (size_t i = 0; rec && i < rec->n_repositories; i++)
    if (glob_match (pattern, rec->repositories[i]))
      return true;
  if (ctx->image_ref && image_ref_parse (ctx->image_ref, &repo, NULL, NULL) == 0)
    return glob_match (pattern, repo) || glob_match (pattern, ctx->image_ref);
  return false;
}

static bool
match_applies (const struct pg_match *m, const struct pg_image_record *rec, const struct pg_context *ctx)
{
  if (m->namespace && !glob_match (m->namespace, ctx->namespace))
    return false;
  if (m->repository && !repository_matches (m->repository, rec, ctx))
    return false;
  return true;
}

/* Literal characters outrank wildcards: a longer literal prefix is more
   specific than a shorter one followed by a star.  */
static int
pattern_weight (const char *p)
{
  int w = 0;
  for (; p && *p; p++)
    if (*p != '*' && *p != '?' && *p != '[')
      w++;
  return w;
}

static void
overlay_rules (struct pg_rules *dst, const struct pg_rules *src)
{
  if (src->has_mode)
    dst->mode = src->mode;
  if (src->has_unscanned)
    dst->unscanned = src->unscanned;
  if (src->has_max_scan_age)
    dst->max_scan_age = src->max_scan_age;
  if (src->has_max_image_age)
    dst->max_image_age = src->max_image_age;
  for (int i = 0; i < PG_SEV_COUNT; i++)
    if (src->has_grace[i])
      dst->grace[i] = src->grace[i];
  if (src->has_superseded_grace)
    dst->superseded_grace = src->superseded_grace;
  if (src->has_vex_max_age)
    dst->vex_max_age = src->vex_max_age;
}

const struct pg_scope *
policy_select_scope (const struct pg_policy *policy, const struct pg_image_record *rec,
                     const struct pg_context *ctx, struct pg_rules *rules)
{
  const struct pg_scope *best = NULL;
  int best_fields = -1, best_weight = -1;

  for (size_t i = 0; i < policy->n_scopes; i++)
    {
      const struct pg_scope *s = &policy->scopes[i];
      int fields, weight;
      if (!match_applies (&s->match, rec, ctx))
        continue;
      fields = (s->match.namespace != NULL) + (s->match.repository != NULL);
      weight = pattern_weight (s->match.namespace) + pattern_weight (s->match.repository);
      /* Most specific wins; on a tie the first in the file does.  */
      if (fields > best_fields || (fields == best_fields && weight > best_weight))
        {
          best = s;
          best_fields = fields;
          best_weight = weight;
        }
    }
  *rules = policy->defaults;
  if (best)
    overlay_rules (rules, &best->rules);
  return best;
}

/* ---- waivers ---- */

struct waiver_state
{
  const struct pg_policy *policy;
  const struct pg_image_record *rec;
  const struct pg_context *ctx;
  int64_t now;
  struct pg_decision *out;
};

static bool
image_has_digest (const struct pg_image_record *rec, const struct pg_context *ctx, const char *digest)
{
  if (ctx->digest && strcmp (ctx->digest, digest) == 0)
    return true;
  if (rec && rec->image_id && strcmp (rec->image_id, digest) == 0)
    return true;
  return rec && rec->manifest_digest && strcmp (rec->manifest_digest, digest) == 0;
}

static bool
waiver_scope_applies (const struct pg_waiver *w, const struct waiver_state *ws)
{
  if (w->digest && !image_has_digest (ws->rec, ws->ctx, w->digest))
    return false;
  return match_applies (&w->match, ws->rec, ws->ctx);
}

static void
note_waiver (char ***list, size_t *n, const char *id)
{
  for (size_t i = 0; i < *n; i++)
    if (strcmp ((*list)[i], id) == 0)
      return;
  strv_append (list, n, id);
}

/* Does an active waiver remove this finding?  An expired one that would
   have is remembered, so the decision log names it.  CVE and PACKAGE may be
   NULL for a whole reason.  */
static bool
waived (struct waiver_state *ws, const char *code, const char *cve, const char *package)
{
  bool hit = false;
  for (size_t i = 0; i < ws->policy->n_waivers; i++)
    {
      const struct pg_waiver *w = &ws->policy->waivers[i];
      bool names;
      if (!waiver_scope_applies (w, ws))
        continue;
      if (w->reason_code)
        names = strcmp (w->reason_code, code) == 0 && (!w->cve || (cve && strcmp (w->cve, cve) == 0))
                && (!w->package || (package && strcmp (w->package, package) == 0));
      else
        names = (w->cve || w->package) && (!w->cve || (cve && strcmp (w->cve, cve) == 0))
                && (!w->package || (package && strcmp (w->package, package) == 0));
      if (!names)
        continue;
      /* A waiver is in force up to, not including, its expiry second.  */
      if (ws->now < w->expires)
        {
          note_waiver (&ws->out->waivers_applied, &ws->out->n_waivers_applied, w->id);
          hit = true;
        }
      else
        note_waiver (&ws->out->waivers_expired, &ws->out->n_waivers_expired, w->id);
    }
  return hit;
}

/* ---- reasons ---- */

static struct pg_reason *
add_reason (struct pg_decision *d, const char *code, bool deny)
{
  struct pg_reason *r;
  d->reasons = xrealloc (d->reasons, (d->n_reasons + 1) * sizeof (*d->reasons));
  r = &d->reasons[d->n_reasons++];
  memset (r, 0, sizeof (*r));
  r->code = xstrdup (code);
  r->deny = deny;
  return r;
}

static const char *
image_label (const struct pg_image_record *rec, const struct pg_context *ctx)
{
  if (ctx->image_ref)
    return ctx->image_ref;
  if (rec && rec->n_repo_tags)
    return rec->repo_tags[0];
  if (ctx->digest)
    return ctx->digest;
  return rec && rec->image_id ? rec->image_id : "(unknown)";
}

static void
check_revoked (const struct pg_policy *p, const struct pg_image_record *rec, const struct pg_context *ctx,
               struct pg_decision *d)
{
  for (size_t i = 0; i < p->n_revoked_digests; i++)
    if (image_has_digest (rec, ctx, p->revoked_digests[i]))
      {
        struct pg_reason *r = add_reason (d, "REVOKED", true);
        xasprintf (&r->detail, "digest %s is revoked by the policy", p->revoked_digests[i]);
        xasprintf (&r->remedy, "use a different build of %s", image_label (rec, ctx));
        logfmt_append (&r->log_fields, "revoked", p->revoked_digests[i]);
        return;
      }
}

static void
check_revoked_bases (const struct pg_eval_extra *x, const struct pg_image_record *rec, struct pg_decision *d)
{
  for (size_t i = 0; x && i < x->n_bases; i++)
    {
      size_t n = x->bases[i].n_diff_ids;
      bool prefix = n > 0 && n <= rec->n_diff_ids;
      for (size_t j = 0; prefix && j < n; j++)
        prefix = strcmp (x->bases[i].diff_ids[j], rec->diff_ids[j]) == 0;
      if (prefix)
        {
          struct pg_reason *r = add_reason (d, "REVOKED_BASE", true);
          xasprintf (&r->detail, "built on revoked base image %s (its %zu layers start this image)",
                     x->bases[i].digest, n);
          xasprintf (&r->remedy, "rebuild on a base image that is not revoked");
          logfmt_append (&r->log_fields, "revoked_base", x->bases[i].digest);
        }
    }
}

static void
check_scan_age (const struct pg_rules *rules, const struct pg_image_record *rec, const struct pg_context *ctx,
                int64_t now, struct waiver_state *ws, struct pg_decision *d)
{
  int64_t age = now - rec->scanned_at;
  char when[32], ago[32], max[32];
  struct pg_reason *r;

  if (rules->max_scan_age < 0 || age <= rules->max_scan_age || waived (ws, "SCAN_STALE", NULL, NULL))
    return;
  format_rfc3339 (rec->scanned_at, when, sizeof (when));
  format_duration (age, ago, sizeof (ago));
  format_duration (rules->max_scan_age, max, sizeof (max));
  r = add_reason (d, "SCAN_STALE", true);
  xasprintf (&r->detail, "image %s was last scanned %s ago (%s), policy allows %s", image_label (rec, ctx),
             ago, when, max);
  xasprintf (&r->remedy, "rescan it and import the report (patchgate import), or rebuild it");
  logfmt_append (&r->log_fields, "scanned_at", when);
  logfmt_append (&r->log_fields, "max_scan_age", max);
}

static void
check_image_age (const struct pg_rules *rules, const struct pg_image_record *rec,
                 const struct pg_context *ctx, int64_t now, struct waiver_state *ws, struct pg_decision *d)
{
  bool reproducible = rec->created < PG_MEANINGFUL_BUILD_TIME;
  int64_t born = reproducible ? rec->first_seen : rec->created;
  char when[32], age[32], max[32];
  struct pg_reason *r;

  if (rules->max_image_age < 0 || now - born <= rules->max_image_age
      || waived (ws, "IMAGE_TOO_OLD", NULL, NULL))
    return;
  format_rfc3339 (born, when, sizeof (when));
  format_duration (now - born, age, sizeof (age));
  format_duration (rules->max_image_age, max, sizeof (max));
  r = add_reason (d, "IMAGE_TOO_OLD", true);
  xasprintf (&r->detail, "image %s was %s %s ago (%s), policy allows %s", image_label (rec, ctx),
             reproducible ? "first seen" : "built", age, when, max);
  xasprintf (&r->remedy, "rebuild it on current packages and deploy the new build");
  logfmt_append (&r->log_fields, reproducible ? "first_seen" : "created", when);
  logfmt_append (&r->log_fields, "max_image_age", max);
}

/* Scanner words for "a fix exists but will not be shipped" or "not
   affected": such findings are not fixable whatever version is named.  */
static bool
status_blocks_fix (const char *status)
{
  /* One list for the evaluator and the importers' merge (store.h).  */
  return pg_fix_status_blocks (status);
}

/* A supplier's OpenVEX statement clears a finding for vex_max_age after it
   was issued; after that it is reported as expired, like a waiver.  */
static bool
cleared_by_vex (const struct pg_rules *rules, const struct pg_image_record *rec, const char *vuln,
                int64_t now, struct pg_decision *d)
{
  for (size_t i = 0; i < rec->n_vex; i++)
    {
      cleanup_free char *label = NULL;
      if (strcmp (rec->vex[i].vuln_id, vuln) != 0 || rules->vex_max_age < 0)
        continue;
      xasprintf (&label, "vex:%s", vuln);
      if (now - rec->vex[i].issued < rules->vex_max_age)
        {
          note_waiver (&d->waivers_applied, &d->n_waivers_applied, label);
          return true;
        }
      note_waiver (&d->waivers_expired, &d->n_waivers_expired, label);
    }
  return false;
}

/* "libfoo >= 1.2-3, libbar >= 2.0-1": what a rebuild must bring, each
   package once, at most four named.  */
static void
append_upgrade (char **list, size_t *n, const struct pg_vuln *v)
{
  cleanup_free char *item = NULL;
  char *joined = NULL;

  /* Of several fixed versions (one per release branch), the one above the
     installed version, when the importer could tell (pg_vuln.remedy).  */
  xasprintf (&item, "%s >= %s", v->pkg, v->remedy ? v->remedy : v->fixed);
  if (*list && strstr (*list, item))
    return;
  if (++*n > 4)
    return;
  xasprintf (&joined, "%s%s%s", *list ? *list : "", *list ? ", " : "", item);
  free (*list);
  *list = joined;
}

static void
check_fixable (const struct pg_rules *rules, const struct pg_image_record *rec, int64_t now,
               struct waiver_state *ws, struct pg_decision *d)
{
  for (int sev = PG_SEV_COUNT - 1; sev >= 0; sev--)
    {
      cleanup_free char *cves = NULL;
      cleanup_free char *example = NULL;
      cleanup_free char *upgrades = NULL;
      size_t count = 0, n_upgrades = 0;
      int64_t oldest = now;
      const char *oldest_source = NULL;
      char code[32], grace[32], since[32];
      struct pg_reason *r;

      if (rules->grace[sev] < 0)
        continue;
      for (size_t i = 0; i < rec->n_vulns; i++)
        {
          const struct pg_vuln *v = &rec->vulns[i];
          int64_t known = v->fix_known_since ? v->fix_known_since : rec->scanned_at;
          if ((int) v->severity != sev || v->fixed == NULL || status_blocks_fix (v->status))
            continue;
          if (now - known <= rules->grace[sev])
            continue;
          snprintf (code, sizeof (code), "FIXABLE_%s", severity_name (v->severity));
          if (waived (ws, code, v->id, v->pkg) || cleared_by_vex (rules, rec, v->id, now, d))
            continue;
          if (known < oldest)
            {
              oldest = known;
              oldest_source = v->fix_known_since ? v->fix_known_source : NULL;
            }
          if (count < 8)
            {
              char *n = NULL;
              xasprintf (&n, "%s%s%s", cves ? cves : "", cves ? "," : "", v->id);
              free (cves);
              cves = n;
            }
          if (example == NULL)
            xasprintf (&example, "%s %s (installed %s, fixed in %s)", v->id, v->pkg,
                       v->installed ? v->installed : "?", v->fixed);
          append_upgrade (&upgrades, &n_upgrades, v);
          count++;
        }
      if (count == 0)
        continue;
      snprintf (code, sizeof (code), "FIXABLE_%s", severity_name ((enum pg_severity) sev));
      format_duration (rules->grace[sev], grace, sizeof (grace));
      format_rfc3339 (oldest, since, sizeof (since));
      r = add_reason (d, code, true);
      xasprintf (&r->detail,
                 "%zu %s vulnerabilit%s fixable for longer than %s (oldest fix known since %s%s%s), e.g. %s",
                 count, severity_name ((enum pg_severity) sev), count == 1 ? "y" : "ies", grace, since,
                 oldest_source ? ", " : "", oldest_source ? oldest_source : "", example);
      xasprintf (&r->remedy, "rebuild the image with %s%s", upgrades, n_upgrades > 4 ? " and more" : "");
      {
        char key[32];
        snprintf (key, sizeof (key), "cves_%s", severity_name ((enum pg_severity) sev));
        for (char *k = key; *k; k++)
          *k = (char) tolower ((unsigned char) *k);
        logfmt_append (&r->log_fields, key, cves);
      }
    }
}

static void
check_one_floor (const struct pg_min_version *m, enum pg_version_scheme scheme, const char *pkg,
                 const char *installed, const struct pg_image_record *rec, struct waiver_state *ws,
                 struct pg_decision *d)
{
  cleanup_error pg_error_t verr = NULL;
  struct pg_reason *r;
  int cmp = 0;
  bool bad;

  if (strcmp (m->package, pkg) != 0)
    return;
  /* A version that cannot be compared cannot prove the floor is met.  */
  bad = version_compare (scheme, installed, m->version, &cmp, &verr) < 0;
  if (!bad && cmp >= 0)
    return;
  if (waived (ws, "BELOW_MIN_VERSION", NULL, pkg))
    return;
  r = add_reason (d, "BELOW_MIN_VERSION", true);
  if (bad)
    xasprintf (&r->detail, "%s %s cannot be compared with the minimum %s: %s", pkg, installed, m->version,
               verr->msg);
  else
    xasprintf (&r->detail, "%s %s is below the minimum %s for %s%s%s", pkg, installed, m->version,
               m->distro.family, m->distro.release ? " " : "", m->distro.release ? m->distro.release : "");
  xasprintf (&r->remedy, "rebuild on a base with %s >= %s", pkg, m->version);
  logfmt_append (&r->log_fields, "package", pkg);
  logfmt_append (&r->log_fields, "installed", installed);
  logfmt_append (&r->log_fields, "required", m->version);
}

static void
check_min_versions (const struct pg_policy *p, const struct pg_image_record *rec, struct waiver_state *ws,
                    struct pg_decision *d)
{
  enum pg_version_scheme scheme;
  cleanup_error pg_error_t serr = NULL;

  if (p->n_min_versions == 0 || rec->os_family == NULL
      || version_scheme_for_distro (rec->os_family, &scheme, &serr) < 0)
    return;
  for (size_t i = 0; i < p->n_min_versions; i++)
    {
      const struct pg_min_version *m = &p->min_versions[i];
      size_t before = d->n_reasons;
      if (!distro_matches (&m->distro, rec->os_family, rec->os_name))
        continue;
      for (size_t j = 0; j < rec->n_packages && d->n_reasons == before; j++)
        check_one_floor (m, scheme, rec->packages[j].name, rec->packages[j].version, rec, ws, d);
      for (size_t j = 0; j < rec->n_vulns && d->n_reasons == before; j++)
        if (rec->vulns[j].installed)
          check_one_floor (m, scheme, rec->vulns[j].pkg, rec->vulns[j].installed, rec, ws, d);
    }
}

static void
check_superseded (const struct pg_rules *rules, const struct pg_eval_extra *x,
                  const struct pg_image_record *rec, const struct pg_context *ctx, int64_t now,
                  struct waiver_state *ws, struct pg_decision *d)
{
  char grace[32], since[32];
  struct pg_reason *r;

  if (rules->superseded_grace < 0 || x == NULL || x->newer_digest == NULL
      || now - x->newer_since <= rules->superseded_grace || waived (ws, "SUPERSEDED", NULL, NULL))
    return;
  format_duration (rules->superseded_grace, grace, sizeof (grace));
  format_rfc3339 (x->newer_since, since, sizeof (since));
  r = add_reason (d, "SUPERSEDED", true);
  xasprintf (&r->detail, "a newer build of %s (%s) exists since %s; the grace period of %s is over",
             x->newer_name, x->newer_digest, since, grace);
  xasprintf (&r->remedy, "use the latest image: %s@%s", x->newer_name, x->newer_digest);
  logfmt_append (&r->log_fields, "newer", x->newer_digest);
}

static void
add_eol_reason (const struct pg_image_record *rec, const char *why, struct pg_decision *d)
{
  struct pg_reason *r = add_reason (d, "EOL_OS", true);
  xasprintf (&r->detail, "%s %s is past its end of life (%s)", rec->os_family ? rec->os_family : "the OS",
             rec->os_name ? rec->os_name : "", why);
  xasprintf (&r->remedy, "rebuild on a supported release");
  logfmt_append (&r->log_fields, "os", rec->os_name);
}

static void
check_eol (const struct pg_policy *p, const struct pg_image_record *rec, int64_t now, struct waiver_state *ws,
           struct pg_decision *d)
{
  if (rec->eosl)
    {
      if (!waived (ws, "EOL_OS", NULL, NULL))
        add_eol_reason (rec, "the scanner says so", d);
      return;
    }
  for (size_t i = 0; i < p->n_eol; i++)
    if (now >= p->eol[i].date && distro_matches (&p->eol[i].distro, rec->os_family, rec->os_name))
      {
        char when[32];
        cleanup_free char *why = NULL;
        if (waived (ws, "EOL_OS", NULL, NULL))
          return;
        format_rfc3339 (p->eol[i].date, when, sizeof (when));
        xasprintf (&why, "the policy's end of life for %s %s is %s", p->eol[i].distro.family,
                   p->eol[i].distro.release, when);
        add_eol_reason (rec, why, d);
        return;
      }
}

static void
finish_verdict (struct pg_decision *d)
{
  bool deny = false;
  if (d->mode == PG_MODE_OFF || d->n_reasons == 0)
    {
      d->verdict = PG_VERDICT_ALLOW;
      return;
    }
  for (size_t i = 0; i < d->n_reasons; i++)
    deny |= d->reasons[i].deny;
  d->verdict = (deny && d->mode == PG_MODE_ENFORCE) ? PG_VERDICT_DENY : PG_VERDICT_AUDIT;
}

static void
add_verdict_reason (struct pg_decision *d, const char *code, enum pg_verdict v, const char *detail,
                    const char *remedy)
{
  struct pg_reason *r;
  if (v == PG_VERDICT_ALLOW)
    return;
  r = add_reason (d, code, v == PG_VERDICT_DENY);
  r->detail = xstrdup (detail);
  r->remedy = xstrdup (remedy);
}

int
eval_image (const struct pg_policy *policy, const struct pg_image_record *rec,
            const struct pg_eval_extra *extra, const struct pg_context *ctx, int64_t now,
            struct pg_decision *out, pg_error_t *err)
{
  struct pg_rules rules;
  const struct pg_scope *scope;
  struct waiver_state ws = { policy, rec, ctx, now, out };

  memset (out, 0, sizeof (*out));
  scope = policy_select_scope (policy, rec, ctx, &rules);
  out->mode = rules.mode;
  out->scope = xstrdup (scope ? scope->name : "defaults");
  out->policy_version = xstrdup (policy->version);
  if (rec)
    {
      out->image_id = xstrdup (rec->image_id);
      out->image_name = xstrdup (rec->n_repo_tags ? rec->repo_tags[0] : NULL);
    }

  check_revoked (policy, rec, ctx, out);
  if (ctx->digest == NULL && rec == NULL)
    {
      add_verdict_reason (out, "UNIDENTIFIED", policy->on_unidentified,
                          "the image of this container could not be identified",
                          "run images pinned by digest, or through an engine patchgate reads (see README)");
      goto done;
    }
  if (rec == NULL || !rec->has_scan)
    {
      cleanup_free char *detail = NULL;
      const char *label = image_label (rec, ctx);
      if (ctx->digest && strcmp (ctx->digest, label) != 0)
        xasprintf (&detail, "image %s (%s) has never been scanned", label, ctx->digest);
      else
        xasprintf (&detail, "image %s has never been scanned", label);
      add_verdict_reason (out, "UNSCANNED",
                          waived (&ws, "UNSCANNED", NULL, NULL) ? PG_VERDICT_ALLOW : rules.unscanned, detail,
                          "scan it and import the report (patchgate import)");
      goto done;
    }
  check_revoked_bases (extra, rec, out);
  check_scan_age (&rules, rec, ctx, now, &ws, out);
  check_image_age (&rules, rec, ctx, now, &ws, out);
  check_fixable (&rules, rec, now, &ws, out);
  check_min_versions (policy, rec, &ws, out);
  check_superseded (&rules, extra, rec, ctx, now, &ws, out);
  check_eol (policy, rec, now, &ws, out);
done:
  finish_verdict (out);
  return 0;
}

/* ---- the decision, from the store ---- */

static int
load_revoked_bases (pg_store *store, const struct pg_policy *policy, struct pg_eval_extra *x, pg_error_t *err)
{
  for (size_t i = 0; i < policy->n_revoked_bases; i++)
    {
      /* Only the base's layers matter: not its scans and findings.  */
      char **diff_ids = NULL;
      size_t n_diff_ids = 0;
      int r = store_lookup_diff_ids (store, policy->revoked_bases[i], &diff_ids, &n_diff_ids, err);
      if (r < 0)
        return -1;
      if (r == 0)
        continue; /* a base never scanned here has no known layers */
      x->bases = xrealloc (x->bases, (x->n_bases + 1) * sizeof (*x->bases));
      x->bases[x->n_bases].digest = xstrdup (policy->revoked_bases[i]);
      x->bases[x->n_bases].diff_ids = diff_ids;
      x->bases[x->n_bases].n_diff_ids = n_diff_ids;
      x->n_bases++;
    }
  return 0;
}

int
decide_image (pg_store *store, const struct pg_context *ctx, int64_t now, struct pg_decision *out,
              pg_error_t *err)
{
  cleanup_policy struct pg_policy *policy = NULL;
  struct pg_image_record rec;
  struct pg_eval_extra extra = { 0 };
  int found = 0, ret = -1;

  memset (&rec, 0, sizeof (rec));
  if (store_begin (store, false, err) < 0)
    return -1;
  if (policy_load_cached (store, &policy, err) < 0)
    goto out;
  if (ctx->digest)
    {
      /* Evaluation reads a record's packages only for the floors
         (check_min_versions): load just the packages they name.  */
      const char **names = xmalloc0 ((policy->n_min_versions + 1) * sizeof (*names));
      for (size_t i = 0; i < policy->n_min_versions; i++)
        names[i] = policy->min_versions[i].package;
      store_set_package_filter (store, names, policy->n_min_versions);
      free (names);
      found = store_lookup_digest (store, ctx->digest, &rec, err);
      store_set_package_filter (store, NULL, 0);
      if (found < 0)
        goto out;
    }
  if (found && rec.has_scan)
    {
      int r = store_find_newer_build (store, &rec, &extra.newer_digest, &extra.newer_name, &extra.newer_since,
                                      err);
      if (r < 0 || load_revoked_bases (store, policy, &extra, err) < 0)
        goto out;
    }
  ret = eval_image (policy, found ? &rec : NULL, &extra, ctx, now, out, err);
  if (ret == 0 && policy_freshness_check (store, ctx, now, out, err) < 0)
    {
      pg_decision_free (out);
      ret = -1;
    }
out:
  store_rollback (store);
  pg_image_record_free (&rec);
  pg_eval_extra_free (&extra);
  return ret;
}

/* ---- presenting a decision ---- */

char *
decision_summary (const struct pg_decision *d, const struct pg_context *ctx)
{
  char *s = NULL;

  if (d->n_reasons == 0)
    {
      xasprintf (&s, "%s", verdict_name (d->verdict));
      return s;
    }
  xasprintf (&s, "%s: %s", d->reasons[0].detail, d->reasons[0].remedy);
  for (size_t i = 1; i < d->n_reasons; i++)
    {
      char *n = NULL;
      xasprintf (&n, "%s%s%s", s, i == 1 ? " (also: " : ", ", d->reasons[i].code);
      free (s);
      s = n;
    }
  if (d->n_reasons > 1)
    {
      char *n = NULL;
      xasprintf (&n, "%s)", s);
      free (s);
      s = n;
    }
  return s;
}

char *
decision_logfmt (const struct pg_decision *d, const struct pg_context *ctx)
{
  char *line = NULL;
  cleanup_free char *codes = NULL;
  size_t len = 1;

  for (size_t i = 0; i < d->n_reasons; i++)
    len += strlen (d->reasons[i].code) + 1;
  codes = xmalloc0 (len);
  for (size_t i = 0; i < d->n_reasons; i++)
    {
      if (i)
        strcat (codes, ",");
      strcat (codes, d->reasons[i].code);
    }
  logfmt_append (&line, "decision", verdict_name (d->verdict));
  logfmt_append (&line, "container", ctx->container_id ? ctx->container_id : "");
  logfmt_append (&line, "image", ctx->image_ref ? ctx->image_ref : (d->image_name ? d->image_name : ""));
  logfmt_append (&line, "digest", ctx->digest ? ctx->digest : (d->image_id ? d->image_id : ""));
  logfmt_append (&line, "reasons", codes);
  logfmt_append (&line, "policy", d->policy_version ? d->policy_version : "");
  logfmt_append (&line, "mode", mode_name (d->mode));
  logfmt_append (&line, "engine", ctx->engine ? ctx->engine : "runc");
  logfmt_append (&line, "scope", d->scope ? d->scope : "defaults");
  if (ctx->namespace)
    logfmt_append (&line, "namespace", ctx->namespace);
  for (size_t i = 0; i < d->n_reasons; i++)
    if (d->reasons[i].log_fields)
      {
        char *n = NULL;
        xasprintf (&n, "%s %s", line, d->reasons[i].log_fields);
        free (line);
        line = n;
      }
  for (size_t i = 0; i < d->n_waivers_applied; i++)
    logfmt_append (&line, "waiver", d->waivers_applied[i]);
  for (size_t i = 0; i < d->n_waivers_expired; i++)
    logfmt_append (&line, "waiver_expired", d->waivers_expired[i]);
  if (d->log_fields)
    {
      char *n = NULL;
      xasprintf (&n, "%s %s", line, d->log_fields);
      free (line);
      line = n;
    }
  return line;
}

static json_t *
strv_to_json (char **v, size_t n)
{
  json_t *a = json_array ();
  for (size_t i = 0; i < n; i++)
    json_array_append_new (a, json_string (v[i]));
  return a;
}

json_t *
decision_to_json (const struct pg_decision *d, const struct pg_context *ctx)
{
  json_t *reasons = json_array ();
  for (size_t i = 0; i < d->n_reasons; i++)
    json_array_append_new (reasons, json_pack ("{s:s, s:s, s:s, s:b}", "code", d->reasons[i].code, "detail",
                                               d->reasons[i].detail ? d->reasons[i].detail : "", "remedy",
                                               d->reasons[i].remedy ? d->reasons[i].remedy : "", "enforced",
                                               d->reasons[i].deny));
  return json_pack ("{s:s, s:s, s:s, s:s, s:s?, s:s?, s:s?, s:o, s:o, s:o}", "decision",
                    verdict_name (d->verdict), "mode", mode_name (d->mode), "scope",
                    d->scope ? d->scope : "defaults", "policy", d->policy_version ? d->policy_version : "",
                    "image", ctx->image_ref ? ctx->image_ref : d->image_name, "digest", ctx->digest,
                    "image_id", d->image_id, "reasons", reasons, "waivers_applied",
                    strv_to_json (d->waivers_applied, d->n_waivers_applied), "waivers_expired",
                    strv_to_json (d->waivers_expired, d->n_waivers_expired));
}
