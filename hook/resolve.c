#include "gate.h"

#include <string.h>

char *
digest_normalize (const char *s)
{
  const char *at;
  char *out;

  if (s == NULL)
    return NULL;
  at = strrchr (s, '@');
  if (at)
    s = at + 1;
  if (is_sha256_digest (s))
    return xstrdup (s);
  if (is_hex64 (s))
    {
      xasprintf (&out, "sha256:%s", s);
      return out;
    }
  return NULL;
}

void
identity_free (struct pg_identity *id)
{
  free (id->digest);
  free (id->image_ref);
  free (id->namespace);
  free (id->conflict);
  memset (id, 0, sizeof (*id));
}

static bool
storage_has_digest (const struct pg_storage_image *img, const char *digest)
{
  if (strcmp (img->image_id, digest) == 0)
    return true;
  for (size_t i = 0; i < img->n_digests; i++)
    if (strcmp (img->digests[i], digest) == 0)
      return true;
  return false;
}

/* CRI-O's annotations and its store must name the same image.  When they
   do not, neither is believed: the digest is cleared (so the policy's
   on_unidentified applies) and both values are kept for the log.  */
static void
crio_check_storage (const struct pg_oci_state *st, struct pg_identity *id, const struct pg_storage_image *img)
{
  const char *ref = json_get_string (st->annotations, "io.kubernetes.cri-o.ImageRef");

  if (id->digest ? storage_has_digest (img, id->digest) : ref == NULL || *ref == '\0')
    {
      if (id->digest == NULL)
        id->digest = xstrdup (img->image_id);
      if (id->image_ref == NULL && img->name)
        id->image_ref = xstrdup (img->name);
      id->source = "crio+storage";
      return;
    }
  /* The annotation is quoted in the log, but it is also shown to people:
     printable ASCII only, and bounded.  */
  xasprintf (&id->conflict, "io.kubernetes.cri-o.ImageRef=%.160s containers-storage=%s", ref ? ref : "",
             img->image_id);
  for (char *p = id->conflict; *p; p++)
    if (*p < 0x20 || *p > 0x7e)
      *p = '?';
  free (id->digest);
  id->digest = NULL;
}

/* containers/storage: CRI-O's annotations are checked against it; without
   them the container is podman's.  Returns 1 when the store settled the
   identity (or its conflict), 0 when the container is not in it.  */
static int
resolve_storage (const struct pg_hook_config *cfg, const struct pg_oci_state *st, struct pg_identity *id,
                 bool crio, pg_error_t *err)
{
  struct pg_storage_image img;
  int r = storage_lookup (cfg, st->id, &img, err);

  if (r <= 0)
    return r;
  if (crio)
    crio_check_storage (st, id, &img);
  else
    {
      id->engine = "podman";
      id->source = "storage";
      id->digest = xstrdup (img.image_id);
      id->image_ref = img.name ? xstrdup (img.name) : NULL;
    }
  storage_image_free (&img);
  return 1;
}

/* Engine-set sources first: what the engine itself wrote beats what an
   admin's tooling injected, and nothing a pod author writes is read.  */
int
resolve_identity (const struct pg_hook_config *cfg, const struct pg_oci_state *st, struct pg_identity *id,
                  pg_error_t *err)
{
  int r;

  memset (id, 0, sizeof (*id));
  id->engine = "runc";
  r = resolve_crio (st, id, err);
  if (r >= 0)
    {
      int s = resolve_storage (cfg, st, id, r == 1, err);
      r = s < 0 ? -1 : r == 1 ? 1 : s;
    }
  if (r == 0)
    r = resolve_containerd (st, id, err);
  if (r == 0)
    r = resolve_docker (cfg, st, id, err);
  if (r == 0)
    r = resolve_umoci (st, id, err);
  if (r == 0)
    r = resolve_annotation_keys (cfg, st, id, err);
  /* Only from a CRI engine's own key (hook/resolve_namespace.c).  */
  id->namespace = resolve_trusted_namespace (st, id);
  return r < 0 ? -1 : 0;
}
