/* OpenVEX documents (https://github.com/openvex/spec, v0.2.0, and the
 * v0.0.1 layout go-vex still reads): a supplier's statements that an image
 * is, or is not, affected by a vulnerability.  Each statement becomes one
 * record per product that names an image (struct pg_vex); evaluation
 * (rules/vex.c) lets the latest that applies to a finding decide.
 *
 * What the specification leaves to the reader, as go-vex reads it:
 * - a statement's timestamp defaults to its document's; a statement with
 *   neither cannot be ordered against others, and refuses the document;
 * - a vulnerability is named by `name`, `@id` or any of its `aliases`
 *   (v0.0.1: a bare string);
 * - products and subcomponents are components: an `@id`, `identifiers`
 *   (`purl`) and `hashes`; v0.0.1 wrote bare strings, with the
 *   subcomponents on the statement.
 * A statement naming no image (no products, or only non-OCI packages) is
 * skipped and counted, not fatal: real documents mix both.
 */
#include "import/import.h"
#include "import/scan_builder.h"
#include "base/json.h"
#include "base/clock.h"
#include "base/digest.h"
#include "base/purl.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#define VEX_NAME_MAX 1024

bool
import_is_openvex (json_t *doc)
{
  const char *context = pg_json_string (doc, "@context");
  return context && strstr (context, "openvex") != NULL;
}

/* V as a C string that the store can keep in a list: no control character
   (a NUL, a newline), at most MAX bytes; NULL otherwise.  */
static const char *
clean_string (json_t *v, size_t max)
{
  const char *s = import_str_exact (v);
  if (s == NULL || *s == '\0' || strlen (s) > max)
    return NULL;
  for (const unsigned char *p = (const unsigned char *) s; *p; p++)
    if (*p < 0x20 || *p == 0x7f)
      return NULL;
  return s;
}

/* ---- products ---- */

/* What a product names: image digests, or else repositories (with a tag). */
struct product_ids
{
  char **digests;
  size_t n_digests;
  char **repositories;
  char **tags; /* "" for none, parallel to repositories */
  size_t n_repositories;
};

static void
product_ids_clear (struct product_ids *p)
{
  strv_free (p->digests, p->n_digests);
  strv_free (p->repositories, p->n_repositories);
  strv_free (p->tags, p->n_repositories);
  memset (p, 0, sizeof (*p));
}

static void
add_repository (struct product_ids *p, const char *repository, const char *tag)
{
  size_t n = p->n_repositories;
  for (size_t i = 0; i < p->n_repositories; i++)
    if (strcmp (p->repositories[i], repository) == 0 && strcmp (p->tags[i], tag ? tag : "") == 0)
      return;
  strv_append (&p->repositories, &n, repository);
  strv_append (&p->tags, &p->n_repositories, tag ? tag : "");
}

/* A repository as image names are normalised ("nginx" ->
   "docker.io/library/nginx"), Docker Hub's other host names folded; NULL
   when REPO is not one (a tag or digest in it, a bad name).  */
static char *
normalise_repository (const char *repo)
{
  static const char *const hub[]
      = { "index.docker.io/", "registry-1.docker.io/", "registry.hub.docker.com/", NULL };
  cleanup_free char *folded = NULL;
  cleanup_free char *tag = NULL;
  char *repository = NULL;
  const char *p = repo;

  if (strncmp (p, "https://", 8) == 0)
    p += 8;
  else if (strncmp (p, "http://", 7) == 0)
    p += 7;
  for (size_t i = 0; hub[i]; i++)
    if (strncmp (p, hub[i], strlen (hub[i])) == 0)
      {
        xasprintf (&folded, "docker.io/%s", p + strlen (hub[i]));
        p = folded;
        break;
      }
  if (strchr (p, '@') || image_ref_parse (p, &repository, &tag, NULL) < 0)
    return NULL;
  if (tag)
    {
      free (repository);
      return NULL;
    }
  return repository;
}

/* An OCI purl: "pkg:oci/<name>@<digest>?repository_url=<registry/path/name>&tag=<tag>".
   The version is the image's digest.  repository_url names the whole
   repository (the purl specification's examples); some tools give the
   registry alone (vexctl's "repository_url=registry.k8s.io"), to which the
   name is added.  Without it, the name is read as an image name is
   ("alpine": Docker Hub's).  */
