#include "gate.h"

#include <string.h>

#define CRIO_IMAGE_REF "io.kubernetes.cri-o.ImageRef"
#define CRIO_IMAGE_NAME "io.kubernetes.cri-o.ImageName"

/* CRI-O sets ImageRef to the containers/storage image ID (the config
   digest, 64 hex).  ImageRepoDigests is deliberately not read: a pod author
   can inject it.  */
int
resolve_crio (const struct pg_oci_state *st, struct pg_identity *id, pg_error_t *err)
{
  const char *ref = json_get_string (st->annotations, CRIO_IMAGE_REF);
  const char *name = json_get_string (st->annotations, CRIO_IMAGE_NAME);

  if (ref == NULL && name == NULL)
    return 0;
  id->engine = "crio";
  id->source = "crio";
  if (name && *name)
    id->image_ref = xstrdup (name);
  id->digest = digest_normalize (ref);
  /* A CRI-O container whose image reference is not a digest stays
     unidentified rather than falling through to weaker sources.  */
  return 1;
}
