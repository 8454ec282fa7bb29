/* containerd: its CRI plugin marks every container it makes with
 * io.kubernetes.cri.container-type and names the image, as the pod spec
 * wrote it, in io.kubernetes.cri.image-name.  These are read only under the
 * containerd wiring (the base runtime spec, which only the CRI plugin
 * uses): anywhere else anyone may write them.
 */
#include "identify/engines.h"
#include "base/json.h"
#include "base/digest.h"

#include <string.h>

#define CRI_IMAGE_NAME "io.kubernetes.cri.image-name"
#define CRI_CONTAINER_TYPE "io.kubernetes.cri.container-type"

int
resolve_containerd (const struct pg_hook_config *cfg, const struct pg_oci_state *st, struct pg_identity *id,
                    pg_error_t *err)
{
  const char *type = pg_json_string (st->annotations, CRI_CONTAINER_TYPE);
  const char *name = pg_json_string (st->annotations, CRI_IMAGE_NAME);

  /* Not a CRI container: nothing of the CRI plugin's to read.  */
  if (type == NULL || *type == '\0')
    return 0;
  id->engine = "containerd";
  id->source = "containerd";
  id->cri = true;
  if (name && *name)
    {
      id->image_ref = xstrdup (name);
      /* Only a name pinned by digest identifies an image.  */
      if (strchr (name, '@'))
        id->digest = digest_normalize (name);
    }
  return 1;
}
