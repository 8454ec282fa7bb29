/* gen_db: a synthetic but realistic policy database for the benchmarks.
 *
 *   gen_db --db FILE --images N [--packages P] [--vulns V] [--seed S] [--now RFC3339]
 *   gen_db --db FILE --upgrade     (migrate a kept database to the current schema)
 *
 * Everything is a function of (seed, image index), so the same parameters give
 * the same database.  The shape:
 *
 * - repositories registry.example.com/<team>/app-<r>, ten teams; each
 *   repository has five tags (1.0 1.1 2.0 2.1 latest) and each tag four
 *   builds, scanned 0-5, 8-20, 25-50 and 60-150 days before --now;
 * - OS mix per repository: debian 12 (55%), debian 10 (5%, end of life),
 *   ubuntu 22.04 (15%), alpine 3.19 (12%) and 3.16 (3%), rocky 9 (10%);
 *   images 0-3 are the base images (layers only) the others are built FROM;
 * - each image: one Trivy scan with P OS packages (60% from the distro's
 *   base set, the rest spread over a 700-package universe) and V findings of
 *   mixed severity and fix state over a 40,000-CVE universe;
 * - a policy with 24 scopes, 36 floors over four distros, 25 revoked
 *   digests, two revoked bases (both in the database), an end-of-life table
 *   and 40 waivers, some expired (about 15 KB of JSON as the admin wrote it).
 *
 * It goes through the store API (store_add_scan) in one transaction per
 * 10,000 images, with the journal and fsync off: a crash while generating
 * leaves a file that run.sh never reuses (it generates into a temporary name
 * and renames it only on success).
 *
 * On success it prints key=value lines on stdout: the image the benchmarks
 * start (target_*: allowed under the policy at --now), one that is denied
 * (deny_*), and the time taken.
 */
#include "rules/policy.h"
#include "store/store.h"
#include "base/clock.h"
#include "rules/policy_cache.h"

#include <getopt.h>
#include <sys/resource.h>
#include <string.h>
#include <time.h>

/* Bump when the generated data change: run.sh regenerates kept databases
   whose data_version differs.  */
#define GEN_DATA_VERSION 1

#define TAGS 5
#define BUILDS 4
#define PER_REPO (TAGS * BUILDS)
#define DAY 86400
#define CVE_UNIVERSE 40000
#define UNIVERSE 700
#define MAX_PKGS 1024
#define MAX_VULNS 512

static uint64_t seed = 1;

