/* apk's version order (policy/version_apk.c): two versions split at the
   first NUL.  Besides memory safety, the order must be one: A = A, and
   comparing B with A gives the opposite of A with B.  */
#include "fuzz.h"
#include "version.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t len)
{
  const uint8_t *a, *b;
  size_t alen, blen;
  cleanup_free char *va = NULL;
  cleanup_free char *vb = NULL;
  pg_error_t err = NULL;
  int ab = 0, ba = 0, aa = 0;

  fuzz_split (data, len, &a, &alen, &b, &blen);
  va = fuzz_strndup (a, alen);
  vb = fuzz_strndup (b, blen);
  if (version_compare (PG_VERSION_APK, va, vb, &ab, &err) == 0)
    {
      if (version_compare (PG_VERSION_APK, vb, va, &ba, &err) < 0
          || version_compare (PG_VERSION_APK, va, va, &aa, &err) < 0)
        abort (); /* valid one way, invalid the other */
      if (aa != 0 || (ab > 0) != (ba < 0) || (ab == 0) != (ba == 0))
        abort ();
    }
  pg_error_release (&err);
  return 0;
}
