/* patchgate: Trivy JSON reports (`trivy image --format json`, SchemaVersion 2).
 *
 * Only container image scans are accepted: the policy is keyed by image
 * digest, and a filesystem or repository scan names none.  Trivy gives the
 * image ID (config digest) and the repo digests; it has no manifest digest
 * of its own, but each repo digest is one.
 */
#include "import/import.h"
#include "import/scan_builder.h"
#include "base/json.h"
#include "base/clock.h"
#include "base/digest.h"

#include <string.h>

static int
trivy_time (json_t *doc, struct pg_scan *out, pg_error_t *err)
{
  const char *created_at = import_str (doc, "CreatedAt");

  /* Trivy added CreatedAt in v0.48.  Without it the scan's age is unknown,
     and guessing (file time, now) could pass a stale scan as fresh.  */
  if (created_at == NULL)
    return pg_make_error (
        err, 0, "Trivy report has no CreatedAt (Trivy older than 0.48?); re-scan with a newer Trivy");
  if (parse_rfc3339 (created_at, &out->scanned_at) < 0)
    return pg_make_error (err, 0, "Trivy CreatedAt `%s` is not an RFC 3339 time", created_at);
  return 0;
}

/* Valid digests only: a list with a hole would shift every later layer and
   break the base-image prefix match.  */
static int
trivy_diff_ids (json_t *list, const char *what, struct pg_scan *out, pg_error_t *err)
{
  json_t *v;
  size_t i;

  if (list == NULL || json_is_null (list))
    return 0;
  if (!json_is_array (list))
    return pg_make_error (err, 0, "Trivy %s is not an array", what);
  json_array_foreach (list, i, v)
    {
      const char *d = import_str_exact (v);
      if (!is_sha256_digest (d))
        return pg_make_error (err, 0, "Trivy %s[%zu] is not a sha256 digest", what, i);
      strv_append (&out->diff_ids, &out->n_diff_ids, d);
    }
  return 0;
}

static void
trivy_strings (json_t *list, bool digests, char ***v, size_t *n)
{
  json_t *e;
  size_t i;

  if (!json_is_array (list))
    return;
  json_array_foreach (list, i, e)
    {
      const char *s = import_str_exact (e);
      /* Trivy prints [""] when the image came without a name or digest.  */
      if (s == NULL || *s == '\0' || (digests && !import_is_repo_digest (s)))
        continue;
      import_strv_add (v, n, s);
    }
}

static int
trivy_metadata (json_t *doc, struct pg_scan *out, pg_error_t *err)
{
  json_t *md = json_object_get (doc, "Metadata");
  json_t *config, *os, *diff_ids;
  const char *image_id, *created;

  if (md != NULL && !json_is_object (md))
    return pg_make_error (err, 0, "Trivy Metadata is not an object");
  config = json_object_get (md, "ImageConfig");

  image_id = import_str_exact (json_object_get (md, "ImageID"));
  if (is_sha256_digest (image_id))
    out->image_id = xstrdup (image_id);
  trivy_strings (json_object_get (md, "RepoDigests"), true, &out->repo_digests, &out->n_repo_digests);
  trivy_strings (json_object_get (md, "RepoTags"), false, &out->repo_tags, &out->n_repo_tags);
  if (out->image_id == NULL && out->n_repo_digests == 0)
    return pg_make_error (err, 0,
                          "no image digest in report (Trivy Metadata.ImageID and Metadata.RepoDigests "
                          "are both missing or empty)");

  /* An unparsable build time is "unknown", not an error: the image-age rule
     then falls back to when the image was first seen.  */
  created = import_str (config, "created");
  if (created == NULL || parse_rfc3339 (created, &out->created) < 0 || out->created < 0)
    out->created = 0;

  os = json_object_get (md, "OS");
  out->os_family = import_os_family (import_str (os, "Family"));
  out->os_name = xstrdup (import_str (os, "Name"));
  out->eosl = json_is_true (json_object_get (os, "EOSL"));

  diff_ids = json_object_get (md, "DiffIDs");
  if (json_array_size (diff_ids) > 0)
    return trivy_diff_ids (diff_ids, "Metadata.DiffIDs", out, err);
  return trivy_diff_ids (pg_json_path (config, "rootfs.diff_ids"), "Metadata.ImageConfig.rootfs.diff_ids",
                         out, err);
}

