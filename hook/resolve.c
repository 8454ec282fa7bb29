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

/* Engine-set sources first: what the engine itself wrote beats what an
   admin's tooling injected, and nothing a pod author writes is read.  */
int
resolve_identity (const struct pg_hook_config *cfg, const struct pg_oci_state *st, struct pg_identity *id,
                  pg_error_t *err)
{
  const char *ns = json_get_string (st->annotations, "io.kubernetes.pod.namespace");
  int r;

  memset (id, 0, sizeof (*id));
  id->engine = "runc";
  id->namespace = ns ? xstrdup (ns) : NULL;
  r = resolve_crio (st, id, err);
  if (r == 0)
    r = resolve_containerd (st, id, err);
  if (r == 0)
    r = resolve_umoci (st, id, err);
  if (r == 0)
    r = resolve_annotation_keys (cfg, st, id, err);
  return r < 0 ? -1 : 0;
}
