/* The policy parser and validator (rules/policy.c), and the parsed-policy
   cache's encoder and decoder on what it accepts (rules/policy_cache.c). */
#include "fuzz.h"
#include "rules/policy.h"
#include "rules/policy_cache.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t len)
{
  struct pg_policy *p = NULL, *q = NULL;
  pg_error_t err = NULL;
  cleanup_free char *text = fuzz_strndup (data, len);

  if (policy_parse (text, len, "policy", &p, &err) == 0)
    {
      size_t blen = 0;
      void *blob = policy_cache_encode (p, text, len, &blen);
      /* A record made from a policy decodes to one.  */
      if (blob && policy_cache_decode (blob, blen, text, len, &q) != 1)
        abort ();
      policy_free (q);
      free (blob);
      policy_free (p);
    }
  pg_error_release (&err);
  return 0;
}
