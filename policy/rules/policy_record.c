/* patchgate: the parsed policy as one flat record (see policy_cache.h):
 * written beside the policy text in the store, and carried by the decision
 * index (index/).  Nothing here touches the store, so that the hook can
 * read the record without linking SQLite.  */
#include "rules/policy_cache.h"

#include <stddef.h>
#include <string.h>

/* The Makefile defines PG_POLICY_PARSER_ID as a hash of the sources that
   decide what a policy text parses to; a build without it never uses the
   cache.  Bump PG_POLICY_CACHE_FORMAT when the record layout changes.  */
#define PG_POLICY_CACHE_FORMAT 3

/* Every field of these structs is written below.  A field added to one of
   them changes its size and stops the build here: write the new field in
   encode_policy/decode_policy, then update the size.  (struct pg_rules is
   copied whole: it must hold no pointers.)  */
#if defined(__x86_64__) && defined(__LP64__)
_Static_assert(sizeof (struct pg_policy) == 256, "struct pg_policy changed: update policy_cache.c");
_Static_assert(sizeof (struct pg_rules) == 144, "struct pg_rules changed: update policy_cache.c");
_Static_assert(sizeof (struct pg_scope) == 168, "struct pg_scope changed: update policy_cache.c");
_Static_assert(sizeof (struct pg_match) == 16, "struct pg_match changed: update policy_cache.c");
_Static_assert(sizeof (struct pg_waiver) == 80, "struct pg_waiver changed: update policy_cache.c");
_Static_assert(sizeof (struct pg_distro) == 16, "struct pg_distro changed: update policy_cache.c");
_Static_assert(sizeof (struct pg_min_version) == 32, "struct pg_min_version changed: update policy_cache.c");
_Static_assert(sizeof (struct pg_eol) == 24, "struct pg_eol changed: update policy_cache.c");
#endif

static uint64_t
fnv1a (uint64_t h, const void *data, size_t len)
{
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++)
    h = (h ^ p[i]) * 0x100000001b3ULL;
  return h;
}
#define FNV_SEED 0xcbf29ce484222325ULL

uint64_t
policy_record_fingerprint (void)
{
#ifdef PG_POLICY_PARSER_ID
  static const char id[] = PG_POLICY_PARSER_ID;
  const size_t sizes[] = { PG_POLICY_CACHE_FORMAT,
                           sizeof (struct pg_policy),
                           sizeof (struct pg_rules),
                           sizeof (struct pg_scope),
                           sizeof (struct pg_match),
                           sizeof (struct pg_waiver),
                           sizeof (struct pg_min_version),
                           sizeof (struct pg_eol),
                           PG_SEV_COUNT,
                           sizeof (void *),
                           0x01020304 };
  uint64_t h = fnv1a (FNV_SEED, id, sizeof (id));
  h = fnv1a (h, sizes, sizeof (sizes));
  return h ? h : 1;
#else
  return 0;
#endif
}

/* ---- writing ---- */

struct buf
{
  unsigned char *p;
  size_t len, cap;
};

static void
put (struct buf *b, const void *data, size_t n)
{
  if (b->len + n > b->cap)
    {
      b->cap = (b->len + n) * 2 + 256;
      b->p = xrealloc (b->p, b->cap);
    }
  memcpy (b->p + b->len, data, n);
  b->len += n;
}

static void
put_u64 (struct buf *b, uint64_t v)
{
  put (b, &v, sizeof (v));
}

/* A string: its length + 1 (0 for NULL), then its bytes and a NUL, so
   that a view (policy_cache_view) can point at them.  */
static void
put_str (struct buf *b, const char *s)
{
  uint64_t n = s ? strlen (s) + 1 : 0;
  put_u64 (b, n);
  if (s)
    put (b, s, (size_t) n);
}

static void
put_strv (struct buf *b, char **v, size_t n)
{
  put_u64 (b, n);
  for (size_t i = 0; i < n; i++)
    put_str (b, v[i]);
}

static void
put_match (struct buf *b, const struct pg_match *m)
{
  put_str (b, m->namespace);
  put_str (b, m->repository);
}

static void
put_distro (struct buf *b, const struct pg_distro *d)
{
  put_str (b, d->family);
  put_str (b, d->release);
}

#define MAGIC "pgpolc\r\n"

