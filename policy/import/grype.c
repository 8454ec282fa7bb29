/* patchgate: Grype JSON reports (`grype IMAGE -o json`).
 *
 * Grype puts the image's identity under source.target, and carries the
 * image config itself (base64) in source.target.config: that is where the
 * build time and the layer DiffIDs come from, and its SHA-256 is the image
 * ID, which lets us check (or recover, when redacted) source.target.imageID.
 * Grype lists findings only: packages without one never appear.
 */
#include "import/import.h"
#include "import/scan_builder.h"
#include "base/json.h"
#include "base/clock.h"
#include "base/digest.h"
#include "version/version.h"

#include <ctype.h>
#include <string.h>
#include <openssl/evp.h>

static int
grype_time (json_t *doc, struct pg_scan *out, pg_error_t *err)
{
  const char *ts = import_str (json_object_get (doc, "descriptor"), "timestamp");
  const char *what = "descriptor.timestamp";

  /* Grype before 0.4x printed no scan time.  The vulnerability DB's build
     time is a safe lower bound for it: the scan cannot predate its DB, so the
     scan can only look older than it is, never fresher.  */
  if (ts == NULL)
    {
      what = "descriptor.db.built";
      ts = import_str (pg_json_path (doc, "descriptor.db"), "built");
    }
  if (ts == NULL)
    {
      what = "descriptor.db.status.built";
      ts = import_str (pg_json_path (doc, "descriptor.db.status"), "built");
    }
  if (ts == NULL)
    return pg_make_error (err, 0,
                          "Grype report has no scan time (descriptor.timestamp or descriptor.db.built)");
  if (parse_rfc3339 (ts, &out->scanned_at) < 0)
    return pg_make_error (err, 0, "Grype %s `%s` is not an RFC 3339 time", what, ts);
  return 0;
}

/* Decode base64 TEXT into a NUL-terminated buffer.  */
static int
base64_decode (const char *text, size_t len, unsigned char **out, size_t *out_len)
{
  size_t pad = 0;
  unsigned char *buf;
  int n;

  if (len == 0 || len % 4 != 0 || len > INT32_MAX)
    return -1;
  buf = xmalloc0 (len / 4 * 3 + 1);
  n = EVP_DecodeBlock (buf, (const unsigned char *) text, (int) len);
  if (n < 0)
    {
      free (buf);
      return -1;
    }
  /* EVP_DecodeBlock counts the padding as decoded zero bytes.  */
  while (pad < 2 && text[len - 1 - pad] == '=')
    pad++;
  *out_len = (size_t) n - pad;
  buf[*out_len] = '\0';
  *out = buf;
  return 0;
}

static void
sha256_digest (const unsigned char *data, size_t len, char out[7 + 64 + 1])
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;

  if (EVP_Digest (data, len, md, &md_len, EVP_sha256 (), NULL) != 1 || md_len != 32)
    abort ();
  memcpy (out, "sha256:", 7);
  for (unsigned i = 0; i < 32; i++)
    snprintf (out + 7 + 2 * i, 3, "%02x", md[i]);
}

/* Parse source.target.config: the image config as the registry or daemon
   served it.  *CONFIG is NULL when the report carries none.  */
static int
grype_config (json_t *target, json_t **config, char digest[7 + 64 + 1], pg_error_t *err)
{
  json_t *jc = json_object_get (target, "config");
  cleanup_free unsigned char *raw = NULL;
  size_t raw_len = 0;

  *config = NULL;
  if (jc == NULL || json_is_null (jc) || (json_is_string (jc) && json_string_length (jc) == 0))
    return 0;
  if (json_is_string (jc) && json_string_length (jc) / 4 * 3 > PG_MAX_CONFIG_SIZE)
    return pg_make_error (err, 0, "Grype source.target.config is larger than the limit of %u bytes",
                          PG_MAX_CONFIG_SIZE);
  if (!json_is_string (jc)
      || base64_decode (json_string_value (jc), json_string_length (jc), &raw, &raw_len) < 0)
    return pg_make_error (err, 0, "Grype source.target.config is not valid base64");
  sha256_digest (raw, raw_len, digest);
  if (pg_json_parse ((const char *) raw, raw_len, "Grype source.target.config", config, err) < 0)
    return -1;
  return 0;
}

