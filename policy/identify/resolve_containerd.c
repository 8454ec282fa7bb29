#include "identify/engines.h"
#include "base/json.h"
#include "base/digest.h"

#include <string.h>

#define CRI_IMAGE_NAME "io.kubernetes.cri.image-name"

/* containerd's CRI plugin names the image as the pod spec wrote it; only a
   name pinned by digest identifies an image.  */
int
resolve_containerd (const struct pg_hook_config *cfg, const struct pg_oci_state *st, struct pg_identity *id,
                    pg_error_t *err)
{
  const char *name = pg_json_string (st->annotations, CRI_IMAGE_NAME);

  if (name == NULL && pg_json_string (st->annotations, "io.kubernetes.cri.container-type") == NULL)
    return 0;
  id->engine = "containerd";
  id->source = "containerd";
  if (name && *name)
    {
      id->image_ref = xstrdup (name);
      if (strchr (name, '@'))
        id->digest = digest_normalize (name);
    }
  return 1;
}
