#include "identify/engines.h"
#include "identify/storage.h"
#include "base/json.h"
#include "base/digest.h"

#include <string.h>

#define CRIO_IMAGE_REF "io.kubernetes.cri-o.ImageRef"
#define CRIO_IMAGE_NAME "io.kubernetes.cri-o.ImageName"

/* CRI-O sets ImageRef to the containers/storage image ID (the config
   digest, 64 hex).  ImageRepoDigests is deliberately not read: a pod author
   can inject it.  */
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
  const char *ref = pg_json_string (st->annotations, "io.kubernetes.cri-o.ImageRef");

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

/* When the container is in containers/storage, its record there must agree.  */
static int
crio_check_in_storage (const struct pg_hook_config *cfg, const struct pg_oci_state *st,
                       struct pg_identity *id, pg_error_t *err)
{
  struct pg_storage_image img;
  int r = storage_lookup (cfg, st->id, &img, err);

  if (r <= 0)
    return r;
  crio_check_storage (st, id, &img);
  storage_image_free (&img);
  return 0;
}

int
resolve_crio (const struct pg_hook_config *cfg, const struct pg_oci_state *st, struct pg_identity *id,
              pg_error_t *err)
{
  const char *ref = pg_json_string (st->annotations, CRIO_IMAGE_REF);
  const char *name = pg_json_string (st->annotations, CRIO_IMAGE_NAME);

  if (ref == NULL && name == NULL)
    return 0;
  id->engine = "crio";
  id->source = "crio";
  if (name && *name)
    id->image_ref = xstrdup (name);
  id->digest = digest_normalize (ref);
  /* A CRI-O container whose image reference is not a digest stays
     unidentified rather than falling through to weaker sources.  */
  return crio_check_in_storage (cfg, st, id, err) < 0 ? -1 : 1;
}
