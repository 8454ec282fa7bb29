/* Seeded random policies, image records, facts and instants, as
   test_index.c and test_expiring.c draw them: the same seed gives the same
   data.  Header-only, as eval_case.h.  */
#ifndef PATCHGATE_TEST_RANDOM_CASE_H
#define PATCHGATE_TEST_RANDOM_CASE_H

#include "eval_case.h"
#include "rules/policy_cache.h"

#ifndef DAY
#define DAY 86400
#endif

static uint64_t rng_state;

static inline uint64_t
rnd (void)
{
  uint64_t x = (rng_state += 0x9e3779b97f4a7c15ULL);
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

static inline int
pick (int n)
{
  return (int) (rnd () % (uint64_t) n);
}

static inline bool
chance (int percent)
{
  return pick (100) < percent;
}

#define PICK(a) ((a)[pick ((int) (sizeof (a) / sizeof ((a)[0])))])

static const int64_t BASE = 1795000000; /* 2026-11-18 */

static const char *const repos[]
    = { "r.example/a/x", "r.example/a/y", "r.example/b/x", "docker.io/library/nginx" };
static const char *const repo_globs[] = { "r.example/a/*", "r.example/*",   "*",
                                          "r.example/a/x", "r.example/?/x", "docker.io/*",
                                          "r.example/b/*" };
static const char *const ns_values[] = { "ns1", "ns2", "kube-system", "team-a" };
static const char *const ns_globs[] = { "ns*", "kube-*", "ns1", "team-a", "*" };
static const char *const cves[] = { "CVE-1", "CVE-2", "CVE-3", "CVE-4", "CVE-5", "CVE-6", "CVE-7", "CVE-8" };
static const char *const pkgs[] = { "curl", "openssl", "zlib", "libc6", "bash", "musl" };
static const char *const versions[] = { "1.2-3",    "1.2-4",    "1.10-1",    "2.0~rc1-1", "1:0.9-1",
                                        "1.2.3-r1", "1.2.3-r0", "1.10.0-r2", "1.2-3.el9", "bad version!" };
/* Floors: versions each scheme reads.  */
static const char *const dpkg_floors[] = { "1.2-3", "1.2-4", "1.10-1", "2.0~rc1-1", "1:0.9-1" };
static const char *const apk_floors[] = { "1.2.3-r1", "1.2.3-r0", "1.10.0-r2" };
static const char *const rpm_floors[] = { "1.2-3.el9", "1.2-3", "1.10-1" };
static const char *const statuses[] = { NULL,       "fixed",        "affected",     "will_not_fix",
                                        "wont-fix", "not_affected", "fix_deferred", "end_of_life" };
static const char *const durations[] = { "1h", "1d", "3d", "7d", "14d", "30d", "90d", "none" };
static const char *const distro_keys[]
    = { "debian", "debian:12", "alpine", "rhel", "ubuntu:22.04", "debian:10" };
static const char *const eol_keys[] = { "debian:10", "debian:12", "alpine:3.19", "rhel:9", "ubuntu:22.04" };
static const struct
{
  const char *family, *name;
} oses[] = { { "debian", "12.1" },  { "debian", "10.13" }, { "alpine", "3.19.1" }, { "rocky", "9.3" },
             { "ubuntu", "22.04" }, { NULL, NULL },        { "weird", "1" } };
static const char *const codes[]
    = { "UNSCANNED", "SCAN_STALE",       "IMAGE_TOO_OLD", "BELOW_MIN_VERSION", "SUPERSEDED",
        "EOL_OS",    "FIXABLE_CRITICAL", "FIXABLE_HIGH",  "FIXABLE_LOW" };
static const char *const severities[] = { "CRITICAL", "HIGH", "MEDIUM", "LOW", "NEGLIGIBLE", "UNKNOWN" };

#define N_IMAGES 30
#define N_LAYERS 6

/* Image I's digests: its ID, its manifest, a repo digest.  */
static inline void
image_digest (char *out, int round, int i, int kind)
{
  snprintf (out, 72, "sha256:%016x%016x%016x%016llx", round, i, kind, (unsigned long long) 0xabcdef);
}

static inline void
layer (char *out, int k)
{
  snprintf (out, 72, "sha256:%064x", 0x1000 + k);
}

static inline const char *
rand_time_static (int64_t around, int64_t spread)
{
  static char buf[32];
  format_rfc3339 (around + (int64_t) (rnd () % (uint64_t) (2 * spread)) - spread, buf, sizeof (buf));
  return buf;
}

static inline json_t *
rand_rules (bool defaults)
{
  json_t *r = json_object ();
  static const char *const modes[] = { "enforce", "enforce", "audit", "off" };
  static const char *const verdicts[] = { "deny", "audit", "allow" };
  if (chance (defaults ? 80 : 30))
    json_object_set_new (r, "mode", json_string (PICK (modes)));
  if (chance (50))
    json_object_set_new (r, "unscanned", json_string (PICK (verdicts)));
  if (chance (60))
    json_object_set_new (r, "max_scan_age", json_string (PICK (durations)));
  if (chance (50))
    json_object_set_new (r, "max_image_age", json_string (PICK (durations)));
  if (chance (70))
    {
      json_t *g = json_object ();
      for (size_t i = 0; i < 6; i++)
        if (chance (40))
          json_object_set_new (g, severities[i], json_string (PICK (durations)));
      json_object_set_new (r, "fixable_grace", g);
    }
  if (chance (40))
    json_object_set_new (r, "superseded_grace", json_string (PICK (durations)));
  if (chance (40))
    json_object_set_new (r, "vex_max_age", json_string (PICK (durations)));
  if (defaults && chance (50))
    json_object_set_new (r, "on_unidentified", json_string (PICK (verdicts)));
  return r;
}

static inline json_t *
rand_policy (int round)
{
  json_t *doc = json_object (), *scopes = json_array (), *waivers = json_array ();
  json_t *mv = json_object (), *eol = json_object (), *rev = json_object ();
  json_t *rd = json_array (), *rb = json_array ();
  char d[80], v[16];
  int n;

  snprintf (v, sizeof (v), "rand-%d", round);
  json_object_set_new (doc, "version", json_string (v));
  json_object_set_new (doc, "defaults", rand_rules (true));
  n = pick (6);
  for (int i = 0; i < n; i++)
    {
      json_t *s = rand_rules (false), *m = json_object ();
      char name[16];
      snprintf (name, sizeof (name), "s%d", i);
      json_object_set_new (s, "name", json_string (name));
      if (chance (60))
        json_object_set_new (m, "repository", json_string (PICK (repo_globs)));
      if (chance (50) || json_object_size (m) == 0)
        json_object_set_new (m, "namespace", json_string (PICK (ns_globs)));
      json_object_set_new (s, "match", m);
      json_array_append_new (scopes, s);
    }
  json_object_set_new (doc, "scopes", scopes);
  n = pick (5);
  for (int i = 0; i < n; i++)
    {
      const char *key = PICK (distro_keys);
      json_t *o = json_object_get (mv, key);
      if (o == NULL)
        json_object_set_new (mv, key, o = json_object ());
      json_object_set_new (o, PICK (pkgs),
                           json_string (key[0] == 'a'   ? PICK (apk_floors)
                                        : key[0] == 'r' ? PICK (rpm_floors)
                                                        : PICK (dpkg_floors)));
    }
  json_object_set_new (doc, "min_versions", mv);
  if (chance (50))
    json_object_set_new (eol, PICK (eol_keys), json_string_nocheck (rand_time_static (BASE, 300 * DAY)));
  json_object_set_new (doc, "eol", eol);
  n = pick (4);
  for (int i = 0; i < n; i++)
    {
      image_digest (d, round, pick (N_IMAGES + 3), pick (3));
      json_array_append_new (rd, json_string (d));
    }
  n = pick (3);
  for (int i = 0; i < n; i++)
    {
      image_digest (d, round, pick (N_IMAGES), pick (2));
      json_array_append_new (rb, json_string (d));
    }
  json_object_set_new (rev, "digests", rd);
  json_object_set_new (rev, "bases", rb);
  json_object_set_new (doc, "revoked", rev);
  n = pick (9);
  for (int i = 0; i < n; i++)
    {
      json_t *w = json_object (), *m = json_object ();
      char id[16];
      snprintf (id, sizeof (id), "W-%d", i);
      if (chance (40))
        json_object_set_new (m, "repository", json_string (PICK (repo_globs)));
      if (chance (30))
        json_object_set_new (m, "namespace", json_string (PICK (ns_globs)));
      if (chance (30) || json_object_size (m) == 0)
        {
          image_digest (d, round, pick (N_IMAGES + 2), pick (3));
          json_object_set_new (m, "digest", json_string (d));
        }
      if (chance (50))
        json_object_set_new (m, "cve", json_string (PICK (cves)));
      if (chance (30))
        json_object_set_new (m, "package", json_string (PICK (pkgs)));
      if (chance (40) || (!json_object_get (m, "cve") && !json_object_get (m, "package")))
        json_object_set_new (m, "reason_code", json_string (PICK (codes)));
      json_object_set_new (w, "id", json_string (id));
      json_object_set_new (w, "match", m);
      json_object_set_new (w, "expires", json_string (rand_time_static (BASE, 200 * DAY)));
      json_object_set_new (w, "reason", json_string ("random"));
      json_object_set_new (w, "owner", json_string ("test"));
      json_array_append_new (waivers, w);
    }
  json_object_set_new (doc, "waivers", waivers);
  return doc;
}

static inline int64_t
rtime (int64_t spread)
{
  return BASE + (int64_t) (rnd () % (uint64_t) (2 * spread)) - spread;
}

/* A random record of image I (in memory), and its digests.  */
static inline void
rand_record (int round, int i, struct pg_image_record *rec, char ***digests, size_t *n_digests)
{
  char d[80];
  int os = pick ((int) (sizeof (oses) / sizeof (oses[0])));
  int n;

  memset (rec, 0, sizeof (*rec));
  rec->rowid = i + 1;
  image_digest (d, round, i, 0);
  rec->image_id = xstrdup (d);
  strv_append (digests, n_digests, d);
  if (chance (80))
    {
      image_digest (d, round, i, 1);
      rec->manifest_digest = xstrdup (d);
      strv_append (digests, n_digests, d);
    }
  if (chance (40))
    {
      image_digest (d, round, i, 2);
      strv_append (digests, n_digests, d);
    }
  n = pick (3);
  for (int k = 0; k < n; k++)
    {
      const char *r = PICK (repos);
      if (rec->n_repositories == 0 || strcmp (rec->repositories[rec->n_repositories - 1], r) < 0)
        strv_append (&rec->repositories, &rec->n_repositories, r);
    }
  for (size_t k = 0; k < rec->n_repositories; k++)
    if (chance (70))
      {
        cleanup_free char *t = NULL;
        xasprintf (&t, "%s:%d", rec->repositories[k], pick (3));
        strv_append (&rec->repo_tags, &rec->n_repo_tags, t);
      }
  rec->created = chance (10) ? 315532800 : rtime (400 * DAY);
  rec->first_seen = rtime (400 * DAY);
  /* Layers: a base's prefix (0..2 or 0..3 or 4) then the image's own.  */
  n = pick (5);
  for (int k = 0; k < n; k++)
    {
      char l[80];
      layer (l, k < 3 && chance (85) ? k : 100 + i * 10 + k);
      strv_append (&rec->diff_ids, &rec->n_diff_ids, l);
    }
  rec->has_scan = chance (92);
  if (!rec->has_scan)
    return;
  rec->scanned_at = rtime (300 * DAY);
  rec->scanner = xstrdup ("trivy");
  rec->os_family = xstrdup (oses[os].family);
  rec->os_name = xstrdup (oses[os].name);
  rec->eosl = chance (8);
  n = pick (12);
  for (int k = 0; k < n; k++)
    {
      struct pg_vuln *v;
      rec->vulns = xrealloc (rec->vulns, (rec->n_vulns + 1) * sizeof (*v));
      v = &rec->vulns[rec->n_vulns++];
      memset (v, 0, sizeof (*v));
      v->id = xstrdup (PICK (cves));
      v->pkg = xstrdup (PICK (pkgs));
      v->installed = chance (90) ? xstrdup (PICK (versions)) : NULL;
      v->fixed = chance (60) ? xstrdup (chance (80) ? PICK (versions) : "1.2-4, 1.3-1") : NULL;
      v->severity = (enum pg_severity) pick (PG_SEV_COUNT);
      v->status = xstrdup (PICK (statuses));
      v->fix_known_since = v->fixed && chance (80) ? rtime (300 * DAY) : 0;
    }
  n = pick (7);
  for (int k = 0; k < n; k++)
    {
      struct pg_package *p;
      rec->packages = xrealloc (rec->packages, (rec->n_packages + 1) * sizeof (*p));
      p = &rec->packages[rec->n_packages++];
      p->name = xstrdup (PICK (pkgs));
      p->version = xstrdup (PICK (versions));
    }
  n = pick (4);
  for (int k = 0; k < n; k++)
    {
      struct pg_vex *x;
      rec->vex = xrealloc (rec->vex, (rec->n_vex + 1) * sizeof (*x));
      x = &rec->vex[rec->n_vex++];
      memset (x, 0, sizeof (*x));
      x->vuln_id = xstrdup (cves[k]);
      x->status = xstrdup (chance (50) ? "not_affected" : "fixed");
      x->issued = rtime (300 * DAY);
    }
}

struct rand_round
{
  struct pg_policy *policy;
  struct pg_eval_facts globals;
  struct pg_image_record recs[N_IMAGES];
  struct pg_eval_facts newer[N_IMAGES];
  char **digests[N_IMAGES];
  size_t n_digests[N_IMAGES];
};

static inline void
rand_round_free (struct rand_round *r)
{
  policy_free (r->policy);
  pg_eval_facts_free (&r->globals);
  for (int i = 0; i < N_IMAGES; i++)
    {
      pg_image_record_free (&r->recs[i]);
      pg_eval_facts_free (&r->newer[i]);
      strv_free (r->digests[i], r->n_digests[i]);
    }
}

static inline void
rand_round_make (int round, struct rand_round *r)
{
  cleanup_json json_t *doc = rand_policy (round);
  pg_error_t err = NULL;

  memset (r, 0, sizeof (*r));
  if (policy_parse_json (doc, "random", &r->policy, &err) < 0)
    {
      cleanup_free char *text = json_dumps (doc, 0);
      fail_msg ("random policy %d: %s\n%s", round, err->msg, text);
    }
  for (int i = 0; i < N_IMAGES; i++)
    {
      rand_record (round, i, &r->recs[i], &r->digests[i], &r->n_digests[i]);
      if (chance (40))
        {
          char d[80];
          image_digest (d, round, pick (N_IMAGES), 0);
          r->newer[i].newer_digest = xstrdup (d);
          r->newer[i].newer_name = xstrdup (PICK (repos));
          r->newer[i].newer_since = rtime (300 * DAY);
        }
    }
  /* The revoked bases "the database knows": their layers, a prefix that
     some images start with.  */
  for (size_t b = 0; b < r->policy->n_revoked_bases; b++)
    if (chance (80))
      {
        struct pg_revoked_base *x;
        int n = 1 + pick (3);
        r->globals.bases = xrealloc (r->globals.bases, (r->globals.n_bases + 1) * sizeof (*x));
        x = &r->globals.bases[r->globals.n_bases++];
        memset (x, 0, sizeof (*x));
        x->digest = xstrdup (r->policy->revoked_bases[b]);
        for (int k = 0; k < n; k++)
          {
            char l[80];
            layer (l, k);
            strv_append (&x->diff_ids, &x->n_diff_ids, l);
          }
      }
  r->globals.bundle_created = chance (50) ? rtime (100 * DAY) : 0;
  r->globals.bundle_serial = pick (100);
}

/* Instants where something turns: a record's times plus the policy's
   durations, waiver expiries, end-of-life dates, each -1, 0, +1.  */
static inline int64_t
rand_instant (const struct rand_round *r, const struct pg_image_record *rec)
{
  static const int64_t durs[] = { 0, 3600, DAY, 3 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 90 * DAY };
  int64_t t;
  switch (pick (8))
    {
    case 0:
      return rtime (500 * DAY);
    case 1:
      t = r->policy->n_waivers ? r->policy->waivers[pick ((int) r->policy->n_waivers)].expires : BASE;
      break;
    case 2:
      t = r->policy->n_eol ? r->policy->eol[0].date : BASE;
      break;
    case 3:
      t = rec && rec->n_vulns ? rec->vulns[pick ((int) rec->n_vulns)].fix_known_since : BASE;
      break;
    case 4:
      t = rec && rec->n_vex ? rec->vex[pick ((int) rec->n_vex)].issued : BASE;
      break;
    case 5:
      t = rec ? rec->created : BASE;
      break;
    case 6:
      t = rec ? rec->first_seen : BASE;
      break;
    default:
      t = rec ? rec->scanned_at : BASE;
      break;
    }
  return t + PICK (durs) + pick (3) - 1;
}

#endif
