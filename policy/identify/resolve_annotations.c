#include "identify/engines.h"
#include "base/json.h"
#include "base/digest.h"

#include <string.h>

/* Sites that inject the image digest into an annotation (an admission
   mutator, a wrapper) list its key in the hook config; the admin vouches for
   it.  The first configured key that holds a digest wins.  */
int
resolve_annotation_keys (const struct pg_hook_config *cfg, const struct pg_oci_state *st,
                         struct pg_identity *id, pg_error_t *err)
{
  for (size_t i = 0; i < cfg->n_annotation_keys; i++)
    {
      const char *v = pg_json_string (st->annotations, cfg->annotation_keys[i]);
      char *d = digest_normalize (v);
      if (d == NULL)
        continue;
      id->digest = d;
      id->source = "annotation";
      if (strchr (v, '@'))
        id->image_ref = xstrdup (v);
      return 1;
    }
  return 0;
}