static void
oci_purl_ids (const struct pg_purl *u, struct product_ids *p)
{
  const char *url = purl_qualifier (u, "repository_url");
  cleanup_free char *full = NULL;
  cleanup_free char *repository = NULL;

  if (u->version && is_sha256_digest (u->version))
    import_strv_add (&p->digests, &p->n_digests, u->version);
  if (url)
    {
      size_t len = strlen (url), nlen = strlen (u->name);
      bool whole;
      while (len && url[len - 1] == '/')
        len--;
      whole = len >= nlen && strncmp (url + len - nlen, u->name, nlen) == 0
              && (len == nlen || url[len - nlen - 1] == '/');
      if (whole)
        full = strndup (url, len);
      else
        xasprintf (&full, "%.*s/%s", (int) len, url, u->name);
    }
  else if (u->namespace)
    xasprintf (&full, "%s/%s", u->namespace, u->name);
  else
    full = xstrdup (u->name);
  repository = normalise_repository (full);
  /* A version that is not a digest is no OCI version; read as a tag, it
     names less than the whole repository would.  */
  if (repository)
    add_repository (p, repository,
                    purl_qualifier (u, "tag")                      ? purl_qualifier (u, "tag")
                    : u->version && !is_sha256_digest (u->version) ? u->version
                                                                   : NULL);
}

/* A Docker purl: "pkg:docker/<namespace>/<name>@<digest or tag>?repository_url=<registry>". */
static void
docker_purl_ids (const struct pg_purl *u, struct product_ids *p)
{
  const char *registry = purl_qualifier (u, "repository_url");
  cleanup_free char *full = NULL;
  cleanup_free char *repository = NULL;
  bool digest = u->version && is_sha256_digest (u->version);

  if (digest)
    import_strv_add (&p->digests, &p->n_digests, u->version);
  xasprintf (&full, "%s%s%s%s%s", registry ? registry : "", registry ? "/" : "",
             u->namespace ? u->namespace : "", u->namespace ? "/" : "", u->name);
  repository = normalise_repository (full);
  if (repository)
    add_repository (p, repository, digest ? NULL : u->version);
}

static void
identifier_ids (const char *s, struct product_ids *p)
{
  cleanup_free char *digest = NULL;

  if (strncasecmp (s, "pkg:", 4) == 0)
    {
      struct pg_purl u;
      if (purl_parse (s, &u) < 0)
        return;
      if (strcmp (u.type, "oci") == 0)
        oci_purl_ids (&u, p);
      else if (strcmp (u.type, "docker") == 0)
        docker_purl_ids (&u, p);
      /* any other type is a package, not an image */
      purl_clear (&u);
      return;
    }
  digest = digest_normalize (s);
  if (digest)
    {
      import_strv_add (&p->digests, &p->n_digests, digest);
      return;
    }
  /* An image name ("nginx", "registry.k8s.io/kube-apiserver:v1.26.0"); an
     IRI or free text names none.  */
  if (strstr (s, "://") == NULL && strpbrk (s, " \t") == NULL)
    {
      cleanup_free char *repository = NULL;
      cleanup_free char *tag = NULL;
      if (image_ref_parse (s, &repository, &tag, NULL) == 0)
        add_repository (p, repository, tag);
    }
}

static void
component_ids (json_t *c, struct product_ids *p)
{
  json_t *hashes = json_object_get (c, "hashes");
  const char *s;

  if (json_is_string (c))
    {
      if ((s = clean_string (c, 4096)) != NULL)
        identifier_ids (s, p);
      return;
    }
  if ((s = clean_string (json_object_get (c, "@id"), 4096)) != NULL)
    identifier_ids (s, p);
  if ((s = clean_string (pg_json_path (c, "identifiers.purl"), 4096)) != NULL)
    identifier_ids (s, p);
  /* A product's sha-256 is the image's digest.  */
  if ((s = clean_string (json_object_get (hashes, "sha-256"), 64)) != NULL && is_hex64 (s))
    {
      cleanup_free char *digest = NULL;
      xasprintf (&digest, "sha256:%s", s);
      import_strv_add (&p->digests, &p->n_digests, digest);
    }
}