void *
policy_cache_encode (const struct pg_policy *p, const char *body, size_t body_len, size_t *len)
{
  struct buf b = { 0 };
  uint64_t fp = policy_record_fingerprint ();

  if (fp == 0)
    return NULL;
  put (&b, MAGIC, 8);
  put_u64 (&b, fp);
  put_u64 (&b, body_len);
  put_u64 (&b, fnv1a (FNV_SEED, body, body_len));

  put_str (&b, p->version);
  put (&b, &p->defaults, sizeof (p->defaults));
  put_u64 (&b, (uint64_t) p->on_unidentified);
  put_u64 (&b, p->n_scopes);
  for (size_t i = 0; i < p->n_scopes; i++)
    {
      put_str (&b, p->scopes[i].name);
      put_match (&b, &p->scopes[i].match);
      put (&b, &p->scopes[i].rules, sizeof (p->scopes[i].rules));
    }
  put_strv (&b, p->revoked_digests, p->n_revoked_digests);
  put_strv (&b, p->revoked_bases, p->n_revoked_bases);
  put_u64 (&b, p->n_waivers);
  for (size_t i = 0; i < p->n_waivers; i++)
    {
      const struct pg_waiver *w = &p->waivers[i];
      put_str (&b, w->id);
      put_match (&b, &w->match);
      put_str (&b, w->digest);
      put_str (&b, w->cve);
      put_str (&b, w->package);
      put_str (&b, w->reason_code);
      put_u64 (&b, (uint64_t) w->expires);
      put_str (&b, w->reason);
      put_str (&b, w->owner);
    }
  put_u64 (&b, p->n_min_versions);
  for (size_t i = 0; i < p->n_min_versions; i++)
    {
      put_distro (&b, &p->min_versions[i].distro);
      put_str (&b, p->min_versions[i].package);
      put_str (&b, p->min_versions[i].version);
    }
  put_u64 (&b, p->n_eol);
  for (size_t i = 0; i < p->n_eol; i++)
    {
      put_distro (&b, &p->eol[i].distro);
      put_u64 (&b, (uint64_t) p->eol[i].date);
    }
  put (&b, MAGIC, 8); /* the end, so that a truncated record is refused */
  *len = b.len;
  return b.p;
}

/* ---- reading ---- */

struct cursor
{
  const unsigned char *p;
  size_t left;
  bool bad;
  bool view; /* strings point into the record instead of being copied */
};

static void
get (struct cursor *c, void *out, size_t n)
{
  if (c->bad || n > c->left)
    {
      c->bad = true;
      memset (out, 0, n);
      return;
    }
  memcpy (out, c->p, n);
  c->p += n;
  c->left -= n;
}

static uint64_t
get_u64 (struct cursor *c)
{
  uint64_t v;
  get (c, &v, sizeof (v));
  return v;
}

static char *
get_str (struct cursor *c)
{
  uint64_t n = get_u64 (c);
  char *s;
  if (c->bad || n == 0)
    return NULL;
  if (n > c->left || c->p[n - 1] != '\0' || memchr (c->p, '\0', (size_t) n - 1) != NULL)
    {
      c->bad = true;
      return NULL;
    }
  if (c->view)
    s = (char *) c->p; /* read only: a view is never written nor freed string by string */
  else
    {
      s = xmalloc0 ((size_t) n);
      memcpy (s, c->p, (size_t) n - 1);
    }
  c->p += n;
  c->left -= (size_t) n;
  return s;
}

/* A count of items of at least MIN_SIZE bytes each: never more than the
   record could hold.  */
static size_t
get_count (struct cursor *c, size_t min_size)
{
  uint64_t n = get_u64 (c);
  if (c->bad || n > c->left / min_size)
    {
      c->bad = true;
      return 0;
    }
  return (size_t) n;
}

static uint64_t
get_verdict (struct cursor *c)
{
  uint64_t v = get_u64 (c);
  if (v > PG_VERDICT_AUDIT)
    c->bad = true;
  return c->bad ? PG_VERDICT_DENY : v;
}

/* struct pg_rules is stored as its bytes: a damaged record must not put a
   value in a bool or an enum that it cannot hold (reading it would be
   undefined), so they are checked on the bytes before the copy.  */
static void
get_rules (struct cursor *c, struct pg_rules *r)
{
  static const size_t bools[] = {
    offsetof (struct pg_rules, has_mode),
    offsetof (struct pg_rules, has_unscanned),
    offsetof (struct pg_rules, has_max_scan_age),
    offsetof (struct pg_rules, has_max_image_age),
    offsetof (struct pg_rules, has_superseded_grace),
    offsetof (struct pg_rules, has_vex_max_age),
    offsetof (struct pg_rules, has_vex_repository_products),
    offsetof (struct pg_rules, vex_repository_products),
  };
  unsigned char raw[sizeof (*r)];
  int mode, unscanned;

  get (c, raw, sizeof (raw));
  for (size_t i = 0; i < sizeof (bools) / sizeof (bools[0]); i++)
    c->bad |= raw[bools[i]] > 1;
  for (int i = 0; i < PG_SEV_COUNT; i++)
    c->bad |= raw[offsetof (struct pg_rules, has_grace) + (size_t) i] > 1;
  memcpy (&mode, raw + offsetof (struct pg_rules, mode), sizeof (mode));
  memcpy (&unscanned, raw + offsetof (struct pg_rules, unscanned), sizeof (unscanned));
  c->bad |= mode < PG_MODE_ENFORCE || mode > PG_MODE_OFF || unscanned < PG_VERDICT_ALLOW
            || unscanned > PG_VERDICT_AUDIT;
  if (c->bad)
    {
      policy_builtin_rules (r);
      return;
    }
  memcpy (r, raw, sizeof (*r));
}

