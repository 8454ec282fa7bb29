/* CRI-O: every container CRI-O creates is a containers/storage container
 * whose record carries the pod (pod-name, pod-id) and whose run directory,
 * <runroot>/<driver>-containers/<id>/userdata, is the bundle it hands the
 * runtime.  Only such a record proves CRI-O; annotations never do, since
 * CRI-O copies the pod's own annotations into the spec after its own keys.
 */
#include "identify/engines.h"
#include "identify/storage.h"
#include "base/json.h"
#include "base/digest.h"

#include <string.h>

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

/* The store names the image (its ID, and the name CRI-O recorded).
   CRI-O's ImageRef, which a pod annotation can override, may only
   disagree: then neither is believed, the digest stays NULL (the policy's
   on_unidentified applies) and both values are kept for the log.
   ImageName and ImageRepoDigests are not read at all.  */
void
crio_identify (const struct pg_oci_state *st, const struct pg_storage_image *img, struct pg_identity *id)
{
  const char *ref = pg_json_string (st->annotations, CRIO_IMAGE_REF);
  cleanup_free char *digest = digest_normalize (ref);

  id->engine = "crio";
  id->source = "crio+storage";
  id->cri = true;
  if (img->name)
    id->image_ref = xstrdup (img->name);
  if (ref == NULL || *ref == '\0' || (digest && storage_has_digest (img, digest)))
    {
      id->digest = xstrdup (img->image_id);
      return;
    }
  identity_note_conflict (id, CRIO_IMAGE_REF "=%.160s containers-storage=%s", ref, img->image_id);
}

int
resolve_crio (const struct pg_hook_config *cfg, const struct pg_oci_state *st, struct pg_identity *id,
              pg_error_t *err)
{
  struct pg_storage_image img;
  int r = storage_record_here (cfg, st, &img, id, err);

  if (r <= 0)
    return r;
  if (!img.crio)
    {
      identity_note_conflict (id, "containers-storage: this container's record is not CRI-O's (no pod)");
      storage_image_free (&img);
      return 0;
    }
  crio_identify (st, &img, id);
  storage_image_free (&img);
  return 1;
}