/* ---- subcomponents ---- */

/* The names of one subcomponent: its purls, and whatever else identifies
   it.  One with no usable name still restricts the statement (to nothing
   it can match): dropping it would widen the statement to the image.  */
static int
subcomponent_names (json_t *c, const char *where, char ***out, size_t *n, pg_error_t *err)
{
  static const char *const keys[]
      = { "@id", "identifiers.purl", "identifiers.cpe23", "identifiers.cpe22", NULL };
  size_t before = *n;

  if (json_is_string (c))
    {
      const char *s = clean_string (c, 4096);
      if (s == NULL)
        return pg_make_error (err, 0, "%s: not a usable identifier (empty, too long, or a control character)",
                              where);
      import_strv_add (out, n, s);
      return 0;
    }
  if (!json_is_object (c))
    return pg_make_error (err, 0, "%s: must be an object or a string", where);
  for (size_t i = 0; keys[i]; i++)
    {
      json_t *v = pg_json_path (c, keys[i]);
      const char *s;
      if (v == NULL)
        continue;
      if ((s = clean_string (v, 4096)) == NULL)
        return pg_make_error (err, 0,
                              "%s.%s: not a usable identifier (empty, too long, or a control character)",
                              where, keys[i]);
      import_strv_add (out, n, s);
    }
  if (*n == before)
    import_strv_add (out, n, "(a subcomponent without an identifier)");
  return 0;
}

static int
subcomponent_list (json_t *list, const char *where, char ***out, size_t *n, pg_error_t *err)
{
  json_t *c;
  size_t i;

  if (list == NULL)
    return 0;
  if (!json_is_array (list))
    return pg_make_error (err, 0, "%s: must be an array", where);
  json_array_foreach (list, i, c)
    {
      char at[200];
      snprintf (at, sizeof (at), "%s[%zu]", where, i);
      if (subcomponent_names (c, at, out, n, err) < 0)
        return -1;
    }
  return 0;
}

/* ---- statements ---- */

struct vuln_names
{
  const char *name; /* what to call it: its name, else its @id */
  char **aliases;
  size_t n_aliases;
};

/* An IRI's last path segment: NVD's ".../vuln/detail/CVE-2023-1234",
   OSV's ".../vulnerability/GHSA-...".  */
static void
add_iri_segment (const char *iri, char ***out, size_t *n)
{
  const char *end, *start;
  if (strncmp (iri, "https://", 8) != 0 && strncmp (iri, "http://", 7) != 0)
    return;
  end = iri + strlen (iri);
  while (end > iri && end[-1] == '/')
    end--;
  for (start = end; start > iri && start[-1] != '/'; start--)
    ;
  if (end > start && start[-1] == '/' && start[-2] != '/')
    {
      cleanup_free char *seg = strndup (start, (size_t) (end - start));
      import_strv_add (out, n, seg);
    }
}

static int
parse_vulnerability (json_t *st, const char *where, struct vuln_names *out, pg_error_t *err)
{
  json_t *v = json_object_get (st, "vulnerability");
  json_t *aliases, *a;
  const char *name = NULL, *id = NULL;
  size_t i;

  if (json_is_string (v)) /* v0.0.1 */
    name = clean_string (v, VEX_NAME_MAX);
  else if (json_is_object (v))
    {
      if (json_object_get (v, "name")
          && (name = clean_string (json_object_get (v, "name"), VEX_NAME_MAX)) == NULL)
        return pg_make_error (err, 0,
                              "%s.vulnerability.name: must be a non-empty string of at most 1024 bytes, "
                              "without control characters",
                              where);
      if (json_object_get (v, "@id")
          && (id = clean_string (json_object_get (v, "@id"), VEX_NAME_MAX)) == NULL)
        return pg_make_error (err, 0,
                              "%s.vulnerability.@id: must be a non-empty string of at most 1024 bytes, "
                              "without control characters",
                              where);
    }
  if (name == NULL && id == NULL)
    return pg_make_error (err, 0, "%s: the vulnerability has neither a name nor an @id", where);
  out->name = name ? name : id;
  if (name)
    import_strv_add (&out->aliases, &out->n_aliases, name);
  if (id)
    {
      import_strv_add (&out->aliases, &out->n_aliases, id);
      add_iri_segment (id, &out->aliases, &out->n_aliases);
    }
  aliases = json_is_object (v) ? json_object_get (v, "aliases") : NULL;
  if (aliases && !json_is_array (aliases))
    return pg_make_error (err, 0, "%s.vulnerability.aliases: must be an array of strings", where);
  json_array_foreach (aliases, i, a)
    {
      const char *s = clean_string (a, VEX_NAME_MAX);
      if (s == NULL)
        return pg_make_error (err, 0,
                              "%s.vulnerability.aliases[%zu]: must be a non-empty string of at most 1024 "
                              "bytes, without control "
                              "characters",
                              where, i);
      import_strv_add (&out->aliases, &out->n_aliases, s);
    }
  return 0;
}