static void
get_match (struct cursor *c, struct pg_match *m)
{
  m->namespace = get_str (c);
  m->repository = get_str (c);
}

static void
get_distro (struct cursor *c, struct pg_distro *d)
{
  d->family = get_str (c);
  d->release = get_str (c);
}

static char **
get_strv (struct cursor *c, size_t *n)
{
  char **v;
  *n = get_count (c, 8);
  v = *n ? xmalloc0 (*n * sizeof (char *)) : NULL;
  for (size_t i = 0; i < *n; i++)
    v[i] = get_str (c);
  return v;
}

static void
free_policy (struct pg_policy *p, bool view)
{
  if (view)
    policy_view_free (p);
  else
    policy_free (p);
}

static int
decode (const void *blob, size_t len, const char *body, size_t body_len, bool view, struct pg_policy **out)
{
  struct cursor c = { blob, len, false, view };
  struct pg_policy *p;
  char magic[8];
  uint64_t fp = policy_record_fingerprint ();

  *out = NULL;
  if (fp == 0 || blob == NULL || len < 40)
    return 0;
  get (&c, magic, 8);
  if (memcmp (magic, MAGIC, 8) != 0 || get_u64 (&c) != fp || get_u64 (&c) != body_len
      || get_u64 (&c) != fnv1a (FNV_SEED, body, body_len))
    return 0;
  p = xmalloc0 (sizeof (*p));
  p->version = get_str (&c);
  get_rules (&c, &p->defaults);
  p->on_unidentified = (enum pg_verdict) get_verdict (&c);
  p->n_scopes = get_count (&c, 8 * 3 + sizeof (struct pg_rules));
  p->scopes = p->n_scopes ? xmalloc0 (p->n_scopes * sizeof (*p->scopes)) : NULL;
  for (size_t i = 0; i < p->n_scopes; i++)
    {
      p->scopes[i].name = get_str (&c);
      get_match (&c, &p->scopes[i].match);
      get_rules (&c, &p->scopes[i].rules);
    }
  p->revoked_digests = get_strv (&c, &p->n_revoked_digests);
  p->revoked_bases = get_strv (&c, &p->n_revoked_bases);
  p->n_waivers = get_count (&c, 8 * 10);
  p->waivers = p->n_waivers ? xmalloc0 (p->n_waivers * sizeof (*p->waivers)) : NULL;
  for (size_t i = 0; i < p->n_waivers; i++)
    {
      struct pg_waiver *w = &p->waivers[i];
      w->id = get_str (&c);
      get_match (&c, &w->match);
      w->digest = get_str (&c);
      w->cve = get_str (&c);
      w->package = get_str (&c);
      w->reason_code = get_str (&c);
      w->expires = (int64_t) get_u64 (&c);
      w->reason = get_str (&c);
      w->owner = get_str (&c);
    }
  p->n_min_versions = get_count (&c, 8 * 4);
  p->min_versions = p->n_min_versions ? xmalloc0 (p->n_min_versions * sizeof (*p->min_versions)) : NULL;
  for (size_t i = 0; i < p->n_min_versions; i++)
    {
      get_distro (&c, &p->min_versions[i].distro);
      p->min_versions[i].package = get_str (&c);
      p->min_versions[i].version = get_str (&c);
    }
  p->n_eol = get_count (&c, 8 * 3);
  p->eol = p->n_eol ? xmalloc0 (p->n_eol * sizeof (*p->eol)) : NULL;
  for (size_t i = 0; i < p->n_eol; i++)
    {
      get_distro (&c, &p->eol[i].distro);
      p->eol[i].date = (int64_t) get_u64 (&c);
    }
  get (&c, magic, 8);
  if (c.bad || c.left != 0 || memcmp (magic, MAGIC, 8) != 0 || p->version == NULL)
    {
      free_policy (p, view);
      return 0;
    }
  *out = p;
  return 1;
}

int
policy_cache_decode (const void *blob, size_t len, const char *body, size_t body_len, struct pg_policy **out)
{
  return decode (blob, len, body, body_len, false, out);
}

int
policy_cache_view (const void *blob, size_t len, struct pg_policy **out)
{
  return decode (blob, len, "", 0, true, out);
}

void
policy_view_free (struct pg_policy *p)
{
  if (p == NULL)
    return;
  free (p->scopes);
  free (p->revoked_digests);
  free (p->revoked_bases);
  free (p->waivers);
  free (p->min_versions);
  free (p->eol);
  free (p);
}
