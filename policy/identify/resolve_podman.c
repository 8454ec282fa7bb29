/* podman: a containers/storage container whose own directory is the
 * bundle; the store names its image (identify/resolve_storage.c).  podman
 * and CRI-O read the same hooks.d directories by default: the definition
 * installed there says `--engine containers-storage`, and CRI-O is told
 * from podman by what only CRI-O records (identify/resolve_crio.c).
 */
#include "identify/engines.h"
#include "identify/storage.h"

static void
podman_identify (const struct pg_storage_image *img, struct pg_identity *id)
{
  id->engine = "podman";
  id->source = "storage";
  id->digest = xstrdup (img->image_id);
  id->image_ref = img->name ? xstrdup (img->name) : NULL;
}

int
resolve_podman (const struct pg_hook_config *cfg, const struct pg_oci_state *st, struct pg_identity *id,
                pg_error_t *err)
{
  struct pg_storage_image img;
  int r = storage_record_here (cfg, st, &img, id, err);

  if (r <= 0)
    return r;
  /* A CRI-O container reaching podman's definition is still identified by
     the store, only without a namespace: stricter, never softer.  */
  podman_identify (&img, id);
  storage_image_free (&img);
  return 1;
}

int
resolve_containers_storage (const struct pg_hook_config *cfg, const struct pg_oci_state *st,
                            struct pg_identity *id, pg_error_t *err)
{
  struct pg_storage_image img;
  int r = storage_record_here (cfg, st, &img, id, err);

  if (r <= 0)
    return r;
  if (img.crio)
    crio_identify (st, &img, id);
  else
    podman_identify (&img, id);
  storage_image_free (&img);
  return 1;
}
