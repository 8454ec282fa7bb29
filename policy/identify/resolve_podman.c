/* podman: a container in containers/storage that CRI-O's resolver did not
 * claim is podman's; the store names its image (identify/resolve_storage.c).
 */
#include "identify/engines.h"
#include "identify/storage.h"

int
resolve_podman (const struct pg_hook_config *cfg, const struct pg_oci_state *st, struct pg_identity *id,
                pg_error_t *err)
{
  struct pg_storage_image img;
  int r = storage_lookup (cfg, st->id, &img, err);

  if (r <= 0)
    return r;
  id->engine = "podman";
  id->source = "storage";
  id->digest = xstrdup (img.image_id);
  id->image_ref = img.name ? xstrdup (img.name) : NULL;
  storage_image_free (&img);
  return 1;
}
