/* patchgate: the parsed policy, kept beside its text (see policy_cache.h):
 * the store's side.  The record's format is policy_record.c's.  */
#include "rules/policy_cache.h"
#include "store/meta.h"

#include <string.h>

#define PG_POLICY_CACHE_KEY "policy_cache"

/* ---- the store ---- */

int
policy_cache_store (pg_store *store, const char *json, pg_error_t *err)
{
  cleanup_policy struct pg_policy *p = NULL;
  cleanup_error pg_error_t perr = NULL;
  cleanup_free void *blob = NULL;
  size_t len = 0;

  if (policy_record_fingerprint () == 0)
    return 0;
  if (policy_parse (json, strlen (json), "stored policy", &p, &perr) < 0)
    return 0; /* never used then: policy_load_cached parses (and fails) as before */
  blob = policy_cache_encode (p, json, strlen (json), &len);
  return store_meta_set_blob (store, PG_POLICY_CACHE_KEY, blob, len, err);
}

int
policy_store_set (pg_store *store, const char *json, const char *version, int64_t now, pg_error_t *err)
{
  if (store_set_policy (store, json, version, now, err) < 0)
    return -1;
  /* And its parsed form, which the hook reads instead of parsing the text.  */
  return policy_cache_store (store, json, err);
}

int
policy_load_cached (pg_store *store, struct pg_policy **out, pg_error_t *err)
{
  cleanup_free char *body = NULL;
  cleanup_free char *version = NULL;
  cleanup_free void *blob = NULL;
  cleanup_error pg_error_t ignored = NULL;
  int64_t set_at = 0;
  size_t len = 0;

  /* Exactly the text policy_load_from_store parses, and the record beside
     it; any trouble reading the record and the text is parsed instead.  */
  if (policy_record_fingerprint () != 0 && store_get_policy (store, &body, &version, &set_at, &ignored) > 0
      && body && store_meta_get_blob (store, PG_POLICY_CACHE_KEY, &blob, &len, &ignored) > 0
      && policy_cache_decode (blob, len, body, strlen (body), out))
    return 0;
  return policy_load_from_store (store, out, err);
}

int
policy_load_from_store (pg_store *store, struct pg_policy **out, pg_error_t *err)
{
  cleanup_free char *json = NULL;
  cleanup_free char *version = NULL;
  int r = store_get_policy (store, &json, &version, NULL, err);
  if (r < 0)
    return -1;
  if (r == 0)
    return pg_make_error (err, 0, "%s: no policy has been set (patchgate policy set POLICY.json)",
                          store_path (store));
  return policy_parse (json, strlen (json), "stored policy", out, err);
}