static int
grype_identity (json_t *target, const char *config_digest, struct pg_scan *out, pg_error_t *err)
{
  const char *image_id = import_str_exact (json_object_get (target, "imageID"));
  const char *manifest = import_str_exact (json_object_get (target, "manifestDigest"));
  json_t *e;
  size_t i;

  if (is_sha256_digest (image_id))
    {
      /* The image ID is by definition the config's digest: a mismatch means
         the report was edited or mixes two images.  */
      if (config_digest && strcmp (image_id, config_digest) != 0)
        return pg_make_error (err, 0,
                              "Grype source.target.imageID %s is not the digest of the image config in the "
                              "report (%s)",
                              image_id, config_digest);
      out->image_id = xstrdup (image_id);
    }
  else if (config_digest)
    out->image_id = xstrdup (config_digest);
  if (is_sha256_digest (manifest))
    out->manifest_digest = xstrdup (manifest);
  json_array_foreach (json_object_get (target, "repoDigests"), i, e)
    {
      /* Reports shared outside often have these replaced by "REDACTED".  */
      const char *d = import_str_exact (e);
      if (import_is_repo_digest (d))
        import_strv_add (&out->repo_digests, &out->n_repo_digests, d);
    }
  json_array_foreach (json_object_get (target, "tags"), i, e)
    {
      const char *t = import_str_exact (e);
      if (t && *t)
        import_strv_add (&out->repo_tags, &out->n_repo_tags, t);
    }
  if (out->image_id == NULL && out->manifest_digest == NULL && out->n_repo_digests == 0)
    return pg_make_error (err, 0,
                          "no image digest in report (Grype source.target has no valid imageID, "
                          "manifestDigest, repoDigests or config)");
  return 0;
}

static int
grype_diff_ids (json_t *list, const char *key, const char *what, struct pg_scan *out, pg_error_t *err)
{
  json_t *e;
  size_t i;

  json_array_foreach (list, i, e)
    {
      const char *d = import_str_exact (key ? json_object_get (e, key) : e);
      if (!is_sha256_digest (d))
        return pg_make_error (err, 0, "Grype %s[%zu] is not a sha256 digest", what, i);
      strv_append (&out->diff_ids, &out->n_diff_ids, d);
    }
  return 0;
}

static int
grype_image (json_t *doc, struct pg_scan *out, pg_error_t *err)
{
  json_t *source = json_object_get (doc, "source");
  const char *type = import_str (source, "type");
  json_t *target = json_object_get (source, "target");
  cleanup_json json_t *config = NULL;
  char config_digest[7 + 64 + 1];
  const char *created;
  json_t *diff_ids;

  if (type == NULL || strcmp (type, "image") != 0)
    return pg_make_error (err, 0,
                          "Grype report is of a %s scan, not a container image: it has no image digest to "
                          "enforce; scan the image with `grype IMAGE -o json`",
                          type ? type : "(missing source.type)");
  if (!json_is_object (target))
    return pg_make_error (err, 0, "Grype source.target is not an object");
  if (grype_config (target, &config, config_digest, err) < 0)
    return -1;
  if (grype_identity (target, config ? config_digest : NULL, out, err) < 0)
    return -1;

  created = import_str (config, "created");
  if (created == NULL || parse_rfc3339 (created, &out->created) < 0 || out->created < 0)
    out->created = 0;
  /* Grype's layer digests are the uncompressed DiffIDs, whatever the
     mediaType says: use them when there is no config.  */
  diff_ids = pg_json_path (config, "rootfs.diff_ids");
  if (json_array_size (diff_ids) > 0)
    return grype_diff_ids (diff_ids, NULL, "source.target.config rootfs.diff_ids", out, err);
  return grype_diff_ids (json_object_get (target, "layers"), "digest", "source.target.layers", out, err);
}

static char *
grype_fixed (json_t *fix)
{
  const char *state = import_str (fix, "state");
  json_t *versions = json_object_get (fix, "versions");
  cleanup_free const char **list = NULL;
  size_t n = 0, i;
  json_t *e;

  /* Grype fills fix.versions for "wont-fix" too (and "", "unknown",
     "not-fixed" mean no fix): only "fixed" is a fix an image can take.  */
  if (state == NULL || strcmp (state, "fixed") != 0)
    return NULL;
  list = xmalloc0 (json_array_size (versions) * sizeof (*list));
  json_array_foreach (versions, i, e)
    if (json_is_string (e))
      list[n++] = json_string_value (e);
  return import_fixed_versions (list, n);
}

static bool
is_os_package_type (const char *type)
{
  return type && (strcmp (type, "deb") == 0 || strcmp (type, "rpm") == 0 || strcmp (type, "apk") == 0);
}

/* How the versions of an artifact of TYPE are ordered (scan_builder.h).  */
static int
grype_order (const char *type)
{
  if (type == NULL)
    return IMPORT_ORDER_NONE;
  if (strcmp (type, "deb") == 0)
    return PG_VERSION_DPKG;
  if (strcmp (type, "rpm") == 0)
    return PG_VERSION_RPM;
  if (strcmp (type, "apk") == 0)
    return PG_VERSION_APK;
  return IMPORT_ORDER_PLAIN;
}