static int
trivy_vuln (json_t *jv, size_t r, size_t i, int order, struct pg_scan *out, struct import_seen *seen,
            pg_error_t *err)
{
  const char *fixed = import_str (jv, "FixedVersion");
  cleanup_free char *fixed_list = fixed ? import_fixed_versions (&fixed, 1) : NULL;
  struct pg_vuln v = { 0 };

  if (!json_is_object (jv))
    return pg_make_error (err, 0, "Trivy Results[%zu].Vulnerabilities[%zu] is not an object", r, i);
  v.id = (char *) import_str (jv, "VulnerabilityID");
  v.pkg = (char *) import_str (jv, "PkgName");
  if (v.id == NULL || v.pkg == NULL)
    return pg_make_error (err, 0, "Trivy Results[%zu].Vulnerabilities[%zu] has no VulnerabilityID or PkgName",
                          r, i);
  v.installed = (char *) import_str (jv, "InstalledVersion");
  /* To match an OpenVEX statement's subcomponents (newer Trivy; older
     reports have no PkgIdentifier).  */
  v.purl = (char *) import_str (json_object_get (jv, "PkgIdentifier"), "PURL");
  v.fixed = fixed_list;
  v.severity = severity_parse (import_str (jv, "Severity"));
  v.status = (char *) import_str (jv, "Status");
  import_add_vuln (out, seen, &v, order);
  return 0;
}

/* Trivy splits OS package versions into Epoch, Version and Release (its
   vulnerabilities carry the joined form); join them the same way, as dpkg
   and rpm print them: [epoch:]version[-release].  */
static void
trivy_package (json_t *jp, struct pg_scan *out, struct import_seen *seen)
{
  const char *name = import_str (jp, "Name");
  const char *version = import_str (jp, "Version");
  const char *release = import_str (jp, "Release");
  json_t *epoch = json_object_get (jp, "Epoch");
  cleanup_free char *full = NULL;

  if (name == NULL || version == NULL)
    return;
  if (json_is_integer (epoch) && json_integer_value (epoch) > 0)
    xasprintf (&full, "%lld:%s%s%s", (long long) json_integer_value (epoch), version, release ? "-" : "",
               release ? release : "");
  else
    xasprintf (&full, "%s%s%s", version, release ? "-" : "", release ? release : "");
  import_add_package (out, seen, name, full);
}

static bool
trivy_is_os_result (json_t *res, const struct pg_scan *out)
{
  const char *cls = import_str (res, "Class");
  const char *type = import_str (res, "Type");
  if (cls)
    return strcmp (cls, "os-pkgs") == 0;
  /* Early SchemaVersion 2 reports have no Class; their OS result is typed
     with the OS family.  */
  return type && out->os_family && strcasecmp (type, out->os_family) == 0;
}

static int
trivy_results (json_t *doc, struct pg_scan *out, pg_error_t *err)
{
  json_t *results = json_object_get (doc, "Results");
  struct import_seen seen;
  json_t *res;
  size_t r;
  int ret = 0;

  /* No Results at all is a clean scan in some Trivy versions.  */
  if (results == NULL || json_is_null (results))
    return 0;
  if (!json_is_array (results))
    return pg_make_error (err, 0, "Trivy Results is not an array");
  import_seen_init (&seen);
  json_array_foreach (results, r, res)
    {
      json_t *vulns = json_object_get (res, "Vulnerabilities");
      json_t *pkgs = json_object_get (res, "Packages");
      json_t *e;
      size_t i;

      if (!json_is_object (res))
        {
          ret = pg_make_error (err, 0, "Trivy Results[%zu] is not an object", r);
          break;
        }
      if (vulns != NULL && !json_is_null (vulns) && !json_is_array (vulns))
        {
          ret = pg_make_error (err, 0, "Trivy Results[%zu].Vulnerabilities is not an array", r);
          break;
        }
      /* OS packages are ordered as their package manager orders them;
         language packages (lang-pkgs) only when their versions are plain.  */
      int order = trivy_is_os_result (res, out) ? import_order_for_os (out->os_family) : IMPORT_ORDER_PLAIN;

      json_array_foreach (vulns, i, e)
        if ((ret = trivy_vuln (e, r, i, order, out, &seen, err)) < 0)
          break;
      if (ret < 0)
        break;
      if (json_is_array (pkgs) && trivy_is_os_result (res, out))
        json_array_foreach (pkgs, i, e)
          trivy_package (e, out, &seen);
    }
  import_seen_release (&seen);
  return ret;
}

int
import_trivy (json_t *doc, struct pg_scan *out, pg_error_t *err)
{
  json_t *schema = json_object_get (doc, "SchemaVersion");
  const char *type = import_str (doc, "ArtifactType");

  if (!json_is_integer (schema))
    return pg_make_error (err, 0, "Trivy SchemaVersion is not a number");
  if (json_integer_value (schema) != 2)
    return pg_make_error (err, 0, "unsupported Trivy SchemaVersion %lld (only 2 is supported)",
                          (long long) json_integer_value (schema));
  if (type && strcmp (type, "container_image") != 0)
    return pg_make_error (err, 0,
                          "Trivy report is of a %s, not a container image: it has no image digest to "
                          "enforce; scan the image with `trivy image --format json IMAGE`",
                          type);
  out->scanner = xstrdup ("trivy");
  out->scanner_version = xstrdup (import_str (json_object_get (doc, "Trivy"), "Version"));
  if (trivy_time (doc, out, err) < 0 || trivy_metadata (doc, out, err) < 0
      || trivy_results (doc, out, err) < 0)
    return -1;
  return 0;
}