static bool
known_status (const char *s)
{
  static const char *const statuses[] = { "not_affected", "affected", "fixed", "under_investigation", NULL };
  for (size_t i = 0; s && statuses[i]; i++)
    if (strcmp (s, statuses[i]) == 0)
      return true;
  return false;
}

struct doc_info
{
  const char *source;
  const char *id; /* the document's @id, or NULL */
  bool has_time;
  int64_t time;
};

/* The common part of every record of one statement.  */
static void
fill_record (struct pg_vex *r, const struct vuln_names *vn, const char *status, const char *justification,
             int64_t issued, const struct doc_info *doc, size_t index)
{
  r->vuln_id = xstrdup (vn->name);
  for (size_t i = 0; i < vn->n_aliases; i++)
    strv_append (&r->aliases, &r->n_aliases, vn->aliases[i]);
  r->status = xstrdup (status);
  r->justification = xstrdup (justification);
  r->issued = issued;
  r->source = xstrdup (doc->source);
  r->document = xstrdup (doc->id);
  r->index = index;
}

/* One product's records, from the statement's common part PROTO: one per
   digest it names, or, naming none, one per repository (and tag).  Returns
   how many.  */
static size_t
product_records (const struct product_ids *ids, char **subs, size_t n_subs, const struct pg_vex *proto,
                 struct pg_vex **out, size_t *n)
{
  size_t count = ids->n_digests ? ids->n_digests : ids->n_repositories;

  for (size_t d = 0; d < count; d++)
    {
      struct pg_vex *r;
      *out = xrealloc (*out, (*n + 1) * sizeof (**out));
      r = &(*out)[(*n)++];
      memset (r, 0, sizeof (*r));
      r->vuln_id = xstrdup (proto->vuln_id);
      for (size_t i = 0; i < proto->n_aliases; i++)
        strv_append (&r->aliases, &r->n_aliases, proto->aliases[i]);
      r->status = xstrdup (proto->status);
      r->justification = xstrdup (proto->justification);
      r->issued = proto->issued;
      r->source = xstrdup (proto->source);
      r->document = xstrdup (proto->document);
      r->index = proto->index;
      if (ids->n_digests)
        r->digest = xstrdup (ids->digests[d]);
      else
        {
          r->repository = xstrdup (ids->repositories[d]);
          r->tag = *ids->tags[d] ? xstrdup (ids->tags[d]) : NULL;
        }
      for (size_t i = 0; i < n_subs; i++)
        strv_append (&r->subcomponents, &r->n_subcomponents, subs[i]);
    }
  return count;
}