/* Grype prints fix.available[].date as "2006-01-02" (a day, UTC); a full
   RFC 3339 time is taken too.  */
static int
grype_fix_day (const char *s, int64_t *t)
{
  char buf[32];

  if (s == NULL)
    return -1;
  if (strlen (s) == 10)
    {
      snprintf (buf, sizeof (buf), "%sT00:00:00Z", s);
      s = buf;
    }
  return parse_rfc3339 (s, t) < 0 || *t <= 0 ? -1 : 0;
}

/* A kind is a short word ("advisory", "first-observed", "release", ...);
   it ends up in reasons and logs, so anything else is dropped.  */
static const char *
grype_fix_kind (json_t *e)
{
  const char *k = import_str_exact (json_object_get (e, "kind"));
  size_t n = k ? strlen (k) : 0;

  if (n == 0 || n > 32)
    return NULL;
  for (const char *p = k; *p; p++)
    if (!isalnum ((unsigned char) *p) && *p != '-' && *p != '_')
      return NULL;
  return k;
}

/* Newer Grype (DB schema v6) says when each fixed version became known:
   fix.available[] = {version, date, kind}.  The earliest date is when the
   fix became known; the fixable grace period runs from it when it is
   earlier than the first imported scan that listed the fix (store.c).  An
   entry without a usable date is skipped, as Grype itself skips them.  */
static void
grype_fix_date (json_t *fix, struct pg_vuln *v)
{
  json_t *e;
  size_t i;

  json_array_foreach (json_object_get (fix, "available"), i, e)
    {
      const char *kind = grype_fix_kind (e);
      int64_t t = 0;
      if (grype_fix_day (import_str_exact (json_object_get (e, "date")), &t) < 0)
        continue;
      if (v->fix_date == 0 || t < v->fix_date
          || (t == v->fix_date && kind && (v->fix_date_kind == NULL || strcmp (kind, v->fix_date_kind) < 0)))
        {
          v->fix_date = t;
          v->fix_date_kind = (char *) kind;
        }
    }
}

static int
grype_matches (json_t *doc, struct pg_scan *out, pg_error_t *err)
{
  json_t *matches = json_object_get (doc, "matches");
  struct import_seen seen;
  json_t *m;
  size_t i;
  int ret = 0;

  if (json_is_null (matches))
    return 0;
  if (!json_is_array (matches))
    return pg_make_error (err, 0, "Grype matches is not an array");
  import_seen_init (&seen);
  json_array_foreach (matches, i, m)
    {
      json_t *vuln = json_object_get (m, "vulnerability");
      json_t *artifact = json_object_get (m, "artifact");
      json_t *fix = json_object_get (vuln, "fix");
      cleanup_free char *fixed = grype_fixed (fix);
      struct pg_vuln v = { 0 };

      v.id = (char *) import_str (vuln, "id");
      v.pkg = (char *) import_str (artifact, "name");
      if (v.id == NULL || v.pkg == NULL)
        {
          ret = pg_make_error (err, 0, "Grype matches[%zu] has no vulnerability.id or artifact.name", i);
          break;
        }
      /* Versions Grype reads out of binaries may hold a NUL and junk after
         it; what precedes the NUL is the version.  */
      v.installed = (char *) import_str (artifact, "version");
      v.purl = (char *) import_str (artifact, "purl"); /* for OpenVEX subcomponents */
      v.fixed = fixed;
      v.severity = severity_parse (import_str (vuln, "severity"));
      v.status = (char *) import_str (fix, "state");
      if (fixed)
        grype_fix_date (fix, &v);
      import_add_vuln (out, &seen, &v, grype_order (import_str (artifact, "type")));
      if (v.installed && is_os_package_type (import_str (artifact, "type")))
        import_add_package (out, &seen, v.pkg, v.installed);
    }
  import_seen_release (&seen);
  return ret;
}

int
import_grype (json_t *doc, struct pg_scan *out, pg_error_t *err)
{
  json_t *distro = json_object_get (doc, "distro");

  out->scanner = xstrdup ("grype");
  out->scanner_version = xstrdup (import_str (json_object_get (doc, "descriptor"), "version"));
  if (grype_time (doc, out, err) < 0 || grype_image (doc, out, err) < 0)
    return -1;
  out->os_family = import_os_family (import_str (distro, "name"));
  out->os_name = xstrdup (import_str (distro, "version"));
  return grype_matches (doc, out, err);
}