static uint64_t
mix (uint64_t x)
{
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/* A deterministic 64-bit value for (what, a, b).  */
static uint64_t
h3 (uint64_t what, uint64_t a, uint64_t b)
{
  return mix (mix (mix (seed ^ (what << 56)) ^ a) ^ (b * 0x2545f4914f6cdd1dULL));
}

static void
hex_digest (char *out, uint64_t what, uint64_t a)
{
  strcpy (out, "sha256:");
  for (int k = 0; k < 4; k++)
    snprintf (out + 7 + 16 * k, 17, "%016llx", (unsigned long long) h3 (what, a, (uint64_t) k));
}

enum
{
  H_CONFIG = 1,
  H_MANIFEST,
  H_LAYER,
  H_BASELAYER,
  H_OS,
  H_TIME,
  H_CREATED,
  H_PKG,
  H_VER,
  H_VULN,
  H_SEV,
  H_FIX,
  H_REVOKED,
};

static const char *const teams[]
    = { "payments", "legacy", "web", "data", "platform", "ml", "search", "identity", "billing", "infra" };
static const char *const tags[TAGS] = { "1.0", "1.1", "2.0", "2.1", "latest" };

/* The operating systems; the first four have a base image in the DB.  */
struct os
{
  const char *family; /* as the importers store it */
  const char *name;
  const char *base_repo; /* the base image's name */
  int universe;          /* which package universe */
  bool eosl;
};
enum
{
  OS_DEBIAN12,
  OS_DEBIAN10,
  OS_ALPINE316,
  OS_ROCKY9,
  OS_UBUNTU2204,
  OS_ALPINE319,
  OS_COUNT
};
static const struct os oses[OS_COUNT] = {
  [OS_DEBIAN12] = { "debian", "12.11", "docker.io/library/debian:12", 0, false },
  [OS_DEBIAN10] = { "debian", "10.13", "docker.io/library/debian:10", 0, true },
  [OS_ALPINE316] = { "alpine", "3.16.9", "docker.io/library/alpine:3.16", 2, false },
  [OS_ROCKY9] = { "rocky", "9.3", "docker.io/library/rockylinux:9", 3, false },
  [OS_UBUNTU2204] = { "ubuntu", "22.04", "docker.io/library/ubuntu:22.04", 1, false },
  [OS_ALPINE319] = { "alpine", "3.19.1", "docker.io/library/alpine:3.19", 2, false },
};
#define N_BASES 4 /* images 0..3 are the bases of OS 0..3 */

/* Package universes: real names first (the ones floors name), then made-up
   library names.  */
static const char *const debian_core[] = { "curl",
                                           "libcurl4",
                                           "openssl",
                                           "libssl3",
                                           "libc6",
                                           "libc-bin",
                                           "zlib1g",
                                           "bash",
                                           "coreutils",
                                           "tar",
                                           "gzip",
                                           "libxml2",
                                           "libgnutls30",
                                           "libsqlite3-0",
                                           "libexpat1",
                                           "perl-base",
                                           "libpcre2-8-0",
                                           "libsystemd0",
                                           "libudev1",
                                           "apt",
                                           "dpkg",
                                           "login",
                                           "passwd",
                                           "util-linux",
                                           "mount",
                                           "libgcrypt20",
                                           "libzstd1",
                                           "liblzma5",
                                           "libbz2-1.0",
                                           "ncurses-base",
                                           "libtinfo6",
                                           "sed",
                                           "grep",
                                           "findutils",
                                           "diffutils",
                                           "hostname",
                                           "tzdata",
                                           "ca-certificates",
                                           "libkrb5-3",
                                           "libgssapi-krb5-2",
                                           "libldap-2.5-0",
                                           "libnghttp2-14",
                                           "libidn2-0",
                                           "libpsl5",
                                           "librtmp1",
                                           "libssh2-1",
                                           "libbrotli1",
                                           "libtasn1-6",
                                           "libp11-kit0",
                                           "libffi8",
                                           NULL };
static const char *const alpine_core[] = { "musl",
                                           "busybox",
                                           "curl",
                                           "libcurl",
                                           "openssl",
                                           "libssl3",
                                           "libcrypto3",
                                           "zlib",
                                           "apk-tools",
                                           "alpine-baselayout",
                                           "ca-certificates-bundle",
                                           "libc-utils",
                                           "scanelf",
                                           "ssl_client",
                                           "musl-utils",
                                           "libxml2",
                                           "expat",
                                           "nghttp2-libs",
                                           "brotli-libs",
                                           "xz-libs",
                                           "zstd-libs",
                                           "pcre2",
                                           "sqlite-libs",
                                           "ncurses-libs",
                                           "readline",
                                           "bash",
                                           "libffi",
                                           "libgcc",
                                           "libstdc++",
                                           "tzdata",
                                           NULL };
static const char *const rpm_core[] = { "curl",
                                        "libcurl",
                                        "openssl",
                                        "openssl-libs",
                                        "glibc",
                                        "glibc-common",
                                        "zlib",
                                        "bash",
                                        "coreutils",
                                        "tar",
                                        "gzip",
                                        "libxml2",
                                        "gnutls",
                                        "sqlite-libs",
                                        "expat",
                                        "pcre2",
                                        "systemd-libs",
                                        "rpm",
                                        "rpm-libs",
                                        "dnf",
                                        "python3",
                                        "python3-libs",
                                        "krb5-libs",
                                        "libssh",
                                        "nghttp2",
                                        "libidn2",
                                        "libzstd",
                                        "xz-libs",
                                        "bzip2-libs",
                                        "ncurses-libs",
                                        "sed",
                                        "grep",
                                        "findutils",
                                        "tzdata",
                                        "ca-certificates",
                                        "libgcrypt",
                                        "libffi",
                                        "p11-kit",
                                        NULL };
static const char *const word[]
    = { "xml",  "json",  "ssl",   "z",       "png",      "jpeg",       "yaml",      "uv",     "event",
        "pq",   "mysql", "ldap",  "sasl",    "krb",      "idn",        "unistring", "gmp",    "mpfr",
        "isl",  "tiff",  "webp",  "gif",     "freetype", "fontconfig", "harfbuzz",  "pango",  "cairo",
        "glib", "dbus",  "cap",   "acl",     "attr",     "selinux",    "semanage",  "audit",  "pam",
        "nss",  "nspr",  "gpg",   "assuan",  "ksba",     "npth",       "lz4",       "snappy", "bsd",
        "md",   "edit",  "magic", "archive", "arch" };

static char *universe_names[4][UNIVERSE];
static int universe_core[4]; /* how many real names lead each universe */

static void
build_universes (void)
{
  const char *const *core[4] = { debian_core, debian_core, alpine_core, rpm_core };
  for (int u = 0; u < 4; u++)
    {
      int n = 0;
      for (; core[u][n]; n++)
        universe_names[u][n] = xstrdup (core[u][n]);
      universe_core[u] = n;
      for (int i = n; i < UNIVERSE; i++)
        {
          const char *w = word[(size_t) i % (sizeof (word) / sizeof (word[0]))];
          if (u == 2)
            xasprintf (&universe_names[u][i], "%s%d-libs", w, i);
          else if (u == 3)
            xasprintf (&universe_names[u][i], "lib%s%d", w, i);
          else
            xasprintf (&universe_names[u][i], "lib%s%d-%d", w, i, 1 + i % 3);
        }
    }
}

/* The version of package P of OS O; AGE releases behind the current one.
   The current version is what floors are set just below.  */
static void
version_of (char *out, size_t size, int o, int p, int age)
{
  uint64_t v = h3 (H_VER, (uint64_t) oses[o].universe, (uint64_t) p);
  int major = 1 + (int) (v % 9), minor = (int) ((v >> 8) % 20), patch = (int) ((v >> 16) % 30);
  int rev = 1 + (int) ((v >> 24) % 5), upd = 4 + (int) ((v >> 32) % 4) - age;
  if (upd < 0)
    {
      patch = patch > 0 ? patch - 1 : 0;
      upd += 4;
    }
  switch (o)
    {
    case OS_DEBIAN12:
      snprintf (out, size, "%d.%d.%d-%d+deb12u%d", major, minor, patch, rev, upd);
      break;
    case OS_DEBIAN10:
      snprintf (out, size, "%d.%d.%d-%d+deb10u%d", major, minor, patch, rev, upd);
      break;
    case OS_UBUNTU2204:
      snprintf (out, size, "%d.%d.%d-%dubuntu0.%d", major, minor, patch, rev, upd);
      break;
    case OS_ROCKY9:
      snprintf (out, size, "%d.%d.%d-%d.el9_%d", major, minor, patch, rev, upd);
      break;
    default:
      snprintf (out, size, "%d.%d.%d-r%d", major, minor, patch, rev + upd);
      break;
    }
}

static int
gcd (int a, int b)
{
  while (b)
    {
      int t = a % b;
      a = b;
      b = t;
    }
  return a;
}

static int
os_of_repo (uint64_t r)
{
  int x = (int) (h3 (H_OS, r, 0) % 100);
  return x < 55   ? OS_DEBIAN12
         : x < 60 ? OS_DEBIAN10
         : x < 75 ? OS_UBUNTU2204
         : x < 87 ? OS_ALPINE319
         : x < 90 ? OS_ALPINE316
                  : OS_ROCKY9;
}

/* Reusable buffers: one image at a time.  */
static char s_config[80], s_manifest[80], s_repo_digest[200], s_repo_tag[200], s_repo_tag2[200];
static char *s_repo_digests[1], *s_repo_tags[2];
static char s_diff[12][80];
static char *s_diffs[12];
static char s_pkgname[MAX_PKGS][48], s_pkgver[MAX_PKGS][40];
static struct pg_package s_pkgs[MAX_PKGS];
static char s_vid[MAX_VULNS][24], s_fixed[MAX_VULNS][40];
static struct pg_vuln s_vulns[MAX_VULNS];

struct gen
{
  uint64_t images;
  int packages;
  int vulns;
  int64_t now;
  uint64_t target, deny;
  char target_cve_waived[24];
};

static uint64_t
target_index (uint64_t n)
{
  uint64_t repos = n / PER_REPO;
  uint64_t r = (repos / 2) / 10 * 10; /* team 0: payments */
  return r * PER_REPO + (TAGS - 1) * BUILDS + (BUILDS - 1);
}

static void
make_scan (const struct gen *g, uint64_t i, struct pg_scan *s)
{
  bool base = i < N_BASES;
  bool target = i == g->target;
  uint64_t r = i / PER_REPO;
  int t = (int) ((i % PER_REPO) / BUILDS), b = (int) (i % BUILDS);
  bool deny = i == g->deny;
  /* The repository of the benchmarks' images is on debian 12.  */
  int o = base ? (int) i : r == g->target / PER_REPO ? OS_DEBIAN12 : os_of_repo (r);
  int u = oses[o].universe;
  int age_rel = BUILDS - 1 - b; /* releases behind for this build */
  uint64_t th = h3 (H_TIME, i, 0);
  static const int lo[BUILDS] = { 60, 25, 8, 0 }, span[BUILDS] = { 90, 25, 12, 5 };
  int64_t scanned;
  int n_layers, np, nv;

  memset (s, 0, sizeof (*s));
  s->scanner = "trivy";
  s->scanner_version = "0.58.1";
  s->source = "gen_db";
  hex_digest (s_config, H_CONFIG, i);
  hex_digest (s_manifest, H_MANIFEST, i);
  s->image_id = s_config;
  s->manifest_digest = s_manifest;
  if (base)
    {
      const char *colon = strrchr (oses[o].base_repo, ':');
      snprintf (s_repo_tag, sizeof (s_repo_tag), "%s", oses[o].base_repo);
      snprintf (s_repo_digest, sizeof (s_repo_digest), "%.*s@%s", (int) (colon - oses[o].base_repo),
                oses[o].base_repo, s_manifest);
    }
  else
    {
      snprintf (s_repo_tag, sizeof (s_repo_tag), "registry.example.com/%s/app-%llu:%s", teams[r % 10],
                (unsigned long long) r, tags[t]);
      snprintf (s_repo_digest, sizeof (s_repo_digest), "registry.example.com/%s/app-%llu@%s", teams[r % 10],
                (unsigned long long) r, s_manifest);
    }
  s_repo_tags[0] = s_repo_tag;
  s->repo_tags = s_repo_tags;
  s->n_repo_tags = 1;
  /* The newest build of tag 2.1 also carries "latest"'s sibling "2".  */
  if (!base && t == 3 && b == BUILDS - 1)
    {
      snprintf (s_repo_tag2, sizeof (s_repo_tag2), "registry.example.com/%s/app-%llu:2", teams[r % 10],
                (unsigned long long) r);
      s_repo_tags[1] = s_repo_tag2;
      s->n_repo_tags = 2;
    }
  s_repo_digests[0] = s_repo_digest;
  s->repo_digests = s_repo_digests;
  s->n_repo_digests = 1;

  scanned = g->now - (int64_t) lo[b] * DAY - (int64_t) (th % ((uint64_t) span[b] * DAY + 1)) - 3600;
  if (target)
    scanned = g->now - DAY;
  s->scanned_at = scanned;
  s->created = scanned - (int64_t) (h3 (H_CREATED, i, 0) % (3 * DAY));
  if (!target && h3 (H_CREATED, i, 1) % 10 == 0)
    s->created = 315532800; /* a reproducible build: 1980-01-01 */
  s->os_family = (char *) oses[o].family;
  s->os_name = (char *) oses[o].name;
  s->eosl = oses[o].eosl;

  /* Layers: the OS base's three, then the application's.  */
  n_layers = base ? 3 : 3 + 2 + (int) (th >> 40) % 4;
  for (int k = 0; k < n_layers; k++)
    {
      if (k < 3)
        hex_digest (s_diff[k], H_BASELAYER, (uint64_t) o * 16 + (uint64_t) k);
      else
        hex_digest (s_diff[k], H_LAYER, i * 16 + (uint64_t) k);
      s_diffs[k] = s_diff[k];
    }
  s->diff_ids = s_diffs;
  s->n_diff_ids = (size_t) n_layers;

  /* Packages: the distro's base set first, then a spread of the rest.  */
  np = base ? g->packages / 3 : g->packages;
  {
    int core = np * 6 / 10, rest = UNIVERSE - core;
    uint64_t ph = h3 (H_PKG, i, 0);
    int start = (int) (ph % (uint64_t) rest), step = 1 + (int) ((ph >> 20) % 50);
    while (gcd (step, rest) != 1) /* a permutation of the rest: no package twice */
      step++;
    for (int k = 0; k < np && k < MAX_PKGS; k++)
      {
        int p = k < core ? k : core + (start + (k - core) * step) % rest;
        snprintf (s_pkgname[k], sizeof (s_pkgname[k]), "%s", universe_names[u][p]);
        version_of (s_pkgver[k], sizeof (s_pkgver[k]), o, p,
                    target ? 0 : age_rel + (int) (h3 (H_VER, i, (uint64_t) p) % 2));
        s_pkgs[k].name = s_pkgname[k];
        s_pkgs[k].version = s_pkgver[k];
      }
    s->packages = s_pkgs;
    s->n_packages = (size_t) np;
  }

  /* Findings: distinct CVEs over packages of this image.  */
  nv = base ? g->vulns / 5 : g->vulns;
  {
    uint64_t vh = h3 (H_VULN, i, 0);
    uint64_t start = vh % CVE_UNIVERSE, step = 1 + (vh >> 20) % 997;
    while (gcd ((int) step, CVE_UNIVERSE) != 1) /* no CVE twice */
      step++;
    for (int k = 0; k < nv && k < MAX_VULNS; k++)
      {
        struct pg_vuln *v = &s_vulns[k];
        uint64_t c = (start + (uint64_t) k * step) % CVE_UNIVERSE;
        uint64_t sh = h3 (H_SEV, c, 0), fh = h3 (H_FIX, i, (uint64_t) k);
        int sev = (int) (sh % 100), fx = (int) (fh % 100);
        int p = (int) ((sh >> 16) % (uint64_t) (np < 40 ? np : 40)); /* most findings hit the base set */

        if ((fh >> 8) % 4 == 0)
          p = (int) ((fh >> 16) % (uint64_t) np);
        memset (v, 0, sizeof (*v));
        snprintf (s_vid[k], sizeof (s_vid[k]), "CVE-%d-%05d", 2019 + (int) (c % 8), 1000 + (int) (c / 8));
        v->id = s_vid[k];
        v->pkg = s_pkgname[p];
        v->installed = s_pkgver[p];
        v->severity = sev < 5    ? PG_SEV_CRITICAL
                      : sev < 25 ? PG_SEV_HIGH
                      : sev < 65 ? PG_SEV_MEDIUM
                      : sev < 90 ? PG_SEV_LOW
                      : sev < 95 ? PG_SEV_NEGLIGIBLE
                                 : PG_SEV_UNKNOWN;
        if (fx < 55)
          {
            version_of (s_fixed[k], sizeof (s_fixed[k]), o, p, -1);
            v->fixed = s_fixed[k];
            v->status = "fixed";
          }
        else if (fx < 85)
          v->status = "affected";
        else if (fx < 95)
          v->status = "will_not_fix";
        else
          v->status = "fix_deferred";
        if (target && v->fixed && (v->severity == PG_SEV_CRITICAL || v->severity == PG_SEV_HIGH))
          {
            /* The image the benchmarks start must be allowed: its urgent
               fixable findings are fresh CVEs, first fixed a day ago ...  */
            snprintf (s_vid[k], sizeof (s_vid[k]), "CVE-2026-9%04d", k);
          }
      }
    if ((target || deny) && nv > 0)
      {
        /* ... but one old critical one (the denied image, an older build,
           had it first), waived for the payments team.  */
        struct pg_vuln *v = &s_vulns[0];
        v->pkg = s_pkgname[0];
        v->installed = s_pkgver[0];
        snprintf (s_vid[0], sizeof (s_vid[0]), "CVE-2019-00042");
        snprintf (s_fixed[0], sizeof (s_fixed[0]), "%s", "99.0.0-1+deb12u1");
        v->fixed = s_fixed[0];
        v->status = "fixed";
        v->severity = PG_SEV_CRITICAL;
      }
    s->vulns = s_vulns;
    s->n_vulns = (size_t) nv;
  }
}

/* ---- the policy ---- */

static void
add_floors (json_t *mv, const char *key, int o, const char *const *pkgs)
{
  json_t *obj = json_object ();
  int u = oses[o].universe;
  for (; *pkgs; pkgs++)
    for (int p = 0; p < universe_core[u]; p++)
      if (strcmp (universe_names[u][p], *pkgs) == 0)
        {
          char v[40];
          version_of (v, sizeof (v), o, p, 1); /* one release behind current */
          json_object_set_new (obj, *pkgs, json_string (v));
        }
  json_object_set_new (mv, key, obj);
}

static char *
make_policy (const struct gen *g)
{
  json_t *doc = json_object (), *scopes = json_array (), *mv = json_object (), *waivers = json_array ();
  json_t *revoked_digests = json_array (), *bases = json_array ();
  char d[80], ts[32];
  char *out;
  static const char *const deb[]
      = { "curl",        "libcurl4",  "openssl",      "libssl3",       "libc6",     "zlib1g", "libxml2",
          "libgnutls30", "libexpat1", "libsqlite3-0", "libnghttp2-14", "libssh2-1", NULL };
  static const char *const alp[]
      = { "musl", "busybox", "curl", "libcurl", "openssl", "libssl3", "libcrypto3", "zlib", NULL };
  static const char *const rpm[]
      = { "curl", "libcurl", "openssl", "openssl-libs", "glibc", "zlib", "libxml2", "expat", NULL };

  json_object_set_new (doc, "version", json_sprintf ("bench-%llu", (unsigned long long) seed));
  json_object_set_new (doc, "defaults",
                       json_pack ("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:s}", "mode", "enforce",
                                  "unscanned", "deny", "on_unidentified", "deny", "max_scan_age", "7d",
                                  "max_image_age", "90d", "fixable_grace", "CRITICAL", "7d", "HIGH", "30d",
                                  "superseded_grace", "14d"));
  json_array_append_new (scopes, json_pack ("{s:s, s:{s:s}, s:s}", "name", "system", "match", "namespace",
                                            "kube-system", "mode", "audit"));
  json_array_append_new (scopes, json_pack ("{s:s, s:{s:s}, s:s}", "name", "monitoring", "match", "namespace",
                                            "monitoring", "mode", "audit"));
  json_array_append_new (scopes, json_pack ("{s:s, s:{s:s}, s:s}", "name", "sandboxes", "match", "namespace",
                                            "sandbox-*", "mode", "off"));
  for (size_t t = 0; t < 10; t++)
    {
      char glob[96], name[32];
      snprintf (glob, sizeof (glob), "registry.example.com/%s/*", teams[t]);
      snprintf (name, sizeof (name), "team-%s", teams[t]);
      if (t == 0)
        json_array_append_new (scopes, json_pack ("{s:s, s:{s:s}, s:s, s:{s:s, s:s}}", "name", "payments",
                                                  "match", "repository", glob, "max_scan_age", "3d",
                                                  "fixable_grace", "CRITICAL", "3d", "HIGH", "14d"));
      else if (t == 1)
        json_array_append_new (scopes,
                               json_pack ("{s:s, s:{s:s}, s:s, s:s}", "name", name, "match", "repository",
                                          glob, "max_image_age", "365d", "superseded_grace", "none"));
      else
        json_array_append_new (scopes, json_pack ("{s:s, s:{s:s}, s:s}", "name", name, "match", "repository",
                                                  glob, "max_scan_age", t % 2 ? "14d" : "7d"));
    }
  for (size_t t = 0; t < 10; t++)
    {
      char glob[96], name[40], ns[32];
      snprintf (glob, sizeof (glob), "registry.example.com/%s/app-1*", teams[t]);
      snprintf (name, sizeof (name), "staging-%s", teams[t]);
      snprintf (ns, sizeof (ns), "%s-staging", teams[t]);
      json_array_append_new (scopes, json_pack ("{s:s, s:{s:s, s:s}, s:s}", "name", name, "match",
                                                "namespace", ns, "repository", glob, "mode", "audit"));
    }
  json_array_append_new (scopes, json_pack ("{s:s, s:{s:s}, s:s}", "name", "dockerhub", "match", "repository",
                                            "docker.io/*", "max_image_age", "30d"));
  json_object_set_new (doc, "scopes", scopes);

  add_floors (mv, "debian", OS_DEBIAN12, deb);
  add_floors (mv, "ubuntu", OS_UBUNTU2204, deb);
  add_floors (mv, "alpine", OS_ALPINE319, alp);
  add_floors (mv, "rhel", OS_ROCKY9, rpm);
  json_object_set_new (doc, "min_versions", mv);
  json_object_set_new (
      doc, "eol",
      json_pack ("{s:s, s:s}", "debian:10", "2024-06-30T00:00:00Z", "alpine:3.16", "2024-05-23T00:00:00Z"));

  for (uint64_t k = 0; k < 20; k++)
    {
      hex_digest (d, H_REVOKED, k);
      json_array_append_new (revoked_digests, json_string (d));
    }
  for (uint64_t k = 0; k < 5 && k * 997 + 11 < g->images; k++)
    if (k * 997 + 11 != g->target)
      {
        hex_digest (d, H_MANIFEST, k * 997 + 11); /* a few real ones */
        json_array_append_new (revoked_digests, json_string (d));
      }
  hex_digest (d, H_MANIFEST, OS_DEBIAN10);
  json_array_append_new (bases, json_string (d));
  hex_digest (d, H_CONFIG, OS_ALPINE316);
  json_array_append_new (bases, json_string (d));
  json_object_set_new (doc, "revoked", json_pack ("{s:o, s:o}", "digests", revoked_digests, "bases", bases));

  for (int k = 0; k < 40; k++)
    {
      json_t *m = json_object ();
      bool expired = k % 6 == 5;
      char id[16], cve[24];
      format_rfc3339 (g->now + (expired ? -30 : 200) * (int64_t) DAY + k * 3600, ts, sizeof (ts));
      snprintf (id, sizeof (id), "W-%d", k + 1);
      snprintf (cve, sizeof (cve), "CVE-%d-%05d", 2019 + k % 8, 1000 + k * 37);
      switch (k % 5)
        {
        case 0:
          json_object_set_new (m, "repository",
                               json_sprintf ("registry.example.com/%s/*", teams[(k / 5) % 10]));
          json_object_set_new (m, "cve", json_string (k == 0 ? "CVE-2019-00042" : cve));
          break;
        case 1:
          json_object_set_new (m, "repository",
                               json_sprintf ("registry.example.com/%s/app-%d", teams[k % 10], k * 41));
          json_object_set_new (m, "reason_code", json_string ("SCAN_STALE"));
          break;
        case 2:
          hex_digest (d, H_MANIFEST, (uint64_t) k * 7919 % (g->images ? g->images : 1));
          json_object_set_new (m, "digest", json_string (d));
          json_object_set_new (m, "cve", json_string (cve));
          break;
        case 3:
          json_object_set_new (m, "namespace", json_sprintf ("team-%d", k));
          json_object_set_new (m, "package", json_string (k % 2 ? "openssl" : "curl"));
          break;
        default:
          json_object_set_new (m, "repository", json_sprintf ("registry.example.com/legacy/app-%d*", k));
          json_object_set_new (m, "reason_code", json_string ("SUPERSEDED"));
          break;
        }
      json_array_append_new (waivers, json_pack ("{s:s, s:o, s:s, s:s, s:s}", "id", id, "match", m, "expires",
                                                 ts, "reason", "benchmark waiver", "owner", "team-bench"));
    }
  json_object_set_new (doc, "waivers", waivers);
  out = json_dumps (doc, JSON_INDENT (2));
  json_decref (doc);
  return out;
}

static double
elapsed (const struct timespec *t0)
{
  struct timespec t1;
  clock_gettime (CLOCK_MONOTONIC, &t1);
  return (double) (t1.tv_sec - t0->tv_sec) + (double) (t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static int
die (pg_error_t *err)
{
  fprintf (stderr, "gen_db: %s\n", (*err)->msg);
  pg_error_release (err);
  return 1;
}

int
main (int argc, char **argv)
{
  static const struct option opts[]
      = { { "db", required_argument, NULL, 'd' },       { "images", required_argument, NULL, 'n' },
          { "packages", required_argument, NULL, 'p' }, { "vulns", required_argument, NULL, 'v' },
          { "seed", required_argument, NULL, 's' },     { "now", required_argument, NULL, 't' },
          { "batch", required_argument, NULL, 'b' },    { "upgrade", no_argument, NULL, 'u' },
          { "data-version", no_argument, NULL, 'V' },   { NULL, 0, NULL, 0 } };
  struct gen g = { .images = 1000, .packages = 200, .vulns = 50 };
  const char *db = NULL, *now_text = "2026-11-20T12:00:00Z";
  uint64_t batch = 10000;
  bool upgrade = false;
  pg_error_t err = NULL;
  pg_store *store = NULL;
  struct pg_policy *policy = NULL;
  struct timespec t0;
  char *policy_json;
  char target_digest[80], deny_digest[80], target_id[80];
  int c;

  while ((c = getopt_long (argc, argv, "d:n:p:v:s:t:b:", opts, NULL)) != -1)
    switch (c)
      {
      case 'd':
        db = optarg;
        break;
      case 'n':
        g.images = strtoull (optarg, NULL, 10);
        break;
      case 'p':
        g.packages = atoi (optarg);
        break;
      case 'v':
        g.vulns = atoi (optarg);
        break;
      case 's':
        seed = strtoull (optarg, NULL, 10);
        break;
      case 't':
        now_text = optarg;
        break;
      case 'b':
        batch = strtoull (optarg, NULL, 10);
        break;
      case 'u':
        upgrade = true;
        break;
      case 'V':
        printf ("%d\n", GEN_DATA_VERSION);
        return 0;
      default:
        fprintf (stderr,
                 "usage: gen_db --db FILE --images N [--packages P] [--vulns V] [--seed S] [--now TIME]\n");
        return 2;
      }
  if (upgrade && db)
    {
      /* A database kept from an earlier run: bring its schema up to this
         patchgate's (store_open migrates a writable store), and store its
         policy again, so that whatever the store derives from it is this
         build's (the parsed-policy cache).  */
      char *json = NULL, *version = NULL;
      int64_t set_at = 0;
      if (store_open (db, 0, &store, &err) < 0 || store_begin (store, true, &err) < 0
          || store_get_policy (store, &json, &version, &set_at, &err) < 0
          || (json && policy_store_set (store, json, version, set_at, &err) < 0)
          || store_commit (store, &err) < 0)
        return die (&err);
      free (json);
      free (version);
      store_close (store);
      return 0;
    }
  if (db == NULL || g.images < 100 || g.packages < 10 || g.packages > MAX_PKGS || g.vulns < 1
      || g.vulns > MAX_VULNS || batch == 0 || parse_rfc3339 (now_text, &g.now) < 0)
    {
      fprintf (
          stderr,
          "gen_db: need --db, --images >= 100, 10 <= --packages <= %d, 1 <= --vulns <= %d, a valid --now\n",
          MAX_PKGS, MAX_VULNS);
      return 2;
    }
  if (access (db, F_OK) == 0)
    {
      fprintf (stderr, "gen_db: %s exists; remove it first\n", db);
      return 2;
    }
  g.target = target_index (g.images);
  g.deny = g.target - (BUILDS - 1); /* the oldest build of the same tag */
  build_universes ();
  clock_gettime (CLOCK_MONOTONIC, &t0);

  if (store_open (db, PG_STORE_CREATE, &store, &err) < 0)
    return die (&err);
  /* Only here: the database is rebuilt from scratch if anything fails.  */
  if (sqlite3_exec (store_db (store),
                    "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -1048576;"
                    "PRAGMA locking_mode = EXCLUSIVE; PRAGMA temp_store = MEMORY;",
                    NULL, NULL, NULL)
      != SQLITE_OK)
    {
      fprintf (stderr, "gen_db: pragmas: %s\n", sqlite3_errmsg (store_db (store)));
      return 1;
    }

  policy_json = make_policy (&g);
  if (policy_parse (policy_json, strlen (policy_json), "generated policy", &policy, &err) < 0)
    {
      fprintf (stderr, "%s\n", policy_json);
      return die (&err);
    }
  if (store_begin (store, true, &err) < 0
      || policy_store_set (store, policy_json, policy->version, g.now, &err) < 0
      || store_commit (store, &err) < 0)
    return die (&err);

  for (uint64_t i = 0; i < g.images; i += batch)
    {
      uint64_t end = i + batch < g.images ? i + batch : g.images;
      if (store_begin (store, true, &err) < 0)
        return die (&err);
      for (uint64_t k = i; k < end; k++)
        {
          struct pg_scan s;
          make_scan (&g, k, &s);
          if (store_add_scan (store, &s, g.now, &err) < 0)
            return die (&err);
        }
      if (store_commit (store, &err) < 0)
        return die (&err);
      if (end % (batch * 10) == 0 || end == g.images)
        fprintf (stderr, "gen_db: %llu/%llu images, %.0f s\n", (unsigned long long) end,
                 (unsigned long long) g.images, elapsed (&t0));
    }

  hex_digest (target_digest, H_MANIFEST, g.target);
  hex_digest (target_id, H_CONFIG, g.target);
  hex_digest (deny_digest, H_MANIFEST, g.deny);
  {
    uint64_t r = g.target / PER_REPO;
    printf ("target_digest=%s\n", target_digest);
    printf ("target_image_id=%s\n", target_id);
    printf ("target_ref=registry.example.com/%s/app-%llu:%s\n", teams[r % 10], (unsigned long long) r,
            tags[TAGS - 1]);
    printf ("deny_digest=%s\n", deny_digest);
  }
  printf ("data_version=%d\n", GEN_DATA_VERSION);
  printf ("images=%llu\npackages=%d\nvulns=%d\nseed=%llu\nnow=%s\n", (unsigned long long) g.images,
          g.packages, g.vulns, (unsigned long long) seed, now_text);
  store_close (store);
  printf ("seconds=%.1f\n", elapsed (&t0));
  {
    struct rusage ru;
    getrusage (RUSAGE_SELF, &ru);
    printf ("cpu_seconds=%.1f\n", (double) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)
                                      + (double) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
  }
  policy_free (policy);
  free (policy_json);
  for (int u = 0; u < 4; u++)
    for (int p = 0; p < UNIVERSE; p++)
      free (universe_names[u][p]);
  return 0;
}