/* Returns 1 when the statement gave records, 0 when it names no image. */
static int
parse_statement (json_t *st, size_t index, const struct doc_info *doc, struct pg_vex **out, size_t *n,
                 pg_error_t *err)
{
  struct vuln_names vn = { 0 };
  struct pg_vex proto = { 0 };
  const char *status = pg_json_string (st, "status");
  json_t *ts = json_object_get (st, "timestamp");
  json_t *products = json_object_get (st, "products");
  json_t *justification = json_object_get (st, "justification");
  char **statement_subs = NULL;
  size_t n_statement_subs = 0, made = 0;
  char where[64];
  int64_t issued = doc->time;
  json_t *p;
  size_t i;
  int ret = -1;

  snprintf (where, sizeof (where), "statements[%zu]", index);
  if (parse_vulnerability (st, where, &vn, err) < 0)
    goto out;
  if (!known_status (status))
    {
      pg_make_error (err, 0, "%s.status: %s%s%s (use not_affected, affected, fixed or under_investigation)",
                     where, status ? "`" : "missing", status ? status : "",
                     status ? "` is not an OpenVEX status" : "");
      goto out;
    }
  if (ts && !json_is_null (ts))
    {
      const char *s = json_string_value (ts);
      if (s == NULL || parse_rfc3339 (s, &issued) < 0)
        {
          pg_make_error (err, 0, "%s.timestamp: `%s` is not an RFC 3339 time", where,
                         s ? s : "(not a string)");
          goto out;
        }
    }
  else if (!doc->has_time)
    {
      pg_make_error (err, 0,
                     "%s: no timestamp, and the document has none: a statement must say when it was made "
                     "(its own timestamp, or the document's)",
                     where);
      goto out;
    }
  {
    char at[128];
    snprintf (at, sizeof (at), "%s.subcomponents", where);
    if (subcomponent_list (json_object_get (st, "subcomponents"), at, &statement_subs, &n_statement_subs, err)
        < 0)
      goto out;
  }
  if (products && !json_is_array (products))
    {
      pg_make_error (err, 0, "%s.products: must be an array", where);
      goto out;
    }
  fill_record (&proto, &vn, status, clean_string (justification, 256), issued, doc, index);
  json_array_foreach (products, i, p)
    {
      struct product_ids ids = { 0 };
      char **subs = NULL;
      size_t n_subs = 0;
      char at[160];
      int r;

      for (size_t k = 0; k < n_statement_subs; k++)
        strv_append (&subs, &n_subs, statement_subs[k]);
      snprintf (at, sizeof (at), "%s.products[%zu].subcomponents", where, i);
      r = subcomponent_list (json_is_object (p) ? json_object_get (p, "subcomponents") : NULL, at, &subs,
                             &n_subs, err);
      if (r == 0)
        {
          component_ids (p, &ids);
          made += product_records (&ids, subs, n_subs, &proto, out, n);
        }
      product_ids_clear (&ids);
      strv_free (subs, n_subs);
      if (r < 0)
        goto out;
    }
  ret = made > 0 ? 1 : 0;
out:
  pg_vex_clear (&proto);
  strv_free (vn.aliases, vn.n_aliases);
  strv_free (statement_subs, n_statement_subs);
  return ret;
}

int
import_openvex (json_t *doc, const char *source, struct import_vex *out, pg_error_t *err)
{
  json_t *ts = json_object_get (doc, "timestamp");
  json_t *statements = json_object_get (doc, "statements");
  struct doc_info info = { source, clean_string (json_object_get (doc, "@id"), 4096), false, 0 };
  json_t *st;
  size_t i;

  memset (out, 0, sizeof (*out));
  if (ts && !json_is_null (ts))
    {
      const char *s = json_string_value (ts);
      if (s == NULL || parse_rfc3339 (s, &info.time) < 0)
        return pg_make_error (err, 0, "%s: OpenVEX timestamp `%s` is not an RFC 3339 time", source,
                              s ? s : "(not a string)");
      info.has_time = true;
    }
  if (!json_is_array (statements))
    return pg_make_error (err, 0, "%s: OpenVEX document without statements", source);
  json_array_foreach (statements, i, st)
    {
      int r;
      if (!json_is_object (st))
        {
          import_vex_clear (out);
          return pg_make_error (err, 0, "%s: statements[%zu]: must be an object", source, i);
        }
      r = parse_statement (st, i, &info, &out->records, &out->n_records, err);
      if (r < 0)
        {
          import_vex_clear (out);
          return pg_error_wrap (err, "%s", source);
        }
      if (r > 0)
        out->statements++;
      else
        out->skipped_no_product++;
    }
  return 0;
}

void
import_vex_clear (struct import_vex *v)
{
  pg_vex_free (v->records, v->n_records);
  memset (v, 0, sizeof (*v));
}
