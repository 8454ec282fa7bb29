/* The OCI state and the bundle's config.json (identify/state.c), then identity
   resolution over them (hook/resolve*.c).  Input: the state JSON, a NUL,
   config.json; "@BUNDLE@" in the state stands for the temp bundle.  Without
   a NUL the input is config.json under a fixed state.  Engine metadata
   paths point into the temp tree (nothing there), so only the bundle's
   files and the annotations steer resolution.  */
#include "fuzz.h"
#include "gate/gate.h"
#include "identify/engines.h"
#include "identify/storage.h"

static struct pg_hook_config cfg;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_mkdir ("bundle");
  memset (&cfg, 0, sizeof (cfg));
  cfg.storage_conf = fuzz_path ("none/storage.conf");
  cfg.storage_graphroot = fuzz_path ("none/graph");
  cfg.storage_runroot = fuzz_path ("none/run");
  cfg.docker_root = fuzz_path ("none/docker");
  strv_append (&cfg.annotation_keys, &cfg.n_annotation_keys, "example.com/digest");
  return 0;
}

static char *
subst_bundle (const char *text)
{
  cleanup_free char *bundle = fuzz_path ("bundle");
  const char *at = strstr (text, "@BUNDLE@");
  char *out = NULL;
  if (at == NULL)
    return xstrdup (text);
  xasprintf (&out, "%.*s%s%s", (int) (at - text), text, bundle, at + 8);
  return out;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t len)
{
  const uint8_t *a, *b;
  size_t alen, blen;
  cleanup_free char *raw = NULL;
  cleanup_free char *state = NULL;
  struct pg_oci_state st;
  struct pg_identity id;
  pg_error_t err = NULL;

  fuzz_split (data, len, &a, &alen, &b, &blen);
  if (memchr (data, 0, len))
    {
      raw = fuzz_strndup (a, alen);
      fuzz_write ("bundle/config.json", b, blen);
    }
  else
    {
      raw = xstrdup ("{\"ociVersion\": \"1.0.2\", \"id\": \"fuzz\", \"status\": \"creating\", \"bundle\": "
                     "\"@BUNDLE@\"}");
      fuzz_write ("bundle/config.json", data, len);
    }
  state = subst_bundle (raw);
  if (oci_state_parse (state, strlen (state), "state", &st, &err) == 0
      && resolve_identity (&cfg, &st, &id, &err) == 0)
    identity_free (&id);
  oci_state_free (&st);
  pg_error_release (&err);
  return 0;
}
